//! Sessions that survive: rotation with reuse detection, concurrent refreshes, listing,
//! strict revocation, and instances sharing one store. Run on every store.

use std::time::Duration;

use serde_json::Value;

use super::{start, Adapter, Body};

const ROTATION: [(&str, &str); 1] = [("TOKENGATE_ROTATION", "true")];

pub async fn rotation_issues_a_new_refresh_token_and_detects_reuse(adapter: Adapter) {
    let server = start(
        adapter,
        &[
            ("TOKENGATE_ROTATION", "true"),
            ("TOKENGATE_REUSE_GRACE", "0s"),
        ],
    )
    .await;
    let first = server.signin(&[]).await.tokens();
    let second = server.refresh(&first.refresh).await.tokens();
    assert_ne!(
        second.refresh, first.refresh,
        "rotation kept the refresh token"
    );
    server.me(&second.access).await.expect(200);
    let third = server.refresh(&second.refresh).await.tokens();
    assert_ne!(third.refresh, second.refresh);
    // Past the grace (0 s, and the clock counts whole seconds), the old token is a replay.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    server.refresh(&first.refresh).await.invalid_token();
    // ... and the whole session ended with it.
    server.refresh(&third.refresh).await.invalid_token();
}

pub async fn rotation_grace_gives_the_current_token(adapter: Adapter) {
    let server = start(adapter, &ROTATION).await;
    let first = server.signin(&[]).await.tokens();
    let second = server.refresh(&first.refresh).await.tokens();
    let again = server.refresh(&first.refresh).await.tokens();
    assert_eq!(
        again.refresh, second.refresh,
        "the grace must not fork the session"
    );
    server.refresh(&second.refresh).await.tokens();
}

pub async fn parallel_refreshes_never_fork_a_session(adapter: Adapter) {
    let server = start(adapter, &ROTATION).await;
    let tokens = server.signin(&[]).await.tokens();
    let replies = super::parallel(futures_util::future::join_all(
        (0..20).map(|_| server.refresh(&tokens.refresh)),
    ))
    .await;
    let mut issued = std::collections::BTreeSet::new();
    for reply in &replies {
        // Every one within the grace: each gets the session's one current token.
        issued.insert(reply.tokens().refresh);
    }
    assert_eq!(issued.len(), 1, "refresh tokens issued: {issued:?}");
    assert!(!issued.contains(&tokens.refresh));
    // The token they all got is the session's live one.
    let current = issued.into_iter().next().expect("one token");
    let next = server.refresh(&current).await.tokens();
    server.me(&next.access).await.expect(200);
}

pub async fn sessions_lists_the_callers_sessions_without_tokens(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let first = server.signin(&[]).await.tokens();
    server.signin(&[]).await.tokens();
    let auth = format!("Bearer {}", first.access);
    let reply = server
        .get("/api/rest/sessions", &[("authorization", &auth)])
        .await;
    reply.expect(200);
    let body = reply.json();
    let sessions = body["sessions"].as_array().expect("a list");
    assert_eq!(sessions.len(), 2, "{body}");
    let current: Vec<&Value> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], super::claims_of(&first.access)["sid"]);
    for session in sessions {
        assert!(session["createdAt"].is_i64() && session["refreshedAt"].is_i64());
    }
    assert!(
        !reply.text().contains("eyJ"),
        "a token is listed: {}",
        reply.text()
    );
    server
        .get("/api/rest/sessions", &[])
        .await
        .expect(401)
        .error("missing_token");
    server
        .post(
            "/api/rest/sessions",
            Body::None,
            &[("authorization", &auth)],
        )
        .await
        .expect(405);
    // Signing out the others leaves one.
    server
        .signout(&first.refresh, &[("scope", "others")])
        .await
        .expect(200);
    let reply = server
        .get("/api/rest/sessions", &[("authorization", &auth)])
        .await;
    assert_eq!(reply.json()["sessions"].as_array().map(Vec::len), Some(1));
}

/// With the verified-token cache off and on: a cached token is still checked against its
/// session.
pub async fn strict_revocation_ends_access_tokens_at_signout(adapter: Adapter) {
    for cache in ["false", "true"] {
        let server = start(
            adapter,
            &[
                ("TOKENGATE_STRICT_REVOCATION", "true"),
                ("TOKENGATE_VERIFY_CACHE", cache),
            ],
        )
        .await;
        let tokens = server.signin(&[]).await.tokens();
        server.me(&tokens.access).await.expect(200);
        server.me(&tokens.access).await.expect(200);
        server.signout(&tokens.refresh, &[]).await.expect(200);
        let reply = server.me(&tokens.access).await;
        reply.invalid_token().says("session");
        // Where no token is needed, the signed-out token is no token: the route stays open.
        let bearer = format!("Bearer {}", tokens.access);
        server
            .get("/health", &[("authorization", bearer.as_str())])
            .await
            .expect(200);
        let other = server.signin(&[]).await.tokens();
        server.me(&other.access).await.expect(200);
        server
            .signout(&other.refresh, &[("scope", "global")])
            .await
            .expect(200);
        server.me(&other.access).await.invalid_token();
    }
}
