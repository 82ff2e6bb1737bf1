//! The PostgreSQL session store of tokengate (`store = "postgres://..."`, feature `postgres` of
//! `tokengate`): sessions and sign-in throttling in the database the application already runs,
//! shared by every instance and kept across restarts.
//!
//! Every operation is one SQL statement and one round trip (a sign-in calls the
//! `create_session` function, which queues the sign-ins of one subject when a most number of
//! sessions is to be kept; a change that depends on all of a subject's second factors calls a
//! function that queues on the subject's advisory lock): a refresh decides rotation and
//! reuse detection in the statement itself (the session row is locked for it), a sign-out of
//! all checks the presenting token and ends the sessions in one statement, a throttling
//! reservation counts or refuses in one upsert. Expired rows are swept a few at a time as
//! sessions are created, skipping rows other transactions hold, so a sweep never waits.
//!
//! The tables live in a schema of their own (`tokengate` by default, `store_schema`), created
//! on first use with `CREATE ... IF NOT EXISTS` under an advisory lock, and versioned in
//! `schema_version`. Several applications (or test servers) can share the tables: each keeps
//! its rows under its `store_prefix`.
//!
//! ```sql
//! CREATE TABLE tokengate.sessions (
//!     ns text NOT NULL, id text NOT NULL, subject text NOT NULL, application text,
//!     claims text NOT NULL, created_at bigint NOT NULL, refreshed_at bigint NOT NULL,
//!     expires_at bigint, token text NOT NULL, previous text, rotated_at bigint NOT NULL,
//!     user_agent text, address text,
//!     PRIMARY KEY (ns, id));
//! CREATE TABLE tokengate.attempts (
//!     ns text NOT NULL, key text NOT NULL, count bigint NOT NULL, ends_at bigint NOT NULL,
//!     PRIMARY KEY (ns, key));
//! CREATE TABLE tokengate.factors (
//!     ns text NOT NULL, subject text NOT NULL, id text NOT NULL, kind text NOT NULL,
//!     secret text NOT NULL, created_at bigint NOT NULL, confirmed_at bigint,
//!     expires_at bigint, last_step bigint NOT NULL, last_used_at bigint, name text,
//!     credential text,
//!     PRIMARY KEY (ns, subject, id));
//! CREATE UNIQUE INDEX factors_credential ON tokengate.factors (ns, credential)
//!     WHERE credential IS NOT NULL;
//! CREATE TABLE tokengate.recovery_codes (
//!     ns text NOT NULL, subject text NOT NULL, code text NOT NULL,
//!     PRIMARY KEY (ns, subject, code));
//! CREATE TABLE tokengate.challenges (
//!     ns text NOT NULL, key text NOT NULL, state text NOT NULL, expires_at bigint NOT NULL,
//!     PRIMARY KEY (ns, key));
//! ```
//!
//! # Example
//!
//! ```no_run
//! use tokengate::store::PostgresStore;
//!
//! let store = PostgresStore::open("postgres://postgres@127.0.0.1:5432/app", "tokengate", "myapp")?;
//! # drop(store);
//! # Ok::<(), tokengate::store::StoreError>(())
//! ```

mod factors;
mod sql;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{Connection as _, PgConnection, PgPool, Row};
use tokengate_store::{
    AttemptCounter, RefreshRequest, Refreshed, Reissue, Reservation, Session, SessionStore,
    StoreError, StoreErrorKind, StoreFuture, SubjectRevocation, Window,
};
use tokio::sync::OnceCell;

use sql::Statements;

/// The default bound of every wait on PostgreSQL, so a database that is down makes the
/// endpoints answer 503 within about this long rather than hold requests.
const WAIT: Duration = Duration::from_secs(2);

/// Sessions and throttling counters in PostgreSQL. Cheap to clone.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    ns: Arc<str>,
    sql: Arc<Statements>,
    /// The schema, created on first use.
    ready: Arc<OnceCell<()>>,
    /// How to connect, for the migration's connection of its own, and the bound of the wait.
    options: Arc<PgConnectOptions>,
    wait: Duration,
    /// The last failed migration: when, and why; a use within [`RETRY`] of it answers the same
    /// error rather than trying again.
    failed_migration: Arc<std::sync::Mutex<Option<(std::time::Instant, StoreError)>>>,
}

/// How long a failed migration is answered from memory before it is tried again: the store
/// recovers by itself once the cause (a missing grant, a lock) is gone, without every request
/// of a burst opening a connection to try.
const RETRY: Duration = Duration::from_secs(1);

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("ns", &self.ns)
            .finish_non_exhaustive()
    }
}

