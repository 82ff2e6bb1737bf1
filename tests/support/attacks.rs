//! The attack suite, and the asymmetric keys it attacks: every way a token or a body has been
//! used to get past a JWT library, each answered with a clear 4xx JSON error, never a 500.
//!
//! Where each attack of the list lives (some are in `scenarios.rs`):
//! - `alg` none/None/NONE/empty: [`alg_none_in_every_spelling_is_refused`]
//! - HS256 signed with the public key: [`hs256_signed_with_the_public_key_is_refused`]
//! - an algorithm outside the key's: [`algorithms_outside_the_keys_are_refused`]
//! - embedded `jwk`, `jku`, `x5u`, `x5c`: [`embedded_keys_are_never_followed`]
//! - `kid` traversal, SQL-ish, unknown, 5 KB: [`kid_injection_is_refused`]
//! - unknown `crit`: [`crit_headers_are_refused`]
//! - `exp`/`nbf` types, `nbf` in the future: [`time_claims_must_be_integers_and_current`]
//! - wrong `iss`/`aud`: [`wrong_issuer_or_audience_is_refused`]
//! - refresh as access and the reverse: `scenarios::refresh_token_is_not_an_access_token`,
//!   `scenarios::access_token_is_not_a_refresh_token`
//! - a retired key after its grace: [`token_of_a_retired_key_is_refused_after_its_grace`]
//! - base64 padding, `+`, `/`, spaces; 2, 4, 5 segments; header not an object; invalid UTF-8:
//!   [`token_shapes_are_refused`]
//! - a 60 KB `Authorization` header: [`huge_authorization_header_is_a_clean_4xx`]
//! - 5000-deep JSON, multipart without boundary or truncated: `scenarios::malformed_bodies_are_400`
//! - duplicate JSON and multipart fields: `scenarios::duplicate_fields_are_400`
//! - 10 MB body refused before it is read: [`big_body_is_refused_before_it_is_read`]
//! - token in the query string: `scenarios::token_in_query_string_is_ignored`

use std::io::{Read as _, Write as _};
use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::{json, Value};

use super::keys::{self, TestKey};
use super::{claims_of, demo, header_of, sign_hs256, start, start_with, Adapter, Body, Server};

fn now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs(),
    )
    .expect("fits")
}

/// A server whose single key is `key`, set through the environment shortcut.
async fn asymmetric(adapter: Adapter, key: &TestKey) -> Server {
    let algorithm = format!("{:?}", key.algorithm);
    let file = key.file();
    let file = file.to_str().expect("utf-8 path").to_owned();
    start(
        adapter,
        &[
            ("TOKENGATE_ALGORITHM", algorithm.as_str()),
            ("TOKENGATE_KEY_FILE", file.as_str()),
        ],
    )
    .await
}

/// A JWS over raw header and payload texts, HS256 with `secret`.
fn sign_raw(secret: &[u8], header: &str, payload: &str) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let key = jsonwebtoken::EncodingKey::from_secret(secret).expect("hmac key");
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &key, jsonwebtoken::Algorithm::HS256)
            .expect("sign");
    format!("{message}.{signature}")
}

async fn jwks(server: &Server) -> Value {
    let reply = server.get("/api/rest/jwks", &[]).await;
    reply.expect(200);
    reply.json()
}

// ---- asymmetric keys, published ----

