//! Passkeys, whose credential ids are unique in the whole store, and the single-use challenges
//! of their ceremonies.
//!
//! A passkey is a factor like any other, in its subject's factors hash, with its credential id
//! and the mark of its claim. What holds a credential id once across subjects is a key of its
//! own, the claim (`{prefix}:credential:<id>`), naming the call that made it, the subject and
//! the factor. On a cluster the claim and the subject's factors are in slots apart, so no
//! script may touch both: adding a passkey is two steps, each one script.
//!
//! 1. Claim the credential id: set the claim when there is none (`swap_claim`). Each call's
//!    claim carries a mark of its own, and a claim is only replaced or removed if it still
//!    holds what the call read.
//! 2. Add the passkey in the subject's slot (`add_credential`). When it adds nothing (too many
//!    factors, or the claim was taken over), the claim is removed again if it still holds
//!    ours.
//!
//! A claim found names a factor: if its subject holds that factor, added under that claim, the
//! id is taken. If not, either the claim was left behind (its call stopped between the two
//! steps, or a removal stopped before removing it) or its call is between the two steps now.
//! Either way `void_claim`, in that subject's slot, marks the claim void in the same step that
//! finds the factor missing, so that its add, should it still come, adds nothing; then the
//! claim is taken over (replaced only if it still holds what was read). So two subjects never
//! both hold one credential id, and no claim left behind blocks an id for good.
//!
//! Finding a passkey reads the claim, then the factor it names: a factor not there (removed,
//! or not yet added) is no passkey. Removing a passkey removes the factor, then its claim if
//! the claim still holds the factor's mark.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use redis::Script;
use tokengate_store::{CredentialUse, Factor, Registered, StoreError};

use super::connection::Connection;
use super::factors::{fields, parse_factor, with_helpers};
use super::{contended, corrupt, failed, RedisStore, RETRIES};

/// How long a void claim stays marked so: well past the time its add could still come.
const VOID_FOR: u64 = 86_400;

/// How long the server keeps a challenge past its end, so that clocks apart never drop it
/// early: whether it has ended is decided by the caller's time.
const CHALLENGE_MARGIN: i64 = 60;

/// The scripts of this module.
pub(crate) struct Scripts {
    add: Script,
    void: Script,
    swap: Script,
    find: Script,
    used: Script,
    rename: Script,
    put_challenge: Script,
    take_challenge: Script,
}

impl Scripts {
    /// Every script, sent to Redis by its digest and loaded on the first call that misses.
    pub(crate) fn new() -> Self {
        Self {
            add: Script::new(ADD_CREDENTIAL),
            void: Script::new(VOID_CLAIM),
            swap: Script::new(SWAP_CLAIM),
            find: Script::new(CREDENTIAL_FACTOR),
            used: Script::new(USE_CREDENTIAL),
            rename: Script::new(RENAME_FACTOR),
            put_challenge: Script::new(PUT_CHALLENGE),
            take_challenge: Script::new(TAKE_CHALLENGE),
        }
    }
}

/// A claim on a credential id: the mark of the call that made it, and the factor it names.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Claim {
    mark: String,
    subject: String,
    id: String,
}

impl Claim {
    /// The claim of a new call on factor `id` of `subject`.
    fn new(subject: &str, id: &str) -> Self {
        Self {
            mark: mark(),
            subject: subject.to_owned(),
            id: id.to_owned(),
        }
    }

    /// The claim as its key holds it: `<mark>:<bytes of the subject>:<subject><id>`.
    fn value(&self) -> String {
        format!(
            "{}:{}:{}{}",
            self.mark,
            self.subject.len(),
            self.subject,
            self.id
        )
    }

    /// A claim as its key holds it.
    fn parse(value: &str) -> Result<Self, StoreError> {
        let broken = || corrupt("unexpected credential claim");
        let (mark, rest) = value.split_once(':').ok_or_else(broken)?;
        let (length, rest) = rest.split_once(':').ok_or_else(broken)?;
        let length: usize = length.parse().map_err(|_| broken())?;
        let subject = rest.get(..length).ok_or_else(broken)?;
        let id = rest.get(length..).ok_or_else(broken)?;
        Ok(Self {
            mark: mark.to_owned(),
            subject: subject.to_owned(),
            id: id.to_owned(),
        })
    }
}

/// A mark no other call has: a random part drawn once per process, and a count.
fn mark() -> String {
    static PROCESS: OnceLock<u64> = OnceLock::new();
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let process = *PROCESS.get_or_init(|| {
        // The keys of the standard library's hasher are drawn from the system's randomness.
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        hasher.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |since| since.as_nanos()),
        );
        hasher.finish()
    });
    format!("{process:016x}{:x}", COUNT.fetch_add(1, Ordering::Relaxed))
}

