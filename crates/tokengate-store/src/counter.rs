//! Counting sign-in attempts per key in fixed windows.

use crate::StoreFuture;

/// The attempts of one key in its current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Attempts counted so far.
    pub count: u32,
    /// When the window ends, Unix seconds.
    pub ends_at: i64,
}

/// What [`AttemptCounter::reserve`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// The attempt is counted and may go on; the window after counting it.
    Granted(Window),
    /// The window already holds the limit; the attempt was not counted.
    Refused(Window),
}

impl Reservation {
    /// The window as the reservation left it.
    pub fn window(self) -> Window {
        match self {
            Self::Granted(window) | Self::Refused(window) => window,
        }
    }

    /// For a refused attempt, the seconds until the window ends (at least 1).
    pub fn retry_after(self, now: i64) -> Option<u64> {
        match self {
            Self::Granted(_) => None,
            Self::Refused(window) => Some(
                u64::try_from(window.ends_at.saturating_sub(now))
                    .unwrap_or(0)
                    .max(1),
            ),
        }
    }
}

/// Counts attempts per key in fixed windows. Every operation is one atomic step.
pub trait AttemptCounter: Send + Sync + 'static {
    /// Counts one attempt for `key` and grants it, unless the window open at `now` already
    /// holds `limit` attempts: then refuses it without counting it. A window of `window`
    /// seconds opens when none is open. Check and count are one atomic step.
    fn reserve<'a>(
        &'a self,
        key: &'a str,
        limit: u32,
        window: u64,
        now: i64,
    ) -> StoreFuture<'a, Reservation>;
    /// Gives back one attempt granted earlier (it was no failure) to the window it was
    /// counted in, the one ending at `ends_at` (as its reservation answered); when that window
    /// is no longer the key's, nothing changes, so an attempt that outlived its window never
    /// gives back one counted in the next. A window given back to zero is deleted.
    fn release<'a>(&'a self, key: &'a str, ends_at: i64) -> StoreFuture<'a, ()>;
    /// Forgets `key`: every failure of its window (an operator lifting a lock; a sign-in gives
    /// back only its own reservation).
    fn clear<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()>;
}
