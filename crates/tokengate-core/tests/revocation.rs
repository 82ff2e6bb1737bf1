//! Strict revocation against stores that wait and stores that fail, interleaved on purpose:
//! a sign-out is never undone by a read that began before it, a sign-out that fails ends
//! nothing, routes that need no token stay open, and a sign-in that took effect is answered as
//! one even when the throttle counter fails afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokengate_core::adapter::{RequestHead, Route};
use tokengate_core::audit::{AuditEvent, AuditKind};
use tokengate_core::credentials::{hash_password, MemoryDirectory};
use tokengate_core::store::{
    MemoryStore, RefreshRequest, Refreshed, Session, SessionStore, StoreError, StoreFuture,
    SubjectRevocation,
};
use tokengate_core::throttle::{AttemptCounter, MemoryCounter, Reservation};
use tokengate_core::{Config, Endpoint, TokenGate};
use tokio::sync::oneshot;

const SECRET: &str = "a-revocation-test-secret-of-32-bytes-or-more";

/// A request: method, path, and an optional bearer token.
struct Head {
    method: &'static str,
    path: &'static str,
    bearer: Option<String>,
}

impl RequestHead for Head {
    fn method(&self) -> &str {
        self.method
    }
    fn path(&self) -> &str {
        self.path
    }
    fn header(&self, name: &str) -> Option<&[u8]> {
        match name {
            "content-type" if self.method == "POST" => {
                Some(b"application/x-www-form-urlencoded".as_slice())
            }
            "authorization" => self.bearer.as_deref().map(str::as_bytes),
            _ => None,
        }
    }
    fn peer_addr(&self) -> Option<std::net::IpAddr> {
        Some([192, 0, 2, 9].into())
    }
}

/// A memory store whose `is_live` can be held after it has read its answer, and whose writes
/// can be made to fail.
#[derive(Default)]
struct Controlled {
    inner: MemoryStore,
    hold: Mutex<Option<(oneshot::Sender<()>, oneshot::Receiver<()>)>>,
    fail_writes: AtomicBool,
    fail_reads: AtomicBool,
    /// Each `revoke_subject` call: the most it was asked to end, and how many it ended.
    batches: Mutex<Vec<(Option<usize>, usize)>>,
    /// After the next `revoke_subject` call, the presenting session ends (another sign-out of
    /// it, from another session of the subject).
    end_presenting_after_next: AtomicBool,
}

impl Controlled {
    /// The next `is_live` reads, then says so on the first channel and waits for the second.
    fn hold_next_read(&self) -> (oneshot::Receiver<()>, oneshot::Sender<()>) {
        let (reached_tx, reached_rx) = oneshot::channel();
        let (release_tx, release_rx) = oneshot::channel();
        *self.hold.lock().unwrap() = Some((reached_tx, release_rx));
        (reached_rx, release_tx)
    }
}

fn down(what: &str) -> StoreError {
    StoreError::unreachable(format!("{what}: the test store is down"))
}

/// The store handed to the gate, shared with the test.
#[derive(Clone)]
struct Shared(Arc<Controlled>);

impl std::ops::Deref for Shared {
    type Target = Controlled;
    fn deref(&self) -> &Controlled {
        &self.0
    }
}

impl SessionStore for Shared {
    fn create(&self, session: Session, max: Option<u32>) -> StoreFuture<'_, Vec<String>> {
        self.inner.create(session, max)
    }
    fn refresh<'a>(&'a self, request: RefreshRequest<'a>) -> StoreFuture<'a, Refreshed> {
        self.inner.refresh(request)
    }
    fn is_live<'a>(&'a self, subject: &'a str, id: &'a str, now: i64) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            if self.fail_reads.load(Ordering::SeqCst) {
                return Err(down("is_live"));
            }
            let live = self.inner.is_live(subject, id, now).await?;
            let held = self.hold.lock().unwrap().take();
            if let Some((reached, release)) = held {
                let _ = reached.send(());
                let _ = release.await;
            }
            Ok(live)
        })
    }
    fn revoke<'a>(&'a self, subject: &'a str, id: &'a str, now: i64) -> StoreFuture<'a, bool> {
        if self.fail_writes.load(Ordering::SeqCst) {
            return Box::pin(std::future::ready(Err(down("revoke"))));
        }
        self.inner.revoke(subject, id, now)
    }
    fn revoke_subject<'a>(
        &'a self,
        request: SubjectRevocation<'a>,
    ) -> StoreFuture<'a, Option<Vec<String>>> {
        if self.fail_writes.load(Ordering::SeqCst) {
            return Box::pin(std::future::ready(Err(down("revoke_subject"))));
        }
        Box::pin(async move {
            let ended = self.inner.revoke_subject(request).await?;
            if self.end_presenting_after_next.swap(false, Ordering::SeqCst) {
                if let Some(by) = request.by {
                    self.inner
                        .revoke(request.subject, by.id, request.now)
                        .await?;
                }
            }
            let count = ended.as_ref().map_or(0, Vec::len);
            self.batches.lock().unwrap().push((request.at_most, count));
            Ok(ended)
        })
    }
    fn list<'a>(&'a self, subject: &'a str, now: i64) -> StoreFuture<'a, Vec<Session>> {
        self.inner.list(subject, now)
    }
}

