//! Keys made at test time (never stored): Ed25519, P-256 and RSA-2048 as PKCS#8 PEM.

use std::path::PathBuf;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING,
};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::Value;

/// A private key, and its public key's raw bytes.
#[derive(Clone)]
pub struct TestKey {
    pub algorithm: jsonwebtoken::Algorithm,
    pub pem: String,
    pub public: Vec<u8>,
}

fn pem(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

pub fn ed25519() -> TestKey {
    let der = Ed25519KeyPair::generate_pkcs8v1(&SystemRandom::new()).expect("ed25519");
    let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der.as_ref()).expect("parse");
    TestKey {
        algorithm: jsonwebtoken::Algorithm::EdDSA,
        pem: pem(der.as_ref()),
        public: pair.public_key().as_ref().to_vec(),
    }
}

pub fn p256() -> TestKey {
    let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
        .expect("p256");
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der.as_ref()).expect("parse");
    TestKey {
        algorithm: jsonwebtoken::Algorithm::ES256,
        pem: pem(der.as_ref()),
        public: pair.public_key().as_ref().to_vec(),
    }
}

pub fn rsa() -> TestKey {
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("rsa");
    let der = pair.as_der().expect("pkcs8");
    TestKey {
        algorithm: jsonwebtoken::Algorithm::RS256,
        pem: pem(der.as_ref()),
        public: pair.public_key().as_ref().to_vec(),
    }
}

impl TestKey {
    /// Writes the PEM to a fresh file in the temp directory.
    pub fn file(&self) -> PathBuf {
        let mut name = [0u8; 8];
        getrandom::fill(&mut name).expect("random");
        let path = std::env::temp_dir().join(format!(
            "tokengate-test-{}.pem",
            URL_SAFE_NO_PAD.encode(name)
        ));
        std::fs::write(&path, &self.pem).expect("write the key file");
        path
    }

    /// A JWS over any header and claims, signed with this key.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let key = match self.algorithm {
            jsonwebtoken::Algorithm::EdDSA => {
                jsonwebtoken::EncodingKey::from_ed_pem(self.pem.as_bytes())
            }
            jsonwebtoken::Algorithm::ES256 => {
                jsonwebtoken::EncodingKey::from_ec_pem(self.pem.as_bytes())
            }
            _ => jsonwebtoken::EncodingKey::from_rsa_pem(self.pem.as_bytes()),
        }
        .expect("our own key");
        let signature =
            jsonwebtoken::crypto::sign(message.as_bytes(), &key, self.algorithm).expect("sign");
        format!("{message}.{signature}")
    }
}
