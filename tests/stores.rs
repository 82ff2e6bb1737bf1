//! The stores against failure and restarts: a Redis that goes down mid-run and comes back,
//! two instances sharing one Redis, and a SQLite file that outlives its server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

mod support;

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{start, test_secret, Adapter};

/// A redis-server of our own on a free port, with its data on disk so that a restart keeps it.
struct Redis {
    port: u16,
    dir: std::path::PathBuf,
    child: Option<Child>,
}

impl Redis {
    fn start() -> Self {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let dir = std::env::temp_dir().join(format!("tokengate-redis-{}", test_secret()));
        std::fs::create_dir_all(&dir).expect("a data directory");
        let mut redis = Self {
            port,
            dir,
            child: None,
        };
        redis.resume();
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn resume(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (scripts/test-deps.sh installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn store_down_and_back(adapter: Adapter) {
    let mut redis = Redis::start();
    let url = redis.url();
    let store = [
        ("TOKENGATE_STORE", url.as_str()),
        ("TOKENGATE_STORE_PREFIX", "shared"),
    ];
    let server = start(adapter, &store).await;
    let strict_env = [
        ("TOKENGATE_STORE", url.as_str()),
        ("TOKENGATE_STORE_PREFIX", "shared"),
        ("TOKENGATE_STRICT_REVOCATION", "true"),
        ("TOKENGATE_REVOCATION_CACHE_TTL", "0s"),
        ("TOKENGATE_SECRET", server.secret.as_str()),
    ];
    let strict = start(adapter, &strict_env).await;
    let before = server.signin(&[]).await.tokens();
    strict.me(&before.access).await.expect(200);

    redis.stop();
    server
        .signin(&[])
        .await
        .expect(503)
        .error("temporarily_unavailable");
    server.refresh(&before.refresh).await.expect(503);
    server.signout(&before.refresh, &[]).await.expect(503);
    // The guard needs no store: routes keep working with the tokens already out.
    server.me(&before.access).await.expect(200);
    // A strict guard cannot tell, so it does not let the token through...
    strict.me(&before.access).await.expect(503);
    // ...where a token is needed. A public route stays open, the token taken as none.
    let bearer = format!("Bearer {}", before.access);
    strict
        .get("/health", &[("authorization", bearer.as_str())])
        .await
        .expect(200);

    redis.resume();
    let deadline = Instant::now() + Duration::from_secs(15);
    let after = loop {
        let reply = server.signin(&[]).await;
        if reply.status == 201 {
            break reply.tokens();
        }
        assert_eq!(reply.status, 503, "{}", reply.text());
        assert!(Instant::now() < deadline, "the store did not come back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    server.refresh(&before.refresh).await.tokens();
    strict.me(&after.access).await.expect(200);
    // Nothing half-written: exactly the two sign-ins that succeeded hold sessions.
    let auth = format!("Bearer {}", after.access);
    let sessions = server
        .get("/api/rest/sessions", &[("authorization", &auth)])
        .await
        .json();
    assert_eq!(
        sessions["sessions"].as_array().map(Vec::len),
        Some(2),
        "{sessions}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_answers_503_while_redis_is_down_and_recovers() {
    store_down_and_back(Adapter::AxumRedis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_answers_503_while_redis_is_down_and_recovers() {
    store_down_and_back(Adapter::ActixRedis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_sessions_through_redis() {
    let redis = Redis::start();
    let url = redis.url();
    let first = start(
        Adapter::AxumRedis,
        &[
            ("TOKENGATE_STORE", url.as_str()),
            ("TOKENGATE_STORE_PREFIX", "shared"),
        ],
    )
    .await;
    let env = [
        ("TOKENGATE_STORE", url.as_str()),
        ("TOKENGATE_STORE_PREFIX", "shared"),
        ("TOKENGATE_SECRET", first.secret.as_str()),
    ];
    let second = start(Adapter::ActixRedis, &env).await;
    let tokens = first.signin(&[]).await.tokens();
    second.refresh(&tokens.refresh).await.tokens();
    second.signout(&tokens.refresh, &[]).await.expect(200);
    first.refresh(&tokens.refresh).await.invalid_token();
    // Throttling is shared too: failures on one count on the other.
    let wrong = [("login", "mallory@example.org"), ("password", "x")];
    for (attempt, server) in [&first, &second].iter().cycle().take(11).enumerate() {
        let reply = server
            .post("/api/rest/signin", support::Body::Form(&wrong), &[])
            .await;
        assert_eq!(
            reply.status,
            if attempt < 10 { 401 } else { 429 },
            "attempt {attempt}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sessions_outlive_their_server() {
    let path = std::env::temp_dir().join(format!("tokengate-restart-{}.db", test_secret()));
    let store = format!("sqlite://{}", path.display());
    let server = start(Adapter::Axum, &[("TOKENGATE_STORE", store.as_str())]).await;
    let secret = server.secret.clone();
    let daily = server.signin(&[]).await.tokens();
    let unlimited = server.signin(&[("exp", "unlimited")]).await.tokens();
    let revoked = server.signin(&[]).await.tokens();
    server.signout(&revoked.refresh, &[]).await.expect(200);
    drop(server);

    let env = [
        ("TOKENGATE_STORE", store.as_str()),
        ("TOKENGATE_SECRET", secret.as_str()),
    ];
    let restarted = start(Adapter::Actix, &env).await;
    restarted.refresh(&daily.refresh).await.tokens();
    restarted.refresh(&unlimited.refresh).await.tokens();
    restarted.refresh(&revoked.refresh).await.invalid_token();
    drop(restarted);
    let _ = std::fs::remove_file(&path);
}

/// Strict revocation across instances: a sign-out on one is refused on the other within
/// `revocation_cache_ttl`, and at once on the one that signed out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strict_sign_out_reaches_the_other_instance_within_the_cache_ttl() {
    let redis = Redis::start();
    let url = redis.url();
    let first = start(
        Adapter::AxumRedis,
        &[
            ("TOKENGATE_STORE", url.as_str()),
            ("TOKENGATE_STORE_PREFIX", "shared"),
            ("TOKENGATE_STRICT_REVOCATION", "true"),
            ("TOKENGATE_REVOCATION_CACHE_TTL", "2s"),
        ],
    )
    .await;
    let env = [
        ("TOKENGATE_STORE", url.as_str()),
        ("TOKENGATE_STORE_PREFIX", "shared"),
        ("TOKENGATE_STRICT_REVOCATION", "true"),
        ("TOKENGATE_REVOCATION_CACHE_TTL", "2s"),
        ("TOKENGATE_SECRET", first.secret.as_str()),
    ];
    let second = start(Adapter::ActixRedis, &env).await;
    let tokens = first.signin(&[]).await.tokens();
    // The second instance has looked at the session and remembers it live.
    second.me(&tokens.access).await.expect(200);
    first.signout(&tokens.refresh, &[]).await.expect(200);
    let signed_out = Instant::now();
    first.me(&tokens.access).await.invalid_token();
    loop {
        let reply = second.me(&tokens.access).await;
        if reply.status == 401 {
            reply.invalid_token();
            break;
        }
        reply.expect(200);
        assert!(
            signed_out.elapsed() < Duration::from_millis(2_500),
            "still accepted {:?} after the sign-out",
            signed_out.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A sign-out that answers 503 because Redis is down has ended nothing, on this instance
/// either: the strict guard still takes the token (from its memory of the session), and the
/// sign-out works once Redis is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strict_sign_out_that_answers_503_ends_nothing() {
    let mut redis = Redis::start();
    let url = redis.url();
    let env = [
        ("TOKENGATE_STORE", url.as_str()),
        ("TOKENGATE_STRICT_REVOCATION", "true"),
        ("TOKENGATE_REVOCATION_CACHE_TTL", "60s"),
    ];
    for adapter in [Adapter::AxumRedis, Adapter::ActixRedis] {
        let server = start(adapter, &env).await;
        let tokens = server.signin(&[]).await.tokens();
        server.me(&tokens.access).await.expect(200);
        redis.stop();
        for scope in ["local", "global"] {
            server
                .signout(&tokens.refresh, &[("scope", scope)])
                .await
                .expect(503)
                .error("temporarily_unavailable");
            server.me(&tokens.access).await.expect(200);
        }
        redis.resume();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let reply = server.signout(&tokens.refresh, &[]).await;
            if reply.status == 200 {
                break;
            }
            reply.expect(503);
            assert!(Instant::now() < deadline, "the store did not come back");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        server.me(&tokens.access).await.invalid_token();
    }
}

/// The same on SQLite: another connection holds the database's write lock past the store's
/// busy timeout, so the sign-out fails with 503, and it has ended nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strict_sign_out_that_sqlite_cannot_write_ends_nothing() {
    let path = std::env::temp_dir().join(format!("tokengate-locked-{}.db", test_secret()));
    let store = format!("sqlite://{}", path.display());
    let env = [
        ("TOKENGATE_STORE", store.as_str()),
        ("TOKENGATE_STRICT_REVOCATION", "true"),
        ("TOKENGATE_REVOCATION_CACHE_TTL", "60s"),
    ];
    for adapter in [Adapter::AxumSqlite, Adapter::ActixSqlite] {
        let server = start(adapter, &env).await;
        let tokens = server.signin(&[]).await.tokens();
        server.me(&tokens.access).await.expect(200);
        let locker = rusqlite::Connection::open(&path).expect("a second connection");
        locker
            .execute_batch("BEGIN EXCLUSIVE")
            .expect("the write lock");
        server
            .signout(&tokens.refresh, &[])
            .await
            .expect(503)
            .error("temporarily_unavailable");
        server.me(&tokens.access).await.expect(200);
        locker.execute_batch("COMMIT").expect("the lock given back");
        drop(locker);
        server.signout(&tokens.refresh, &[]).await.expect(200);
        server.me(&tokens.access).await.invalid_token();
    }
    let _ = std::fs::remove_file(&path);
}
