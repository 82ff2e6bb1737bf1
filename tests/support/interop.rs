//! Other services and OAuth clients: introspection (RFC 7662) and revocation (RFC 7009).
//!
//! The attacks on them, each a scenario here:
//!
//! - introspection without client credentials, with a public client's id alone, a user's
//!   password, an unknown key, a wrong secret or a malformed `Authorization: Basic`: 401; a
//!   secret without its id, or credentials both ways at once: 400; never a token's state;
//! - another application's credentials: allowed, it sees the token's claims as any service the
//!   token is sent to would (`client_id` and `app` say whose token it is);
//! - guessing an application's secret there, in a burst: throttled as a sign-in is (429 with
//!   `Retry-After`, the right secret refused too from that address), and without locking the
//!   application out from its own address;
//! - a refresh token, a WebSocket ticket, an expired token (within the guard's leeway too),
//!   a token of another issuer or signed with another key under our `kid`, garbage:
//!   `{"active": false}` and nothing else;
//! - a token whose session ended — on this instance or on another sharing the store — is
//!   inactive at once, with no cache to wait out;
//! - oversized and malformed bodies: 413, 415 and 400 before any credential is verified;
//! - revocation with wrong or unreadable client credentials: 401, and nothing ended; with a
//!   public client's id alone, or an expired access token: the token decides.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use super::{
    claims_of, demo, header_of, parallel, sign_hs256, start, Adapter, Body, Reply, Server,
};

fn now() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    i64::try_from(since.expect("after 1970").as_secs()).expect("seconds")
}

const INTROSPECT: &str = "/api/rest/introspect";
const REVOKE: &str = "/api/rest/revoke";

/// `Authorization: Basic` for a client id and secret.
fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// The demo application's `Authorization: Basic`.
fn demo_client() -> String {
    basic(demo::APPLICATION.1, demo::APPLICATION.2)
}

async fn introspect(server: &Server, token: &str, authorization: &str) -> Reply {
    server
        .post(
            INTROSPECT,
            Body::Form(&[("token", token)]),
            &[("authorization", authorization)],
        )
        .await
}

/// The answer of an introspection that found the token inactive: exactly `{"active": false}`.
fn inactive(reply: &Reply) {
    reply.expect(200);
    assert_eq!(reply.json(), json!({ "active": false }));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

async fn signin_application(server: &Server) -> Value {
    let (app, key, secret) = demo::APPLICATION;
    server
        .post(
            "/api/rest/signin",
            Body::Multipart(&[("login", key), ("password", secret), ("application", app)]),
            &[],
        )
        .await
        .expect(201)
        .json()
}

/// A live access token is active with its claims, for Basic and for form credentials; a
/// refresh token, a ticket, an expired token, another issuer's and garbage are not; signing
/// out makes it inactive at once, here and on a second instance sharing the store.
pub async fn introspection_tells_a_live_access_token_from_anything_else(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let reply = introspect(&server, &tokens.access, &demo_client()).await;
    reply.expect(200);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let answer = reply.json();
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["sub"], demo::USER.0);
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["iss"], "tokengate");
    for claim in ["exp", "iat", "sid", "jti"] {
        assert!(answer.get(claim).is_some(), "{claim} in {answer}");
    }
    assert!(answer.get("client_id").is_none(), "{answer}");
    // The same with `client_id` and `client_secret` in the body, as JSON.
    let (_, key, secret) = demo::APPLICATION;
    let reply = server
        .post(
            INTROSPECT,
            Body::Json(
                json!({ "token": tokens.access, "client_id": key, "client_secret": secret,
                "token_type_hint": "access_token" }),
            ),
            &[],
        )
        .await;
    assert_eq!(reply.expect(200).json()["active"], true);

    // An application's token says whose it is, and carries its scopes.
    let app_tokens = signin_application(&server).await;
    let access = app_tokens["accessToken"].as_str().expect("an access token");
    let answer = introspect(&server, access, &demo_client()).await.json();
    assert_eq!(answer["client_id"], demo::APPLICATION.1, "{answer}");
    assert_eq!(answer["sub"], demo::APPLICATION.1);
    assert_eq!(answer["app"], demo::APPLICATION.0);

    // Nothing else is active.
    let ticket = server
        .post(
            "/api/rest/ticket",
            Body::None,
            &[("authorization", &format!("Bearer {}", tokens.access))],
        )
        .await
        .expect(201)
        .json()["ticket"]
        .as_str()
        .expect("a ticket")
        .to_owned();
    // Forged with the real key's header and a live session: only the signature, the issuer
    // or the time is wrong.
    let header = header_of(&tokens.access);
    let mut claims = claims_of(&tokens.access);
    let foreign = sign_hs256(
        b"another-issuer-secret-of-32-bytes-or-more",
        &header,
        &claims,
    );
    claims["iss"] = json!("another-issuer");
    let other_issuer = server.forge(&header, &claims);
    claims["iss"] = json!("tokengate");
    // Within the guard's leeway for other hosts' clocks, but past its `exp`: inactive here.
    claims["exp"] = json!(now() - 5);
    let expired = server.forge(&header, &claims);
    for token in [
        tokens.refresh.as_str(),
        ticket.as_str(),
        foreign.as_str(),
        other_issuer.as_str(),
        expired.as_str(),
        "garbage",
        "a.b.c",
    ] {
        inactive(&introspect(&server, token, &demo_client()).await);
    }

    // A second instance on the same store sees the session live, then ended, at once.
    let twin = server.twin(adapter).await;
    if let Some(twin) = &twin {
        let reply = introspect(twin, &tokens.access, &demo_client()).await;
        assert_eq!(reply.expect(200).json()["active"], true);
    }
    server.signout(&tokens.refresh, &[]).await.expect(200);
    inactive(&introspect(&server, &tokens.access, &demo_client()).await);
    if let Some(twin) = &twin {
        inactive(&introspect(twin, &tokens.access, &demo_client()).await);
        // And a session ended on the second instance is ended for the first.
        let app_refresh = app_tokens["refreshToken"]
            .as_str()
            .expect("a refresh token");
        twin.signout(app_refresh, &[]).await.expect(200);
        inactive(&introspect(&server, access, &demo_client()).await);
    }
}

