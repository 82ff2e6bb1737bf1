//! A Redis that takes connections and never answers (a hung process, a firewall that lets the
//! handshake through): the store still opens, so the gate starts, and every call fails as
//! unreachable within the store's bound, however many arrive at once.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use tokengate_redis::RedisStore;
use tokengate_store::{SessionStore, StoreErrorKind};

/// The port of a listener that holds every connection it takes and never answers.
async fn silent() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            sockets.push(socket);
        }
    });
    (port, held)
}

/// Eight calls at once on the store at `url`: each fails as unreachable, and none later than
/// `bound` (one wait on Redis is 2 s; eight attempts in a row would take 16 s).
async fn each_call_is_answered_within(url: &str, bound: Duration) {
    let store = RedisStore::open(url, "x").unwrap();
    let started = Instant::now();
    let calls: Vec<_> = (0..8)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let answer = store.is_live("ada", &format!("s{n}"), 0).await;
                (answer, started.elapsed())
            })
        })
        .collect();
    for call in calls {
        let (answer, took) = call.await.unwrap();
        let error = answer.unwrap_err();
        assert_eq!(error.kind(), StoreErrorKind::Unreachable, "{url}: {error}");
        assert!(took < bound, "{url}: answered after {took:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_waiting_for_a_silent_sentinel_are_each_answered_within_the_bound() {
    let (port, held) = silent().await;
    let url = format!("redis+sentinel://127.0.0.1:{port}/main");
    each_call_is_answered_within(&url, Duration::from_secs(5)).await;
    held.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_waiting_for_a_silent_cluster_are_each_answered_within_the_bound() {
    let (port, held) = silent().await;
    let url = format!("redis+cluster://127.0.0.1:{port}");
    each_call_is_answered_within(&url, Duration::from_secs(6)).await;
    held.abort();
}
