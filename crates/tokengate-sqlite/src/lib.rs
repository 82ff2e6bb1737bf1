//! The SQLite session store of tokengate (`store = "sqlite://path"`, feature `sqlite` of
//! `tokengate`): durable on one machine, so a restart loses no session, no
//! revocation and no unlimited token.
//!
//! The database runs in WAL mode with `synchronous = NORMAL`: a committed sign-in or sign-out
//! survives the process being killed. Every call runs on tokio's blocking pool, never on the
//! executor; each decision is one transaction.
//!
//! Second factors and recovery codes live in the same file, keyed by subject
//! ([`FactorStore`](tokengate_store::FactorStore)), so a session can be reissued once a
//! factor is proved; passkeys are found by their credential id too, and the challenges of
//! their ceremonies are kept there until taken or ended.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

mod factors;
mod sql;

use tokengate_store::{
    AttemptCounter, Presented, RefreshRequest, Refreshed, Reissue, Reservation, Session,
    SessionStore, StoreError, StoreErrorKind, StoreFuture, SubjectRevocation, Window,
};

/// Sessions in a SQLite database file.
#[derive(Clone)]
pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

/// A SQLite error, of the kind its code says: a busy or locked database may free up, a file
/// that cannot be opened or written never will, a value tokengate did not write is corrupt.
#[allow(clippy::needless_pass_by_value)] // by value, for `.map_err(failed)`
fn failed(error: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode as Code;
    let kind = match &error {
        rusqlite::Error::SqliteFailure(failure, _) => match failure.code {
            Code::DatabaseBusy | Code::DatabaseLocked => StoreErrorKind::Unreachable,
            Code::CannotOpen
            | Code::PermissionDenied
            | Code::NotADatabase
            | Code::ReadOnly
            | Code::AuthorizationForStatementDenied => StoreErrorKind::Misconfigured,
            Code::DatabaseCorrupt => StoreErrorKind::Corrupt,
            _ => StoreErrorKind::Refused,
        },
        rusqlite::Error::InvalidPath(_) => StoreErrorKind::Misconfigured,
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::Utf8Error(..)
        | rusqlite::Error::InvalidColumnType(..) => StoreErrorKind::Corrupt,
        _ => StoreErrorKind::Refused,
    };
    StoreError::new(kind, format!("sqlite: {error}"))
}

fn session(row: &Row<'_>) -> rusqlite::Result<Session> {
    Ok(Session {
        id: row.get(0)?,
        subject: row.get(1)?,
        application: row.get(2)?,
        claims: row.get(3)?,
        created_at: row.get(4)?,
        refreshed_at: row.get(5)?,
        expires_at: row.get(6)?,
        token: row.get(7)?,
        previous: row.get(8)?,
        rotated_at: row.get(9)?,
        user_agent: row.get(10)?,
        address: row.get(11)?,
    })
}

fn write(connection: &Connection, session: &Session) -> rusqlite::Result<()> {
    connection.execute(
        sql::WRITE_SESSION,
        params![
            session.id,
            session.subject,
            session.application,
            session.claims,
            session.created_at,
            session.refreshed_at,
            session.expires_at,
            session.token,
            session.previous,
            session.rotated_at,
            session.user_agent,
            session.address,
        ],
    )?;
    Ok(())
}

/// The schema's version, in `PRAGMA user_version`.
const VERSION: i64 = 4;

/// Brings a database made by an earlier version up to [`VERSION`], once, in one transaction:
/// version 2 records the client of each session; version 3 keeps second factors and recovery
/// codes, in tables of their own that the schema creates where missing (nothing to move);
/// version 4 names factors and keeps passkeys, each credential id once in the store, with the
/// challenges of their ceremonies.
fn migrate(connection: &mut Connection) -> rusqlite::Result<()> {
    let version = |connection: &Connection| -> rusqlite::Result<i64> {
        connection.query_row(sql::SCHEMA_VERSION, [], |row| row.get(0))
    };
    if version(connection)? >= VERSION {
        return Ok(());
    }
    // Read again under the write lock: another process may have migrated meanwhile.
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if version(&transaction)? >= VERSION {
        return Ok(());
    }
    let added = [
        (sql::SESSION_COLUMNS, "tokengate_sessions", "user_agent"),
        (sql::SESSION_COLUMNS, "tokengate_sessions", "address"),
        (sql::FACTOR_COLUMNS, "tokengate_factors", "name"),
        (sql::FACTOR_COLUMNS, "tokengate_factors", "credential"),
    ];
    for (columns, table, column) in added {
        let found: Vec<String> = transaction
            .prepare(columns)?
            .query_map([], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if !found.iter().any(|name| name == column) {
            transaction.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} TEXT"))?;
        }
    }
    transaction.execute_batch(sql::CREDENTIAL_INDEX)?;
    transaction.execute_batch(&format!("PRAGMA user_version = {VERSION}"))?;
    transaction.commit()
}

