//! Sessions written by the builds that kept each session in a hash of its own stay signed in
//! after an upgrade: they are read, refreshed, listed, limited and signed out like the rest,
//! and moved into the subject's sessions hash when a script meets them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{SystemTime, UNIX_EPOCH};

use tokengate_redis::RedisStore;
use tokengate_store::{RefreshRequest, Refreshed, Session, SessionStore, SubjectRevocation};

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

/// Writes session `id` of `subject` as those builds did: a hash with named fields that
/// expires with the session, and its id in the subject's index scored by its end.
async fn write_legacy(
    redis: &mut redis::aio::MultiplexedConnection,
    prefix: &str,
    subject: &str,
    id: &str,
    now: i64,
) {
    let key = format!("{prefix}:{{{subject}}}:session:{id}");
    let ends = now + 3_600;
    let _: () = redis::pipe()
        .hset_multiple(
            &key,
            &[
                ("id", id.to_owned()),
                ("subject", subject.to_owned()),
                ("application", String::new()),
                ("claims", r#"{"roles":["user"]}"#.to_owned()),
                ("created_at", now.to_string()),
                ("refreshed_at", now.to_string()),
                ("expires_at", ends.to_string()),
                ("token", format!("t-{id}")),
                ("previous", String::new()),
                ("rotated_at", now.to_string()),
                ("user_agent", "Mozilla/5.0 (X11; Linux x86_64)".to_owned()),
                ("address", "192.0.2.7".to_owned()),
            ],
        )
        .expire_at(&key, ends)
        .zadd(format!("{prefix}:{{{subject}}}:sessions"), id, ends)
        .query_async(redis)
        .await
        .unwrap();
}

async fn exists(redis: &mut redis::aio::MultiplexedConnection, key: &str) -> bool {
    redis::cmd("EXISTS")
        .arg(key)
        .query_async(redis)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_of_the_older_layout_stay_signed_in() {
    let prefix = format!("tokengate-legacy-test-{}-{}", std::process::id(), now());
    let store = RedisStore::open(&redis_url(), &prefix).unwrap();
    let client = redis::Client::open(redis_url()).unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    let t = now();
    for id in ["old1", "old2", "old3"] {
        write_legacy(&mut redis, &prefix, "ada", id, t).await;
    }

    assert!(store.is_live("ada", "old1", t).await.unwrap());
    let read = store
        .session("ada", "old1", t)
        .await
        .unwrap()
        .expect("read");
    let mut expected = Session::new(
        "old1",
        "ada",
        None,
        r#"{"roles":["user"]}"#,
        t,
        Some(t + 3_600),
    )
    .with_client(Some("Mozilla/5.0 (X11; Linux x86_64)"), Some("192.0.2.7"));
    expected.token = "t-old1".into();
    assert_eq!(read, expected);
    // Read once, then kept in the subject's hash only.
    assert!(!exists(&mut redis, &format!("{prefix}:{{ada}}:session:old1")).await);

    let rotated = store
        .refresh(RefreshRequest::rotate(
            "ada",
            "old2",
            "t-old2",
            t + 1,
            "t-new",
            10,
        ))
        .await
        .unwrap();
    assert!(
        matches!(&rotated, Refreshed::Current(s) if s.token == "t-new" && s.previous.as_deref() == Some("t-old2")),
        "{rotated:?}"
    );

    // A sign-in with a limit counts, and may end, the older ones too.
    let mut fresh = Session::new("new1", "ada", None, "{}", t + 2, Some(t + 3_600));
    fresh.token = "t-new1".into();
    let evicted = store.create(fresh, Some(3)).await.unwrap();
    assert_eq!(evicted, ["old1"], "the least recently used one ends");
    let listed: Vec<String> = store
        .list("ada", t + 2)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, ["old2", "old3", "new1"]);

    // A sign-out of all ends an older one never read before.
    write_legacy(&mut redis, &prefix, "ada", "old4", t).await;
    let mut ended = store
        .revoke_subject(SubjectRevocation::new("ada", None, None, t + 3))
        .await
        .unwrap()
        .expect("ended");
    ended.sort();
    assert_eq!(ended, ["new1", "old2", "old3", "old4"]);
    assert!(!store.is_live("ada", "old4", t + 3).await.unwrap());
    assert!(!exists(&mut redis, &format!("{prefix}:{{ada}}:session:old4")).await);
    assert!(!exists(&mut redis, &format!("{prefix}:{{ada}}:signed-in")).await);
}
