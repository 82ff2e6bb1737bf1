//! The verified-token cache: a token that passed every check once is not verified again until
//! its `exp`.
//!
//! Each token is hashed once, whole, with SipHash under a key drawn at random per cache, so no
//! one can predict where a token lands: the hash picks the shard (16 locks, evenly used whatever
//! the algorithm's signature alphabet) and is the key within it. A hit also compares the whole
//! token, so only the very same bytes hit. Bounded (`verify_cache_size` entries): a full shard
//! first drops its expired entries, then about a quarter of the others picked by hash, so no
//! one — however many tokens they mint — can empty the cache of everyone else's entries at once.
//! On by default when an asymmetric key verifies (there it saves 70–110 µs a request).
//!
//! Strict revocation checks the session after this cache, on every request, so an entry never
//! outlives its session's sign-out there; without strict revocation an access token is valid
//! until its `exp` anyway.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::jws::VerifiedToken;

const SHARDS: usize = 16;

/// Hashes a `u64` key that is a keyed hash already: as itself.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed; fold anything else in rather than panic.
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

struct Entry {
    token: Box<str>,
    verified: VerifiedToken,
    /// The last second it may be served.
    until: i64,
}

type Shard = Mutex<HashMap<u64, Entry, BuildHasherDefault<Identity>>>;

pub(crate) struct VerifyCache {
    shards: Vec<Shard>,
    per_shard: usize,
    hasher: RandomState,
    /// Turns with each eviction, so that the quarter evicted differs each time.
    evictions: AtomicU32,
}

impl VerifyCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
            hasher: RandomState::new(),
            evictions: AtomicU32::new(0),
        }
    }

    fn locate(&self, token: &str) -> (&Shard, u64) {
        let hash = self.hasher.hash_one(token);
        // The low bits pick the shard; the map uses the whole hash.
        let index = usize::try_from(hash % SHARDS as u64).unwrap_or(0);
        (&self.shards[index], hash)
    }

    /// The verified token for exactly `token`, while `now` is before its expiry.
    pub(crate) fn get(&self, token: &str, now: i64) -> Option<VerifiedToken> {
        let (shard, hash) = self.locate(token);
        let shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
        shard
            .get(&hash)
            .filter(|entry| now < entry.until && *entry.token == *token)
            .map(|entry| entry.verified.clone())
    }

    /// Remembers `verified` for `token` until it would stop verifying.
    pub(crate) fn put(&self, token: &str, verified: &VerifiedToken, now: i64) {
        let until = verified.valid_until();
        let (shard, hash) = self.locate(token);
        let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
        if shard.len() >= self.per_shard && !shard.contains_key(&hash) {
            shard.retain(|_, entry| now < entry.until);
            if shard.len() >= self.per_shard {
                // About a quarter, picked by bits of the keyed hash that turn each time.
                let turn = self.evictions.fetch_add(1, Ordering::Relaxed) % 16;
                shard.retain(|key, _| (key >> (8 + 2 * turn)) & 3 != 0);
            }
        }
        shard.insert(
            hash,
            Entry {
                token: token.into(),
                verified: verified.clone(),
                until,
            },
        );
    }

    #[cfg(test)]
    fn shard_sizes(&self) -> Vec<usize> {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len())
            .collect()
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
    fn entries_live_until_exp() {
        let gate = testing::gate(&[("leeway", "0s")]);
        let now = crate::clock::unix_now();
        let cache = VerifyCache::new(4);
        let (token, found) = verified(&gate, "s1", now + 60);
        cache.put(&token, &found, now);
        assert!(cache.get(&token, now + 59).is_some());
        assert!(cache.get(&token, now + 60).is_none(), "served past its exp");
        assert!(cache.get(&format!("{token}x"), now).is_none());
    }

    #[test]
    fn asymmetric_tokens_use_every_shard_and_the_whole_capacity() {
        let gate = testing::eddsa_gate();
        let now = crate::clock::unix_now();
        let capacity = 1_600;
        let cache = VerifyCache::new(capacity);
        let tokens: Vec<(String, VerifiedToken)> = (0..capacity)
            .map(|i| verified(&gate, &format!("s{i}"), now + 600))
            .collect();
        for (token, found) in &tokens {
            cache.put(token, found, now);
        }
        let sizes = cache.shard_sizes();
        let held: usize = sizes.iter().sum();
        assert!(held <= capacity, "{held} > {capacity}");
        // Spread: EdDSA signatures end in one of four characters, yet every shard is used,
        // and most of the capacity is usable before anything is evicted.
        assert!(sizes.iter().all(|&n| n > 0), "{sizes:?}");
        assert!(
            held >= capacity * 3 / 4,
            "only {held} of {capacity} held: {sizes:?}"
        );
        // A flood of new tokens evicts part of a shard at a time, never a whole one.
        let per_shard = capacity / SHARDS;
        for i in 0..400 {
            let (token, found) = verified(&gate, &format!("flood{i}"), now + 600);
            cache.put(&token, &found, now);
            let sizes = cache.shard_sizes();
            assert!(sizes.iter().all(|&n| n >= per_shard / 2), "{sizes:?}");
            assert!(sizes.iter().all(|&n| n <= per_shard), "{sizes:?}");
        }
        let still = tokens
            .iter()
            .filter(|(t, _)| cache.get(t, now).is_some())
            .count();
        assert!(still > 0, "the flood emptied the cache");
    }
}
