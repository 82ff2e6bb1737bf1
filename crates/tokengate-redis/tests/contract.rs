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
    testing::attempt_counter_contract(&store).await;
    testing::factor_store_contract(&store).await;
}

/// The Redis Cluster the tests use: `TEST_REDIS_CLUSTER_URL`, which `scripts/test.sh` sets
/// after starting three local masters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_say_whether_redis_is_down_or_the_settings_are_wrong() {
    use tokengate_store::{SessionStore, StoreErrorKind};
    let down = RedisStore::open("redis://127.0.0.1:1/0", "x").unwrap();
    let error = down.is_live("ada", "s", 0).await.unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Unreachable, "{error}");
    for url in [
        "redis+cluster://",
        "redis+cluster://127.0.0.1:7000/1",
        "redis://:x@/",
    ] {
        let error = RedisStore::open(url, "x").unwrap_err();
        assert_eq!(
            error.kind(),
            StoreErrorKind::Misconfigured,
            "{url}: {error}"
        );
    }
}

fn cluster_url() -> String {
    std::env::var("TEST_REDIS_CLUSTER_URL").unwrap_or_else(|_| {
        panic!(
            "TEST_REDIS_CLUSTER_URL is not set: run scripts/test.sh, which starts a local \
             Redis Cluster, or set it to redis+cluster://host:port,..."
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeps_the_contracts_on_a_redis_cluster() {
    let prefix = format!("tokengate-contract-{}", std::process::id());
    let store = RedisStore::open(&cluster_url(), &prefix).unwrap();
    testing::session_store_contract(&store).await;
    testing::attempt_counter_contract(&store).await;
    testing::factor_store_contract(&store).await;
    // The test cluster keeps every key.
    assert_eq!(
        store.eviction_policy().await.unwrap().as_deref(),
        Some("noeviction")
    );
}

/// With `wait_for_replicas`, a revocation that no replica confirms is an error (503 at the
/// endpoints), whichever way it ends a session, and a retry is refused the same way: the
/// test Redis has no replica. Without the wait, the same calls succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_no_replica_confirms_is_refused() {
    use std::time::Duration;
    use tokengate_store::{Session, SessionStore, StoreErrorKind, SubjectRevocation};
    fn refused<T>(result: Result<T, tokengate_store::StoreError>) {
        let error = result.map(|_| ()).unwrap_err();
        assert_eq!(error.kind(), StoreErrorKind::Unreachable, "{error}");
    }
    let prefix = format!("tokengate-wait-{}", std::process::id());
    let plain = RedisStore::open(&redis_url(), &prefix).unwrap();
    let waiting = plain
        .clone()
        .wait_for_replicas(1, Duration::from_millis(50));
    let session = |id: &str, at: i64| Session::new(id, "ada", None, "{}", at, None);
    // A sign-in that ends no session waits for nothing.
    waiting.create(session("s1", 1_000), Some(2)).await.unwrap();
    refused(waiting.revoke("ada", "s1", 1_010).await);
    // The master has ended it: the 503 promises nothing either way; a retry is refused too.
    assert!(!plain.is_live("ada", "s1", 1_011).await.unwrap());
    refused(waiting.revoke("ada", "s1", 1_012).await);
    assert!(!plain.revoke("ada", "s1", 1_013).await.unwrap());

    waiting.create(session("s2", 1_020), Some(2)).await.unwrap();
    waiting.create(session("s3", 1_021), Some(2)).await.unwrap();
    // The third live session ends the least recently used one: a revocation.
    refused(waiting.create(session("s4", 1_022), Some(2)).await);
    let everything = SubjectRevocation::new("ada", None, None, 1_030);
    refused(waiting.revoke_subject(everything).await);
    assert_eq!(
        plain
            .revoke_subject(SubjectRevocation::new("ada", None, None, 1_031))
            .await
            .unwrap(),
        Some(vec![])
    );
}
