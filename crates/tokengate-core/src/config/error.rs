//! Start-up refused a configuration.

use crate::jws::KeyError;

/// Start-up refused a configuration; the message names the key (or the environment variable)
/// and the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration `{key}` = `{value}`: {reason}")]
pub struct ConfigError {
    /// The key as written in the TOML file, or the environment variable.
    pub key: String,
    /// The offending value (secrets are never repeated).
    pub value: String,
    /// What is wrong.
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(key: &str, value: &str, reason: impl Into<String>) -> Self {
        Self {
            key: key.to_owned(),
            value: value.to_owned(),
            reason: reason.into(),
        }
    }
}

impl From<KeyError> for ConfigError {
    fn from(error: KeyError) -> Self {
        Self {
            key: error.key,
            value: error.value,
            reason: error.reason,
        }
    }
}
