//! An application as it usually is: its users in a PostgreSQL table, sessions in the same
//! database. `cargo run --example axum_postgres` (with `DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`) creates its table and tokengate's, then
//!
//! ```text
//! curl -X POST http://127.0.0.1:8080/api/rest/signup -H 'content-type: application/json' \
//!   -d '{"email": "ada@example.org", "password": "correct horse battery"}'
//! curl -X POST http://127.0.0.1:8080/api/rest/signin \
//!   --form login=ada@example.org --form 'password=correct horse battery'
//! ```
//!
//! Roles come from the table: `UPDATE app_users SET roles = '{user,admin}' WHERE email = ...`
//! shows in the next access token (`/token`), and `disabled = true` ends the user's sessions
//! there. `actix_postgres` is the same application on actix-web.

use std::net::{Ipv4Addr, SocketAddr};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value};
use sqlx::PgPool;
use tokengate::axum::{Claims, Require, TokenGateLayer};
use tokengate::TokenGate;
use tokengate_demo::{demo, postgres_app};

async fn signup(State(pool): State<PgPool>, body: Bytes) -> (StatusCode, Json<Value>) {
    let (status, answer) = postgres_app::sign_up(&pool, &body).await;
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Json(answer),
    )
}

/// `GET /api/rest/me` and `/api/rest/admin`: the caller's claims.
async fn me(claims: Claims<Map<String, Value>>) -> Json<tokengate::Claims<Map<String, Value>>> {
    Json(claims.0)
}

fn router(gate: TokenGate, pool: PgPool) -> Router {
    Router::new()
        .route("/api/rest/signup", post(signup))
        .route("/api/rest/me", get(me))
        .route(
            "/api/rest/admin",
            get(me).route_layer(Require::role("admin")),
        )
        .route("/health", get(|| async { "ok" }))
        .with_state(pool)
        .layer(TokenGateLayer::new(gate))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    demo::log_to_stderr();
    let (pool, gate) = postgres_app::setup().await?;
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, demo::port()));
    let listener = tokio::net::TcpListener::bind(address).await?;
    tracing::info!("axum_postgres listening on http://{address}");
    axum::serve(
        listener,
        router(gate, pool).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
