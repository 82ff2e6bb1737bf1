//! The scenario table: each scenario is written once and run against every adapter.
//!
//! A scenario starts its own server (with the configuration it needs), sends real requests
//! over TCP and asserts the status, the key headers and the JSON fields of each answer.

use std::time::Duration;

use serde_json::json;

#[allow(unused_imports)]
pub use super::attacks::*;
#[allow(unused_imports)]
pub use super::sessions::*;
use super::{claims_of, demo, header_of, start, Adapter, Body, Reply, SetCookie};

const MISSING: Option<&str> = Some("Bearer realm=\"tokengate\"");

// ---- the seed's flow, in every body encoding ----

pub async fn seed_signin_multipart_gives_both_tokens(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let reply = server.signin(&[]).await;
    let tokens = reply.tokens();
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(header_of(&tokens.access)["typ"], "at+jwt");
    assert_eq!(header_of(&tokens.refresh)["typ"], "rt+jwt");
    assert_eq!(header_of(&tokens.access)["alg"], "HS256");
    assert!(header_of(&tokens.access)["kid"].is_string());
    let claims = claims_of(&tokens.access);
    for name in ["iss", "sub", "iat", "exp", "jti", "sid"] {
        assert!(
            !claims[name].is_null(),
            "access token lacks `{name}`: {claims}"
        );
    }
    assert_eq!(claims["sub"], demo::USER.0);
    assert_eq!(claims["sid"], claims_of(&tokens.refresh)["sid"]);
}

pub async fn signin_accepts_urlencoded(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let fields = [("login", demo::USER.0), ("password", demo::USER.1)];
    server
        .post("/api/rest/signin", Body::Form(&fields), &[])
        .await
        .tokens();
}

pub async fn signin_accepts_json(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let body = json!({"login": demo::USER.0, "password": demo::USER.1});
    server
        .post("/api/rest/signin", Body::Json(body), &[])
        .await
        .tokens();
}

pub async fn token_by_field_keeps_the_refresh_token_and_issues_a_new_access_token(
    adapter: Adapter,
) {
    let server = start(adapter, &[]).await;
    let first = server.signin(&[]).await.tokens();
    let second = server.refresh(&first.refresh).await.tokens();
    assert_eq!(second.refresh, first.refresh);
    assert_ne!(second.access, first.access);
    server.me(&second.access).await.expect(200);
}

pub async fn token_by_authorization_bearer(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let auth = format!("Bearer {}", tokens.refresh);
    server
        .post("/api/rest/token", Body::None, &[("authorization", &auth)])
        .await
        .tokens();
}

pub async fn token_by_authentication_bearer(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let auth = format!("Bearer {}", tokens.refresh);
    let reply = server
        .post(
            "/api/rest/token",
            Body::Multipart(&[]),
            &[("authentication", &auth)],
        )
        .await;
    reply.tokens();
}

pub async fn authentication_header_can_be_switched_off(adapter: Adapter) {
    let server = start(
        adapter,
        &[("TOKENGATE_ACCEPT_AUTHENTICATION_HEADER", "false")],
    )
    .await;
    let tokens = server.signin(&[]).await.tokens();
    let auth = format!("Bearer {}", tokens.access);
    server
        .get("/api/rest/me", &[("authentication", &auth)])
        .await
        .expect(401)
        .error("missing_token");
    let refresh = format!("Bearer {}", tokens.refresh);
    server
        .post(
            "/api/rest/token",
            Body::None,
            &[("authentication", &refresh)],
        )
        .await
        .expect(400)
        .error("invalid_request");
}

pub async fn signout_answers_200_and_revokes_the_refresh_token(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let reply = server.signout(&tokens.refresh, &[]).await;
    reply.expect(200);
    assert_eq!(reply.json()["signedOut"], true);
    server
        .refresh(&tokens.refresh)
        .await
        .invalid_token()
        .says("session");
}

pub async fn signout_by_bearer(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let auth = format!("Bearer {}", tokens.refresh);
    server
        .post("/api/rest/signout", Body::None, &[("authorization", &auth)])
        .await
        .expect(200);
    server.refresh(&tokens.refresh).await.invalid_token();
}

