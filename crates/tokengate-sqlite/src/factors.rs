//! Second factors and recovery codes in the same database as the sessions, keyed by subject:
//! a factor by `(subject, id)` (a passkey by its credential id too, held once in the file), a
//! recovery code (hashed) by `(subject, code)`; and the challenges of passkey ceremonies, by
//! key.
//!
//! Each operation is one immediate transaction, or one statement. Where a rule of
//! [`Factor`] decides (a step accepted, a factor confirmed, a passkey's counter), the row is
//! read and written in the transaction and the rule is the Rust one, as `refresh` does with
//! sessions.

use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use tokengate_store::{
    Confirmation, Confirmed, CredentialUse, Factor, FactorStore, Registered, StoreFuture,
};

use crate::{sql, SqliteStore};

fn factor(row: &Row<'_>) -> rusqlite::Result<Factor> {
    Ok(Factor {
        id: row.get(0)?,
        subject: row.get(1)?,
        kind: row.get(2)?,
        secret: row.get(3)?,
        created_at: row.get(4)?,
        confirmed_at: row.get(5)?,
        expires_at: row.get(6)?,
        last_step: row.get(7)?,
        last_used_at: row.get(8)?,
        name: row.get(9)?,
        credential: row.get(10)?,
    })
}

/// Adds `factor` unless its subject holds `max` live factors, or a factor has its id or
/// credential id; whether it was added.
fn insert(transaction: &Transaction<'_>, factor: &Factor, max: u32) -> rusqlite::Result<bool> {
    let added = transaction.execute(
        sql::ADD_FACTOR,
        params![
            factor.id,
            factor.subject,
            factor.kind,
            factor.secret,
            factor.created_at,
            factor.confirmed_at,
            factor.expires_at,
            factor.last_step,
            factor.last_used_at,
            factor.name,
            factor.credential,
            max,
        ],
    )?;
    Ok(added > 0)
}

/// Seconds since the Unix epoch, now.
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

/// Accepts `step` at `now` for factor `id` of `subject`, a pending one (`pending`) or an
/// active one, by [`Factor::accept`]; the factor as accepted, or `None` and nothing written.
fn accept(
    transaction: &Transaction<'_>,
    subject: &str,
    id: &str,
    step: i64,
    now: i64,
    pending: bool,
) -> rusqlite::Result<Option<Factor>> {
    let found = transaction
        .query_row(sql::FACTOR, params![subject, id], factor)
        .optional()?
        .filter(|found| found.is_active() != pending);
    let Some(accepted) = found.and_then(|found| found.accept(step, now)) else {
        return Ok(None);
    };
    transaction.execute(
        sql::ACCEPT_STEP,
        params![
            subject,
            id,
            accepted.confirmed_at,
            accepted.expires_at,
            accepted.last_step,
            accepted.last_used_at,
        ],
    )?;
    Ok(Some(accepted))
}

/// What `statement`, a `COUNT(*)` of `subject`'s rows, counts.
fn count(connection: &Connection, statement: &str, subject: &str) -> rusqlite::Result<usize> {
    let counted: i64 = connection.query_row(statement, params![subject], |row| row.get(0))?;
    usize::try_from(counted).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(0, counted))
}

fn active(connection: &Connection, subject: &str) -> rusqlite::Result<usize> {
    count(connection, sql::ACTIVE_FACTORS, subject)
}

/// Replaces the recovery codes of `subject` by `codes` (none: it has none left).
fn store_recovery(
    connection: &Connection,
    subject: &str,
    codes: &[String],
) -> rusqlite::Result<()> {
    connection.execute(sql::DELETE_RECOVERY, params![subject])?;
    let mut add = connection.prepare(sql::ADD_RECOVERY)?;
    for code in codes {
        add.execute(params![subject, code])?;
    }
    Ok(())
}

