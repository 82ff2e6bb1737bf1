//! Strict revocation: the guard's short memory of which sessions are live.
//!
//! With `strict_revocation`, the guard asks the store whether an access token's session is
//! still live. To keep the guard fast, each instance remembers the answer for
//! `revocation_cache_ttl` (default 5 s). A sign-out on this instance takes effect here at once;
//! on another instance sharing the store, within that TTL: that is the propagation bound.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

/// Largest number of sessions remembered; past it the memory starts over.
const CAPACITY: usize = 100_000;

#[derive(Debug, Default)]
pub(crate) struct RevocationCache {
    /// session id → (live, when the store said so).
    seen: RwLock<HashMap<String, (bool, i64)>>,
}

impl RevocationCache {
    /// What the cache knows of `sid` at `now`: `Some(live)` while fresh.
    pub(crate) fn get(&self, sid: &str, now: i64, ttl: i64) -> Option<bool> {
        let seen = self.seen.read().unwrap_or_else(PoisonError::into_inner);
        seen.get(sid)
            .filter(|(_, at)| now.saturating_sub(*at) < ttl)
            .map(|(live, _)| *live)
    }

    pub(crate) fn put(&self, sid: &str, live: bool, now: i64) {
        let mut seen = self.seen.write().unwrap_or_else(PoisonError::into_inner);
        if seen.len() >= CAPACITY && !seen.contains_key(sid) {
            seen.clear();
        }
        seen.insert(sid.to_owned(), (live, now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_expire_with_the_ttl() {
        let cache = RevocationCache::default();
        cache.put("s", true, 100);
        assert_eq!(cache.get("s", 104, 5), Some(true));
        assert_eq!(cache.get("s", 105, 5), None);
        cache.put("s", false, 105);
        assert_eq!(cache.get("s", 106, 5), Some(false));
        assert_eq!(cache.get("other", 106, 5), None);
    }
}
