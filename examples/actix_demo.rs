//! The seed's sign-in service on actix-web: `cargo run --example actix_demo --features actix`,
//! then
//!
//! ```text
//! curl --request POST --url 'http://127.0.0.1:8080/api/rest/signin?=' \
//!   --header 'Content-Type: multipart/form-data' \
//!   --form login=john.doe@email.org --form 'password=#thePassword1234!'
//! ```

#[path = "common/actix_app.rs"]
mod actix_app;
#[path = "common/demo.rs"]
mod demo;

use std::net::{Ipv4Addr, SocketAddr};

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    demo::log_to_stderr();
    let config = demo::demo_config();
    let gate = demo::demo_gate(config)?;
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, demo::port()));
    let server = actix_web::HttpServer::new(move || actix_app::app(gate.clone()))
        .bind(address)?
        .run();
    tracing::info!("actix demo listening on http://{address}");
    server.await?;
    Ok(())
}
