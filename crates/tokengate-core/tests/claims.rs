//! Claims that stay true: the claims hook adds claims computed elsewhere at sign-in and at each
//! refresh, and its failure is a 503, never a token without them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use tokengate_core::adapter::RequestHead;
use tokengate_core::credentials::{hash_password, CredentialsError, MemoryDirectory};
use tokengate_core::{Config, Endpoint, TokenGate};

const SECRET: &str = "a-claims-test-secret-of-at-least-32-bytes";

struct Post(&'static str);

impl RequestHead for Post {
    fn method(&self) -> &'static str {
        "POST"
    }
    fn path(&self) -> &str {
        self.0
    }
    fn header(&self, name: &str) -> Option<&[u8]> {
        (name == "content-type").then_some(b"application/x-www-form-urlencoded".as_slice())
    }
}

async fn post(
    gate: &TokenGate,
    endpoint: Endpoint,
    path: &'static str,
    body: String,
) -> (u16, serde_json::Value) {
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(body))]);
    let response = gate.serve(endpoint, &Post(path), body).await;
    (
        response.status,
        serde_json::from_slice(&response.body).unwrap_or_default(),
    )
}

fn claims_of(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn the_claims_hook_runs_at_signin_and_at_each_refresh() {
    let calls = Arc::new(AtomicU32::new(0));
    let failing = Arc::new(AtomicBool::new(false));
    let (counted, fails) = (calls.clone(), failing.clone());
    let directory = MemoryDirectory::new()
        .user("ada@example.org", &hash_password("pw").unwrap())
        .unwrap();
    let gate = TokenGate::builder(Config::default().with_secret(SECRET))
        .credentials(directory)
        .claims_hook(move |principal| {
            let call = counted.fetch_add(1, Ordering::SeqCst) + 1;
            let tenant = principal.subject.split('@').nth(1).unwrap_or("").to_owned();
            let fail = fails.load(Ordering::SeqCst);
            Box::pin(async move {
                if fail {
                    return Err(CredentialsError("tenant service down".to_owned()));
                }
                let mut claims = serde_json::Map::new();
                claims.insert("tenant".into(), tenant.into());
                claims.insert("call".into(), call.into());
                Ok(claims)
            })
        })
        .build()
        .unwrap();

    let (status, tokens) = post(
        &gate,
        Endpoint::SignIn,
        "/api/rest/signin",
        "login=ada%40example.org&password=pw".into(),
    )
    .await;
    assert_eq!(status, 201);
    let access = claims_of(tokens["accessToken"].as_str().unwrap());
    assert_eq!(
        (access["tenant"].clone(), access["call"].clone()),
        ("example.org".into(), 1.into())
    );
    let refresh = tokens["refreshToken"].as_str().unwrap().to_owned();

    let (status, renewed) = post(
        &gate,
        Endpoint::Refresh,
        "/api/rest/token",
        format!("token={refresh}"),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        claims_of(renewed["accessToken"].as_str().unwrap())["call"],
        2
    );

    // The hook's service is down: no access token without its claims.
    failing.store(true, Ordering::SeqCst);
    let (status, body) = post(
        &gate,
        Endpoint::Refresh,
        "/api/rest/token",
        format!("token={refresh}"),
    )
    .await;
    assert_eq!(status, 503, "{body}");
    let (status, _) = post(
        &gate,
        Endpoint::SignIn,
        "/api/rest/signin",
        "login=ada%40example.org&password=pw".into(),
    )
    .await;
    assert_eq!(status, 503);
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

/// Attack (an outage, not an attacker): with rotation on and the claims service down, `/token`
/// answered 503 but had rotated already, so the client's retry after the grace was taken as
/// reuse: the session ended with a false theft alarm. Everything that can fail now runs before
/// the rotation commits: a 503 changes nothing, and the same token refreshes once the service
/// is back, however long it was down.
#[tokio::test]
async fn a_refresh_that_fails_before_its_answer_rotates_nothing() {
    let failing = Arc::new(AtomicBool::new(false));
    let fails = failing.clone();
    let directory = MemoryDirectory::new()
        .user("ada@example.org", &hash_password("pw").unwrap())
        .unwrap();
    let config = Config::from_sources(
        None,
        "default",
        [
            ("TOKENGATE_SECRET", SECRET),
            ("TOKENGATE_ROTATION", "true"),
            ("TOKENGATE_REUSE_GRACE", "0s"),
        ],
    )
    .unwrap();
    let gate = TokenGate::builder(config)
        .credentials(directory)
        .claims_hook(move |_| {
            let fail = fails.load(Ordering::SeqCst);
            Box::pin(async move {
                if fail {
                    return Err(CredentialsError("claims service down".to_owned()));
                }
                Ok(serde_json::Map::new())
            })
        })
        .build()
        .unwrap();
    let (status, tokens) = post(
        &gate,
        Endpoint::SignIn,
        "/api/rest/signin",
        "login=ada%40example.org&password=pw".into(),
    )
    .await;
    assert_eq!(status, 201);
    let refresh = tokens["refreshToken"].as_str().unwrap().to_owned();
    failing.store(true, Ordering::SeqCst);
    for _ in 0..3 {
        let (status, body) = post(
            &gate,
            Endpoint::Refresh,
            "/api/rest/token",
            format!("token={refresh}"),
        )
        .await;
        assert_eq!(status, 503, "{body}");
    }
    // Past the grace (0 s here), the same token is still the current one.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    failing.store(false, Ordering::SeqCst);
    let (status, body) = post(
        &gate,
        Endpoint::Refresh,
        "/api/rest/token",
        format!("token={refresh}"),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_ne!(body["refreshToken"].as_str().unwrap(), refresh);
}
