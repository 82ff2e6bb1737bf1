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
use serde_json::value::RawValue;

use super::claims::Claims;
use super::error::TokenError;
use super::grants::Grants;
use super::key_set::KeySet;
use super::kind::TokenKind;
use super::prepared_key::Key;

/// Longest token considered; anything longer is refused before decoding.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// A byte range of the payload.
type Span = std::ops::Range<usize>;

/// A token that passed every check, with its claims. Cloning it is one reference count.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifiedToken(std::sync::Arc<Verified>);

struct Verified {
    /// Made from the payload on first use: a guard that only checks the token allocates none.
    claims: std::sync::OnceLock<Claims>,
    /// Read on the first requirement check, from the spans of `roles` and `scope`.
    grants: std::sync::OnceLock<Grants>,
    /// Where `roles` and `scope` sit in the payload, found while it was verified.
    grant_spans: [Option<Span>; 2],
    payload: Vec<u8>,
    /// Whether the token's session still waits for its second factor (`mfa_pending`).
    pending: bool,
    /// Whether another issuer signed it (one of `[[issuers]]`): it has no session here.
    foreign: bool,
    /// The last second it still verifies: `exp` plus leeway, and no later than its key lives.
    valid_until: i64,
}

impl PartialEq for Verified {
    fn eq(&self, other: &Self) -> bool {
        self.payload == other.payload
    }
}

impl Eq for Verified {}

impl VerifiedToken {
    /// The registered claims.
    pub fn claims(&self) -> &Claims {
        self.0.claims.get_or_init(|| {
            // The payload passed this very parse when the token was verified.
            serde_json::from_slice::<Registered<'_>>(&self.0.payload).map_or_else(
                |_| Registered::empty().into_claims(),
                Registered::into_claims,
            )
        })
    }

    /// The roles and scopes the token grants, for per-route requirements.
    pub fn grants(&self) -> &Grants {
        self.0.grants.get_or_init(|| {
            let [roles, scope] = self.0.grant_spans.clone();
            let slice = |span: Option<Span>| span.and_then(|span| self.0.payload.get(span));
            Grants::of_raw(slice(roles), slice(scope))
        })
    }

    /// The decoded JSON payload, to read custom claims from.
    pub fn payload(&self) -> &[u8] {
        &self.0.payload
    }

    /// Whether the token's session still waits for its second factor (claim `mfa_pending`):
    /// such a token reaches only the second-factor endpoints and `mfa_aal1_paths`.
    pub fn mfa_pending(&self) -> bool {
        self.0.pending
    }

    /// Whether another issuer signed the token (one of `[[issuers]]`): then [`claims`]
    /// name that issuer in `iss`, its subject is that issuer's (someone only together with
    /// `iss`), its roles and scopes are mapped as its configuration says, it has no session
    /// of this gate's (`sid` and `jti` are its issuer's, if any), and it proves no second
    /// factor here.
    ///
    /// [`claims`]: Self::claims
    pub fn is_foreign(&self) -> bool {
        self.0.foreign
    }

    /// A token another issuer signed, verified with its keys and its policy: `payload` its
    /// claims, `grants` its roles and scopes as the policy maps them.
    pub(crate) fn foreign(payload: Vec<u8>, grants: Grants, valid_until: i64) -> Self {
        let claims = Claims::from_payload(&payload).map_or_else(
            |_| {
                // Verified: `iss` and `sub` are strings; anything else may not fit.
                #[derive(Deserialize)]
                struct Named {
                    iss: String,
                    sub: String,
                }
                let named: Option<Named> = serde_json::from_slice(&payload).ok();
                let mut claims = Registered::empty().into_claims();
                if let Some(named) = named {
                    (claims.iss, claims.sub) = (named.iss, named.sub);
                }
                claims
            },
            // Not an application login of this gate's, whatever it says.
            |claims| Claims {
                app: None,
                ..claims
            },
        );
        Self(std::sync::Arc::new(Verified {
            claims: std::sync::OnceLock::from(claims),
            grants: std::sync::OnceLock::from(grants),
            grant_spans: [None, None],
            payload,
            pending: false,
            foreign: true,
            valid_until,
        }))
    }

    /// The assurance the token states: whether its `acr` is `aal2`, and its `auth_time`
    /// (the last time a factor was proved on its session), read from the payload.
    ///
    /// A token of another issuer states none here: its `acr` is its issuer's word, which this
    /// gate has not checked.
    pub fn assurance(&self) -> (bool, Option<i64>) {
        #[derive(Deserialize)]
        struct Assured<'a> {
            #[serde(borrow, default)]
            acr: Option<Cow<'a, str>>,
            #[serde(default)]
            auth_time: Option<i64>,
        }
        if self.0.foreign {
            return (false, None);
        }
        serde_json::from_slice::<Assured<'_>>(&self.0.payload).map_or((false, None), |read| {
            (read.acr.as_deref() == Some("aal2"), read.auth_time)
        })
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
    issuer: &'a str,
    audience: Option<&'a str>,
    leeway: i64,
    now: i64,
    /// Whether an expired token still passes (sign-out of an expired session).
    allow_expired: bool,
}

