//! Bench-only peer: actix-web-httpauth's bearer middleware with a jsonwebtoken validator, as
//! actix users stitch it together today, serving the same `/health` and `/api/rest/ping` as the
//! demo, so `benches/load.sh` can compare it with tokengate. Not an example to follow.

use actix_web::dev::ServiceRequest;
use actix_web::{web, App, HttpMessage as _, HttpResponse, HttpServer};
use actix_web_httpauth::extractors::bearer::BearerAuth;
use actix_web_httpauth::middleware::HttpAuthentication;
use serde_json::Value;

async fn validator(
    request: ServiceRequest,
    credentials: BearerAuth,
) -> Result<ServiceRequest, (actix_web::Error, ServiceRequest)> {
    let secret = std::env::var("TOKENGATE_SECRET").unwrap_or_default();
    let validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    let decoded = jsonwebtoken::DecodingKey::from_secret(secret.as_bytes())
        .and_then(|key| jsonwebtoken::decode::<Value>(credentials.token(), &key, &validation));
    match decoded {
        Ok(data) => {
            request.extensions_mut().insert(data.claims);
            Ok(request)
        }
        Err(_) => Err((
            actix_web::error::ErrorUnauthorized("invalid token"),
            request,
        )),
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    HttpServer::new(|| {
        App::new()
            .route(
                "/health",
                web::get().to(|| async { HttpResponse::Ok().body("ok") }),
            )
            .service(
                web::scope("/api/rest")
                    .wrap(HttpAuthentication::bearer(validator))
                    .route(
                        "/ping",
                        web::get().to(|| async { HttpResponse::Ok().body("pong") }),
                    ),
            )
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
