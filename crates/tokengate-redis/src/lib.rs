//! The Redis session store of tokengate, for several app instances behind a balancer: they
//! share sessions (a sign-out on one is a sign-out on all) and sign-in throttling counters.
//!
//! Each operation is one round trip, atomic on the server (a Lua script where it reads and
//! writes). A session is a hash `{prefix}:session:{id}` that expires with its refresh token
//! (never, for an unlimited one); `{prefix}:subject:{subject}` indexes a subject's sessions for
//! listing and sign-out of all. Throttling counters are `{prefix}:fail:...` keys that expire
//! with their window.
//! (Builds before 2026-11-29 wrote them as `{prefix}:tokengate:fail:...`; counts
//! under those names are not read any more and expire with their window.)
//!
//! # Example
//!
//! ```no_run
//! use tokengate_core::credentials::MemoryDirectory;
//! use tokengate_core::{Config, TokenGate};
//! use tokengate_redis::RedisStore;
//!
//! let config = Config::default().set("secret", "an-example-secret-of-at-least-32-bytes")?;
//! let redis = RedisStore::open("redis://127.0.0.1:6379/0", "myapp")?;
//! let gate = TokenGate::builder(config)
//!     .credentials(MemoryDirectory::new())
//!     .store(redis.clone())
//!     .failure_counter(redis)
//!     .build()?;
//! # drop(gate);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Script;
use tokengate_core::store::{
    RefreshRequest, Refreshed, Session, SessionStore, StoreError, StoreFuture, SubjectRevocation,
};
use tokengate_core::throttle::{FailureCounter, Reservation, Window};
use tokio::sync::OnceCell;

/// Sessions and throttling counters in Redis, over one multiplexed connection that
/// reconnects by itself. Cheap to clone.
#[derive(Clone)]
pub struct RedisStore {
    client: redis::Client,
    /// Made on first use (it needs the async runtime), then shared by every clone.
    manager: Arc<OnceCell<ConnectionManager>>,
    prefix: String,
    scripts: Arc<Scripts>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("connected", &self.manager.initialized())
            .finish_non_exhaustive()
    }
}

struct Scripts {
    create: Script,
    refresh: Script,
    revoke: Script,
    revoke_subject: Script,
    list: Script,
    reserve: Script,
    release: Script,
}

const FIELDS: [&str; 10] = [
    "id",
    "subject",
    "application",
    "claims",
    "created_at",
    "refreshed_at",
    "expires_at",
    "token",
    "previous",
    "rotated_at",
];

fn failed(error: impl fmt::Display) -> StoreError {
    StoreError(format!("redis: {error}"))
}

/// Every wait on Redis is bounded, so a Redis that is down makes the endpoints answer 503
/// within about this long rather than hold requests.
const WAIT: Duration = Duration::from_secs(2);

impl RedisStore {
    /// A store on the Redis at `url` (`redis://host:port/db`), with keys under `prefix`.
    /// The connection is made on first use; every wait is bounded (2 s), so a Redis that is
    /// down makes the endpoints answer 503 quickly, and the connection comes back by itself.
    pub fn open(url: &str, prefix: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(failed)?;
        Ok(Self {
            client,
            manager: Arc::new(OnceCell::new()),
            prefix: prefix.to_owned(),
            scripts: Arc::new(Scripts {
                create: Script::new(CREATE),
                refresh: Script::new(REFRESH),
                revoke: Script::new(REVOKE),
                revoke_subject: Script::new(REVOKE_SUBJECT),
                list: Script::new(LIST),
                reserve: Script::new(RESERVE),
                release: Script::new(RELEASE),
            }),
        })
    }

    fn session_key(&self, id: &str) -> String {
        format!("{}:session:{id}", self.prefix)
    }

    fn subject_key(&self, subject: &str) -> String {
        format!("{}:subject:{subject}", self.prefix)
    }

    /// The shared connection. Reconnection after a failure is the manager's own: one quick
    /// retry, so that an operation never waits long on a Redis that is down.
    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        let manager = self
            .manager
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(WAIT))
                    .set_response_timeout(Some(WAIT))
                    .set_number_of_retries(1)
                    .set_max_delay(Duration::from_millis(200));
                ConnectionManager::new_lazy_with_config(self.client.clone(), config).map_err(failed)
            })
            .await?;
        Ok(manager.clone())
    }
}

/// A session from the flat field/value list of `HGETALL`.
fn parse(flat: &[String]) -> Result<Session, StoreError> {
    let fields: HashMap<&str, &str> = flat
        .chunks_exact(2)
        .map(|pair| (pair[0].as_str(), pair[1].as_str()))
        .collect();
    let text = |name: &str| {
        fields
            .get(name)
            .map(|value| (*value).to_owned())
            .ok_or_else(|| failed(format!("session without `{name}`")))
    };
    let optional = |name: &str| {
        fields
            .get(name)
            .filter(|v| !v.is_empty())
            .map(|v| (*v).to_owned())
    };
    let number = |name: &str| -> Result<i64, StoreError> {
        text(name)?
            .parse()
            .map_err(|_| failed(format!("`{name}` is not a number")))
    };
    let mut session = Session::new(
        &text("id")?,
        &text("subject")?,
        optional("application").as_deref(),
        &text("claims")?,
        number("created_at")?,
        optional("expires_at")
            .map(|at| {
                at.parse()
                    .map_err(|_| failed("`expires_at` is not a number"))
            })
            .transpose()?,
    );
    session.refreshed_at = number("refreshed_at")?;
    session.token = text("token")?;
    session.previous = optional("previous");
    session.rotated_at = number("rotated_at")?;
    Ok(session)
}

