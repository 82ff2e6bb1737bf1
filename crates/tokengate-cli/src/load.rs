//! The configuration and the gate, made as the application makes them at start-up.

use tokengate_core::credentials::MemoryDirectory;
use tokengate_core::{Config, TokenGate};

use crate::Failure;

/// The configuration as [`Config::load`] reads it; its error as start-up shows it.
pub(crate) fn config() -> Result<Config, Failure> {
    Config::load().map_err(Failure::bad)
}

/// The gate `config` makes, with its keys prepared and its store opened; the error as
/// start-up shows it. Nobody signs in through it: its directory of users is empty.
pub(crate) fn gate(config: Config) -> Result<TokenGate, Failure> {
    TokenGate::builder(config)
        .credentials(MemoryDirectory::new())
        .build()
        .map_err(Failure::bad)
}

/// A runtime for the store's futures, on this thread.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::bad(format!("no async runtime: {e}")))
}
