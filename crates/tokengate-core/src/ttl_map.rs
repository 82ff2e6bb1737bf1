//! The one bounded map behind the verified-token cache, the strict guard's memory of sessions
//! and the in-memory throttling counter: text keys, values that know when they stop mattering,
//! and one rule for making room.
//!
//! Each key is hashed once, whole, with SipHash under a key drawn at random per map, so no one
//! can predict where a key lands: the hash picks the shard (16 locks for a large map, one for a
//! small one, so that a small capacity stays exact) and is the key within it. A hit also
//! compares the whole key, so only the very same bytes hit.
//!
//! A shard that is full when a new key comes makes room in this order, only as far as needed:
//!
//! 1. it drops what has [expired](Held::expired) — no answer changes;
//! 2. it drops about a quarter of what may be [evicted](Held::evictable) (cached answers that
//!    can be asked again), picked by bits of the keyed hash that turn each time, so that no one
//!    — however many keys they send — can empty the shard of everyone else's entries at once
//!    (a small shard that keeps them all by chance drops one);
//! 3. then, by the value type's [rule](Held::WHEN_FULL): it refuses the new key (a throttling
//!    window must never be dropped while open: that would hand its key a fresh count), or it
//!    starts the shard over (a cache that only ever costs a store round trip).

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// What a full shard does when dropping expired and evictable entries left no room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WhenFull {
    /// The new key is not taken: [`TtlMap::update`] answers [`Full`].
    Refuse,
    /// The shard is emptied, and the new key taken.
    StartOver,
}

/// What a [`TtlMap`] needs to know of its values.
pub(crate) trait Held {
    /// What a full shard does when nothing more may be dropped.
    const WHEN_FULL: WhenFull;
    /// Whether it may be dropped at `now` without changing any answer.
    fn expired(&self, now: i64) -> bool;
    /// Whether it may be dropped to make room while it still matters (it can be asked again).
    fn evictable(&self) -> bool;
}

/// A full shard refused a new key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Full;

/// What an [`update`](TtlMap::update) does to the entry.
pub(crate) enum Change<V, R> {
    /// Leaves it as it is (changes made through the `&mut` included) and answers `R`.
    Keep(R),
    /// Sets it to `V` and answers `R`.
    Set(V, R),
    /// Removes it and answers `R`.
    Remove(R),
}

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

struct Slot<V> {
    key: Box<str>,
    value: V,
}

type Shard<V> = HashMap<u64, Slot<V>, BuildHasherDefault<Identity>>;

/// A bounded map from text keys to [`Held`] values; see the module.
pub(crate) struct TtlMap<V> {
    shards: Box<[Mutex<Shard<V>>]>,
    /// The shard count less one (16 or 1 shards: a power of two, so a mask picks the shard).
    mask: u64,
    per_shard: usize,
    hasher: RandomState,
    /// Turns with each eviction, so that the quarter evicted differs each time.
    evictions: AtomicU32,
}

/// Maps at least this large are split in 16 shards.
const SHARDED_FROM: usize = 1_024;

