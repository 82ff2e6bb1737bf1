//! The PostgreSQL store keeps the store contract: the rules its statements repeat are held to
//! the same suite as the Rust ones, on a real server.

#![allow(clippy::unwrap_used)]

use tokengate_postgres::PostgresStore;
use tokengate_store::testing;

/// The PostgreSQL the tests use: `TEST_POSTGRES_URL`, or database `test` on 127.0.0.1:5432.
fn postgres_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeps_the_store_and_counter_contracts() {
    let prefix = format!("contract-{}", std::process::id());
    let store = PostgresStore::open(&postgres_url(), "tokengate_test", &prefix).unwrap();
    testing::session_store_contract(&store).await;
    testing::attempt_counter_contract(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_is_down_is_an_error_not_a_wait() {
    let store =
        PostgresStore::open("postgres://postgres@127.0.0.1:1/test", "tokengate", "x").unwrap();
    let started = std::time::Instant::now();
    let answer = tokengate_store::SessionStore::is_live(&store, "ada", "s", 0).await;
    assert!(answer.is_err());
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_say_whether_the_database_is_down_or_the_settings_are_wrong() {
    use tokengate_store::{SessionStore, StoreErrorKind};
    let down = PostgresStore::open("postgres://postgres@127.0.0.1:1/test", "tokengate", "x");
    let error = down.unwrap().is_live("ada", "s", 0).await.unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Unreachable, "{error}");
    assert!(error.is_transient());

    let error = PostgresStore::open(&postgres_url(), "Not-A-Schema", "x").unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Misconfigured, "{error}");

    let error = PostgresStore::open(
        "postgres://postgres@127.0.0.1:5432/test?sslmode=nonsense",
        "tokengate",
        "x",
    )
    .unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Misconfigured, "{error}");

    let url = postgres_url();
    let (server, _) = url.split('?').next().unwrap().rsplit_once('/').unwrap();
    let missing = format!("{server}/tokengate_missing_{}", std::process::id());
    let store = PostgresStore::open(&missing, "tokengate", "x").unwrap();
    let error = store.is_live("ada", "s", 0).await.unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Misconfigured, "{error}");
    assert!(!error.is_transient());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_of_the_first_schema_are_migrated_in_place() {
    use tokengate_store::{Session, SessionStore};
    let schema = format!("tokengate_v1_{}", std::process::id());
    let pool = sqlx::PgPool::connect(&postgres_url()).await.unwrap();
    let now = 1_900_000_000_i64;
    // The schema as version 1 made it, with one session in it.
    sqlx::raw_sql(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE;
         CREATE SCHEMA {schema};
         CREATE TABLE {schema}.schema_version (version integer NOT NULL);
         INSERT INTO {schema}.schema_version VALUES (1);
         CREATE TABLE {schema}.sessions (
             ns text NOT NULL, id text NOT NULL, subject text NOT NULL, application text,
             claims text NOT NULL, created_at bigint NOT NULL, refreshed_at bigint NOT NULL,
             expires_at bigint, token text NOT NULL, previous text, rotated_at bigint NOT NULL,
             PRIMARY KEY (ns, id));
         CREATE TABLE {schema}.attempts (
             ns text NOT NULL, key text NOT NULL, count bigint NOT NULL, ends_at bigint NOT NULL,
             PRIMARY KEY (ns, key));
         INSERT INTO {schema}.sessions VALUES
             ('app', 'old', 'ada', NULL, '{{}}', {now}, {now}, NULL, 't', NULL, {now});"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let store = PostgresStore::open(&postgres_url(), &schema, "app").unwrap();
    let listed = store.list("ada", now).await.unwrap();
    assert_eq!(listed.len(), 1, "a session was lost by the migration");
    let new = Session::new("new", "ada", None, "{}", now, None)
        .with_client(Some("curl/8"), Some("127.0.0.1"));
    assert!(store.create(new, Some(1)).await.unwrap() == vec!["old".to_owned()]);
    let listed = store.list("ada", now).await.unwrap();
    assert_eq!(listed[0].user_agent.as_deref(), Some("curl/8"));
    let version: i32 = sqlx::query_scalar(&format!("SELECT version FROM {schema}.schema_version"))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(version, 2);
    sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&pool)
        .await
        .unwrap();
}
