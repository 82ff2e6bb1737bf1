//! The guard: where the access token comes from, what is refused, and how.

use serde_json::json;

use super::{claims_of, demo, header_of, start, Adapter};

/// The challenge of a request without a token.
pub const MISSING: Option<&str> = Some("Bearer realm=\"tokengate\"");

pub async fn guarded_route_accepts_authorization_bearer(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let reply = server.me(&tokens.access).await;
    reply.expect(200);
    let me = reply.json();
    assert_eq!(me["sub"], demo::USER.0);
    assert_eq!(me["name"], "John Doe");
    assert_eq!(me["roles"], json!(["user", "admin"]));
    assert!(me.get("app").is_none());
}

pub async fn guarded_route_accepts_the_seed_authentication_header(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let auth = format!("Bearer {}", tokens.access);
    let reply = server
        .get("/api/rest/me", &[("authentication", &auth)])
        .await;
    reply.expect(200);
    assert_eq!(reply.json()["sub"], demo::USER.0);
}

pub async fn bearer_scheme_is_case_insensitive(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let auth = format!("bEARER {}", tokens.access);
    server
        .get("/api/rest/ping", &[("authorization", &auth)])
        .await
        .expect(200);
}

pub async fn guarded_route_without_token_is_401_with_challenge(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    for path in ["/api/rest/me", "/api/rest/ping", "/anything/else"] {
        server
            .get(path, &[])
            .await
            .expect(401)
            .error("missing_token")
            .challenge(MISSING);
    }
}

pub async fn other_authorization_schemes_count_as_no_token(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    server
        .get("/api/rest/me", &[("authorization", "Basic am9objpkb2U=")])
        .await
        .expect(401)
        .challenge(MISSING);
}

pub async fn token_in_query_string_is_ignored(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let path = format!(
        "/api/rest/me?access_token={}&token={}",
        tokens.access, tokens.access
    );
    server.get(&path, &[]).await.expect(401).challenge(MISSING);
}

pub async fn public_path_needs_no_token(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let reply = server.get("/health", &[]).await;
    reply.expect(200);
    assert_eq!(reply.text(), "ok");
}

pub async fn optional_mode_lets_anonymous_requests_through(adapter: Adapter) {
    let server = start(adapter, &[("TOKENGATE_MODE", "optional")]).await;
    let reply = server.get("/api/rest/ping", &[]).await;
    reply.expect(200);
    assert_eq!(reply.text(), "pong");
    // The handler asks for claims: the extractor refuses, in the gate's words.
    server
        .get("/api/rest/me", &[])
        .await
        .expect(401)
        .error("missing_token")
        .challenge(MISSING);
    let tokens = server.signin(&[]).await.tokens();
    server.me(&tokens.access).await.expect(200);
}

pub async fn refresh_token_is_not_an_access_token(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    server
        .me(&tokens.refresh)
        .await
        .invalid_token()
        .says("type");
}

pub async fn access_token_is_not_a_refresh_token(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    server
        .refresh(&tokens.access)
        .await
        .invalid_token()
        .says("type");
}

pub async fn access_token_outlives_signout_until_its_exp(adapter: Adapter) {
    // Without strict revocation, sign-out stops refreshes; issued access tokens run out.
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    server.signout(&tokens.refresh, &[]).await.expect(200);
    server.me(&tokens.access).await.expect(200);
}

pub async fn malformed_tokens_are_401_invalid_token(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let parts: Vec<&str> = tokens.access.split('.').collect();
    let long = format!("{}.{}.{}", parts[0], "A".repeat(9 * 1024), parts[2]);
    let cases = [
        format!("{}.{}", parts[0], parts[1]),
        format!("{}.{}.{}.{}", parts[0], parts[1], parts[2], parts[2]),
        format!(
            "{}.{}.{}.{}.{}",
            parts[0], parts[1], parts[2], parts[0], parts[1]
        ),
        format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
        format!(
            "{}.{}.{}",
            parts[0],
            parts[1],
            parts[2].replace(|c: char| c.is_ascii_alphabetic(), "+")
        ),
        format!("bm90IGpzb24.{}.{}", parts[1], parts[2]),
        format!("{}.bm90IGpzb24.{}", parts[0], parts[2]),
        format!("{}.{}.{}", parts[0], parts[1], "c2lnbmF0dXJl"),
        long,
        "....".to_owned(),
        "a.b.c".to_owned(),
    ];
    for token in &cases {
        server.me(token).await.invalid_token();
    }
}