/// Second factors and recovery codes in the same database as the sessions. The time of a
/// call decides nothing for recovery codes: an active factor stays active whatever the time.
impl FactorStore for SqliteStore {
    fn add_factor(&self, factor: Factor, max: u32) -> StoreFuture<'_, bool> {
        self.run(move |connection| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // Pending factors that ended go as new ones come: the table stays bounded by
            // live factors, and no abandoned secret is kept.
            transaction.execute(sql::DELETE_ENDED_FACTORS, params![factor.created_at])?;
            let added = insert(&transaction, &factor, max)?;
            transaction.commit()?;
            Ok(added)
        })
    }

    fn factors<'a>(&'a self, subject: &'a str, now: i64) -> StoreFuture<'a, Vec<Factor>> {
        let subject = subject.to_owned();
        self.run(move |connection| {
            let mut statement = connection.prepare(sql::FACTORS)?;
            let rows = statement.query_map(params![subject, now], factor)?;
            rows.collect()
        })
    }

    fn confirm_factor<'a>(&'a self, request: Confirmation<'a>) -> StoreFuture<'a, Confirmed> {
        let (subject, id) = (request.subject.to_owned(), request.id.to_owned());
        let recovery = request.recovery.to_vec();
        let (step, now) = (request.step, request.now);
        self.run(move |connection| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let first = active(&transaction, &subject)? == 0;
            if accept(&transaction, &subject, &id, step, now, true)?.is_none() {
                return Ok(Confirmed::Gone);
            }
            if first {
                store_recovery(&transaction, &subject, &recovery)?;
            }
            transaction.commit()?;
            Ok(Confirmed::Activated { recovery: first })
        })
    }

    fn accept_step<'a>(
        &'a self,
        subject: &'a str,
        id: &'a str,
        step: i64,
        now: i64,
    ) -> StoreFuture<'a, bool> {
        let (subject, id) = (subject.to_owned(), id.to_owned());
        self.run(move |connection| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let accepted = accept(&transaction, &subject, &id, step, now, false)?;
            transaction.commit()?;
            Ok(accepted.is_some())
        })
    }

    fn remove_factor<'a>(
        &'a self,
        subject: &'a str,
        id: &'a str,
        now: i64,
    ) -> StoreFuture<'a, Option<usize>> {
        let (subject, id) = (subject.to_owned(), id.to_owned());
        self.run(move |connection| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // A pending factor that ended goes too, but was not there to remove.
            let live: Option<bool> = transaction
                .query_row(sql::DELETE_FACTOR, params![subject, id, now], |row| {
                    row.get(0)
                })
                .optional()?;
            let left = if live == Some(true) {
                let left = active(&transaction, &subject)?;
                if left == 0 {
                    store_recovery(&transaction, &subject, &[])?;
                }
                Some(left)
            } else {
                None
            };
            transaction.commit()?;
            Ok(left)
        })
    }

    fn replace_recovery<'a>(
        &'a self,
        subject: &'a str,
        codes: &'a [String],
        _now: i64,
    ) -> StoreFuture<'a, bool> {
        let (subject, codes) = (subject.to_owned(), codes.to_vec());
        self.run(move |connection| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if active(&transaction, &subject)? == 0 {
                return Ok(false);
            }
            store_recovery(&transaction, &subject, &codes)?;
            transaction.commit()?;
            Ok(true)
        })
    }

    fn spend_recovery<'a>(
        &'a self,
        subject: &'a str,
        code: &'a str,
        _now: i64,
    ) -> StoreFuture<'a, bool> {
        let (subject, code) = (subject.to_owned(), code.to_owned());
        self.run(move |connection| {
            let spent = connection.execute(sql::SPEND_RECOVERY, params![subject, code])?;
            Ok(spent > 0)
        })
    }

    fn recovery_left<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, usize> {
        let subject = subject.to_owned();
        self.run(move |connection| count(connection, sql::RECOVERY_LEFT, &subject))
    }

    fn add_credential<'a>(
        &'a self,
        factor: Factor,
        max: u32,
        recovery: &'a [String],
    ) -> StoreFuture<'a, Registered> {
        let recovery = recovery.to_vec();
        self.run(move |connection| {
            let Some(credential) = factor.credential.as_deref() else {
                return Ok(Registered::Taken);
            };
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            transaction.execute(sql::DELETE_ENDED_FACTORS, params![factor.created_at])?;
            let held: bool =
                transaction
                    .query_row(sql::CREDENTIAL_HELD, params![credential], |row| row.get(0))?;
            if held {
                return Ok(Registered::Taken);
            }
            let first = active(&transaction, &factor.subject)? == 0;
            if !insert(&transaction, &factor, max)? {
                return Ok(Registered::TooMany);
            }
            if first {
                store_recovery(&transaction, &factor.subject, &recovery)?;
            }
            transaction.commit()?;
            Ok(Registered::Added { recovery: first })
        })
    }

    fn credential<'a>(&'a self, credential: &'a str) -> StoreFuture<'a, Option<Factor>> {
        let credential = credential.to_owned();
        self.run(move |connection| {
            connection
                .query_row(sql::CREDENTIAL, params![credential], factor)
                .optional()
        })
    }

    fn use_credential<'a>(&'a self, request: CredentialUse<'a>) -> StoreFuture<'a, bool> {
        let (subject, id) = (request.subject.to_owned(), request.id.to_owned());
        let secret = request.secret.to_owned();
        let (counter, now) = (request.counter, request.now);
        self.run(move |connection| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let request = CredentialUse::new(&subject, &id, counter, &secret, now);
            let used = transaction
                .query_row(sql::FACTOR, params![subject, id], factor)
                .optional()?
                .filter(|found| request.fits(found))
                .map(|found| request.apply(&found));
            let Some(used) = used else {
                return Ok(false);
            };
            transaction.execute(
                sql::USE_CREDENTIAL,
                params![subject, id, used.last_step, used.secret, used.last_used_at],
            )?;
            transaction.commit()?;
            Ok(true)
        })
    }

    fn rename_factor<'a>(
        &'a self,
        subject: &'a str,
        id: &'a str,
        name: &'a str,
        now: i64,
    ) -> StoreFuture<'a, bool> {
        let (subject, id, name) = (subject.to_owned(), id.to_owned(), name.to_owned());
        self.run(move |connection| {
            let renamed =
                connection.execute(sql::RENAME_FACTOR, params![subject, id, name, now])?;
            Ok(renamed > 0)
        })
    }

    /// Ended challenges go a few at a time as new ones come, by the clock of this machine.
    fn put_challenge<'a>(
        &'a self,
        key: &'a str,
        state: &'a str,
        expires_at: i64,
    ) -> StoreFuture<'a, ()> {
        let (key, state) = (key.to_owned(), state.to_owned());
        self.run(move |connection| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            transaction.execute(sql::DELETE_ENDED_CHALLENGES, params![unix_now()])?;
            transaction.execute(sql::PUT_CHALLENGE, params![key, state, expires_at])?;
            transaction.commit()
        })
    }

    fn take_challenge<'a>(&'a self, key: &'a str, now: i64) -> StoreFuture<'a, Option<String>> {
        let key = key.to_owned();
        self.run(move |connection| {
            let taken = connection
                .query_row(sql::TAKE_CHALLENGE, params![key], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                })
                .optional()?;
            Ok(taken.and_then(|(state, expires_at)| (expires_at > now).then_some(state)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{now, unique};
    use tokengate_store::SessionStore;

    #[tokio::test]
    async fn a_database_of_the_second_schema_keeps_factors_after_the_upgrade() {
        let path = std::env::temp_dir().join(format!("tokengate-sqlite-v2-{}.db", unique()));
        let now = now();
        {
            // The tables as version 2 made them, with one session in it.
            let connection = Connection::open(&path).unwrap();
            connection
                .execute_batch(
                    "CREATE TABLE tokengate_sessions (
                         id TEXT PRIMARY KEY, subject TEXT NOT NULL, application TEXT,
                         claims TEXT NOT NULL, created_at INTEGER NOT NULL,
                         refreshed_at INTEGER NOT NULL, expires_at INTEGER,
                         token TEXT NOT NULL, previous TEXT, rotated_at INTEGER NOT NULL,
                         user_agent TEXT, address TEXT);
                     CREATE TABLE tokengate_attempts (
                         key TEXT PRIMARY KEY, count INTEGER NOT NULL, ends_at INTEGER NOT NULL);
                     PRAGMA user_version = 2;",
                )
                .unwrap();
            connection
                .execute(
                    "INSERT INTO tokengate_sessions VALUES \
                     ('old', 'ada', NULL, '{}', ?1, ?1, NULL, 't', NULL, ?1, NULL, NULL)",
                    params![now],
                )
                .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.list("ada", now).await.unwrap().len(), 1);
        let pending = Factor::pending("f1", "ada", "totp", "sealed", now, now + 600);
        assert!(store.add_factor(pending, 3).await.unwrap());
        let codes = vec!["hashed".to_owned()];
        let confirmed = store
            .confirm_factor(Confirmation::new("ada", "f1", 1, now, &codes))
            .await
            .unwrap();
        assert_eq!(confirmed, Confirmed::Activated { recovery: true });
        drop(store);
        let store = SqliteStore::open(&path).unwrap();
        let version: i64 = store
            .run(|connection| connection.query_row(sql::SCHEMA_VERSION, [], |row| row.get(0)))
            .await
            .unwrap();
        assert_eq!(version, crate::VERSION);
        let listed = store.factors("ada", now + 1).await.unwrap();
        assert_eq!(listed.len(), 1, "a factor was lost by reopening");
        assert_eq!(store.recovery_left("ada").await.unwrap(), 1);
        assert_eq!(store.list("ada", now).await.unwrap().len(), 1);
        let _ = std::fs::remove_file(&path);
    }

    #[tokio::test]
    async fn a_database_of_the_third_schema_keeps_its_factors_and_takes_passkeys() {
        let path = std::env::temp_dir().join(format!("tokengate-sqlite-v3-{}.db", unique()));
        let now = now();
        {
            // The factor tables as version 3 made them, with one active factor and its codes.
            let connection = Connection::open(&path).unwrap();
            connection
                .execute_batch(
                    "CREATE TABLE tokengate_sessions (
                         id TEXT PRIMARY KEY, subject TEXT NOT NULL, application TEXT,
                         claims TEXT NOT NULL, created_at INTEGER NOT NULL,
                         refreshed_at INTEGER NOT NULL, expires_at INTEGER,
                         token TEXT NOT NULL, previous TEXT, rotated_at INTEGER NOT NULL,
                         user_agent TEXT, address TEXT);
                     CREATE TABLE tokengate_attempts (
                         key TEXT PRIMARY KEY, count INTEGER NOT NULL, ends_at INTEGER NOT NULL);
                     CREATE TABLE tokengate_factors (
                         subject TEXT NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL,
                         secret TEXT NOT NULL, created_at INTEGER NOT NULL,
                         confirmed_at INTEGER, expires_at INTEGER, last_step INTEGER NOT NULL,
                         last_used_at INTEGER, PRIMARY KEY (subject, id));
                     CREATE TABLE tokengate_recovery_codes (
                         subject TEXT NOT NULL, code TEXT NOT NULL,
                         PRIMARY KEY (subject, code)) WITHOUT ROWID;
                     PRAGMA user_version = 3;",
                )
                .unwrap();
            connection
                .execute(
                    "INSERT INTO tokengate_factors VALUES \
                     ('ada', 'f1', 'totp', 'sealed', ?1, ?1, NULL, 7, ?1)",
                    params![now],
                )
                .unwrap();
            connection
                .execute(
                    "INSERT INTO tokengate_recovery_codes VALUES ('ada', 'hashed')",
                    [],
                )
                .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let listed = store.factors("ada", now).await.unwrap();
        assert_eq!(listed.len(), 1, "a factor was lost by the migration");
        assert_eq!((listed[0].last_step, listed[0].name.as_deref()), (7, None));
        assert_eq!(listed[0].credential, None);
        assert!(store
            .rename_factor("ada", "f1", "phone", now)
            .await
            .unwrap());
        let passkey = Factor::credential("p1", "ada", "key", "cred-1", "laptop", 0, now);
        let added = store.add_credential(passkey, 5, &[]).await.unwrap();
        assert_eq!(added, Registered::Added { recovery: false });
        assert_eq!(store.recovery_left("ada").await.unwrap(), 1);
        drop(store);
        // Opening again migrates nothing twice, and the credential id stays held once.
        let store = SqliteStore::open(&path).unwrap();
        let version: i64 = store
            .run(|connection| connection.query_row(sql::SCHEMA_VERSION, [], |row| row.get(0)))
            .await
            .unwrap();
        assert_eq!(version, crate::VERSION);
        let again = Factor::credential("p2", "bob", "key", "cred-1", "phone", 0, now);
        let added = store.add_credential(again, 5, &[]).await.unwrap();
        assert_eq!(added, Registered::Taken);
        let found = store.credential("cred-1").await.unwrap().unwrap();
        assert_eq!((found.id.as_str(), found.subject.as_str()), ("p1", "ada"));
        let listed = store.factors("ada", now).await.unwrap();
        assert_eq!(listed[0].name.as_deref(), Some("phone"));
        let _ = std::fs::remove_file(&path);
    }

    #[tokio::test]
    async fn abandoned_challenges_leave_nothing_behind() {
        let path =
            std::env::temp_dir().join(format!("tokengate-sqlite-challenges-{}.db", unique()));
        let store = SqliteStore::open(&path).unwrap();
        let now = now();
        for i in 0..100 {
            store
                .put_challenge(&format!("c{i}"), "state", now - 1)
                .await
                .unwrap();
        }
        store
            .put_challenge("live", "state", now + 60)
            .await
            .unwrap();
        let rows: i64 = store
            .run(|connection| {
                connection.query_row("SELECT COUNT(*) FROM tokengate_challenges", [], |row| {
                    row.get(0)
                })
            })
            .await
            .unwrap();
        assert_eq!(rows, 1);
        assert_eq!(
            store.take_challenge("live", now).await.unwrap().as_deref(),
            Some("state")
        );
        let _ = std::fs::remove_file(&path);
    }

    #[tokio::test]
    async fn an_abandoned_pending_factor_leaves_nothing_behind() {
        let path = std::env::temp_dir().join(format!("tokengate-sqlite-pending-{}.db", unique()));
        let store = SqliteStore::open(&path).unwrap();
        let now = now();
        for i in 0..100 {
            let abandoned = Factor::pending("f", &format!("s{i}"), "totp", "s", now - 10, now - 1);
            store.add_factor(abandoned, 3).await.unwrap();
        }
        let live = Factor::pending("f", "ada", "totp", "s", now, now + 60);
        assert!(store.add_factor(live, 3).await.unwrap());
        let rows: i64 = store
            .run(|connection| {
                connection.query_row("SELECT COUNT(*) FROM tokengate_factors", [], |row| {
                    row.get(0)
                })
            })
            .await
            .unwrap();
        assert_eq!(rows, 1);
        let _ = std::fs::remove_file(&path);
    }
}
