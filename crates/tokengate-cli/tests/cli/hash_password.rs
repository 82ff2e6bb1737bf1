//! `tokengate hash-password`: the hash verifies with the core's verifier, and the password is
//! read from standard input only and never printed.

use crate::{tokengate, TempDir};
use tokengate_core::credentials::PasswordVerifier;

const PASSWORD: &str = "Tr0ub4dor&3-horse-staple";

fn verifies(password: &str, phc: &str) -> bool {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(PasswordVerifier::new().verify(password, Some(phc)))
}

#[test]
fn the_hash_of_a_password_on_stdin_verifies_with_the_core() {
    let dir = TempDir::new();
    let run = tokengate(
        dir.path(),
        &["hash-password"],
        &format!("{PASSWORD}\n"),
        &[],
    );
    run.expect_code(0);
    let phc = run.stdout.trim();
    assert!(phc.starts_with("$argon2id$"), "{phc}");
    assert!(verifies(PASSWORD, phc));
    assert!(!verifies("another password", phc));
    // The line ending is not part of the password.
    assert!(!verifies(&format!("{PASSWORD}\n"), phc));
    assert!(!run.printed().contains(PASSWORD));
}

#[test]
fn a_password_without_a_line_ending_is_taken_whole() {
    let dir = TempDir::new();
    let run = tokengate(dir.path(), &["hash-password"], "pass word ", &[]);
    run.expect_code(0);
    assert!(verifies("pass word ", run.stdout.trim()));
}

#[test]
fn a_password_on_the_command_line_is_refused_without_being_echoed() {
    let dir = TempDir::new();
    let run = tokengate(dir.path(), &["hash-password", PASSWORD], "", &[]);
    run.expect_code(2);
    assert!(run.stderr.contains("standard input"), "{}", run.stderr);
    assert!(!run.printed().contains(PASSWORD), "{}", run.printed());
}

#[test]
fn an_empty_password_is_refused() {
    let dir = TempDir::new();
    let run = tokengate(dir.path(), &["hash-password"], "\n", &[]);
    run.expect_code(2);
    assert!(run.stderr.contains("empty"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
}
