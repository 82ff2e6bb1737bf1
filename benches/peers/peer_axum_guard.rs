//! Bench-only peer: the hand-written axum guard people write today (a `from_fn` middleware
//! calling jsonwebtoken per request), serving the same `/health` and `/api/rest/ping` as the
//! demo, so `benches/load.sh` can compare it with tokengate. Not an example to follow.

use std::net::{Ipv4Addr, SocketAddr};

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::Value;

async fn guard(mut request: Request, next: Next) -> Response {
    let secret = std::env::var("TOKENGATE_SECRET").unwrap_or_default();
    let token = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let Some(token) = token else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let Ok(key) = jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    match jsonwebtoken::decode::<Value>(&token, &key, &validation) {
        Ok(data) => {
            request.extensions_mut().insert(data.claims);
            next.run(request).await
        }
        Err(_) => StatusCode::UNAUTHORIZED.into_response(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let app = Router::new()
        .route("/api/rest/ping", get(|| async { "pong" }))
        .layer(middleware::from_fn(guard))
        .route("/health", get(|| async { "ok" }));
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
