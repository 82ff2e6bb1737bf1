//! The `tokengate` command: what an operator of a tokengate application does outside it.
//!
//! - `keygen`: a fresh HS256 secret, or an EdDSA, ES256 or RS256 private key as PEM, with its
//!   public JWK.
//! - `hash-password`: the Argon2id PHC string of a password read from standard input.
//! - `inspect`: a token's header and claims; with `--verify`, whether the configured gate
//!   accepts it and why not.
//! - `config check`: the configuration loaded and the gate built as at start-up; the settings
//!   in force, secrets redacted, or the start-up error.
//! - `sessions list|end|end-all`: a subject's sessions in the configured store.
//!
//! The configuration is read as the application reads it (`TOKENGATE_CONFIG` or
//! `tokengate.toml`, `TOKENGATE_PROFILE`, `TOKENGATE_*`); `--config` and `--profile` set the
//! first two. Secrets are never taken from the command line.
//!
//! Exit status: 0 done; 1 the answer is no (the token does not verify, no such session);
//! 2 bad input, a configuration start-up refuses, or a store that fails.

mod check;
mod inspect;
mod keygen;
mod load;
mod password;
mod sessions;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The `tokengate` command line.
#[derive(Debug, Parser)]
#[command(
    name = "tokengate",
    version,
    about = "Keys, password hashes, tokens, configuration and sessions of a tokengate application"
)]
struct Cli {
    /// The configuration file (sets `TOKENGATE_CONFIG`; default: `tokengate.toml` when present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The profile of the configuration file (sets `TOKENGATE_PROFILE`; default: `default`).
    #[arg(long, global = true, value_name = "NAME")]
    profile: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generates a key: an HS256 secret, or an EdDSA, ES256 or RS256 private key (PKCS#8 PEM).
    Keygen(keygen::Args),
    /// Hashes a password read from standard input (never from the command line).
    HashPassword(password::Args),
    /// Shows a token's header and claims; with `--verify`, whether the configured gate accepts it.
    Inspect(inspect::Args),
    /// The configuration, as the application loads it.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The sessions of a subject in the configured store.
    #[command(subcommand)]
    Sessions(sessions::Command),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Loads the configuration and builds the gate as start-up does; prints the settings in
    /// force (secrets redacted) or the start-up error.
    Check,
}

/// Why a command stopped: its message goes to standard error.
#[derive(Debug)]
enum Failure {
    /// The answer is no (exit status 1).
    No(String),
    /// Bad input, configuration or store (exit status 2).
    Bad(String),
}

impl Failure {
    fn bad(message: impl std::fmt::Display) -> Self {
        Self::Bad(message.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The loader reads these variables, exactly as the application does.
    if let Some(path) = &cli.config {
        std::env::set_var("TOKENGATE_CONFIG", path);
    }
    if let Some(profile) = &cli.profile {
        std::env::set_var("TOKENGATE_PROFILE", profile);
    }
    // Start-up warnings (a secret that signs nothing, keys without their private part) and
    // the details of a store failure are tracing events, as in the application.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let outcome = match cli.command {
        Command::Keygen(args) => keygen::run(&args),
        Command::HashPassword(args) => password::run(&args),
        Command::Inspect(args) => inspect::run(&args, cli.config.is_some()),
        Command::Config(ConfigCommand::Check) => check::run(),
        Command::Sessions(command) => sessions::run(&command),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::No(message)) => {
            eprintln!("tokengate: {message}");
            ExitCode::from(1)
        }
        Err(Failure::Bad(message)) => {
            eprintln!("tokengate: {message}");
            ExitCode::from(2)
        }
    }
}
