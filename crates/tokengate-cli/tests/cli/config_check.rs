//! `tokengate config check`: the settings in force with their secrets redacted, or the error
//! that start-up gives, word for word.

use crate::{tokengate, TempDir, SECRET};
use tokengate_core::credentials::MemoryDirectory;
use tokengate_core::{Config, TokenGate};

/// The error start-up gives for `toml` and `env`, as the command prints it.
fn start_up_error(toml: &str, env: &[(&str, &str)]) -> String {
    let error = match Config::from_sources(Some(toml), "default", env.iter().copied()) {
        Err(error) => error,
        Ok(config) => TokenGate::builder(config)
            .credentials(MemoryDirectory::new())
            .build()
            .expect_err("start-up refuses it"),
    };
    format!("tokengate: {error}")
}

/// The PostgreSQL of the tests (`TEST_POSTGRES_URL`, or database `test` on 127.0.0.1:5432),
/// its URL given a password (local connections are trusted: it is not checked).
fn postgres_with_password(password: &str) -> String {
    let url = std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let (scheme, rest) = url.split_once("://").unwrap();
    let (user, host) = rest.split_once('@').unwrap();
    let user = user.split(':').next().unwrap();
    format!("{scheme}://{user}:{password}@{host}")
}

#[test]
fn a_good_configuration_shows_its_settings_and_no_secret() {
    let dir = TempDir::new();
    let password = "Db-Pa55word-never-shown";
    let csrf = "a-csrf-secret-of-at-least-32-bytes-long";
    let toml = format!(
        "[default]\naccess_ttl = \"10m\"\nstore = \"{}\"\ncsrf_secret = \"{csrf}\"\n\
         [production]\naccess_ttl = \"5m\"\n",
        postgres_with_password(password)
    );
    let path = dir.file("app.toml", &toml);
    let run = tokengate(
        dir.path(),
        &["config", "check", "--config", path.to_str().unwrap()],
        "",
        &[("TOKENGATE_SECRET", SECRET)],
    );
    run.expect_code(0);
    assert!(run.stdout.contains("configuration: ok"), "{}", run.stdout);
    assert!(run.stdout.contains("access_ttl: 600s"), "{}", run.stdout);
    assert!(run.stdout.contains(":REDACTED@"), "{}", run.stdout);
    assert!(run.stdout.contains("Secret(REDACTED)"), "{}", run.stdout);
    for secret in [SECRET, password, csrf] {
        assert!(
            !run.printed().contains(secret),
            "{secret}: {}",
            run.printed()
        );
    }
    // The profile is chosen as the application chooses it.
    let run = tokengate(
        dir.path(),
        &["config", "check", "--config", path.to_str().unwrap()],
        "",
        &[
            ("TOKENGATE_SECRET", SECRET),
            ("TOKENGATE_PROFILE", "production"),
        ],
    );
    run.expect_code(0);
    assert!(run.stdout.contains("access_ttl: 300s"), "{}", run.stdout);
    assert!(run.stdout.contains("profile: production"), "{}", run.stdout);
}

#[test]
fn a_key_file_loads_and_its_key_stays_unprinted() {
    let dir = TempDir::new();
    let pem = dir.path().join("ed25519.pem");
    tokengate(
        dir.path(),
        &["keygen", "eddsa", "--out", pem.to_str().unwrap()],
        "",
        &[],
    )
    .expect_code(0);
    dir.file(
        "tokengate.toml",
        &format!(
            "[default]\nalgorithm = \"EdDSA\"\nkey_file = \"{}\"\n",
            pem.display()
        ),
    );
    let run = tokengate(dir.path(), &["config", "check"], "", &[]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("file: tokengate.toml"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("EdDsa"), "{}", run.stdout);
    let key = std::fs::read_to_string(&pem).unwrap();
    let body = key.lines().nth(1).unwrap();
    assert!(!run.printed().contains(body), "{}", run.printed());
}

#[test]
fn a_bad_configuration_gives_the_start_up_error() {
    let cases: [(&str, &[(&str, &str)]); 5] = [
        // Too short a secret, from the file.
        ("[default]\nsecret = \"short-Secret-9\"\n", &[]),
        // A misspelt key.
        (
            "[default]\nacess_ttl = \"1m\"\n",
            &[("TOKENGATE_SECRET", SECRET)],
        ),
        // A misspelt variable.
        ("[default]\n", &[("TOKENGATE_SECRT", SECRET)]),
        // A wrong duration.
        (
            "[default]\naccess_ttl = \"soon\"\n",
            &[("TOKENGATE_SECRET", SECRET)],
        ),
        // A store no build knows.
        (
            "[default]\nstore = \"mongodb://app:Pw-9x@db/x\"\n",
            &[("TOKENGATE_SECRET", SECRET)],
        ),
    ];
    for (toml, env) in cases {
        let dir = TempDir::new();
        let path = dir.file("tokengate.toml", toml);
        let mut with_file = env.to_vec();
        let path = path.to_str().unwrap();
        with_file.push(("TOKENGATE_CONFIG", path));
        let run = tokengate(dir.path(), &["config", "check"], "", &with_file);
        run.expect_code(2);
        let expected = start_up_error(&std::fs::read_to_string(path).unwrap(), env);
        // The file's name in the message differs: read from a file, not from a text.
        let normalise = |text: &str| {
            text.replace("TOML source string", "the file")
                .replace("TOML file", "the file")
        };
        assert_eq!(normalise(run.stderr.trim()), normalise(&expected), "{toml}");
        assert!(run.stdout.is_empty(), "{}", run.stdout);
        for secret in [SECRET, "short-Secret-9", "Pw-9x"] {
            assert!(
                !run.printed().contains(secret),
                "{secret}: {}",
                run.printed()
            );
        }
    }
}

#[test]
fn a_missing_file_or_profile_is_named() {
    let dir = TempDir::new();
    let run = tokengate(
        dir.path(),
        &["config", "check", "--config", "nowhere.toml"],
        "",
        &[],
    );
    run.expect_code(2);
    assert!(run.stderr.contains("TOKENGATE_CONFIG"), "{}", run.stderr);
    let path = dir.file("app.toml", "[default]\n");
    let run = tokengate(
        dir.path(),
        &[
            "--profile",
            "staging",
            "config",
            "check",
            "--config",
            path.to_str().unwrap(),
        ],
        "",
        &[("TOKENGATE_SECRET", SECRET)],
    );
    run.expect_code(2);
    assert!(run.stderr.contains("no such profile"), "{}", run.stderr);
}
