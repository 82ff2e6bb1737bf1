//! The store recovers by itself from a migration that failed: the cause gone, the next use
//! creates the schema and works, with no connection left in an aborted transaction.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use tokengate_postgres::PostgresStore;
use tokengate_store::{AttemptCounter, SessionStore};

/// The PostgreSQL the tests use: `TEST_POSTGRES_URL`, or database `test` on 127.0.0.1:5432.
fn postgres_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The URL of `url` with another user (trust authentication, as the test server has).
fn as_user(url: &str, user: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.split_once('@').map_or(rest, |(_, host)| host);
    format!("postgres://{user}@{rest}")
}

async fn admin() -> sqlx::PgPool {
    sqlx::PgPool::connect(&postgres_url()).await.unwrap()
}

async fn run(pool: &sqlx::PgPool, sql: &str) {
    sqlx::raw_sql(sql).execute(pool).await.unwrap();
}

/// Uses the store until it answers, for at most `within`; how many uses failed first.
async fn failures_until_it_works(store: &PostgresStore, within: Duration) -> usize {
    let deadline = Instant::now() + within;
    let mut failures = 0;
    loop {
        match store.reserve("fail:login:x", 10, 900, 1_000).await {
            Ok(_) => return failures,
            Err(_) if Instant::now() < deadline => failures += 1,
            Err(error) => panic!("still failing after {failures} tries: {error}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Attack: a role without `CREATE` made the migration fail (503, rightly), and after `GRANT
/// CREATE` every later use still failed: the migration's aborted transaction had gone back to
/// the pool. Now the store works again once the grant is there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_refused_for_want_of_a_grant_is_retried_once_granted() {
    let pool = admin().await;
    let role = format!("tokengate_nocreate_{}", std::process::id());
    let schema = format!("tokengate_grant_{}", std::process::id());
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&pool)
        .await
        .unwrap();
    run(
        &pool,
        &format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE;
             DROP ROLE IF EXISTS {role};
             CREATE ROLE {role} LOGIN;"
        ),
    )
    .await;
    let store = PostgresStore::open_tuned(
        &as_user(&postgres_url(), &role),
        &schema,
        "recovery",
        2,
        Duration::from_secs(2),
    )
    .unwrap();
    for _ in 0..3 {
        assert!(store.reserve("fail:login:x", 10, 900, 1_000).await.is_err());
        assert!(store.is_live("ada", "s", 1_000).await.is_err());
    }
    run(
        &pool,
        &format!("GRANT CREATE ON DATABASE \"{database}\" TO {role}"),
    )
    .await;
    failures_until_it_works(&store, Duration::from_secs(5)).await;
    // Every connection of the pool works, not just one.
    let uses: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.is_live("ada", "s", 1_000).await })
        })
        .collect();
    for answer in uses {
        assert!(!answer.await.unwrap().unwrap());
    }
    drop(store);
    run(
        &pool,
        &format!(
            "DROP SCHEMA {schema} CASCADE;
             REVOKE CREATE ON DATABASE \"{database}\" FROM {role};"
        ),
    )
    .await;
    // The store's connections may still be closing.
    for _ in 0..50 {
        if sqlx::raw_sql(&format!("DROP ROLE IF EXISTS {role}"))
            .execute(&pool)
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Attack: another session holds the migration's advisory lock past the statement timeout.
/// Uses fail (503) while it is held, and the store works once it is let go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_that_waited_out_a_lock_is_retried_once_it_is_free() {
    let pool = admin().await;
    let schema = format!("tokengate_lock_{}", std::process::id());
    run(&pool, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
    let mut holder = pool.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock(hashtext($1))")
        .bind(format!("tokengate schema {schema}"))
        .execute(&mut *holder)
        .await
        .unwrap();
    let store = PostgresStore::open_tuned(
        &postgres_url(),
        &schema,
        "recovery",
        2,
        Duration::from_millis(300),
    )
    .unwrap();
    for _ in 0..3 {
        assert!(store.reserve("fail:login:x", 10, 900, 1_000).await.is_err());
    }
    sqlx::query("SELECT pg_advisory_unlock(hashtext($1))")
        .bind(format!("tokengate schema {schema}"))
        .execute(&mut *holder)
        .await
        .unwrap();
    drop(holder);
    failures_until_it_works(&store, Duration::from_secs(5)).await;

    // A table lock held past the timeout once the schema exists: failures while it is held,
    // then every use works.
    let mut tx = pool.begin().await.unwrap();
    sqlx::raw_sql(&format!(
        "LOCK TABLE {schema}.attempts IN ACCESS EXCLUSIVE MODE"
    ))
    .execute(&mut *tx)
    .await
    .unwrap();
    assert!(store.reserve("fail:login:y", 10, 900, 1_000).await.is_err());
    tx.rollback().await.unwrap();
    failures_until_it_works(&store, Duration::from_secs(5)).await;
    run(&pool, &format!("DROP SCHEMA {schema} CASCADE")).await;
}