/// A PostgreSQL error, of the kind it is. A connection that failed or a pool with none free,
/// a statement or lock timeout, a deadlock, a server shutting down or out of resources may
/// pass; a wrong password, a database, schema or privilege that is missing never will; a row
/// tokengate cannot read is corrupt.
#[allow(clippy::needless_pass_by_value)] // by value, for `.map_err(failed)`
fn failed(error: sqlx::Error) -> StoreError {
    let kind = match &error {
        sqlx::Error::Configuration(_) => StoreErrorKind::Misconfigured,
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => StoreErrorKind::Unreachable,
        sqlx::Error::Database(database) => state_kind(database.code().as_deref().unwrap_or("")),
        sqlx::Error::Protocol(_)
        | sqlx::Error::RowNotFound
        | sqlx::Error::TypeNotFound { .. }
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_) => StoreErrorKind::Corrupt,
        _ => StoreErrorKind::Refused,
    };
    StoreError::new(kind, format!("postgres: {error}"))
}

/// The kind of failure a SQLSTATE is: class 28 (authorization), 3D (no such database), 3F (no
/// such schema) and 42501 (no privilege) are settings; 57014 (a statement timeout), 55P03 (a
/// lock timeout), class 40 (serialization, deadlock), 53 (resources), 57P (shutdown) and 08
/// (connection) pass.
fn state_kind(state: &str) -> StoreErrorKind {
    let class = state.get(..2).unwrap_or("");
    match (class, state) {
        ("28" | "3D" | "3F", _) | (_, "42501") => StoreErrorKind::Misconfigured,
        ("40" | "53" | "08", _) | (_, "57014" | "55P03") => StoreErrorKind::Unreachable,
        _ if state.starts_with("57P") => StoreErrorKind::Unreachable,
        _ => StoreErrorKind::Refused,
    }
}

impl PostgresStore {
    /// A store on the database at `url` (`postgres://user@host:port/db`), its tables in
    /// `schema`, its rows under `prefix`: [`PostgresStore::open_tuned`] with at most 10
    /// connections and 2 s per statement.
    pub fn open(url: &str, schema: &str, prefix: &str) -> Result<Self, StoreError> {
        Self::open_tuned(url, schema, prefix, 10, WAIT)
    }

