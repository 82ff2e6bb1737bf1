//! The claims of an access token, as handlers see them.
//!
//! `Claims<T>` holds the registered claims and, in `custom`, whatever else the credential
//! checker put into the token, typed as `T`. With the default `T = ()` the extra claims are
//! ignored.
//!
//! # Example
//!
//! ```
//! use serde::Deserialize;
//! use tokengate::Claims;
//!
//! #[derive(Deserialize)]
//! struct Extra { roles: Vec<String> }
//!
//! let payload = br#"{"iss":"tokengate","sub":"ada","iat":1,"exp":2,"jti":"j","sid":"s","roles":["admin"]}"#;
//! let claims: Claims<Extra> = Claims::from_payload(payload)?;
//! assert_eq!(claims.sub, "ada");
//! assert_eq!(claims.custom.roles, ["admin"]);
//! let plain: Claims = Claims::from_payload(payload)?;
//! assert_eq!(plain.app, None);
//! # Ok::<(), tokengate::serde_json::Error>(())
//! ```

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The claims of a verified access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Claims<T = ()> {
    /// The issuer.
    pub iss: String,
    /// The subject: the login, or the key of an application login.
    pub sub: String,
    /// The audience, when one is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds (always present on access tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// The token's own id.
    pub jti: String,
    /// The session that the sign-in opened.
    pub sid: String,
    /// The application name of an application-key login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// Extra claims from the credential checker.
    #[serde(flatten)]
    pub custom: T,
}

impl<T: DeserializeOwned> Claims<T> {
    /// Reads claims from a token's decoded payload.
    pub fn from_payload(payload: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(payload)
    }
}
