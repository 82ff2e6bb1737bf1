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
//! there.

#[path = "common/demo.rs"]
mod demo;

use std::net::{Ipv4Addr, SocketAddr};

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use sqlx::PgPool;
use tokengate::axum::{Claims, Require, TokenGateLayer};
use tokengate::credentials::{hash_password, PostgresDirectory, UsersTable};
use tokengate::figment::Figment;
use tokengate::{Config, TokenGate};

/// The application's own table: tokengate reads it, and only the sign-up route writes it.
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS app_users (
    id bigserial PRIMARY KEY,
    email text UNIQUE NOT NULL,
    password_hash text NOT NULL,
    roles text[] NOT NULL DEFAULT '{user}',
    disabled boolean NOT NULL DEFAULT false
)";

type Answer = (StatusCode, Json<Value>);

fn refuse(status: StatusCode, error: &str, description: &str) -> Answer {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
}

/// `POST /api/rest/signup` with `{"email", "password"}`: 201 with the new user's id, 409 when
/// the email is taken, 400 for anything else.
async fn signup(State(pool): State<PgPool>, body: Result<Json<Value>, JsonRejection>) -> Answer {
    let Ok(Json(body)) = body else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be a JSON object with `email` and `password`",
        );
    };
    let (Some(email), Some(password)) = (body["email"].as_str(), body["password"].as_str()) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "`email` and `password` are required strings",
        );
    };
    let email = email.trim().to_lowercase();
    if !email.contains('@') || email.len() > 254 {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "`email` is not an email address",
        );
    }
    if password.chars().count() < 12 || password.len() > 1024 {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "`password` must be 12 to 1024 characters",
        );
    }
    // Hashing takes tens of milliseconds of CPU: not on the executor.
    let password = password.to_owned();
    let Ok(Ok(hash)) = tokio::task::spawn_blocking(move || hash_password(&password)).await else {
        return refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the password could not be hashed",
        );
    };
    let created: Result<Option<i64>, sqlx::Error> = sqlx::query_scalar(
        "INSERT INTO app_users (email, password_hash) VALUES ($1, $2)
         ON CONFLICT (email) DO NOTHING RETURNING id",
    )
    .bind(&email)
    .bind(&hash)
    .fetch_optional(&pool)
    .await;
    match created {
        Ok(Some(id)) => (
            StatusCode::CREATED,
            Json(json!({ "id": id, "email": email })),
        ),
        Ok(None) => refuse(StatusCode::CONFLICT, "conflict", "this email is taken"),
        Err(error) => {
            tracing::warn!(%error, "sign-up failed");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the database is unavailable; try again later",
            )
        }
    }
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
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let pool = PgPool::connect(&url).await?;
    sqlx::raw_sql(SCHEMA).execute(&pool).await?;
    // Sessions in the same database (tokengate's tables, schema `tokengate`), unless
    // TOKENGATE_STORE says otherwise; the sign-up route needs no token.
    let sources = Config::figment()
        .map(|figment: Figment| {
            figment
                .join(("store", url.as_str()))
                .join(("public_paths", "/health,/api/rest/signup"))
        })
        .and_then(demo::demo_config_from);
    let config = demo::or_exit(sources);
    let users = UsersTable::new("app_users")
        .login("email")
        .subject("id")
        .roles("roles")
        .disabled("disabled");
    let directory = PostgresDirectory::new(pool.clone(), &users)?;
    let gate = TokenGate::builder(config).credentials(directory).build()?;
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
