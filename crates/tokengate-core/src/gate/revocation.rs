//! Strict revocation: the guard's short memory of which sessions are live.
//!
//! With `strict_revocation`, the guard asks the store whether an access token's session is
//! still live. To keep the guard fast, each instance remembers a "live" answer for
//! `revocation_cache_ttl` (default 5 s). A sign-out on this instance takes effect here at once;
//! on another instance sharing the store, within that TTL: that is the propagation bound.
//!
//! An ended session never comes back (session ids are random and never reused), so a "dead"
//! mark is final: a "live" answer can never overwrite it, also not one read from the store
//! before the sign-out and written after it. Dead marks answer without a store round trip for
//! as long as they are held, whatever the TTL.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

/// Largest number of sessions remembered.
const CAPACITY: usize = 100_000;

/// How long a dead mark is kept at least when room is needed: longer than any store round
/// trip that could have read "live" before the sign-out.
const DEAD_KEPT: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    /// The store said live at this time.
    Live(i64),
    /// The session ended (on this instance's word, or the store's) at this time.
    Dead(i64),
}

#[derive(Debug)]
pub(crate) struct RevocationCache {
    seen: RwLock<HashMap<Box<str>, Mark>>,
    capacity: usize,
}

impl Default for RevocationCache {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl RevocationCache {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            seen: RwLock::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// What the cache knows of `sid` at `now`: `Some(false)` for an ended session,
    /// `Some(true)` while a live answer is younger than `ttl`, else `None` (ask the store).
    pub(crate) fn get(&self, sid: &str, now: i64, ttl: i64) -> Option<bool> {
        let seen = self.seen.read().unwrap_or_else(PoisonError::into_inner);
        match seen.get(sid)? {
            Mark::Dead(_) => Some(false),
            Mark::Live(at) => (now.saturating_sub(*at) < ttl).then_some(true),
        }
    }

    /// The store said `sid` is live at `now`; ignored when the session is known to have ended.
    pub(crate) fn mark_live(&self, sid: &str, now: i64, ttl: i64) {
        let mut seen = self.seen.write().unwrap_or_else(PoisonError::into_inner);
        match seen.get_mut(sid) {
            Some(Mark::Dead(_)) => {}
            Some(mark) => *mark = Mark::Live(now),
            None => {
                self.make_room(&mut seen, now, ttl);
                seen.insert(sid.into(), Mark::Live(now));
            }
        }
    }

    /// `sid` has ended: final.
    pub(crate) fn mark_dead(&self, sid: &str, now: i64, ttl: i64) {
        let mut seen = self.seen.write().unwrap_or_else(PoisonError::into_inner);
        if !seen.contains_key(sid) {
            self.make_room(&mut seen, now, ttl);
        }
        seen.insert(sid.into(), Mark::Dead(now));
    }

    /// Drops, in this order and only as far as needed: stale live answers and old dead marks
    /// (the store answers for them), then every live answer, then everything.
    fn make_room(&self, seen: &mut HashMap<Box<str>, Mark>, now: i64, ttl: i64) {
        if seen.len() < self.capacity {
            return;
        }
        let kept = ttl.max(DEAD_KEPT);
        seen.retain(|_, mark| match *mark {
            Mark::Live(at) => now.saturating_sub(at) < ttl,
            Mark::Dead(at) => now.saturating_sub(at) < kept,
        });
        if seen.len() >= self.capacity {
            seen.retain(|_, mark| matches!(mark, Mark::Dead(_)));
        }
        if seen.len() >= self.capacity {
            tracing::warn!(target: "tokengate", "revocation cache full of recent sign-outs: starting over");
            seen.clear();
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.seen
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_answers_expire_with_the_ttl() {
        let cache = RevocationCache::default();
        cache.mark_live("s", 100, 5);
        assert_eq!(cache.get("s", 104, 5), Some(true));
        assert_eq!(cache.get("s", 105, 5), None);
        assert_eq!(cache.get("other", 106, 5), None);
    }

    #[test]
    fn a_dead_mark_is_never_overwritten_by_a_live_answer() {
        let cache = RevocationCache::default();
        cache.mark_live("s", 100, 5);
        cache.mark_dead("s", 101, 5);
        // A store read that began before the sign-out ends after it.
        cache.mark_live("s", 101, 5);
        assert_eq!(cache.get("s", 101, 5), Some(false));
        // Dead stays dead past the TTL, and with a TTL of zero.
        assert_eq!(cache.get("s", 1_000, 5), Some(false));
        assert_eq!(cache.get("s", 1_000, 0), Some(false));
    }

    #[test]
    fn room_is_made_from_stale_answers_before_recent_sign_outs() {
        let cache = RevocationCache::with_capacity(10);
        cache.mark_dead("dead", 100, 5);
        for i in 0..50 {
            cache.mark_live(&format!("live{i}"), 100 + i, 5);
        }
        assert!(cache.len() <= 10, "{}", cache.len());
        assert_eq!(cache.get("dead", 150, 5), Some(false));
    }
}