impl SqliteStore {
    /// Opens (and creates if needed) the database at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let mut connection = Connection::open(path).map_err(failed)?;
        connection.execute_batch(sql::SCHEMA).map_err(failed)?;
        migrate(&mut connection).map_err(failed)?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    /// Runs `work` on the blocking pool with the connection.
    fn run<T, F>(&self, work: F) -> StoreFuture<'static, T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let connection = Arc::clone(&self.connection);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let mut connection = connection.lock().unwrap_or_else(PoisonError::into_inner);
                work(&mut connection).map_err(failed)
            })
            .await
            .map_err(|error| StoreError::refused(format!("sqlite: {error}")))?
        })
    }
}

impl SessionStore for SqliteStore {
    fn name(&self) -> &'static str {
        "sqlite"
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
        self.run(move |connection| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let now = session.created_at;
            // Expired sessions go as new ones come: the table stays bounded by live sessions.
            transaction.execute(sql::DELETE_EXPIRED_SESSIONS, params![now])?;
            write(&transaction, &session)?;
            let mut evicted = Vec::new();
            if let Some(max) = max_sessions {
                let others: Vec<Session> = transaction
                    .prepare(sql::OTHER_LIVE_SESSIONS)?
                    .query_map(params![session.subject, session.id, now], self::session)?
                    .collect::<rusqlite::Result<_>>()?;
                for ended in tokengate_store::evicted(&others, max) {
                    transaction.execute(sql::DELETE_SESSION, params![ended.id])?;
                    evicted.push(ended.id.clone());
                }
            }
            transaction.commit()?;
            Ok(evicted)
        })
    }

    fn refresh<'a>(&'a self, request: RefreshRequest<'a>) -> StoreFuture<'a, Refreshed> {
        let subject = request.subject.to_owned();
        let id = request.id.to_owned();
        let token = request.token.to_owned();
        let rotate_to = request.rotate_to.map(str::to_owned);
        let (now, grace, idle, touch) = (request.now, request.grace, request.idle, request.touch);
        self.run(move |connection| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let found = transaction
                .query_row(sql::SESSION_BY_ID, params![id], session)
                .optional()?
                .filter(|s| s.is_live(now));
            let Some(found) = found else {
                return Ok(Refreshed::Gone);
            };
            let request = match rotate_to.as_deref() {
                Some(new) => RefreshRequest::rotate(&subject, &id, &token, now, new, grace),
                None => RefreshRequest::keep(&subject, &id, &token, now),
            }
            .idle(idle)
            .touch(touch);
            if let Some(unchanged) = Refreshed::unchanged(&found, &request) {
                // Nothing to write: the transaction ends without a change.
                return Ok(unchanged);
            }
            let (outcome, keep) = Refreshed::decide(found, &request);
            match keep {
                Some(session) => write(&transaction, &session)?,
                None => {
                    transaction.execute(sql::DELETE_SESSION, params![id])?;
                }
            }
            transaction.commit()?;
            Ok(outcome)
        })
    }

    fn is_live<'a>(&'a self, subject: &'a str, id: &'a str, now: i64) -> StoreFuture<'a, bool> {
        let (subject, id) = (subject.to_owned(), id.to_owned());
        self.run(move |connection| {
            connection
                .query_row(sql::IS_LIVE, params![id, subject, now], |_| Ok(()))
                .optional()
                .map(|found| found.is_some())
        })
    }

    fn revoke<'a>(&'a self, subject: &'a str, id: &'a str, now: i64) -> StoreFuture<'a, bool> {
        let (subject, id) = (subject.to_owned(), id.to_owned());
        self.run(move |connection| {
            let transaction = connection.transaction()?;
            let live = transaction.execute(sql::DELETE_LIVE_SESSION, params![id, subject, now])?;
            transaction.execute(sql::DELETE_SUBJECT_SESSION, params![id, subject])?;
            transaction.commit()?;
            Ok(live > 0)
        })
    }

    fn revoke_subject<'a>(
        &'a self,
        request: SubjectRevocation<'a>,
    ) -> StoreFuture<'a, Option<Vec<String>>> {
        let subject = request.subject.to_owned();
        let keep = request.keep.map(str::to_owned);
        let only = request.only.map(str::to_owned);
        let by = request
            .by
            .map(|by| (by.id.to_owned(), by.token.to_owned(), by.grace));
        let now = request.now;
        let at_most = request
            .at_most
            .map_or(-1, |count| i64::try_from(count).unwrap_or(i64::MAX));
        self.run(move |connection| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if let Some((id, token, grace)) = &by {
                let presenter = transaction
                    .query_row(sql::SESSION_BY_ID, params![id], session)
                    .optional()?;
                let asking = Presented::new(id, token, *grace);
                if !presenter.is_some_and(|s| s.accepts(&subject, &asking, now)) {
                    return Ok(None);
                }
            }
            let ended = {
                let mut statement = transaction.prepare(sql::REVOKE_SUBJECT)?;
                let rows = statement
                    .query_map(params![subject, keep, now, only, at_most], |row| row.get(0))?;
                rows.collect::<rusqlite::Result<Vec<String>>>()?
            };
            transaction.commit()?;
            Ok(Some(ended))
        })
    }

    fn session<'a>(
        &'a self,
        subject: &'a str,
        id: &'a str,
        now: i64,
    ) -> StoreFuture<'a, Option<Session>> {
        let (subject, id) = (subject.to_owned(), id.to_owned());
        self.run(move |connection| {
            Ok(connection
                .query_row(sql::SESSION_BY_ID, params![id], session)
                .optional()?
                .filter(|found| found.subject == subject && found.is_live(now)))
        })
    }

    fn list<'a>(&'a self, subject: &'a str, now: i64) -> StoreFuture<'a, Vec<Session>> {
        let subject = subject.to_owned();
        self.run(move |connection| {
            let mut statement = connection.prepare(sql::LIST)?;
            let rows = statement.query_map(params![subject, now], session)?;
            rows.collect()
        })
    }

    fn reissue<'a>(&'a self, request: Reissue<'a>) -> StoreFuture<'a, Option<Session>> {
        let subject = request.subject.to_owned();
        let id = request.id.to_owned();
        let token = request.token.to_owned();
        let new_token = request.new_token.to_owned();
        let claims = request.claims.to_owned();
        let now = request.now;
        self.run(move |connection| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let request = Reissue::new(&subject, &id, &token, &new_token, &claims, now);
            let reissued = transaction
                .query_row(sql::SESSION_BY_ID, params![id], session)
                .optional()?
                .and_then(|found| request.apply(&found));
            if let Some(session) = &reissued {
                write(&transaction, session)?;
                transaction.commit()?;
            }
            Ok(reissued)
        })
    }
}

