//! Second factors and recovery codes in this process's memory, for [`MemoryStore`].
//!
//! [`MemoryStore`]: super::MemoryStore

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use tokengate_store::{
    Confirmation, Confirmed, CredentialUse, Factor, FactorStore, Registered, StoreFuture,
};

use crate::ttl_map::{Change, Held as MapHeld, TtlMap, WhenFull};

/// The most ceremony challenges held at once: past it, the oldest room is made as the bounded
/// map makes it (a challenge dropped costs its user one more request).
const CHALLENGES: usize = 65_536;

/// A challenge's state until it is taken or ends.
struct Challenge {
    state: String,
    expires_at: i64,
}

impl MapHeld for Challenge {
    const WHEN_FULL: WhenFull = WhenFull::StartOver;

    fn expired(&self, now: i64) -> bool {
        self.expires_at <= now
    }

    fn evictable(&self) -> bool {
        true
    }
}

/// What one subject holds.
#[derive(Default)]
struct Held {
    factors: Vec<Factor>,
    recovery: HashSet<String>,
}

impl Held {
    fn active(&self) -> usize {
        self.factors.iter().filter(|f| f.is_active()).count()
    }
}

/// What every subject holds, and whose each passkey's credential id is.
#[derive(Default)]
struct Subjects {
    held: HashMap<String, Held>,
    /// Credential id to subject, for every passkey held.
    credentials: HashMap<String, String>,
}

/// The factors of every subject, behind one lock: each operation is one step under it. The
/// ceremony challenges are apart, in a bounded map.
pub(super) struct MemoryFactors {
    subjects: Mutex<Subjects>,
    challenges: TtlMap<Challenge>,
}

impl Default for MemoryFactors {
    fn default() -> Self {
        Self {
            subjects: Mutex::default(),
            challenges: TtlMap::new(CHALLENGES),
        }
    }
}

impl MemoryFactors {
    fn subjects(&self) -> MutexGuard<'_, Subjects> {
        self.subjects
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `step` on `subject`'s holdings (made empty if none), dropping its expired pending
    /// factors first and the holdings when nothing is left after; the credential index follows
    /// what it removed.
    fn with<T>(&self, subject: &str, now: i64, step: impl FnOnce(&mut Held) -> T) -> T {
        let mut subjects = self.subjects();
        let Subjects { held, credentials } = &mut *subjects;
        let mine = held.entry(subject.to_owned()).or_default();
        mine.factors.retain(|factor| factor.is_live(now));
        let before: Vec<String> = mine.credentials().map(str::to_owned).collect();
        let result = step(mine);
        for credential in before {
            if !mine.credentials().any(|held| held == credential) {
                credentials.remove(&credential);
            }
        }
        if mine.factors.is_empty() && mine.recovery.is_empty() {
            held.remove(subject);
        }
        result
    }
}

impl Held {
    fn credentials(&self) -> impl Iterator<Item = &str> {
        self.factors.iter().filter_map(|f| f.credential.as_deref())
    }
}

fn ready<'a, T: Send + 'a>(value: T) -> StoreFuture<'a, T> {
    Box::pin(std::future::ready(Ok(value)))
}