pub async fn signout_is_idempotent(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    server.signout(&tokens.refresh, &[]).await.expect(200);
    server.signout(&tokens.refresh, &[]).await.expect(200);
    server.signout("not-a-token", &[]).await.expect(200);
}

pub async fn signout_of_an_access_token_revokes_nothing(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let reply = server.signout(&tokens.access, &[]).await;
    reply.expect(200);
    assert_eq!(reply.json()["sessionsEnded"], 0);
    server.refresh(&tokens.refresh).await.tokens();
}

pub async fn signout_without_token_is_400(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    server
        .post(
            "/api/rest/signout",
            Body::Multipart(&[("scope", "local")]),
            &[],
        )
        .await
        .expect(400)
        .error("invalid_request")
        .says("refresh token");
    server
        .post("/api/rest/signout", Body::None, &[])
        .await
        .expect(400);
}

pub async fn token_without_token_is_400(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    server
        .post("/api/rest/token", Body::None, &[])
        .await
        .expect(400)
        .error("invalid_request");
}

pub async fn signout_global_ends_every_session_of_the_subject(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let one = server.signin(&[]).await.tokens();
    let two = server.signin(&[]).await.tokens();
    let reply = server.signout(&one.refresh, &[("scope", "global")]).await;
    reply.expect(200);
    assert_eq!(reply.json()["sessionsEnded"], 2);
    server.refresh(&one.refresh).await.invalid_token();
    server.refresh(&two.refresh).await.invalid_token();
}

pub async fn signout_others_keeps_the_current_session(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let one = server.signin(&[]).await.tokens();
    let two = server.signin(&[]).await.tokens();
    server
        .signout(&one.refresh, &[("scope", "others")])
        .await
        .expect(200);
    server.refresh(&one.refresh).await.tokens();
    server.refresh(&two.refresh).await.invalid_token();
}

pub async fn signout_with_unknown_scope_is_400(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    server
        .signout(&tokens.refresh, &[("scope", "everything")])
        .await
        .expect(400)
        .says("scope");
    server.refresh(&tokens.refresh).await.tokens();
}

// ---- the guard ----

pub async fn guarded_route_accepts_authorization_bearer(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let reply = server.me(&tokens.access).await;
    reply.expect(200);
    let me = reply.json();
    assert_eq!(me["sub"], demo::USER.0);
    assert_eq!(me["name"], "John Doe");
    assert_eq!(me["roles"], json!(["user"]));
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

// ---- lifetimes and `exp` ----

pub async fn default_lifetimes_are_20_minutes_and_24_hours(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let reply = server.signin(&[]).await;
    let tokens = reply.tokens();
    let access = claims_of(&tokens.access);
    let refresh = claims_of(&tokens.refresh);
    assert_eq!(
        access["exp"].as_i64().unwrap_or_default() - access["iat"].as_i64().unwrap_or_default(),
        1200
    );
    assert_eq!(
        refresh["exp"].as_i64().unwrap_or_default() - refresh["iat"].as_i64().unwrap_or_default(),
        86_400
    );
    assert_eq!(reply.json()["expiresIn"], 1200);
}

/// With the verified-token cache off and on: a cached token still expires at its `exp`.
pub async fn access_ttl_is_configurable_and_expiry_is_enforced(adapter: Adapter) {
    for cache in ["false", "true"] {
        expiry_is_enforced(adapter, cache).await;
    }
}

async fn expiry_is_enforced(adapter: Adapter, cache: &str) {
    let server = start(
        adapter,
        &[
            ("TOKENGATE_ACCESS_TTL", "4s"),
            ("TOKENGATE_LEEWAY", "0s"),
            ("TOKENGATE_VERIFY_CACHE", cache),
        ],
    )
    .await;
    let tokens = server.signin(&[]).await.tokens();
    let access = claims_of(&tokens.access);
    let exp = access["exp"].as_i64().unwrap_or_default();
    assert_eq!(exp - access["iat"].as_i64().unwrap_or_default(), 4);
    server.me(&tokens.access).await.expect(200);
    // Until the second after `exp`, whatever the sign-in cost.
    let left = exp + 1 - super::attacks::now();
    tokio::time::sleep(Duration::from_millis(
        u64::try_from(left).unwrap_or(0) * 1000 + 100,
    ))
    .await;
    server
        .me(&tokens.access)
        .await
        .invalid_token()
        .says("expired");
    // The refresh token still gives a fresh one.
    let fresh = server.refresh(&tokens.refresh).await.tokens();
    server.me(&fresh.access).await.expect(200);
}

pub async fn exp_as_epoch_seconds(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let at = unix_now() + 7 * 86_400;
    let tokens = server.signin(&[("exp", &at.to_string())]).await.tokens();
    assert_eq!(claims_of(&tokens.refresh)["exp"], at);
    let access = claims_of(&tokens.access);
    assert_eq!(
        access["exp"].as_i64().unwrap_or_default() - access["iat"].as_i64().unwrap_or_default(),
        1200
    );
}

pub async fn exp_as_iso_datetime(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let at = (unix_now() / 60 + 2 * 24 * 60) * 60;
    let iso = time::OffsetDateTime::from_unix_timestamp(at)
        .expect("valid time")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format");
    let tokens = server.signin(&[("exp", &iso)]).await.tokens();
    assert_eq!(claims_of(&tokens.refresh)["exp"], at);
}

pub async fn exp_unlimited_gives_a_refresh_token_without_exp(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[("exp", "unlimited")]).await.tokens();
    assert!(claims_of(&tokens.refresh).get("exp").is_none());
    assert!(claims_of(&tokens.access)["exp"].is_i64());
    server.refresh(&tokens.refresh).await.tokens();
    server.signout(&tokens.refresh, &[]).await.expect(200);
    server.refresh(&tokens.refresh).await.invalid_token();
}

