//! A subject's factors leave nothing behind: the hash of one that only ever started adding a
//! factor expires with its last pending one, an active factor keeps it, and removing the last
//! factor removes the hash and the recovery codes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{SystemTime, UNIX_EPOCH};

use tokengate_redis::RedisStore;
use tokengate_store::{Confirmation, Factor, FactorStore};

/// The Redis the tests use: `TEST_REDIS_URL`, or database 15 on 127.0.0.1:6379.
fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/15".into())
}

fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// One integer answer of a Redis command on `key`.
async fn ask(redis: &mut redis::aio::MultiplexedConnection, command: &str, key: &str) -> i64 {
    redis::cmd(command)
        .arg(key)
        .query_async(redis)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn factor_keys_live_only_as_long_as_their_factors() {
    let prefix = format!("tokengate-factor-test-{}-{}", std::process::id(), now());
    let store = RedisStore::open(&redis_url(), &prefix).unwrap();
    let client = redis::Client::open(redis_url()).unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    let factors = format!("{prefix}:{{ada}}:factors");
    let recovery = format!("{prefix}:{{ada}}:recovery");
    let t = now();

    // Pending only: the hash ends with the last pending factor.
    let first = Factor::pending("f1", "ada", "totp", "sealed", t, t + 60);
    assert!(store.add_factor(first, 3).await.unwrap());
    let second = Factor::pending("f2", "ada", "totp", "sealed", t, t + 600);
    assert!(store.add_factor(second, 3).await.unwrap());
    let ttl = ask(&mut redis, "TTL", &factors).await;
    assert!((590..=600).contains(&ttl), "ttl {ttl}");

    // An active factor keeps it, with its recovery codes.
    let codes = ["c1".to_owned(), "c2".to_owned()];
    store
        .confirm_factor(Confirmation::new("ada", "f2", 1, t + 1, &codes))
        .await
        .unwrap();
    assert_eq!(ask(&mut redis, "TTL", &factors).await, -1);
    assert_eq!(ask(&mut redis, "TTL", &recovery).await, -1);

    // The active factor removed, the pending one left ends the hash again; removing that one
    // (past the end of the first) leaves no key at all.
    assert_eq!(
        store.remove_factor("ada", "f2", t + 2).await.unwrap(),
        Some(0)
    );
    assert_eq!(ask(&mut redis, "EXISTS", &recovery).await, 0);
    let ttl = ask(&mut redis, "TTL", &factors).await;
    assert!((50..=60).contains(&ttl), "ttl {ttl}");
    let third = Factor::pending("f3", "ada", "totp", "sealed", t + 2, t + 300);
    assert!(store.add_factor(third, 3).await.unwrap());
    assert_eq!(
        store.remove_factor("ada", "f3", t + 61).await.unwrap(),
        Some(0)
    );
    assert_eq!(ask(&mut redis, "EXISTS", &factors).await, 0);
}
