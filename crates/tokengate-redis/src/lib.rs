//! The Redis session store of tokengate, for several app instances behind a balancer: they
//! share sessions (a sign-out on one is a sign-out on all) and sign-in throttling counters.
//!
//! Each operation is atomic on the server (a Lua script where it reads and writes), and each
//! script declares every key it touches in `KEYS`, all in the slot of one subject (or one key
//! alone): the store is ready for Redis Cluster. The key layout is written in one place, the
//! `keys` module: a session is a hash that expires with its refresh token (never, for an
//! unlimited one), a subject's sessions are indexed in a sorted set for listing and sign-out
//! of all, and each throttling counter is a hash that expires with its window. A subject's
//! second factors are one hash beside its sessions, and its recovery codes a set. A passkey's
//! credential id, unique across subjects, is claimed by a key of its own before the passkey
//! is added (two steps, each atomic: see the `passkeys` module), and each ceremony challenge
//! is a key of its own. Decisions use the time the caller passes, not the server's clock;
//! expiry on the server only collects garbage.
//!
//! Upgrading from the builds before this layout (`{prefix}:session:{id}`, `{prefix}:subject:...`,
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
use hash::{hash_values, parse, FIELDS};
use keys::Layout;

mod connection;
mod factors;
mod hash;
mod keys;
mod passkeys;

/// Sessions, second factors and throttling counters in Redis, over one multiplexed
/// connection that reconnects by itself. Cheap to clone.
#[derive(Clone)]
pub struct RedisStore {
    target: Target,
    /// Made on first use (it needs the async runtime), then shared by every clone.
    connection: Arc<OnceCell<Connection>>,
    keys: Layout,
    scripts: Arc<Scripts>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("keys", &self.keys)
            .field("connected", &self.connection.initialized())
            .finish_non_exhaustive()
    }
}

struct Scripts {
    create: Script,
    refresh: Script,
    revoke: Script,
    revoke_subject: Script,
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
const WAIT: Duration = Duration::from_secs(2);

impl RedisStore {
    /// A store on the Redis at `url` (`redis://host:port/db`), or on the Redis Cluster whose
    /// seed nodes `url` names (`redis+cluster://host:port,host:port,...`), with keys under
    /// `prefix`. The connection is made on first use; every wait is bounded (2 s), so a Redis
    /// that is down makes the endpoints answer 503 quickly, and the connection comes back by
    /// itself. At the first connection, a Redis that may evict keys (`maxmemory-policy` other
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
                reserve: Script::new(RESERVE),
                release: Script::new(RELEASE),
                factors: factors::Scripts::new(),
                passkeys: passkeys::Scripts::new(),
            }),
        })
    }

    /// The shared connection. Reconnection after a failure is the connection's own: one quick
    /// retry, so that an operation never waits long on a Redis that is down.
    async fn connection(&self) -> Result<Connection, StoreError> {
        let connection = self
            .connection
            .get_or_try_init(|| async {
                let mut connection = self.target.connect(WAIT).await?;
                warn_if_evicting(&mut connection).await;
                Ok::<_, StoreError>(connection)
            })
            .await?;
        Ok(connection.clone())
    }

    /// The eviction policy of the Redis (of a cluster node), when it can be read: some
    /// managed services refuse `CONFIG`.
    pub async fn eviction_policy(&self) -> Result<Option<String>, StoreError> {
        let mut connection = self.connection().await?;
        Ok(eviction_policy(&mut connection).await)
    }
}

/// What the sign-out script did.
enum ScriptAnswer {
    /// It ended these live sessions.
    Ended(Vec<String>),
    /// The presenting token was not accepted: nothing ended.
    Refused,
    /// A session was added since the index was read: the index as it is now.
    Retry(Vec<String>),
}

impl RedisStore {
    /// Runs the sign-out script over the sessions `ids` of the subject (with `listed`, only
    /// those end; else the whole index, which must be what `ids` holds).
    async fn end_sessions(
        &self,
        connection: &mut Connection,
        index: &str,
        request: SubjectRevocation<'_>,
        by: Option<tokengate_store::Presented<'_>>,
        ids: &[String],
        listed: bool,
    ) -> Result<ScriptAnswer, StoreError> {
        let mut invocation = self.scripts.revoke_subject.prepare_invoke();
        invocation.key(index).key(match by {
            Some(by) => self.keys.session(request.subject, by.id),
            None => index.to_owned(),
        });
        for id in ids {
            invocation.key(self.keys.session(request.subject, id));
        }
        invocation
            .arg(request.keep.unwrap_or(""))
            .arg(if by.is_some() { "1" } else { "0" })
            .arg(by.map_or("", |by| by.token))
            .arg(request.now)
            .arg(
                by.and_then(|by| by.grace)
                    .map(|g| g.to_string())
                    .unwrap_or_default(),
            )
            .arg(request.subject)
            .arg(if listed { "1" } else { "0" });
        for id in ids {
            invocation.arg(id);
        }
        let answer: Vec<String> = invocation.invoke_async(connection).await.map_err(failed)?;
        match answer.split_first() {
            Some((status, ended)) if status == "ended" => Ok(ScriptAnswer::Ended(ended.to_vec())),
            Some((status, _)) if status == "refused" => Ok(ScriptAnswer::Refused),
            Some((status, index)) if status == "retry" => Ok(ScriptAnswer::Retry(index.to_vec())),
            _ => Err(corrupt("unexpected sign-out answer")),
        }
    }

