//! How many sessions a subject holds, and how many one listing shows.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use tokengate_core::adapter::RequestHead;
use tokengate_core::credentials::{hash_password, MemoryDirectory};
use tokengate_core::{Config, Endpoint, TokenGate};

const SECRET: &str = "a-sessions-test-secret-of-at-least-32-bytes";

struct Head {
    method: &'static str,
    path: &'static str,
    authorization: Option<String>,
}

impl RequestHead for Head {
    fn method(&self) -> &'static str {
        self.method
    }
    fn path(&self) -> &'static str {
        self.path
    }
    fn header(&self, name: &str) -> Option<&[u8]> {
        match name {
            "content-type" => Some(b"application/x-www-form-urlencoded".as_slice()),
            "authorization" => self.authorization.as_deref().map(str::as_bytes),
            _ => None,
        }
    }
}

fn gate(settings: &[(&str, &str)]) -> TokenGate {
    let mut pairs = vec![("TOKENGATE_SECRET", SECRET)];
    pairs.extend_from_slice(settings);
    let config = Config::from_sources(None, "default", pairs).unwrap();
    let directory = MemoryDirectory::new()
        .user("ada", &hash_password("pw").unwrap())
        .unwrap();
    TokenGate::builder(config)
        .credentials(directory)
        .build()
        .unwrap()
}

async fn sign_in(gate: &TokenGate) -> String {
    let head = Head {
        method: "POST",
        path: "/api/rest/signin",
        authorization: None,
    };
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(
        "login=ada&password=pw",
    ))]);
    let response = gate.serve(Endpoint::SignIn, &head, body).await;
    assert_eq!(response.status, 201);
    let tokens: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    tokens["accessToken"].as_str().unwrap().to_owned()
}

async fn listed(gate: &TokenGate, access: &str) -> serde_json::Value {
    let head = Head {
        method: "GET",
        path: "/api/rest/sessions",
        authorization: Some(format!("Bearer {access}")),
    };
    let body = futures_util::stream::empty::<Result<Bytes, std::io::Error>>();
    let response = gate.serve(Endpoint::ListSessions, &head, body).await;
    assert_eq!(response.status, 200);
    serde_json::from_slice(&response.body).unwrap()
}

/// Attack: 130 sign-ins of one user left 130 live sessions, all listed at once. Sessions per
/// subject are bounded by default (100), and a listing shows at most 100 even where the
/// limit is switched off, with the total beside them.
#[tokio::test]
async fn sessions_per_subject_are_bounded_and_listed_in_bounded_answers() {
    let bounded = gate(&[]);
    let mut access = String::new();
    for _ in 0..103 {
        access = sign_in(&bounded).await;
    }
    let body = listed(&bounded, &access).await;
    assert_eq!(body["total"], 100, "{body}");
    assert_eq!(body["sessions"].as_array().unwrap().len(), 100);

    let unbounded = gate(&[("TOKENGATE_MAX_SESSIONS", "none")]);
    for _ in 0..105 {
        access = sign_in(&unbounded).await;
    }
    let body = listed(&unbounded, &access).await;
    assert_eq!(body["total"], 105, "{body}");
    let sessions = body["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 100);
    assert_eq!(sessions[0]["current"], true, "the caller's own comes first");
}
