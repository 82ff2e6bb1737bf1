//! The `axum_postgres` application on actix-web: users in a PostgreSQL table, sessions in the
//! same database. `cargo run --example actix_postgres` (with `DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`); the same routes and answers.

use std::net::{Ipv4Addr, SocketAddr};

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{App, HttpResponse, HttpServer};
use serde_json::{Map, Value};
use sqlx::PgPool;
use tokengate::actix::{Claims, Require, TokenGateTransform};
use tokengate_demo::{demo, postgres_app};

async fn signup(pool: web::Data<PgPool>, body: Bytes) -> HttpResponse {
    let (status, answer) = postgres_app::sign_up(&pool, &body).await;
    HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .json(answer)
}

/// `GET /api/rest/me` and `/api/rest/admin`: the caller's claims.
async fn me(claims: Claims<Map<String, Value>>) -> HttpResponse {
    HttpResponse::Ok().json(&claims.0)
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    demo::log_to_stderr();
    let (pool, gate) = postgres_app::setup().await?;
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, demo::port()));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(pool.clone()))
            // A sign-up body is small: refused above 16 KiB before it is read whole.
            .app_data(web::PayloadConfig::new(16 * 1024))
            .route("/api/rest/signup", web::post().to(signup))
            .route("/api/rest/me", web::get().to(me))
            .service(
                web::resource("/api/rest/admin")
                    .wrap(Require::role("admin"))
                    .route(web::get().to(me)),
            )
            .route("/health", web::get().to(HttpResponse::Ok))
            .wrap(TokenGateTransform::new(gate.clone()))
    })
    .bind(address)?
    .run();
    tracing::info!("actix_postgres listening on http://{address}");
    server.await?;
    Ok(())
}