pub async fn exp_in_the_past_is_400(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    server
        .signin(&[("exp", "1000")])
        .await
        .expect(400)
        .error("invalid_request")
        .says("past");
}

pub async fn exp_beyond_the_allowed_maximum_is_400(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let far = (unix_now() + 31 * 86_400).to_string();
    server
        .signin(&[("exp", &far)])
        .await
        .expect(400)
        .says("longest lifetime");
}

pub async fn exp_unparsable_is_400(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    for value in ["tomorrow", "2026-13-45T99:00:00Z", "12.5", "-"] {
        server
            .signin(&[("exp", value)])
            .await
            .expect(400)
            .says("`exp`");
    }
}

pub async fn exp_unlimited_is_refused_where_not_allowed(adapter: Adapter) {
    let server = start(adapter, &[("TOKENGATE_ALLOW_UNLIMITED", "false")]).await;
    server
        .signin(&[("exp", "unlimited")])
        .await
        .expect(400)
        .says("unlimited");
}

// ---- application keys and credentials ----

pub async fn application_login_carries_the_application(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (app, key, secret) = demo::APPLICATION;
    let fields = [("login", key), ("password", secret), ("application", app)];
    let tokens = server
        .post("/api/rest/signin", Body::Multipart(&fields), &[])
        .await
        .tokens();
    let me = server.me(&tokens.access).await;
    me.expect(200);
    assert_eq!(me.json()["sub"], key);
    assert_eq!(me.json()["app"], app);
    assert_eq!(claims_of(&tokens.refresh)["app"], app);
    let renewed = server.refresh(&tokens.refresh).await.tokens();
    assert_eq!(claims_of(&renewed.access)["app"], app);
}

pub async fn every_bad_credential_gets_the_same_answer(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (app, key, secret) = demo::APPLICATION;
    let attempts: [&[(&str, &str)]; 6] = [
        &[("login", "nobody@email.org"), ("password", demo::USER.1)],
        &[("login", demo::USER.0), ("password", "wrong")],
        &[
            ("login", key),
            ("password", secret),
            ("application", "other-app"),
        ],
        &[("login", key), ("password", "wrong"), ("application", app)],
        &[
            ("login", "unknown-key"),
            ("password", secret),
            ("application", app),
        ],
        &[("login", key), ("password", secret)],
    ];
    let mut replies: Vec<Reply> = Vec::new();
    for fields in attempts {
        replies.push(
            server
                .post("/api/rest/signin", Body::Multipart(fields), &[])
                .await,
        );
    }
    let first = &replies[0];
    first.expect(401).error("invalid_credentials");
    for reply in &replies {
        assert_eq!(reply.status, first.status);
        assert_eq!(reply.body, first.body);
        assert_eq!(
            reply.header("www-authenticate"),
            first.header("www-authenticate")
        );
        assert_eq!(reply.header("content-type"), first.header("content-type"));
    }
}

