//! The seed's sign-in service on axum: `cargo run --example axum_demo`, then
//!
//! ```text
//! curl --request POST --url 'http://127.0.0.1:8080/api/rest/signin?=' \
//!   --header 'Content-Type: multipart/form-data' \
//!   --form login=john.doe@email.org --form 'password=#thePassword1234!'
//! ```

#[path = "common/axum_app.rs"]
mod axum_app;
#[path = "common/demo.rs"]
mod demo;

use std::net::{Ipv4Addr, SocketAddr};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    demo::log_to_stderr();
    let config = demo::demo_config();
    let gate = demo::demo_gate(config)?;
    let app = axum_app::router(gate);
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, demo::port()));
    let listener = tokio::net::TcpListener::bind(address).await?;
    tracing::info!("axum demo listening on http://{address}");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