/// Attack: introspection without proper client credentials tells nothing of the token.
pub async fn introspection_needs_an_application(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let (_, key, secret) = demo::APPLICATION;
    let refused: [&[(&str, &str)]; 5] = [
        &[],
        &[("authorization", &basic(demo::USER.0, demo::USER.1))],
        &[("authorization", &basic("unknown-key", secret))],
        &[("authorization", &basic(key, "wrong-secret"))],
        &[("authorization", "Basic !!not-base64")],
    ];
    for headers in refused {
        let reply = server
            .post(
                INTROSPECT,
                Body::Form(&[("token", &tokens.access)]),
                headers,
            )
            .await;
        reply.expect(401).error("invalid_client");
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Basic realm=\"tokengate\"")
        );
        assert!(reply.json().get("active").is_none());
    }
    // The access token itself is no client credential.
    server
        .post(
            INTROSPECT,
            Body::Form(&[("token", &tokens.access)]),
            &[("authorization", &format!("Bearer {}", tokens.access))],
        )
        .await
        .expect(401)
        .error("invalid_client");
    // A public client's id proves nothing: 401. A secret without its id, or credentials both
    // ways at once: 400.
    server
        .post(
            INTROSPECT,
            Body::Form(&[("token", &tokens.access), ("client_id", key)]),
            &[],
        )
        .await
        .expect(401)
        .error("invalid_client");
    server
        .post(
            INTROSPECT,
            Body::Form(&[("token", &tokens.access), ("client_secret", secret)]),
            &[],
        )
        .await
        .expect(400)
        .says("client_id");
    // The Basic id repeated in the body is the same client.
    let reply = server
        .post(
            INTROSPECT,
            Body::Form(&[("token", &tokens.access), ("client_id", key)]),
            &[("authorization", &demo_client())],
        )
        .await;
    assert_eq!(reply.expect(200).json()["active"], true);
    server
        .post(
            INTROSPECT,
            Body::Form(&[
                ("token", &tokens.access),
                ("client_id", key),
                ("client_secret", secret),
            ]),
            &[("authorization", &demo_client())],
        )
        .await
        .expect(400)
        .says("client_secret");
    // No token: 400, named.
    server
        .post(
            INTROSPECT,
            Body::Form(&[]),
            &[("authorization", &demo_client())],
        )
        .await
        .expect(400)
        .says("token");
}

/// Another application may introspect any token: it sees every claim, and whose it is.
pub async fn another_application_sees_the_claims_of_any_token(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let other_secret = "another-application-secret";
    let _ = server.directory.clone().application(
        "other-app",
        "other-key",
        &tokengate::credentials::hash_password(other_secret).expect("a hash"),
    );
    let app_tokens = signin_application(&server).await;
    let reply = introspect(
        &server,
        app_tokens["accessToken"].as_str().expect("a token"),
        &basic("other-key", other_secret),
    )
    .await;
    let answer = reply.expect(200).json();
    assert_eq!(answer["active"], true);
    assert_eq!(answer["client_id"], demo::APPLICATION.1);
    assert_eq!(answer["app"], demo::APPLICATION.0);
}