pub async fn missing_fields_are_named(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let only_login = [("login", demo::USER.0)];
    server
        .post("/api/rest/signin", Body::Multipart(&only_login), &[])
        .await
        .expect(400)
        .says("`password`");
    let only_password = [("password", demo::USER.1)];
    server
        .post("/api/rest/signin", Body::Multipart(&only_password), &[])
        .await
        .expect(400)
        .says("`login`");
    let empty = [("login", ""), ("password", demo::USER.1)];
    server
        .post("/api/rest/signin", Body::Multipart(&empty), &[])
        .await
        .expect(400)
        .says("`login`");
    server
        .post("/api/rest/signin", Body::None, &[])
        .await
        .expect(400)
        .says("`login`");
}

pub async fn duplicate_fields_are_400(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let fields = [
        ("login", demo::USER.0),
        ("login", "other"),
        ("password", demo::USER.1),
    ];
    server
        .post("/api/rest/signin", Body::Multipart(&fields), &[])
        .await
        .expect(400)
        .says("more than once");
    server
        .post("/api/rest/signin", Body::Form(&fields), &[])
        .await
        .expect(400)
        .says("more than once");
    let json = format!(
        r#"{{"login":"{}","login":"x","password":"p"}}"#,
        demo::USER.0
    );
    server
        .post(
            "/api/rest/signin",
            Body::Raw("application/json", json.into_bytes()),
            &[],
        )
        .await
        .expect(400)
        .says("more than once");
}

// ---- bodies ----

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

fn unix_now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default(),
    )
    .unwrap_or_default()
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

// ---- cookie mode ----

const ACCESS_COOKIE: &str = "__Host-tokengate-access";
const REFRESH_COOKIE: &str = "__Secure-tokengate-refresh";
const CSRF_COOKIE: &str = "__Host-tokengate-csrf";

/// What a browser holds after a cookie sign-in: the `Cookie` header it would send, and the
/// CSRF token the page got.
pub struct Browser {
    pub cookie: String,
    pub csrf: String,
}

impl Browser {
    pub fn of(reply: &Reply) -> Self {
        let pairs: Vec<String> = reply
            .headers_named("set-cookie")
            .into_iter()
            .map(SetCookie::parse)
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        Self {
            cookie: pairs.join("; "),
            csrf: reply.json()["csrfToken"]
                .as_str()
                .expect("csrfToken")
                .to_owned(),
        }
    }

    /// Headers of a request authenticated by cookie, with or without the CSRF header.
    pub fn headers(&self, with_csrf: bool) -> Vec<(&str, &str)> {
        let mut headers = vec![("cookie", self.cookie.as_str())];
        if with_csrf {
            headers.push(("x-csrf-token", self.csrf.as_str()));
        }
        headers
    }
}

pub async fn cookie_signin(server: &super::Server) -> (Reply, Browser) {
    let reply = server.signin(&[("cookieauth", "true")]).await;
    reply.expect(201);
    let browser = Browser::of(&reply);
    (reply, browser)
}

