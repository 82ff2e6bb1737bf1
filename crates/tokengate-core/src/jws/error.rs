//! Why a presented token was refused.

use std::fmt;

/// Why a presented token was refused. The text is safe to show to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenError {
    /// The token does not have the shape of a compact JWS (three base64url parts).
    Malformed,
    /// The header cannot be used: unknown algorithm or key, `crit`, not JSON.
    BadHeader,
    /// The token is of the other type (a refresh token used as access token, or the reverse).
    WrongType,
    /// The signature does not match.
    BadSignature,
    /// The claims are not a JSON object of the expected types.
    BadClaims,
    /// `exp` has passed.
    Expired,
    /// `nbf` is still in the future.
    NotYetValid,
    /// `iss` or `aud` is not ours.
    WrongAudienceOrIssuer,
    /// The session that the token belongs to was signed out or has expired.
    Revoked,
    /// A WebSocket ticket presented a second time: each opens one connection.
    Used,
    /// A WebSocket ticket bound to another path than the socket's.
    OtherPath,
}

impl TokenError {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::Malformed => "the token is not a well-formed JWT",
            Self::BadHeader => "the token header is not acceptable",
            Self::WrongType => "the token is not of the expected type",
            Self::BadSignature => "the token signature is invalid",
            Self::BadClaims => "the token claims are not valid",
            Self::Expired => "the token has expired",
            Self::NotYetValid => "the token is not valid yet",
            Self::WrongAudienceOrIssuer => "the token was issued for another service",
            Self::Revoked => "the session of this token has ended",
            Self::Used => "the ticket was used already",
            Self::OtherPath => "the ticket was asked for another WebSocket path",
        }
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}
