//! One key, prepared once at start-up: its `kid`, its pinned algorithm, its material and the
//! encoded headers of its tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde::Serialize;
use serde_json::Value;

use super::algorithm::Algorithm;
use super::kind::TokenKind;
use super::mac::MacKey;
use super::material::{KeyConfig, KeyError, KeyMaterial};

enum Material {
    Hmac(Box<MacKey>),
    Asymmetric {
        /// Only the signing key (and keys given with their private part) can sign.
        private: Option<EncodingKey>,
        public: DecodingKey,
        /// The public JWK, with `kid`, `alg` and `use`, as published.
        jwk: Value,
    },
}

/// One prepared key.
pub(crate) struct Key {
    pub(crate) kid: String,
    pub(crate) algorithm: Algorithm,
    material: Material,
    /// Unix time after which the key no longer verifies.
    verify_until: Option<i64>,
    /// The encoded headers of its tokens, one per kind.
    headers: [String; 4],
}

impl Key {
    fn hs256(kid: Option<&str>, secret: &[u8], verify_until: Option<i64>) -> Self {
        let mac = MacKey::new(secret);
        // Without a kid of its own, one derived from the key: it changes with the secret and
        // reveals nothing of it.
        let kid = kid.map_or_else(
            || URL_SAFE_NO_PAD.encode(&mac.sign(&[b"tokengate key id"])[..9]),
            str::to_owned,
        );
        Self {
            kid,
            algorithm: Algorithm::Hs256,
            material: Material::Hmac(Box::new(mac)),
            verify_until,
            headers: Default::default(),
        }
        .with_headers()
    }

    /// The unpublished HS256 key that signs this key's refresh tokens and tickets, for an
    /// asymmetric key with its private part: derived from that part, so that every instance
    /// holding the key derives the same one, and verifying as long as this key does. Its kid
    /// is derived from it too, and tells nothing of this key.
    pub(crate) fn unpublished(&self) -> Option<Self> {
        if !self.is_asymmetric() {
            return None;
        }
        let root = self.private_bytes()?;
        let secret = MacKey::new(&root).sign(&[b"tokengate refresh tokens and tickets"]);
        Some(Self::hs256(None, &secret, self.verify_until))
    }

    fn asymmetric(
        key: &KeyConfig,
        index: usize,
        private: Option<EncodingKey>,
        public: DecodingKey,
        mut jwk: Jwk,
    ) -> Result<Self, KeyError> {
        let bad = |reason: String| KeyError::new(&format!("keys[{index}]"), "(key)", reason);
        if key.algorithm == Algorithm::Rs256 {
            if let jsonwebtoken::jwk::AlgorithmParameters::RSA(rsa) = &jwk.algorithm {
                let bits = URL_SAFE_NO_PAD.decode(&rsa.n).map_or(0, |n| n.len() * 8);
                if bits < 2048 {
                    return Err(bad(format!("RSA keys need at least 2048 bits, not {bits}")));
                }
            }
        }
        let kid = match &key.kid {
            Some(kid) => kid.clone(),
            // RFC 7638: the thumbprint names the key the same way in every JOSE library.
            None => jwk
                .thumbprint(ThumbprintHash::SHA256)
                .map_err(|e| bad(e.to_string()))?,
        };
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk.common.key_algorithm = Some(match key.algorithm {
            Algorithm::EdDsa => jsonwebtoken::jwk::KeyAlgorithm::EdDSA,
            Algorithm::Es256 => jsonwebtoken::jwk::KeyAlgorithm::ES256,
            _ => jsonwebtoken::jwk::KeyAlgorithm::RS256,
        });
        let jwk = serde_json::to_value(&jwk).map_err(|e| bad(e.to_string()))?;
        Ok(Self {
            kid,
            algorithm: key.algorithm,
            material: Material::Asymmetric {
                private,
                public,
                jwk,
            },
            verify_until: key.verify_until,
            headers: Default::default(),
        }
        .with_headers())
    }

    fn with_headers(mut self) -> Self {
        self.headers = [
            encoded_header(&self, TokenKind::Access),
            encoded_header(&self, TokenKind::Refresh),
            encoded_header(&self, TokenKind::Ticket),
            encoded_header(&self, TokenKind::PendingAccess),
        ];
        self
    }

    /// The public JWK, as published, for an asymmetric key.
    pub(crate) fn public_jwk(&self) -> Option<&Value> {
        match &self.material {
            Material::Asymmetric { jwk, .. } => Some(jwk),
            Material::Hmac(_) => None,
        }
    }

