//! The two kinds of token, each with its own `typ` header.

/// Which of the two token types; each carries its own `typ` header and each verifier accepts
/// only its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An access token (`typ: at+jwt`, RFC 9068).
    Access,
    /// A refresh token (`typ: rt+jwt`).
    Refresh,
}

impl TokenKind {
    /// The `typ` header value.
    pub fn typ(self) -> &'static str {
        match self {
            Self::Access => "at+jwt",
            Self::Refresh => "rt+jwt",
        }
    }
}
