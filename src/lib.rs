//! tokengate: the JWT sign-in service of an axum or actix-web application, in one line.
//!
//! Clients sign in with a login and password (or an application key) at `POST /api/rest/signin`
//! and get a refresh token and an access token; they trade the refresh token for new access
//! tokens at `POST /api/rest/token`, revoke it at `POST /api/rest/signout`, and call every other
//! route with the access token as a bearer. The layer answers those endpoints and guards every
//! other route; handlers extract the verified [`Claims`](crate::axum::Claims).
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `axum` | yes | [`axum::TokenGateLayer`] and the [`axum::Claims`] extractor |
//! | `tower` | no | the tower Layer alone, for hyper or other tower stacks |
//! | `tonic` | no | `tower::grpc`: the claims of a gRPC call and requirements in a tonic method (refusals are gRPC statuses with or without it) |
//! | `openapi` | no | the OpenAPI 3.1 description of the endpoints (`openapi`, utoipa) |
//! | `actix` | no | [`actix::TokenGateTransform`] and the [`actix::Claims`] extractor |
//! | `redis` | no | the Redis session store and shared throttling, for `store = "redis://..."` |
//! | `sqlite` | no | the SQLite session store, for `store = "sqlite://path"` |
//! | `postgres` | no | the PostgreSQL session store and shared throttling, for `store = "postgres://..."` |
//! | `aws_lc_rs` | yes | crypto from aws-lc-rs |
//! | `rust_crypto` | no | crypto from RustCrypto instead (with `default-features = false`); refuses RS256 *signing* keys (RUSTSEC-2023-0071, see `SECURITY.md`) |
//!
//! The top level is what an application uses: [`Config`], [`TokenGate`] and its builder,
//! [`credentials`], [`Claims`], [`Error`], the [`store`]s and [`throttle`] counters. The
//! builder opens the store `store = "..."` names — `memory`, `sqlite://path` (feature
//! `sqlite`), `redis://host:port/db` or `redis+cluster://...` (feature `redis`) or
//! `postgres://user@host/db` (feature `postgres`) — and says which feature to enable when it
//! is off. What framework adapters are written with is under [`adapter`]; keys and tokens
//! themselves under [`jws`].
//!
//! # Start here
//!
//! - **Configuration**: [`Config::load`] reads `tokengate.toml` and the `TOKENGATE_*`
//!   variables. Every application sets `TOKENGATE_SECRET` (32 bytes or more) or an
//!   asymmetric key (`key_file`, `keys`); every key and its default is in the [`Config`] docs.
//! - **Users**: [`credentials::MemoryDirectory`] (with
//!   [`user_with_roles`](credentials::MemoryDirectory::user_with_roles)), a PostgreSQL table
//!   (`credentials::PostgresDirectory`, feature `postgres`), or your own
//!   [`credentials::Credentials`].
//! - **Per-route requirements**: `Require::role`, `Require::scope` and the `Authorized<P>`
//!   extractor, in [`axum`] and [`actix`], over an [`authz::Requirement`].
//! - **Hooks**: [`TokenGateBuilder::claims_hook`] (claims of your own, read back with
//!   `Claims<T>`), [`TokenGateBuilder::on_error`] (every refusal's answer),
//!   [`TokenGateBuilder::on_audit`] (sign-ins, failures, sign-outs).
//! - **Other services**: `GET {prefix}/jwks` serves the public keys; asymmetric keys and key
//!   rotation are in the [`Config`] docs (`algorithm`, `key_file`, `keys`).
//! - **Sessions that survive a restart or span instances**: the [`store`]s.
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "axum")] {
//! use ::axum::{routing::get, Json, Router};
//! use tokengate::axum::{Claims, TokenGateLayer};
//! use tokengate::credentials::{hash_password, MemoryDirectory};
//! use tokengate::{Config, TokenGate};
//!
//! async fn me(claims: Claims) -> Json<String> {
//!     Json(claims.sub.clone())
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # std::env::set_var("TOKENGATE_SECRET", "an-example-secret-of-at-least-32-bytes");
//! let config = Config::load()?; // defaults, tokengate.toml, TOKENGATE_* variables
//! let users = MemoryDirectory::new()
//!     .user_with_roles("ada@example.org", &hash_password("correct horse")?, ["admin"])?;
//! let gate = TokenGate::builder(config).credentials(users).build()?;
//! let app: Router = Router::new()
//!     .route("/api/rest/me", get(me))
//!     .layer(TokenGateLayer::new(gate));
//! # Ok(()) }
//! # main().unwrap();
//! # }
//! ```

pub use tokengate_core::{
    adapter, audit, authz, cookies, credentials, figment, jws, mfa, serde_json, store, throttle,
    Algorithm, Claims, Config, ConfigError, CookieSettings, Endpoint, EndpointRoute,
    EndpointSettings, Error, ErrorKind, FederationSettings, GuardMode, GuardSettings,
    InvalidHeader, IssuerSettings, KeyConfig, KeyMaterial, KeySettings, MfaSettings,
    ProviderSettings, Response, SameSite, Secret, StoreSettings, ThrottleSettings, TokenError,
    TokenGate, TokenGateBuilder, TokenSettings, VerifiedToken, CSRF_HEADER, ENDPOINTS,
};
// The OpenAPI description of the endpoints (feature `openapi`), and the utoipa it speaks.
#[cfg(feature = "openapi")]
pub use tokengate_core::{openapi, utoipa};

/// The axum integration: the layer and the claims extractor.
#[cfg(feature = "axum")]
pub mod axum {
    pub use tokengate_tower::{
        endpoints, into_response, Authorized, Claims, ClaimsRejection, Require, RequireService,
        TokenGateLayer, TokenGateService,
    };
}

/// The actix-web integration: the Transform and the claims extractor.
///
/// ```
/// # #[cfg(feature = "actix")] {
/// use ::actix_web::{web, App, HttpResponse};
/// use tokengate::actix::{Claims, TokenGateTransform};
/// use tokengate::credentials::{hash_password, MemoryDirectory};
/// use tokengate::{Config, TokenGate};
///
/// async fn me(claims: Claims) -> HttpResponse {
///     HttpResponse::Ok().json(&claims.sub)
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # std::env::set_var("TOKENGATE_SECRET", "an-example-secret-of-at-least-32-bytes");
/// let config = Config::load()?; // defaults, tokengate.toml, TOKENGATE_* variables
/// let users = MemoryDirectory::new().user("ada@example.org", &hash_password("correct horse")?)?;
/// let gate = TokenGate::builder(config).credentials(users).build()?;
/// let app = App::new()
///     .route("/api/rest/me", web::get().to(me))
///     .wrap(TokenGateTransform::new(gate));
/// # drop(app);
/// # Ok(()) }
/// # main().unwrap();
/// # }
/// ```
#[cfg(feature = "actix")]
pub mod actix {
    pub use tokengate_actix::{
        endpoints, into_response, Authorized, Claims, ClaimsRejection, Require, RequireMiddleware,
        ResponseFuture, TokenGateMiddleware, TokenGateTransform,
    };
}

/// The tower Layer, for any tower/hyper stack.
#[cfg(any(feature = "tower", feature = "axum"))]
pub use tokengate_tower as tower;
