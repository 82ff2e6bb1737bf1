//! The subject index does not grow without bound: a client that signs in often and never
//! signs out leaves the ids of its expired sessions behind only until its next sign-in, and
//! the index and the sessions hash live exactly as long as the longest-lived session.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokengate_redis::RedisStore;
use tokengate_store::{Session, SessionStore};

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

fn session(id: &str, now: i64, expires_at: Option<i64>) -> Session {
    let mut session = Session::new(id, "machine", Some("cron"), "{}", now, expires_at);
    session.token = format!("t-{id}");
    session
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
async fn a_client_that_never_signs_out_leaves_a_small_index() {
    let prefix = format!("tokengate-index-test-{}-{}", std::process::id(), now());
    let store = RedisStore::open(&redis_url(), &prefix).unwrap();
    let client = redis::Client::open(redis_url()).unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    let index = format!("{prefix}:{{machine}}:sessions");
    let sessions = format!("{prefix}:{{machine}}:signed-in");

    // A thousand sign-ins whose refresh tokens live one second, never signed out.
    let start = now();
    for i in 0..1_000 {
        let expiring = session(&format!("s{i}"), start, Some(start + 1));
        store.create(expiring, None).await.unwrap();
    }
    // The index expires with its last session (-2: gone already).
    let ttl = ask(&mut redis, "TTL", &index).await;
    assert!(
        ttl == -2 || (0..=1).contains(&ttl),
        "the index outlives its sessions: ttl {ttl}"
    );

    let wait = u64::try_from(start + 2 - now()).unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(wait * 1_000 + 100)).await;
    let later = now();
    store
        .create(session("next", later, Some(later + 3_600)), None)
        .await
        .unwrap();
    let held = ask(&mut redis, "ZCARD", &index).await;
    assert_eq!(held, 1, "the ids of expired sessions stay in the index");
    let held = ask(&mut redis, "HLEN", &sessions).await;
    assert_eq!(held, 1, "expired sessions stay in the hash");
    for key in [&index, &sessions] {
        let ttl = ask(&mut redis, "TTL", key).await;
        assert!((3_590..=3_600).contains(&ttl), "{key}: ttl {ttl}");
    }

    // An unlimited session keeps the index for as long as it lives: no expiry.
    store
        .create(session("forever", later, None), None)
        .await
        .unwrap();
    assert_eq!(ask(&mut redis, "TTL", &index).await, -1);
    assert_eq!(ask(&mut redis, "TTL", &sessions).await, -1);
    assert_eq!(store.list("machine", later).await.unwrap().len(), 2);

    for key in [index, sessions] {
        ask(&mut redis, "DEL", &key).await;
    }
}