    /// Ends `most` live sessions of the subject (fewer only when no more are live), listed
    /// from the index first: a session another call ends between the listing and the script
    /// is made up for by listing again, so a short batch always means the index ran out. The
    /// presenting token is checked by the first script, in the same step as what it ends.
    async fn revoke_batch(
        &self,
        connection: &mut Connection,
        index: &str,
        request: SubjectRevocation<'_>,
        most: usize,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let mut ended = Vec::new();
        let mut by = request.by;
        for _ in 0..RETRIES {
            let wanted = most.saturating_sub(ended.len());
            let ids = live_ids(connection, index, request.now, wanted, request.keep).await?;
            if ids.is_empty() && by.is_none() {
                return Ok(Some(ended));
            }
            match self
                .end_sessions(connection, index, request, by, &ids, true)
                .await?
            {
                ScriptAnswer::Ended(these) => ended.extend(these),
                ScriptAnswer::Refused => return Ok(None),
                ScriptAnswer::Retry(_) => return Err(corrupt("unexpected sign-out answer")),
            }
            by = None;
            if ids.len() < wanted || ended.len() >= most {
                return Ok(Some(ended));
            }
        }
        // Short every time: a batch that says so would read as "no more live sessions".
        Err(contended("sessions kept ending during a sign-out of all"))
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
            let index = self.keys.index(&session.subject);
            let values = hash_values(&session);
            // With a limit, the script must name every session it may end: read the index,
            // then create and evict in one step that starts over if a session was added in
            // between (with the index it found, so that the next attempt needs no read of its
            // own). Without one, a single step.
            let mut listed = Listed::new(match max_sessions {
                Some(_) => index_ids(&mut connection, &index).await?,
                None => Vec::new(),
            });
            loop {
                let mut invocation = self.scripts.create.prepare_invoke();
                invocation
                    .key(self.keys.session(&session.subject, &session.id))
                    .key(&index);
                for id in &listed.ids {
                    invocation.key(self.keys.session(&session.subject, id));
                }
                for (field, value) in FIELDS.iter().zip(&values) {
                    invocation.arg(*field).arg(value);
                }
                invocation
                    .arg(session.created_at)
                    .arg(max_sessions.map(|max| max.to_string()).unwrap_or_default());
                for id in &listed.ids {
                    invocation.arg(id);
                }
                let answer: Vec<String> = invocation
                    .invoke_async(&mut connection)
                    .await
                    .map_err(failed)?;
                match answer.split_first() {
                    Some((status, evicted)) if status == "created" => return Ok(evicted.to_vec()),
                    Some((status, index)) if status == "retry" => {
                        listed.again(index.to_vec(), "sign-in")?;
                    }
                    _ => return Err(corrupt("unexpected sign-in answer")),
                }
            }
        })
    }

    fn refresh<'a>(&'a self, request: RefreshRequest<'a>) -> StoreFuture<'a, Refreshed> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let answer: Vec<String> = self
                .scripts
                .refresh
                .key(self.keys.session(request.subject, request.id))
                .key(self.keys.index(request.subject))
                .arg(request.token)
                .arg(request.now)
                .arg(request.rotate_to.unwrap_or(""))
                .arg(request.grace)
                .arg(request.subject)
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
            let Some((outcome, flat)) = answer.split_first() else {
                return Err(corrupt("empty answer"));
            };
            Ok(match outcome.as_str() {
                "current" => Refreshed::Current(parse(flat)?),
                "replaced" => Refreshed::Replaced(parse(flat)?),
                "reused" => Refreshed::Reused(parse(flat)?),
                _ => Refreshed::Gone,
            })
        })
    }

    fn is_live<'a>(&'a self, subject: &'a str, id: &'a str, now: i64) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let ends: Option<String> = redis::cmd("HGET")
                .arg(self.keys.session(subject, id))
                .arg("expires_at")
                .query_async(&mut connection)
                .await
                .map_err(failed)?;
            Ok(ends.is_some_and(|at| at.is_empty() || at.parse::<i64>().is_ok_and(|at| at > now)))
        })
    }

    fn revoke<'a>(&'a self, subject: &'a str, id: &'a str, now: i64) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            self.scripts
                .revoke
                .key(self.keys.session(subject, id))
                .key(self.keys.index(subject))
                .arg(now)
                .invoke_async::<i64>(&mut connection)
                .await
                .map(|n| n > 0)
                .map_err(failed)
        })
    }

    fn revoke_subject<'a>(
        &'a self,
        request: SubjectRevocation<'a>,
    ) -> StoreFuture<'a, Option<Vec<String>>> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let index = self.keys.index(request.subject);
            let mut listed = Listed::new(match (request.only, request.at_most) {
                (Some(only), _) => vec![only.to_owned()],
                (None, Some(most)) => {
                    return self
                        .revoke_batch(&mut connection, &index, request, most)
                        .await;
                }
                (None, None) => index_ids(&mut connection, &index).await?,
            });
            // The script must name every key it touches: read the index, then end what it
            // held in one step that starts over, with the index it found, if a session was
            // added in between.
            let only = request.only.is_some();
            loop {
                match self
                    .end_sessions(
                        &mut connection,
                        &index,
                        request,
                        request.by,
                        &listed.ids,
                        only,
                    )
                    .await?
                {
                    ScriptAnswer::Ended(ended) => return Ok(Some(ended)),
                    ScriptAnswer::Refused => return Ok(None),
                    ScriptAnswer::Retry(index) => listed.again(index, "sign-out of all")?,
                }
            }
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
            let flat: Vec<String> = redis::cmd("HGETALL")
                .arg(self.keys.session(subject, id))
                .query_async(&mut connection)
                .await
                .map_err(failed)?;
            if flat.is_empty() {
                return Ok(None);
            }
            let found = parse(&flat)?;
            Ok((found.subject == subject && found.id == id && found.is_live(now)).then_some(found))
        })
    }

    fn list<'a>(&'a self, subject: &'a str, now: i64) -> StoreFuture<'a, Vec<Session>> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let ids: Vec<String> = redis::cmd("ZRANGEBYSCORE")
                .arg(self.keys.index(subject))
                .arg(format!("({now}"))
                .arg("+inf")
                .query_async(&mut connection)
                .await
                .map_err(failed)?;
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let mut reads = redis::pipe();
            for id in &ids {
                reads.cmd("HGETALL").arg(self.keys.session(subject, id));
            }
            let found: Vec<Vec<String>> =
                reads.query_async(&mut connection).await.map_err(failed)?;
            let mut sessions = Vec::with_capacity(found.len());
            for flat in found.iter().filter(|flat| !flat.is_empty()) {
                let session = parse(flat)?;
                if session.is_live(now) {
                    sessions.push(session);
                }
            }
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

