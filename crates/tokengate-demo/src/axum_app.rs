//! The axum demo application, shared by the demo binary and the tests.

use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value};
use tokengate::authz::Requirement;
use tokengate::axum::{Claims, Require, TokenGateLayer};
use tokengate::TokenGate;

/// `GET /api/rest/me`: the caller's claims.
async fn me(claims: Claims<Map<String, Value>>) -> Json<tokengate::Claims<Map<String, Value>>> {
    Json(claims.0)
}

/// `GET /ws/echo`: a WebSocket that echoes every text message, opened with a ticket from
/// `POST /api/rest/ticket` (`?ticket=...`) or a bearer header; the handler gets the claims as
/// any other.
async fn echo(claims: Claims, upgrade: WebSocketUpgrade) -> axum::response::Response {
    let subject = claims.0.sub;
    upgrade.on_upgrade(|mut socket| async move {
        tracing::info!(%subject, "echo socket opened");
        while let Some(Ok(message)) = socket.recv().await {
            let echo = match message {
                Message::Text(text) => Message::Text(text),
                Message::Close(_) => break,
                _ => continue,
            };
            if socket.send(echo).await.is_err() {
                break;
            }
        }
    })
}

/// How recently a factor must have been proved for `POST /api/rest/transfer`.
pub const TRANSFER_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(300);

/// The demo routes behind the gate.
pub fn router(gate: TokenGate) -> Router {
    router_with(gate, Router::new())
}

/// The demo routes and `extra` behind the gate: routers merged before the layer, so that the
/// layer still sees every request (the endpoints are answered from it).
pub fn router_with(gate: TokenGate, extra: Router) -> Router {
    Router::new()
        .merge(extra)
        .route("/api/rest/me", get(me))
        .route(
            "/api/rest/ping",
            get(|| async { "pong" }).post(|| async { "pong" }),
        )
        .route("/health", get(|| async { "ok" }))
        .route(
            "/passkeys",
            get(|| async { axum::response::Html(crate::demo::PASSKEY_PAGE) }),
        )
        .route("/ws/echo", get(echo))
        // Administrators only.
        .route(
            "/api/rest/admin",
            get(me).route_layer(Require::role("admin")),
        )
        // Machines only: an application token with the `read` scope.
        .route(
            "/api/rest/machine",
            get(me).route_layer(Require::new(
                Requirement::application().and(Requirement::scope("read")),
            )),
        )
        // Administrators, or a client with the `read` scope.
        .route(
            "/api/rest/reports",
            get(me).route_layer(Require::new(
                Requirement::role("admin").or(Requirement::scope("read")),
            )),
        )
        // People only: no application token.
        .route("/api/rest/account", get(me).route_layer(Require::user()))
        // A second factor proved on the session.
        .route("/api/rest/vault", get(me).route_layer(Require::mfa()))
        // A factor proved within the last five minutes.
        .route(
            "/api/rest/transfer",
            post(me).route_layer(Require::recent_auth(TRANSFER_MAX_AGE)),
        )
        .layer(TokenGateLayer::new(gate))
}