async fn published_keys_verify_our_tokens(adapter: Adapter, key: &TestKey, alg: &str) {
    let server = asymmetric(adapter, key).await;
    let tokens = server.signin(&[]).await.tokens();
    let header = header_of(&tokens.access);
    assert_eq!(header["alg"], alg);
    let kid = header["kid"].as_str().expect("a kid").to_owned();
    server.me(&tokens.access).await.expect(200);
    server.refresh(&tokens.refresh).await.tokens();

    let document = jwks(&server).await;
    let published = document["keys"].as_array().expect("keys");
    assert_eq!(published.len(), 1, "{document}");
    let jwk = &published[0];
    assert_eq!(jwk["kid"], kid.as_str());
    assert_eq!(jwk["alg"], alg);
    assert_eq!(jwk["use"], "sig");
    for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
        assert!(
            jwk.get(private).is_none(),
            "private `{private}` published: {jwk}"
        );
    }
    // Another JOSE library verifies our access token with the published key alone.
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).expect("a JWK");
    let decoding = jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("usable JWK");
    let mut validation = jsonwebtoken::Validation::new(key.algorithm);
    validation.set_issuer(&["tokengate"]);
    let data = jsonwebtoken::decode::<Value>(&tokens.access, &decoding, &validation)
        .expect("jsonwebtoken verifies the token with our JWKS");
    assert_eq!(data.claims["sub"], demo::USER.0);

    let reply = server
        .post("/api/rest/jwks", Body::Json(json!({})), &[])
        .await;
    reply.expect(405).error("method_not_allowed");
    assert_eq!(reply.header("allow"), Some("GET"));
}

pub async fn eddsa_tokens_verify_with_the_published_jwks(adapter: Adapter) {
    published_keys_verify_our_tokens(adapter, &keys::ed25519(), "EdDSA").await;
}

pub async fn es256_tokens_verify_with_the_published_jwks(adapter: Adapter) {
    published_keys_verify_our_tokens(adapter, &keys::p256(), "ES256").await;
}

pub async fn rs256_tokens_verify_with_the_published_jwks(adapter: Adapter) {
    published_keys_verify_our_tokens(adapter, &keys::rsa(), "RS256").await;
}

pub async fn hs256_keys_are_never_published(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    assert_eq!(jwks(&server).await, json!({"keys": []}));
}

// ---- the attacks ----

pub async fn alg_none_in_every_spelling_is_refused(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let claims = claims_of(&tokens.access);
    let kid = header_of(&tokens.access)["kid"].clone();
    for alg in ["none", "None", "NONE", "nOnE", ""] {
        let header = json!({"alg": alg, "typ": "at+jwt", "kid": kid});
        let signed = server.forge(&header, &claims);
        let unsigned = format!("{}.", signed.rsplit_once('.').expect("dots").0);
        server.me(&signed).await.invalid_token();
        server.me(&unsigned).await.invalid_token();
        let header = json!({"alg": alg, "typ": "at+jwt"});
        let unsigned = format!(
            "{}.",
            server
                .forge(&header, &claims)
                .rsplit_once('.')
                .expect("dots")
                .0
        );
        server.me(&unsigned).await.invalid_token();
    }
}

pub async fn hs256_signed_with_the_public_key_is_refused(adapter: Adapter) {
    for key in [keys::ed25519(), keys::rsa()] {
        let server = asymmetric(adapter, &key).await;
        let tokens = server.signin(&[]).await.tokens();
        let claims = claims_of(&tokens.access);
        let kid = header_of(&tokens.access)["kid"].clone();
        let document = jwks(&server).await;
        let jwk = document["keys"][0].clone();
        let mut secrets: Vec<Vec<u8>> = vec![key.public.clone(), jwk.to_string().into_bytes()];
        for component in ["x", "n"] {
            if let Some(value) = jwk[component].as_str() {
                secrets.push(URL_SAFE_NO_PAD.decode(value).expect("base64url"));
                secrets.push(value.as_bytes().to_vec());
            }
        }
        for secret in &secrets {
            for alg in ["HS256", "HS384", "HS512"] {
                let header = json!({"alg": alg, "typ": "at+jwt", "kid": kid});
                server
                    .me(&sign_hs256(secret, &header, &claims))
                    .await
                    .invalid_token();
            }
        }
        // Sanity: the real key's signature passes.
        let header = json!({"alg": format!("{:?}", key.algorithm), "typ": "at+jwt", "kid": kid});
        server.me(&key.sign(&header, &claims)).await.expect(200);
    }
}