/// The ids a subject's index holds, for a script that must name their keys.
async fn index_ids(connection: &mut Connection, index: &str) -> Result<Vec<String>, StoreError> {
    redis::cmd("ZRANGE")
        .arg(index)
        .arg(0)
        .arg(-1)
        .query_async(connection)
        .await
        .map_err(failed)
}

/// The ids of at most `most` sessions of the index live at `now`, leaving out `keep`.
async fn live_ids(
    connection: &mut Connection,
    index: &str,
    now: i64,
    most: usize,
    keep: Option<&str>,
) -> Result<Vec<String>, StoreError> {
    let mut ids: Vec<String> = redis::cmd("ZRANGEBYSCORE")
        .arg(index)
        .arg(format!("({now}"))
        .arg("+inf")
        .arg("LIMIT")
        .arg(0)
        .arg(most.saturating_add(1))
        .query_async(connection)
        .await
        .map_err(failed)?;
    ids.retain(|id| Some(id.as_str()) != keep);
    ids.truncate(most);
    Ok(ids)
}

/// How many times a script over a subject's index (a sign-out of all, a sign-in with a limit)
/// tries again when sessions of the subject keep being added: each round lets at least one of
/// the calls that race through, so a burst of this many at once all land.
const RETRIES: usize = 64;

/// The sessions a script over a subject's index must name, as last read, and how many more
/// times it may start over when the script finds the index changed (sessions added between the
/// read and the script): the one retry rule of a sign-in with a limit and a sign-out of all.
struct Listed {
    ids: Vec<String>,
    tries: usize,
}

impl Listed {
    fn new(ids: Vec<String>) -> Self {
        Self { ids, tries: 1 }
    }

    /// The index the script found, for the next try; an error once `RETRIES` tries of the
    /// `step` were all raced.
    fn again(&mut self, index: Vec<String>, step: &str) -> Result<(), StoreError> {
        if self.tries >= RETRIES {
            return Err(contended(&format!(
                "sessions kept being added during a {step}"
            )));
        }
        self.tries += 1;
        self.ids = index;
        Ok(())
    }
}

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

// The scripts, one file each with its KEYS and ARGV written at its top.
const CREATE: &str = include_str!("scripts/create.lua");
const REFRESH: &str = include_str!("scripts/refresh.lua");
const REVOKE: &str = include_str!("scripts/revoke.lua");
const REVOKE_SUBJECT: &str = include_str!("scripts/revoke_subject.lua");
const RESERVE: &str = include_str!("scripts/reserve.lua");
const RELEASE: &str = include_str!("scripts/release.lua");
