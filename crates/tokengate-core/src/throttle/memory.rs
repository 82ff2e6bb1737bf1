//! Attempt counters in this process's memory.

use tokengate_store::{AttemptCounter, Reservation, StoreFuture, Window};

use crate::ttl_map::{Change, Full, Held, TtlMap, WhenFull};

/// Largest number of keys a [`MemoryCounter`] holds.
const MEMORY_CAPACITY: usize = 100_000;

/// One key's window, as held, with the limit it was counted against: never dropped while
/// open, unless it protects nothing.
struct Open(Window, u32);

impl Held for Open {
    const WHEN_FULL: WhenFull = WhenFull::Refuse;

    fn expired(&self, now: i64) -> bool {
        self.0.ends_at <= now
    }

    /// A window of one attempt that is not at its limit may make room: dropping it gives its
    /// key back one attempt, while refusing new keys would refuse every other user. A window
    /// at its limit (a spent WebSocket ticket, a limit of one) is never dropped.
    fn evictable(&self) -> bool {
        self.0.count <= 1 && self.0.count < self.1
    }
}

/// How often, at most, the "full" warning is logged: once per this many seconds.
const FULL_WARNING_EVERY: i64 = 60;

/// Attempt counters in this process's memory, bounded.
///
/// Windows that have ended are dropped as room is needed, then windows of a single attempt
/// (they protect nothing: dropping one gives its key back one attempt); a window that counts
/// more is never dropped, as that would hand its key a fresh count. A window given back to
/// zero is deleted at once. When the counter is still full, an attempt with a key it does not
/// hold yet is refused until the first window ends: under such a flood sign-ins wait rather
/// than go unthrottled (and a warning is logged, at most once a minute). Share a
/// [`AttemptCounter`] in Redis or PostgreSQL to throttle beyond one process.
pub struct MemoryCounter {
    windows: TtlMap<Open>,
    /// When the "full" warning was last logged, Unix seconds.
    warned_full: std::sync::atomic::AtomicI64,
}

impl std::fmt::Debug for MemoryCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryCounter").finish_non_exhaustive()
    }
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
            windows: TtlMap::new(capacity),
            warned_full: std::sync::atomic::AtomicI64::new(i64::MIN),
        }
    }

    /// How many windows are held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.windows.len()
    }

    fn reserve_now(&self, key: &str, limit: u32, window: u64, now: i64) -> Reservation {
        let length = i64::try_from(window).unwrap_or(i64::MAX);
        let fresh = Window {
            count: 0,
            ends_at: now.saturating_add(length),
        };
        let counted = self.windows.update(key, now, |held| {
            let open = held.map(|open| &mut open.0).filter(|w| w.ends_at > now);
            match open {
                Some(window) if window.count >= limit => {
                    Change::Keep(Reservation::Refused(*window))
                }
                Some(window) => {
                    window.count += 1;
                    Change::Keep(Reservation::Granted(*window))
                }
                None if limit == 0 => Change::Keep(Reservation::Refused(fresh)),
                None => {
                    let first = Window { count: 1, ..fresh };
                    Change::Set(Open(first, limit), Reservation::Granted(first))
                }
            }
        });
        counted.unwrap_or_else(|Full| {
            let last = self.warned_full.load(std::sync::atomic::Ordering::Relaxed);
            if now.saturating_sub(last) >= FULL_WARNING_EVERY
                && self
                    .warned_full
                    .compare_exchange(
                        last,
                        now,
                        std::sync::atomic::Ordering::Relaxed,
                        std::sync::atomic::Ordering::Relaxed,
                    )
                    .is_ok()
            {
                tracing::warn!(
                    target: "tokengate",
                    "the sign-in throttle is full of open windows; new keys wait until one ends \
                     (logged at most once a minute)"
                );
            }
            let ends_at = self
                .windows
                .min_in_shard_of(key, |open| open.0.ends_at)
                .unwrap_or(now + 1);
            Reservation::Refused(Window { count: 0, ends_at })
        })
    }
}

impl AttemptCounter for MemoryCounter {
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

    fn release<'a>(&'a self, key: &'a str, ends_at: i64) -> StoreFuture<'a, ()> {
        // A window given back to zero protects nothing: it goes, and holds no room.
        let _ = self.windows.update(key, ends_at, |held| match held {
            Some(Open(window, _)) if window.ends_at == ends_at && window.count > 1 => {
                window.count -= 1;
                Change::Keep(())
            }
            Some(Open(window, _)) if window.ends_at == ends_at => Change::Remove(()),
            _ => Change::Keep(()),
        });
        Box::pin(std::future::ready(Ok(())))
    }

    fn clear<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        let _ = self.windows.update(key, 0, |_| Change::Remove(()));
        Box::pin(std::future::ready(Ok(())))
    }
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
            counter.release("k", 110).await.unwrap();
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
    fn windows_that_count_are_never_evicted_to_make_room() {
        run(async {
            let counter = MemoryCounter::with_capacity(100);
            for _ in 0..9 {
                counter.reserve("victim", 10, 900, 1_000).await.unwrap();
            }
            // Windows of two attempts fill the counter...
            let mut refused = 0;
            for i in 0..1_000 {
                let key = format!("junk{i}");
                for _ in 0..2 {
                    if let Reservation::Refused(_) =
                        counter.reserve(&key, 10, 900, 1_001).await.unwrap()
                    {
                        refused += 1;
                    }
                }
            }
            assert_eq!(refused, 2 * (1_000 - 99));
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
            assert!(counter.windows.len() <= 100);
        });
    }

    /// Attack: a flood of new keys evicted a spent ticket's window (one attempt, at its
    /// limit of one), and the ticket was granted again. A window at its limit stays.
    #[test]
    fn a_spent_ticket_is_never_evicted() {
        run(async {
            let counter = MemoryCounter::with_capacity(100);
            let spent = counter.reserve("ticket:j", 1, 30, 1_000).await.unwrap();
            assert!(matches!(spent, Reservation::Granted(_)));
            for i in 0..1_000 {
                counter
                    .reserve(&format!("junk{i}"), 10, 900, 1_001)
                    .await
                    .unwrap();
            }
            assert!(matches!(
                counter.reserve("ticket:j", 1, 30, 1_002).await.unwrap(),
                Reservation::Refused(_)
            ));
        });
    }

    #[test]
    fn windows_of_one_attempt_make_room_and_a_window_back_at_zero_goes() {
        run(async {
            let counter = MemoryCounter::with_capacity(100);
            for _ in 0..5 {
                counter.reserve("victim", 10, 900, 1_000).await.unwrap();
            }
            // A flood of keys tried once each never locks a new key out.
            for i in 0..1_000 {
                let granted = counter
                    .reserve(&format!("junk{i}"), 10, 900, 1_001)
                    .await
                    .unwrap();
                assert!(matches!(granted, Reservation::Granted(_)), "junk{i}");
            }
            assert_eq!(
                counter
                    .reserve("victim", 10, 900, 1_002)
                    .await
                    .unwrap()
                    .window()
                    .count,
                6
            );
            // Given back to zero, a window is no longer held.
            let once = counter.reserve("once", 10, 900, 1_003).await.unwrap();
            counter
                .release("once", once.window().ends_at)
                .await
                .unwrap();
            assert!(counter.windows.read("once", |_| ()).is_none());
        });
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keeps_the_counter_contract() {
        tokengate_store::testing::attempt_counter_contract(&MemoryCounter::new()).await;
    }
}
