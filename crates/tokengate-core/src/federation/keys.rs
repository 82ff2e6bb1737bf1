//! The signing keys of another issuer, as its JWKS gives them: cached for as long as its
//! `Cache-Control` says (within bounds), refreshed when a token names a key id the cache does
//! not hold, but at most once per interval, whoever asks and however many ask at once, and
//! served stale while a refresh fails. A request waits for a refresh at most a bounded time;
//! the refresh itself runs on, so the next request finds its keys.
//!
//! The cache knows nothing of HTTP or of what a key is: a [`FetchKeys`] gives the keys and how
//! long they may be kept.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// What a fetch of an issuer's keys gave: the keys by id, and how long they may be kept
/// (`max-age`; `None` when the answer did not say).
#[derive(Debug)]
pub(crate) struct Fetched<K> {
    pub(crate) keys: Vec<(String, K)>,
    pub(crate) max_age: Option<Duration>,
}

/// Why a fetch gave no keys; kept for the log, never shown to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FetchError(pub(crate) String);

/// The future a fetch runs as.
pub(crate) type FetchFuture<K> =
    Pin<Box<dyn Future<Output = Result<Fetched<K>, FetchError>> + Send + 'static>>;

/// Fetches an issuer's keys.
pub(crate) trait FetchKeys<K>: Send + Sync + 'static {
    fn fetch(&self) -> FetchFuture<K>;
}

/// How the cache bounds its fetches and its waits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CacheBounds {
    /// At most one fetch per this interval, for unknown key ids and failed refreshes alike.
    pub(crate) min_interval: Duration,
    /// Keys are kept this long when the answer does not say, and at most this long when it
    /// says longer.
    pub(crate) max_age: Duration,
    /// How long a request waits for a refresh it needs before it is answered without.
    pub(crate) wait: Duration,
}

/// What a lookup found.
#[derive(Debug)]
pub(crate) enum Lookup<K> {
    /// The key with that id.
    Found(Arc<K>),
    /// The issuer's keys are known and none has that id.
    Unknown,
    /// No keys are known yet (the issuer has not answered), or the refresh took longer than
    /// the wait: the caller answers as for a store that is down.
    Unavailable,
}

/// The end of a fetch, however it ends: its result taken (a fetch that panicked is a failed
/// one), the fetch no longer running, its waiters told.
struct Ending<K: Send + Sync + 'static> {
    cache: Arc<KeyCache<K>>,
    done: watch::Sender<bool>,
    result: Option<Result<Fetched<K>, FetchError>>,
}

impl<K: Send + Sync + 'static> Drop for Ending<K> {
    fn drop(&mut self) {
        let result = self
            .result
            .take()
            .unwrap_or_else(|| Err(FetchError("the fetch did not finish".into())));
        self.cache.finish(result);
        let _ = self.done.send(true);
    }
}

/// The cached keys of one issuer.
pub(crate) struct KeyCache<K> {
    fetcher: Arc<dyn FetchKeys<K>>,
    bounds: CacheBounds,
    state: Mutex<State<K>>,
}

struct State<K> {
    /// `None` until a fetch has succeeded.
    keys: Option<Arc<HashMap<String, Arc<K>>>>,
    /// Until when the keys are fresh.
    fresh_until: Instant,
    /// When the last fetch started: none starts within `min_interval` of it.
    last_fetch: Option<Instant>,
    /// The fetch under way, if one is: its end is announced on this channel.
    running: Option<watch::Receiver<bool>>,
}

