//! Request bodies and methods: content types, limits, malformed input; unknown routes.

use super::guard::MISSING;
use super::{demo, start, Adapter, Body};

pub async fn other_content_types_are_415(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    for content_type in ["text/plain", "application/xml", "image/png"] {
        server
            .post(
                "/api/rest/signin",
                Body::Raw(content_type, b"login=a&password=b".to_vec()),
                &[],
            )
            .await
            .expect(415)
            .error("unsupported_media_type");
    }
}

pub async fn body_over_the_limit_is_413(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let big = vec![b'a'; 65 * 1024];
    server
        .post(
            "/api/rest/signin",
            Body::Raw("application/x-www-form-urlencoded", big.clone()),
            &[],
        )
        .await
        .expect(413)
        .error("payload_too_large");
    server
        .post(
            "/api/rest/signin",
            Body::Chunked("application/x-www-form-urlencoded", big),
            &[],
        )
        .await
        .expect(413);
}

/// Attack (a lost answer): the gate answered 413 before reading the body, and the
/// connection closed while the client was still sending, so the client could see a reset
/// instead of the answer (`alike::body_over_the_limit_is_413` failed so on a fresh clone).
/// A body up to a bounded size is now read to its end before the answer: 100 oversized
/// bodies, ten at a time, declared or chunked, and every client gets its 413.
pub async fn an_early_413_always_reaches_the_client(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let sizes = [65 * 1024, 256 * 1024, 1024 * 1024];
    for round in 0..10 {
        let requests = (0..10).map(|i| {
            let server = &server;
            let big = vec![b'a'; sizes[(round + i) % sizes.len()]];
            async move {
                let body = if i % 2 == 0 {
                    Body::Raw("application/x-www-form-urlencoded", big)
                } else {
                    Body::Chunked("application/x-www-form-urlencoded", big)
                };
                server.post("/api/rest/signin", body, &[]).await
            }
        });
        for reply in super::parallel(futures_util::future::join_all(requests)).await {
            reply.expect(413).error("payload_too_large");
        }
    }
}

pub async fn body_limit_is_configurable(adapter: Adapter) {
    let server = start(adapter, &[("TOKENGATE_BODY_LIMIT", "100")]).await;
    let fields = [
        ("login", demo::USER.0),
        ("password", demo::USER.1),
        ("pad", &"x".repeat(200)),
    ];
    server
        .post("/api/rest/signin", Body::Form(&fields), &[])
        .await
        .expect(413);
}

pub async fn malformed_bodies_are_400(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let cases: [(&str, &[u8]); 6] = [
        ("application/json", b"{\"login\": "),
        ("application/json", b"[\"login\"]"),
        (
            "application/json",
            b"{\"login\": {\"a\": 1}, \"password\": \"x\"}",
        ),
        ("multipart/form-data", b"--x\r\n"),
        (
            "multipart/form-data; boundary=X",
            b"--X\r\nContent-Disposition: form-data; name=\"login\"\r\n\r\nabc",
        ),
        (
            "multipart/form-data; boundary=X",
            b"garbage without any boundary",
        ),
    ];
    for (content_type, body) in cases {
        server
            .post(
                "/api/rest/signin",
                Body::Raw(content_type, body.to_vec()),
                &[],
            )
            .await
            .expect(400)
            .error("invalid_request");
    }
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    server
        .post(
            "/api/rest/signin",
            Body::Raw("application/json", deep.into_bytes()),
            &[],
        )
        .await
        .expect(400);
}

pub async fn endpoints_only_accept_post(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    for path in ["/api/rest/signin", "/api/rest/token", "/api/rest/signout"] {
        let reply = server.get(path, &[]).await;
        reply.expect(405).error("method_not_allowed");
        assert_eq!(reply.header("allow"), Some("POST"));
    }
}

pub async fn our_tokens_verify_with_an_outside_jose_library(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let key = jsonwebtoken::DecodingKey::from_secret(server.secret.as_bytes()).expect("hmac key");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_issuer(&["tokengate"]);
    let data = jsonwebtoken::decode::<serde_json::Value>(&tokens.access, &key, &validation)
        .expect("jsonwebtoken accepts our access token");
    assert_eq!(data.claims["sub"], demo::USER.0);
    assert_eq!(data.header.typ.as_deref(), Some("at+jwt"));
}

pub async fn unknown_routes_are_guarded_then_not_found(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    server
        .get("/api/rest/nowhere", &[])
        .await
        .expect(401)
        .challenge(MISSING);
    let tokens = server.signin(&[]).await.tokens();
    let auth = format!("Bearer {}", tokens.access);
    let reply = server
        .get("/api/rest/nowhere", &[("authorization", &auth)])
        .await;
    assert_eq!(reply.status, 404, "body: {}", reply.text());
    let reply = server
        .get("/api/rest/ping", &[("authorization", &auth)])
        .await;
    assert_eq!((reply.status, reply.text().as_str()), (200, "pong"));
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
}
