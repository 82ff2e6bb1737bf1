//! Compact JWS tokens: the algorithms, the keys, signing and verification, and the claims.
//!
//! Each key has a `kid` and its own pinned algorithm: a token's `alg` header never picks the
//! algorithm, it must equal the algorithm of the key its `kid` names, and `kid` is only ever
//! looked up among the configured keys (`jwk`, `jku`, `x5u` and `x5c` headers are never
//! followed). One key signs; the others only verify, each until its `verify_until` (rotation
//! with a grace period). HS256 runs on a prepared HMAC key; EdDSA, ES256 and RS256 run on
//! jsonwebtoken's primitives with the crypto backend chosen by feature. Signatures are held to
//! one encoding each: low-`s` ES256, Ed25519 with `S < L`.
//!
//! Nothing here knows about HTTP, configuration files or sessions.

mod algorithm;
pub(crate) mod canonical;
mod claims;
mod error;
#[cfg(feature = "aws_lc_rs")]
mod generate;
mod grants;
mod key_set;
mod kind;
pub(crate) mod mac;
mod material;
mod prepared_key;
mod sign;
mod verify;

pub use algorithm::Algorithm;
pub use claims::Claims;
pub use error::TokenError;
#[cfg(feature = "aws_lc_rs")]
pub use generate::generate_key;
pub use grants::Grants;
#[cfg_attr(not(feature = "federation"), allow(unused_imports))]
pub(crate) use key_set::{install_crypto_provider, KeySet};
pub use kind::TokenKind;
pub use material::{KeyConfig, KeyError, KeyMaterial, Secret};
pub(crate) use sign::{random_id, session_id, sign};
pub(crate) use verify::{verify, Expectations};
pub use verify::{VerifiedToken, MAX_TOKEN_LEN};
