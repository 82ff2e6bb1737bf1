//! Other issuers: access tokens that an identity provider issued, verified with its keys.
//!
//! Without the `federation` feature nothing fetches keys, and the builder refuses
//! `[[issuers]]`: the cache and the checks are then unused.
#![cfg_attr(not(feature = "federation"), allow(dead_code))]

#[cfg(feature = "federation")]
pub(crate) mod fetch;
pub(crate) mod issuers;
pub(crate) mod keys;
#[cfg(test)]
#[cfg(feature = "aws_lc_rs")]
mod testing;
pub(crate) mod verify;
