//! Throttling failed sign-ins, per login and per client address.
//!
//! Each failed sign-in counts one against the login tried and one against the client address,
//! in fixed windows (`throttle_window`, default 15 minutes). Once either count reaches its limit
//! (`throttle_per_login`, default 10; `throttle_per_address`, default 100), sign-ins for that
//! login or from that address answer 429 with `Retry-After` until the window ends, whether or
//! not the login exists and whether or not the password is right, so the answer reveals
//! nothing. A successful sign-in clears its login's count.
//!
//! The client address is the peer address, or, only when `trusted_proxy_header` names one
//! (`x-forwarded-for`), the last address that header lists: the one the trusted proxy saw.
//!
//! The counters sit behind [`FailureCounter`] so that several instances can share them (the
//! Redis store implements it); [`MemoryCounter`] is the default, for one process.
//!
//! # Example
//!
//! ```
//! use tokengate_core::throttle::{FailureCounter, MemoryCounter};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let counter = MemoryCounter::new();
//! for _ in 0..3 {
//!     counter.add("login:ada", 900, 1_000).await?;
//! }
//! let window = counter.get("login:ada", 1_010).await?.map(|w| (w.count, w.ends_at));
//! assert_eq!(window, Some((3, 1_900)));
//! assert_eq!(counter.get("login:ada", 1_900).await?.map(|w| w.count), None);
//! # Ok::<(), tokengate_core::store::StoreError>(())
//! # }).unwrap();
//! ```

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::store::{StoreError, StoreFuture};

/// The failures of one key in its current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Failures counted so far.
    pub count: u32,
    /// When the window ends, Unix seconds.
    pub ends_at: i64,
}

/// Counts failures per key in fixed windows.
pub trait FailureCounter: Send + Sync + 'static {
    /// The open window of `key` at `now`, if any.
    fn get<'a>(&'a self, key: &'a str, now: i64) -> StoreFuture<'a, Option<Window>>;
    /// Counts one failure for `key`, opening a window of `window` seconds if none is open.
    fn add<'a>(&'a self, key: &'a str, window: u64, now: i64) -> StoreFuture<'a, Window>;
    /// Forgets `key`.
    fn clear<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()>;
}

/// Largest number of keys a [`MemoryCounter`] holds; past it, the windows that end first go.
const MEMORY_CAPACITY: usize = 100_000;

/// Failure counters in this process's memory, bounded.
#[derive(Debug, Default)]
pub struct MemoryCounter {
    windows: Mutex<HashMap<String, Window>>,
}

impl MemoryCounter {
    /// No failures counted.
    pub fn new() -> Self {
        Self::default()
    }
}

impl FailureCounter for MemoryCounter {
    fn get<'a>(&'a self, key: &'a str, now: i64) -> StoreFuture<'a, Option<Window>> {
        let windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let window = windows.get(key).copied().filter(|w| w.ends_at > now);
        Box::pin(std::future::ready(Ok(window)))
    }

    fn add<'a>(&'a self, key: &'a str, window: u64, now: i64) -> StoreFuture<'a, Window> {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if windows.len() >= MEMORY_CAPACITY && !windows.contains_key(key) {
            windows.retain(|_, w| w.ends_at > now);
            if windows.len() >= MEMORY_CAPACITY {
                // Still full of open windows: drop the half that ends first.
                let mut ends: Vec<i64> = windows.values().map(|w| w.ends_at).collect();
                let (_, median, _) = ends.select_nth_unstable(MEMORY_CAPACITY / 2);
                let median = *median;
                windows.retain(|_, w| w.ends_at > median);
            }
        }
        let length = i64::try_from(window).unwrap_or(i64::MAX);
        let entry = windows.entry(key.to_owned()).or_insert(Window {
            count: 0,
            ends_at: now.saturating_add(length),
        });
        if entry.ends_at <= now {
            *entry = Window {
                count: 0,
                ends_at: now.saturating_add(length),
            };
        }
        entry.count = entry.count.saturating_add(1);
        let window = *entry;
        Box::pin(std::future::ready(Ok(window)))
    }

    fn clear<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        self.windows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
        Box::pin(std::future::ready(Ok(())))
    }
}

/// Turns a store error into the type the endpoints answer with.
pub(crate) fn counter_down(error: &StoreError) -> crate::Error {
    tracing::warn!(target: "tokengate", %error, "failure counter unavailable");
    crate::Error::new(crate::ErrorKind::Unavailable("throttling store"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<T>(future: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn a_window_starts_again_after_it_ends() {
        run(async {
            let counter = MemoryCounter::new();
            counter.add("k", 10, 100).await.unwrap();
            let window = counter.add("k", 10, 105).await.unwrap();
            assert_eq!(
                window,
                Window {
                    count: 2,
                    ends_at: 110
                }
            );
            let window = counter.add("k", 10, 110).await.unwrap();
            assert_eq!(
                window,
                Window {
                    count: 1,
                    ends_at: 120
                }
            );
            counter.clear("k").await.unwrap();
            assert_eq!(counter.get("k", 111).await.unwrap(), None);
        });
    }

    #[test]
    fn memory_stays_bounded() {
        run(async {
            let counter = MemoryCounter::new();
            for i in 0..(MEMORY_CAPACITY + 10) {
                let now = i64::try_from(i).unwrap();
                counter.add(&format!("k{i}"), 1_000_000, now).await.unwrap();
            }
            let held = counter.windows.lock().unwrap().len();
            assert!(held <= MEMORY_CAPACITY, "{held}");
        });
    }
}
