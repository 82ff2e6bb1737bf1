//! An access token of another issuer, checked with that issuer's keys and policy: the
//! algorithm among those the policy allows (never `none`, never a shared-secret one: a public
//! key is never an HMAC secret) and the one the key was published for, the signature, `iss`,
//! `aud`, `exp` and `nbf`; then its roles and scopes read from the claims the policy names.
//!
//! The issuer a token names picks the keys it is checked with, and nothing else does: the
//! `iss` read before the signature is checked only chooses the policy, and that policy then
//! requires the same `iss` of the verified claims.

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::jws::{Grants, TokenError, VerifiedToken, MAX_TOKEN_LEN};

pub(crate) use crate::config::FOREIGN_ALGORITHMS as ALLOWED;

/// What is asked of one issuer's tokens.
#[derive(Debug, Clone)]
pub(crate) struct IssuerPolicy {
    /// `iss`, exactly.
    pub(crate) issuer: String,
    /// `aud` must hold one of these.
    pub(crate) audience: Vec<String>,
    /// The algorithms allowed, a subset of [`ALLOWED`].
    pub(crate) algorithms: Vec<Algorithm>,
    /// Where the roles are: a claim, or a dotted path into objects (`realm_access.roles`).
    pub(crate) roles_claim: Option<String>,
    /// Where the scopes are (`scope` unless configured).
    pub(crate) scopes_claim: String,
    /// Seconds of clock difference allowed on `exp` and `nbf`.
    pub(crate) leeway: u64,
}

/// One of an issuer's published keys.
pub(crate) struct ForeignKey {
    key: DecodingKey,
    /// The algorithm the key was published for (`alg` of the JWK), when it says.
    algorithm: Option<Algorithm>,
}

impl std::fmt::Debug for ForeignKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForeignKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// The key of a published JWK, by its `kid`; `None` for a key without one, one for
/// encryption, a symmetric one (a JWKS is public: a secret in it is no secret) or one of a
/// kind the crypto backend does not know.
pub(crate) fn key_of_jwk(jwk: &Jwk) -> Option<(String, ForeignKey)> {
    let kid = jwk.common.key_id.clone()?;
    if matches!(jwk.common.public_key_use, Some(ref used) if *used != PublicKeyUse::Signature) {
        return None;
    }
    if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
        return None;
    }
    let algorithm = match jwk.common.key_algorithm {
        Some(published) => Some(Algorithm::try_from(published).ok()?),
        None => None,
    };
    if algorithm.is_some_and(|alg| !ALLOWED.contains(&alg)) {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some((kid, ForeignKey { key, algorithm }))
}

/// Why a foreign token was refused (for the log; a client is told only that it is invalid,
/// or expired).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ForeignError {
    #[error("the token is not a JWS this gate reads")]
    Malformed,
    #[error("the token names no key id")]
    NoKeyId,
    #[error("the token names a key its issuer does not publish")]
    UnknownKey,
    #[error("the token's algorithm is not allowed for its issuer or its key")]
    Algorithm,
    #[error("the token has expired")]
    Expired,
    #[error("the token does not hold ({0}): {1}")]
    Invalid(TokenError, String),
}

impl ForeignError {
    /// What a client is told: the same words as for a token of this gate's own.
    pub(crate) fn token_error(&self) -> TokenError {
        match self {
            Self::Malformed => TokenError::Malformed,
            Self::NoKeyId | Self::UnknownKey | Self::Algorithm => TokenError::BadHeader,
            Self::Expired => TokenError::Expired,
            Self::Invalid(error, _) => *error,
        }
    }
}

/// What the header of a token names, before anything is checked: which issuer's keys to look
/// at, and which of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Named {
    pub(crate) issuer: String,
    pub(crate) kid: Option<String>,
}