fn config(settings: &[(&str, &str)]) -> Config {
    let mut pairs = vec![
        ("TOKENGATE_SECRET".to_owned(), SECRET.to_owned()),
        ("TOKENGATE_STRICT_REVOCATION".to_owned(), "true".to_owned()),
        ("TOKENGATE_PUBLIC_PATHS".to_owned(), "/health".to_owned()),
    ];
    for (key, value) in settings {
        pairs.push((
            format!("TOKENGATE_{}", key.to_ascii_uppercase()),
            (*value).to_owned(),
        ));
    }
    Config::from_sources(None, "default", pairs).unwrap()
}

fn now() -> i64 {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(elapsed.as_secs()).unwrap()
}

fn gate(store: &Arc<Controlled>, settings: &[(&str, &str)]) -> TokenGate {
    let directory = MemoryDirectory::new()
        .user("ada", &hash_password("pw").unwrap())
        .unwrap();
    TokenGate::builder(config(settings))
        .credentials(directory)
        .store(Shared(Arc::clone(store)))
        .build()
        .unwrap()
}

async fn post(
    gate: &TokenGate,
    endpoint: Endpoint,
    path: &'static str,
    body: &str,
) -> (u16, serde_json::Value) {
    let head = Head {
        method: "POST",
        path,
        bearer: None,
    };
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(body.to_owned()))]);
    let response = gate.serve(endpoint, &head, body).await;
    (
        response.status,
        serde_json::from_slice(&response.body).unwrap_or_default(),
    )
}

/// Signs `ada` in: (refresh, access).
async fn sign_in(gate: &TokenGate) -> (String, String) {
    let (status, body) = post(
        gate,
        Endpoint::SignIn,
        "/api/rest/signin",
        "login=ada&password=pw",
    )
    .await;
    assert_eq!(status, 201, "{body}");
    (
        body["refreshToken"].as_str().unwrap().to_owned(),
        body["accessToken"].as_str().unwrap().to_owned(),
    )
}

fn get(path: &'static str, access: &str) -> Head {
    Head {
        method: "GET",
        path,
        bearer: Some(format!("Bearer {access}")),
    }
}

/// What the guard does with a GET: `Some(true)` passes with claims, `Some(false)` passes
/// anonymous, `None` refuses; with the status of a refusal.
async fn guard(gate: &TokenGate, path: &'static str, access: &str) -> Result<bool, u16> {
    match gate.route(&get(path, access)) {
        Route::Pass(guarded) => Ok(guarded.verified().is_some()),
        Route::Refuse(response) => Err(response.status),
        Route::Check(pending) => match gate.confirm(pending, &get(path, access)).await {
            Ok(guarded) => Ok(guarded.verified().is_some()),
            Err(response) => Err(response.status),
        },
        Route::Endpoint(_) => panic!("not an endpoint"),
    }
}

