//! The metrics: each counter moves with its event, by exactly as much, on both adapters; the
//! exposition at `metrics_path` is public, or needs a token with `metrics_scope`; and no label
//! or value names a user or a token.
//!
//! One test binary of its own, and one test: the recorder is the process's, so nothing else
//! may sign in while a count is taken.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

mod support;

use std::collections::BTreeMap;

use serde_json::json;
use support::{demo, start, Adapter, Body, Server};

/// One sample of the exposition: its labels, and its value.
type Samples = Vec<(String, BTreeMap<String, String>, f64)>;

/// The samples of an exposition in the text format (enough of it for our own metrics).
fn parse(text: &str) -> Samples {
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("a sample line");
        let value: f64 = value.parse().expect("a number");
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let inner = rest.strip_suffix('}').expect("closed labels");
                let labels = inner
                    .split(',')
                    .filter(|pair| !pair.is_empty())
                    .map(|pair| {
                        let (key, value) = pair.split_once('=').expect("label=value");
                        (key.to_owned(), value.trim_matches('"').to_owned())
                    })
                    .collect();
                (name.to_owned(), labels)
            }
            None => (series.to_owned(), BTreeMap::new()),
        };
        samples.push((name, labels, value));
    }
    samples
}

/// The value of `name` with exactly these labels; 0 when absent (a counter not yet moved).
fn value(samples: &Samples, name: &str, labels: &[(&str, &str)]) -> f64 {
    let wanted: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    samples
        .iter()
        .find(|(n, l, _)| n == name && *l == wanted)
        .map_or(0.0, |(_, _, v)| *v)
}

