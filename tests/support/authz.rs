//! Per-route requirements: roles, scopes, users and applications, decided in core and answered
//! alike by both adapters (the demo's `/api/rest/admin` and `/api/rest/machine`).

use super::guard::MISSING;
use super::{demo, start, Body, Server};

/// The access token of a sign-in with these fields.
async fn access(server: &Server, fields: &[(&str, &str)]) -> String {
    server
        .post("/api/rest/signin", Body::Form(fields), &[])
        .await
        .tokens()
        .access
}

async fn john(server: &Server) -> String {
    access(
        server,
        &[("login", demo::USER.0), ("password", demo::USER.1)],
    )
    .await
}

async fn jane(server: &Server) -> String {
    let (login, password) = demo::SECOND_USER;
    access(server, &[("login", login), ("password", password)]).await
}

async fn machine(server: &Server) -> String {
    let (app, key, secret) = demo::APPLICATION;
    access(
        server,
        &[("login", key), ("password", secret), ("application", app)],
    )
    .await
}

async fn call(server: &Server, path: &str, token: &str) -> super::Reply {
    server
        .get(path, &[("authorization", &format!("Bearer {token}"))])
        .await
}

fn insufficient(scope: &str) -> String {
    format!("Bearer realm=\"tokengate\", error=\"insufficient_scope\", scope=\"{scope}\"")
}

pub async fn a_role_route_admits_its_role_and_refuses_others_with_403(adapter: super::Adapter) {
    let server = start(adapter, &[]).await;
    let admin = call(&server, "/api/rest/admin", &john(&server).await).await;
    admin.expect(200);
    assert_eq!(admin.json()["sub"], demo::USER.0);
    assert_eq!(admin.json()["roles"], serde_json::json!(["user", "admin"]));

    let user = call(&server, "/api/rest/admin", &jane(&server).await).await;
    user.expect(403);
    assert_eq!(
        user.header("www-authenticate"),
        Some(insufficient("admin").as_str())
    );
    assert_eq!(user.json()["error"], "insufficient_scope");

    let application = call(&server, "/api/rest/admin", &machine(&server).await).await;
    application.expect(403);
    assert_eq!(
        application.header("www-authenticate"),
        Some(insufficient("admin").as_str())
    );

    let anonymous = server.get("/api/rest/admin", &[]).await;
    anonymous.expect(401);
    assert_eq!(anonymous.header("www-authenticate"), MISSING);
}

pub async fn an_application_route_admits_its_scoped_application_only(adapter: super::Adapter) {
    let server = start(adapter, &[]).await;
    let app = call(&server, "/api/rest/machine", &machine(&server).await).await;
    app.expect(200);
    assert_eq!(app.json()["app"], demo::APPLICATION.0);
    assert_eq!(app.json()["scope"], "read");

    // A user token, even an administrator's, is neither an application nor scoped.
    let user = call(&server, "/api/rest/machine", &john(&server).await).await;
    user.expect(403);
    assert_eq!(
        user.header("www-authenticate"),
        Some(insufficient("application read").as_str())
    );
    assert_eq!(user.json()["error"], "insufficient_scope");
}

pub async fn a_requirement_needs_a_token_even_where_the_guard_does_not(adapter: super::Adapter) {
    // Optional mode and a public prefix: the guard lets anonymous requests through, the
    // requirement does not.
    let server = start(
        adapter,
        &[
            ("TOKENGATE_MODE", "optional"),
            ("TOKENGATE_PUBLIC_PATHS", "/health,/api/rest/admin"),
        ],
    )
    .await;
    let anonymous = server.get("/api/rest/admin", &[]).await;
    anonymous.expect(401);
    assert_eq!(anonymous.header("www-authenticate"), MISSING);
    let garbage = call(&server, "/api/rest/admin", "not-a-token").await;
    garbage.expect(401);
    call(&server, "/api/rest/admin", &john(&server).await)
        .await
        .expect(200);
}

/// The signed-in tokens of a user.
async fn tokens_of(server: &Server, (login, password): (&str, &str)) -> super::Tokens {
    server
        .post(
            "/api/rest/signin",
            Body::Form(&[("login", login), ("password", password)]),
            &[],
        )
        .await
        .tokens()
}

pub async fn a_role_removed_shows_at_the_next_refresh(adapter: super::Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = tokens_of(&server, demo::USER).await;
    call(&server, "/api/rest/admin", &tokens.access)
        .await
        .expect(200);
    let mut claims = serde_json::Map::new();
    claims.insert("name".into(), "John Doe".into());
    claims.insert("roles".into(), serde_json::json!(["user"]));
    assert!(server.directory.set_user_claims(demo::USER.0, claims));
    let renewed = server.refresh(&tokens.refresh).await.tokens();
    assert_eq!(
        super::claims_of(&renewed.access)["roles"],
        serde_json::json!(["user"])
    );
    let refused = call(&server, "/api/rest/admin", &renewed.access).await;
    refused.expect(403);
    assert_eq!(
        refused.header("www-authenticate"),
        Some(insufficient("admin").as_str())
    );
}

pub async fn a_removed_user_cannot_refresh(adapter: super::Adapter) {
    let server = start(adapter, &[]).await;
    let tokens = tokens_of(&server, demo::SECOND_USER).await;
    server.refresh(&tokens.refresh).await.expect(201);
    assert!(server.directory.remove_user(demo::SECOND_USER.0));
    let gone = server.refresh(&tokens.refresh).await;
    gone.expect(401);
    assert_eq!(gone.json()["error"], "invalid_token");
    // The session ended with it: its refresh token stays refused, and the user cannot sign in.
    server.refresh(&tokens.refresh).await.expect(401);
    let (login, password) = demo::SECOND_USER;
    server
        .post(
            "/api/rest/signin",
            Body::Form(&[("login", login), ("password", password)]),
            &[],
        )
        .await
        .expect(401);
}

pub async fn revoke_subject_ends_every_session_of_the_subject(adapter: super::Adapter) {
    let server = start(adapter, &[]).await;
    let first = tokens_of(&server, demo::USER).await;
    let second = tokens_of(&server, demo::USER).await;
    let other = tokens_of(&server, demo::SECOND_USER).await;
    assert_eq!(server.gate.revoke_subject(demo::USER.0).await.unwrap(), 2);
    server.refresh(&first.refresh).await.expect(401);
    server.refresh(&second.refresh).await.expect(401);
    server.refresh(&other.refresh).await.expect(201);
}

pub async fn any_of_a_role_or_a_scope_admits_either(adapter: super::Adapter) {
    let server = start(adapter, &[]).await;
    call(&server, "/api/rest/reports", &john(&server).await)
        .await
        .expect(200);
    call(&server, "/api/rest/reports", &machine(&server).await)
        .await
        .expect(200);
    let neither = call(&server, "/api/rest/reports", &jane(&server).await).await;
    neither.expect(403);
    assert_eq!(
        neither.header("www-authenticate"),
        Some(insufficient("admin read").as_str())
    );
}

pub async fn a_user_route_refuses_application_tokens(adapter: super::Adapter) {
    let server = start(adapter, &[]).await;
    call(&server, "/api/rest/account", &jane(&server).await)
        .await
        .expect(200);
    let app = call(&server, "/api/rest/account", &machine(&server).await).await;
    app.expect(403);
    assert_eq!(
        app.header("www-authenticate"),
        Some(insufficient("user").as_str())
    );
}