/// Attack: guessing an application's secret at the introspection endpoint, in a burst: it is
/// throttled as a sign-in is (at most the limit verified however many arrive at once), and the
/// right secret is refused too from that address once the key is locked there. From another
/// address the application still authenticates: an outsider who knows a key (it is the `sub`
/// of the application's tokens) cannot lock the resource servers out.
pub async fn guessing_a_client_secret_is_throttled(adapter: Adapter) {
    let server = start(
        adapter,
        &[("TOKENGATE_TRUSTED_PROXY_HEADER", "x-forwarded-for")],
    )
    .await;
    let tokens = server.signin(&[]).await.tokens();
    let (_, key, secret) = demo::APPLICATION;
    let from = |address: &'static str, authorization: String| {
        let server = &server;
        let token = tokens.access.clone();
        async move {
            server
                .post(
                    INTROSPECT,
                    Body::Form(&[("token", &token)]),
                    &[
                        ("authorization", &authorization),
                        ("x-forwarded-for", address),
                    ],
                )
                .await
        }
    };
    let replies = parallel(futures_util::future::join_all(
        (0..30).map(|i| from("203.0.113.7", basic(key, &format!("guess-{i}")))),
    ))
    .await;
    let refused = |status| {
        replies
            .iter()
            .filter(|reply| reply.status == status)
            .count()
    };
    assert_eq!((refused(401), refused(429)), (10, 20));
    let reply = from("203.0.113.7", basic(key, secret)).await;
    reply.expect(429).error("too_many_attempts");
    assert!(reply.header("retry-after").is_some());
    assert!(reply.json().get("active").is_none());
    // The resource server, elsewhere, is not locked out; nor is the user.
    let reply = from("198.51.100.2", basic(key, secret)).await;
    assert_eq!(reply.expect(200).json()["active"], true);
    server.signin(&[]).await.expect(201);
}

/// A resource server's first requests, arriving together before its credentials are
/// remembered, are all answered: they wait for one verification rather than each reserving an
/// attempt and the later ones being refused.
pub async fn a_burst_of_right_client_credentials_is_answered(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = server.signin(&[]).await.tokens();
    let client = demo_client();
    let replies = parallel(futures_util::future::join_all(
        (0..30).map(|_| introspect(&server, &tokens.access, &client)),
    ))
    .await;
    for reply in &replies {
        assert_eq!(reply.expect(200).json()["active"], true);
    }
}

