//! Signing keys, prepared once at start-up.
//!
//! Each key has a `kid` and its own pinned algorithm: a token's `alg` header never picks the
//! algorithm, it must equal the algorithm of the key its `kid` names, and `kid` is only ever
//! looked up among the configured keys (`jwk`, `jku`, `x5u` and `x5c` headers are never
//! followed). One key signs; the others only verify, each until its `verify_until` (rotation
//! with a grace period). HS256 runs on a prepared HMAC key; EdDSA, ES256 and RS256 run on
//! jsonwebtoken's primitives with the crypto backend chosen by feature.

use serde_json::Value;

use super::kind::TokenKind;
use super::material::{KeyConfig, KeyError};
use super::prepared_key::Key;

/// The configured keys: one signs, all verify while live.
pub(crate) struct KeySet {
    keys: Vec<Key>,
    signer: usize,
}

impl KeySet {
    /// Prepares `keys`: exactly one signs (a lone key always does).
    pub(crate) fn new(keys: &[KeyConfig]) -> Result<Self, KeyError> {
        install_crypto_provider()?;
        let mut prepared = Vec::with_capacity(keys.len());
        for (index, key) in keys.iter().enumerate() {
            let key = Key::from_config(key, index)?;
            if prepared.iter().any(|other: &Key| other.kid == key.kid) {
                return Err(KeyError::new("keys", &key.kid, "two keys have this kid"));
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
            return Err(KeyError::new(
                "keys",
                &format!("{} signing keys", signers.len()),
                "exactly one key must have `signing = true`",
            ));
        };
        if !prepared[signer].can_sign() {
            return Err(KeyError::new(
                "keys",
                &prepared[signer].kid,
                "the signing key needs its private part (a PEM private key or an HS256 secret)",
            ));
        }
        if keys[signer].verify_until.is_some() {
            return Err(KeyError::new(
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
    pub(crate) fn by_header(&self, encoded: &str, kind: TokenKind, now: i64) -> Option<&Key> {
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
            .filter_map(Key::public_jwk)
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// When the published set next changes by itself: the second after the earliest
    /// `verify_until` of a published (asymmetric, still live) key, `None` when none ends.
    pub(crate) fn jwks_changes_at(&self, now: i64) -> Option<i64> {
        self.keys
            .iter()
            .filter(|key| key.live(now) && key.public_jwk().is_some())
            .filter_map(Key::verify_until)
            .min()
            .map(|until| until.saturating_add(1))
    }

    /// The algorithms of the keys the JWKS publishes at `now` (asymmetric, still verifying),
    /// each once: what another service can verify. HS256 is never among them.
    pub(crate) fn published_algorithms(&self, now: i64) -> Vec<&'static str> {
        let mut names = Vec::new();
        for key in &self.keys {
            let name = key.algorithm.name();
            if key.live(now) && key.public_jwk().is_some() && !names.contains(&name) {
                names.push(name);
            }
        }
        names
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
fn install_crypto_provider() -> Result<(), KeyError> {
    #[cfg(all(feature = "aws_lc_rs", feature = "rust_crypto"))]
    {
        // Err means a provider is installed already, which is what we need.
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    }
    jsonwebtoken::crypto::CryptoProvider::try_get_default()
        .map(|_| ())
        .ok_or_else(|| {
            KeyError::new(
                "crypto",
                "",
                "no crypto provider: enable feature `aws_lc_rs` or `rust_crypto`",
            )
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
