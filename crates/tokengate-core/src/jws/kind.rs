//! The kinds of token, each with its own `typ` header.

/// Which type of token; each carries its own `typ` header and each verifier accepts only its
/// own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An access token (`typ: at+jwt`, RFC 9068).
    Access,
    /// A refresh token (`typ: rt+jwt`).
    Refresh,
    /// A WebSocket connection ticket (`typ: ticket+jwt`): an access token's claims, for one
    /// upgrade within `ticket_ttl`.
    Ticket,
    /// The access token of a session still waiting for its second factor
    /// (`typ: mfa-pending+jwt`): signed like refresh tokens (with an unpublished key where the
    /// signing key is asymmetric), so that no service trusting the JWKS takes it for an access
    /// token; only this gate reads it, and only where a waiting session may go.
    PendingAccess,
}

impl TokenKind {
    /// The `typ` header value.
    pub fn typ(self) -> &'static str {
        match self {
            Self::Access => "at+jwt",
            Self::Refresh => "rt+jwt",
            Self::Ticket => "ticket+jwt",
            Self::PendingAccess => "mfa-pending+jwt",
        }
    }
}
