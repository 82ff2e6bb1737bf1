//! Signing keys, prepared once at start-up.
//!
//! Each key has a `kid` and its own pinned algorithm: a token's `alg` header never picks the
//! algorithm, it must equal the key's. Only HS256 exists today; the key list is the seam for
//! asymmetric keys and rotation.

use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::config::{Config, ConfigError};

/// A JWS algorithm tokengate can sign and verify with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC with SHA-256.
    Hs256,
}

impl Algorithm {
    /// The `alg` header value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
        }
    }
}

/// One prepared key.
pub(crate) struct Key {
    pub(crate) kid: String,
    pub(crate) algorithm: Algorithm,
    hmac: hmac::Key,
}

impl Key {
    fn hs256(secret: &[u8]) -> Self {
        let hmac = hmac::Key::new(hmac::HMAC_SHA256, secret);
        // The kid is derived from the key so that it changes with the secret and reveals nothing.
        let tag = hmac::sign(&hmac, b"tokengate key id");
        let kid = URL_SAFE_NO_PAD.encode(&tag.as_ref()[..9]);
        Self {
            kid,
            algorithm: Algorithm::Hs256,
            hmac,
        }
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Vec<u8> {
        hmac::sign(&self.hmac, message).as_ref().to_vec()
    }

    /// Constant-time comparison of the tag.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        hmac::verify(&self.hmac, message, signature).is_ok()
    }
}

/// The configured keys: one signs, all verify.
pub(crate) struct KeySet {
    keys: Vec<Key>,
    signer: usize,
}

impl KeySet {
    pub(crate) fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let secret = config
            .secret
            .as_ref()
            .ok_or_else(|| ConfigError::new("secret", "", "is required: set TOKENGATE_SECRET"))?;
        Ok(Self {
            keys: vec![Key::hs256(secret.expose())],
            signer: 0,
        })
    }

    pub(crate) fn signer(&self) -> &Key {
        &self.keys[self.signer]
    }

    pub(crate) fn find(&self, kid: &str) -> Option<&Key> {
        self.keys.iter().find(|key| key.kid == kid)
    }
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
            .finish_non_exhaustive()
    }
}
