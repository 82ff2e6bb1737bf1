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
    testing::failure_counter_contract(&store).await;
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
