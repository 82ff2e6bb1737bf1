//! What an application's wiring is told: a server that gives no peer address is warned about
//! (per-address throttling cannot apply), and the error hook sees the request it answers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokengate_core::adapter::{RequestHead, Route};
use tokengate_core::credentials::{hash_password, MemoryDirectory};
use tokengate_core::{Config, Endpoint, TokenGate};

const SECRET: &str = "a-wiring-test-secret-of-at-least-32-bytes";

/// A request without a peer address, as axum gives one served without `ConnectInfo`.
struct Request {
    method: &'static str,
    path: &'static str,
    id: &'static str,
}

impl RequestHead for Request {
    fn method(&self) -> &str {
        self.method
    }
    fn path(&self) -> &str {
        self.path
    }
    fn header(&self, name: &str) -> Option<&[u8]> {
        match name {
            "content-type" => Some(b"application/x-www-form-urlencoded"),
            "x-request-id" => Some(self.id.as_bytes()),
            _ => None,
        }
    }
}

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

fn gate() -> TokenGate {
    let directory = MemoryDirectory::new()
        .user("ada", &hash_password("pw").unwrap())
        .unwrap();
    TokenGate::builder(Config::default().with_secret(SECRET))
        .credentials(directory)
        .on_error(|_, head, mut response| {
            let id = head.and_then(|head| head.header("x-request-id"));
            if let Some(id) = id.and_then(|id| std::str::from_utf8(id).ok()) {
                response.set_header("x-request-id", id.to_owned()).unwrap();
            }
            response
        })
        .build()
        .unwrap()
}

async fn signin(gate: &TokenGate, body: &'static str, id: &'static str) -> u16 {
    let head = Request {
        method: "POST",
        path: "/api/rest/signin",
        id,
    };
    let body =
        futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(body.as_bytes()))]);
    gate.serve(Endpoint::SignIn, &head, body).await.status
}

#[tokio::test]
async fn a_request_without_a_peer_address_is_warned_about_once() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let gate = gate();
    assert_eq!(signin(&gate, "login=ada&password=pw", "r1").await, 201);
    assert_eq!(signin(&gate, "login=ada&password=pw", "r2").await, 201);
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert_eq!(
        logs.matches("into_make_service_with_connect_info").count(),
        1,
        "{logs}"
    );
}

#[tokio::test]
async fn the_error_hook_sees_the_request_it_answers() {
    let gate = gate();
    // An endpoint's refusal...
    let head = Request {
        method: "POST",
        path: "/api/rest/signin",
        id: "req-7",
    };
    let body =
        futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"login=ada"))]);
    let response = gate.serve(Endpoint::SignIn, &head, body).await;
    assert_eq!(response.status, 400);
    assert_eq!(header(&response, "x-request-id"), Some("req-7"));
    // ...and the guard's.
    let head = Request {
        method: "GET",
        path: "/api/rest/me",
        id: "req-8",
    };
    let Route::Refuse(response) = gate.route(&head) else {
        panic!("a request without a token passed");
    };
    assert_eq!(response.status, 401);
    assert_eq!(header(&response, "x-request-id"), Some("req-8"));
}

fn header<'a>(response: &'a tokengate_core::Response, name: &str) -> Option<&'a str> {
    response
        .headers()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}
