//! The framework-free core of tokengate: the JWT sign-in service of the seed API, as plain
//! functions over plain request data.
//!
//! For an application:
//!
//! - [`Config`]: per-environment settings (defaults, `tokengate.toml` profile, `TOKENGATE_*`
//!   variables), in typed sections.
//! - [`TokenGate`]: built once with [`TokenGate::builder`]; issues and verifies tokens,
//!   answers the endpoints, guards routes.
//! - [`credentials`]: who may sign in; passwords as Argon2id hashes only.
//! - [`store`] and [`throttle`]: where sessions live and where failed sign-ins are counted.
//! - [`Claims`], [`Error`], [`audit`]: what handlers, error hooks and audit hooks see.
//!
//! For the authors of framework adapters: [`adapter`] (the request head, the route decision,
//! the claims extractors' helpers). Keys and tokens themselves: [`jws`].
//!
//! Inside, one module per concern, each depending only on the ones before it (a test,
//! `tests/layering.rs`, holds the core to this order): `clock`, `duration`, `ttl_map` →
//! `jws` → `config` → `http` → `audit`, `credentials`, `store`, `throttle`, `authz` → `gate` (the
//! state, the builder, the guard) → `endpoints` (one file per endpoint) → `adapter`.
//!
//! # Example
//!
//! ```
//! use tokengate::adapter::RequestHead;
//! use tokengate::credentials::{hash_password, MemoryDirectory};
//! use tokengate::{serde_json, Config, Endpoint, TokenGate};
//!
//! struct Post<'a>(&'a str, &'a str);
//! impl RequestHead for Post<'_> {
//!     fn method(&self) -> &str { "POST" }
//!     fn path(&self) -> &str { self.0 }
//!     fn header(&self, name: &str) -> Option<&[u8]> {
//!         (name == "content-type").then_some(self.1.as_bytes())
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_multi_thread().build().unwrap().block_on(async {
//! let config = Config::default().with_secret("an-example-secret-of-at-least-32-bytes");
//! let directory = MemoryDirectory::new().user("ada", &hash_password("pw")?)?;
//! let gate = TokenGate::builder(config).credentials(directory).build()?;
//!
//! let head = Post("/api/rest/signin", "application/x-www-form-urlencoded");
//! let body = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from("login=ada&password=pw"))]);
//! let response = gate.serve(Endpoint::SignIn, &head, body).await;
//! assert_eq!(response.status, 201);
//! let tokens: serde_json::Value = serde_json::from_slice(&response.body)?;
//! let verified = gate.verify_access(tokens["accessToken"].as_str().unwrap_or_default())?;
//! assert_eq!(verified.claims().sub, "ada");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

pub mod adapter;
pub mod audit;
pub mod authz;
mod clock;
mod config;
pub mod credentials;
mod duration;
mod endpoints;
mod federation;
mod gate;
mod http;
pub mod jws;
pub mod mfa;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod store;
pub mod telemetry;
pub mod throttle;
mod ttl_map;

pub use config::{
    Config, ConfigError, CookieSettings, EndpointSettings, FederationSettings, GuardMode,
    GuardSettings, IssuerSettings, KeySettings, MfaSettings, ProviderSettings, SameSite,
    StoreSettings, ThrottleSettings, TokenSettings,
};
pub use duration::parse_duration;
/// The layered configuration library [`Config::figment`] returns.
#[doc(no_inline)]
pub use figment;
pub use gate::{ClaimsFuture, Endpoint, EndpointRoute, TokenGate, TokenGateBuilder, ENDPOINTS};
pub use http::cookies;
pub use http::cookies::CSRF_HEADER;
pub use http::error::{Error, ErrorKind};
pub use http::response::{InvalidHeader, Response};
pub use jws::{Algorithm, Claims, KeyConfig, KeyMaterial, Secret, TokenError, VerifiedToken};
/// The JSON library of the claims (`serde_json::Map` of custom claims, `Value`).
#[doc(no_inline)]
pub use serde_json;
/// The utoipa crate whose types [`openapi`] speaks (feature `openapi`).
#[cfg(feature = "openapi")]
pub use utoipa;

/// Entry points for the fuzz targets (feature `fuzzing`): the parsers that read what clients
/// send, outside any request.
#[cfg(feature = "fuzzing")]
pub mod fuzz {
    pub use crate::endpoints::{parse_exp, Expiry};
    pub use crate::http::form::{parse_body, Fields};
}