/// Sign-in throttling in the same database: a restart does not hand an attacker fresh counts.
/// Each reservation is one immediate transaction.
impl AttemptCounter for SqliteStore {
    fn reserve<'a>(
        &'a self,
        key: &'a str,
        limit: u32,
        window: u64,
        now: i64,
    ) -> StoreFuture<'a, Reservation> {
        let key = key.to_owned();
        let length = i64::try_from(window).unwrap_or(i64::MAX);
        self.run(move |connection| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // Ended windows go as attempts come: the table stays bounded by open windows.
            transaction.execute(sql::DELETE_ENDED_WINDOWS, params![now])?;
            let open = transaction
                .query_row(sql::WINDOW, params![key], |row| {
                    Ok((row.get::<_, u32>(0)?, row.get::<_, i64>(1)?))
                })
                .optional()?;
            let reservation = match open {
                Some((count, ends_at)) if count >= limit => {
                    Reservation::Refused(Window { count, ends_at })
                }
                Some((count, ends_at)) => {
                    transaction.execute(sql::COUNT_ATTEMPT, params![key])?;
                    Reservation::Granted(Window {
                        count: count + 1,
                        ends_at,
                    })
                }
                None if limit == 0 => Reservation::Refused(Window {
                    count: 0,
                    ends_at: now.saturating_add(length),
                }),
                None => {
                    let ends_at = now.saturating_add(length);
                    transaction.execute(sql::OPEN_WINDOW, params![key, ends_at])?;
                    Reservation::Granted(Window { count: 1, ends_at })
                }
            };
            transaction.commit()?;
            Ok(reservation)
        })
    }

    fn release<'a>(&'a self, key: &'a str, ends_at: i64) -> StoreFuture<'a, ()> {
        let key = key.to_owned();
        self.run(move |connection| {
            // Only to the window it was counted in; a window given back to zero is deleted:
            // it protects nothing.
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            transaction.execute(sql::DELETE_LAST_ATTEMPT, params![key, ends_at])?;
            transaction.execute(sql::GIVE_BACK_ATTEMPT, params![key, ends_at])?;
            transaction.commit()?;
            Ok(())
        })
    }

    fn clear<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        let key = key.to_owned();
        self.run(move |connection| {
            connection.execute(sql::CLEAR, params![key])?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A name no other test of this run uses.
    pub(crate) fn unique() -> String {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{}-{}-{n}", std::process::id(), now())
    }

    pub(crate) fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }

    #[test]
    fn a_path_that_cannot_be_a_database_is_a_setting_to_fix() {
        let directory = std::env::temp_dir();
        let error = SqliteStore::open(&directory).unwrap_err();
        assert_eq!(
            error.kind(),
            tokengate_store::StoreErrorKind::Misconfigured,
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_database_of_the_first_schema_is_migrated_in_place() {
        let path = std::env::temp_dir().join(format!("tokengate-sqlite-v1-{}.db", unique()));
        let now = now();
        {
            // The table as the first version made it, with one session in it.
            let connection = Connection::open(&path).unwrap();
            connection
                .execute_batch(
                    "CREATE TABLE tokengate_sessions (
                         id TEXT PRIMARY KEY, subject TEXT NOT NULL, application TEXT,
                         claims TEXT NOT NULL, created_at INTEGER NOT NULL,
                         refreshed_at INTEGER NOT NULL, expires_at INTEGER,
                         token TEXT NOT NULL, previous TEXT, rotated_at INTEGER NOT NULL);",
                )
                .unwrap();
            connection
                .execute(
                    "INSERT INTO tokengate_sessions VALUES ('old', 'ada', NULL, '{}', ?1, ?1, NULL, 't', NULL, ?1)",
                    params![now],
                )
                .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let listed = store.list("ada", now).await.unwrap();
        assert_eq!(listed.len(), 1, "a session was lost by the migration");
        assert_eq!(listed[0].user_agent, None);
        let new = Session::new("new", "ada", None, "{}", now, None)
            .with_client(Some("curl/8"), Some("127.0.0.1"));
        store.create(new, None).await.unwrap();
        drop(store);
        // Opening again migrates nothing twice.
        let store = SqliteStore::open(&path).unwrap();
        let listed = store.list("ada", now).await.unwrap();
        let new = listed.iter().find(|s| s.id == "new").unwrap();
        assert_eq!(new.user_agent.as_deref(), Some("curl/8"));
        let _ = std::fs::remove_file(&path);
    }

    #[tokio::test]
    async fn sessions_survive_reopening_the_file() {
        let path = std::env::temp_dir().join(format!("tokengate-sqlite-test-{}.db", unique()));
        let now = now();
        {
            let store = SqliteStore::open(&path).unwrap();
            let mut forever = Session::new("forever", "ada", Some("app"), "{}", now, None);
            forever.token = "t".to_owned();
            store.create(forever, None).await.unwrap();
            store
                .create(
                    Session::new("gone", "ada", None, "{}", now, Some(now + 60)),
                    None,
                )
                .await
                .unwrap();
            assert!(store.revoke("ada", "gone", now).await.unwrap());
        }
        let store = SqliteStore::open(&path).unwrap();
        let refreshed = store
            .refresh(RefreshRequest::keep("ada", "forever", "t", now + 1))
            .await
            .unwrap();
        assert!(
            matches!(refreshed, Refreshed::Current(s) if s.application.as_deref() == Some("app"))
        );
        assert!(!store.is_live("ada", "gone", now).await.unwrap());
        assert_eq!(store.list("ada", now).await.unwrap().len(), 1);
        let ended = store
            .revoke_subject(SubjectRevocation::new("ada", None, None, now))
            .await
            .unwrap();
        assert_eq!(ended, Some(vec!["forever".to_owned()]));
        let _ = std::fs::remove_file(&path);
    }

    #[tokio::test]
    async fn a_client_that_never_signs_out_leaves_nothing_behind() {
        let path = std::env::temp_dir().join(format!("tokengate-sqlite-leak-{}.db", unique()));
        let store = SqliteStore::open(&path).unwrap();
        let now = now();
        for i in 0..1_000 {
            let session = Session::new(
                &format!("s{i}"),
                "machine",
                None,
                "{}",
                now - 10,
                Some(now - 1),
            );
            store.create(session, None).await.unwrap();
        }
        store
            .create(
                Session::new("live", "machine", None, "{}", now, Some(now + 60)),
                None,
            )
            .await
            .unwrap();
        let rows: i64 = store
            .run(|connection| {
                connection.query_row("SELECT COUNT(*) FROM tokengate_sessions", [], |row| {
                    row.get(0)
                })
            })
            .await
            .unwrap();
        assert_eq!(rows, 1);
        let _ = std::fs::remove_file(&path);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keeps_the_store_and_counter_contracts() {
        let path = std::env::temp_dir().join(format!("tokengate-sqlite-contract-{}.db", unique()));
        let store = SqliteStore::open(&path).unwrap();
        tokengate_store::testing::session_store_contract(&store).await;
        tokengate_store::testing::attempt_counter_contract(&store).await;
        let _ = std::fs::remove_file(&path);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keeps_the_factor_contract() {
        let path = std::env::temp_dir().join(format!("tokengate-sqlite-factors-{}.db", unique()));
        let store = SqliteStore::open(&path).unwrap();
        tokengate_store::testing::factor_store_contract(&store).await;
        let _ = std::fs::remove_file(&path);
    }
}
