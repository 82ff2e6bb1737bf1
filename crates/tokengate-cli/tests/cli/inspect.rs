//! `tokengate inspect`: header and claims of a token a gate minted, and with the
//! configuration, whether it verifies and why not.

use crate::{gate, sign_in, tokengate, TempDir, LOGIN, SECRET};

fn toml(secret: &str, extra: &str) -> String {
    format!("[default]\nsecret = \"{secret}\"\n{extra}")
}

#[test]
fn a_valid_token_shows_its_claims_and_verifies() {
    let dir = TempDir::new();
    let toml = toml(SECRET, "");
    let config = dir.file("tokengate.toml", &toml);
    let (_, access) = sign_in(&gate(&toml), "test");
    let config = config.to_str().unwrap();
    let run = tokengate(
        dir.path(),
        &["--config", config, "inspect", &access],
        "",
        &[],
    );
    run.expect_code(0);
    assert!(run.stdout.contains("\"typ\": \"at+jwt\""), "{}", run.stdout);
    assert!(run.stdout.contains(&format!("\"sub\": \"{LOGIN}\"")));
    assert!(run.stdout.contains("exp: "), "{}", run.stdout);
    assert!(run.stdout.contains("verified: yes"), "{}", run.stdout);
    assert!(!run.printed().contains(SECRET));
    // `-` reads it from standard input, and a line ending is no part of it.
    let run = tokengate(
        dir.path(),
        &["--config", config, "inspect", "-"],
        &format!("{access}\n"),
        &[],
    );
    run.expect_code(0);
    assert!(run.stdout.contains("verified: yes"), "{}", run.printed());
}

#[test]
fn without_a_configuration_it_only_decodes() {
    let dir = TempDir::new();
    let (_, access) = sign_in(&gate(&toml(SECRET, "")), "test");
    let run = tokengate(dir.path(), &["inspect", &access], "", &[]);
    run.expect_code(0);
    assert!(run.stdout.contains(&format!("\"sub\": \"{LOGIN}\"")));
    assert!(!run.stdout.contains("verified"), "{}", run.stdout);
}

#[test]
fn an_expired_token_is_said_to_have_expired() {
    let dir = TempDir::new();
    let toml = toml(SECRET, "access_ttl = \"1s\"\nleeway = \"0s\"\n");
    let config = dir.file("tokengate.toml", &toml);
    let (_, access) = sign_in(&gate(&toml), "test");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    // The file in the working directory is read as the application reads it.
    let run = tokengate(dir.path(), &["inspect", "--verify", &access], "", &[]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("the token has expired"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains(&format!("\"sub\": \"{LOGIN}\"")));
    assert!(run.stdout.contains("s ago)"), "{}", run.stdout);
    drop(config);
}

#[test]
fn a_token_of_another_key_is_said_not_to_verify_and_why() {
    let dir = TempDir::new();
    let minted = "[default]\nkeys = [{ kid = \"k1\", algorithm = \"HS256\", secret = \"a-first-secret-of-at-least-32-bytes!!\" }]";
    let (_, access) = sign_in(&gate(minted), "test");
    // The same kid, another secret: the signature does not match.
    let same_kid = dir.file(
        "same-kid.toml",
        "[default]\nkeys = [{ kid = \"k1\", algorithm = \"HS256\", secret = \"another-secret-of-at-least-32-bytes!!\" }]",
    );
    let run = tokengate(
        dir.path(),
        &["--config", same_kid.to_str().unwrap(), "inspect", &access],
        "",
        &[],
    );
    run.expect_code(1);
    assert!(
        run.stderr.contains("signature is invalid"),
        "{}",
        run.stderr
    );
    assert!(!run.printed().contains("another-secret"));
    // No key of that kid.
    let other = dir.file("other.toml", &toml(SECRET, ""));
    let run = tokengate(
        dir.path(),
        &["--config", other.to_str().unwrap(), "inspect", &access],
        "",
        &[],
    );
    run.expect_code(1);
    assert!(run.stderr.contains("does not verify"), "{}", run.stderr);
    assert!(run.stderr.contains("kid `k1`"), "{}", run.stderr);
}

#[test]
fn a_refresh_token_is_said_to_be_of_another_type() {
    let dir = TempDir::new();
    let toml = toml(SECRET, "");
    dir.file("tokengate.toml", &toml);
    let (refresh, _) = sign_in(&gate(&toml), "test");
    let run = tokengate(dir.path(), &["inspect", "--verify", &refresh], "", &[]);
    run.expect_code(1);
    assert!(run.stderr.contains("rt+jwt"), "{}", run.stderr);
}

#[test]
fn what_is_no_token_is_bad_input() {
    let dir = TempDir::new();
    for (token, why) in [
        ("not-a-token", "3 parts"),
        ("a.b.c", "not base64url"),
        ("e30.!!.c", "not base64url"),
    ] {
        let run = tokengate(dir.path(), &["inspect", token], "", &[]);
        run.expect_code(2);
        assert!(run.stderr.contains(why), "{token}: {}", run.stderr);
    }
}

#[test]
fn a_configuration_start_up_refuses_is_bad_input() {
    let dir = TempDir::new();
    let (_, access) = sign_in(&gate(&toml(SECRET, "")), "test");
    let run = tokengate(
        dir.path(),
        &["inspect", "--verify", &access],
        "",
        &[("TOKENGATE_SECRET", "short")],
    );
    run.expect_code(2);
    assert!(run.stderr.contains("`secret`"), "{}", run.stderr);
}