    /// The encoded header of its tokens of `kind`.
    pub(crate) fn header(&self, kind: TokenKind) -> &str {
        match kind {
            TokenKind::Access => &self.headers[0],
            TokenKind::Refresh => &self.headers[1],
            TokenKind::Ticket => &self.headers[2],
            TokenKind::PendingAccess => &self.headers[3],
        }
    }

    pub(crate) fn from_config(key: &KeyConfig, index: usize) -> Result<Self, KeyError> {
        let name = format!("keys[{index}]");
        let bad = |reason: &str| KeyError::new(&name, "(key)", reason);
        let jose = |e: jsonwebtoken::errors::Error| {
            bad(&format!("not a usable {} key: {e}", key.algorithm.name()))
        };
        match (&key.material, key.algorithm) {
            (KeyMaterial::Secret(secret), Algorithm::Hs256) => {
                if secret.expose().len() < 32 {
                    return Err(bad("an HS256 secret needs at least 32 bytes"));
                }
                Ok(Self::hs256(
                    key.kid.as_deref(),
                    secret.expose(),
                    key.verify_until,
                ))
            }
            (KeyMaterial::Secret(_), _) | (_, Algorithm::Hs256) => Err(bad(
                "HS256 keys take `secret`; EdDSA, ES256 and RS256 take a PEM key or a JWK",
            )),
            (KeyMaterial::PrivatePem(pem), algorithm) => {
                #[cfg(all(feature = "rust_crypto", not(feature = "aws_lc_rs")))]
                if algorithm == Algorithm::Rs256 {
                    // The `rsa` crate behind this backend leaks its private key through timing
                    // (RUSTSEC-2023-0071, the Marvin attack; no fixed version). Verifying with
                    // a public key is not affected.
                    return Err(bad(
                        "RS256 signing is refused with the `rust_crypto` backend: its `rsa` crate \
                         is open to RUSTSEC-2023-0071 (Marvin timing attack). Use `aws_lc_rs`, \
                         another algorithm, or this key's public part to verify only",
                    ));
                }
                let pem = pem.expose();
                let private = match algorithm {
                    Algorithm::EdDsa => EncodingKey::from_ed_pem(pem),
                    Algorithm::Es256 => EncodingKey::from_ec_pem(pem),
                    _ => EncodingKey::from_rsa_pem(pem),
                }
                .map_err(jose)?;
                let jwk = Jwk::from_encoding_key(&private, algorithm.jose()).map_err(jose)?;
                let public = DecodingKey::from_jwk(&jwk).map_err(jose)?;
                Self::asymmetric(key, index, Some(private), public, jwk)
            }
            (KeyMaterial::PublicPem(pem), algorithm) => {
                let public = match algorithm {
                    Algorithm::EdDsa => DecodingKey::from_ed_pem(pem.as_bytes()),
                    Algorithm::Es256 => DecodingKey::from_ec_pem(pem.as_bytes()),
                    _ => DecodingKey::from_rsa_pem(pem.as_bytes()),
                }
                .map_err(jose)?;
                let jwk = Jwk::from_decoding_key(&public, Some(algorithm.jose())).map_err(jose)?;
                Self::asymmetric(key, index, None, public, jwk)
            }
            (KeyMaterial::Jwk(text), _) => {
                let jwk: Jwk = serde_json::from_str(text)
                    .map_err(|e| bad(&format!("not a public JWK: {e}")))?;
                let public = DecodingKey::from_jwk(&jwk).map_err(jose)?;
                // The key type must fit the configured algorithm.
                let fits = matches!(
                    (&jwk.algorithm, key.algorithm),
                    (
                        jsonwebtoken::jwk::AlgorithmParameters::OctetKeyPair(_),
                        Algorithm::EdDsa
                    ) | (
                        jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(_),
                        Algorithm::Es256
                    ) | (
                        jsonwebtoken::jwk::AlgorithmParameters::RSA(_),
                        Algorithm::Rs256
                    )
                );
                if !fits {
                    return Err(bad("the JWK's key type does not fit the algorithm"));
                }
                Self::asymmetric(key, index, None, public, jwk)
            }
        }
    }

    /// The Unix time after which the key no longer verifies, if it is being retired.
    pub(crate) fn verify_until(&self) -> Option<i64> {
        self.verify_until
    }