impl RedisStore {
    /// Puts `new` in place of the claim under `key` if that holds `expected` (`""`: none, or
    /// to remove it): whether it did, and the claim it found.
    async fn swap_claim(
        &self,
        connection: &mut Connection,
        key: &str,
        expected: &str,
        new: &str,
    ) -> Result<(bool, String), StoreError> {
        let (swapped, held): (i64, String) = self
            .scripts
            .passkeys
            .swap
            .key(key)
            .arg(expected)
            .arg(new)
            .invoke_async(connection)
            .await
            .map_err(failed)?;
        Ok((swapped == 1, held))
    }

    /// Makes `ours` the claim under `key`, taking over a claim whose factor is not there:
    /// `false` when another claim stands.
    async fn claim(
        &self,
        connection: &mut Connection,
        key: &str,
        ours: &Claim,
    ) -> Result<bool, StoreError> {
        let ours = ours.value();
        let mut expected = String::new();
        for _ in 0..RETRIES {
            let (swapped, held) = self.swap_claim(connection, key, &expected, &ours).await?;
            if swapped {
                return Ok(true);
            }
            if !held.is_empty() {
                let theirs = Claim::parse(&held)?;
                let stands: i64 = self
                    .scripts
                    .passkeys
                    .void
                    .key(self.keys.factors(&theirs.subject))
                    .key(self.keys.void(&theirs.subject, &theirs.mark))
                    .arg(&theirs.id)
                    .arg(&theirs.mark)
                    .arg(VOID_FOR)
                    .invoke_async(connection)
                    .await
                    .map_err(failed)?;
                if stands == 1 {
                    return Ok(false);
                }
            }
            expected = held;
        }
        Err(contended("a passkey's credential id kept being claimed"))
    }

    /// Removes the claim under `key` if it still holds `ours`. One left behind (Redis out of
    /// reach) names a factor that is not there: the next claim on the id takes it over.
    async fn release(&self, connection: &mut Connection, key: &str, ours: &str) {
        if let Err(error) = self.swap_claim(connection, key, ours, "").await {
            tracing::warn!(
                target: "tokengate",
                %error,
                "a passkey's credential id claim was left behind; the next claim takes it over"
            );
        }
    }

    /// Removes the claim on `credential` made with `mark` for factor `id` of `subject`, once
    /// the factor is removed.
    pub(crate) async fn forget_credential(
        &self,
        connection: &mut Connection,
        subject: &str,
        id: &str,
        credential: &str,
        mark: &str,
    ) {
        let claim = Claim {
            mark: mark.to_owned(),
            subject: subject.to_owned(),
            id: id.to_owned(),
        };
        let key = self.keys.credential(credential);
        self.release(connection, &key, &claim.value()).await;
    }
}

/// [`FactorStore::add_credential`](tokengate_store::FactorStore::add_credential) for `store`:
/// the credential id claimed, then the passkey added in its subject's slot (see the module).
pub(crate) async fn add_credential(
    store: &RedisStore,
    factor: Factor,
    max: u32,
    recovery: &[String],
) -> Result<Registered, StoreError> {
    let Some(credential) = factor.credential.as_deref() else {
        return Ok(Registered::Taken);
    };
    let mut connection = store.connection().await?;
    let key = store.keys.credential(credential);
    let ours = Claim::new(&factor.subject, &factor.id);
    if !store.claim(&mut connection, &key, &ours).await? {
        return Ok(Registered::Taken);
    }
    let mut invocation = store.scripts.passkeys.add.prepare_invoke();
    invocation
        .key(store.keys.factors(&factor.subject))
        .key(store.keys.recovery(&factor.subject))
        .key(store.keys.void(&factor.subject, &ours.mark))
        .arg(max)
        .arg(recovery.len());
    for code in recovery {
        invocation.arg(code);
    }
    for (field, value) in fields(&factor) {
        invocation.arg(field).arg(value);
    }
    invocation.arg("claim").arg(&ours.mark);
    let answer: i64 = invocation
        .invoke_async(&mut connection)
        .await
        .map_err(failed)?;
    let refused = match answer {
        2 => return Ok(Registered::Added { recovery: true }),
        1 => return Ok(Registered::Added { recovery: false }),
        0 => Registered::TooMany,
        -1 => Registered::Taken,
        _ => return Err(corrupt("unexpected passkey answer")),
    };
    store.release(&mut connection, &key, &ours.value()).await;
    Ok(refused)
}

/// [`FactorStore::credential`](tokengate_store::FactorStore::credential) for `store`: the
/// claim, then the active factor it names, if it has that credential id.
pub(crate) async fn credential(
    store: &RedisStore,
    credential: &str,
) -> Result<Option<Factor>, StoreError> {
    let mut connection = store.connection().await?;
    let held: Option<String> = redis::cmd("GET")
        .arg(store.keys.credential(credential))
        .query_async(&mut connection)
        .await
        .map_err(failed)?;
    let Some(held) = held else {
        return Ok(None);
    };
    let claim = Claim::parse(&held)?;
    let flat: Vec<String> = store
        .scripts
        .passkeys
        .find
        .key(store.keys.factors(&claim.subject))
        .arg(&claim.id)
        .arg(credential)
        .invoke_async(&mut connection)
        .await
        .map_err(failed)?;
    if flat.is_empty() {
        return Ok(None);
    }
    parse_factor(&flat).map(Some)
}

