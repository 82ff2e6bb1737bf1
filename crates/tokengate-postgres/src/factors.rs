//! Second factors and recovery codes, beside the sessions: one row per factor, keyed by its
//! namespace, subject and id (a passkey's credential id is unique in its namespace too), one
//! row per recovery code (hashed by the gate), and one row per passkey ceremony challenge.
//!
//! Each operation is one statement. A step, a passkey's counter, a code or a challenge is
//! taken by one `UPDATE` or `DELETE` of its row: of calls racing on it, the first takes the
//! row's lock, and the others find the row changed (or gone) and change nothing. What depends
//! on all of a subject's factors (the bound on them, the first active one, removing the last
//! one with its codes, replacing the codes) is a function that queues on the subject's
//! advisory lock first.

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::postgres::PgRow;
use sqlx::Row;
use tokengate_store::{
    Confirmation, Confirmed, CredentialUse, Factor, FactorStore, Registered, StoreError,
    StoreFuture,
};

use crate::{failed, PostgresStore};

/// A factor from a row of the factors table.
fn factor(row: &PgRow) -> Result<Factor, sqlx::Error> {
    Ok(Factor {
        id: row.try_get(0)?,
        subject: row.try_get(1)?,
        kind: row.try_get(2)?,
        secret: row.try_get(3)?,
        created_at: row.try_get(4)?,
        confirmed_at: row.try_get(5)?,
        expires_at: row.try_get(6)?,
        last_step: row.try_get(7)?,
        last_used_at: row.try_get(8)?,
        name: row.try_get(9)?,
        credential: row.try_get(10)?,
    })
}

/// Seconds since the Unix epoch, now.
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

/// A count from the database, as the trait gives it.
fn count(count: i64) -> usize {
    usize::try_from(count).unwrap_or(0)
}

