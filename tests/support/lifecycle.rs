//! A session's life besides its tokens: the client it records, the idle timeout, the most
//! sessions a subject keeps, and ending one session by id. Run on every store.

use std::time::Duration;

use serde_json::Value;

use super::{claims_of, start, Body, Tokens};
use super::{Adapter, Server};

const JANE: (&str, &str) = ("jane.roe@email.org", "#thePassword5678!");

fn bearer(tokens: &Tokens) -> String {
    format!("Bearer {}", tokens.access)
}

fn sid(tokens: &Tokens) -> String {
    claims_of(&tokens.access)["sid"]
        .as_str()
        .expect("a sid")
        .to_owned()
}

async fn listed(server: &Server, tokens: &Tokens) -> Vec<Value> {
    let reply = server
        .get("/api/rest/sessions", &[("authorization", &bearer(tokens))])
        .await;
    reply.expect(200);
    reply.json()["sessions"].as_array().expect("a list").clone()
}

pub async fn sessions_record_their_client_and_last_use(adapter: Adapter) {
    // The last use written at each `/token` (by default, at most once a minute).
    let server = start(adapter, &[("TOKENGATE_SESSION_TOUCH_INTERVAL", "0s")]).await;
    let fields = [
        ("login", super::demo::USER.0),
        ("password", super::demo::USER.1),
    ];
    let mine = server
        .post(
            "/api/rest/signin",
            Body::Multipart(&fields),
            &[("user-agent", "conformance-agent/1.0 (tests)")],
        )
        .await
        .tokens();
    let other = server.signin(&[]).await.tokens();
    let sessions = listed(&server, &mine).await;
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    let own = &sessions[0];
    assert_eq!(own["current"], true, "the caller's own session comes first");
    assert_eq!(own["id"], sid(&mine).as_str());
    assert_eq!(own["userAgent"], "conformance-agent/1.0 (tests)");
    assert_eq!(own["address"], "127.0.0.1");
    assert_eq!(sessions[1]["current"], false);
    assert_eq!(sessions[1]["id"], sid(&other).as_str());
    // The last use is the last `/token`.
    let before = own["lastUsedAt"].as_i64().expect("lastUsedAt");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    server.refresh(&mine.refresh).await.tokens();
    let after = listed(&server, &mine).await[0]["lastUsedAt"]
        .as_i64()
        .expect("lastUsedAt");
    assert!(after > before, "last use {before} → {after}");
    // By default a `/token` within a minute of the last use written writes nothing: the list
    // shows the last use to the minute.
    let server = start(adapter, &[]).await;
    let mine = server.signin(&[]).await.tokens();
    let before = listed(&server, &mine).await[0]["lastUsedAt"].clone();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    server.refresh(&mine.refresh).await.tokens();
    assert_eq!(listed(&server, &mine).await[0]["lastUsedAt"], before);
}

pub async fn an_idle_session_ends_at_its_next_refresh(adapter: Adapter) {
    let server = start(
        adapter,
        &[
            ("TOKENGATE_ACCESS_TTL", "1s"),
            ("TOKENGATE_SESSION_IDLE", "3s"),
        ],
    )
    .await;
    let idle = server.signin(&[]).await.tokens();
    let used = server.signin(&[]).await.tokens();
    // Used within the timeout, a session lives on; the clock restarts at each use.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    server.refresh(&idle.refresh).await.tokens();
    server.refresh(&used.refresh).await.tokens();
    tokio::time::sleep(Duration::from_millis(2200)).await;
    server.refresh(&used.refresh).await.tokens();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let current = server.refresh(&used.refresh).await.tokens();
    // Unused for longer than the timeout: no longer listed, and its refresh ends it.
    let sessions = listed(&server, &current).await;
    assert_eq!(sessions.len(), 1, "an idle session is listed: {sessions:?}");
    server.refresh(&idle.refresh).await.invalid_token();
    server.refresh(&idle.refresh).await.invalid_token();
    server.refresh(&used.refresh).await.tokens();
}

