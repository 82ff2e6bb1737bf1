//! The Redis session store of tokengate, for several app instances behind a balancer: they
//! share sessions (a sign-out on one is a sign-out on all) and sign-in throttling counters.
//!
//! Each operation is atomic on the server (a Lua script where it reads and writes), and each
//! script declares every key it touches in `KEYS`, all in the slot of one subject (or one key
//! alone): the store is ready for Redis Cluster. The key layout is written in one place, the
//! `keys` module: a subject's sessions are one hash, each session packed in one field, and
//! indexed by their end in a sorted set for listing, sign-out of all and collecting ended
//! ones; both expire with the subject's longest-lived session (never, while an unlimited one
//! lives). Each throttling counter is a hash that expires with its window. A subject's
//! second factors are one hash beside its sessions, and its recovery codes a set. A passkey's
//! credential id, unique across subjects, is claimed by a key of its own before the passkey
//! is added (two steps, each atomic: see the `passkeys` module), and each ceremony challenge
//! is a key of its own. Decisions use the time the caller passes, not the server's clock;
//! expiry on the server only collects garbage.
//!
//! Upgrading from the builds that kept each session in a hash of its own
//! (`{prefix}:{<subject>}:session:<id>`): those sessions stay signed in. The index is the
//! same; a script that meets such a session moves it into the subject's hash in the same step,
//! and a sign-out of all or a sign-in with a limit first moves every one the subject has.
//! Upgrading from the builds before those (`{prefix}:session:{id}`, `{prefix}:subject:...`,
//! `{prefix}:fail:...`): sessions and counts under those keys are no longer read — clients sign
//! in again — and they expire by themselves.
//!
//! # Example
//!
//! ```no_run
//! use tokengate::credentials::MemoryDirectory;
//! use tokengate::{Config, TokenGate};
//!
//! // The usual way: `store = "redis://..."` (feature `redis` of tokengate), which opens a
//! // `RedisStore` for sessions and throttling alike.
//! let config = Config::default()
//!     .with_secret("an-example-secret-of-at-least-32-bytes")
//!     .with_store("redis://127.0.0.1:6379/0");
//! let gate = TokenGate::builder(config)
//!     .credentials(MemoryDirectory::new())
//!     .build()?;
//! # drop(gate);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::Script;
use tokengate_store::{
    AttemptCounter, RefreshRequest, Refreshed, Reissue, Reservation, Session, SessionStore,
    StoreError, StoreErrorKind, StoreFuture, SubjectRevocation, Window,
};
use tokio::sync::OnceCell;

use connection::{Connection, Target};
use keys::Layout;
use replicas::Confirmations;
use values::{packed_values, parse, ANSWERED};

/// A session script: the helpers of `session.lua`, then the script of `$file`.
macro_rules! with_session_helpers {
    ($file:literal) => {
        concat!(
            include_str!("scripts/session.lua"),
            include_str!(concat!("scripts/", $file))
        )
    };
}

mod connection;
mod factors;
mod keys;
mod passkeys;
mod replicas;
mod sentinel;
mod values;

/// Sessions, second factors and throttling counters in Redis, over one multiplexed
/// connection that reconnects by itself. Cheap to clone.
#[derive(Clone)]
pub struct RedisStore {
    target: Target,
    /// Made on first use (it needs the async runtime), then shared by every clone.
    connection: Arc<OnceCell<Connection>>,
    keys: Layout,
    scripts: Arc<Scripts>,
    /// When set, revocations wait for replicas (see [`RedisStore::wait_for_replicas`]).
    confirmations: Option<Confirmations>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("keys", &self.keys)
            .field("connected", &self.connection.initialized())
            .field("waits_for_replicas", &self.confirmations.is_some())
            .finish_non_exhaustive()
    }
}

struct Scripts {
    create: Script,
    refresh: Script,
    revoke: Script,
    revoke_subject: Script,
    read: Script,
    list: Script,
    adopt: Script,
    reserve: Script,
    release: Script,
    factors: factors::Scripts,
    passkeys: passkeys::Scripts,
}