impl FactorStore for PostgresStore {
    fn add_factor(&self, factor: Factor, max: u32) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            sqlx::query_scalar(&self.sql.add_factor)
                .bind(&*self.ns)
                .bind(&factor.id)
                .bind(&factor.subject)
                .bind(&factor.kind)
                .bind(&factor.secret)
                .bind(factor.created_at)
                .bind(factor.confirmed_at)
                .bind(factor.expires_at)
                .bind(factor.last_step)
                .bind(factor.last_used_at)
                .bind(i64::from(max))
                .bind(&factor.name)
                .bind(&factor.credential)
                .fetch_one(self.pool().await?)
                .await
                .map_err(failed)
        })
    }

    fn factors<'a>(&'a self, subject: &'a str, now: i64) -> StoreFuture<'a, Vec<Factor>> {
        Box::pin(async move {
            let rows = sqlx::query(&self.sql.factors)
                .bind(&*self.ns)
                .bind(subject)
                .bind(now)
                .fetch_all(self.pool().await?)
                .await
                .map_err(failed)?;
            rows.iter()
                .map(factor)
                .collect::<Result<_, _>>()
                .map_err(failed)
        })
    }

    fn confirm_factor<'a>(&'a self, request: Confirmation<'a>) -> StoreFuture<'a, Confirmed> {
        Box::pin(async move {
            let recovery: Option<bool> = sqlx::query_scalar(&self.sql.confirm_factor)
                .bind(&*self.ns)
                .bind(request.subject)
                .bind(request.id)
                .bind(request.step)
                .bind(request.now)
                .bind(request.recovery)
                .fetch_one(self.pool().await?)
                .await
                .map_err(failed)?;
            Ok(
                recovery.map_or(Confirmed::Gone, |recovery| Confirmed::Activated {
                    recovery,
                }),
            )
        })
    }

    fn accept_step<'a>(
        &'a self,
        subject: &'a str,
        id: &'a str,
        step: i64,
        now: i64,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            sqlx::query_scalar(&self.sql.accept_step)
                .bind(&*self.ns)
                .bind(subject)
                .bind(id)
                .bind(step)
                .bind(now)
                .fetch_one(self.pool().await?)
                .await
                .map_err(failed)
        })
    }

    fn remove_factor<'a>(
        &'a self,
        subject: &'a str,
        id: &'a str,
        now: i64,
    ) -> StoreFuture<'a, Option<usize>> {
        Box::pin(async move {
            let left: Option<i32> = sqlx::query_scalar(&self.sql.remove_factor)
                .bind(&*self.ns)
                .bind(subject)
                .bind(id)
                .bind(now)
                .fetch_one(self.pool().await?)
                .await
                .map_err(failed)?;
            Ok(left.map(|left| count(left.into())))
        })
    }

    /// Active factors do not end, so `now` decides nothing here.
    fn replace_recovery<'a>(
        &'a self,
        subject: &'a str,
        codes: &'a [String],
        _now: i64,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            sqlx::query_scalar(&self.sql.replace_recovery)
                .bind(&*self.ns)
                .bind(subject)
                .bind(codes)
                .fetch_one(self.pool().await?)
                .await
                .map_err(failed)
        })
    }

    /// Active factors do not end, so `now` decides nothing here.
    fn spend_recovery<'a>(
        &'a self,
        subject: &'a str,
        code: &'a str,
        _now: i64,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            sqlx::query_scalar(&self.sql.spend_recovery)
                .bind(&*self.ns)
                .bind(subject)
                .bind(code)
                .fetch_one(self.pool().await?)
                .await
                .map_err(failed)
        })
    }

    fn recovery_left<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, usize> {
        Box::pin(async move {
            let left: i64 = sqlx::query_scalar(&self.sql.recovery_left)
                .bind(&*self.ns)
                .bind(subject)
                .fetch_one(self.pool().await?)
                .await
                .map_err(failed)?;
            Ok(count(left))
        })
    }

    fn add_credential<'a>(
        &'a self,
        factor: Factor,
        max: u32,
        recovery: &'a [String],
    ) -> StoreFuture<'a, Registered> {
        Box::pin(async move {
            let found: String = sqlx::query_scalar(&self.sql.add_credential)
                .bind(&*self.ns)
                .bind(&factor.id)
                .bind(&factor.subject)
                .bind(&factor.kind)
                .bind(&factor.secret)
                .bind(factor.created_at)
                .bind(factor.confirmed_at)
                .bind(factor.expires_at)
                .bind(factor.last_step)
                .bind(factor.last_used_at)
                .bind(&factor.name)
                .bind(&factor.credential)
                .bind(i64::from(max))
                .bind(recovery)
                .fetch_one(self.pool().await?)
                .await
                .map_err(failed)?;
            match found.as_str() {
                "first" => Ok(Registered::Added { recovery: true }),
                "added" => Ok(Registered::Added { recovery: false }),
                "full" => Ok(Registered::TooMany),
                "taken" => Ok(Registered::Taken),
                other => Err(StoreError::corrupt(format!(
                    "postgres: add_credential answered `{other}`"
                ))),
            }
        })
    }

    fn credential<'a>(&'a self, credential: &'a str) -> StoreFuture<'a, Option<Factor>> {
        Box::pin(async move {
            let row = sqlx::query(&self.sql.credential)
                .bind(&*self.ns)
                .bind(credential)
                .fetch_optional(self.pool().await?)
                .await
                .map_err(failed)?;
            row.as_ref().map(factor).transpose().map_err(failed)
        })
    }

    fn use_credential<'a>(&'a self, request: CredentialUse<'a>) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            sqlx::query_scalar(&self.sql.use_credential)
                .bind(&*self.ns)
                .bind(request.subject)
                .bind(request.id)
                .bind(request.counter)
                .bind(request.secret)
                .bind(request.now)
                .fetch_one(self.pool().await?)
                .await
                .map_err(failed)
        })
    }

    fn rename_factor<'a>(
        &'a self,
        subject: &'a str,
        id: &'a str,
        name: &'a str,
        now: i64,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            sqlx::query_scalar(&self.sql.rename_factor)
                .bind(&*self.ns)
                .bind(subject)
                .bind(id)
                .bind(name)
                .bind(now)
                .fetch_one(self.pool().await?)
                .await
                .map_err(failed)
        })
    }

    /// Ended challenges go a few at a time as new ones come, by the clock of this instance.
    fn put_challenge<'a>(
        &'a self,
        key: &'a str,
        state: &'a str,
        expires_at: i64,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            sqlx::query(&self.sql.put_challenge)
                .bind(&*self.ns)
                .bind(key)
                .bind(state)
                .bind(expires_at)
                .bind(unix_now())
                .execute(self.pool().await?)
                .await
                .map(|_| ())
                .map_err(failed)
        })
    }

    fn take_challenge<'a>(&'a self, key: &'a str, now: i64) -> StoreFuture<'a, Option<String>> {
        Box::pin(async move {
            let taken: Option<Option<String>> = sqlx::query_scalar(&self.sql.take_challenge)
                .bind(&*self.ns)
                .bind(key)
                .bind(now)
                .fetch_optional(self.pool().await?)
                .await
                .map_err(failed)?;
            Ok(taken.flatten())
        })
    }
}