#[tokio::test]
async fn a_live_read_that_began_before_a_sign_out_does_not_undo_it() {
    let store = Arc::new(Controlled::default());
    let gate = gate(&store, &[("revocation_cache_ttl", "30s")]);
    let (refresh, access) = sign_in(&gate).await;

    // A request's store read says "live" and is held there...
    let (reached, release) = store.hold_next_read();
    let Route::Check(pending) = gate.route(&get("/api/rest/me", &access)) else {
        panic!("the first request asks the store");
    };
    let in_flight = tokio::spawn({
        let (gate, head) = (gate.clone(), get("/api/rest/me", &access));
        async move { gate.confirm(pending, &head).await.is_ok() }
    });
    reached.await.unwrap();
    // ...while the session is signed out on this instance...
    let (status, _) = post(
        &gate,
        Endpoint::SignOut,
        "/api/rest/signout",
        &format!("token={refresh}"),
    )
    .await;
    assert_eq!(status, 200);
    // ...then the read completes: the request in flight began before the sign-out and passes,
    release.send(()).unwrap();
    assert!(in_flight.await.unwrap());
    // but its "live" must not overwrite the sign-out: every later request is refused.
    assert_eq!(guard(&gate, "/api/rest/me", &access).await, Err(401));
    assert_eq!(guard(&gate, "/api/rest/me", &access).await, Err(401));
}

/// Opens `count` sessions of `ada` straight in the store (`{tag}0`, `{tag}1`...), live for an
/// hour from `now`: a client that signed in that often, without the hashing.
async fn open_sessions(store: &Controlled, count: usize, tag: &str, now: i64) {
    for at in 0..count {
        let session = Session::new(
            &format!("{tag}{at}"),
            "ada",
            None,
            "{}",
            now,
            Some(now + 3_600),
        );
        store.inner.create(session, None).await.unwrap();
    }
}

/// Found in review: with no session limit, a sign-out of all was one store step over every
/// session of the subject (one Redis script over a million keys, one statement over as many
/// rows), however many a client had opened. It is now made of calls of a bounded size, and
/// the caller's own session, which each call checks, ends last.
#[tokio::test]
async fn a_sign_out_of_all_is_made_of_bounded_calls() {
    let store = Arc::new(Controlled::default());
    let gate = gate(&store, &[("max_sessions", "none")]);
    let now = now();
    open_sessions(&store, 1_100, "bulk", now).await;
    let (refresh, access) = sign_in(&gate).await;
    let (status, answer) = post(
        &gate,
        Endpoint::SignOut,
        "/api/rest/signout",
        &format!("token={refresh}&scope=global"),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["sessionsEnded"], 1_101);
    let batches = std::mem::take(&mut *store.batches.lock().unwrap());
    assert!(batches.len() >= 3, "{batches:?}");
    assert!(
        batches
            .iter()
            .all(|(most, ended)| most.is_some_and(|most| *ended <= most && most <= 500)),
        "{batches:?}"
    );
    assert!(store.inner.list("ada", now).await.unwrap().is_empty());
    assert_eq!(guard(&gate, "/api/rest/me", &access).await, Err(401));

    // The same for an operator's sign-out of a subject.
    open_sessions(&store, 600, "again", now).await;
    assert_eq!(gate.revoke_subject("ada").await.unwrap(), 600);
    let batches = std::mem::take(&mut *store.batches.lock().unwrap());
    assert_eq!(batches, [(Some(500), 500), (Some(500), 100)]);
}

