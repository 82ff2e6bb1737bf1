//! Throttling sign-ins, per login and per client address.
//!
//! Each sign-in *reserves* an attempt against the login tried and one against the client
//! address before the password is verified, in fixed windows (`throttle_window`, default 15
//! minutes). A reservation is one atomic step in the counter — count it, or refuse it when the
//! window already holds its limit (`throttle_per_login`, default 10; `throttle_per_address`,
//! default 100) — so however many attempts arrive at once, no more than the limit are ever
//! verified per login and per address in a window. A refused attempt answers 429 with
//! `Retry-After` until the window ends, whether or not the login exists and whether or not the
//! password is right, so the answer reveals nothing.
//!
//! A failed attempt keeps its reservations: it was a failure. A successful one clears its
//! login's count and gives back its address reservation (an office behind one address is not
//! throttled for signing in well). An attempt that could not be decided (the credential
//! directory is down) gives both back.
//!
//! So, for one login, no more than `throttle_per_login` sign-ins can be in flight at the same
//! moment, right password or not: a service account that signs in from many workers at once
//! needs a higher limit (a success clears the count, so sequential sign-ins are never held).
//!
//! The client address is the peer address, or, only when `trusted_proxy_header` names one
//! (`x-forwarded-for`), the last address that header lists: the one the trusted proxy saw.
//! When that header is missing or unreadable, the peer address is used (and a warning logged),
//! so a misconfigured proxy never turns the per-address limit off. IPv6 addresses count per
//! `/64`, the block one host usually gets, so rotating addresses within it gains nothing.
//!
//! The counters sit behind [`FailureCounter`] so that several instances can share them (the
//! Redis store implements it); [`MemoryCounter`] is the default, for one process.
//!
//! # Example
//!
//! ```
//! use tokengate_core::throttle::{FailureCounter, MemoryCounter, Reservation};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let counter = MemoryCounter::new();
//! for _ in 0..3 {
//!     let granted = counter.reserve("login:ada", 3, 900, 1_000).await?;
//!     assert!(matches!(granted, Reservation::Granted(_)));
//! }
//! let refused = counter.reserve("login:ada", 3, 900, 1_010).await?;
//! assert_eq!(refused.retry_after(1_010), Some(890));
//! // The window ends, and attempts count again from zero.
//! let granted = counter.reserve("login:ada", 3, 900, 1_900).await?;
//! assert_eq!(granted.window().count, 1);
//! # Ok::<(), tokengate_core::store::StoreError>(())
//! # }).unwrap();
//! ```

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use crate::store::{StoreError, StoreFuture};

/// The attempts of one key in its current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Attempts counted so far.
    pub count: u32,
    /// When the window ends, Unix seconds.
    pub ends_at: i64,
}

/// What [`FailureCounter::reserve`] decided.
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
pub trait FailureCounter: Send + Sync + 'static {
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
    /// Gives back one attempt granted earlier in the window open at `now` (it was no failure).
    fn release<'a>(&'a self, key: &'a str, now: i64) -> StoreFuture<'a, ()>;
    /// Forgets `key`.
    fn clear<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()>;
}

/// Largest number of keys a [`MemoryCounter`] holds.
const MEMORY_CAPACITY: usize = 100_000;

/// Attempt counters in this process's memory, bounded.
///
/// Windows that have ended are dropped as room is needed; a window still open is never
/// dropped, as that would hand its key a fresh count. When the counter is full of open windows,
/// an attempt with a key it does not hold yet is refused until the first of them ends: under
/// such a flood sign-ins wait rather than go unthrottled. Share a [`FailureCounter`] in Redis
/// to throttle beyond one process.
#[derive(Debug)]
pub struct MemoryCounter {
    windows: Mutex<HashMap<String, Window>>,
    capacity: usize,
}

impl Default for MemoryCounter {
    fn default() -> Self {
        Self::with_capacity(MEMORY_CAPACITY)
    }
}

impl MemoryCounter {
    /// No attempts counted; room for 100 000 keys.
    pub fn new() -> Self {
        Self::default()
    }