    /// A store with at most `connections` connections, each statement (and each wait for a
    /// connection) bounded by `timeout`, so that a database that is down makes the endpoints
    /// answer 503 quickly. Connections are made on first use, and the schema is created then.
    pub fn open_tuned(
        url: &str,
        schema: &str,
        prefix: &str,
        connections: u32,
        timeout: Duration,
    ) -> Result<Self, StoreError> {
        if !is_identifier(schema) {
            return Err(StoreError::misconfigured(format!(
                "postgres: schema `{schema}`: expected lower-case letters, digits and `_`"
            )));
        }
        let millis = timeout.as_millis().max(1).to_string();
        let options = PgConnectOptions::from_str(url)
            .map_err(failed)?
            .options([("statement_timeout", millis.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(connections.max(1))
            .acquire_timeout(timeout)
            // No ping before each use: that would be a second round trip per operation. A
            // broken connection fails its statement (503) and leaves the pool.
            .test_before_acquire(false)
            .connect_lazy_with(options.clone());
        Ok(Self {
            pool,
            ns: prefix.into(),
            sql: Arc::new(Statements::new(schema)),
            ready: Arc::new(OnceCell::new()),
            options: Arc::new(options),
            wait: timeout,
            failed_migration: Arc::default(),
        })
    }

    /// The pool, once the schema exists. A failed migration is tried again on a later use.
    async fn pool(&self) -> Result<&PgPool, StoreError> {
        self.ready
            .get_or_try_init(|| async {
                // A schema at this version is left alone: the migration's `ALTER TABLE` would
                // lock the sessions of every running instance, for nothing.
                let found: Result<Option<i32>, _> = sqlx::query_scalar(&self.sql.version)
                    .fetch_one(&self.pool)
                    .await;
                if matches!(found, Ok(Some(version)) if version >= sql::VERSION) {
                    return Ok(());
                }
                self.migrate().await
            })
            .await?;
        Ok(&self.pool)
    }

    /// Creates or upgrades the schema on a connection of its own, closed afterwards whatever
    /// happened: a migration that fails part way leaves its connection in an aborted
    /// transaction, and such a connection must never serve another statement (it once went
    /// back to the pool, and every later statement on it failed until a restart).
    async fn migrate(&self) -> Result<(), StoreError> {
        {
            let last = self
                .failed_migration
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((_, error)) = last.as_ref().filter(|(at, _)| at.elapsed() < RETRY) {
                return Err(error.clone());
            }
        }
        let outcome = async {
            let mut connection =
                tokio::time::timeout(self.wait, PgConnection::connect_with(&self.options))
                    .await
                    .map_err(|_| StoreError::unreachable("postgres: no connection in time"))?
                    .map_err(failed)?;
            // Without arguments, a statement goes as a simple query: all of them, in order.
            let migrated = sqlx::Executor::execute(&mut connection, self.sql.schema.as_str())
                .await
                .map(|_| ())
                .map_err(failed);
            // Closed, not kept: on failure the server rolls the transaction back as it goes.
            let _ = connection.close().await;
            migrated
        }
        .await;
        let mut last = self
            .failed_migration
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *last = outcome
            .as_ref()
            .err()
            .map(|error| (std::time::Instant::now(), error.clone()));
        outcome
    }
}

impl PostgresStore {
    /// The yes or no of `statement` ($2 id, $3 subject, $4 now) about one session.
    async fn about_session(
        &self,
        statement: &str,
        subject: &str,
        id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        sqlx::query_scalar(statement)
            .bind(&*self.ns)
            .bind(id)
            .bind(subject)
            .bind(now)
            .fetch_one(self.pool().await?)
            .await
            .map_err(failed)
    }
}

/// Whether `name` can be a schema name as it is written.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}

/// A session from a row of the sessions table, from column `from` on.
fn session(row: &PgRow, from: usize) -> Result<Session, sqlx::Error> {
    Ok(Session {
        id: row.try_get(from)?,
        subject: row.try_get(from + 1)?,
        application: row.try_get(from + 2)?,
        claims: row.try_get(from + 3)?,
        created_at: row.try_get(from + 4)?,
        refreshed_at: row.try_get(from + 5)?,
        expires_at: row.try_get(from + 6)?,
        token: row.try_get(from + 7)?,
        previous: row.try_get(from + 8)?,
        rotated_at: row.try_get(from + 9)?,
        user_agent: row.try_get(from + 10)?,
        address: row.try_get(from + 11)?,
    })
}

impl SessionStore for PostgresStore {
    fn name(&self) -> &'static str {
        "postgres"
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
            sqlx::query_scalar(&self.sql.create)
                .bind(&*self.ns)
                .bind(&session.id)
                .bind(&session.subject)
                .bind(&session.application)
                .bind(&session.claims)
                .bind(session.created_at)
                .bind(session.refreshed_at)
                .bind(session.expires_at)
                .bind(&session.token)
                .bind(&session.previous)
                .bind(session.rotated_at)
                .bind(&session.user_agent)
                .bind(&session.address)
                .bind(max_sessions.map(|max| i32::try_from(max).unwrap_or(i32::MAX)))
                .fetch_all(self.pool().await?)
                .await
                .map_err(failed)
        })
    }

    fn refresh<'a>(&'a self, request: RefreshRequest<'a>) -> StoreFuture<'a, Refreshed> {
        Box::pin(async move {
            let row = sqlx::query(&self.sql.refresh)
                .bind(&*self.ns)
                .bind(request.id)
                .bind(request.subject)
                .bind(request.now)
                .bind(request.rotate_to)
                .bind(request.token)
                .bind(request.grace)
                .bind(request.idle)
                .bind(request.touch)
                .fetch_optional(self.pool().await?)
                .await
                .map_err(failed)?;
            let Some(row) = row else {
                return Ok(Refreshed::Gone);
            };
            let outcome: String = row.try_get(0).map_err(failed)?;
            let session = session(&row, 1).map_err(failed)?;
            Ok(match outcome.as_str() {
                "current" => Refreshed::Current(session),
                "replaced" => Refreshed::Replaced(session),
                "reused" => Refreshed::Reused(session),
                _ => Refreshed::Gone,
            })
        })
    }

