//! actix-web middleware and extractors for tokengate.
//!
//! [`TokenGateTransform`] wraps an app (or a scope): it answers `POST {prefix}/signin`,
//! `{prefix}/token` and `{prefix}/signout` itself and guards every other route with the access
//! token. Handlers take [`Claims`] (or `Option<Claims>` where a token is optional).
//!
//! | feature | what it adds |
//! |---|---|
//! | `aws_lc_rs` (default) | the core's crypto from aws-lc-rs; the facade `tokengate` turns it off and passes its own choice |
//! | `rust_crypto` | the core's crypto from RustCrypto instead (with `default-features = false`) |
//!
//! # Example
//!
//! ```
//! use actix_web::{test, web, App, HttpResponse};
//! use tokengate::actix::{Claims, TokenGateTransform};
//! use tokengate::credentials::{hash_password, MemoryDirectory};
//! use tokengate::{serde_json, Config, TokenGate};
//!
//! async fn me(claims: Claims) -> HttpResponse {
//!     HttpResponse::Ok().body(claims.sub.clone())
//! }
//!
//! # actix_web::rt::System::new().block_on(async {
//! let config = Config::default().with_secret("an-example-secret-of-at-least-32-bytes");
//! let directory = MemoryDirectory::new().user("ada", &hash_password("pw")?)?;
//! let gate = TokenGate::builder(config).credentials(directory).build()?;
//!
//! let app = test::init_service(
//!     App::new()
//!         .route("/api/rest/me", web::get().to(me))
//!         .wrap(TokenGateTransform::new(gate)),
//! )
//! .await;
//!
//! // Sign in, then call the guarded route with the access token.
//! let signin = test::TestRequest::post()
//!     .uri("/api/rest/signin")
//!     .insert_header(("content-type", "application/x-www-form-urlencoded"))
//!     .set_payload("login=ada&password=pw")
//!     .to_request();
//! let tokens: serde_json::Value = test::call_and_read_body_json(&app, signin).await;
//! let access = tokens["accessToken"].as_str().unwrap_or_default();
//! let me = test::TestRequest::get()
//!     .uri("/api/rest/me")
//!     .insert_header(("authorization", format!("Bearer {access}")))
//!     .to_request();
//! assert_eq!(test::call_and_read_body(&app, me).await, "ada");
//!
//! // Without a token the guard answers 401 itself.
//! let anonymous = test::TestRequest::get().uri("/api/rest/me").to_request();
//! assert_eq!(test::call_service(&app, anonymous).await.status(), 401);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

mod extract;
mod future;
mod head;
mod middleware;
mod require;
mod routes;

pub use extract::{into_response, Authorized, Claims, ClaimsRejection};
pub use future::ResponseFuture;
pub use middleware::{TokenGateMiddleware, TokenGateTransform};
pub use require::{Require, RequireMiddleware};
pub use routes::endpoints;
