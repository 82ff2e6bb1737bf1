//! Signing keys, prepared once at start-up.
//!
//! Each key has a `kid` and its own pinned algorithm: a token's `alg` header never picks the
//! algorithm, it must equal the algorithm of the key its `kid` names, and `kid` is only ever
//! looked up among the configured keys (`jwk`, `jku`, `x5u` and `x5c` headers are never
//! followed). One key signs; the others only verify, each until its `verify_until` (rotation
//! with a grace period). HS256 runs on a prepared HMAC key; EdDSA, ES256 and RS256 run on
//! jsonwebtoken's primitives with the crypto backend chosen by feature.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde_json::Value;

use crate::config::{Config, ConfigError, KeyConfig, KeyMaterial, Secret};
use crate::mac::MacKey;

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

    fn jose(self) -> jsonwebtoken::Algorithm {
        match self {
            Self::Hs256 => jsonwebtoken::Algorithm::HS256,
            Self::EdDsa => jsonwebtoken::Algorithm::EdDSA,
            Self::Es256 => jsonwebtoken::Algorithm::ES256,
            Self::Rs256 => jsonwebtoken::Algorithm::RS256,
        }
    }
}

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
    /// The encoded headers of its access and refresh tokens.
    headers: [String; 2],
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
            headers: [String::new(), String::new()],
        }
        .with_headers()
    }

    fn asymmetric(
        key: &KeyConfig,
        index: usize,
        private: Option<EncodingKey>,
        public: DecodingKey,
        mut jwk: Jwk,
    ) -> Result<Self, ConfigError> {
        let bad = |reason: String| ConfigError::new(&format!("keys[{index}]"), "(key)", reason);
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
            headers: [String::new(), String::new()],
        }
        .with_headers())
    }

    fn with_headers(mut self) -> Self {
        self.headers = [
            crate::issue::encoded_header(&self, crate::TokenKind::Access),
            crate::issue::encoded_header(&self, crate::TokenKind::Refresh),
        ];
        self
    }

    /// The encoded header of its tokens of `kind`.
    pub(crate) fn header(&self, kind: crate::TokenKind) -> &str {
        match kind {
            crate::TokenKind::Access => &self.headers[0],
            crate::TokenKind::Refresh => &self.headers[1],
        }
    }

    fn from_config(key: &KeyConfig, index: usize) -> Result<Self, ConfigError> {
        let name = format!("keys[{index}]");
        let bad = |reason: &str| ConfigError::new(&name, "(key)", reason);
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

    fn can_sign(&self) -> bool {
        match &self.material {
            Material::Hmac(_) => true,
            Material::Asymmetric { private, .. } => private.is_some(),
        }
    }

    fn live(&self, now: i64) -> bool {
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
                crate::canonical::normalise_p256_s(&mut raw)?;
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
                    Algorithm::Es256 => crate::canonical::is_low_s_p256(signature),
                    Algorithm::EdDsa => crate::canonical::is_canonical_ed25519(signature),
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
    fn private_bytes(&self) -> Option<Vec<u8>> {
        match &self.material {
            Material::Hmac(mac) => Some(mac.sign(&[b"tokengate derivation root"]).to_vec()),
            Material::Asymmetric { private, .. } => {
                private.as_ref().map(|key| key.as_bytes().to_vec())
            }
        }
    }
}

/// The configured keys: one signs, all verify while live.
pub(crate) struct KeySet {
    keys: Vec<Key>,
    signer: usize,
}

impl KeySet {
    pub(crate) fn from_config(config: &Config) -> Result<Self, ConfigError> {
        install_crypto_provider()?;
        let keys = if config.keys.is_empty() {
            vec![single_key(config)?]
        } else {
            config.keys.clone()
        };
        let mut prepared = Vec::with_capacity(keys.len());
        for (index, key) in keys.iter().enumerate() {
            let key = Key::from_config(key, index)?;
            if prepared.iter().any(|other: &Key| other.kid == key.kid) {
                return Err(ConfigError::new("keys", &key.kid, "two keys have this kid"));
            }
            prepared.push(key);
        }
        let signers: Vec<usize> = keys
            .iter()
            .enumerate()
            .filter(|(_, key)| key.signing || keys.len() == 1)
            .map(|(index, _)| index)
            .collect();
        let [signer] = signers[..] else {
            return Err(ConfigError::new(
                "keys",
                &format!("{} signing keys", signers.len()),
                "exactly one key must have `signing = true`",
            ));
        };
        if !prepared[signer].can_sign() {
            return Err(ConfigError::new(
                "keys",
                &prepared[signer].kid,
                "the signing key needs its private part (a PEM private key or an HS256 secret)",
            ));
        }
        if keys[signer].verify_until.is_some() {
            return Err(ConfigError::new(
                "keys",
                &prepared[signer].kid,
                "the signing key cannot have `verify_until`",
            ));
        }
        Ok(Self {
            keys: prepared,
            signer,
        })
    }

    pub(crate) fn signer(&self) -> &Key {
        &self.keys[self.signer]
    }

    /// The live key whose own header of `kind` is exactly `encoded`: the fast path for our own
    /// tokens, which needs no parsing (any other header takes the full path).
    pub(crate) fn by_header(
        &self,
        encoded: &str,
        kind: crate::TokenKind,
        now: i64,
    ) -> Option<&Key> {
        self.keys
            .iter()
            .find(|key| key.header(kind) == encoded)
            .filter(|key| key.live(now))
    }

    /// The key named `kid`, while it still verifies at `now`.
    pub(crate) fn find(&self, kid: &str, now: i64) -> Option<&Key> {
        self.keys
            .iter()
            .find(|key| key.kid == kid)
            .filter(|key| key.live(now))
    }

    /// The JWKS document: the public keys of every asymmetric key still verifying at `now`.
    pub(crate) fn jwks(&self, now: i64) -> Value {
        let keys: Vec<&Value> = self
            .keys
            .iter()
            .filter(|key| key.live(now))
            .filter_map(|key| match &key.material {
                Material::Asymmetric { jwk, .. } => Some(jwk),
                Material::Hmac(_) => None,
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// Whether any key is asymmetric.
    pub(crate) fn any_asymmetric(&self) -> bool {
        self.keys.iter().any(Key::is_asymmetric)
    }

    /// Material to derive the CSRF key from when no secret is configured.
    pub(crate) fn derivation_root(&self) -> Vec<u8> {
        self.signer().private_bytes().unwrap_or_default()
    }
}

/// Makes sure jsonwebtoken has its crypto provider: with both backends on, it would find none.
fn install_crypto_provider() -> Result<(), ConfigError> {
    #[cfg(all(feature = "aws_lc_rs", feature = "rust_crypto"))]
    {
        // Err means a provider is installed already, which is what we need.
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    }
    jsonwebtoken::crypto::CryptoProvider::try_get_default()
        .map(|_| ())
        .ok_or_else(|| {
            ConfigError::new(
                "crypto",
                "",
                "no crypto provider: enable feature `aws_lc_rs` or `rust_crypto`",
            )
        })
}

/// The single key of `algorithm` + `secret` or `key_file`, when no key list is configured.
fn single_key(config: &Config) -> Result<KeyConfig, ConfigError> {
    let material = match (config.algorithm, &config.key_file) {
        (Algorithm::Hs256, Some(path)) => {
            return Err(ConfigError::new(
                "key_file",
                &path.display().to_string(),
                "HS256 takes `secret`; set `algorithm` to EdDSA, ES256 or RS256 for a key file",
            ))
        }
        (Algorithm::Hs256, None) => {
            KeyMaterial::Secret(config.secret.clone().ok_or_else(|| {
                ConfigError::new(
                    "secret",
                    "",
                    "is required: set TOKENGATE_SECRET to at least 32 random bytes",
                )
            })?)
        }
        (algorithm, None) => {
            return Err(ConfigError::new(
                "key_file",
                "",
                format!(
                    "is required for {}: a PKCS#8 PEM private key",
                    algorithm.name()
                ),
            ))
        }
        (_, Some(path)) => {
            KeyMaterial::PrivatePem(Secret::new(std::fs::read(path).map_err(|e| {
                ConfigError::new(
                    "key_file",
                    &path.display().to_string(),
                    format!("cannot read: {e}"),
                )
            })?))
        }
    };
    Ok(KeyConfig {
        kid: None,
        algorithm: config.algorithm,
        material,
        signing: true,
        verify_until: None,
    })
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<_> = self
            .keys
            .iter()
            .map(|key| (&key.kid, key.algorithm))
            .collect();
        f.debug_struct("KeySet")
            .field("keys", &kids)
            .field("signer", &self.signer().kid)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
