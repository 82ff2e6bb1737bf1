//! Issuing signed tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Serialize;

use super::key::Key;
use super::keys::KeySet;

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

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'static str,
    kid: &'a str,
}

/// The base64url header of every token of `kind` that `key` signs: tokens are compared with it
/// byte for byte before their header is ever parsed.
pub(crate) fn encoded_header(key: &Key, kind: TokenKind) -> String {
    let header = serde_json::to_vec(&Header {
        alg: key.algorithm.name(),
        typ: kind.typ(),
        kid: &key.kid,
    })
    .unwrap_or_default();
    URL_SAFE_NO_PAD.encode(header)
}

/// Signs `claims` (a JSON object) as a compact JWS with the signing key.
pub(crate) fn sign<C: Serialize + ?Sized>(
    keys: &KeySet,
    kind: TokenKind,
    claims: &C,
) -> Result<String, String> {
    let key = keys.signer();
    let header = key.header(kind);
    let payload = serde_json::to_vec(claims).map_err(|e| e.to_string())?;
    let mut token = String::with_capacity(header.len() + payload.len() * 4 / 3 + 400);
    token.push_str(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
    let signature = key.sign(token.as_bytes())?;
    token.push('.');
    token.push_str(&signature);
    Ok(token)
}

/// A random identifier of 128 bits, base64url: session ids and `jti`.
pub(crate) fn random_id() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}