impl FactorStore for MemoryFactors {
    fn add_factor(&self, factor: Factor, max: u32) -> StoreFuture<'_, bool> {
        let subject = factor.subject.clone();
        let added = self.with(&subject, factor.created_at, |held| {
            let room = usize::try_from(max).unwrap_or(usize::MAX);
            if held.factors.len() >= room || held.factors.iter().any(|f| f.id == factor.id) {
                return false;
            }
            held.factors.push(factor);
            true
        });
        ready(added)
    }

    fn factors<'a>(&'a self, subject: &'a str, now: i64) -> StoreFuture<'a, Vec<Factor>> {
        let listed = self
            .subjects()
            .held
            .get(subject)
            .map_or_else(Vec::new, |held| {
                held.factors
                    .iter()
                    .filter(|factor| factor.is_live(now))
                    .cloned()
                    .collect()
            });
        ready(listed)
    }

    fn confirm_factor<'a>(&'a self, request: Confirmation<'a>) -> StoreFuture<'a, Confirmed> {
        let confirmed = self.with(request.subject, request.now, |held| {
            let first = held.active() == 0;
            let Some(factor) = held.factors.iter_mut().find(|f| f.id == request.id) else {
                return Confirmed::Gone;
            };
            if factor.is_active() {
                return Confirmed::Gone;
            }
            let Some(accepted) = factor.accept(request.step, request.now) else {
                return Confirmed::Gone;
            };
            *factor = accepted;
            if first {
                held.recovery = request.recovery.iter().cloned().collect();
            }
            Confirmed::Activated { recovery: first }
        });
        ready(confirmed)
    }

    fn accept_step<'a>(
        &'a self,
        subject: &'a str,
        id: &'a str,
        step: i64,
        now: i64,
    ) -> StoreFuture<'a, bool> {
        let accepted = self.with(subject, now, |held| {
            let found = held
                .factors
                .iter_mut()
                .find(|f| f.id == id && f.is_active());
            match found.and_then(|factor| factor.accept(step, now).map(|next| (factor, next))) {
                Some((factor, next)) => {
                    *factor = next;
                    true
                }
                None => false,
            }
        });
        ready(accepted)
    }

    fn remove_factor<'a>(
        &'a self,
        subject: &'a str,
        id: &'a str,
        now: i64,
    ) -> StoreFuture<'a, Option<usize>> {
        let removed = self.with(subject, now, |held| {
            let at = held.factors.iter().position(|f| f.id == id)?;
            held.factors.remove(at);
            let left = held.active();
            if left == 0 {
                held.recovery.clear();
            }
            Some(left)
        });
        ready(removed)
    }

    fn replace_recovery<'a>(
        &'a self,
        subject: &'a str,
        codes: &'a [String],
        now: i64,
    ) -> StoreFuture<'a, bool> {
        let replaced = self.with(subject, now, |held| {
            if held.active() == 0 {
                return false;
            }
            held.recovery = codes.iter().cloned().collect();
            true
        });
        ready(replaced)
    }

    fn spend_recovery<'a>(
        &'a self,
        subject: &'a str,
        code: &'a str,
        now: i64,
    ) -> StoreFuture<'a, bool> {
        let spent = self.with(subject, now, |held| {
            held.active() > 0 && held.recovery.remove(code)
        });
        ready(spent)
    }

    fn recovery_left<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, usize> {
        let left = self
            .subjects()
            .held
            .get(subject)
            .map_or(0, |held| held.recovery.len());
        ready(left)
    }

    fn add_credential<'a>(
        &'a self,
        factor: Factor,
        max: u32,
        recovery: &'a [String],
    ) -> StoreFuture<'a, Registered> {
        let Some(credential) = factor.credential.clone() else {
            return ready(Registered::Taken);
        };
        let mut subjects = self.subjects();
        let Subjects { held, credentials } = &mut *subjects;
        if credentials.contains_key(&credential) {
            return ready(Registered::Taken);
        }
        let mine = held.entry(factor.subject.clone()).or_default();
        mine.factors.retain(|f| f.is_live(factor.created_at));
        let room = usize::try_from(max).unwrap_or(usize::MAX);
        if mine.factors.len() >= room || mine.factors.iter().any(|f| f.id == factor.id) {
            if mine.factors.is_empty() && mine.recovery.is_empty() {
                held.remove(&factor.subject);
            }
            return ready(Registered::TooMany);
        }
        let first = mine.active() == 0;
        if first {
            mine.recovery = recovery.iter().cloned().collect();
        }
        credentials.insert(credential, factor.subject.clone());
        mine.factors.push(factor);
        ready(Registered::Added { recovery: first })
    }

    fn credential<'a>(&'a self, credential: &'a str) -> StoreFuture<'a, Option<Factor>> {
        let subjects = self.subjects();
        let found = subjects
            .credentials
            .get(credential)
            .and_then(|subject| subjects.held.get(subject))
            .and_then(|held| {
                held.factors
                    .iter()
                    .find(|f| f.is_active() && f.credential.as_deref() == Some(credential))
            })
            .cloned();
        ready(found)
    }

    fn use_credential<'a>(&'a self, request: CredentialUse<'a>) -> StoreFuture<'a, bool> {
        let used = self.with(request.subject, request.now, |held| {
            match held.factors.iter_mut().find(|f| f.id == request.id) {
                Some(factor) if request.fits(factor) => {
                    *factor = request.apply(factor);
                    true
                }
                _ => false,
            }
        });
        ready(used)
    }

    fn rename_factor<'a>(
        &'a self,
        subject: &'a str,
        id: &'a str,
        name: &'a str,
        now: i64,
    ) -> StoreFuture<'a, bool> {
        let renamed = self.with(subject, now, |held| {
            match held.factors.iter_mut().find(|f| f.id == id) {
                Some(factor) => {
                    factor.name = Some(name.to_owned());
                    true
                }
                None => false,
            }
        });
        ready(renamed)
    }

    fn put_challenge<'a>(
        &'a self,
        key: &'a str,
        state: &'a str,
        expires_at: i64,
    ) -> StoreFuture<'a, ()> {
        let now = crate::clock::unix_now();
        let challenge = Challenge {
            state: state.to_owned(),
            expires_at,
        };
        // A map that starts a shard over never refuses.
        let _ = self
            .challenges
            .update(key, now, |_| Change::Set(challenge, ()));
        ready(())
    }

    fn take_challenge<'a>(&'a self, key: &'a str, now: i64) -> StoreFuture<'a, Option<String>> {
        let taken = self
            .challenges
            .update(key, now, |held| match held {
                Some(challenge) if !challenge.expired(now) => {
                    Change::Remove(Some(std::mem::take(&mut challenge.state)))
                }
                Some(_) => Change::Remove(None),
                None => Change::Keep(None),
            })
            .unwrap_or(None);
        ready(taken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::tests::block;

    #[test]
    fn challenges_stay_within_their_bound_however_many_are_asked_for() {
        let factors = MemoryFactors::default();
        let now = crate::clock::unix_now();
        for n in 0..CHALLENGES + CHALLENGES / 4 {
            block(factors.put_challenge(&format!("c{n}"), "state", now + 60));
        }
        assert!(factors.challenges.len() <= CHALLENGES);
        let last = format!("c{}", CHALLENGES + CHALLENGES / 4 - 1);
        assert_eq!(
            block(factors.take_challenge(&last, now)).as_deref(),
            Some("state"),
            "the newest challenge was dropped"
        );
    }
}