impl<V: Held> TtlMap<V> {
    /// Room for `capacity` keys.
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let shards = if capacity >= SHARDED_FROM { 16 } else { 1 };
        Self {
            shards: (0..shards).map(|_| Mutex::default()).collect(),
            mask: shards as u64 - 1,
            per_shard: capacity.div_ceil(shards),
            hasher: RandomState::new(),
            evictions: AtomicU32::new(0),
        }
    }

    fn locate(&self, key: &str) -> (MutexGuard<'_, Shard<V>>, u64) {
        let hash = self.hasher.hash_one(key);
        // The low bits pick the shard; the map uses the whole hash.
        let index = usize::try_from(hash & self.mask).unwrap_or(0);
        let shard = self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        (shard, hash)
    }

    /// Reads the value of `key`, if held, under its shard's lock.
    pub(crate) fn read<R>(&self, key: &str, read: impl FnOnce(&V) -> R) -> Option<R> {
        let (shard, hash) = self.locate(key);
        shard
            .get(&hash)
            .filter(|slot| *slot.key == *key)
            .map(|slot| read(&slot.value))
    }

    /// Reads and changes the entry of `key` in one step under its shard's lock. A value set
    /// for a key not held yet may need room, made as the module says; `Err(Full)` when the
    /// value type refuses, and then nothing changed.
    pub(crate) fn update<R>(
        &self,
        key: &str,
        now: i64,
        change: impl FnOnce(Option<&mut V>) -> Change<V, R>,
    ) -> Result<R, Full> {
        let (mut shard, hash) = self.locate(key);
        let held = shard.get_mut(&hash).filter(|slot| *slot.key == *key);
        let is_new = held.is_none();
        match change(held.map(|slot| &mut slot.value)) {
            Change::Keep(answer) => Ok(answer),
            Change::Remove(answer) => {
                if !is_new {
                    shard.remove(&hash);
                }
                Ok(answer)
            }
            Change::Set(value, answer) => {
                if is_new && shard.len() >= self.per_shard && !shard.contains_key(&hash) {
                    self.make_room(&mut shard, now)?;
                }
                shard.insert(
                    hash,
                    Slot {
                        key: key.into(),
                        value,
                    },
                );
                Ok(answer)
            }
        }
    }

    /// The smallest `of` over the values held in the shard of `key`: for a refusal to say when
    /// room comes back.
    pub(crate) fn min_in_shard_of(&self, key: &str, of: impl Fn(&V) -> i64) -> Option<i64> {
        let (shard, _) = self.locate(key);
        shard.values().map(|slot| of(&slot.value)).min()
    }

    fn make_room(&self, shard: &mut Shard<V>, now: i64) -> Result<(), Full> {
        shard.retain(|_, slot| !slot.value.expired(now));
        // A quarter of the evictable entries at a time, by hash bits that turn each time.
        for _ in 0..4 {
            if shard.len() < self.per_shard {
                return Ok(());
            }
            let turn = self.evictions.fetch_add(1, Ordering::Relaxed) % 16;
            shard.retain(|hash, slot| !slot.value.evictable() || (hash >> (8 + 2 * turn)) & 3 != 0);
        }
        // A small shard may keep all of them by chance: then any one.
        let any = shard
            .iter()
            .find(|(_, slot)| slot.value.evictable())
            .map(|(hash, _)| *hash);
        if let Some(hash) = any.filter(|_| shard.len() >= self.per_shard) {
            shard.remove(&hash);
        }
        if shard.len() < self.per_shard {
            return Ok(());
        }
        match V::WHEN_FULL {
            WhenFull::Refuse => Err(Full),
            WhenFull::StartOver => {
                tracing::warn!(target: "tokengate", "a bounded map is full of entries it may not drop: starting its shard over");
                shard.clear();
                Ok(())
            }
        }
    }

    /// How many keys are held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shard_sizes().iter().sum()
    }

    /// How many keys each shard holds.
    #[cfg(test)]
    pub(crate) fn shard_sizes(&self) -> Vec<usize> {
        self.shards
            .iter()
            .map(|shard| shard.lock().unwrap_or_else(PoisonError::into_inner).len())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value that expires at a time, evictable or not.
    struct Until(i64, bool);

    impl Held for Until {
        const WHEN_FULL: WhenFull = WhenFull::Refuse;
        fn expired(&self, now: i64) -> bool {
            self.0 <= now
        }
        fn evictable(&self) -> bool {
            self.1
        }
    }

    fn set(map: &TtlMap<Until>, key: &str, until: i64, evictable: bool, now: i64) -> bool {
        map.update(key, now, |_| Change::Set(Until(until, evictable), ()))
            .is_ok()
    }

    #[test]
    fn only_the_very_same_key_is_read() {
        let map = TtlMap::new(8);
        assert!(set(&map, "a", 10, true, 0));
        assert_eq!(map.read("a", |v| v.0), Some(10));
        assert_eq!(map.read("ab", |v| v.0), None);
    }

    #[test]
    fn room_comes_from_the_expired_then_the_evictable_then_not_at_all() {
        let map = TtlMap::new(4);
        assert!(set(&map, "old", 5, false, 0));
        assert!(set(&map, "kept", 100, false, 0));
        assert!(set(&map, "cached1", 100, true, 0));
        assert!(set(&map, "cached2", 100, true, 0));
        // Full: the expired one goes first.
        assert!(set(&map, "new1", 100, false, 10));
        assert_eq!(map.read("old", |_| ()), None);
        // Then evictable ones, never the others.
        assert!(set(&map, "new2", 100, false, 10));
        assert!(map.read("kept", |_| ()).is_some());
        assert!(map.read("new1", |_| ()).is_some());
        // Once only unevictable entries are left, a new key is refused and nothing changes.
        let _ = set(&map, "new3", 100, false, 10);
        assert!(!set(&map, "new4", 100, false, 10));
        assert_eq!(map.len(), 4);
        assert!(map.read("kept", |_| ()).is_some());
        // A key already held is always updated in place.
        assert!(set(&map, "kept", 200, false, 10));
        assert_eq!(map.read("kept", |v| v.0), Some(200));
    }

    #[test]
    fn an_update_is_one_step_under_the_lock() {
        let map = TtlMap::new(8);
        let count = |map: &TtlMap<Until>| {
            map.update("k", 0, |held| match held {
                Some(value) => {
                    value.0 += 1;
                    Change::Keep(value.0)
                }
                None => Change::Set(Until(1, false), 1),
            })
        };
        assert_eq!(count(&map), Ok(1));
        assert_eq!(count(&map), Ok(2));
        assert_eq!(map.update("k", 0, |_| Change::Remove(())), Ok(()));
        assert_eq!(map.read("k", |_| ()), None);
    }
}
