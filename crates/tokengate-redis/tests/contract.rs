//! The Redis store keeps the store contract: the rules its Lua scripts repeat are held to the
//! same suite as the Rust ones.

#![allow(clippy::unwrap_used)]

use tokengate_redis::RedisStore;
use tokengate_store::testing;

/// The Redis the tests use: `TEST_REDIS_URL`, or database 15 on 127.0.0.1:6379.
fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/15".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeps_the_store_and_counter_contracts() {
    let prefix = format!("tokengate-contract-{}", std::process::id());
    let store = RedisStore::open(&redis_url(), &prefix).unwrap();
    testing::session_store_contract(&store).await;
    testing::failure_counter_contract(&store).await;
}
