//! The errors a request can meet, and how each one is answered.
//!
//! Every failure is an [`Error`] with a [`ErrorKind`]. Both adapters answer it the same way:
//! [`Error::status`] for the status code, [`Error::challenge`] for the RFC 6750
//! `WWW-Authenticate` header, and [`Error::to_response`] for the whole JSON answer
//! `{"error": "<code>", "error_description": "<text>"}`.
//!
//! # Example
//!
//! ```
//! use tokengate::{Error, ErrorKind};
//!
//! let error = Error::new(ErrorKind::MissingField("login"));
//! assert_eq!(error.status(), 400);
//! assert_eq!(error.code(), "invalid_request");
//! let response = error.to_response("api");
//! assert_eq!(response.status, 400);
//! assert!(std::str::from_utf8(&response.body).unwrap().contains("`login`"));
//! ```

use std::fmt;

use super::response::Response;
use crate::jws::TokenError;

/// A request failed; the kind says why and decides the answer.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No access token came with a request to a guarded route.
    MissingToken,
    /// A token came with the request but is not valid; the reason is for the client.
    InvalidToken(TokenError),
    /// `/token` or `/signout` was called without any refresh token.
    MissingRefreshToken,
    /// The valid token does not meet the route's [requirement](crate::authz::Requirement);
    /// the text names what is missing (space-delimited, as the challenge's `scope`).
    InsufficientScope(String),
    /// The token's session has not proved enough for this route (RFC 9470): a second factor
    /// (`acr_values="aal2"`), or one recent enough (`max_age`).
    InsufficientUserAuthentication {
        /// Whether a second factor (`aal2`) is needed.
        aal2: bool,
        /// The longest time since the last proof, in seconds, when the route needs a recent one.
        max_age: Option<u64>,
    },
    /// A second-factor code (or recovery code) is wrong, or was used already.
    InvalidCode,
    /// No such second factor of the caller.
    NoSuchFactor,
    /// The caller holds as many second factors as `mfa_max_factors` allows.
    TooManyFactors,
    /// A passkey sign-in or proof was refused: unknown passkey, bad signature, another
    /// challenge or origin, a counter gone back... one answer for all.
    InvalidPasskey,
    /// The passkey being registered is registered already (to this user or another).
    PasskeyTaken,
    /// A cookie-authenticated unsafe request failed the CSRF defences (missing or foreign
    /// `X-CSRF-Token`, or a foreign `Origin`); the text says which.
    CsrfRejected(&'static str),
    /// Unknown login, wrong password, unknown application or wrong secret: one answer for all.
    InvalidCredentials,
    /// `{prefix}/introspect` or `{prefix}/revoke` was called with client credentials that are
    /// missing (introspection), malformed or wrong (RFC 6749 §5.2 `invalid_client`).
    InvalidClient,
    /// A required field is absent from the body.
    MissingField(&'static str),
    /// The same field came twice.
    DuplicateField(String),
    /// A field other than the password holds a control character (a NUL, a newline...):
    /// refused before any store or directory sees it.
    ControlCharacter(String),
    /// A field has a value that cannot be used; the text says which and why.
    InvalidField {
        /// The field's name.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Too many failed sign-ins for this login or from this address; try again later.
    TooManyAttempts {
        /// Seconds until the next attempt is counted again (`Retry-After`).
        retry_after: u64,
    },
    /// The body could not be parsed in its declared content type.
    MalformedBody(String),
    /// The content type is not one of multipart/form-data, urlencoded or JSON.
    UnsupportedMediaType,
    /// The body is larger than the configured `body_limit`.
    PayloadTooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// The body did not arrive in full within `body_timeout`.
    RequestTimeout,
    /// The endpoint exists but not for this method; `allow` is the method it takes.
    MethodNotAllowed {
        /// The method the endpoint accepts (`POST`, or `GET` for the JWKS).
        allow: &'static str,
    },
    /// `DELETE {prefix}/sessions/{id}` or `/signout` with `session=<id>` named no live
    /// session of the caller's subject (another subject's sessions are not told apart).
    NoSuchSession,
    /// A provider sign-in named no configured provider.
    NoSuchProvider,
    /// A provider sign-in's callback whose `state` is missing, not the one this browser
    /// started, used already or ended; the text says which of the first two.
    InvalidState(&'static str),
    /// The provider refused the sign-in, or its answer did not verify; the text says which.
    ProviderFailed(&'static str),
    /// The application has no account for the identity a provider proved, and makes none.
    NoAccount,
    /// `{prefix}/oidc/exchange`: the code is unknown, used or ended, or the verifier is not
    /// its challenge's.
    InvalidGrant,
    /// A dependency (the session store, the credential directory) could not be reached.
    Unavailable(&'static str),
    /// As many credential checks as `hash_queue_depth` allows are under way: the sign-in (or
    /// client authentication) was not checked; try again after `Retry-After`.
    Busy {
        /// Seconds to wait before trying again (`Retry-After`).
        retry_after: u64,
    },
    /// Something that should not happen did; logged, and answered with 500.
    Internal(String),
}

impl Error {
    /// An error of this kind.
    pub fn new(kind: ErrorKind) -> Self {
        Self { kind }
    }

    /// An invalid-token error with this reason.
    pub fn invalid_token(reason: TokenError) -> Self {
        Self::new(ErrorKind::InvalidToken(reason))
    }

    /// The kind, to match on.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The HTTP status code of the answer.
    pub fn status(&self) -> u16 {
        match self.kind {
            ErrorKind::MissingToken
            | ErrorKind::InvalidToken(_)
            | ErrorKind::InvalidCredentials
            | ErrorKind::InvalidClient
            | ErrorKind::InsufficientUserAuthentication { .. }
            | ErrorKind::InvalidCode
            | ErrorKind::InvalidPasskey
            | ErrorKind::ProviderFailed(_) => 401,
            ErrorKind::InsufficientScope(_) | ErrorKind::CsrfRejected(_) | ErrorKind::NoAccount => {
                403
            }
            ErrorKind::MissingRefreshToken
            | ErrorKind::MissingField(_)
            | ErrorKind::DuplicateField(_)
            | ErrorKind::ControlCharacter(_)
            | ErrorKind::InvalidField { .. }
            | ErrorKind::MalformedBody(_)
            | ErrorKind::InvalidState(_)
            | ErrorKind::InvalidGrant => 400,
            ErrorKind::UnsupportedMediaType => 415,
            ErrorKind::PayloadTooLarge { .. } => 413,
            ErrorKind::RequestTimeout => 408,
            ErrorKind::MethodNotAllowed { .. } => 405,
            ErrorKind::NoSuchSession | ErrorKind::NoSuchFactor | ErrorKind::NoSuchProvider => 404,
            ErrorKind::TooManyFactors | ErrorKind::PasskeyTaken => 409,
            ErrorKind::Unavailable(_) | ErrorKind::Busy { .. } => 503,
            ErrorKind::TooManyAttempts { .. } => 429,
            ErrorKind::Internal(_) => 500,
        }
    }

    /// The machine-readable code of the JSON body's `error` field.
    pub fn code(&self) -> &'static str {
        match self.kind {
            ErrorKind::MissingToken => "missing_token",
            ErrorKind::InvalidToken(_) => "invalid_token",
            ErrorKind::InsufficientScope(_) => "insufficient_scope",
            ErrorKind::CsrfRejected(_) => "csrf_rejected",
            ErrorKind::InvalidCredentials | ErrorKind::InvalidPasskey => "invalid_credentials",
            ErrorKind::PasskeyTaken => "passkey_registered",
            ErrorKind::InvalidClient => "invalid_client",
            ErrorKind::InsufficientUserAuthentication { .. } => "insufficient_user_authentication",
            ErrorKind::InvalidCode => "invalid_code",
            ErrorKind::TooManyFactors => "too_many_factors",
            ErrorKind::MissingRefreshToken
            | ErrorKind::MissingField(_)
            | ErrorKind::DuplicateField(_)
            | ErrorKind::ControlCharacter(_)
            | ErrorKind::InvalidField { .. }
            | ErrorKind::MalformedBody(_) => "invalid_request",
            ErrorKind::UnsupportedMediaType => "unsupported_media_type",
            ErrorKind::PayloadTooLarge { .. } => "payload_too_large",
            ErrorKind::RequestTimeout => "request_timeout",
            ErrorKind::MethodNotAllowed { .. } => "method_not_allowed",
            ErrorKind::NoSuchSession | ErrorKind::NoSuchFactor | ErrorKind::NoSuchProvider => {
                "not_found"
            }
            ErrorKind::InvalidState(_) => "invalid_state",
            ErrorKind::ProviderFailed(_) | ErrorKind::NoAccount => "access_denied",
            ErrorKind::InvalidGrant => "invalid_grant",
            ErrorKind::Unavailable(_) | ErrorKind::Busy { .. } => "temporarily_unavailable",
            ErrorKind::TooManyAttempts { .. } => "too_many_attempts",
            ErrorKind::Internal(_) => "server_error",
        }
    }

    /// The `WWW-Authenticate` value (RFC 6750 §3) for the errors that carry one.
    pub fn challenge(&self, realm: &str) -> Option<String> {
        match &self.kind {
            ErrorKind::MissingToken => Some(format!("Bearer realm=\"{realm}\"")),
            ErrorKind::InvalidToken(reason) => Some(format!(
                "Bearer realm=\"{realm}\", error=\"invalid_token\", error_description=\"{reason}\""
            )),
            ErrorKind::InsufficientScope(missing) => Some(format!(
                "Bearer realm=\"{realm}\", error=\"insufficient_scope\", scope=\"{missing}\""
            )),
            ErrorKind::InvalidClient => Some(format!("Basic realm=\"{realm}\"")),
            ErrorKind::InsufficientUserAuthentication { aal2, max_age } => {
                let mut challenge = format!(
                    "Bearer realm=\"{realm}\", error=\"insufficient_user_authentication\", error_description=\"{self}\""
                );
                if *aal2 {
                    challenge.push_str(", acr_values=\"aal2\"");
                }
                if let Some(max_age) = max_age {
                    challenge.push_str(", max_age=");
                    challenge.push_str(&max_age.to_string());
                }
                Some(challenge)
            }
            _ => None,
        }
    }

    /// The whole answer: status, `WWW-Authenticate` where due, and the JSON body.
    pub fn to_response(&self, realm: &str) -> Response {
        let body = serde_json::json!({
            "error": self.code(),
            "error_description": self.to_string(),
        });
        let mut response = Response::json(self.status(), &body);
        if let Some(challenge) = self.challenge(realm) {
            response.push("www-authenticate", challenge);
        }
        if let ErrorKind::TooManyAttempts { retry_after } | ErrorKind::Busy { retry_after } =
            self.kind
        {
            response.push("retry-after", retry_after.to_string());
        }
        if let ErrorKind::MethodNotAllowed { allow } = self.kind {
            response.push("allow", allow.to_owned());
        }
        response
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::MissingToken => f.write_str("an access token is required"),
            ErrorKind::InvalidToken(reason) => reason.fmt(f),
            ErrorKind::MissingRefreshToken => {
                f.write_str("a refresh token is required: field `token` or a bearer header")
            }
            ErrorKind::InsufficientScope(missing) => {
                write!(f, "the token lacks what this route requires: {missing}")
            }
            ErrorKind::CsrfRejected(reason) => f.write_str(reason),
            ErrorKind::InvalidCredentials => f.write_str("the login or the password is incorrect"),
            ErrorKind::InvalidClient => f.write_str(
                "the client must authenticate with an application key and its secret (HTTP Basic, or `client_id` and `client_secret`)",
            ),
            ErrorKind::MissingField(name) => write!(f, "the field `{name}` is required"),
            ErrorKind::DuplicateField(name) => write!(f, "the field `{name}` is given more than once"),
            ErrorKind::ControlCharacter(name) => {
                write!(f, "the field `{name}` must not contain control characters")
            }
            ErrorKind::InvalidField { field, reason } => write!(f, "the field `{field}` {reason}"),
            ErrorKind::MalformedBody(reason) => write!(f, "the body cannot be read: {reason}"),
            ErrorKind::UnsupportedMediaType => f.write_str(
                "the body must be multipart/form-data, application/x-www-form-urlencoded or application/json",
            ),
            ErrorKind::PayloadTooLarge { limit } => {
                write!(f, "the body is larger than the limit of {limit} bytes")
            }
            ErrorKind::MethodNotAllowed { allow } => {
                write!(f, "this endpoint only accepts {allow}")
            }
            ErrorKind::RequestTimeout => {
                f.write_str("the body did not arrive in time; send it whole and at once")
            }
            ErrorKind::NoSuchSession => f.write_str("no such session"),
            ErrorKind::InsufficientUserAuthentication { aal2, max_age } => match (aal2, max_age) {
                (true, Some(_)) => f.write_str("a second factor, proved recently, is required"),
                (true, None) => f.write_str("a second factor is required"),
                (false, _) => f.write_str("a more recent authentication is required"),
            },
            ErrorKind::InvalidCode => f.write_str("the code is incorrect or was used already"),
            ErrorKind::NoSuchFactor => f.write_str("no such second factor"),
            ErrorKind::TooManyFactors => f.write_str("too many second factors; remove one first"),
            ErrorKind::InvalidPasskey => f.write_str("the passkey was not accepted"),
            ErrorKind::PasskeyTaken => f.write_str("this passkey is registered already"),
            ErrorKind::NoSuchProvider => f.write_str("no such identity provider"),
            ErrorKind::InvalidState(why) => write!(f, "the sign-in cannot go on: {why}"),
            ErrorKind::ProviderFailed(why) => write!(f, "the identity provider's sign-in failed: {why}"),
            ErrorKind::NoAccount => f.write_str("there is no account for this identity"),
            ErrorKind::InvalidGrant => f.write_str(
                "the code is unknown, used already or expired, or the verifier does not match it",
            ),
            ErrorKind::Unavailable(what) => write!(f, "the {what} is unavailable; try again later"),
            ErrorKind::Busy { .. } => f.write_str(
                "too many sign-ins are being checked at once; try again after the Retry-After delay",
            ),
            ErrorKind::Internal(_) => f.write_str("an internal error occurred"),
            ErrorKind::TooManyAttempts { .. } => {
                f.write_str("too many failed attempts; try again after the Retry-After delay")
            }
        }
    }
}

impl std::error::Error for Error {}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Self::new(kind)
    }
}

impl From<TokenError> for Error {
    fn from(reason: TokenError) -> Self {
        Self::invalid_token(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_token_challenge_has_no_error_attribute() {
        let error = Error::new(ErrorKind::MissingToken);
        assert_eq!(
            error.challenge("api").as_deref(),
            Some("Bearer realm=\"api\"")
        );
        assert_eq!(error.status(), 401);
    }

    #[test]
    fn invalid_token_challenge_names_the_error() {
        let error = Error::invalid_token(TokenError::Expired);
        let challenge = error.challenge("api").unwrap_or_default();
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    }

    #[test]
    fn a_full_hash_queue_is_a_503_with_retry_after() {
        let response = Error::new(ErrorKind::Busy { retry_after: 1 }).to_response("api");
        assert_eq!(response.status, 503);
        assert_eq!(response.header("retry-after"), Some("1"));
        let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_default();
        assert_eq!(body["error"], "temporarily_unavailable");
    }

    #[test]
    fn internal_error_does_not_leak_its_detail() {
        let error = Error::new(ErrorKind::Internal("db password wrong".into()));
        let response = error.to_response("api");
        assert_eq!(response.status, 500);
        assert!(!String::from_utf8_lossy(&response.body).contains("password"));
    }
}
