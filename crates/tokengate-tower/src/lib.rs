//! The tower adapter of tokengate: a [`TokenGateLayer`] that answers the sign-in endpoints and
//! guards every other route of an axum (or any tower/hyper) application.
//!
//! All behaviour lives in [`tokengate_core`]; this crate translates `http` requests and
//! responses to and from the core's plain types.
//!
//! | feature | what it adds |
//! |---|---|
//! | `aws_lc_rs` (default) | the core's crypto from aws-lc-rs; the facade `tokengate` turns it off and passes its own choice |
//! | `rust_crypto` | the core's crypto from RustCrypto instead (with `default-features = false`) |
//! | `axum` | the [`Claims`] extractor (`FromRequestParts` and `OptionalFromRequestParts`) |
//! | `tonic` | [`grpc`]: the claims of a gRPC call, requirements checked in a method |
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "axum")] {
//! use axum::{routing::get, Json, Router};
//! use tokengate::axum::{Claims, TokenGateLayer};
//! use tokengate::credentials::{hash_password, MemoryDirectory};
//! use tokengate::{Config, TokenGate};
//!
//! async fn me(claims: Claims) -> Json<String> {
//!     Json(claims.sub.clone())
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::default().with_secret("an-example-secret-of-at-least-32-bytes");
//! let directory = MemoryDirectory::new().user("ada", &hash_password("pw")?)?;
//! let gate = TokenGate::builder(config).credentials(directory).build()?;
//! let app: Router = Router::new()
//!     .route("/api/rest/me", get(me))
//!     .layer(TokenGateLayer::new(gate));
//! # Ok(()) }
//! # main().unwrap();
//! # }
//! ```

mod body;
#[cfg(feature = "axum")]
mod extract;
mod future;
#[cfg(feature = "tonic")]
pub mod grpc;
mod head;
mod layer;
mod require;
#[cfg(feature = "axum")]
mod routes;
mod service;

pub use body::ResponseBody;
#[cfg(feature = "axum")]
pub use extract::{into_response, Authorized, Claims, ClaimsRejection};
pub use future::ResponseFuture;
pub use layer::TokenGateLayer;
pub use require::{Require, RequireService};
#[cfg(feature = "axum")]
pub use routes::endpoints;
pub use service::TokenGateService;