impl SessionStore for RedisStore {
    fn create(&self, session: Session) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let values = [
                session.id.clone(),
                session.subject.clone(),
                session.application.clone().unwrap_or_default(),
                session.claims.clone(),
                session.created_at.to_string(),
                session.refreshed_at.to_string(),
                session
                    .expires_at
                    .map(|at| at.to_string())
                    .unwrap_or_default(),
                session.token.clone(),
                session.previous.clone().unwrap_or_default(),
                session.rotated_at.to_string(),
            ];
            let mut invocation = self.scripts.create.prepare_invoke();
            invocation
                .key(self.session_key(&session.id))
                .key(self.subject_key(&session.subject));
            for (field, value) in FIELDS.iter().zip(values) {
                invocation.arg(*field).arg(value);
            }
            invocation.arg(&self.prefix);
            invocation
                .invoke_async::<i64>(&mut connection)
                .await
                .map(|_| ())
                .map_err(failed)
        })
    }

    fn refresh<'a>(&'a self, request: RefreshRequest<'a>) -> StoreFuture<'a, Refreshed> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let answer: Vec<String> = self
                .scripts
                .refresh
                .key(self.session_key(request.id))
                .arg(request.token)
                .arg(request.now)
                .arg(request.rotate_to.unwrap_or(""))
                .arg(request.grace)
                .arg(&self.prefix)
                .invoke_async(&mut connection)
                .await
                .map_err(failed)?;
            let Some((outcome, flat)) = answer.split_first() else {
                return Err(failed("empty answer"));
            };
            Ok(match outcome.as_str() {
                "current" => Refreshed::Current(parse(flat)?),
                "replaced" => Refreshed::Replaced(parse(flat)?),
                "reused" => Refreshed::Reused(parse(flat)?),
                _ => Refreshed::Gone,
            })
        })
    }

    fn is_live<'a>(&'a self, id: &'a str, _now: i64) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            // Sessions expire with their refresh token: existing is being live.
            redis::cmd("EXISTS")
                .arg(self.session_key(id))
                .query_async::<i64>(&mut connection)
                .await
                .map(|n| n > 0)
                .map_err(failed)
        })
    }

    fn revoke<'a>(&'a self, id: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            self.scripts
                .revoke
                .key(self.session_key(id))
                .arg(&self.prefix)
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
            let by = request.by;
            let answer: Vec<String> = self
                .scripts
                .revoke_subject
                .key(self.subject_key(request.subject))
                .key(self.session_key(by.map_or("", |by| by.id)))
                .arg(&self.prefix)
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
                .invoke_async(&mut connection)
                .await
                .map_err(failed)?;
            match answer.split_first() {
                Some((status, ended)) if status == "ended" => Ok(Some(ended.to_vec())),
                Some((status, _)) if status == "refused" => Ok(None),
                _ => Err(failed("unexpected sign-out answer")),
            }
        })
    }

    fn list<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, Vec<Session>> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let found: Vec<Vec<String>> = self
                .scripts
                .list
                .key(self.subject_key(subject))
                .arg(&self.prefix)
                .invoke_async(&mut connection)
                .await
                .map_err(failed)?;
            let mut sessions = found
                .iter()
                .map(|flat| parse(flat))
                .collect::<Result<Vec<_>, _>>()?;
            sessions.sort_by(|a, b| {
                a.created_at
                    .cmp(&b.created_at)
                    .then_with(|| a.id.cmp(&b.id))
            });
            Ok(sessions)
        })
    }
}

impl FailureCounter for RedisStore {
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
                .key(format!("{}:{key}", self.prefix))
                .arg(limit)
                .arg(window)
                .invoke_async(&mut connection)
                .await
                .map_err(failed)?;
            let [granted, count, ttl] = found[..] else {
                return Err(failed("unexpected counter answer"));
            };
            let ttl = if ttl > 0 {
                ttl
            } else {
                i64::try_from(window).unwrap_or(i64::MAX)
            };
            let window = Window {
                count: u32::try_from(count).unwrap_or(u32::MAX),
                ends_at: now.saturating_add(ttl),
            };
            Ok(if granted == 1 {
                Reservation::Granted(window)
            } else {
                Reservation::Refused(window)
            })
        })
    }

    fn release<'a>(&'a self, key: &'a str, _now: i64) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            self.scripts
                .release
                .key(format!("{}:{key}", self.prefix))
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
                .arg(format!("{}:{key}", self.prefix))
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
const LIST: &str = include_str!("scripts/list.lua");
const RESERVE: &str = include_str!("scripts/reserve.lua");
const RELEASE: &str = include_str!("scripts/release.lua");