impl<'a> Expectations<'a> {
    /// A token of `issuer` (and `audience`, when one is set), valid at `now` give or take
    /// `leeway` seconds; with `allow_expired`, also after its `exp`.
    pub(crate) fn new(
        issuer: &'a str,
        audience: Option<&'a str>,
        leeway: i64,
        now: i64,
        allow_expired: bool,
    ) -> Self {
        Self {
            issuer,
            audience,
            leeway,
            now,
            allow_expired,
        }
    }
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

/// The registered claims, borrowed from the payload where no escape forces a copy.
#[derive(Deserialize)]
struct Registered<'a> {
    #[serde(borrow)]
    iss: Cow<'a, str>,
    #[serde(borrow)]
    sub: Cow<'a, str>,
    #[serde(borrow, default)]
    aud: Option<Cow<'a, str>>,
    iat: i64,
    #[serde(default, deserialize_with = "present_integer")]
    exp: Option<i64>,
    #[serde(default, deserialize_with = "present_integer")]
    nbf: Option<i64>,
    #[serde(borrow)]
    jti: Cow<'a, str>,
    #[serde(borrow)]
    sid: Cow<'a, str>,
    #[serde(borrow, default)]
    app: Option<Cow<'a, str>>,
    /// Kept as the raw JSON, for per-route requirements; skipping it would cost as much.
    #[serde(borrow, default)]
    roles: Option<&'a RawValue>,
    #[serde(borrow, default)]
    scope: Option<&'a RawValue>,
    #[serde(default)]
    mfa_pending: bool,
}

impl Registered<'_> {
    fn empty() -> Self {
        Self {
            iss: Cow::Borrowed(""),
            sub: Cow::Borrowed(""),
            aud: None,
            iat: 0,
            exp: None,
            nbf: None,
            jti: Cow::Borrowed(""),
            sid: Cow::Borrowed(""),
            app: None,
            roles: None,
            scope: None,
            mfa_pending: false,
        }
    }

    fn into_claims(self) -> Claims {
        Claims {
            iss: self.iss.into_owned(),
            sub: self.sub.into_owned(),
            aud: self.aud.map(Cow::into_owned),
            iat: self.iat,
            exp: self.exp,
            jti: self.jti.into_owned(),
            sid: self.sid.into_owned(),
            app: self.app.map(Cow::into_owned),
            custom: (),
        }
    }
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