    /// Whether the key is asymmetric (where the verified-token cache pays off most).
    pub(crate) fn is_asymmetric(&self) -> bool {
        matches!(self.material, Material::Asymmetric { .. })
    }

    pub(crate) fn can_sign(&self) -> bool {
        match &self.material {
            Material::Hmac(_) => true,
            Material::Asymmetric { private, .. } => private.is_some(),
        }
    }

    pub(crate) fn live(&self, now: i64) -> bool {
        self.verify_until.is_none_or(|until| now <= until)
    }

    /// The base64url signature of `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<String, String> {
        match &self.material {
            Material::Hmac(mac) => Ok(URL_SAFE_NO_PAD.encode(mac.sign(&[message]))),
            Material::Asymmetric {
                private: Some(private),
                ..
            } => {
                let signature = jsonwebtoken::crypto::sign(message, private, self.algorithm.jose())
                    .map_err(|e| e.to_string())?;
                if self.algorithm != Algorithm::Es256 {
                    return Ok(signature);
                }
                // One valid encoding per token (RFC 8725 §3.3 asks for no malleability): ECDSA
                // signs with `s` or `n - s` alike, and we always send the low one.
                let mut raw = URL_SAFE_NO_PAD
                    .decode(&signature)
                    .map_err(|e| e.to_string())?;
                super::canonical::normalise_p256_s(&mut raw)?;
                Ok(URL_SAFE_NO_PAD.encode(raw))
            }
            Material::Asymmetric { private: None, .. } => {
                Err(format!("key `{}` has no private part", self.kid))
            }
        }
    }

    /// Whether `signature` (decoded, and as sent in base64url) signs `message`.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8], signature_b64: &str) -> bool {
        match &self.material {
            // Constant-time comparison of the tag.
            Material::Hmac(mac) => mac.verify(&[message], signature),
            Material::Asymmetric { public, .. } => {
                // A second encoding of a valid signature is refused before it is checked.
                let canonical = match self.algorithm {
                    Algorithm::Es256 => super::canonical::is_low_s_p256(signature),
                    Algorithm::EdDsa => super::canonical::is_canonical_ed25519(signature),
                    _ => true,
                };
                canonical
                    && jsonwebtoken::crypto::verify(
                        signature_b64,
                        message,
                        public,
                        self.algorithm.jose(),
                    )
                    .unwrap_or(false)
            }
        }
    }

    /// Bytes to derive other keys from (the CSRF key) when no secret is configured.
    pub(crate) fn private_bytes(&self) -> Option<Vec<u8>> {
        match &self.material {
            Material::Hmac(mac) => Some(mac.sign(&[b"tokengate derivation root"]).to_vec()),
            Material::Asymmetric { private, .. } => {
                private.as_ref().map(|key| key.as_bytes().to_vec())
            }
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
fn encoded_header(key: &Key, kind: TokenKind) -> String {
    let header = serde_json::to_vec(&Header {
        alg: key.algorithm.name(),
        typ: kind.typ(),
        kid: &key.kid,
    })
    .unwrap_or_default();
    URL_SAFE_NO_PAD.encode(header)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jws::Secret;

    /// An RS256 signing key, as configured; the PEM is not read before the backend check.
    fn rs256_signing_key() -> KeyConfig {
        KeyConfig {
            kid: Some("rsa".to_owned()),
            algorithm: Algorithm::Rs256,
            material: KeyMaterial::PrivatePem(Secret::new("-----BEGIN PRIVATE KEY-----\n")),
            signing: true,
            verify_until: None,
        }
    }

    #[test]
    #[cfg(all(feature = "rust_crypto", not(feature = "aws_lc_rs")))]
    fn rsa_signing_is_refused_on_the_rust_crypto_backend_naming_the_advisory() {
        let Err(error) = Key::from_config(&rs256_signing_key(), 0) else {
            panic!("an RS256 signing key was accepted");
        };
        assert!(error.to_string().contains("RUSTSEC-2023-0071"), "{error}");
    }

    #[test]
    #[cfg(feature = "aws_lc_rs")]
    fn rsa_signing_keys_are_read_on_aws_lc_rs() {
        let Err(error) = Key::from_config(&rs256_signing_key(), 0) else {
            panic!("a truncated PEM was accepted");
        };
        // Refused for its PEM, not for the backend.
        assert!(!error.to_string().contains("RUSTSEC"), "{error}");
    }
}
