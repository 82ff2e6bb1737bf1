//! Identity providers: sign-in with an OpenID provider (`providers`), and access tokens
//! that another issuer signed, verified with its keys (`issuers`).
//!
//! Without the `federation` feature nothing is fetched, and the builder refuses
//! `[[issuers]]` and `[[providers]]`: the cache and the checks are then unused.
#![cfg_attr(not(feature = "federation"), allow(dead_code))]

#[cfg(feature = "federation")]
pub(crate) mod fetch;
#[cfg(feature = "federation")]
pub(crate) mod http;
pub(crate) mod issuers;
pub(crate) mod keys;
#[cfg(feature = "federation")]
pub(crate) mod providers;
#[cfg(test)]
#[cfg(feature = "aws_lc_rs")]
mod testing;
pub(crate) mod verify;
