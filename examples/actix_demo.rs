//! The seed's sign-in service on actix-web: `cargo run --example actix_demo`, then
//!
//! ```text
//! curl --request POST --url 'http://127.0.0.1:8080/api/rest/signin?=' \
//!   --header 'Content-Type: multipart/form-data' \
//!   --form login=john.doe@email.org --form 'password=#thePassword1234!'
//! ```
//!
//! The OpenAPI document is at `/api/rest/openapi.json`, and Swagger UI at `/docs/`.

use std::net::{Ipv4Addr, SocketAddr};

use actix_web::{http::header, web, HttpResponse};
use tokengate_demo::{actix_app, demo, openapi};
use utoipa_swagger_ui::SwaggerUi;

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    demo::log_to_stderr();
    let mut config = demo::demo_config();
    let docs = openapi::public_paths(&config.endpoints.prefix);
    config.guard.public_paths.extend(docs.iter().cloned());
    let gate = demo::demo_gate(config)?;
    let document = openapi::document(&gate);
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, demo::port()));
    let server = actix_web::HttpServer::new(move || {
        actix_app::app(gate.clone())
            .service(SwaggerUi::new("/docs/{_:.*}").url(docs[0].clone(), document.clone()))
            .service(
                web::resource("/docs")
                    .route(web::get().to(to_docs))
                    .route(web::head().to(to_docs)),
            )
    })
    .bind(address)?
    .run();
    tracing::info!("actix demo listening on http://{address} (Swagger UI at /docs/)");
    server.await?;
    Ok(())
}

/// `/docs` → `/docs/`, as Swagger UI's axum routes answer it.
async fn to_docs() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}
