//! The gRPC demo application, shared by the demo binary and the tests: the
//! `helloworld.Greeter` service of `proto/helloworld.proto` and the REST demo routes, on one
//! axum router behind one gate.

use axum::Router;
use tokengate::authz::Requirement;
use tokengate::axum::Require;
use tokengate::tower::grpc;
use tokengate::TokenGate;
use tonic::{Request, Response, Status};

/// The code tonic generates from `proto/helloworld.proto`.
#[allow(
    missing_docs,
    unreachable_pub,
    missing_debug_implementations,
    clippy::pedantic,
    clippy::default_trait_access
)]
pub mod helloworld {
    tonic::include_proto!("helloworld");
}

use helloworld::greeter_server::{Greeter, GreeterServer};
use helloworld::{HelloReply, HelloRequest};

/// The greeter: its methods read the caller from the claims the gate verified.
#[derive(Debug, Default)]
pub struct Hello;

#[tonic::async_trait]
impl Greeter for Hello {
    async fn say_hello(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        let claims = grpc::claims(&request)?;
        let message = format!("Hello {}, from {}", request.get_ref().name, claims.sub);
        Ok(Response::new(HelloReply { message }))
    }

    async fn say_hello_admin(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        // Behind `greeter_routes`, the route's `Require::role("admin")` refused the others
        // already; a plain tonic server has no routes, so the method checks it too.
        let claims = grpc::authorize(&request, &Requirement::role("admin"))?;
        let message = format!(
            "Hello admin {}, from {}",
            request.get_ref().name,
            claims.sub
        );
        Ok(Response::new(HelloReply { message }))
    }
}

/// The gRPC routes: one per method where a method needs more than a token (the same
/// requirement layer as a REST route), the service's other methods under its name.
pub fn greeter_routes() -> Router {
    let greeter = GreeterServer::new(Hello);
    Router::new()
        .route_service("/helloworld.Greeter/SayHelloAdmin", greeter.clone())
        .route_layer(Require::role("admin"))
        .route_service("/helloworld.Greeter/{*method}", greeter)
}

/// The REST demo routes and the greeter, behind `gate`.
pub fn router(gate: TokenGate) -> Router {
    crate::axum_app::router_with(gate, greeter_routes())
}
