//! Token verification on arbitrary input: never panics, and accepts nothing it did not sign.
//!
//! The first byte picks the key (HS256, EdDSA, ES256 or RS256, each made at start-up) and how
//! the rest is used: as a whole token, or spliced into one part (header, claims, signature) of
//! a token that key really signed, so that the fuzzer works on well-formed tokens as well.
#![no_main]

use std::sync::OnceLock;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use tokengate_core::credentials::{hash_password, MemoryDirectory};
use tokengate_core::adapter::RequestHead;
use tokengate_core::{Config, Endpoint, TokenGate};

/// A gate, and an access token it issued.
struct Target {
    gate: TokenGate,
    token: String,
}

fn pem(der: &[u8]) -> String {
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(der)
    )
}

struct SignIn;

impl RequestHead for SignIn {
    fn method(&self) -> &str {
        "POST"
    }
    fn path(&self) -> &str {
        "/api/rest/signin"
    }
    fn header(&self, name: &str) -> Option<&[u8]> {
        (name == "content-type").then_some(b"application/x-www-form-urlencoded".as_slice())
    }
}

fn target(config: Config, hash: &str) -> Target {
    let directory = MemoryDirectory::new().user("fuzz", hash).expect("a user");
    let gate = TokenGate::builder(config)
        .credentials(directory)
        .build()
        .expect("a valid fuzzing gate");
    let body = one_chunk(b"login=fuzz&password=pw");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    let response = runtime.block_on(gate.serve(Endpoint::SignIn, &SignIn, body));
    let json: serde_json::Value = serde_json::from_slice(&response.body).expect("JSON");
    let token = json["accessToken"].as_str().expect("an access token").to_owned();
    Target { gate, token }
}

/// A one-chunk body stream.
fn one_chunk(
    bytes: &'static [u8],
) -> impl futures_core::Stream<Item = Result<bytes::Bytes, std::io::Error>> {
    struct Once(Option<bytes::Bytes>);
    impl futures_core::Stream for Once {
        type Item = Result<bytes::Bytes, std::io::Error>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(self.0.take().map(Ok))
        }
    }
    Once(Some(bytes::Bytes::from_static(bytes)))
}

/// The key file of `algorithm` for this run.
fn key_file(algorithm: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("tokengate-fuzz-{algorithm}-{}.pem", std::process::id()))
}

/// A config whose one key is `pem`, through a key file made for this run (read when the gate
/// is built, removed after).
fn asymmetric(algorithm: &str, pem: String) -> Config {
    let path = key_file(algorithm);
    std::fs::write(&path, pem).expect("a key file");
    let path = path.display().to_string();
    Config::from_sources(
        None,
        "default",
        [("TOKENGATE_ALGORITHM", algorithm), ("TOKENGATE_KEY_FILE", path.as_str())],
    )
    .expect("a valid key config")
}

fn targets() -> &'static [Target; 4] {
    static TARGETS: OnceLock<[Target; 4]> = OnceLock::new();
    TARGETS.get_or_init(|| {
        let hash = hash_password("pw").expect("a hash");
        let random = SystemRandom::new();
        let hs256 = Config::default()
            .with_secret("a-fuzzing-only-secret-of-32-bytes-or-more");
        let ed = Ed25519KeyPair::generate_pkcs8v1(&random).expect("ed25519");
        let ec = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &random)
            .expect("p256");
        let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .expect("rsa");
        let rsa = rsa.as_der().expect("pkcs8");
        let targets = [
            target(hs256, &hash),
            target(asymmetric("EdDSA", pem(ed.as_ref())), &hash),
            target(asymmetric("ES256", pem(ec.as_ref())), &hash),
            target(asymmetric("RS256", pem(rsa.as_ref())), &hash),
        ];
        for algorithm in ["EdDSA", "ES256", "RS256"] {
            let _ = std::fs::remove_file(key_file(algorithm));
        }
        targets
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&choice, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let target = &targets()[usize::from(choice % 4)];
    let candidate = if choice & 0x80 == 0 {
        text.to_owned()
    } else {
        let mut parts: Vec<&str> = target.token.split('.').collect();
        let part = usize::from((choice >> 2) % 3);
        if parts[part] == text {
            return;
        }
        parts[part] = text;
        parts.join(".")
    };
    if candidate == target.token {
        return;
    }
    // The fuzzer cannot forge a signature: anything accepted but the token itself is a bug.
    assert!(target.gate.verify_access(&candidate).is_err(), "accepted: {candidate}");
});
