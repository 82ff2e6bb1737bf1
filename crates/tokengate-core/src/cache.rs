//! The verified-token cache: a token that passed every check once is not verified again until
//! its `exp`.
//!
//! Keyed by the whole token, so only the very same bytes hit; std's `HashMap` hashes with
//! SipHash under a random key per process, so crafted tokens cannot flood one bucket. Bounded
//! (`verify_cache_size` entries): when full, expired entries go, and if that frees nothing the
//! cache starts over. Sharded by a first hash to keep lock contention low. On by default when
//! an asymmetric key verifies (there it saves 70–110 µs a request); an entry whose session
//! strict revocation sees ended is dropped.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::verify::VerifiedToken;

const SHARDS: usize = 16;

/// Token → (verified, valid until).
type Shard = Mutex<HashMap<Box<str>, (VerifiedToken, i64)>>;

pub(crate) struct VerifyCache {
    shards: Vec<Shard>,
    per_shard: usize,
}

impl VerifyCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
        }
    }

    fn shard(&self, token: &str) -> &Shard {
        // The last character is signature, evenly spread; the shard only spreads the lock, the
        // map inside is flood-safe on its own.
        let last = token.as_bytes().last().copied().unwrap_or(0);
        &self.shards[usize::from(last) % SHARDS]
    }

    /// The verified token for exactly `token`, while `now` is before its expiry.
    pub(crate) fn get(&self, token: &str, now: i64) -> Option<VerifiedToken> {
        let shard = self
            .shard(token)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        shard
            .get(token)
            .filter(|(_, until)| now < *until)
            .map(|(verified, _)| verified.clone())
    }

    /// Remembers `verified` for `token` until it would stop verifying.
    pub(crate) fn put(&self, token: &str, verified: &VerifiedToken, now: i64) {
        let until = verified.valid_until();
        let mut shard = self
            .shard(token)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if shard.len() >= self.per_shard {
            shard.retain(|_, (_, until)| now < *until);
            if shard.len() >= self.per_shard {
                shard.clear();
            }
        }
        shard.insert(token.into(), (verified.clone(), until));
    }

    /// Drops every entry of session `sid`.
    pub(crate) fn forget_session(&self, sid: &str) {
        for shard in &self.shards {
            shard
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .retain(|_, (verified, _)| verified.claims().sid != sid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::testing;
    use crate::TokenGate;

    fn verified(gate: &TokenGate, sid: &str, exp: i64) -> (String, VerifiedToken) {
        let token = testing::access_token(gate, sid, exp);
        let verified = gate.verify_access(&token).unwrap();
        (token, verified)
    }

    #[test]
    fn entries_live_until_exp_and_leave_with_their_session() {
        let gate = testing::gate(&[("leeway", "0s")]);
        let now = crate::clock::unix_now();
        let cache = VerifyCache::new(4);
        let (token, found) = verified(&gate, "s1", now + 60);
        cache.put(&token, &found, now);
        assert!(cache.get(&token, now + 59).is_some());
        assert!(cache.get(&token, now + 60).is_none(), "served past its exp");
        assert!(cache.get(&format!("{token}x"), now).is_none());
        cache.forget_session("s1");
        assert!(cache.get(&token, now).is_none());
        // Bounded: far more tokens than room, and the shards stay within it.
        for i in 0..200 {
            let (token, found) = verified(&gate, &format!("s{i}"), now + 60);
            cache.put(&token, &found, now);
        }
        let held: usize = cache.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert!(held <= SHARDS, "{held}");
    }
}
