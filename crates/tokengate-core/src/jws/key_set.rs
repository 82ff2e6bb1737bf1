//! Signing keys, prepared once at start-up.
//!
//! Each key has a `kid` and its own pinned algorithm: a token's `alg` header never picks the
//! algorithm, it must equal the algorithm of the key its `kid` names, and `kid` is only ever
//! looked up among the configured keys (`jwk`, `jku`, `x5u` and `x5c` headers are never
//! followed). One key signs; the others only verify, each until its `verify_until` (rotation
//! with a grace period). HS256 runs on a prepared HMAC key; EdDSA, ES256 and RS256 run on
//! jsonwebtoken's primitives with the crypto backend chosen by feature.
//!
//! Only access tokens are for other services. Refresh tokens and tickets are signed with an
//! unpublished HS256 key derived from the signing key's private part (see
//! [`Key::unpublished`]): a service that trusts the JWKS — and checks no `typ` — can never
//! take one for an access token. Those signed with a published key before remain valid here.

use serde_json::Value;

use super::kind::TokenKind;
use super::material::{KeyConfig, KeyError};
use super::prepared_key::Key;

/// The configured keys: one signs, all verify while live.
pub(crate) struct KeySet {
    keys: Vec<Key>,
    signer: usize,
    /// The unpublished keys of refresh tokens and tickets, one per asymmetric key with its
    /// private part; empty where nothing is published.
    unpublished: Vec<Key>,
    /// The one of them that signs: the signing key's.
    unpublished_signer: Option<usize>,
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
        let mut unpublished = Vec::new();
        let mut unpublished_signer = None;
        for (index, key) in prepared.iter().enumerate() {
            if let Some(own) = key.unpublished() {
                if index == signer {
                    unpublished_signer = Some(unpublished.len());
                }
                unpublished.push(own);
            }
        }
        Ok(Self {
            keys: prepared,
            signer,
            unpublished,
            unpublished_signer,
        })
    }

    /// The key that signs tokens of `kind`: the signing key for access tokens; its unpublished
    /// key, where it has one, for refresh tokens and tickets.
    pub(crate) fn signer(&self, kind: TokenKind) -> &Key {
        match (kind, self.unpublished_signer) {
            (TokenKind::Refresh | TokenKind::Ticket | TokenKind::PendingAccess, Some(own)) => {
                &self.unpublished[own]
            }
            _ => &self.keys[self.signer],
        }
    }

    /// The keys that may verify tokens of `kind`: the configured ones for access tokens; the
    /// unpublished ones first, then the configured ones, for refresh tokens and tickets.
    fn verifying(&self, kind: TokenKind) -> impl Iterator<Item = &Key> {
        let unpublished = match kind {
            TokenKind::Access => &[][..],
            TokenKind::Refresh | TokenKind::Ticket | TokenKind::PendingAccess => {
                &self.unpublished[..]
            }
        };
        unpublished.iter().chain(&self.keys)
    }

    /// The live key whose own header of `kind` is exactly `encoded`: the fast path for our own
    /// tokens, which needs no parsing (any other header takes the full path).
    pub(crate) fn by_header(&self, encoded: &str, kind: TokenKind, now: i64) -> Option<&Key> {
        // Live ones only, before matching: one key listed twice (under two kids, one of them
        // retired) derives one unpublished key twice, and the retired entry must not hide the
        // live one.
        self.verifying(kind)
            .filter(|key| key.live(now))
            .find(|key| key.header(kind) == encoded)
    }

    /// The key named `kid` among those that verify tokens of kind `of`, while it still
    /// verifies at `now`.
    pub(crate) fn find(&self, kid: &str, of: TokenKind, now: i64) -> Option<&Key> {
        self.verifying(of)
            .filter(|key| key.live(now))
            .find(|key| key.kid == kid)
    }

    /// The kids of the asymmetric keys that verify at `now` without their private part, while
    /// the signing key is asymmetric: the refresh tokens and tickets signed under them (with
    /// the unpublished key derived from that part) no longer verify.
    pub(crate) fn retired_without_private_part(&self, now: i64) -> Vec<&str> {
        if !self.keys[self.signer].is_asymmetric() {
            return Vec::new();
        }
        self.keys
            .iter()
            .filter(|key| key.is_asymmetric() && key.live(now) && !key.can_sign())
            .map(|key| key.kid.as_str())
            .collect()
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
        self.keys[self.signer].private_bytes().unwrap_or_default()
    }
}