/// Attack: oversized and malformed bodies at the new endpoints are a clean 4xx, before any
/// credential is verified.
pub async fn introspection_and_revocation_refuse_bad_bodies(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let huge = "x".repeat(64 * 1024);
    let client = demo_client();
    for path in [INTROSPECT, REVOKE] {
        let bodies: [(Body<'_>, u16); 5] = [
            (Body::Form(&[("token", &huge)]), 413),
            (Body::Raw("application/json", b"{\"token\":".to_vec()), 400),
            (Body::Raw("text/plain", b"token=x".to_vec()), 415),
            (Body::Form(&[("token", "a"), ("token", "b")]), 400),
            (Body::Form(&[("token", "a\u{0}b")]), 400),
        ];
        for (body, status) in bodies {
            server
                .post(path, body, &[("authorization", &client)])
                .await
                .expect(status);
        }
        let reply = server.get(path, &[]).await;
        reply.expect(405);
        assert_eq!(reply.header("allow"), Some("POST"));
    }
}

/// Revocation as RFC 7009 has it: a refresh token or an access token ends its session, an
/// unknown one is 200 too; client credentials are optional and, when given, checked.
pub async fn revocation_ends_the_session_of_either_token(adapter: Adapter) {
    let server = start(adapter, &[]).await;

    // A refresh token, by itself.
    let tokens = server.signin(&[]).await.tokens();
    let reply = server
        .post(
            REVOKE,
            Body::Form(&[
                ("token", &tokens.refresh),
                ("token_type_hint", "refresh_token"),
            ]),
            &[],
        )
        .await;
    reply.expect(200);
    assert_eq!(
        reply.json(),
        json!({ "signedOut": true, "sessionsEnded": 1 })
    );
    server.refresh(&tokens.refresh).await.expect(401);

    // An access token, with the application's credentials: its session ends.
    let tokens = server.signin(&[]).await.tokens();
    let reply = server
        .post(
            REVOKE,
            Body::Form(&[
                ("token", &tokens.access),
                ("token_type_hint", "access_token"),
            ]),
            &[("authorization", &demo_client())],
        )
        .await;
    assert_eq!(reply.expect(200).json()["sessionsEnded"], 1);
    server.refresh(&tokens.refresh).await.expect(401);
    inactive(&introspect(&server, &tokens.access, &demo_client()).await);

    // A wrong hint only changes the order; unknown, used and foreign tokens are 200.
    let tokens = server.signin(&[]).await.tokens();
    let reply = server
        .post(
            REVOKE,
            Body::Form(&[
                ("token", &tokens.refresh),
                ("token_type_hint", "access_token"),
            ]),
            &[],
        )
        .await;
    assert_eq!(reply.expect(200).json()["sessionsEnded"], 1);
    for token in [tokens.refresh.as_str(), "garbage"] {
        let reply = server
            .post(REVOKE, Body::Form(&[("token", token)]), &[])
            .await;
        assert_eq!(reply.expect(200).json()["sessionsEnded"], 0);
    }

    // Wrong or unreadable client credentials: 401, and the session lives on.
    let tokens = server.signin(&[]).await.tokens();
    server
        .post(
            REVOKE,
            Body::Form(&[("token", &tokens.refresh)]),
            &[("authorization", &basic(demo::APPLICATION.1, "wrong-secret"))],
        )
        .await
        .expect(401)
        .error("invalid_client");
    for unreadable in ["Basic\t!!!", "basic    bm8tY29sb24="] {
        server
            .post(
                REVOKE,
                Body::Form(&[("token", &tokens.refresh)]),
                &[("authorization", unreadable)],
            )
            .await
            .expect(401)
            .error("invalid_client");
    }
    server.refresh(&tokens.refresh).await.expect(201);
    // No token: 400.
    server
        .post(REVOKE, Body::Form(&[]), &[])
        .await
        .expect(400)
        .says("token");
}

/// Revocation by a public client (its `client_id` alone), and of an access token past its
/// `exp`: the token decides.
pub async fn revocation_by_a_public_client_or_of_an_expired_token(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    // A public client's `client_id` alone: the token is the authority.
    let tokens = server.signin(&[]).await.tokens();
    let reply = server
        .post(
            REVOKE,
            Body::Form(&[
                ("token", &tokens.refresh),
                ("client_id", "some-public-client"),
            ]),
            &[],
        )
        .await;
    assert_eq!(reply.expect(200).json()["sessionsEnded"], 1);

    // An access token past its `exp` still ends its session, as an expired refresh token
    // does at `/signout`.
    let tokens = server.signin(&[]).await.tokens();
    let mut claims = claims_of(&tokens.access);
    claims["exp"] = json!(now() - 60);
    claims["iat"] = json!(now() - 120);
    let expired = server.forge(&header_of(&tokens.access), &claims);
    let reply = server
        .post(REVOKE, Body::Form(&[("token", &expired)]), &[])
        .await;
    assert_eq!(reply.expect(200).json()["sessionsEnded"], 1);
    server.refresh(&tokens.refresh).await.expect(401);
}

/// A refresh token signed with the published key (as refresh tokens were before they had a key
/// of their own) still refreshes, and is replaced by the one signed with the unpublished key,
/// so that it stops being a token a service trusting the JWKS could take for an access token.
pub async fn a_refresh_token_of_the_published_key_is_replaced(adapter: Adapter) {
    let key = super::keys::ed25519();
    let file = key.file();
    let file = file.to_str().expect("utf-8 path").to_owned();
    let server = start(
        adapter,
        &[
            ("TOKENGATE_ALGORITHM", "EdDSA"),
            ("TOKENGATE_KEY_FILE", file.as_str()),
        ],
    )
    .await;
    let tokens = server.signin(&[]).await.tokens();
    assert_eq!(header_of(&tokens.access)["alg"], "EdDSA");
    assert_eq!(header_of(&tokens.refresh)["alg"], "HS256");
    let published = header_of(&tokens.access)["kid"].clone();
    assert_ne!(header_of(&tokens.refresh)["kid"], published);
    let legacy = key.sign(
        &json!({ "alg": "EdDSA", "typ": "rt+jwt", "kid": published }),
        &claims_of(&tokens.refresh),
    );
    let renewed = server.refresh(&legacy).await.tokens();
    assert_eq!(renewed.refresh, tokens.refresh);
}