pub async fn cookie_signin_sets_secure_session_cookies_and_no_tokens_in_the_body(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (reply, _) = cookie_signin(&server).await;
    let body = reply.json();
    assert!(body.get("accessToken").is_none(), "{body}");
    assert!(body.get("refreshToken").is_none(), "{body}");
    assert!(body["csrfToken"].is_string());
    assert_eq!(reply.headers_named("set-cookie").len(), 3);
    let access = reply.set_cookie(ACCESS_COOKIE);
    let refresh = reply.set_cookie(REFRESH_COOKIE);
    let csrf = reply.set_cookie(CSRF_COOKIE);
    assert_eq!(claims_of(&access.value)["sub"], demo::USER.0);
    assert_eq!(header_of(&access.value)["typ"], "at+jwt");
    assert_eq!(header_of(&refresh.value)["typ"], "rt+jwt");
    assert_eq!(csrf.value, body["csrfToken"]);
    for cookie in [&access, &refresh] {
        assert!(cookie.has("HttpOnly"), "{}", cookie.raw);
    }
    assert!(!csrf.has("HttpOnly"), "scripts must read the CSRF cookie");
    for cookie in [&access, &refresh, &csrf] {
        assert!(cookie.has("Secure"), "{}", cookie.raw);
        assert_eq!(cookie.attribute("SameSite"), Some("Lax"), "{}", cookie.raw);
        assert!(cookie.attribute("Max-Age").is_none(), "{}", cookie.raw);
        assert!(cookie.attribute("Expires").is_none(), "{}", cookie.raw);
        assert!(cookie.attribute("Domain").is_none(), "{}", cookie.raw);
    }
    assert_eq!(access.attribute("Path"), Some("/"));
    assert_eq!(csrf.attribute("Path"), Some("/"));
    assert_eq!(refresh.attribute("Path"), Some("/api/rest"));
}

pub async fn cookie_attributes_follow_the_config(adapter: Adapter) {
    let server = start(
        adapter,
        &[
            ("TOKENGATE_COOKIE_SECURE", "false"),
            ("TOKENGATE_COOKIE_SAME_SITE", "strict"),
        ],
    )
    .await;
    let (reply, _) = cookie_signin(&server).await;
    let access = reply.set_cookie("tokengate-access");
    assert!(!access.has("Secure"), "{}", access.raw);
    assert_eq!(access.attribute("SameSite"), Some("Strict"));
    reply.set_cookie("tokengate-refresh");
    reply.set_cookie("tokengate-csrf");
}

pub async fn cookie_authenticates_safe_requests_without_csrf(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (_, browser) = cookie_signin(&server).await;
    let reply = server.get("/api/rest/me", &browser.headers(false)).await;
    reply.expect(200);
    assert_eq!(reply.json()["sub"], demo::USER.0);
    // The access cookie alone, without the others, is enough for a GET.
    let access = browser
        .cookie
        .split("; ")
        .find(|pair| pair.starts_with(&format!("{ACCESS_COOKIE}=")))
        .expect("the access cookie")
        .to_owned();
    let reply = server.get("/api/rest/ping", &[("cookie", &access)]).await;
    assert_eq!((reply.status, reply.text().as_str()), (200, "pong"));
    // And the others without it are no authentication at all.
    let others: Vec<&str> = browser
        .cookie
        .split("; ")
        .filter(|pair| !pair.starts_with(&format!("{ACCESS_COOKIE}=")))
        .collect();
    let others = others.join("; ");
    server
        .get("/api/rest/ping", &[("cookie", &others)])
        .await
        .expect(401)
        .error("missing_token");
}

pub async fn cookie_unsafe_request_without_csrf_is_403(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (_, browser) = cookie_signin(&server).await;
    let reply = server
        .post("/api/rest/ping", Body::None, &browser.headers(false))
        .await;
    reply
        .expect(403)
        .error("csrf_rejected")
        .says("X-CSRF-Token");
    assert_eq!(reply.header("www-authenticate"), None);
    let reply = server
        .post("/api/rest/ping", Body::None, &browser.headers(true))
        .await;
    assert_eq!((reply.status, reply.text().as_str()), (200, "pong"));
}

pub async fn csrf_token_of_another_session_is_403(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (_, mine) = cookie_signin(&server).await;
    let (_, other) = cookie_signin(&server).await;
    let crossed = [
        ("cookie", mine.cookie.as_str()),
        ("x-csrf-token", other.csrf.as_str()),
    ];
    server
        .post("/api/rest/ping", Body::None, &crossed)
        .await
        .expect(403)
        .error("csrf_rejected");
    let garbage = [
        ("cookie", mine.cookie.as_str()),
        ("x-csrf-token", "abc.def"),
    ];
    server
        .post("/api/rest/ping", Body::None, &garbage)
        .await
        .expect(403)
        .error("csrf_rejected");
}