pub async fn algorithms_outside_the_keys_are_refused(adapter: Adapter) {
    let key = keys::ed25519();
    let server = asymmetric(adapter, &key).await;
    let tokens = server.signin(&[]).await.tokens();
    let claims = claims_of(&tokens.access);
    let kid = header_of(&tokens.access)["kid"].clone();
    // Signed by the right key, labelled with another algorithm.
    for alg in [
        "ES256", "RS256", "PS256", "HS256", "eddsa", "Ed25519", "EdDSA ",
    ] {
        let header = json!({"alg": alg, "typ": "at+jwt", "kid": kid});
        server.me(&key.sign(&header, &claims)).await.invalid_token();
    }
    // Another key of the same algorithm is not ours.
    let stranger = keys::ed25519();
    let header = json!({"alg": "EdDSA", "typ": "at+jwt", "kid": kid});
    server
        .me(&stranger.sign(&header, &claims))
        .await
        .invalid_token();
    // An HS256 server refuses every asymmetric label.
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let claims = claims_of(&tokens.access);
    let kid = header_of(&tokens.access)["kid"].clone();
    for alg in ["EdDSA", "ES256", "RS256"] {
        let header = json!({"alg": alg, "typ": "at+jwt", "kid": kid});
        server
            .me(&server.forge(&header, &claims))
            .await
            .invalid_token();
    }
}

pub async fn embedded_keys_are_never_followed(adapter: Adapter) {
    let key = keys::ed25519();
    let server = asymmetric(adapter, &key).await;
    let tokens = server.signin(&[]).await.tokens();
    let claims = claims_of(&tokens.access);
    let kid = header_of(&tokens.access)["kid"]
        .as_str()
        .expect("kid")
        .to_owned();
    let attacker = keys::ed25519();
    let attacker_jwk = json!({
        "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(&attacker.public),
    });
    let headers = [
        json!({"alg": "EdDSA", "typ": "at+jwt", "jwk": attacker_jwk}),
        json!({"alg": "EdDSA", "typ": "at+jwt", "kid": kid, "jwk": attacker_jwk}),
        json!({"alg": "EdDSA", "typ": "at+jwt", "jku": "http://127.0.0.1:9/jwks.json"}),
        json!({"alg": "EdDSA", "typ": "at+jwt", "kid": kid, "jku": "http://127.0.0.1:9/jwks.json"}),
        json!({"alg": "EdDSA", "typ": "at+jwt", "x5u": "http://127.0.0.1:9/cert.pem"}),
        json!({"alg": "EdDSA", "typ": "at+jwt", "kid": kid, "x5c": [STANDARD.encode(&attacker.public)]}),
    ];
    for header in &headers {
        server
            .me(&attacker.sign(header, &claims))
            .await
            .invalid_token();
    }
}

pub async fn kid_injection_is_refused(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let claims = claims_of(&tokens.access);
    let long = "k".repeat(5 * 1024);
    let kids = [
        json!("../../../../etc/passwd"),
        json!("/dev/null"),
        json!("' OR '1'='1"),
        json!("x'; DROP TABLE keys; --"),
        json!("unknown-kid"),
        json!(long),
        json!(""),
        json!(7),
        json!(null),
        json!(["a"]),
    ];
    for kid in &kids {
        let header = json!({"alg": "HS256", "typ": "at+jwt", "kid": kid});
        server
            .me(&server.forge(&header, &claims))
            .await
            .invalid_token();
    }
}

pub async fn crit_headers_are_refused(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let claims = claims_of(&tokens.access);
    let kid = header_of(&tokens.access)["kid"].clone();
    for crit in [json!(["x-custom"]), json!([]), json!("exp"), json!(null)] {
        let header =
            json!({"alg": "HS256", "typ": "at+jwt", "kid": kid, "crit": crit, "x-custom": 1});
        server
            .me(&server.forge(&header, &claims))
            .await
            .invalid_token();
    }
}

