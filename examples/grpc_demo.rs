//! REST and gRPC on one port behind one gate: `cargo run --example grpc_demo`, then sign in
//! over REST and call `helloworld.Greeter` with the access token in the `authorization`
//! metadata:
//!
//! ```text
//! TOKEN=$(curl -s -X POST http://127.0.0.1:8080/api/rest/signin \
//!   --form login=john.doe@email.org --form 'password=#thePassword1234!' | jq -r .accessToken)
//! grpcurl -plaintext -import-path crates/tokengate-demo/proto -proto helloworld.proto \
//!   -H "authorization: Bearer $TOKEN" -d '{"name": "you"}' \
//!   127.0.0.1:8080 helloworld.Greeter/SayHello
//! ```
//!
//! `SayHello` needs a valid access token (else `UNAUTHENTICATED`), `SayHelloAdmin` role
//! `admin` (else `PERMISSION_DENIED`).

use std::net::{Ipv4Addr, SocketAddr};
use tokengate_demo::{demo, grpc_app};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    demo::log_to_stderr();
    let gate = demo::demo_gate(demo::demo_config())?;
    let app = grpc_app::router(gate);
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, demo::port()));
    let listener = tokio::net::TcpListener::bind(address).await?;
    tracing::info!(
        "gRPC demo listening on http://{address} (REST under /api/rest, gRPC helloworld.Greeter)"
    );
    // HTTP/1.1 for REST, HTTP/2 (prior knowledge) for gRPC, told apart per connection.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