/// A Redis error, of the kind it is: a connection that failed, timed out or was dropped, and
/// a server loading, failing over or read-only for a while, may come back; a URL or password
/// that is wrong never will; a reply of the wrong type is not what tokengate wrote.
#[allow(clippy::needless_pass_by_value)] // by value, for `.map_err(failed)`
pub(crate) fn failed(error: redis::RedisError) -> StoreError {
    use redis::{ErrorKind, ServerErrorKind as Server};
    let kind = if error.is_io_error()
        || error.is_timeout()
        || error.is_connection_refusal()
        || error.is_connection_dropped()
    {
        StoreErrorKind::Unreachable
    } else {
        match error.kind() {
            ErrorKind::InvalidClientConfig | ErrorKind::AuthenticationFailed => {
                StoreErrorKind::Misconfigured
            }
            ErrorKind::Server(Server::NoPerm) => StoreErrorKind::Misconfigured,
            ErrorKind::Server(
                Server::BusyLoading
                | Server::TryAgain
                | Server::ClusterDown
                | Server::MasterDown
                | Server::ReadOnly
                | Server::Moved
                | Server::Ask,
            )
            | ErrorKind::ClusterConnectionNotFound => StoreErrorKind::Unreachable,
            ErrorKind::Parse | ErrorKind::UnexpectedReturnType => StoreErrorKind::Corrupt,
            _ => StoreErrorKind::Refused,
        }
    };
    StoreError::new(kind, format!("redis: {error}"))
}

/// A reply tokengate's scripts never give: Redis holds something else under its keys.
pub(crate) fn corrupt(what: impl fmt::Display) -> StoreError {
    StoreError::corrupt(format!("redis: {what}"))
}

/// A step that kept being raced by other writers until it gave up.
fn contended(what: &str) -> StoreError {
    StoreError::refused(format!("redis: {what}"))
}

/// Every wait on Redis is bounded, so a Redis that is down makes the endpoints answer 503
/// within about this long rather than hold requests.
pub(crate) const WAIT: Duration = Duration::from_secs(2);

impl RedisStore {
    /// A store on the Redis at `url` (`redis://host:port/db`), or on the Redis Cluster whose
    /// seed nodes `url` names (`redis+cluster://host:port,host:port,...`), or on the master
    /// that the sentinels `url` names watch (`redis+sentinel://host:port,host:port/<master
    /// name>`, followed to the replica they promote), with keys under `prefix`. The
    /// connection is made on first use; every wait is bounded (2 s), so a Redis that is down
    /// makes the endpoints answer 503 quickly, and the connection comes back by itself. At the first connection, a Redis that may evict keys (`maxmemory-policy` other
    /// than `noeviction`) is logged as a warning: evicted keys lose revocations and counts.
    pub fn open(url: &str, prefix: &str) -> Result<Self, StoreError> {
        Ok(Self {
            target: Target::parse(url, WAIT)?,
            connection: Arc::new(OnceCell::new()),
            keys: Layout::new(prefix),
            scripts: Arc::new(Scripts {
                create: Script::new(CREATE),
                refresh: Script::new(REFRESH),
                revoke: Script::new(REVOKE),
                revoke_subject: Script::new(REVOKE_SUBJECT),
                read: Script::new(READ),
                list: Script::new(LIST),
                adopt: Script::new(ADOPT),
                reserve: Script::new(RESERVE),
                release: Script::new(RELEASE),
                factors: factors::Scripts::new(),
                passkeys: passkeys::Scripts::new(),
            }),
            confirmations: None,
        })
    }

    /// Answers a revocation (a sign-out of any scope, a reuse detected, `revoke_subject`, a
    /// session ended by `max_sessions`) as done only once at least `replicas` replicas hold
    /// it, waiting at most `timeout` for them (`WAIT`); fewer is an
    /// [`Unreachable`](StoreErrorKind::Unreachable) error, answered 503: a failover then
    /// cannot undo a sign-out that answered 200. `replicas` 0 turns it off (the default, for
    /// a Redis without replicas). See the `replicas` module for how.
    #[must_use]
    pub fn wait_for_replicas(mut self, replicas: u32, timeout: Duration) -> Self {
        self.confirmations =
            (replicas > 0).then(|| Confirmations::new(self.target.clone(), replicas, timeout));
        self
    }

    /// `Ok` once the revocation of `ended` (sessions of `subject`, at `now`) is held by the
    /// replicas asked for, or at once when none are.
    async fn confirm_revoked<'a>(
        &self,
        subject: &str,
        ended: impl IntoIterator<Item = &'a str>,
        now: i64,
    ) -> Result<(), StoreError> {
        match &self.confirmations {
            Some(confirmations) => confirmations.confirm(&self.keys, subject, ended, now).await,
            None => Ok(()),
        }
    }

    /// The shared connection. Reconnection after a failure is the connection's own: one quick
    /// retry, so that an operation never waits long on a Redis that is down. Making it (a
    /// cluster's takes a round trip, then the eviction policy another) is bounded for every
    /// caller, also one that waits for another's attempt: attempts that fail one after
    /// another must not add up.
    async fn connection(&self) -> Result<Connection, StoreError> {
        let made = self.connection.get_or_try_init(|| async {
            let mut connection = self.target.connect(WAIT).await?;
            warn_if_evicting(&mut connection).await;
            Ok::<_, StoreError>(connection)
        });
        let connection = tokio::time::timeout(2 * WAIT, made)
            .await
            .map_err(|_| StoreError::unreachable("redis: no connection in time"))??;
        Ok(connection.clone())
    }

    /// The eviction policy of the Redis (of a cluster node), when it can be read: some
    /// managed services refuse `CONFIG`.
    pub async fn eviction_policy(&self) -> Result<Option<String>, StoreError> {
        let mut connection = self.connection().await?;
        Ok(eviction_policy(&mut connection).await)
    }
}

