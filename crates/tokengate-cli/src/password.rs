//! `tokengate hash-password`: the Argon2id PHC string of a password read from standard input.

use std::io::{IsTerminal as _, Read as _};
use std::process::{Command, Stdio};

use tokengate_core::credentials::hash_password;

use crate::Failure;

/// The arguments of `hash-password`: none. Whatever is given is refused unread, so that a
/// password typed there by mistake is not echoed back (it is in the shell's history and the
/// process list already, and should be changed).
#[derive(clap::Args)]
pub(crate) struct Args {
    #[arg(hide = true, num_args = 0.., trailing_var_arg = true, allow_hyphen_values = true)]
    refused: Vec<String>,
}

impl std::fmt::Debug for Args {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Args(REDACTED)")
    }
}

pub(crate) fn run(args: &Args) -> Result<(), Failure> {
    if !args.refused.is_empty() {
        return Err(Failure::bad(
            "hash-password reads the password from standard input, never from the command line \
             (where the shell's history and the process list keep it): the argument was not used",
        ));
    }
    let password = read_password()?;
    if password.is_empty() {
        return Err(Failure::bad(
            "the password read from standard input is empty",
        ));
    }
    // The same hash as the directories store and verify (`hash_password`).
    let phc = hash_password(&password).map_err(Failure::bad)?;
    println!("{phc}");
    Ok(())
}

/// The password: one line typed at a terminal (not echoed), or all of a pipe, less one line
/// ending.
fn read_password() -> Result<String, Failure> {
    let stdin = std::io::stdin();
    let unreadable = |e: std::io::Error| Failure::bad(format!("cannot read standard input: {e}"));
    let mut text = String::new();
    if stdin.is_terminal() {
        eprint!("Password: ");
        let echo_off = stty("-echo");
        let read = stdin.read_line(&mut text);
        if echo_off {
            stty("echo");
        }
        eprintln!();
        read.map_err(unreadable)?;
    } else {
        stdin.lock().read_to_string(&mut text).map_err(unreadable)?;
    }
    let password = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    Ok(password.to_owned())
}

/// Sets the terminal's mode with `stty`; whether it could.
fn stty(mode: &str) -> bool {
    Command::new("stty")
        .arg(mode)
        .stdin(Stdio::inherit())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}