/// The issuer and key id a token names, unchecked: they only choose the policy and the key
/// that will check it.
pub(crate) fn named(token: &str) -> Option<Named> {
    #[derive(Deserialize)]
    struct Issuer {
        iss: String,
    }
    if token.len() > MAX_TOKEN_LEN {
        return None;
    }
    let header = jsonwebtoken::decode_header(token).ok()?;
    let Issuer { iss } = jsonwebtoken::dangerous::insecure_decode_claims(token).ok()?;
    Some(Named {
        issuer: iss,
        kid: header.kid,
    })
}

/// A verified foreign access token.
#[derive(Debug, Clone)]
pub(crate) struct Foreign {
    /// Its claims, `iss` the policy's issuer and `sub` a string that is not empty (a subject
    /// is someone only together with its issuer).
    pub(crate) claims: Map<String, Value>,
    pub(crate) grants: Grants,
}

impl Foreign {
    /// The token as the guard passes it on: its claims as its issuer wrote them, its grants
    /// as the policy mapped them, valid until its `exp` (with `leeway`).
    pub(crate) fn into_verified(self, leeway: i64) -> VerifiedToken {
        let valid_until = self
            .claims
            .get("exp")
            .and_then(Value::as_i64)
            .map_or(i64::MAX, |exp| exp.saturating_add(leeway));
        let payload = serde_json::to_vec(&handed_on(self.claims, &self.grants)).unwrap_or_default();
        VerifiedToken::foreign(payload, self.grants, valid_until)
    }
}

/// The claims a handler reads from a token of another issuer: its own, but with its roles
/// and scopes as its policy mapped them (`roles`, a list; `scope`, space-separated), and
/// without what only this gate may say (`app`, an application login here; `mfa_pending`,
/// `acr`, `amr`, `auth_time`, a factor proved here; `idp`, a provider sign-in here).
fn handed_on(mut claims: Map<String, Value>, grants: &Grants) -> Map<String, Value> {
    for name in [
        "app",
        "mfa_pending",
        "acr",
        "amr",
        "auth_time",
        "idp",
        "roles",
        "scope",
    ] {
        claims.remove(name);
    }
    let roles: Vec<Value> = grants.roles().map(Value::from).collect();
    if !roles.is_empty() {
        claims.insert("roles".into(), Value::Array(roles));
    }
    let scopes: Vec<&str> = grants.scopes().collect();
    if !scopes.is_empty() {
        claims.insert("scope".into(), Value::from(scopes.join(" ")));
    }
    claims
}

/// Checks `token` with `key`, one of the keys of the issuer `policy` is for.
pub(crate) fn verify(
    token: &str,
    policy: &IssuerPolicy,
    key: &ForeignKey,
) -> Result<Foreign, ForeignError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(ForeignError::Malformed);
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| ForeignError::Malformed)?;
    if header.kid.is_none() {
        return Err(ForeignError::NoKeyId);
    }
    let alg = header.alg;
    if !ALLOWED.contains(&alg)
        || !policy.algorithms.contains(&alg)
        || key.algorithm.is_some_and(|published| published != alg)
    {
        return Err(ForeignError::Algorithm);
    }
    let mut validation = Validation::new(alg);
    validation.leeway = policy.leeway;
    validation.validate_nbf = true;
    validation.set_issuer(&[policy.issuer.as_str()]);
    validation.set_audience(&policy.audience);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation).map_err(
        |error| match error.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => ForeignError::Expired,
            jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => ForeignError::Algorithm,
            other => {
                use jsonwebtoken::errors::ErrorKind as Kind;
                let error = match other {
                    Kind::InvalidSignature => TokenError::BadSignature,
                    Kind::ImmatureSignature => TokenError::NotYetValid,
                    Kind::InvalidIssuer | Kind::InvalidAudience => {
                        TokenError::WrongAudienceOrIssuer
                    }
                    _ => TokenError::BadClaims,
                };
                ForeignError::Invalid(error, format!("{other:?}"))
            }
        },
    )?;
    let claims = data.claims;
    // Times as this gate's own tokens have them: integers (jsonwebtoken rounds a float).
    let integer = |name: &str| match claims.get(name) {
        None => name != "exp",
        Some(value) => value.as_i64().is_some(),
    };
    if !["exp", "nbf", "iat"].into_iter().all(integer) {
        return Err(ForeignError::Invalid(
            TokenError::BadClaims,
            "exp, nbf and iat must be integers".into(),
        ));
    }
    if !matches!(claims.get("sub"), Some(Value::String(sub)) if !sub.is_empty()) {
        return Err(ForeignError::Invalid(
            TokenError::BadClaims,
            "sub is not a string".into(),
        ));
    }
    let raw = |path: Option<&str>| -> Option<Vec<u8>> {
        let mut names = path?.split('.');
        let first = claims.get(names.next()?)?;
        let value = names.try_fold(first, |at, name| at.get(name))?;
        serde_json::to_vec(value).ok()
    };
    let roles = raw(policy.roles_claim.as_deref());
    let scopes = raw(Some(&policy.scopes_claim));
    let grants = Grants::of_raw(roles.as_deref(), scopes.as_deref());
    Ok(Foreign { claims, grants })
}

