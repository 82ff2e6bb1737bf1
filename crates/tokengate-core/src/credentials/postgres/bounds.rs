//! How long the directory's statements may take, and the transactions they run in: bounded on
//! the server as on the client, and never an open transaction back in the pool.

use sqlx::PgPool;

use super::queries::{failed, Queries};
use crate::credentials::CredentialsError;

/// How long a sign-in's statement may take, and as much to get a connection for it.
pub(super) const STATEMENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// How long reading the stored parameters may take, per statement and to get a connection.
pub(super) const PRIME_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How often the stored parameters are read again, for rows written since.
pub(super) const PRIME_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// The most distinct parameter fields read per table (a table holds a handful).
pub(super) const PARAMETER_SETS: u32 = 1_024;

/// The Argon2id parameter fields the tables' hashes use (`m=…,t=…,p=…`), read in a read-only
/// transaction of their own on a pooled connection, each statement within [`PRIME_TIMEOUT`]
/// (`SET LOCAL`, so connection poolers and the pool's own set-up are respected). A connection
/// that failed on the way is closed, never given back to the pool.
pub(super) async fn stored_parameters(
    pool: &PgPool,
    queries: &Queries,
) -> Result<Vec<String>, CredentialsError> {
    let connection = tokio::time::timeout(PRIME_TIMEOUT, pool.acquire())
        .await
        .map_err(|_| failed("no connection came free in time"))?
        .map_err(failed)?;
    let mut connection = InTransaction(Some(connection));
    let read = read_parameters(connection.get(), queries);
    match tokio::time::timeout(PRIME_TIMEOUT * 2, read).await {
        Ok(Ok(found)) => {
            connection.ended();
            Ok(found)
        }
        Ok(Err(error)) => Err(failed(error)),
        Err(_) => Err(failed("reading took too long")),
    }
}

/// A pooled connection on which a transaction of the directory's own begins: it goes back to
/// the pool only once that transaction has ended ([`InTransaction::ended`]). Dropped before,
/// after a failure, a time-out, or with the sign-in's future (a client gone midway), it is
/// closed instead, and the server rolls back: no open transaction (a read-only one at that)
/// ever reaches the application's next query.
pub(super) struct InTransaction(pub(super) Option<sqlx::pool::PoolConnection<sqlx::Postgres>>);

impl InTransaction {
    pub(super) fn get(&mut self) -> &mut sqlx::PgConnection {
        self.0
            .as_deref_mut()
            .unwrap_or_else(|| unreachable!("a connection is held until it is given back"))
    }

    /// The transaction ended: the connection goes back to the pool.
    pub(super) fn ended(mut self) {
        drop(self.0.take());
    }
}

impl Drop for InTransaction {
    fn drop(&mut self) {
        if let Some(connection) = self.0.take() {
            drop(connection.detach());
        }
    }
}

/// The parameter fields, in a read-only transaction whose statements each get
/// [`PRIME_TIMEOUT`].
pub(super) async fn read_parameters(
    connection: &mut sqlx::PgConnection,
    queries: &Queries,
) -> Result<Vec<String>, sqlx::Error> {
    let begin = format!(
        "BEGIN READ ONLY; SET LOCAL statement_timeout = {}",
        PRIME_TIMEOUT.as_millis()
    );
    sqlx::Executor::execute(&mut *connection, sqlx::raw_sql(&begin)).await?;
    let mut found = Vec::new();
    for query in &queries.hash_parameters {
        found.extend(
            sqlx::query_scalar::<_, String>(query)
                .fetch_all(&mut *connection)
                .await?,
        );
    }
    sqlx::Executor::execute(&mut *connection, sqlx::raw_sql("COMMIT")).await?;
    Ok(found)
}

/// `query` in a transaction (read-only unless `writes`) whose statement and lock waits end on
/// the server after [`STATEMENT_TIMEOUT`].
pub(super) async fn bounded(
    connection: &mut sqlx::PgConnection,
    query: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
    writes: bool,
) -> Result<Option<sqlx::postgres::PgRow>, sqlx::Error> {
    let begin = format!(
        "BEGIN{1}; SET LOCAL statement_timeout = {0}; SET LOCAL lock_timeout = {0}",
        STATEMENT_TIMEOUT.as_millis(),
        if writes { "" } else { " READ ONLY" }
    );
    sqlx::Executor::execute(&mut *connection, sqlx::raw_sql(&begin)).await?;
    let found = query.fetch_optional(&mut *connection).await?;
    sqlx::Executor::execute(&mut *connection, sqlx::raw_sql("COMMIT")).await?;
    Ok(found)
}
