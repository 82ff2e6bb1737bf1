//! Second factors: what a session has proved ([`Assurance`], in its tokens as `amr`, `acr`
//! and `auth_time`), TOTP authenticators (RFC 6238) and recovery codes, their secrets sealed
//! at rest.
//!
//! A user with an active factor signs in at `aal1` with `mfa_pending` in the tokens: such a
//! session reaches only the `{prefix}/mfa...` endpoints, `/token`, `/signout` and the
//! `mfa_aal1_paths`, until `POST {prefix}/mfa/verify` proves a factor; its session is then
//! reissued at `aal2` (new refresh token, same `sid`). Routes ask for more with
//! [`Requirement::mfa`](crate::authz::Requirement::mfa) and
//! [`Requirement::recent_auth`](crate::authz::Requirement::recent_auth).

mod assurance;
#[cfg(feature = "passkeys")]
pub(crate) mod passkey;
pub(crate) mod recovery;
pub(crate) mod seal;
pub(crate) mod totp;

pub use assurance::Assurance;