pub async fn forged_headers_are_refused(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let claims = claims_of(&tokens.access);
    let kid = header_of(&tokens.access)["kid"].clone();
    // Sanity: the forging helper makes a token the server accepts.
    let good = server.forge(
        &json!({"alg": "HS256", "typ": "at+jwt", "kid": kid}),
        &claims,
    );
    server.me(&good).await.expect(200);
    let headers = [
        json!({"alg": "none", "typ": "at+jwt", "kid": kid}),
        json!({"alg": "HS512", "typ": "at+jwt", "kid": kid}),
        json!({"alg": "HS256", "typ": "at+jwt"}),
        json!({"alg": "HS256", "typ": "at+jwt", "kid": "../../etc/passwd"}),
        json!({"alg": "HS256", "typ": "JWT", "kid": kid}),
        json!({"alg": "HS256", "typ": "rt+jwt", "kid": kid}),
        json!({"alg": "HS256", "typ": "at+jwt", "kid": kid, "crit": ["exp"]}),
        json!(["HS256", "at+jwt", kid]),
    ];
    for header in &headers {
        server
            .me(&server.forge(header, &claims))
            .await
            .invalid_token();
    }
    let unsigned = format!(
        "{}.",
        good.rsplit_once('.').map(|(m, _)| m).unwrap_or_default()
    );
    server.me(&unsigned).await.invalid_token();
}

pub async fn forged_claims_are_refused(adapter: Adapter) {
    let server = start(adapter, &[("TOKENGATE_LEEWAY", "0s")]).await;
    let tokens = server.signin(&[]).await.tokens();
    let header = header_of(&tokens.access);
    let base = claims_of(&tokens.access);
    let now = base["iat"].as_i64().unwrap_or_default();
    let with = |name: &str, value: serde_json::Value| {
        let mut claims = base.clone();
        claims[name] = value;
        server.forge(&header, &claims)
    };
    let without = |name: &str| {
        let mut claims = base.clone();
        claims.as_object_mut().map(|c| c.remove(name));
        server.forge(&header, &claims)
    };
    let cases = [
        with("exp", json!(now - 10)),
        with("exp", json!((now + 60).to_string())),
        with("exp", json!(1_900_000_000.5_f64)),
        with("exp", json!(null)),
        with("exp", json!(-1)),
        with("nbf", json!(now + 3600)),
        with("nbf", json!("0")),
        with("iss", json!("someone-else")),
        with("sub", json!(42)),
        without("exp"),
        without("sub"),
    ];
    for token in &cases {
        server.me(token).await.invalid_token();
    }
    // A huge exponent, validly signed with the server's own key: not a number to trust.
    let raw = base
        .to_string()
        .replacen(&format!("\"exp\":{}", base["exp"]), "\"exp\":1e400", 1);
    assert!(raw.contains("1e400"), "{raw}");
    let huge = super::attacks::sign_raw(server.secret.as_bytes(), &header.to_string(), &raw);
    server.me(&huge).await.invalid_token();
    let wrong_key = super::sign_hs256(b"another-secret-of-at-least-32-bytes!!", &header, &base);
    server
        .me(&wrong_key)
        .await
        .invalid_token()
        .says("signature");
}

pub async fn tokens_of_another_issuer_are_refused(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let mut claims = claims_of(&tokens.access);
    claims["iss"] = json!("tokengate-other");
    let token = server.forge(&header_of(&tokens.access), &claims);
    server
        .me(&token)
        .await
        .invalid_token()
        .says("another service");
}
