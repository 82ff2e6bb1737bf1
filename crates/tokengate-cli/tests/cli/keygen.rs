//! `tokengate keygen`: each kind of key it writes loads in the core and signs tokens that
//! verify, its public JWK included.

use crate::{claims_of, config, gate, sign_in, tokengate, TempDir, LOGIN};
use tokengate_core::credentials::MemoryDirectory;
use tokengate_core::TokenGate;

#[test]
fn an_hs256_secret_signs_and_verifies_tokens() {
    let dir = TempDir::new();
    let run = tokengate(dir.path(), &["keygen", "hs256"], "", &[]);
    run.expect_code(0);
    let secret = run.stdout.trim();
    assert!(secret.len() >= 32, "{secret}");
    let gate = gate(&format!("secret = \"{secret}\""));
    let (_, access) = sign_in(&gate, "test");
    assert_eq!(gate.verify_access(&access).unwrap().claims().sub, LOGIN);
    let other = tokengate(dir.path(), &["keygen", "hs256"], "", &[]);
    assert_ne!(other.stdout, run.stdout, "two secrets are the same");
}

#[test]
fn an_eddsa_key_signs_and_its_jwk_verifies() {
    round_trip("eddsa", "EdDSA", "OKP");
}

#[test]
fn an_es256_key_signs_and_its_jwk_verifies() {
    round_trip("es256", "ES256", "EC");
}

#[test]
fn an_rs256_key_signs_and_its_jwk_verifies() {
    round_trip("rs256", "RS256", "RSA");
}

/// The private key written to a file signs at one gate (as `key_file`); the JWK printed
/// verifies its access tokens at another (as a `jwk` entry of its key list).
fn round_trip(kind: &str, algorithm: &str, kty: &str) {
    let dir = TempDir::new();
    let pem = dir.path().join("key.pem");
    let run = tokengate(
        dir.path(),
        &["keygen", kind, "--out", pem.to_str().unwrap()],
        "",
        &[],
    );
    run.expect_code(0);
    let jwk: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(jwk["kty"], kty);
    assert_eq!(jwk["alg"], algorithm);
    for private in ["d", "p", "q", "dp", "dq", "qi"] {
        assert!(jwk.get(private).is_none(), "the JWK holds `{private}`");
    }
    let written = std::fs::read_to_string(&pem).unwrap();
    assert!(written.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert!(!run.stdout.contains("PRIVATE KEY"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&pem).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let signer = gate(&format!(
        "algorithm = \"{algorithm}\"\nkey_file = \"{}\"",
        pem.display()
    ));
    let (_, access) = sign_in(&signer, "test");
    assert_eq!(
        signer.verify_access(&access).unwrap().claims().sub,
        LOGIN,
        "the key signs at the gate that holds it"
    );
    let verifier = TokenGate::builder(config(&format!(
        "[default]\nkeys = [\n  {{ algorithm = \"HS256\", secret = \"{}\", signing = true }},\n  \
         {{ algorithm = \"{algorithm}\", jwk = '{jwk}' }},\n]",
        crate::SECRET
    )))
    .credentials(MemoryDirectory::new())
    .build()
    .unwrap();
    let checked = verifier.verify_access(&access).unwrap();
    assert_eq!(checked.claims().sub, LOGIN);
    assert_eq!(claims_of(&access)["sub"], LOGIN);

    // Without `--out`, the private key goes to standard output, and loads as well.
    let run = tokengate(dir.path(), &["keygen", kind], "", &[]);
    run.expect_code(0);
    assert!(run.stdout.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    let again = dir.file("again.pem", &run.stdout);
    let signer = gate(&format!(
        "algorithm = \"{algorithm}\"\nkey_file = \"{}\"",
        again.display()
    ));
    let (_, access) = sign_in(&signer, "test");
    assert!(signer.verify_access(&access).is_ok());
}

#[test]
fn an_existing_file_is_never_overwritten() {
    let dir = TempDir::new();
    let path = dir.file("key.pem", "keep me");
    let run = tokengate(
        dir.path(),
        &["keygen", "eddsa", "--out", path.to_str().unwrap()],
        "",
        &[],
    );
    run.expect_code(2);
    assert!(run.stderr.contains("cannot create"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me");
}

#[test]
fn an_unknown_algorithm_is_a_usage_error() {
    let dir = TempDir::new();
    let run = tokengate(dir.path(), &["keygen", "hs512"], "", &[]);
    run.expect_code(2);
    assert!(run.stderr.contains("hs256"), "{}", run.stderr);
}
