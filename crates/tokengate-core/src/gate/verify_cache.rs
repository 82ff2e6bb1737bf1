//! The verified-token cache: a token that passed every check once is not verified again until
//! its `exp`.
//!
//! Kept in the core's one bounded map ([`TtlMap`]): each token hashed once with a keyed
//! SipHash, 16 shards evenly used whatever the algorithm's signature alphabet, only the very
//! same bytes hit. Bounded (`verify_cache_size` entries): a full shard first drops its expired
//! entries, then about a quarter of the others picked by hash, so no one — however many tokens
//! they mint — can empty the cache of everyone else's entries at once.
//! On by default when an asymmetric key verifies (there it saves 70–110 µs a request).
//!
//! Strict revocation checks the session after this cache, on every request, so an entry never
//! outlives its session's sign-out there; without strict revocation an access token is valid
//! until its `exp` anyway.

use crate::jws::VerifiedToken;
use crate::telemetry::CacheMeters;
use crate::ttl_map::{Change, Held, TtlMap, WhenFull};

struct Cached {
    verified: VerifiedToken,
    /// The last second it may be served.
    until: i64,
}

impl Held for Cached {
    // Every entry is evictable: a full shard always makes room.
    const WHEN_FULL: WhenFull = WhenFull::StartOver;

    fn expired(&self, now: i64) -> bool {
        now >= self.until
    }

    fn evictable(&self) -> bool {
        true
    }
}

pub(crate) struct VerifyCache {
    map: TtlMap<Cached>,
    meters: CacheMeters,
}

impl VerifyCache {
    pub(crate) fn new(capacity: usize, meters: CacheMeters) -> Self {
        Self {
            map: TtlMap::new(capacity),
            meters,
        }
    }

    /// The verified token for exactly `token`, while `now` is before its expiry; counted as
    /// a hit or a miss.
    pub(crate) fn get(&self, token: &str, now: i64) -> Option<VerifiedToken> {
        let found = self
            .map
            .read(token, |cached| {
                (now < cached.until).then(|| cached.verified.clone())
            })
            .flatten();
        match found {
            Some(_) => self.meters.hits.increment(1),
            None => self.meters.misses.increment(1),
        }
        found
    }

    /// Remembers `verified` for `token` until it would stop verifying.
    pub(crate) fn put(&self, token: &str, verified: &VerifiedToken, now: i64) {
        let cached = Cached {
            verified: verified.clone(),
            until: verified.valid_until(),
        };
        // Never refused: every entry may be evicted.
        let _ = self.map.update(token, now, |_| Change::Set(cached, ()));
    }

    #[cfg(test)]
    fn shard_sizes(&self) -> Vec<usize> {
        self.map.shard_sizes()
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
        let cache = VerifyCache::new(4, CacheMeters::new());
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
        let cache = VerifyCache::new(capacity, CacheMeters::new());
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
        let per_shard = capacity / 16;
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