pub async fn a_new_signin_past_the_limit_ends_the_least_recently_used_session(adapter: Adapter) {
    // Each use written (by default, the last use is known to the minute).
    let server = start(
        adapter,
        &[
            ("TOKENGATE_MAX_SESSIONS", "2"),
            ("TOKENGATE_SESSION_TOUCH_INTERVAL", "0s"),
        ],
    )
    .await;
    let first = server.signin(&[]).await.tokens();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = server.signin(&[]).await.tokens();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // The first is used again: the second is now the least recently used.
    server.refresh(&first.refresh).await.tokens();
    let third = server.signin(&[]).await.tokens();
    server.refresh(&second.refresh).await.invalid_token();
    server.refresh(&first.refresh).await.tokens();
    server.refresh(&third.refresh).await.tokens();
    let ids: Vec<Value> = listed(&server, &third)
        .await
        .iter()
        .map(|s| s["id"].clone())
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(!ids.contains(&Value::from(sid(&second))), "{ids:?}");
    // Another subject's sessions are counted apart.
    let jane = [("login", JANE.0), ("password", JANE.1)];
    server
        .post("/api/rest/signin", Body::Multipart(&jane), &[])
        .await
        .tokens();
    server.refresh(&first.refresh).await.tokens();
    server.refresh(&third.refresh).await.tokens();
}

pub async fn one_session_ends_by_id_and_only_for_its_owner(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let first = server.signin(&[]).await.tokens();
    let second = server.signin(&[]).await.tokens();
    let jane = [("login", JANE.0), ("password", JANE.1)];
    let theirs = server
        .post("/api/rest/signin", Body::Multipart(&jane), &[])
        .await
        .tokens();
    let auth = bearer(&first);
    let path = |tokens: &Tokens| format!("/api/rest/sessions/{}", sid(tokens));

    // Another subject's session: 404, as for an unknown id, and it lives on.
    server
        .delete(&path(&theirs), &[("authorization", &auth)])
        .await
        .expect(404)
        .error("not_found");
    server.refresh(&theirs.refresh).await.tokens();
    server
        .delete(
            "/api/rest/sessions/no-such-session",
            &[("authorization", &auth)],
        )
        .await
        .expect(404)
        .error("not_found");
    // Without a token, or with another method: refused before anything is looked up.
    server.delete(&path(&second), &[]).await.expect(401);
    server
        .get(&path(&second), &[("authorization", &auth)])
        .await
        .expect(405);
    // The owner's own: ended, once.
    let reply = server
        .delete(&path(&second), &[("authorization", &auth)])
        .await;
    reply.expect(200);
    assert_eq!(reply.json()["sessionsEnded"], 1, "{}", reply.text());
    server.refresh(&second.refresh).await.invalid_token();
    server
        .delete(&path(&second), &[("authorization", &auth)])
        .await
        .expect(404);
    server.refresh(&first.refresh).await.tokens();

    // `/signout` with `session=<id>`: the same, with the refresh token.
    let third = server.signin(&[]).await.tokens();
    let reply = server
        .signout(&first.refresh, &[("session", &sid(&third))])
        .await;
    reply.expect(200);
    assert_eq!(reply.json()["sessionsEnded"], 1, "{}", reply.text());
    server.refresh(&third.refresh).await.invalid_token();
    server.refresh(&first.refresh).await.tokens();
    server
        .signout(&first.refresh, &[("session", &sid(&theirs))])
        .await
        .expect(404)
        .error("not_found");
    server.refresh(&theirs.refresh).await.tokens();
    server
        .signout(
            &first.refresh,
            &[("session", &sid(&third)), ("scope", "global")],
        )
        .await
        .expect(400);
    // A signed-out token ends nothing: the usual idempotent answer.
    let fourth = server.signin(&[]).await.tokens();
    server.signout(&third.refresh, &[]).await.expect(200);
    let reply = server
        .signout(&third.refresh, &[("session", &sid(&fourth))])
        .await;
    reply.expect(200);
    assert_eq!(reply.json()["sessionsEnded"], 0, "{}", reply.text());
    server.refresh(&fourth.refresh).await.tokens();
}