impl<K: Send + Sync + 'static> KeyCache<K> {
    pub(crate) fn new(fetcher: Arc<dyn FetchKeys<K>>, bounds: CacheBounds) -> Arc<Self> {
        Arc::new(Self {
            fetcher,
            bounds,
            state: Mutex::new(State {
                keys: None,
                fresh_until: Instant::now(),
                last_fetch: None,
                running: None,
            }),
        })
    }

    /// The key with id `kid`. A known key is answered at once (a stale one too, while a
    /// refresh runs behind it); an unknown one waits, at most `wait`, for a refresh, if one
    /// may start or is already running.
    pub(crate) async fn key(self: &Arc<Self>, kid: &str) -> Lookup<K> {
        let now = Instant::now();
        let waiting = {
            let mut state = self.lock();
            if let Some(key) = state.keys.as_ref().and_then(|keys| keys.get(kid)) {
                let key = Arc::clone(key);
                if now >= state.fresh_until {
                    // Stale: served as it is while a refresh, if one may start, runs behind.
                    let _ = self.start(&mut state, now);
                }
                return Lookup::Found(key);
            }
            match self.start(&mut state, now) {
                Some(running) => running,
                None => return Self::without(&state),
            }
        };
        let mut waiting = waiting;
        // The refresh runs on after the wait: a timeout here cancels only the waiting.
        let _ = tokio::time::timeout(self.bounds.wait, waiting.wait_for(|done| *done)).await;
        let state = self.lock();
        match state.keys.as_ref().and_then(|keys| keys.get(kid)) {
            Some(key) => Lookup::Found(Arc::clone(key)),
            None if state.running.is_some() => Lookup::Unavailable,
            None => Self::without(&state),
        }
    }

    /// Starts a fetch now, if one may start (inside a Tokio runtime only).
    pub(crate) fn prefetch(self: &Arc<Self>) {
        let mut state = self.lock();
        let _ = self.start(&mut state, Instant::now());
    }

    /// The answer for a key id the cache does not hold and will not fetch now.
    fn without(state: &State<K>) -> Lookup<K> {
        if state.keys.is_some() {
            Lookup::Unknown
        } else {
            Lookup::Unavailable
        }
    }

    /// Starts a fetch if none runs and none started within `min_interval`, and gives the
    /// channel its end is announced on (that of the one already running, if one is). The
    /// interval is claimed under the lock, before any await: a burst starts one fetch.
    fn start(
        self: &Arc<Self>,
        state: &mut State<K>,
        now: Instant,
    ) -> Option<watch::Receiver<bool>> {
        if let Some(running) = &state.running {
            return Some(running.clone());
        }
        if state
            .last_fetch
            .is_some_and(|last| now.duration_since(last) < self.bounds.min_interval)
        {
            return None;
        }
        state.last_fetch = Some(now);
        let (done, running) = watch::channel(false);
        state.running = Some(running.clone());
        let ending = Ending {
            cache: Arc::clone(self),
            done,
            result: None,
        };
        let fetch = self.fetcher.fetch();
        tokio::spawn(async move {
            let mut ending = ending;
            ending.result = Some(fetch.await);
            // Dropped here, or while the fetch's panic unwinds: either way the fetch is over
            // for the cache.
            drop(ending);
        });
        Some(running)
    }

    /// Takes a fetch's result: new keys replace the old ones; a failure keeps them.
    fn finish(&self, result: Result<Fetched<K>, FetchError>) {
        let mut state = self.lock();
        state.running = None;
        match result {
            Ok(fetched) => {
                let age = fetched
                    .max_age
                    .unwrap_or(self.bounds.max_age)
                    .min(self.bounds.max_age);
                let now = Instant::now();
                state.fresh_until = now.checked_add(age).unwrap_or(now);
                let keys = fetched
                    .keys
                    .into_iter()
                    .map(|(kid, key)| (kid, Arc::new(key)))
                    .collect();
                state.keys = Some(Arc::new(keys));
            }
            Err(error) => {
                tracing::warn!(target: "tokengate", reason = %error.0, "an issuer's keys could not be fetched; the last ones known are kept");
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<K>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The `max-age` of a `Cache-Control` header: `None` without one; zero for `no-store` or
/// `no-cache` (the cache then refreshes at most once per interval).
pub(crate) fn max_age(cache_control: &str) -> Option<Duration> {
    let mut found = None;
    for directive in cache_control.split(',').map(str::trim) {
        let (name, value) = directive.split_once('=').unwrap_or((directive, ""));
        match name.trim().to_ascii_lowercase().as_str() {
            "no-store" | "no-cache" => return Some(Duration::ZERO),
            "max-age" if found.is_none() => {
                found = value
                    .trim()
                    .trim_matches('"')
                    .parse::<u64>()
                    .ok()
                    .map(Duration::from_secs);
            }
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fetcher that counts its fetches and answers what the test sets, after a delay.
    struct Scripted {
        fetches: AtomicUsize,
        answer: Mutex<Result<Vec<&'static str>, FetchError>>,
        max_age: Option<Duration>,
        delay: Duration,
    }

    impl Scripted {
        fn new(kids: Vec<&'static str>, delay: Duration) -> Arc<Self> {
            Arc::new(Self {
                fetches: AtomicUsize::new(0),
                answer: Mutex::new(Ok(kids)),
                max_age: None,
                delay,
            })
        }
        fn fetches(&self) -> usize {
            self.fetches.load(Ordering::SeqCst)
        }
        fn answer(&self, answer: Result<Vec<&'static str>, FetchError>) {
            *self.answer.lock().unwrap() = answer;
        }
    }

    impl FetchKeys<String> for Scripted {
        fn fetch(&self) -> FetchFuture<String> {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            let answer = self.answer.lock().unwrap().clone();
            let (delay, max_age) = (self.delay, self.max_age);
            Box::pin(async move {
                tokio::time::sleep(delay).await;
                answer.map(|kids| Fetched {
                    keys: kids
                        .into_iter()
                        .map(|kid| (kid.to_owned(), format!("key {kid}")))
                        .collect(),
                    max_age,
                })
            })
        }
    }

    const BOUNDS: CacheBounds = CacheBounds {
        min_interval: Duration::from_secs(10),
        max_age: Duration::from_secs(300),
        wait: Duration::from_secs(2),
    };

    fn found(lookup: Lookup<String>) -> String {
        match lookup {
            Lookup::Found(key) => (*key).clone(),
            other => panic!("no key: {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_flood_of_unknown_key_ids_fetches_once_per_interval() {
        let fetcher = Scripted::new(vec!["a"], Duration::from_millis(50));
        let cache = KeyCache::new(fetcher.clone(), BOUNDS);
        assert_eq!(found(cache.key("a").await), "key a");
        assert_eq!(fetcher.fetches(), 1);
        tokio::time::advance(BOUNDS.min_interval).await;
        // A thousand random ids at once, then again and again within the interval.
        let lookups = futures_util::future::join_all((0..1000).map(|n| {
            let cache = Arc::clone(&cache);
            async move { cache.key(&format!("random-{n}")).await }
        }))
        .await;
        assert!(lookups.iter().all(|l| matches!(l, Lookup::Unknown)));
        assert_eq!(fetcher.fetches(), 2, "one fetch for the whole burst");
        for _ in 0..100 {
            assert!(matches!(cache.key("another").await, Lookup::Unknown));
        }
        assert_eq!(fetcher.fetches(), 2, "none more within the interval");
        tokio::time::advance(BOUNDS.min_interval).await;
        assert!(matches!(cache.key("another").await, Lookup::Unknown));
        assert_eq!(fetcher.fetches(), 3, "the next interval allows one more");
    }

    #[tokio::test(start_paused = true)]
    async fn a_rotated_key_is_found_after_one_fetch() {
        let fetcher = Scripted::new(vec!["old"], Duration::ZERO);
        let cache = KeyCache::new(fetcher.clone(), BOUNDS);
        found(cache.key("old").await);
        fetcher.answer(Ok(vec!["old", "new"]));
        tokio::time::advance(BOUNDS.min_interval).await;
        assert_eq!(found(cache.key("new").await), "key new");
        assert_eq!(fetcher.fetches(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn stale_keys_are_served_while_the_refresh_fails() {
        let fetcher = Scripted::new(vec!["a"], Duration::ZERO);
        let cache = KeyCache::new(fetcher.clone(), BOUNDS);
        found(cache.key("a").await);
        fetcher.answer(Err(FetchError("down".into())));
        tokio::time::advance(BOUNDS.max_age * 2).await;
        for _ in 0..5 {
            assert_eq!(found(cache.key("a").await), "key a");
            tokio::task::yield_now().await;
        }
        assert_eq!(fetcher.fetches(), 2, "the stale keys asked for one refresh");
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_issuer_holds_a_request_no_longer_than_the_wait() {
        let fetcher = Scripted::new(vec!["a"], Duration::from_secs(60));
        let cache = KeyCache::new(fetcher.clone(), BOUNDS);
        let started = Instant::now();
        assert!(matches!(cache.key("a").await, Lookup::Unavailable));
        assert_eq!(started.elapsed(), BOUNDS.wait);
        // The fetch ran on: once it is done, the key is there without another fetch.
        tokio::time::advance(Duration::from_secs(60)).await;
        tokio::task::yield_now().await;
        assert_eq!(found(cache.key("a").await), "key a");
        assert_eq!(fetcher.fetches(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn an_issuer_that_never_answered_is_unavailable_not_unknown() {
        let fetcher = Scripted::new(vec![], Duration::ZERO);
        fetcher.answer(Err(FetchError("refused".into())));
        let cache = KeyCache::new(fetcher.clone(), BOUNDS);
        assert!(matches!(cache.key("a").await, Lookup::Unavailable));
        assert!(matches!(cache.key("a").await, Lookup::Unavailable));
        assert_eq!(fetcher.fetches(), 1);
    }

    struct Panicking(AtomicUsize);

    impl FetchKeys<String> for Panicking {
        fn fetch(&self) -> FetchFuture<String> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { panic!("a fetcher's bug") })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_fetch_that_panics_ends_like_a_failed_one() {
        let fetcher = Arc::new(Panicking(AtomicUsize::new(0)));
        let cache = KeyCache::new(fetcher.clone(), BOUNDS);
        let started = Instant::now();
        assert!(matches!(cache.key("a").await, Lookup::Unavailable));
        assert!(
            started.elapsed() < BOUNDS.wait,
            "the waiters were told at once"
        );
        // The next interval fetches again: the panicked fetch is not running for ever.
        tokio::time::advance(BOUNDS.min_interval).await;
        assert!(matches!(cache.key("a").await, Lookup::Unavailable));
        assert_eq!(fetcher.0.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn cache_control_gives_its_max_age() {
        assert_eq!(
            max_age("public, max-age=600"),
            Some(Duration::from_secs(600))
        );
        assert_eq!(max_age("max-age=\"60\""), Some(Duration::from_secs(60)));
        assert_eq!(max_age("no-store, max-age=600"), Some(Duration::ZERO));
        assert_eq!(max_age("max-age=600, no-cache"), Some(Duration::ZERO));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=-1"), None);
        assert_eq!(max_age("max-age=soon"), None);
        // The first valid one counts; a later one of another shape does not undo it.
        assert_eq!(
            max_age("max-age=600, max-age=junk"),
            Some(Duration::from_secs(600))
        );
    }
}