async fn scrape(server: &Server) -> Samples {
    let reply = server.get("/metrics", &[]).await;
    reply.expect(200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    parse(&reply.text())
}

/// A metric, its labels, and how much an event moves it.
type Moved<'a> = (&'a str, &'a [(&'a str, &'a str)], f64);

/// Runs `event`, then asserts that each `(name, labels)` moved by its amount.
async fn moves<F: std::future::Future<Output = ()>>(
    server: &Server,
    what: &str,
    event: F,
    expected: &[Moved<'_>],
) {
    let before = scrape(server).await;
    event.await;
    let after = scrape(server).await;
    for (name, labels, delta) in expected {
        let moved = value(&after, name, labels) - value(&before, name, labels);
        assert!(
            (moved - delta).abs() < 1e-9,
            "{what}: {name}{labels:?} moved by {moved}, expected {delta}"
        );
    }
}

const SIGNINS: &str = "tokengate_signins_total";
const REFRESHES: &str = "tokengate_refreshes_total";
const REUSE: &str = "tokengate_refresh_reuse_total";
const SIGNOUTS: &str = "tokengate_signouts_total";
const REFUSALS: &str = "tokengate_guard_refusals_total";
const CACHE: &str = "tokengate_verify_cache_total";
const STORE_COUNT: &str = "tokengate_store_operation_seconds_count";
const STORE_ERRORS: &str = "tokengate_store_errors_total";

async fn wrong_password(server: &Server, login: &str) -> u16 {
    server
        .post(
            "/api/rest/signin",
            Body::Form(&[("login", login), ("password", "not-the-password")]),
            &[],
        )
        .await
        .status
}

async fn every_counter_moves(adapter: Adapter) {
    let server = start(
        adapter,
        &[
            ("TOKENGATE_ROTATION", "true"),
            ("TOKENGATE_REUSE_GRACE", "0s"),
            ("TOKENGATE_VERIFY_CACHE", "true"),
            ("TOKENGATE_THROTTLE_PER_LOGIN", "2"),
        ],
    )
    .await;
    let outcome = |word| [("method", "password"), ("outcome", word)];

    let mut tokens = None;
    moves(
        &server,
        "a sign-in",
        async { tokens = Some(server.signin(&[]).await.tokens()) },
        &[
            (SIGNINS, &outcome("success"), 1.0),
            (
                STORE_COUNT,
                &[("store", "memory"), ("operation", "create")],
                1.0,
            ),
            // One reservation per login, one per address.
            (
                STORE_COUNT,
                &[("store", "memory"), ("operation", "reserve")],
                2.0,
            ),
        ],
    )
    .await;
    let tokens = tokens.unwrap();

    moves(
        &server,
        "wrong passwords, then throttled",
        async {
            assert_eq!(wrong_password(&server, "nobody@example.org").await, 401);
            assert_eq!(wrong_password(&server, "nobody@example.org").await, 401);
            assert_eq!(wrong_password(&server, "nobody@example.org").await, 429);
        },
        &[
            (SIGNINS, &outcome("wrong_credentials"), 2.0),
            (SIGNINS, &outcome("throttled"), 1.0),
            (SIGNINS, &outcome("success"), 0.0),
        ],
    )
    .await;

    moves(
        &server,
        "a bad request",
        async {
            let reply = server
                .post("/api/rest/signin", Body::Form(&[("login", "x")]), &[])
                .await;
            assert_eq!(reply.status, 400);
        },
        &[(SIGNINS, &outcome("refused"), 1.0)],
    )
    .await;

    // The verified-token cache: a miss, then a hit for the same token.
    moves(
        &server,
        "a token verified, then found in the cache",
        async {
            server.me(&tokens.access).await.expect(200);
            server.me(&tokens.access).await.expect(200);
        },
        &[
            (CACHE, &[("result", "miss")], 1.0),
            (CACHE, &[("result", "hit")], 1.0),
        ],
    )
    .await;

    // Refreshes; with rotation and no grace, the replaced token again is reuse.
    let mut rotated = None;
    moves(
        &server,
        "a refresh, then reuse of the replaced token",
        async {
            rotated = Some(server.refresh(&tokens.refresh).await.tokens());
            // The grace is `0s`, in whole seconds: the replaced token, a second later, is
            // reuse.
            tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
            server.refresh(&tokens.refresh).await.invalid_token();
            server.refresh("not-a-token").await;
        },
        &[
            (REFRESHES, &[("outcome", "success")], 1.0),
            (REFRESHES, &[("outcome", "refused")], 2.0),
            (REUSE, &[], 1.0),
        ],
    )
    .await;
    // Reuse ended that session: the rotated token is refused too.
    server.refresh(&rotated.unwrap().refresh).await.expect(401);

    // The guard's refusals, by reason.
    let mut old_claims = support::claims_of(&tokens.access);
    old_claims["iat"] = json!(1);
    old_claims["exp"] = json!(2);
    let expired = server.forge(&support::header_of(&tokens.access), &old_claims);
    moves(
        &server,
        "the guard's refusals",
        async {
            server.get("/api/rest/me", &[]).await.expect(401);
            server.me("garbage").await.expect(401);
            server.me(&expired).await.expect(401);
            let claims = support::claims_of(&tokens.access);
            let header = support::header_of(&tokens.access);
            let foreign =
                support::sign_hs256(b"another-secret-of-at-least-32-bytes!", &header, &claims);
            server.me(&foreign).await.expect(401);
        },
        &[
            (REFUSALS, &[("reason", "missing_token")], 1.0),
            (REFUSALS, &[("reason", "malformed")], 1.0),
            (REFUSALS, &[("reason", "expired")], 1.0),
            (REFUSALS, &[("reason", "bad_signature")], 1.0),
        ],
    )
    .await;

    // Sign-outs, by scope.
    let one = server.signin(&[]).await.tokens();
    let two = server.signin(&[]).await.tokens();
    let three = server.signin(&[]).await.tokens();
    let sid = support::claims_of(&two.refresh)["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    moves(
        &server,
        "sign-outs",
        async {
            server
                .delete(
                    &format!("/api/rest/sessions/{sid}"),
                    &[("authorization", &format!("Bearer {}", one.access))],
                )
                .await
                .expect(200);
            server.signout(&one.refresh, &[]).await.expect(200);
            server
                .signout(&three.refresh, &[("scope", "global")])
                .await
                .expect(200);
        },
        &[
            (SIGNOUTS, &[("scope", "session")], 1.0),
            (SIGNOUTS, &[("scope", "local")], 1.0),
            (SIGNOUTS, &[("scope", "global")], 1.0),
        ],
    )
    .await;

    // No label or value names the user, a session or a token.
    let text = server.get("/metrics", &[]).await.text();
    for secret in [demo::USER.0, &tokens.refresh, &tokens.access, &sid] {
        assert!(!text.contains(secret), "the exposition names {secret}");
    }
    for line in text.lines().filter(|line| line.starts_with("tokengate_")) {
        assert!(!line.contains('@'), "{line}");
    }
}

/// A store that does not answer: the sign-in says 503, and the metrics say why.
async fn store_down_is_counted(adapter: Adapter) {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://127.0.0.1:{port}/0");
    let server = start(adapter, &[("TOKENGATE_STORE", &url)]).await;
    moves(
        &server,
        "a sign-in with the store down",
        async {
            let reply = server.signin(&[]).await;
            assert_eq!(reply.status, 503, "{}", reply.text());
        },
        &[
            (
                SIGNINS,
                &[("method", "password"), ("outcome", "store_down")],
                1.0,
            ),
            (
                STORE_ERRORS,
                &[("store", "redis"), ("operation", "reserve")],
                1.0,
            ),
        ],
    )
    .await;
    drop(server);
}

/// `metrics_scope`: a token with the scope reads the metrics; none, or one without it, not.
/// Paths that are not exactly `metrics_path` are not the metrics.
async fn the_exposition_is_guarded_by_its_scope(adapter: Adapter) {
    let server = start(
        adapter,
        &[
            ("TOKENGATE_METRICS_SCOPE", "read"),
            ("TOKENGATE_STRICT_REVOCATION", "true"),
        ],
    )
    .await;
    server.get("/metrics", &[]).await.expect(401);
    let user = server.signin(&[]).await.tokens();
    let bearer = |token: &str| format!("Bearer {token}");
    server
        .get("/metrics", &[("authorization", &bearer(&user.access))])
        .await
        .expect(403);
    let app = server
        .post(
            "/api/rest/signin",
            Body::Form(&[
                ("login", demo::APPLICATION.1),
                ("password", demo::APPLICATION.2),
                ("application", demo::APPLICATION.0),
            ]),
            &[],
        )
        .await
        .tokens();
    let reply = server
        .get("/metrics", &[("authorization", &bearer(&app.access))])
        .await;
    reply.expect(200);
    assert!(reply.text().contains("tokengate_signins_total"));
    // A query string does not change the path; HEAD answers as GET does, without the body.
    let queried = server
        .get("/metrics?x=1", &[("authorization", &bearer(&app.access))])
        .await;
    queried.expect(200);
    assert!(queried.text().contains("tokengate_signins_total"));
    let headed = server
        .request(
            "HEAD",
            "/metrics",
            Body::None,
            &[("authorization", &bearer(&app.access))],
        )
        .await;
    headed.expect(200);
    assert!(headed.body.is_empty());
    // Strict revocation holds here too: once its session is signed out, the token is refused.
    server.signout(&app.refresh, &[]).await.expect(200);
    server
        .get("/metrics", &[("authorization", &bearer(&app.access))])
        .await
        .invalid_token();
    // Another method is refused; other spellings of the path are guarded routes, not it.
    let posted = server.post("/metrics", Body::None, &[]).await;
    assert_eq!(posted.status, 405);
    for other in [
        "/metrics/",
        "//metrics",
        "/%6Detrics",
        "/METRICS",
        "/metrics/x",
    ] {
        let reply = server.get(other, &[]).await;
        assert!(
            !reply.text().contains("tokengate_"),
            "{other} answered the metrics: {}",
            reply.status
        );
    }
}

/// A burst of sign-ins past a queue of one: each refusal is counted as `busy` and as rejected,
/// each sign-in that got a hashing slot as a wait.
async fn a_full_hash_queue_is_counted(adapter: Adapter) {
    let server = start(adapter, &[("TOKENGATE_HASH_QUEUE_DEPTH", "1")]).await;
    let before = scrape(&server).await;
    let burst = (0..12).map(|_| server.signin(&[]));
    let statuses: Vec<u16> = futures_util::future::join_all(burst)
        .await
        .iter()
        .map(|reply| reply.status)
        .collect();
    let after = scrape(&server).await;
    let busy = statuses.iter().filter(|status| **status == 503).count();
    let admitted = statuses.iter().filter(|status| **status == 201).count();
    assert_eq!(busy + admitted, statuses.len(), "{statuses:?}");
    let moved = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels) - value(&before, name, labels)
    };
    // Counts are whole numbers, exact in an f64.
    let count = |n: usize| i64::try_from(n).unwrap();
    #[allow(clippy::cast_possible_truncation)]
    let whole = |value: f64| value.round() as i64;
    assert_eq!(
        whole(moved(
            SIGNINS,
            &[("method", "password"), ("outcome", "busy")]
        )),
        count(busy)
    );
    assert_eq!(
        whole(moved("tokengate_password_hash_rejected_total", &[])),
        count(busy)
    );
    assert_eq!(
        whole(moved("tokengate_password_hash_wait_seconds_count", &[])),
        count(admitted)
    );
    assert!(admitted >= 1, "{statuses:?}");
    // Nothing waits or hashes once the burst is answered.
    assert_eq!(
        whole(value(&after, "tokengate_password_hash_queue_depth", &[])),
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn each_counter_moves_with_its_event_on_both_adapters() {
    for adapter in [Adapter::Axum, Adapter::Actix] {
        every_counter_moves(adapter).await;
        store_down_is_counted(adapter).await;
        the_exposition_is_guarded_by_its_scope(adapter).await;
        a_full_hash_queue_is_counted(adapter).await;
    }
}
