//! A passkey's credential id is claimed by a key of its own: a claim left behind never blocks
//! the id for good, a claim taken over makes its late add add nothing, a refused or removed
//! passkey leaves no claim, and a challenge expires on the server soon after its end. Of
//! subjects adding one credential id at once, one does, on one Redis and on a cluster.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{SystemTime, UNIX_EPOCH};

use tokengate_redis::RedisStore;
use tokengate_store::{Factor, FactorStore, Registered};

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

fn passkey(id: &str, subject: &str, credential: &str, t: i64) -> Factor {
    Factor::credential(id, subject, "sealed", credential, "laptop", 0, t)
}

/// One integer answer of a Redis command on `key`.
async fn ask(redis: &mut impl redis::aio::ConnectionLike, command: &str, key: &str) -> i64 {
    redis::cmd(command)
        .arg(key)
        .query_async(redis)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_on_credential_ids_never_block_them_for_good() {
    let prefix = format!("tokengate-claim-test-{}-{}", std::process::id(), now());
    let store = RedisStore::open(&redis_url(), &prefix).unwrap();
    let client = redis::Client::open(redis_url()).unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    let claim = |credential: &str| format!("{prefix}:credential:{credential}");
    let t = now();

    // A claim left behind by a call that stopped before adding its passkey: taken over.
    redis::cmd("SET")
        .arg(claim("c1"))
        .arg("m0:3:bobp9")
        .query_async::<()>(&mut redis)
        .await
        .unwrap();
    assert_eq!(
        store
            .add_credential(passkey("p1", "ada", "c1", t), 5, &[])
            .await
            .unwrap(),
        Registered::Added { recovery: true }
    );
    let found = store.credential("c1").await.unwrap().expect("found");
    assert_eq!((found.subject.as_str(), found.id.as_str()), ("ada", "p1"));

    // The claim taken over is void: its add, coming late, adds nothing.
    let void = format!("{prefix}:{{bob}}:void:m0");
    let ttl = ask(&mut redis, "TTL", &void).await;
    assert!((86_390..=86_400).contains(&ttl), "ttl {ttl}");
    let script = redis::Script::new(concat!(
        include_str!("../src/scripts/factor.lua"),
        include_str!("../src/scripts/add_credential.lua")
    ));
    let late: i64 = script
        .key(format!("{prefix}:{{bob}}:factors"))
        .key(format!("{prefix}:{{bob}}:recovery"))
        .key(&void)
        .arg(5)
        .arg(0)
        .arg("id")
        .arg("p9")
        .arg("credential")
        .arg("c1")
        .invoke_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(late, -1);
    assert!(store.factors("bob", t).await.unwrap().is_empty());

    // A passkey refused for too many factors leaves no claim.
    assert_eq!(
        store
            .add_credential(passkey("p2", "ada", "c2", t), 1, &[])
            .await
            .unwrap(),
        Registered::TooMany
    );
    assert_eq!(ask(&mut redis, "EXISTS", &claim("c2")).await, 0);

    // A removed passkey takes its claim along.
    assert_eq!(store.remove_factor("ada", "p1", t).await.unwrap(), Some(0));
    assert_eq!(ask(&mut redis, "EXISTS", &claim("c1")).await, 0);
    assert_eq!(store.credential("c1").await.unwrap(), None);

    // A challenge expires on the server a minute after its end.
    store.put_challenge("ch1", "state", t + 300).await.unwrap();
    let challenge = format!("{prefix}:challenge:ch1");
    let ttl = ask(&mut redis, "TTL", &challenge).await;
    assert!((350..=360).contains(&ttl), "ttl {ttl}");
    assert_eq!(
        store.take_challenge("ch1", t).await.unwrap().as_deref(),
        Some("state")
    );
    assert_eq!(ask(&mut redis, "EXISTS", &challenge).await, 0);

    ask(&mut redis, "DEL", &void).await;
}

/// Eight subjects add `credential` at once: one holds it, and the others hold nothing.
async fn one_of_many_holds(store: &RedisStore, credential: &str) {
    let t = now();
    let adds: Vec<_> = (0..8)
        .map(|n| {
            let (store, credential) = (store.clone(), credential.to_owned());
            tokio::spawn(async move {
                let subject = format!("s{n}-{credential}");
                let factor = passkey("p1", &subject, &credential, t);
                let added = store.add_credential(factor, 5, &[]).await.unwrap();
                (subject, added)
            })
        })
        .collect();
    let mut holders = Vec::new();
    for add in adds {
        let (subject, added) = add.await.unwrap();
        match added {
            Registered::Added { .. } => holders.push(subject),
            Registered::Taken => assert!(store.factors(&subject, t).await.unwrap().is_empty()),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(holders.len(), 1, "{holders:?}");
    let found = store.credential(credential).await.unwrap().expect("found");
    assert_eq!(found.subject, holders[0]);
    let removed = store.remove_factor(&holders[0], "p1", t).await.unwrap();
    assert_eq!(removed, Some(0));
    assert_eq!(store.credential(credential).await.unwrap(), None);
}

/// A claim on `credential` left behind by a call that stopped before adding its passkey.
fn left_behind(prefix: &str, credential: &str) -> redis::Cmd {
    let mut set = redis::cmd("SET");
    set.arg(format!("{prefix}:credential:{credential}"))
        .arg("m0:3:bobp9");
    set
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_of_many_holds_a_credential_id() {
    let prefix = format!("tokengate-race-test-{}-{}", std::process::id(), now());
    let store = RedisStore::open(&redis_url(), &prefix).unwrap();
    one_of_many_holds(&store, "fresh").await;
    let client = redis::Client::open(redis_url()).unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    left_behind(&prefix, "stale")
        .query_async::<()>(&mut redis)
        .await
        .unwrap();
    one_of_many_holds(&store, "stale").await;
    ask(&mut redis, "DEL", &format!("{prefix}:{{bob}}:void:m0")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_of_many_holds_a_credential_id_on_a_redis_cluster() {
    let url = std::env::var("TEST_REDIS_CLUSTER_URL").unwrap_or_else(|_| {
        panic!(
            "TEST_REDIS_CLUSTER_URL is not set: run scripts/test.sh, which starts a local \
             Redis Cluster, or set it to redis+cluster://host:port,..."
        )
    });
    let prefix = format!("tokengate-race-test-{}-{}", std::process::id(), now());
    let store = RedisStore::open(&url, &prefix).unwrap();
    one_of_many_holds(&store, "fresh").await;
    let nodes = url
        .trim_start_matches("redis+cluster://")
        .split(',')
        .map(|node| format!("redis://{node}"));
    let client = redis::cluster::ClusterClient::new(nodes.collect::<Vec<_>>()).unwrap();
    let mut redis = client.get_async_connection().await.unwrap();
    left_behind(&prefix, "stale")
        .query_async::<()>(&mut redis)
        .await
        .unwrap();
    one_of_many_holds(&store, "stale").await;
    ask(&mut redis, "DEL", &format!("{prefix}:{{bob}}:void:m0")).await;
}