/// A script's answer that names sessions of the older layout to move in before it runs again.
fn to_adopt(answer: &[String]) -> Option<&[String]> {
    match answer.split_first() {
        Some((status, ids)) if status == "adopt" => Some(ids),
        _ => None,
    }
}

impl RedisStore {
    /// Moves the sessions `ids` of `subject`, kept by an older build in hashes of their own,
    /// into the subject's sessions hash (see `adopt.lua`).
    async fn adopt(
        &self,
        connection: &mut Connection,
        subject: &str,
        ids: &[String],
    ) -> Result<(), StoreError> {
        let mut invocation = self.scripts.adopt.prepare_invoke();
        invocation
            .key(self.keys.sessions(subject))
            .key(self.keys.index(subject));
        for id in ids {
            invocation
                .key(self.keys.legacy_session(subject, id))
                .arg(id);
        }
        invocation
            .invoke_async::<i64>(connection)
            .await
            .map(|_| ())
            .map_err(failed)
    }

    /// Runs a script over all of `subject`'s sessions (`invocation`, its keys and arguments
    /// set) until it no longer asks for sessions of the older layout to be moved in first: a
    /// build of before may still be writing them while a fleet is upgraded.
    async fn over_all_sessions(
        &self,
        connection: &mut Connection,
        subject: &str,
        invocation: &redis::ScriptInvocation<'_>,
        step: &str,
    ) -> Result<Vec<String>, StoreError> {
        for _ in 0..RETRIES {
            let answer: Vec<String> = invocation.invoke_async(connection).await.map_err(failed)?;
            match to_adopt(&answer) {
                Some(ids) => self.adopt(connection, subject, ids).await?,
                None => return Ok(answer),
            }
        }
        Err(contended(&format!(
            "sessions of the older layout kept being added during a {step}"
        )))
    }
}

async fn eviction_policy(connection: &mut Connection) -> Option<String> {
    let answer: Result<Vec<String>, _> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory-policy")
        .query_async(connection)
        .await;
    answer.ok().and_then(|pair| pair.into_iter().nth(1))
}

/// Warns, once per store, when Redis may evict the store's keys.
async fn warn_if_evicting(connection: &mut Connection) {
    if let Some(policy) = eviction_policy(connection).await {
        if connection::evicts(&policy) {
            tracing::warn!(
                target: "tokengate",
                %policy,
                "Redis may evict keys (maxmemory-policy): an evicted session index or throttling \
                 counter loses sign-outs and counts; set maxmemory-policy to noeviction"
            );
        }
    }
}

impl SessionStore for RedisStore {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn shared_counter(
        self: std::sync::Arc<Self>,
    ) -> Option<std::sync::Arc<dyn tokengate_store::AttemptCounter>> {
        Some(self)
    }

    fn factor_store(
        self: std::sync::Arc<Self>,
    ) -> Option<std::sync::Arc<dyn tokengate_store::FactorStore>> {
        Some(self)
    }

