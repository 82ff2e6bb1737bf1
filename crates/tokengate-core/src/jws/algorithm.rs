//! The JWS algorithms tokengate signs and verifies with.

/// A JWS algorithm tokengate can sign and verify with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC with SHA-256, over a shared secret of at least 32 bytes.
    #[default]
    Hs256,
    /// Ed25519 signatures (RFC 8037).
    EdDsa,
    /// ECDSA over P-256 with SHA-256.
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, keys of at least 2048 bits.
    Rs256,
}

impl Algorithm {
    /// The `alg` header value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::EdDsa => "EdDSA",
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
        }
    }

    /// The algorithm named `text` (`HS256`, `EdDSA`, `ES256`, `RS256`; any case).
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Hs256, Self::EdDsa, Self::Es256, Self::Rs256]
            .into_iter()
            .find(|algorithm| algorithm.name().eq_ignore_ascii_case(text.trim()))
    }

    pub(crate) fn jose(self) -> jsonwebtoken::Algorithm {
        match self {
            Self::Hs256 => jsonwebtoken::Algorithm::HS256,
            Self::EdDsa => jsonwebtoken::Algorithm::EdDSA,
            Self::Es256 => jsonwebtoken::Algorithm::ES256,
            Self::Rs256 => jsonwebtoken::Algorithm::RS256,
        }
    }
}