// The test issuer's keys are made with aws-lc-rs.
#[cfg(test)]
#[cfg(feature = "aws_lc_rs")]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    /// An ES256 key made for the test, its JWK (with `kid`), and a signer.
    struct Issuer {
        encoding: EncodingKey,
        jwk: Jwk,
    }

    impl Issuer {
        fn new(kid: &str) -> Self {
            let (encoding, jwk) = crate::federation::testing::es256(kid);
            Self { encoding, jwk }
        }

        fn sign(&self, header: &Header, claims: &Value) -> String {
            jsonwebtoken::encode(header, claims, &self.encoding).unwrap()
        }

        fn key(&self) -> ForeignKey {
            key_of_jwk(&self.jwk).unwrap().1
        }
    }

    fn header(kid: &str) -> Header {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.to_owned());
        header
    }

    fn policy() -> IssuerPolicy {
        IssuerPolicy {
            issuer: "https://idp.example".into(),
            audience: vec!["api".into()],
            algorithms: vec![Algorithm::ES256],
            roles_claim: Some("realm_access.roles".into()),
            scopes_claim: "scope".into(),
            leeway: 0,
        }
    }

    fn claims() -> Value {
        let now = jsonwebtoken::get_current_timestamp();
        json!({
            "iss": "https://idp.example", "aud": "api", "sub": "u-1",
            "exp": now + 300, "iat": now,
            "scope": "read write", "realm_access": {"roles": ["admin"]},
        })
    }

    #[test]
    fn a_token_of_the_issuer_verifies_with_its_grants() {
        let idp = Issuer::new("k1");
        let token = idp.sign(&header("k1"), &claims());
        assert_eq!(
            named(&token),
            Some(Named {
                issuer: "https://idp.example".into(),
                kid: Some("k1".into())
            })
        );
        let foreign = verify(&token, &policy(), &idp.key()).unwrap();
        assert_eq!(foreign.claims["sub"], "u-1");
        assert!(foreign.grants.has_scope("read") && foreign.grants.has_scope("write"));
        assert!(foreign.grants.has_role("admin") && !foreign.grants.has_role("user"));
    }

    #[test]
    fn another_key_issuer_or_audience_is_refused() {
        let idp = Issuer::new("k1");
        let other = Issuer::new("k1");
        let token = other.sign(&header("k1"), &claims());
        assert!(matches!(
            verify(&token, &policy(), &idp.key()),
            Err(ForeignError::Invalid(..))
        ));
        for (claim, value) in [("iss", "https://evil.example"), ("aud", "another-api")] {
            let mut claims = claims();
            claims[claim] = json!(value);
            let token = idp.sign(&header("k1"), &claims);
            assert!(
                matches!(
                    verify(&token, &policy(), &idp.key()),
                    Err(ForeignError::Invalid(..))
                ),
                "{claim}"
            );
        }
    }

    #[test]
    fn expired_or_not_yet_valid_tokens_are_refused() {
        let idp = Issuer::new("k1");
        let mut expired = claims();
        expired["exp"] = json!(jsonwebtoken::get_current_timestamp() - 10);
        let token = idp.sign(&header("k1"), &expired);
        assert_eq!(
            verify(&token, &policy(), &idp.key()).unwrap_err(),
            ForeignError::Expired
        );
        let mut early = claims();
        early["nbf"] = json!(jsonwebtoken::get_current_timestamp() + 600);
        let token = idp.sign(&header("k1"), &early);
        assert!(verify(&token, &policy(), &idp.key()).is_err());
    }

    #[test]
    fn none_and_shared_secret_algorithms_are_refused() {
        let idp = Issuer::new("k1");
        let signed = idp.sign(&header("k1"), &claims());
        let payload = signed.split('.').nth(1).unwrap();
        // alg none, with no signature.
        let none = format!(
            "{}.{payload}.",
            base64_url(br#"{"alg":"none","typ":"JWT","kid":"k1"}"#)
        );
        assert!(verify(&none, &policy(), &idp.key()).is_err());
        // HS256 with the public key's bytes as the secret.
        let public = serde_json::to_vec(&idp.jwk).unwrap();
        let mut hs = Header::new(Algorithm::HS256);
        hs.kid = Some("k1".into());
        let token =
            jsonwebtoken::encode(&hs, &claims(), &EncodingKey::from_secret(&public).unwrap())
                .unwrap();
        assert_eq!(
            verify(&token, &policy(), &idp.key()).unwrap_err(),
            ForeignError::Algorithm
        );
        // A policy that lists an algorithm the key was not published for.
        let mut wide = policy();
        wide.algorithms.push(Algorithm::RS256);
        let mut rs = header("k1");
        rs.alg = Algorithm::RS256;
        let forged = format!(
            "{}.{payload}.{}",
            base64_url(&serde_json::to_vec(&rs).unwrap()),
            signed.split('.').nth(2).unwrap()
        );
        assert_eq!(
            verify(&forged, &wide, &idp.key()).unwrap_err(),
            ForeignError::Algorithm
        );
    }

    #[test]
    fn a_token_without_kid_is_refused() {
        let idp = Issuer::new("k1");
        let token = idp.sign(&Header::new(Algorithm::ES256), &claims());
        assert_eq!(
            verify(&token, &policy(), &idp.key()).unwrap_err(),
            ForeignError::NoKeyId
        );
    }

    #[test]
    fn symmetric_encryption_and_kid_less_jwks_give_no_key() {
        let mut jwk = Issuer::new("k1").jwk;
        jwk.common.public_key_use = Some(PublicKeyUse::Encryption);
        assert!(key_of_jwk(&jwk).is_none());
        let mut jwk = Issuer::new("k1").jwk;
        jwk.common.key_id = None;
        assert!(key_of_jwk(&jwk).is_none());
        let secret: Jwk =
            serde_json::from_value(json!({"kty": "oct", "kid": "s", "k": "c2VjcmV0"})).unwrap();
        assert!(key_of_jwk(&secret).is_none());
    }

    #[test]
    fn grants_of_other_shapes_are_empty() {
        let idp = Issuer::new("k1");
        let mut odd = claims();
        odd["scope"] = json!({"read": true});
        odd["realm_access"] = json!("admin");
        let token = idp.sign(&header("k1"), &odd);
        let foreign = verify(&token, &policy(), &idp.key()).unwrap();
        assert_eq!(foreign.grants, Grants::default());
    }

    fn base64_url(bytes: &[u8]) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }
}
