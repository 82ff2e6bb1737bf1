//! A token whose claims do not fit the extractor's type: the client gets 401, the developer a
//! warning naming the type and the claim, once per type, without the token or the claim's
//! value. (One test in its
//! own binary: `tracing` decides per call site, and another test's thread meeting the warning
//! first, with no subscriber, would hide it from this one.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokengate_core::adapter::{extract, RequestHead, Route};
use tokengate_core::credentials::{hash_password, MemoryDirectory};
use tokengate_core::{Config, Endpoint, TokenGate};

const SECRET: &str = "a-claims-test-secret-of-at-least-32-bytes";

struct Head {
    method: &'static str,
    path: &'static str,
    authorization: Option<String>,
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
            "content-type" => Some(b"application/x-www-form-urlencoded".as_slice()),
            "authorization" => self.authorization.as_deref().map(str::as_bytes),
            _ => None,
        }
    }
    fn peer_addr(&self) -> Option<std::net::IpAddr> {
        Some([192, 0, 2, 7].into())
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

#[derive(serde::Deserialize)]
struct Tenant {
    #[allow(dead_code)]
    tenant: String,
}

#[derive(serde::Deserialize)]
struct Level {
    #[allow(dead_code)]
    level: u8,
}

#[tokio::test]
async fn claims_that_do_not_fit_are_a_401_and_one_warning_per_type() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let claims = serde_json::Map::from_iter([("level".to_owned(), "ada-private-value".into())]);
    let users = MemoryDirectory::new()
        .user_with_claims("ada", &hash_password("correct horse").unwrap(), claims)
        .unwrap();
    let gate = TokenGate::builder(Config::default().with_secret(SECRET))
        .credentials(users)
        .build()
        .unwrap();
    let signin = Head {
        method: "POST",
        path: "/api/rest/signin",
        authorization: None,
    };
    let body = [Ok::<_, std::io::Error>(Bytes::from_static(
        b"login=ada&password=correct+horse",
    ))];
    let answer = gate
        .serve(Endpoint::SignIn, &signin, futures_util::stream::iter(body))
        .await;
    assert_eq!(answer.status, 201);
    let tokens: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    let access = tokens["accessToken"].as_str().unwrap().to_owned();
    let me = Head {
        method: "GET",
        path: "/api/rest/me",
        authorization: Some(format!("Bearer {access}")),
    };
    let Route::Pass(guarded) = gate.route(&me) else {
        panic!("a valid token was not let through");
    };

    for _ in 0..3 {
        let refused = extract::required::<Tenant>(Some(&guarded)).err();
        assert_eq!(refused.map(|r| r.status), Some(401));
        assert!(matches!(
            extract::optional::<Tenant>(Some(&guarded)),
            Ok(None)
        ));
    }
    let refused = extract::required::<Level>(Some(&guarded)).err();
    assert_eq!(refused.map(|r| r.status), Some(401));
    let plain = extract::required::<()>(Some(&guarded)).expect("claims of no extra type fit");
    assert_eq!(plain.sub, "ada");

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let warnings = |name: &str| {
        text.lines()
            .filter(|line| line.contains("WARN") && line.contains(name))
            .count()
    };
    assert_eq!(warnings("claims_misfit::Tenant"), 1, "{text}");
    assert_eq!(warnings("claims_misfit::Level"), 1, "{text}");
    assert!(text.contains("missing field `tenant`"), "{text}");
    assert!(
        text.contains("`level`: invalid type, expected u8"),
        "{text}"
    );
    assert!(
        !text.contains("ada-private-value"),
        "a claim's value is never logged: {text}"
    );
    assert!(!text.contains(&access), "the token is never logged: {text}");
}