/// Makes sure jsonwebtoken has its crypto provider: with both backends on, it would find none.
pub(crate) fn install_crypto_provider() -> Result<(), KeyError> {
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
            .field("signer", &self.keys[self.signer].kid)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jws::verify::{verify, Expectations};
    use crate::jws::{Algorithm, KeyMaterial, Secret, TokenError};

    const NOW: i64 = 1_800_000_000;

    fn eddsa(pem: &str, signing: bool, verify_until: Option<i64>) -> KeyConfig {
        let mut key = KeyConfig::new(
            Algorithm::EdDsa,
            KeyMaterial::PrivatePem(Secret::new(pem.to_owned())),
        );
        key.signing = signing;
        key.verify_until = verify_until;
        key
    }

    fn expect_at(now: i64) -> Expectations<'static> {
        Expectations::new("tokengate", None, 30, now, false)
    }

    fn expect() -> Expectations<'static> {
        expect_at(NOW)
    }

    fn signed(keys: &KeySet, kind: TokenKind) -> String {
        let claims = serde_json::json!({
            "iss": "tokengate", "sub": "ada", "iat": NOW, "exp": NOW + 600, "jti": "j", "sid": "s",
        });
        crate::jws::sign(keys, kind, &claims).unwrap()
    }

    fn header(token: &str) -> Value {
        use base64::Engine as _;
        let encoded = token.split('.').next().unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(encoded)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn refresh_tokens_and_tickets_are_signed_with_no_published_key() {
        let pem = crate::gate::testing::eddsa_pem();
        let keys = KeySet::new(&[eddsa(&pem, true, None)]).unwrap();
        let published: Vec<Value> = keys.jwks(NOW)["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|jwk| jwk["kid"].clone())
            .collect();
        let access = signed(&keys, TokenKind::Access);
        assert_eq!(header(&access)["alg"], "EdDSA");
        assert!(published.contains(&header(&access)["kid"]));
        for kind in [TokenKind::Refresh, TokenKind::Ticket] {
            let token = signed(&keys, kind);
            assert_eq!(header(&token)["alg"], "HS256");
            assert!(!published.contains(&header(&token)["kid"]), "{kind:?}");
            assert!(verify(&keys, &token, kind, &expect()).is_ok());
            // Never an access token, even with its `typ` changed: its key is not one of those.
            assert_eq!(
                verify(&keys, &token, TokenKind::Access, &expect()).err(),
                Some(TokenError::BadHeader)
            );
        }
        // What a published key signed before still verifies here.
        let key = keys
            .find(&keys.keys[0].kid, TokenKind::Access, NOW)
            .unwrap();
        let claims = serde_json::json!({
            "iss": "tokengate", "sub": "ada", "iat": NOW, "exp": NOW + 600, "jti": "j", "sid": "s",
        });
        let mut old = format!(
            "{}.{}",
            key.header(TokenKind::Refresh),
            base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                claims.to_string()
            )
        );
        let signature = key.sign(old.as_bytes()).unwrap();
        old = format!("{old}.{signature}");
        assert!(verify(&keys, &old, TokenKind::Refresh, &expect()).is_ok());
    }

    #[test]
    fn every_instance_derives_the_same_unpublished_keys_and_a_rotation_keeps_them() {
        let (first, second) = (
            crate::gate::testing::eddsa_pem(),
            crate::gate::testing::eddsa_pem(),
        );
        let one = KeySet::new(&[eddsa(&first, true, None)]).unwrap();
        let other = KeySet::new(&[eddsa(&first, true, None)]).unwrap();
        let refresh = signed(&one, TokenKind::Refresh);
        assert_eq!(refresh, signed(&other, TokenKind::Refresh));
        assert!(verify(&other, &refresh, TokenKind::Refresh, &expect()).is_ok());
        // The next key signs; the first verifies until its `verify_until`, its refresh
        // tokens with it.
        let rotated = KeySet::new(&[
            eddsa(&second, true, None),
            eddsa(&first, false, Some(NOW + 60)),
        ])
        .unwrap();
        assert!(verify(&rotated, &refresh, TokenKind::Refresh, &expect()).is_ok());
        assert_ne!(
            header(&signed(&rotated, TokenKind::Refresh))["kid"],
            header(&refresh)["kid"]
        );
        let later = expect_at(NOW + 61);
        assert_eq!(
            verify(&rotated, &refresh, TokenKind::Refresh, &later).err(),
            Some(TokenError::BadHeader)
        );
    }

    #[test]
    fn an_hs256_set_signs_everything_with_its_own_key() {
        let keys = KeySet::new(&[KeyConfig::new(
            Algorithm::Hs256,
            KeyMaterial::Secret(Secret::new("a-test-only-secret-of-32-bytes-or-more")),
        )])
        .unwrap();
        let kid = header(&signed(&keys, TokenKind::Access))["kid"].clone();
        for kind in [TokenKind::Refresh, TokenKind::Ticket] {
            assert_eq!(header(&signed(&keys, kind))["kid"], kid);
        }
    }

    #[test]
    fn one_key_listed_twice_verifies_its_refresh_tokens_while_either_entry_lives() {
        let pem = crate::gate::testing::eddsa_pem();
        let mut old_name = eddsa(&pem, false, Some(NOW + 60));
        old_name.kid = Some("old-name".to_owned());
        let mut new_name = eddsa(&pem, true, None);
        new_name.kid = Some("new-name".to_owned());
        let keys = KeySet::new(&[old_name, new_name]).unwrap();
        let refresh = signed(&keys, TokenKind::Refresh);
        let later = expect_at(NOW + 61);
        assert!(verify(&keys, &refresh, TokenKind::Refresh, &later).is_ok());
        assert!(verify(
            &keys,
            &signed(&keys, TokenKind::Ticket),
            TokenKind::Ticket,
            &later
        )
        .is_ok());
    }

    #[test]
    fn a_retired_key_without_its_private_part_is_named() {
        let (first, second) = (
            crate::gate::testing::eddsa_pem(),
            crate::gate::testing::eddsa_pem(),
        );
        let public = KeySet::new(&[eddsa(&first, true, None)]).unwrap().keys[0]
            .public_jwk()
            .unwrap()
            .to_string();
        let mut retired = KeyConfig::new(Algorithm::EdDsa, KeyMaterial::Jwk(public));
        retired.signing = false;
        retired.verify_until = Some(NOW + 60);
        retired.kid = Some("retired".to_owned());
        let keys = KeySet::new(&[eddsa(&second, true, None), retired]).unwrap();
        assert_eq!(keys.retired_without_private_part(NOW), ["retired"]);
        assert!(keys.retired_without_private_part(NOW + 61).is_empty());
    }
}
