//! What the builder pairs with a store the application gives it.

#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use tokengate_core::adapter::RequestHead;
use tokengate_core::credentials::{hash_password, MemoryDirectory};
use tokengate_core::{Config, Endpoint, TokenGate};

const SECRET: &str = "a-builder-test-secret-of-at-least-32-bytes";

struct Post;

impl RequestHead for Post {
    fn method(&self) -> &'static str {
        "POST"
    }
    fn path(&self) -> &'static str {
        "/api/rest/signin"
    }
    fn header(&self, name: &str) -> Option<&[u8]> {
        (name == "content-type").then_some(b"application/x-www-form-urlencoded".as_slice())
    }
}

async fn wrong_signin(gate: &TokenGate) -> u16 {
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(
        "login=ada&password=wrong",
    ))]);
    gate.serve(Endpoint::SignIn, &Post, body).await.status
}

/// Attack: `TokenGate::builder(..).store(custom)` paired the store with a counter in this
/// process's memory, so behind a load balancer each instance granted its own attempts. A
/// store that can count now counts: two instances on one SQLite file share the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_given_to_the_builder_counts_for_every_instance() {
    let path = std::env::temp_dir().join(format!(
        "tokengate-builder-{}-{}.db",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let instance = || {
        let config = Config::from_sources(
            None,
            "default",
            [
                ("TOKENGATE_SECRET", SECRET),
                ("TOKENGATE_THROTTLE_PER_LOGIN", "2"),
            ],
        )
        .unwrap();
        let directory = MemoryDirectory::new()
            .user("ada", &hash_password("pw").unwrap())
            .unwrap();
        TokenGate::builder(config)
            .credentials(directory)
            .store(tokengate_sqlite::SqliteStore::open(&path).unwrap())
            .build()
            .unwrap()
    };
    let (one, two) = (instance(), instance());
    assert_eq!(wrong_signin(&one).await, 401);
    assert_eq!(wrong_signin(&two).await, 401);
    // The login's two attempts are spent, on either instance.
    assert_eq!(wrong_signin(&one).await, 429);
    assert_eq!(wrong_signin(&two).await, 429);
    let _ = std::fs::remove_file(&path);
}