/// [`FactorStore::use_credential`](tokengate_store::FactorStore::use_credential) for `store`:
/// one script over the subject's factors, which checks and records in the same step.
pub(crate) async fn use_credential(
    store: &RedisStore,
    request: CredentialUse<'_>,
) -> Result<bool, StoreError> {
    let mut connection = store.connection().await?;
    let used: i64 = store
        .scripts
        .passkeys
        .used
        .key(store.keys.factors(request.subject))
        .arg(request.id)
        .arg(request.counter)
        .arg(request.secret)
        .arg(request.now)
        .invoke_async(&mut connection)
        .await
        .map_err(failed)?;
    Ok(used == 1)
}

/// [`FactorStore::rename_factor`](tokengate_store::FactorStore::rename_factor) for `store`.
pub(crate) async fn rename_factor(
    store: &RedisStore,
    subject: &str,
    id: &str,
    name: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let mut connection = store.connection().await?;
    let renamed: i64 = store
        .scripts
        .passkeys
        .rename
        .key(store.keys.factors(subject))
        .arg(id)
        .arg(name)
        .arg(now)
        .invoke_async(&mut connection)
        .await
        .map_err(failed)?;
    Ok(renamed == 1)
}

/// [`FactorStore::put_challenge`](tokengate_store::FactorStore::put_challenge) for `store`:
/// the server drops it a little after its end.
pub(crate) async fn put_challenge(
    store: &RedisStore,
    key: &str,
    state: &str,
    expires_at: i64,
) -> Result<(), StoreError> {
    let mut connection = store.connection().await?;
    store
        .scripts
        .passkeys
        .put_challenge
        .key(store.keys.challenge(key))
        .arg(state)
        .arg(expires_at)
        .arg(expires_at.saturating_add(CHALLENGE_MARGIN))
        .invoke_async::<i64>(&mut connection)
        .await
        .map(|_| ())
        .map_err(failed)
}

/// [`FactorStore::take_challenge`](tokengate_store::FactorStore::take_challenge) for `store`:
/// one script reads and removes it, so one call only gets it.
pub(crate) async fn take_challenge(
    store: &RedisStore,
    key: &str,
    now: i64,
) -> Result<Option<String>, StoreError> {
    let mut connection = store.connection().await?;
    store
        .scripts
        .passkeys
        .take_challenge
        .key(store.keys.challenge(key))
        .arg(now)
        .invoke_async(&mut connection)
        .await
        .map_err(failed)
}

// The scripts, one file each with its KEYS and ARGV written at its top.
const ADD_CREDENTIAL: &str = with_helpers!("add_credential.lua");
const RENAME_FACTOR: &str = with_helpers!("rename_factor.lua");
const VOID_CLAIM: &str = include_str!("scripts/void_claim.lua");
const SWAP_CLAIM: &str = include_str!("scripts/swap_claim.lua");
const CREDENTIAL_FACTOR: &str = include_str!("scripts/credential_factor.lua");
const USE_CREDENTIAL: &str = include_str!("scripts/use_credential.lua");
const PUT_CHALLENGE: &str = include_str!("scripts/put_challenge.lua");
const TAKE_CHALLENGE: &str = include_str!("scripts/take_challenge.lua");

/// Every script of this module, by name, as sent to Redis.
#[cfg(test)]
pub(crate) const SCRIPTS: [(&str, &str); 8] = [
    ("add_credential", ADD_CREDENTIAL),
    ("rename_factor", RENAME_FACTOR),
    ("void_claim", VOID_CLAIM),
    ("swap_claim", SWAP_CLAIM),
    ("credential_factor", CREDENTIAL_FACTOR),
    ("use_credential", USE_CREDENTIAL),
    ("put_challenge", PUT_CHALLENGE),
    ("take_challenge", TAKE_CHALLENGE),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_reads_back_as_written() {
        for (subject, id) in [("ada", "p1"), ("a:1:b", "p:2"), ("ünï", ""), ("", "p")] {
            let claim = Claim::new(subject, id);
            assert_eq!(Claim::parse(&claim.value()).unwrap(), claim);
        }
    }

    #[test]
    fn a_broken_claim_is_corrupt() {
        for broken in ["", "m", "m:x:ada", "m:9:ada", "m:1:ü"] {
            assert!(Claim::parse(broken).is_err(), "{broken}");
        }
    }

    #[test]
    fn marks_are_unique() {
        assert_ne!(mark(), mark());
    }
}
