//! Second-factor secrets sealed at rest: XChaCha20-Poly1305 under a key derived from
//! `mfa_key`, bound to the factor's subject and id, naming the key that sealed them so that
//! `mfa_previous_keys` still open what older keys sealed.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::jws::mac::MacKey;
use crate::jws::Secret;

/// One sealing key and its id (derived from it: an operator names no key).
struct SealKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl SealKey {
    fn new(secret: &Secret) -> Self {
        let mac = MacKey::new(secret.expose());
        let key = mac.sign(&[b"tokengate mfa seal"]);
        let id = mac.sign(&[b"tokengate mfa key id"]);
        Self {
            id: URL_SAFE_NO_PAD.encode(&id[..6]),
            cipher: XChaCha20Poly1305::new(&key.into()),
        }
    }
}

/// Seals with `mfa_key`, opens with it and with `mfa_previous_keys`.
pub(crate) struct Sealer {
    keys: Vec<SealKey>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

/// What a sealed secret starts with: the format's version.
const VERSION: &str = "v1";

impl Sealer {
    /// The sealer of `current` (which seals) and `previous` (which only open).
    pub(crate) fn new(current: &Secret, previous: &[Secret]) -> Self {
        Self {
            keys: std::iter::once(current)
                .chain(previous)
                .map(SealKey::new)
                .collect(),
        }
    }

    /// `secret` sealed for factor `id` of `subject`: `v1.<key id>.<nonce and ciphertext>`.
    pub(crate) fn seal(&self, secret: &[u8], subject: &str, id: &str) -> Option<String> {
        let key = self.keys.first()?;
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).ok()?;
        let aad = bound(subject, id);
        let sealed = key
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: secret,
                    aad: &aad,
                },
            )
            .ok()?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Some(format!(
            "{VERSION}.{}.{}",
            key.id,
            URL_SAFE_NO_PAD.encode(out)
        ))
    }

    /// The secret sealed in `sealed` for factor `id` of `subject`; `None` when no key of
    /// ours sealed it, or it was sealed for another factor, or altered.
    pub(crate) fn open(&self, sealed: &str, subject: &str, id: &str) -> Option<Vec<u8>> {
        let mut parts = sealed.split('.');
        let (Some(VERSION), Some(key_id), Some(body), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let key = self.keys.iter().find(|key| key.id == key_id)?;
        let bytes = URL_SAFE_NO_PAD.decode(body).ok()?;
        if bytes.len() < 24 {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        let aad = bound(subject, id);
        key.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .ok()
    }
}

/// What a sealed secret is bound to: its subject and factor id, unambiguously joined.
fn bound(subject: &str, id: &str) -> Vec<u8> {
    let mut aad = (subject.len() as u64).to_be_bytes().to_vec();
    aad.extend_from_slice(subject.as_bytes());
    aad.extend_from_slice(id.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(fill: u8) -> Secret {
        Secret::new(vec![fill; 32])
    }

    #[test]
    fn sealed_secrets_open_only_for_their_factor_and_with_a_known_key() {
        let first = Sealer::new(&key(1), &[]);
        let text = first.seal(b"twenty secret bytes!", "ada", "f1").unwrap();
        assert!(!text.contains("twenty"));
        assert_eq!(
            first.open(&text, "ada", "f1").unwrap(),
            b"twenty secret bytes!"
        );
        assert_eq!(first.open(&text, "bob", "f1"), None, "another subject");
        assert_eq!(first.open(&text, "ada", "f2"), None, "another factor");
        let mut altered = text.clone();
        altered.push('A');
        assert_eq!(first.open(&altered, "ada", "f1"), None);
        // Rotation: the new key seals, the old one still opens.
        let rotated = Sealer::new(&key(2), &[key(1)]);
        assert!(rotated.open(&text, "ada", "f1").is_some());
        let resealed = rotated.seal(b"x", "ada", "f1").unwrap();
        assert_eq!(
            first.open(&resealed, "ada", "f1"),
            None,
            "a key it never had"
        );
        assert!(Sealer::new(&key(3), &[]).open(&text, "ada", "f1").is_none());
    }
}
