//! What the PostgreSQL examples share, framework-free: the users table, the set-up (pool,
//! configuration, directory) and the sign-up.

use serde_json::{json, Value};
use sqlx::PgPool;
use tokengate::credentials::{hash_password, PostgresDirectory, UsersTable};
use tokengate::figment::Figment;
use tokengate::{Config, TokenGate};

use crate::demo;

/// The application's own table: tokengate reads it, and only the sign-up route writes it.
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS app_users (
    id bigserial PRIMARY KEY,
    email text UNIQUE NOT NULL,
    password_hash text NOT NULL,
    roles text[] NOT NULL DEFAULT '{user}',
    disabled boolean NOT NULL DEFAULT false
)";

/// The pool on `DATABASE_URL` (default: the `postgres` database on 127.0.0.1:5432) with the
/// users table created, and the gate: users from that table, sessions in the same database
/// (unless `TOKENGATE_STORE` says otherwise), the sign-up route public.
pub async fn setup() -> Result<(PgPool, TokenGate), Box<dyn std::error::Error + Send + Sync>> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let pool = PgPool::connect(&url).await?;
    sqlx::raw_sql(SCHEMA).execute(&pool).await?;
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
    Ok((pool, gate))
}

fn refuse(status: u16, error: &str, description: &str) -> (u16, Value) {
    (
        status,
        json!({ "error": error, "error_description": description }),
    )
}

/// `POST /api/rest/signup` with `{"email", "password"}` as `body`: 201 with the new user's id,
/// 409 when the email is taken, 400 for anything else, 503 when the database is down.
pub async fn sign_up(pool: &PgPool, body: &[u8]) -> (u16, Value) {
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return refuse(
            400,
            "invalid_request",
            "the body must be a JSON object with `email` and `password`",
        );
    };
    let (Some(email), Some(password)) = (body["email"].as_str(), body["password"].as_str()) else {
        return refuse(
            400,
            "invalid_request",
            "`email` and `password` are required strings",
        );
    };
    let email = email.trim().to_lowercase();
    if !email.contains('@') || email.len() > 254 {
        return refuse(400, "invalid_request", "`email` is not an email address");
    }
    if password.chars().count() < 12 || password.len() > 1024 {
        return refuse(
            400,
            "invalid_request",
            "`password` must be 12 to 1024 characters",
        );
    }
    // Hashing takes tens of milliseconds of CPU: not on the executor.
    let password = password.to_owned();
    let Ok(Ok(hash)) = tokio::task::spawn_blocking(move || hash_password(&password)).await else {
        return refuse(500, "server_error", "the password could not be hashed");
    };
    let created: Result<Option<i64>, sqlx::Error> = sqlx::query_scalar(
        "INSERT INTO app_users (email, password_hash) VALUES ($1, $2)
         ON CONFLICT (email) DO NOTHING RETURNING id",
    )
    .bind(&email)
    .bind(&hash)
    .fetch_optional(pool)
    .await;
    match created {
        Ok(Some(id)) => (201, json!({ "id": id, "email": email })),
        Ok(None) => refuse(409, "conflict", "this email is taken"),
        Err(error) => {
            tracing::warn!(%error, "sign-up failed");
            refuse(
                503,
                "temporarily_unavailable",
                "the database is unavailable; try again later",
            )
        }
    }
}