    /// No attempts counted; room for `capacity` keys.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            windows: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    fn reserve_now(&self, key: &str, limit: u32, window: u64, now: i64) -> Reservation {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let length = i64::try_from(window).unwrap_or(i64::MAX);
        let fresh = Window {
            count: 0,
            ends_at: now.saturating_add(length),
        };
        if !windows.contains_key(key) && windows.len() >= self.capacity {
            windows.retain(|_, w| w.ends_at > now);
            if windows.len() >= self.capacity {
                let ends_at = windows.values().map(|w| w.ends_at).min().unwrap_or(now + 1);
                tracing::warn!(
                    target: "tokengate",
                    "the sign-in throttle is full of open windows; new keys wait until one ends"
                );
                return Reservation::Refused(Window { count: 0, ends_at });
            }
        }
        let entry = windows.entry(key.to_owned()).or_insert(fresh);
        if entry.ends_at <= now {
            *entry = fresh;
        }
        if entry.count >= limit {
            return Reservation::Refused(*entry);
        }
        entry.count += 1;
        Reservation::Granted(*entry)
    }
}

impl FailureCounter for MemoryCounter {
    fn reserve<'a>(
        &'a self,
        key: &'a str,
        limit: u32,
        window: u64,
        now: i64,
    ) -> StoreFuture<'a, Reservation> {
        Box::pin(std::future::ready(Ok(
            self.reserve_now(key, limit, window, now)
        )))
    }

    fn release<'a>(&'a self, key: &'a str, now: i64) -> StoreFuture<'a, ()> {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(window) = windows.get_mut(key).filter(|w| w.ends_at > now) {
            window.count = window.count.saturating_sub(1);
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn clear<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        self.windows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
        Box::pin(std::future::ready(Ok(())))
    }
}

/// The address a client is counted under: itself for IPv4, its `/64` for IPv6 (an IPv4
/// address mapped into IPv6 counts as the IPv4 address).
pub(crate) fn address_key(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4.to_string();
            }
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// Turns a counter error into the type the endpoints answer with.
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
    fn a_window_grants_its_limit_then_refuses_until_it_ends() {
        run(async {
            let counter = MemoryCounter::new();
            for count in 1..=3 {
                let granted = counter.reserve("k", 3, 10, 100).await.unwrap();
                assert_eq!(
                    granted,
                    Reservation::Granted(Window {
                        count,
                        ends_at: 110
                    })
                );
            }
            let refused = counter.reserve("k", 3, 10, 105).await.unwrap();
            assert_eq!(
                refused,
                Reservation::Refused(Window {
                    count: 3,
                    ends_at: 110
                })
            );
            assert_eq!(refused.retry_after(105), Some(5));
            // Refusals are not counted: one release makes room for exactly one.
            counter.release("k", 106).await.unwrap();
            assert!(matches!(
                counter.reserve("k", 3, 10, 106).await.unwrap(),
                Reservation::Granted(_)
            ));
            assert!(matches!(
                counter.reserve("k", 3, 10, 106).await.unwrap(),
                Reservation::Refused(_)
            ));
            let again = counter.reserve("k", 3, 10, 110).await.unwrap();
            assert_eq!(
                again,
                Reservation::Granted(Window {
                    count: 1,
                    ends_at: 120
                })
            );
            counter.clear("k").await.unwrap();
            assert_eq!(
                counter
                    .reserve("k", 3, 10, 111)
                    .await
                    .unwrap()
                    .window()
                    .count,
                1
            );
        });
    }

    #[test]
    fn open_windows_are_never_evicted_to_make_room() {
        run(async {
            let counter = MemoryCounter::with_capacity(100);
            for _ in 0..9 {
                counter.reserve("victim", 10, 900, 1_000).await.unwrap();
            }
            // A flood of other keys fills the counter...
            let mut refused = 0;
            for i in 0..1_000 {
                let key = format!("junk{i}");
                if let Reservation::Refused(_) =
                    counter.reserve(&key, 10, 900, 1_001).await.unwrap()
                {
                    refused += 1;
                }
            }
            assert_eq!(refused, 1_000 - 99);
            // ...but the victim's window still counts: one more attempt, then 429.
            let last = counter.reserve("victim", 10, 900, 1_002).await.unwrap();
            assert_eq!(last.window().count, 10);
            assert!(matches!(
                counter.reserve("victim", 10, 900, 1_002).await.unwrap(),
                Reservation::Refused(_)
            ));
            // Once the windows end, there is room again.
            assert!(matches!(
                counter.reserve("new", 10, 900, 1_901).await.unwrap(),
                Reservation::Granted(_)
            ));
            assert!(counter.windows.lock().unwrap().len() <= 100);
        });
    }

    #[test]
    fn ipv6_addresses_count_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:1:2:3".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.1");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keeps_the_counter_contract() {
        crate::store::testing::failure_counter_contract(&MemoryCounter::new()).await;
    }
}
