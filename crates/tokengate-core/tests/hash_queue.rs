//! The hash queue (`hash_queue_depth`): a sign-in or client authentication beyond it is
//! answered 503 with `Retry-After` at once, before the directory is asked anything.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokengate_core::adapter::RequestHead;
use tokengate_core::credentials::{Credentials, CredentialsFuture, Login, Principal};
use tokengate_core::{Config, Endpoint, Response, TokenGate};

const SECRET: &str = "a-hash-queue-test-secret-of-32-bytes";

/// A directory whose checks all wait until the test opens it, counting who it is asked about.
#[derive(Clone)]
struct Held {
    asked: Arc<AtomicUsize>,
    open: Arc<tokio::sync::Semaphore>,
}

impl Default for Held {
    /// Closed: every check waits.
    fn default() -> Self {
        Self {
            asked: Arc::default(),
            open: Arc::new(tokio::sync::Semaphore::new(0)),
        }
    }
}

impl Held {
    fn principal(subject: &str) -> Principal {
        Principal {
            subject: subject.to_owned(),
            ..Principal::default()
        }
    }

    /// Waits until the test opens the directory; `ada` with `pw` is right, anything else wrong.
    async fn answer(&self, right: bool, subject: &str) -> Option<Principal> {
        drop(self.open.acquire().await.unwrap());
        right.then(|| Self::principal(subject))
    }
}

impl Credentials for Held {
    fn verify<'a>(&'a self, login: Login<'a>) -> CredentialsFuture<'a> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        let right = login
            == Login::User {
                login: "ada",
                password: "pw",
            };
        Box::pin(async move { Ok(self.answer(right, "ada").await) })
    }

    fn verify_client<'a>(&'a self, key: &'a str, secret: &'a str) -> CredentialsFuture<'a> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move { Ok(self.answer((key, secret) == ("app", "s3cret"), key).await) })
    }
}

struct Post {
    path: &'static str,
    authorization: Option<&'static [u8]>,
}

impl RequestHead for Post {
    fn method(&self) -> &'static str {
        "POST"
    }
    fn path(&self) -> &str {
        self.path
    }
    fn header(&self, name: &str) -> Option<&[u8]> {
        match name {
            "content-type" => Some(b"application/x-www-form-urlencoded".as_slice()),
            "authorization" => self.authorization,
            _ => None,
        }
    }
    fn peer_addr(&self) -> Option<std::net::IpAddr> {
        Some([192, 0, 2, 9].into())
    }
}

fn gate(depth: u32, directory: &Held) -> TokenGate {
    let config = Config::default()
        .with_secret(SECRET)
        .with_throttle(100, 1000)
        .with_hash_queue_depth(depth);
    TokenGate::builder(config)
        .credentials(directory.clone())
        .build()
        .unwrap()
}

async fn signin(gate: TokenGate, body: String) -> Response {
    let head = Post {
        path: "/api/rest/signin",
        authorization: None,
    };
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(body))]);
    gate.serve(Endpoint::SignIn, &head, body).await
}

fn assert_busy(response: &Response) {
    assert_eq!(response.status, 503);
    assert_eq!(response.header("retry-after"), Some("1"));
    let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
}

/// Waits, up to a deadline, until `done` holds.
async fn until(mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Attack: a burst of sign-ins, known logins and unknown ones, all at once against a queue of
/// two. Exactly two are checked; the other 30 are refused with 503 before the directory hears
/// of them (so the refusal cannot tell a login that exists); once the two are through, the
/// next sign-in is checked again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_beyond_the_depth_is_refused_before_any_lookup() {
    let directory = Held::default();
    let gate = gate(2, &directory);
    let mut burst = tokio::task::JoinSet::new();
    for i in 0..32 {
        let body = match i % 2 {
            0 => "login=ada&password=pw".to_owned(),
            _ => format!("login=nobody{i}&password=x"),
        };
        burst.spawn(signin(gate.clone(), body));
    }
    let mut refused = 0;
    while refused < 30 {
        let response = burst.join_next().await.unwrap().unwrap();
        assert_busy(&response);
        refused += 1;
    }
    assert_eq!(directory.asked.load(Ordering::SeqCst), 2);
    directory.open.add_permits(1_000);
    while let Some(response) = burst.join_next().await {
        assert!([201, 401].contains(&response.unwrap().status));
    }
    let response = signin(gate, "login=ada&password=pw".to_owned()).await;
    assert_eq!(response.status, 201);
    assert_eq!(directory.asked.load(Ordering::SeqCst), 3);
}

/// Client authentications at `introspect` share the queue with sign-ins: with a sign-in being
/// checked at a depth of one, an application's introspection is refused the same way, and
/// goes through once the sign-in is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_authentication_waits_in_the_same_queue() {
    let directory = Held::default();
    let gate = gate(1, &directory);
    let checked = tokio::spawn(signin(gate.clone(), "login=ada&password=pw".to_owned()));
    until(|| directory.asked.load(Ordering::SeqCst) == 1).await;
    let introspect = || {
        let gate = gate.clone();
        async move {
            // `app:s3cret` in base64.
            let head = Post {
                path: "/api/rest/introspect",
                authorization: Some(b"Basic YXBwOnMzY3JldA=="),
            };
            let body =
                futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from("token=x"))]);
            gate.serve(Endpoint::Introspect, &head, body).await
        }
    };
    assert_busy(&introspect().await);
    assert_eq!(directory.asked.load(Ordering::SeqCst), 1);
    directory.open.add_permits(1_000);
    assert_eq!(checked.await.unwrap().status, 201);
    assert_eq!(introspect().await.status, 200);
    assert_eq!(directory.asked.load(Ordering::SeqCst), 2);
}