pub async fn time_claims_must_be_integers_and_current(adapter: Adapter) {
    let server = start(adapter, &[("TOKENGATE_LEEWAY", "0s")]).await;
    let tokens = server.signin(&[]).await.tokens();
    let kid = header_of(&tokens.access)["kid"]
        .as_str()
        .expect("kid")
        .to_owned();
    let header = format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}"}}"#);
    let claims = claims_of(&tokens.access);
    let (iat, exp) = (now(), now() + 600);
    let rest = format!(
        r#""iss":"tokengate","sub":{},"jti":"j","sid":{}"#,
        claims["sub"], claims["sid"]
    );
    let good = format!(r#"{{{rest},"iat":{iat},"exp":{exp}}}"#);
    server
        .me(&sign_raw(server.secret.as_bytes(), &header, &good))
        .await
        .expect(200);
    let bad = [
        format!(r#"{{{rest},"iat":{iat},"exp":"{exp}"}}"#),
        format!(r#"{{{rest},"iat":{iat},"exp":{exp}.5}}"#),
        format!(r#"{{{rest},"iat":{iat},"exp":1e400}}"#),
        format!(r#"{{{rest},"iat":{iat},"exp":1e10}}"#),
        format!(r#"{{{rest},"iat":{iat},"exp":-1}}"#),
        format!(r#"{{{rest},"iat":{iat},"exp":null}}"#),
        format!(r#"{{{rest},"iat":{iat}}}"#),
        format!(r#"{{{rest},"iat":{iat},"exp":{exp},"nbf":"{iat}"}}"#),
        format!(r#"{{{rest},"iat":{iat},"exp":{exp},"nbf":{iat}.0}}"#),
        format!(r#"{{{rest},"iat":{iat},"exp":{exp},"nbf":1e400}}"#),
        format!(r#"{{{rest},"iat":{iat},"exp":{exp},"nbf":-5}}"#),
        format!(r#"{{{rest},"iat":{iat},"exp":{exp},"nbf":null}}"#),
        format!(r#"{{{rest},"iat":{iat},"exp":{exp},"nbf":{}}}"#, iat + 3600),
        format!(r#"{{{rest},"iat":"{iat}","exp":{exp}}}"#),
        format!(r#"{{{rest},"exp":{exp}}}"#),
        format!(r#"{{{rest},"iat":{iat},"exp":{},"exp":{exp}}}"#, iat - 10),
    ];
    for payload in &bad {
        let reply = server
            .me(&sign_raw(server.secret.as_bytes(), &header, payload))
            .await;
        assert_eq!(reply.status, 401, "accepted: {payload}");
        reply.invalid_token();
    }
}

pub async fn wrong_issuer_or_audience_is_refused(adapter: Adapter) {
    let server = start(adapter, &[("TOKENGATE_AUDIENCE", "orders-api")]).await;
    let tokens = server.signin(&[]).await.tokens();
    let claims = claims_of(&tokens.access);
    assert_eq!(claims["aud"], "orders-api");
    server.me(&tokens.access).await.expect(200);
    let kid = header_of(&tokens.access)["kid"].clone();
    let header = json!({"alg": "HS256", "typ": "at+jwt", "kid": kid});
    let mut forged = Vec::new();
    for (name, value) in [
        ("aud", json!("billing-api")),
        ("aud", json!(["billing-api"])),
        ("aud", Value::Null),
        ("iss", json!("someone-else")),
        ("iss", json!(["tokengate"])),
    ] {
        let mut claims = claims.clone();
        claims[name] = value;
        forged.push(claims);
    }
    let mut without = claims.clone();
    without.as_object_mut().expect("object").remove("aud");
    forged.push(without);
    for claims in &forged {
        server
            .me(&server.forge(&header, claims))
            .await
            .invalid_token();
    }
}

pub async fn token_of_a_retired_key_is_refused_after_its_grace(adapter: Adapter) {
    let secret = |n: u8| format!("a-test-only-rotation-secret-number-{n}-of-32-bytes");
    let toml = format!(
        r#"[default]
        keys = [
            {{ kid = "current", algorithm = "HS256", secret = "{}", signing = true }},
            {{ kid = "in-grace", algorithm = "HS256", secret = "{}", verify_until = {} }},
            {{ kid = "retired", algorithm = "HS256", secret = "{}", verify_until = {} }},
        ]"#,
        secret(1),
        secret(2),
        now() + 3600,
        secret(3),
        now() - 60,
    );
    let server = start_with(adapter, Some(&toml), &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    assert_eq!(header_of(&tokens.access)["kid"], "current");
    let claims = claims_of(&tokens.access);
    let token = |n: u8, kid: &str| {
        sign_hs256(
            secret(n).as_bytes(),
            &json!({"alg": "HS256", "typ": "at+jwt", "kid": kid}),
            &claims,
        )
    };
    server.me(&token(1, "current")).await.expect(200);
    server.me(&token(2, "in-grace")).await.expect(200);
    server.me(&token(3, "retired")).await.invalid_token();
    // A kid does not lend its key to another's signature.
    server.me(&token(3, "current")).await.invalid_token();
    server.me(&token(1, "in-grace")).await.invalid_token();
}

pub async fn token_shapes_are_refused(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let [h, p, s]: [&str; 3] = tokens
        .access
        .split('.')
        .collect::<Vec<_>>()
        .try_into()
        .expect("three parts");
    let kid = header_of(&tokens.access)["kid"]
        .as_str()
        .expect("kid")
        .to_owned();
    let claims = claims_of(&tokens.access).to_string();
    let resign = |header: &[u8], payload: &[u8]| {
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let key = jsonwebtoken::EncodingKey::from_secret(server.secret.as_bytes()).expect("key");
        let signature =
            jsonwebtoken::crypto::sign(message.as_bytes(), &key, jsonwebtoken::Algorithm::HS256)
                .expect("sign");
        format!("{message}.{signature}")
    };
    let cases = vec![
        // base64 with padding, the standard alphabet, spaces
        format!("{h}=.{p}.{s}"),
        format!("{h}.{p}==.{s}"),
        format!("{h}.{p}.{s}="),
        format!("{h}.{p}.+{}", &s[1..]),
        format!("{h}.{p}.{}/", &s[..s.len() - 1]),
        format!("+{}.{p}.{s}", &h[1..]),
        format!("{h}.{}/.{s}", &p[..p.len() - 1]),
        format!("{h}.{p}.{}+/", &s[..s.len() - 2]),
        format!("{h} .{p}.{s}"),
        format!("{h}.{} {}.{s}", &p[..4], &p[4..]),
        // 1, 2, 4 and 5 segments
        h.to_owned(),
        format!("{h}.{p}"),
        format!("{h}.{p}.{s}."),
        format!("{h}.{p}.{s}.{s}"),
        format!("{h}.{p}.{s}.{h}.{p}"),
        // headers that are not an object, invalid UTF-8
        resign(b"\"HS256\"", claims.as_bytes()),
        resign(b"42", claims.as_bytes()),
        resign(b"null", claims.as_bytes()),
        resign(b"[\"HS256\"]", claims.as_bytes()),
        resign(
            b"{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"\xff\xfe\"}",
            claims.as_bytes(),
        ),
        resign(
            format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}"}}"#).as_bytes(),
            b"\xff\xfe{}",
        ),
        resign(
            format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}"}}"#).as_bytes(),
            b"[1,2]",
        ),
        // empty parts
        format!("..{s}"),
        format!("{h}..{s}"),
        format!("{h}.{p}."),
    ];
    for token in &cases {
        let reply = server.me(token).await;
        assert_eq!(reply.status, 401, "accepted: {token}");
        reply.invalid_token();
    }
    // Sanity: the same resigning makes a token the server takes.
    let header = format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}"}}"#);
    server
        .me(&resign(header.as_bytes(), claims.as_bytes()))
        .await
        .expect(200);
    // Bytes that are not UTF-8 in the header itself count as no bearer token.
    let reply = server
        .send(
            reqwest::Client::new()
                .get(server.url("/api/rest/me"))
                .header(
                    "authorization",
                    reqwest::header::HeaderValue::from_bytes(b"Bearer \xff\xfe.x.y")
                        .expect("obs-text"),
                ),
        )
        .await;
    reply.expect(401).error("missing_token");
}

pub async fn huge_authorization_header_is_a_clean_4xx(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    for size in [9 * 1024, 60 * 1024] {
        let auth = format!("Bearer {}", "a".repeat(size));
        let reply = server
            .get("/api/rest/me", &[("authorization", auth.as_str())])
            .await;
        assert!(
            (400..500).contains(&reply.status),
            "{size} bytes: status {}",
            reply.status
        );
        if reply.status == 401 {
            reply.invalid_token();
        }
    }
}

/// Sends only the head of a 10 MB upload and reads the answer: the server must refuse it
/// from `Content-Length` alone, without waiting for a body that never comes.
pub async fn big_body_is_refused_before_it_is_read(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let address = server.base.trim_start_matches("http://").to_owned();
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&address).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        let head = format!(
            "POST /api/rest/signin HTTP/1.1\r\nHost: {address}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: 10485760\r\n\r\nlogin=a"
        );
        stream.write_all(head.as_bytes()).expect("send the head");
        let mut answer = Vec::new();
        let mut buffer = [0u8; 4096];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") || !answer.ends_with(b"}") {
            match stream.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
                Err(e) => panic!("no answer before the body was sent: {e}"),
            }
        }
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .expect("the client thread");
    let reply = super::Reply::parse_raw(&answer);
    super::record("POST", "/api/rest/signin (head only)", &reply);
    assert_eq!(reply.status, 413, "{answer}");
    reply.expect(413).error("payload_too_large");
}

// ---- throttling ----

pub async fn failed_signins_end_in_429_with_retry_after(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let attempt = |login: &'static str, password: &'static str| {
        let server = &server;
        async move {
            server
                .post(
                    "/api/rest/signin",
                    Body::Multipart(&[("login", login), ("password", password)]),
                    &[],
                )
                .await
        }
    };
    let mut statuses = Vec::new();
    for _ in 0..30 {
        statuses.push(attempt(demo::USER.0, "wrong password").await.status);
    }
    assert_eq!(&statuses[..10], [401; 10]);
    assert_eq!(&statuses[10..], [429; 20]);
    let reply = attempt(demo::USER.0, demo::USER.1).await;
    reply.expect(429).error("too_many_attempts");
    let retry: u64 = reply
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=900).contains(&retry), "{retry}");
    // An unknown login is throttled at the same count: the answer tells nothing.
    for i in 0..11 {
        let reply = attempt("nobody@example.org", "whatever").await;
        assert_eq!(reply.status, if i < 10 { 401 } else { 429 });
    }
}

pub async fn failed_signins_are_throttled_per_address(adapter: Adapter) {
    let server = start(adapter, &[("TOKENGATE_THROTTLE_PER_ADDRESS", "5")]).await;
    let logins = [
        "a@example.org",
        "b@example.org",
        "c@example.org",
        "d@example.org",
        "e@example.org",
        "f@example.org",
    ];
    for (i, login) in logins.iter().enumerate() {
        let reply = server
            .post(
                "/api/rest/signin",
                Body::Form(&[("login", login), ("password", "x")]),
                &[],
            )
            .await;
        assert_eq!(reply.status, if i < 5 { 401 } else { 429 }, "attempt {i}");
    }
    server.signin(&[]).await.expect(429);
}