/// Found in review: when the caller's session ended between two calls of a sign-out of all
/// (signed out by id from another session of the subject), the next call refused the token
/// and the sign-out answered 200 with most sessions live. The token is checked once, by the
/// first call; what it asked for is carried out to the end.
#[tokio::test]
async fn a_sign_out_of_all_ends_everything_when_its_own_session_ends_midway() {
    let store = Arc::new(Controlled::default());
    let gate = gate(&store, &[("max_sessions", "none")]);
    let now = now();
    open_sessions(&store, 1_100, "bulk", now).await;
    let (refresh, _) = sign_in(&gate).await;
    store
        .end_presenting_after_next
        .store(true, Ordering::SeqCst);
    let (status, answer) = post(
        &gate,
        Endpoint::SignOut,
        "/api/rest/signout",
        &format!("token={refresh}&scope=global"),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert!(store.inner.list("ada", now).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_sign_out_that_fails_ends_nothing_here_either() {
    let store = Arc::new(Controlled::default());
    let gate = gate(&store, &[("revocation_cache_ttl", "30s")]);
    let (refresh, access) = sign_in(&gate).await;
    assert_eq!(guard(&gate, "/api/rest/me", &access).await, Ok(true));

    store.fail_writes.store(true, Ordering::SeqCst);
    for scope in ["local", "global", "others"] {
        let body = format!("token={refresh}&scope={scope}");
        let (status, answer) = post(&gate, Endpoint::SignOut, "/api/rest/signout", &body).await;
        assert_eq!(status, 503, "{scope}: {answer}");
        assert_eq!(answer["error"], "temporarily_unavailable");
        // The answer said it did not happen, and it did not: the session still works here.
        assert_eq!(
            guard(&gate, "/api/rest/me", &access).await,
            Ok(true),
            "{scope}"
        );
    }
    store.fail_writes.store(false, Ordering::SeqCst);
    let (status, _) = post(
        &gate,
        Endpoint::SignOut,
        "/api/rest/signout",
        &format!("token={refresh}"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(guard(&gate, "/api/rest/me", &access).await, Err(401));
}

#[tokio::test]
async fn where_no_token_is_needed_a_revoked_token_or_a_store_down_is_anonymous() {
    let store = Arc::new(Controlled::default());
    let gate = gate(&store, &[("revocation_cache_ttl", "0s")]);
    let (refresh, access) = sign_in(&gate).await;
    assert_eq!(guard(&gate, "/health", &access).await, Ok(true));

    // The store cannot say: a route that needs a token answers 503, a public one stays open.
    store.fail_reads.store(true, Ordering::SeqCst);
    assert_eq!(guard(&gate, "/api/rest/me", &access).await, Err(503));
    assert_eq!(guard(&gate, "/health", &access).await, Ok(false));
    store.fail_reads.store(false, Ordering::SeqCst);

    let (status, _) = post(
        &gate,
        Endpoint::SignOut,
        "/api/rest/signout",
        &format!("token={refresh}"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(guard(&gate, "/api/rest/me", &access).await, Err(401));
    assert_eq!(guard(&gate, "/health", &access).await, Ok(false));

    // Optional mode: nothing needs a token, so nothing is refused for its session.
    let optional = self::gate(&store, &[("mode", "optional")]);
    let (refresh, access) = sign_in(&optional).await;
    let (status, _) = post(
        &optional,
        Endpoint::SignOut,
        "/api/rest/signout",
        &format!("token={refresh}"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(guard(&optional, "/api/rest/me", &access).await, Ok(false));
}

/// A memory counter whose `clear` and `release` fail.
#[derive(Default)]
struct ClearFails(MemoryCounter);

impl AttemptCounter for ClearFails {
    fn reserve<'a>(
        &'a self,
        key: &'a str,
        limit: u32,
        window: u64,
        now: i64,
    ) -> StoreFuture<'a, Reservation> {
        self.0.reserve(key, limit, window, now)
    }
    fn release<'a>(&'a self, _key: &'a str, _ends_at: i64) -> StoreFuture<'a, ()> {
        Box::pin(std::future::ready(Err(StoreError::unreachable(
            "release: down",
        ))))
    }
    fn clear<'a>(&'a self, _key: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(std::future::ready(Err(StoreError::unreachable(
            "clear: down",
        ))))
    }
}

#[tokio::test]
async fn a_sign_in_that_took_effect_is_answered_as_one_when_the_counter_fails_after() {
    let store = Arc::new(Controlled::default());
    let events: Arc<Mutex<Vec<AuditKind>>> = Arc::default();
    let sink = Arc::clone(&events);
    let gate = TokenGate::builder(config(&[]))
        .credentials(
            MemoryDirectory::new()
                .user("ada", &hash_password("pw").unwrap())
                .unwrap(),
        )
        .store(Shared(Arc::clone(&store)))
        .attempt_counter(ClearFails::default())
        .on_audit(move |event: &AuditEvent| sink.lock().unwrap().push(event.kind))
        .build()
        .unwrap();
    let (_, access) = sign_in(&gate).await;
    assert_eq!(store.inner.list("ada", now()).await.unwrap().len(), 1);
    assert!(events.lock().unwrap().contains(&AuditKind::SignIn));
    assert_eq!(guard(&gate, "/api/rest/me", &access).await, Ok(true));
}

/// A runtime built without timers cannot run the body deadline: the endpoint still answers,
/// without one, rather than panic.
#[test]
fn endpoints_answer_on_a_runtime_without_timers() {
    let store = Arc::new(Controlled::default());
    let gate = gate(&store, &[]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for _ in 0..2 {
        let (status, body) = runtime.block_on(post(
            &gate,
            Endpoint::SignIn,
            "/api/rest/signin",
            "login=ada&password=pw",
        ));
        assert_eq!(status, 201, "{body}");
    }
}
