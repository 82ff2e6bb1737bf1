//! The seed's sign-in service on axum: `cargo run --example axum_demo`, then
//!
//! ```text
//! curl --request POST --url 'http://127.0.0.1:8080/api/rest/signin?=' \
//!   --header 'Content-Type: multipart/form-data' \
//!   --form login=john.doe@email.org --form 'password=#thePassword1234!'
//! ```
//!
//! The OpenAPI document is at `/api/rest/openapi.json`, and Swagger UI at `/docs/`.

use std::net::{Ipv4Addr, SocketAddr};

use tokengate_demo::{axum_app, demo, openapi};
use utoipa_swagger_ui::SwaggerUi;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    demo::log_to_stderr();
    let mut config = demo::demo_config();
    let docs = openapi::public_paths(&config.endpoints.prefix);
    config.guard.public_paths.extend(docs.iter().cloned());
    let gate = demo::demo_gate(config)?;
    let document = openapi::document(&gate);
    let swagger = SwaggerUi::new("/docs").url(docs[0].clone(), document);
    let app = axum_app::router_with(gate, swagger.into());
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, demo::port()));
    let listener = tokio::net::TcpListener::bind(address).await?;
    tracing::info!("axum demo listening on http://{address} (Swagger UI at /docs/)");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
