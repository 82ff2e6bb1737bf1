//! Fresh keys from the crypto backend (`aws_lc_rs`), as configuration takes them: an HS256
//! secret as text, or a PKCS#8 PEM private key (what `key_file` reads).

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;

use super::algorithm::Algorithm;
use super::material::{KeyError, KeyMaterial, Secret};

/// A new random key for `algorithm`: for HS256 a secret of 32 random bytes written as 43
/// base64url characters (the text is the secret, as `secret` and `TOKENGATE_SECRET` take it);
/// for EdDSA (Ed25519), ES256 (P-256) and RS256 (2048 bits) a PKCS#8 PEM private key.
///
/// Only with the `aws_lc_rs` backend.
///
/// ```
/// use tokengate::jws::{generate_key, KeyConfig};
/// use tokengate::{Algorithm, KeyMaterial};
///
/// let material = generate_key(Algorithm::EdDsa)?;
/// let KeyMaterial::PrivatePem(pem) = &material else { unreachable!() };
/// assert!(pem.expose().starts_with(b"-----BEGIN PRIVATE KEY-----\n"));
/// let jwk = KeyConfig::new(Algorithm::EdDsa, material).public_jwk()?;
/// assert_eq!(jwk.map(|jwk| jwk["crv"].clone()), Some("Ed25519".into()));
/// # Ok::<(), tokengate::jws::KeyError>(())
/// ```
pub fn generate_key(algorithm: Algorithm) -> Result<KeyMaterial, KeyError> {
    let failed = |e: &dyn std::fmt::Display| {
        KeyError::new(algorithm.name(), "", format!("no key was generated: {e}"))
    };
    let random = SystemRandom::new();
    let der = match algorithm {
        Algorithm::Hs256 => {
            let mut bytes = [0u8; 32];
            aws_lc_rs::rand::fill(&mut bytes).map_err(|e| failed(&e))?;
            let text = URL_SAFE_NO_PAD.encode(bytes);
            return Ok(KeyMaterial::Secret(Secret::new(text.into_bytes())));
        }
        Algorithm::EdDsa => Ed25519KeyPair::generate_pkcs8v1(&random)
            .map_err(|e| failed(&e))?
            .as_ref()
            .to_vec(),
        Algorithm::Es256 => EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &random)
            .map_err(|e| failed(&e))?
            .as_ref()
            .to_vec(),
        Algorithm::Rs256 => {
            let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .map_err(|e| failed(&e))?;
            pair.as_der().map_err(|e| failed(&e))?.as_ref().to_vec()
        }
    };
    Ok(KeyMaterial::PrivatePem(Secret::new(pem(
        "PRIVATE KEY",
        &der,
    ))))
}

/// `der` as a PEM block labelled `label`, in lines of 64 characters.
fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut text = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        // Base64 is ASCII: every chunk is text.
        text.push_str(&String::from_utf8_lossy(line));
        text.push('\n');
    }
    text.push_str("-----END ");
    text.push_str(label);
    text.push_str("-----\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jws::{KeyConfig, KeySet};

    #[test]
    fn every_generated_key_prepares_as_a_signing_key() {
        for algorithm in [
            Algorithm::Hs256,
            Algorithm::EdDsa,
            Algorithm::Es256,
            Algorithm::Rs256,
        ] {
            let key = KeyConfig::new(algorithm, generate_key(algorithm).unwrap());
            KeySet::new(&[key]).unwrap_or_else(|e| panic!("{}: {e}", algorithm.name()));
        }
    }

    #[test]
    fn two_secrets_differ_and_hold_32_random_bytes() {
        let secret = |material| match material {
            KeyMaterial::Secret(secret) => secret.expose().to_vec(),
            _ => panic!("not a secret"),
        };
        let one = secret(generate_key(Algorithm::Hs256).unwrap());
        let two = secret(generate_key(Algorithm::Hs256).unwrap());
        assert_ne!(one, two);
        assert_eq!(URL_SAFE_NO_PAD.decode(&one).unwrap().len(), 32);
    }
}
