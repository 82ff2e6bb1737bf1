//! The Redis session store of tokengate, for several app instances behind a balancer: they
//! share sessions (a sign-out on one is a sign-out on all) and sign-in throttling counters.
//!
//! Each operation is one round trip, atomic on the server (a Lua script where it reads and
//! writes). A session is a hash `{prefix}:session:{id}` that expires with its refresh token
//! (never, for an unlimited one); `{prefix}:subject:{subject}` indexes a subject's sessions for
//! listing and sign-out of all. Throttling counters are `{prefix}:fail:...` keys that expire
//! with their window.
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
use std::time::Duration;

use deadpool_redis::redis::aio::MultiplexedConnection;
use deadpool_redis::redis::{self, Script};
use deadpool_redis::{Pool, PoolConfig, Runtime, Timeouts};
use tokengate_core::store::{
    RefreshRequest, Refreshed, Session, SessionStore, StoreError, StoreFuture, SubjectRevocation,
};
use tokengate_core::throttle::{FailureCounter, Reservation, Window};

/// Sessions and throttling counters in Redis, behind a connection pool. Cheap to clone.
#[derive(Clone)]
pub struct RedisStore {
    pool: Pool,
    /// A multiplexed connection taken from the pool and kept while it works: each operation
    /// is then one round trip, without the pool's per-checkout health check.
    shared: std::sync::Arc<std::sync::Mutex<Option<MultiplexedConnection>>>,
    prefix: String,
    scripts: std::sync::Arc<Scripts>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("pool", &self.pool.status())
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

impl RedisStore {
    /// A store on the Redis at `url` (`redis://host:port/db`), with keys under `prefix`.
    /// Connections are made on first use; every wait is bounded (2 s), so a Redis that is
    /// down makes the endpoints answer 503 quickly, and the pool reconnects by itself.
    pub fn open(url: &str, prefix: &str) -> Result<Self, StoreError> {
        let mut config = deadpool_redis::Config::from_url(url);
        let timeout = Some(Duration::from_secs(2));
        config.pool = Some(PoolConfig {
            max_size: 16,
            timeouts: Timeouts {
                wait: timeout,
                create: timeout,
                recycle: timeout,
            },
            ..PoolConfig::default()
        });
        let pool = config.create_pool(Some(Runtime::Tokio1)).map_err(failed)?;
        Ok(Self {
            pool,
            shared: std::sync::Arc::default(),
            prefix: prefix.to_owned(),
            scripts: std::sync::Arc::new(Scripts {
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

    async fn connection(&self) -> Result<MultiplexedConnection, StoreError> {
        if let Some(connection) = self.held().clone() {
            return Ok(connection);
        }
        let pooled = self.pool.get().await.map_err(failed)?;
        let connection = (*pooled).clone();
        *self.held() = Some(connection.clone());
        Ok(connection)
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Option<MultiplexedConnection>> {
        self.shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs one operation; after a failure the kept connection is dropped, so the next
    /// operation takes a fresh one from the pool (which reconnects when Redis is back).
    async fn guarded<T>(
        &self,
        operation: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let result = operation.await;
        if result.is_err() {
            *self.held() = None;
        }
        result
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
        Box::pin(self.guarded(async move {
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
        }))
    }

    fn refresh<'a>(&'a self, request: RefreshRequest<'a>) -> StoreFuture<'a, Refreshed> {
        Box::pin(self.guarded(async move {
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
        }))
    }

    fn is_live<'a>(&'a self, id: &'a str, _now: i64) -> StoreFuture<'a, bool> {
        Box::pin(self.guarded(async move {
            let mut connection = self.connection().await?;
            // Sessions expire with their refresh token: existing is being live.
            redis::cmd("EXISTS")
                .arg(self.session_key(id))
                .query_async::<i64>(&mut connection)
                .await
                .map(|n| n > 0)
                .map_err(failed)
        }))
    }

    fn revoke<'a>(&'a self, id: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(self.guarded(async move {
            let mut connection = self.connection().await?;
            self.scripts
                .revoke
                .key(self.session_key(id))
                .arg(&self.prefix)
                .invoke_async::<i64>(&mut connection)
                .await
                .map(|n| n > 0)
                .map_err(failed)
        }))
    }

    fn revoke_subject<'a>(
        &'a self,
        request: SubjectRevocation<'a>,
    ) -> StoreFuture<'a, Option<Vec<String>>> {
        Box::pin(self.guarded(async move {
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
        }))
    }

    fn list<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, Vec<Session>> {
        Box::pin(self.guarded(async move {
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
        }))
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
        Box::pin(self.guarded(async move {
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
        }))
    }

    fn release<'a>(&'a self, key: &'a str, _now: i64) -> StoreFuture<'a, ()> {
        Box::pin(self.guarded(async move {
            let mut connection = self.connection().await?;
            self.scripts
                .release
                .key(format!("{}:{key}", self.prefix))
                .invoke_async::<i64>(&mut connection)
                .await
                .map(|_| ())
                .map_err(failed)
        }))
    }

    fn clear<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(self.guarded(async move {
            let mut connection = self.connection().await?;
            redis::cmd("DEL")
                .arg(format!("{}:{key}", self.prefix))
                .query_async::<i64>(&mut connection)
                .await
                .map(|_| ())
                .map_err(failed)
        }))
    }
}

/// KEYS: session, subject index. ARGV: field, value pairs in `FIELDS` order, then the prefix.
/// Also drops from the subject index the ids of sessions that are gone, and keeps the index
/// exactly as long as its longest-lived session (for ever while an unlimited one lives), so
/// that a client that signs in often and never signs out leaves nothing behind.
const CREATE: &str = r"
local prefix = ARGV[21]
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 1, 20))
local expires_at = ARGV[14]
if expires_at ~= '' then redis.call('EXPIREAT', KEYS[1], expires_at) end
redis.call('SADD', KEYS[2], ARGV[2])
local latest = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local at = redis.call('HGET', prefix .. ':session:' .. id, 'expires_at')
  if not at then
    redis.call('SREM', KEYS[2], id)
  elseif at == '' then
    latest = -1
  elseif latest ~= -1 and tonumber(at) > latest then
    latest = tonumber(at)
  end
end
if latest == -1 then
  redis.call('PERSIST', KEYS[2])
elseif latest > 0 then
  redis.call('EXPIREAT', KEYS[2], latest)
end
return 1
";

/// The rules of `Refreshed::decide`, on the server. KEYS: session.
/// ARGV: presented token id, now, new token id or '', grace, prefix.
const REFRESH: &str = r"
local s = redis.call('HMGET', KEYS[1], 'token', 'previous', 'rotated_at', 'expires_at', 'subject', 'id')
if not s[1] then return {'gone'} end
local now = tonumber(ARGV[2])
if s[4] ~= '' and tonumber(s[4]) <= now then return {'gone'} end
if s[1] == ARGV[1] then
  if ARGV[3] ~= '' then
    redis.call('HSET', KEYS[1], 'refreshed_at', ARGV[2], 'previous', s[1], 'token', ARGV[3], 'rotated_at', ARGV[2])
  else
    redis.call('HSET', KEYS[1], 'refreshed_at', ARGV[2])
  end
  local all = redis.call('HGETALL', KEYS[1])
  table.insert(all, 1, 'current')
  return all
end
if ARGV[3] == '' then return {'gone'} end
local all = redis.call('HGETALL', KEYS[1])
if s[2] == ARGV[1] and now - tonumber(s[3]) <= tonumber(ARGV[4]) then
  table.insert(all, 1, 'replaced')
  return all
end
redis.call('DEL', KEYS[1])
redis.call('SREM', ARGV[5] .. ':subject:' .. s[5], s[6])
table.insert(all, 1, 'reused')
return all
";

/// KEYS: session. ARGV: prefix.
const REVOKE: &str = r"
local s = redis.call('HMGET', KEYS[1], 'subject', 'id')
if not s[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SREM', ARGV[1] .. ':subject:' .. s[1], s[2])
return 1
";

/// KEYS: subject index, presenting session. ARGV: prefix, session id to keep or '', whether a
/// token presents ('1'/'0'), its jti, now, the rotation grace or '', the subject.
/// The rule of `Session::accepts`, then the revocation, in one step.
const REVOKE_SUBJECT: &str = r"
if ARGV[3] == '1' then
  local s = redis.call('HMGET', KEYS[2], 'token', 'previous', 'rotated_at', 'expires_at', 'subject')
  if not s[1] then return {'refused'} end
  local now = tonumber(ARGV[5])
  if s[4] ~= '' and tonumber(s[4]) <= now then return {'refused'} end
  if s[5] ~= ARGV[7] then return {'refused'} end
  local current = s[1] == ARGV[4]
  local replaced = ARGV[6] ~= '' and s[2] == ARGV[4] and now - tonumber(s[3]) <= tonumber(ARGV[6])
  if not current and not replaced then return {'refused'} end
end
local ended = {'ended'}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if id ~= ARGV[2] then
    if redis.call('DEL', ARGV[1] .. ':session:' .. id) == 1 then table.insert(ended, id) end
    redis.call('SREM', KEYS[1], id)
  end
end
return ended
";

/// KEYS: subject index. ARGV: prefix. Drops the ids of sessions that expired meanwhile.
const LIST: &str = r"
local found = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local all = redis.call('HGETALL', ARGV[1] .. ':session:' .. id)
  if #all == 0 then
    redis.call('SREM', KEYS[1], id)
  else
    table.insert(found, all)
  end
end
return found
";

/// KEYS: counter. ARGV: limit, window in seconds. Grants and counts an attempt, or refuses
/// it uncounted when the open window holds the limit: {granted 1/0, count, seconds left}.
const RESERVE: &str = r"
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('TTL', KEYS[1])
if count > 0 and ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
if count >= tonumber(ARGV[1]) then return {0, count, ttl} end
count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {1, count, ttl}
";

/// KEYS: counter. Gives one attempt back; the window keeps its end.
const RELEASE: &str = r"
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then redis.call('DECR', KEYS[1]) end
return count
";
