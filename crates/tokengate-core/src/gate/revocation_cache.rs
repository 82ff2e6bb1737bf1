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
//!
//! Kept in the core's one bounded map ([`TtlMap`]); when it is full, stale live answers and
//! old dead marks go first (the store answers for them), then live answers, and only a map
//! full of recent sign-outs starts over.

use crate::ttl_map::{Change, Held, TtlMap, WhenFull};

/// Largest number of sessions remembered.
const CAPACITY: usize = 100_000;

/// How long a dead mark is kept at least when room is needed: longer than any store round
/// trip that could have read "live" before the sign-out.
const DEAD_KEPT: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    /// The store said live at `at`; trusted until `until`.
    Live { at: i64, until: i64 },
    /// The session ended (on this instance's word, or the store's); the mark may make room
    /// from `kept_until` on, and is final until then.
    Dead { kept_until: i64 },
}

impl Held for Mark {
    const WHEN_FULL: WhenFull = WhenFull::StartOver;

    fn expired(&self, now: i64) -> bool {
        match *self {
            Self::Live { until, .. } => now >= until,
            Self::Dead { kept_until } => now >= kept_until,
        }
    }

    fn evictable(&self) -> bool {
        matches!(self, Self::Live { .. })
    }
}

pub(crate) struct RevocationCache {
    seen: TtlMap<Mark>,
}

impl std::fmt::Debug for RevocationCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationCache").finish_non_exhaustive()
    }
}

impl Default for RevocationCache {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl RevocationCache {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            seen: TtlMap::new(capacity),
        }
    }

    /// What the cache knows of `sid` at `now`: `Some(false)` for an ended session,
    /// `Some(true)` while a live answer is younger than `ttl`, else `None` (ask the store).
    pub(crate) fn get(&self, sid: &str, now: i64, ttl: i64) -> Option<bool> {
        self.seen
            .read(sid, |mark| match *mark {
                Mark::Dead { .. } => Some(false),
                Mark::Live { at, .. } => (now.saturating_sub(at) < ttl).then_some(true),
            })
            .flatten()
    }

    /// The store said `sid` is live at `now`; ignored when the session is known to have ended.
    pub(crate) fn mark_live(&self, sid: &str, now: i64, ttl: i64) {
        let live = Mark::Live {
            at: now,
            until: now.saturating_add(ttl),
        };
        let _ = self.seen.update(sid, now, |held| match held {
            Some(Mark::Dead { .. }) => Change::Keep(()),
            _ => Change::Set(live, ()),
        });
    }

    /// `sid` has ended: final.
    pub(crate) fn mark_dead(&self, sid: &str, now: i64, ttl: i64) {
        let dead = Mark::Dead {
            kept_until: now.saturating_add(ttl.max(DEAD_KEPT)),
        };
        let _ = self.seen.update(sid, now, |_| Change::Set(dead, ()));
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.seen.len()
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
