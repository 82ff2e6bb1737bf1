//! Verifying tokens: shape, header, key, type, signature, claims, time — in that order.
//!
//! The checks are strict where JWT libraries have historically been lax: base64url without
//! padding only, a header and claims that are JSON objects, the algorithm pinned by the key found
//! through `kid` (never chosen by `alg`), `crit` refused, `exp`/`nbf`/`iat` JSON integers only.

use std::borrow::Cow;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::claims::Claims;
use crate::error::TokenError;
use crate::issue::TokenKind;
use crate::keys::KeySet;

/// Longest token considered; anything longer is refused before decoding.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// A token that passed every check, with its claims. Cloning it is one reference count.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifiedToken(std::sync::Arc<Verified>);

#[derive(PartialEq, Eq)]
struct Verified {
    claims: Claims,
    payload: Box<[u8]>,
    /// The last second it still verifies: `exp` plus leeway, and no later than its key lives.
    valid_until: i64,
}

impl VerifiedToken {
    /// The registered claims.
    pub fn claims(&self) -> &Claims {
        &self.0.claims
    }

    /// The decoded JSON payload, to read custom claims from.
    pub fn payload(&self) -> &[u8] {
        &self.0.payload
    }

    pub(crate) fn valid_until(&self) -> i64 {
        self.0.valid_until
    }
}

impl std::fmt::Debug for VerifiedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedToken")
            .field("sub", &self.claims().sub)
            .field("sid", &self.claims().sid)
            .finish_non_exhaustive()
    }
}

/// What a token is checked against besides its signature.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expectations<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) audience: Option<&'a str>,
    pub(crate) leeway: i64,
    pub(crate) now: i64,
    /// Whether an expired token still passes (sign-out of an expired session).
    pub(crate) allow_expired: bool,
}

#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(borrow, default)]
    typ: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    kid: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "present")]
    crit: Option<()>,
}

#[derive(Deserialize)]
struct Registered {
    iss: String,
    sub: String,
    #[serde(default)]
    aud: Option<String>,
    iat: i64,
    #[serde(default, deserialize_with = "present_integer")]
    exp: Option<i64>,
    #[serde(default, deserialize_with = "present_integer")]
    nbf: Option<i64>,
    jti: String,
    sid: String,
    #[serde(default)]
    app: Option<String>,
}

/// Whether a header field is there at all, whatever its value (`"crit": null` included).
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<()>, D::Error> {
    IgnoredAny::deserialize(deserializer).map(|_| Some(()))
}

/// A time claim that, when present, is a JSON integer: `null`, strings and floats are refused.
fn present_integer<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    i64::deserialize(deserializer).map(Some)
}

fn decode_object(segment: &str, error: TokenError) -> Result<Vec<u8>, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| TokenError::Malformed)?;
    // serde would also take a JSON array for a struct; a JOSE header or claim set is an object.
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Ok(bytes),
        _ => Err(error),
    }
}

/// Verifies a token of the given kind.
pub(crate) fn verify(
    keys: &KeySet,
    token: &str,
    kind: TokenKind,
    expect: &Expectations<'_>,
) -> Result<VerifiedToken, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };

    let header_bytes = decode_object(header_b64, TokenError::BadHeader)?;
    let header: Header<'_> =
        serde_json::from_slice(&header_bytes).map_err(|_| TokenError::BadHeader)?;
    if header.crit.is_some() {
        return Err(TokenError::BadHeader);
    }
    let key = header
        .kid
        .as_deref()
        .and_then(|kid| keys.find(kid, expect.now))
        .ok_or(TokenError::BadHeader)?;
    if header.alg != key.algorithm.name() {
        return Err(TokenError::BadHeader);
    }
    if header.typ.as_deref() != Some(kind.typ()) {
        return Err(TokenError::WrongType);
    }

    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| TokenError::Malformed)?;
    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
    if !key.verify(signing_input.as_bytes(), &signature, signature_b64) {
        return Err(TokenError::BadSignature);
    }

    let payload = decode_object(payload_b64, TokenError::BadClaims)?;
    let registered: Registered =
        serde_json::from_slice(&payload).map_err(|_| TokenError::BadClaims)?;
    // Times before 1970 come from no honest issuer.
    if registered.iat < 0
        || registered.exp.is_some_and(i64::is_negative)
        || registered.nbf.is_some_and(i64::is_negative)
    {
        return Err(TokenError::BadClaims);
    }
    if registered.iss != expect.issuer {
        return Err(TokenError::WrongAudienceOrIssuer);
    }
    if let Some(audience) = expect.audience {
        if registered.aud.as_deref() != Some(audience) {
            return Err(TokenError::WrongAudienceOrIssuer);
        }
    }
    match (kind, registered.exp) {
        (TokenKind::Access, None) => return Err(TokenError::BadClaims),
        (_, Some(exp))
            if !expect.allow_expired && exp.saturating_add(expect.leeway) <= expect.now =>
        {
            return Err(TokenError::Expired)
        }
        _ => {}
    }
    if let Some(nbf) = registered.nbf {
        if nbf > expect.now.saturating_add(expect.leeway) {
            return Err(TokenError::NotYetValid);
        }
    }

    Ok(VerifiedToken(std::sync::Arc::new(Verified {
        claims: Claims {
            iss: registered.iss,
            sub: registered.sub,
            aud: registered.aud,
            iat: registered.iat,
            exp: registered.exp,
            jti: registered.jti,
            sid: registered.sid,
            app: registered.app,
            custom: (),
        },
        payload: payload.into_boxed_slice(),
        valid_until: registered
            .exp
            .map_or(i64::MAX, |exp| exp.saturating_add(expect.leeway))
            .min(key.verify_until().unwrap_or(i64::MAX)),
    })))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::Config;

    fn keys() -> KeySet {
        let config = Config::default()
            .set("secret", "a-test-only-secret-of-32-bytes-or-more")
            .unwrap();
        KeySet::from_config(&config).unwrap()
    }

    const NOW: i64 = 1_800_000_000;

    fn expect() -> Expectations<'static> {
        Expectations {
            issuer: "tokengate",
            audience: None,
            leeway: 30,
            now: NOW,
            allow_expired: false,
        }
    }

    fn good(keys: &KeySet) -> String {
        let claims = serde_json::json!({
            "iss": "tokengate", "sub": "ada", "iat": NOW, "exp": NOW + 600, "jti": "j", "sid": "s",
        });
        crate::issue::sign(keys, TokenKind::Access, &claims).unwrap()
    }

    #[test]
    fn a_token_we_signed_verifies() {
        let keys = keys();
        let verified = verify(&keys, &good(&keys), TokenKind::Access, &expect()).unwrap();
        assert_eq!(verified.claims().sub, "ada");
    }

    proptest! {
        // The same function as the `verify_token` fuzz target, for CI.
        #[test]
        fn arbitrary_text_is_never_accepted(token in "\\PC{0,300}") {
            prop_assert!(verify(&keys(), &token, TokenKind::Access, &expect()).is_err());
        }

        #[test]
        fn every_changed_byte_is_refused(index in 0usize..400, byte in any::<u8>()) {
            let keys = keys();
            let token = good(&keys);
            let mut bytes = token.clone().into_bytes();
            let index = index % bytes.len();
            prop_assume!(bytes[index] != byte);
            bytes[index] = byte;
            if let Ok(changed) = String::from_utf8(bytes) {
                // Changing the last base64 character can leave the decoded bytes equal only
                // through non-canonical padding bits, which strict decoding refuses too.
                prop_assert!(verify(&keys, &changed, TokenKind::Access, &expect()).is_err(), "{}", changed);
            }
        }
    }
}