pub async fn cookie_request_from_a_foreign_origin_is_403(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (_, browser) = cookie_signin(&server).await;
    let mut headers = browser.headers(true);
    headers.push(("origin", "http://evil.example"));
    server
        .post("/api/rest/ping", Body::None, &headers)
        .await
        .expect(403)
        .error("csrf_rejected")
        .says("origin");
    // Its own origin passes.
    let own = server.base.clone();
    let mut headers = browser.headers(true);
    headers.push(("origin", own.as_str()));
    let reply = server.post("/api/rest/ping", Body::None, &headers).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    // A cookie sign-in from another origin is refused too (login CSRF).
    let fields = [
        ("login", demo::USER.0),
        ("password", demo::USER.1),
        ("cookieauth", "true"),
    ];
    let reply = server
        .post(
            "/api/rest/signin",
            Body::Multipart(&fields),
            &[("origin", "http://evil.example")],
        )
        .await;
    reply.expect(403).error("csrf_rejected");
    assert!(reply.headers_named("set-cookie").is_empty());
}

pub async fn bearer_wins_over_cookies_and_needs_no_csrf(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let auth = format!("Bearer {}", tokens.access);
    let stale = format!("{ACCESS_COOKIE}=not-a-token");
    let headers = [("authorization", auth.as_str()), ("cookie", stale.as_str())];
    let reply = server.post("/api/rest/ping", Body::None, &headers).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    // Without the bearer, the bad cookie is what counts.
    server
        .get("/api/rest/me", &[("cookie", stale.as_str())])
        .await
        .invalid_token();
}

pub async fn cookie_refresh_with_csrf_renews_the_cookies(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (first, browser) = cookie_signin(&server).await;
    server
        .post("/api/rest/token", Body::None, &browser.headers(false))
        .await
        .expect(403)
        .error("csrf_rejected");
    let reply = server
        .post("/api/rest/token", Body::None, &browser.headers(true))
        .await;
    reply.expect(201);
    let body = reply.json();
    assert!(body.get("accessToken").is_none(), "{body}");
    for name in [ACCESS_COOKIE, REFRESH_COOKIE, CSRF_COOKIE] {
        assert_eq!(
            reply.set_cookie(name).attributes,
            first.set_cookie(name).attributes,
            "{name} renewed with other attributes"
        );
    }
    let renewed = reply.set_cookie(ACCESS_COOKIE).value;
    assert_ne!(renewed, first.set_cookie(ACCESS_COOKIE).value);
    assert_eq!(
        reply.set_cookie(REFRESH_COOKIE).value,
        first.set_cookie(REFRESH_COOKIE).value
    );
    let renewed_browser = Browser::of(&reply);
    server
        .post("/api/rest/ping", Body::None, &renewed_browser.headers(true))
        .await
        .expect(200);
}

pub async fn cookie_signout_clears_the_cookies_and_the_cookie_is_refused_after(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (first, browser) = cookie_signin(&server).await;
    server
        .post("/api/rest/signout", Body::None, &browser.headers(false))
        .await
        .expect(403)
        .error("csrf_rejected");
    let reply = server
        .post("/api/rest/signout", Body::None, &browser.headers(true))
        .await;
    reply.expect(200);
    assert_eq!(reply.json()["sessionsEnded"], 1);
    let check_cleared = |reply: &Reply| {
        assert_eq!(reply.headers_named("set-cookie").len(), 3);
        for name in [ACCESS_COOKIE, REFRESH_COOKIE, CSRF_COOKIE] {
            let cleared = reply.set_cookie(name);
            assert_eq!(cleared.value, "");
            assert_eq!(cleared.attribute("Max-Age"), Some("0"));
            assert_eq!(
                cleared.lasting_attributes(),
                first.set_cookie(name).attributes,
                "{name} deleted with other attributes than it was set with"
            );
        }
    };
    check_cleared(&reply);
    // The signed-out refresh cookie no longer renews anything.
    server
        .post("/api/rest/token", Body::None, &browser.headers(true))
        .await
        .invalid_token();
    // Signing out again, with the session gone, still answers 200 and clears the cookies.
    let again = server
        .post("/api/rest/signout", Body::None, &browser.headers(true))
        .await;
    again.expect(200);
    assert_eq!(again.json()["sessionsEnded"], 0);
    check_cleared(&again);
}
