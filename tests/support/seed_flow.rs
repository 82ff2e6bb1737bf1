//! The seed's flow, in every body encoding: sign-in, token, sign-out and its scopes.

use serde_json::json;

use super::{claims_of, demo, header_of, start, Adapter, Body};

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
