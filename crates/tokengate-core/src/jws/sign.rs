//! Issuing signed tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Serialize;

use super::keys::KeySet;
use super::kind::TokenKind;

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
