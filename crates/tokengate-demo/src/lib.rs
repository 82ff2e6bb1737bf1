//! The demo applications of tokengate: the seed's sign-in service on axum and on actix-web,
//! the cookie-mode web page, REST and gRPC behind one gate, and the PostgreSQL application.
//! The examples serve them (`cargo run --example axum_demo`, ...) and the conformance and
//! browser tests run them, so that what the tests hold is what a user runs. Not published.
//!
//! | module | what it holds |
//! |---|---|
//! | [`demo`] | the seed's users and application key, the demo configuration and gate |
//! | [`axum_app`] | the axum demo's routes behind the layer |
//! | [`actix_app`] | the same routes on actix-web |
//! | [`openapi`] | the demos' OpenAPI document: the gate's endpoints and the demo's routes |
//! | [`cookie_web_app`] | the page that signs in with `cookieauth=true` |
//! | [`grpc_app`] | `helloworld.Greeter` and the REST routes on one router |
//! | [`postgres_app`] | users in a PostgreSQL table, sessions in the same database |

pub mod actix_app;
pub mod axum_app;
pub mod cookie_web_app;
pub mod demo;
pub mod grpc_app;
pub mod openapi;
pub mod postgres_app;
