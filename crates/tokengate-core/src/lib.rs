//! The framework-free core of tokengate: the JWT sign-in service of the seed API, as plain
//! functions over plain request data.
//!
//! - [`Config`]: per-environment settings (TOML profiles, `TOKENGATE_*` variables).
//! - [`TokenGate`]: issues and verifies tokens, answers `signin`, `token` and `signout`, guards
//!   routes. Adapters (the tower Layer, the actix-web Transform) only translate requests to
//!   [`RequestHead`] + body stream and [`Response`] back.
//! - [`credentials`]: who may sign in; passwords as Argon2id hashes only.
//! - [`store`]: sessions, so that sign-out revokes refresh tokens.
//! - [`cookies`]: cookie mode for browser applications (`cookieauth=true`): the cookies'
//!   attributes and the CSRF defences, with the reasons for each.
//!
//! # Example
//!
//! ```
//! use tokengate_core::credentials::{hash_password, MemoryDirectory};
//! use tokengate_core::{Config, Endpoint, RequestHead, TokenGate};
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
//! let config = Config::default().set("secret", "an-example-secret-of-at-least-32-bytes")?;
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

pub mod audit;
mod cache;
mod canonical;
mod claims;
mod clock;
mod config;
pub mod cookies;
pub mod credentials;
mod duration;
mod endpoints;
mod error;
mod exp;
pub mod extract;
pub mod form;
mod gate;
mod issue;
mod keys;
mod mac;
mod request;
mod response;
mod revocation;
pub mod store;
pub mod throttle;
mod verify;

pub use claims::Claims;
pub use config::{Config, ConfigError, GuardMode, KeyConfig, KeyMaterial, SameSite, Secret};
pub use cookies::{find_cookie, CSRF_HEADER};
pub use duration::parse_duration;
pub use error::{Error, ErrorKind, TokenError};
pub use exp::{parse_exp, Expiry};
pub use extract::Guarded;
pub use gate::{Endpoint, PendingCheck, Route, TokenGate, TokenGateBuilder};
pub use issue::TokenKind;
pub use keys::Algorithm;
pub use request::RequestHead;
pub use response::{InvalidHeader, Response};
pub use verify::{VerifiedToken, MAX_TOKEN_LEN};