    fn is_live<'a>(&'a self, subject: &'a str, id: &'a str, now: i64) -> StoreFuture<'a, bool> {
        Box::pin(self.about_session(&self.sql.is_live, subject, id, now))
    }

    fn revoke<'a>(&'a self, subject: &'a str, id: &'a str, now: i64) -> StoreFuture<'a, bool> {
        Box::pin(self.about_session(&self.sql.revoke, subject, id, now))
    }

    fn revoke_subject<'a>(
        &'a self,
        request: SubjectRevocation<'a>,
    ) -> StoreFuture<'a, Option<Vec<String>>> {
        Box::pin(async move {
            let by = request.by;
            let row = sqlx::query(&self.sql.revoke_subject)
                .bind(&*self.ns)
                .bind(request.subject)
                .bind(request.keep)
                .bind(request.now)
                .bind(by.is_some())
                .bind(by.map(|by| by.id))
                .bind(by.map(|by| by.token))
                .bind(by.and_then(|by| by.grace))
                .bind(request.only)
                .bind(
                    request
                        .at_most
                        .map(|count| i64::try_from(count).unwrap_or(i64::MAX)),
                )
                .fetch_one(self.pool().await?)
                .await
                .map_err(failed)?;
            let accepted: bool = row.try_get(0).map_err(failed)?;
            let ended: Vec<String> = row.try_get(1).map_err(failed)?;
            Ok(accepted.then_some(ended))
        })
    }

    fn session<'a>(
        &'a self,
        subject: &'a str,
        id: &'a str,
        now: i64,
    ) -> StoreFuture<'a, Option<Session>> {
        Box::pin(async move {
            let row = sqlx::query(&self.sql.session)
                .bind(&*self.ns)
                .bind(id)
                .bind(subject)
                .bind(now)
                .fetch_optional(self.pool().await?)
                .await
                .map_err(failed)?;
            row.map(|row| session(&row, 0)).transpose().map_err(failed)
        })
    }

    fn list<'a>(&'a self, subject: &'a str, now: i64) -> StoreFuture<'a, Vec<Session>> {
        Box::pin(async move {
            let rows = sqlx::query(&self.sql.list)
                .bind(&*self.ns)
                .bind(subject)
                .bind(now)
                .fetch_all(self.pool().await?)
                .await
                .map_err(failed)?;
            rows.iter()
                .map(|row| session(row, 0))
                .collect::<Result<_, _>>()
                .map_err(failed)
        })
    }

    fn reissue<'a>(&'a self, request: Reissue<'a>) -> StoreFuture<'a, Option<Session>> {
        Box::pin(async move {
            let row = sqlx::query(&self.sql.reissue)
                .bind(&*self.ns)
                .bind(request.id)
                .bind(request.subject)
                .bind(request.now)
                .bind(request.token)
                .bind(request.new_token)
                .bind(request.claims)
                .fetch_optional(self.pool().await?)
                .await
                .map_err(failed)?;
            row.map(|row| session(&row, 0)).transpose().map_err(failed)
        })
    }
}

impl AttemptCounter for PostgresStore {
    fn reserve<'a>(
        &'a self,
        key: &'a str,
        limit: u32,
        window: u64,
        now: i64,
    ) -> StoreFuture<'a, Reservation> {
        Box::pin(async move {
            let length = i64::try_from(window).unwrap_or(i64::MAX);
            let fresh = Window {
                count: 0,
                ends_at: now.saturating_add(length),
            };
            if limit == 0 {
                return Ok(Reservation::Refused(fresh));
            }
            let row = sqlx::query(&self.sql.reserve)
                .bind(&*self.ns)
                .bind(key)
                .bind(i64::from(limit))
                .bind(now)
                .bind(length)
                .fetch_optional(self.pool().await?)
                .await
                .map_err(failed)?;
            // No row: a concurrent first attempt made the window after this statement began,
            // and it holds the limit: refused, until about the window's end.
            let Some(row) = row else {
                return Ok(Reservation::Refused(Window {
                    count: limit,
                    ..fresh
                }));
            };
            let granted: bool = row.try_get(0).map_err(failed)?;
            let count: i64 = row.try_get(1).map_err(failed)?;
            let window = Window {
                count: u32::try_from(count).unwrap_or(u32::MAX),
                ends_at: row.try_get(2).map_err(failed)?,
            };
            Ok(if granted {
                Reservation::Granted(window)
            } else {
                Reservation::Refused(window)
            })
        })
    }

    fn release<'a>(&'a self, key: &'a str, ends_at: i64) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            sqlx::query(&self.sql.release)
                .bind(&*self.ns)
                .bind(key)
                .bind(ends_at)
                .execute(self.pool().await?)
                .await
                .map(|_| ())
                .map_err(failed)
        })
    }

    fn clear<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            sqlx::query(&self.sql.clear)
                .bind(&*self.ns)
                .bind(key)
                .execute(self.pool().await?)
                .await
                .map(|_| ())
                .map_err(failed)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(is_identifier("tokengate") && is_identifier("tg_2"));
        assert!(!is_identifier("Tokengate") && !is_identifier("a;drop") && !is_identifier(""));
        assert!(PostgresStore::open("postgres://u@127.0.0.1/db", "x\"y", "p").is_err());
    }
}