    fn create(&self, session: Session, max_sessions: Option<u32>) -> StoreFuture<'_, Vec<String>> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let mut invocation = self.scripts.create.prepare_invoke();
            invocation
                .key(self.keys.sessions(&session.subject))
                .key(self.keys.index(&session.subject))
                .arg(&session.id)
                .arg(
                    session
                        .expires_at
                        .map(|at| at.to_string())
                        .unwrap_or_default(),
                )
                .arg(session.created_at)
                .arg(max_sessions.map(|max| max.to_string()).unwrap_or_default());
            for value in packed_values(&session) {
                invocation.arg(value);
            }
            let answer = self
                .over_all_sessions(&mut connection, &session.subject, &invocation, "sign-in")
                .await?;
            let Some((status, evicted)) = answer.split_first() else {
                return Err(corrupt("unexpected sign-in answer"));
            };
            if status != "created" {
                return Err(corrupt("unexpected sign-in answer"));
            }
            if !evicted.is_empty() {
                // Sessions ended to make room: a revocation like any other.
                self.confirm_revoked(
                    &session.subject,
                    evicted.iter().map(String::as_str),
                    session.created_at,
                )
                .await?;
            }
            Ok(evicted.to_vec())
        })
    }

    fn refresh<'a>(&'a self, request: RefreshRequest<'a>) -> StoreFuture<'a, Refreshed> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let answer: Vec<String> = self
                .scripts
                .refresh
                .key(self.keys.sessions(request.subject))
                .key(self.keys.index(request.subject))
                .key(self.keys.legacy_session(request.subject, request.id))
                .arg(request.id)
                .arg(request.token)
                .arg(request.now)
                .arg(request.rotate_to.unwrap_or(""))
                .arg(request.grace)
                .arg(
                    request
                        .idle
                        .map(|idle| idle.to_string())
                        .unwrap_or_default(),
                )
                .arg(request.touch)
                .invoke_async(&mut connection)
                .await
                .map_err(failed)?;
            let Some((outcome, values)) = answer.split_first() else {
                return Err(corrupt("empty answer"));
            };
            let session = || parse(request.subject, request.id, values);
            Ok(match outcome.as_str() {
                "current" => Refreshed::Current(session()?),
                "replaced" => Refreshed::Replaced(session()?),
                "reused" => {
                    // The session ended for the reuse: that end must survive a failover too.
                    self.confirm_revoked(request.subject, [request.id], request.now)
                        .await?;
                    Refreshed::Reused(session()?)
                }
                _ => Refreshed::Gone,
            })
        })
    }

    fn is_live<'a>(&'a self, subject: &'a str, id: &'a str, now: i64) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            // The index holds every session's end, whichever layout keeps the session.
            let ends: Option<String> = redis::cmd("ZSCORE")
                .arg(self.keys.index(subject))
                .arg(id)
                .query_async(&mut connection)
                .await
                .map_err(failed)?;
            Ok(ends.is_some_and(|at| {
                at == "inf" || at == "+inf" || at.parse::<i64>().is_ok_and(|at| at > now)
            }))
        })
    }

    fn revoke<'a>(&'a self, subject: &'a str, id: &'a str, now: i64) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let was_live = self
                .scripts
                .revoke
                .key(self.keys.sessions(subject))
                .key(self.keys.index(subject))
                .key(self.keys.legacy_session(subject, id))
                .arg(id)
                .arg(now)
                .invoke_async::<i64>(&mut connection)
                .await
                .map(|n| n > 0)
                .map_err(failed)?;
            // Confirmed even when the session had ended already: this may be a sign-out
            // tried again after a 503, whose first try ended it.
            self.confirm_revoked(subject, [id], now).await?;
            Ok(was_live)
        })
    }

    fn revoke_subject<'a>(
        &'a self,
        request: SubjectRevocation<'a>,
    ) -> StoreFuture<'a, Option<Vec<String>>> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let sessions = self.keys.sessions(request.subject);
            let mut invocation = self.scripts.revoke_subject.prepare_invoke();
            invocation
                .key(&sessions)
                .key(self.keys.index(request.subject))
                .key(match request.by {
                    Some(by) => self.keys.legacy_session(request.subject, by.id),
                    None => sessions.clone(),
                })
                .arg(request.keep.unwrap_or(""))
                .arg(if request.by.is_some() { "1" } else { "0" })
                .arg(request.by.map_or("", |by| by.token))
                .arg(request.now)
                .arg(
                    request
                        .by
                        .and_then(|by| by.grace)
                        .map(|grace| grace.to_string())
                        .unwrap_or_default(),
                )
                .arg(request.by.map_or("", |by| by.id))
                .arg(request.only.unwrap_or(""))
                .arg(
                    request
                        .at_most
                        .map(|most| most.to_string())
                        .unwrap_or_default(),
                );
            let answer = self
                .over_all_sessions(&mut connection, request.subject, &invocation, "sign-out")
                .await?;
            let ended = match answer.split_first() {
                Some((status, ended)) if status == "ended" => Some(ended.to_vec()),
                Some((status, _)) if status == "refused" => None,
                _ => return Err(corrupt("unexpected sign-out answer")),
            };
            // Confirmed when refused too: a sign-out tried again after a 503 presents a
            // token whose session its first try ended.
            self.confirm_revoked(
                request.subject,
                ended.iter().flatten().map(String::as_str),
                request.now,
            )
            .await?;
            Ok(ended)
        })
    }

    fn session<'a>(
        &'a self,
        subject: &'a str,
        id: &'a str,
        now: i64,
    ) -> StoreFuture<'a, Option<Session>> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let values: Vec<String> = self
                .scripts
                .read
                .key(self.keys.sessions(subject))
                .key(self.keys.index(subject))
                .key(self.keys.legacy_session(subject, id))
                .arg(id)
                .arg(now)
                .invoke_async(&mut connection)
                .await
                .map_err(failed)?;
            if values.is_empty() {
                return Ok(None);
            }
            parse(subject, id, &values).map(Some)
        })
    }

    fn list<'a>(&'a self, subject: &'a str, now: i64) -> StoreFuture<'a, Vec<Session>> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let mut invocation = self.scripts.list.prepare_invoke();
            invocation
                .key(self.keys.sessions(subject))
                .key(self.keys.index(subject))
                .arg(now);
            let answer = self
                .over_all_sessions(&mut connection, subject, &invocation, "listing")
                .await?;
            let Some((status, listed)) = answer.split_first() else {
                return Err(corrupt("empty answer"));
            };
            if status != "listed" || listed.len() % (ANSWERED + 1) != 0 {
                return Err(corrupt("unexpected listing answer"));
            }
            let mut sessions = listed
                .chunks_exact(ANSWERED + 1)
                .map(|one| parse(subject, &one[0], &one[1..]))
                .collect::<Result<Vec<_>, _>>()?;
            sessions.sort_by(|a, b| {
                a.created_at
                    .cmp(&b.created_at)
                    .then_with(|| a.id.cmp(&b.id))
            });
            Ok(sessions)
        })
    }

    fn reissue<'a>(&'a self, request: Reissue<'a>) -> StoreFuture<'a, Option<Session>> {
        Box::pin(factors::reissue(self, request))
    }
}

