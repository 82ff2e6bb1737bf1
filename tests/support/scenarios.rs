//! The scenario table: each scenario is written once and run against every adapter, one file
//! per topic.
//!
//! A scenario starts its own server (with the configuration it needs), sends real requests
//! over TCP and asserts the status, the key headers and the JSON fields of each answer.

// An index: the conformance suite uses it, other test targets that share `support` do not.
#![allow(unused_imports)]

pub use super::attacks::*;
pub use super::authz::*;
pub use super::bodies::*;
pub use super::cookies::*;
pub use super::credentials::*;
pub use super::federation::*;
pub use super::guard::*;
pub use super::interop::*;
pub use super::lifecycle::*;
pub use super::lifetimes::*;
pub use super::mfa::*;
pub use super::mfa_attacks::*;
pub use super::passkey_attacks::*;
pub use super::passkeys::*;
pub use super::paths::*;
pub use super::providers::*;
pub use super::seed_flow::*;
pub use super::sessions::*;
pub use super::websockets::*;
pub use super::wiring::endpoints_answer_in_every_usual_wiring;
