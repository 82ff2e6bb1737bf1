//! What went wrong with a store, typed so that a caller can tell a store that is down from
//! settings that can never work.

use std::fmt;

/// What kind of failure a [`StoreError`] is. Endpoints answer 503 for each; the kind is for
/// the operator and for code that decides whether to try again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The store could not be reached, or did not answer in time, or was too busy (a
    /// connection refused or dropped, a pool with no connection free, a statement or lock
    /// timeout, a replica being promoted): the same call may succeed later.
    Unreachable,
    /// The store answered with an error of its own (a full disk, a read-only database, a
    /// conflict it would not settle): someone must look at the store.
    Refused,
    /// The settings can never work (an unknown scheme, a missing feature, a malformed URL, a
    /// wrong password, a database or schema that does not exist, no permission): fix the
    /// configuration and start again.
    Misconfigured,
    /// The store answered something tokengate did not write (a row it cannot read, a reply of
    /// the wrong shape): its data or another writer is at fault.
    Corrupt,
}

impl StoreErrorKind {
    /// The kind as a word, for logs and metrics: `unreachable`, `refused`, `misconfigured` or
    /// `corrupt`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unreachable => "unreachable",
            Self::Refused => "refused",
            Self::Misconfigured => "misconfigured",
            Self::Corrupt => "corrupt",
        }
    }
}

impl fmt::Display for StoreErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A store failed (see [`StoreErrorKind`]); endpoints answer 503. The message says what
/// happened and never holds a secret: stores build it from their driver's error, which names
/// no password.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("session store error: {message}")]
pub struct StoreError {
    kind: StoreErrorKind,
    message: String,
}

impl StoreError {
    /// An error of `kind` that says `message`.
    pub fn new(kind: StoreErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// The store could not be reached or did not answer in time.
    pub fn unreachable(message: impl Into<String>) -> Self {
        Self::new(StoreErrorKind::Unreachable, message)
    }

    /// The store answered with an error of its own.
    pub fn refused(message: impl Into<String>) -> Self {
        Self::new(StoreErrorKind::Refused, message)
    }

    /// The settings can never work.
    pub fn misconfigured(message: impl Into<String>) -> Self {
        Self::new(StoreErrorKind::Misconfigured, message)
    }

    /// The store answered something tokengate did not write.
    pub fn corrupt(message: impl Into<String>) -> Self {
        Self::new(StoreErrorKind::Corrupt, message)
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// What happened, without the `session store error: ` that `Display` puts first.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the same call may succeed later (the store was [`Unreachable`]).
    ///
    /// [`Unreachable`]: StoreErrorKind::Unreachable
    pub fn is_transient(&self) -> bool {
        self.kind == StoreErrorKind::Unreachable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_the_message_after_what_failed() {
        let error = StoreError::unreachable("redis: connection refused");
        assert_eq!(
            error.to_string(),
            "session store error: redis: connection refused"
        );
        assert_eq!(error.kind(), StoreErrorKind::Unreachable);
        assert!(error.is_transient());
        assert!(!StoreError::misconfigured("x").is_transient());
        assert_eq!(StoreErrorKind::Corrupt.to_string(), "corrupt");
    }
}