/// How many times a script over all of a subject's sessions (a sign-in with a limit, a
/// sign-out of all, a listing) runs again after moving sessions of the older layout in: only
/// a build of before, still writing them during an upgrade, makes it run more than twice.
const RETRIES: usize = 64;

impl AttemptCounter for RedisStore {
    fn reserve<'a>(
        &'a self,
        key: &'a str,
        limit: u32,
        window: u64,
        now: i64,
    ) -> StoreFuture<'a, Reservation> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let found: Vec<i64> = self
                .scripts
                .reserve
                .key(self.keys.counter(key))
                .arg(limit)
                .arg(window)
                .arg(now)
                .invoke_async(&mut connection)
                .await
                .map_err(failed)?;
            let [granted, count, ends_at] = found[..] else {
                return Err(corrupt("unexpected counter answer"));
            };
            let window = Window {
                count: u32::try_from(count).unwrap_or(u32::MAX),
                ends_at,
            };
            Ok(if granted == 1 {
                Reservation::Granted(window)
            } else {
                Reservation::Refused(window)
            })
        })
    }

    fn release<'a>(&'a self, key: &'a str, ends_at: i64) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            self.scripts
                .release
                .key(self.keys.counter(key))
                .arg(ends_at)
                .invoke_async::<i64>(&mut connection)
                .await
                .map(|_| ())
                .map_err(failed)
        })
    }

    fn clear<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            redis::cmd("DEL")
                .arg(self.keys.counter(key))
                .query_async::<i64>(&mut connection)
                .await
                .map(|_| ())
                .map_err(failed)
        })
    }
}

// The scripts, one file each with its KEYS and ARGV written at its top; the session scripts
// start with the helpers of `session.lua`.
const CREATE: &str = with_session_helpers!("create.lua");
const REFRESH: &str = with_session_helpers!("refresh.lua");
const REVOKE: &str = with_session_helpers!("revoke.lua");
const REVOKE_SUBJECT: &str = with_session_helpers!("revoke_subject.lua");
const READ: &str = with_session_helpers!("read.lua");
const LIST: &str = with_session_helpers!("list.lua");
const ADOPT: &str = with_session_helpers!("adopt.lua");
const RESERVE: &str = include_str!("scripts/reserve.lua");
const RELEASE: &str = include_str!("scripts/release.lua");

/// Every script of this module, by name, as sent to Redis.
#[cfg(test)]
const SCRIPTS: [(&str, &str); 9] = [
    ("create", CREATE),
    ("refresh", REFRESH),
    ("revoke", REVOKE),
    ("revoke_subject", REVOKE_SUBJECT),
    ("read", READ),
    ("list", LIST),
    ("adopt", ADOPT),
    ("reserve", RESERVE),
    ("release", RELEASE),
];
