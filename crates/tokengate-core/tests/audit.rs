//! Audit events: each endpoint emits its event, to the hook and to `tokengate::audit`, and
//! neither ever carries a token, a password or a secret.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokengate_core::adapter::RequestHead;
use tokengate_core::audit::{AuditEvent, AuditKind};
use tokengate_core::credentials::{hash_password, MemoryDirectory};
use tokengate_core::{Config, Endpoint, TokenGate};

const SECRET: &str = "an-audit-test-secret-of-at-least-32-bytes";
const PASSWORD: &str = "correct horse battery staple";

struct Post {
    path: &'static str,
}

impl RequestHead for Post {
    fn method(&self) -> &'static str {
        "POST"
    }
    fn path(&self) -> &str {
        self.path
    }
    fn header(&self, name: &str) -> Option<&[u8]> {
        (name == "content-type").then_some(b"application/x-www-form-urlencoded".as_slice())
    }
    fn peer_addr(&self) -> Option<std::net::IpAddr> {
        Some([192, 0, 2, 7].into())
    }
}

/// Everything `tracing` writes, captured.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn post(
    gate: &TokenGate,
    endpoint: Endpoint,
    path: &'static str,
    body: &str,
) -> (u16, serde_json::Value) {
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(body.to_owned()))]);
    let response = gate.serve(endpoint, &Post { path }, body).await;
    let json = serde_json::from_slice(&response.body).unwrap_or_default();
    (response.status, json)
}

#[tokio::test]
async fn every_endpoint_is_audited_without_secrets() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let events: Arc<Mutex<Vec<AuditEvent>>> = Arc::default();
    let sink = events.clone();
    let config = Config::default().with_secret(SECRET).with_throttle(2, 100);
    let gate = TokenGate::builder(config)
        .credentials(
            MemoryDirectory::new()
                .user("ada", &hash_password(PASSWORD).unwrap())
                .unwrap(),
        )
        .on_audit(move |event| sink.lock().unwrap().push(event.clone()))
        .build()
        .unwrap();

    let signin = format!("login=ada&password={}", PASSWORD.replace(' ', "+"));
    let (status, tokens) = post(&gate, Endpoint::SignIn, "/api/rest/signin", &signin).await;
    assert_eq!(status, 201);
    let refresh = tokens["refreshToken"].as_str().unwrap().to_owned();
    let access = tokens["accessToken"].as_str().unwrap().to_owned();
    let token = format!("token={refresh}");
    assert_eq!(
        post(&gate, Endpoint::Refresh, "/api/rest/token", &token)
            .await
            .0,
        201
    );
    assert_eq!(
        post(&gate, Endpoint::SignOut, "/api/rest/signout", &token)
            .await
            .0,
        200
    );
    for _ in 0..2 {
        let wrong = "login=ada&password=wrong-password-attempt";
        assert_eq!(
            post(&gate, Endpoint::SignIn, "/api/rest/signin", wrong)
                .await
                .0,
            401
        );
    }
    let (status, _) = post(&gate, Endpoint::SignIn, "/api/rest/signin", &signin).await;
    assert_eq!(
        status, 429,
        "the right password is throttled too once the limit is reached"
    );

    let events = events.lock().unwrap().clone();
    let kinds: Vec<AuditKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            AuditKind::SignIn,
            AuditKind::Refresh,
            AuditKind::SignOut,
            AuditKind::SignInFailed,
            AuditKind::SignInFailed,
            AuditKind::Throttled,
        ]
    );
    let session = events[0].session.clone().unwrap();
    for event in &events {
        assert_eq!(event.subject.as_deref(), Some("ada"));
        assert_eq!(event.client, Some([192, 0, 2, 7].into()));
    }
    for event in &events[..3] {
        assert_eq!(event.session.as_deref(), Some(session.as_str()));
    }
    assert_eq!(events[2].sessions_ended, Some(1));

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for event in ["signin", "refresh", "signout", "signin_failed", "throttled"] {
        assert!(
            log.contains(&format!("event=\"{event}\"")),
            "no `{event}` in:\n{log}"
        );
    }
    assert!(log.contains("tokengate::audit"));
    let everything = format!("{log}\n{events:?}");
    for secret in [
        PASSWORD,
        "wrong-password-attempt",
        SECRET,
        &refresh,
        &access,
    ] {
        assert!(
            !everything.contains(secret),
            "a secret leaked into the audit trail"
        );
    }
    // Not even a piece of a token: their signatures are the part that must never show.
    for token in [&refresh, &access] {
        let signature = token.rsplit('.').next().unwrap();
        assert!(!everything.contains(signature));
    }
}
