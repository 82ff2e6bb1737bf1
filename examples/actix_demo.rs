//! The seed's sign-in service on actix-web: `cargo run --example actix_demo`, then
//!
//! ```text
//! curl --request POST --url 'http://127.0.0.1:8080/api/rest/signin?=' \
//!   --header 'Content-Type: multipart/form-data' \
//!   --form login=john.doe@email.org --form 'password=#thePassword1234!'
//! ```
//!
//! The OpenAPI document is at `/api/rest/openapi.json`.

use std::net::{Ipv4Addr, SocketAddr};

use actix_web::{web, HttpResponse};
use tokengate_demo::{actix_app, demo, openapi};

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    demo::log_to_stderr();
    let mut config = demo::demo_config();
    let docs = openapi::public_paths(&config.endpoints.prefix);
    config.guard.public_paths.extend(docs.iter().cloned());
    let gate = demo::demo_gate(config)?;
    let document = openapi::document(&gate).to_json()?;
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, demo::port()));
    let server = actix_web::HttpServer::new(move || {
        let document = document.clone();
        actix_app::app(gate.clone()).route(
            &docs[0],
            web::get().to(move || {
                let document = document.clone();
                async move {
                    HttpResponse::Ok()
                        .content_type("application/json")
                        .body(document)
                }
            }),
        )
    })
    .bind(address)?
    .run();
    tracing::info!("actix demo listening on http://{address}");
    server.await?;
    Ok(())
}
