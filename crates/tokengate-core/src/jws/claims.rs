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
    /// The audience, when one is configured (of a token of another issuer that names
    /// several, the first).
    #[serde(
        default,
        deserialize_with = "one_audience",
        skip_serializing_if = "Option::is_none"
    )]
    pub aud: Option<String>,
    /// Issued at, Unix seconds (0 for a token of another issuer that does not say).
    #[serde(default)]
    pub iat: i64,
    /// Expires at, Unix seconds (always present on access tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// The token's own id (its issuer's, or empty, for a token of another issuer).
    #[serde(default)]
    pub jti: String,
    /// The session that the sign-in opened. A token of another issuer opened none here: its
    /// issuer's `sid`, if it has one, or empty.
    #[serde(default)]
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

/// `aud` as one text: a string, or the first of a list (another issuer's token may name
/// several audiences).
fn one_audience<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Audience {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<Audience>::deserialize(deserializer)? {
        None => None,
        Some(Audience::One(aud)) => Some(aud),
        Some(Audience::Many(list)) => list.into_iter().next(),
    })
}
