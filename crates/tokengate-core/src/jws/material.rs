//! What keys are made of, as configured: secrets, PEM and JWK material, and the key list.

use std::fmt;

use super::algorithm::Algorithm;

/// A key was refused; the configuration error names it (`keys[0]`, `secret`, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid key `{key}`: {reason}")]
pub struct KeyError {
    /// The key's name in the configuration.
    pub key: String,
    /// What is shown of its value (never the secret).
    pub value: String,
    /// What is wrong.
    pub reason: String,
}

impl KeyError {
    pub(crate) fn new(key: &str, value: &str, reason: impl Into<String>) -> Self {
        Self {
            key: key.to_owned(),
            value: value.to_owned(),
            reason: reason.into(),
        }
    }
}

/// A secret that never shows in logs: its `Debug` prints `REDACTED`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Box<[u8]>);

impl Secret {
    /// Wraps secret bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into().into_boxed_slice())
    }

    /// A fresh random secret of 32 bytes, for development servers that were given none.
    pub fn random() -> Result<Self, KeyError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| KeyError::new("secret", "", e.to_string()))?;
        Ok(Self::new(bytes.to_vec()))
    }

    /// The secret bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(REDACTED)")
    }
}

/// One key of the key list (`keys` in the TOML file).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct KeyConfig {
    /// Its `kid`; by default derived from the key (the RFC 7638 thumbprint for public keys).
    pub kid: Option<String>,
    /// The algorithm it signs and verifies with, and no other.
    pub algorithm: Algorithm,
    /// The key itself.
    pub material: KeyMaterial,
    /// Whether it signs new tokens (exactly one key does; a lone key always does).
    pub signing: bool,
    /// Unix time after which it no longer verifies: the end of a rotation's grace period.
    pub verify_until: Option<i64>,
}

impl KeyConfig {
    /// A lone key of `algorithm` made of `material`: it signs, with a `kid` derived from it.
    pub fn new(algorithm: Algorithm, material: KeyMaterial) -> Self {
        Self {
            kid: None,
            algorithm,
            material,
            signing: true,
            verify_until: None,
        }
    }

    /// The public JWK this key is published as in the JWKS (with its `kid`, `alg` and
    /// `use`), read the way start-up reads it: `Err` when start-up would refuse the key,
    /// `None` for an HS256 secret, which is never published.
    pub fn public_jwk(&self) -> Result<Option<serde_json::Value>, KeyError> {
        super::key_set::install_crypto_provider()?;
        let key = super::prepared_key::Key::from_config(self, 0)?;
        Ok(key.public_jwk().cloned())
    }
}

/// What a key is made of.
#[derive(Clone)]
#[non_exhaustive]
pub enum KeyMaterial {
    /// An HS256 secret.
    Secret(Secret),
    /// A PEM private key (PKCS#8; SEC1 for EC and PKCS#1 for RSA also work).
    PrivatePem(Secret),
    /// A PEM public key (SPKI): verify only.
    PublicPem(String),
    /// A public JWK (JSON text): verify only.
    Jwk(String),
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Secret(_) => f.write_str("Secret(REDACTED)"),
            Self::PrivatePem(_) => f.write_str("PrivatePem(REDACTED)"),
            Self::PublicPem(_) => f.write_str("PublicPem"),
            Self::Jwk(_) => f.write_str("Jwk"),
        }
    }
}