/// The key of a header that is not byte for byte one of ours: parsed and checked in full.
fn key_of_header<'k>(
    keys: &'k KeySet,
    header_b64: &str,
    kind: TokenKind,
    now: i64,
) -> Result<&'k Key, TokenError> {
    let header_bytes = decode_object(header_b64, TokenError::BadHeader)?;
    let header: Header<'_> =
        serde_json::from_slice(&header_bytes).map_err(|_| TokenError::BadHeader)?;
    if header.crit.is_some() {
        return Err(TokenError::BadHeader);
    }
    let key = header
        .kid
        .as_deref()
        .and_then(|kid| keys.find(kid, kind, now))
        .ok_or(TokenError::BadHeader)?;
    if header.alg != key.algorithm.name() {
        return Err(TokenError::BadHeader);
    }
    if header.typ.as_deref() != Some(kind.typ()) {
        return Err(TokenError::WrongType);
    }
    Ok(key)
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

    let key = match keys.by_header(header_b64, kind, expect.now) {
        Some(key) => key,
        None => key_of_header(keys, header_b64, kind, expect.now)?,
    };

    // The longest signature is RSA's (512 bytes for 4096-bit keys); no allocation.
    let mut signature = [0u8; 512];
    let length = URL_SAFE_NO_PAD
        .decode_slice(signature_b64, &mut signature)
        .map_err(|_| TokenError::Malformed)?;
    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
    if !key.verify(
        signing_input.as_bytes(),
        &signature[..length],
        signature_b64,
    ) {
        return Err(TokenError::BadSignature);
    }

    let payload = decode_object(payload_b64, TokenError::BadClaims)?;
    let registered: Registered<'_> =
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
        (TokenKind::Access | TokenKind::PendingAccess, None) => return Err(TokenError::BadClaims),
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

    let span = |raw: Option<&RawValue>| {
        raw.map(|raw| {
            let start = raw.get().as_ptr().addr() - payload.as_ptr().addr();
            start..start + raw.get().len()
        })
    };
    let grant_spans = [span(registered.roles), span(registered.scope)];
    let pending = registered.mfa_pending || kind == TokenKind::PendingAccess;
    let valid_until = registered
        .exp
        .map_or(i64::MAX, |exp| exp.saturating_add(expect.leeway))
        .min(key.verify_until().unwrap_or(i64::MAX));
    drop(registered);
    Ok(VerifiedToken(std::sync::Arc::new(Verified {
        claims: std::sync::OnceLock::new(),
        grants: std::sync::OnceLock::new(),
        grant_spans,
        payload,
        pending,
        foreign: false,
        valid_until,
    })))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::jws::{Algorithm, KeyConfig, KeyMaterial, Secret};

    fn keys() -> KeySet {
        let secret = Secret::new("a-test-only-secret-of-32-bytes-or-more");
        KeySet::new(&[KeyConfig::new(
            Algorithm::Hs256,
            KeyMaterial::Secret(secret),
        )])
        .unwrap()
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
        crate::jws::sign(keys, TokenKind::Access, &claims).unwrap()
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

        /// Tokens of the right shape with one part changed: one decoded byte of the header,
        /// the claims or the signature flipped and encoded again, so every case reaches the
        /// key and signature checks. Claims and signature changes fail the signature; header
        /// changes fail on the header or the signature, never get through.
        #[test]
        fn every_changed_byte_of_a_well_formed_token_is_refused(
            part in 0usize..3,
            index in any::<prop::sample::Index>(),
            flip in 1u8..=255,
        ) {
            let keys = keys();
            let token = good(&keys);
            let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
            let mut bytes = URL_SAFE_NO_PAD.decode(&parts[part]).unwrap();
            let at = index.index(bytes.len());
            bytes[at] ^= flip;
            parts[part] = URL_SAFE_NO_PAD.encode(&bytes);
            let changed = parts.join(".");
            let outcome = verify(&keys, &changed, TokenKind::Access, &expect());
            if part == 0 {
                prop_assert!(
                    matches!(
                        outcome,
                        Err(TokenError::BadHeader | TokenError::WrongType | TokenError::BadSignature)
                    ),
                    "{:?}", outcome
                );
            } else {
                prop_assert_eq!(outcome.err(), Some(TokenError::BadSignature));
            }
        }
    }
}
