//! A software authenticator for the passkey scenarios, written here from the WebAuthn Level 3
//! data formats on aws-lc-rs's P-256 ECDSA (not the library the server uses): it makes a
//! credential for creation options and signs assertions for request options, answering as
//! `PublicKeyCredential.toJSON()` does. Every field an attack changes can be set by hand.

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};

/// The origin the demos allow by default (`http://localhost:$PORT`, `PORT` unset).
pub const ORIGIN: &str = "http://localhost:8080";
/// The demos' relying party.
pub const RP_ID: &str = "localhost";

/// Authenticator data flags (WebAuthn §6.1).
pub const UP: u8 = 0x01;
pub const UV: u8 = 0x04;
pub const BE: u8 = 0x08;
pub const BS: u8 = 0x10;
const AT: u8 = 0x40;

/// What the next ceremony sends, where an attack wants something else than the honest answer.
#[derive(Clone, Debug)]
pub struct Tweak {
    pub origin: String,
    pub rp_id: String,
    pub flags: u8,
    /// The challenge to sign instead of the options' own (base64url).
    pub challenge: Option<String>,
    /// The `type` of the client data (`webauthn.create` / `webauthn.get` when `None`).
    pub kind: Option<String>,
}

impl Default for Tweak {
    fn default() -> Self {
        Self {
            origin: ORIGIN.to_owned(),
            rp_id: RP_ID.to_owned(),
            flags: UP | UV,
            challenge: None,
            kind: None,
        }
    }
}

/// One credential of a software authenticator: its key pair, id, the user handle it was made
/// for, and its signature counter.
pub struct SoftPasskey {
    key: EcdsaKeyPair,
    pub id: Vec<u8>,
    pub user_handle: Vec<u8>,
    pub counter: u32,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .expect("base64url in the options")
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA256, bytes).as_ref().to_vec()
}

/// A minimal CBOR writer: what an attestation object and a COSE key need.
pub mod cbor {
    fn head(out: &mut Vec<u8>, major: u8, value: u64) {
        let major = major << 5;
        match value {
            0..=23 => out.push(major | u8::try_from(value).unwrap_or(0)),
            24..=0xff => {
                out.push(major | 0x18);
                out.push(u8::try_from(value).unwrap_or(0));
            }
            0x100..=0xffff => {
                out.push(major | 0x19);
                out.extend_from_slice(&u16::try_from(value).unwrap_or(0).to_be_bytes());
            }
            _ => {
                out.push(major | 0x1a);
                out.extend_from_slice(&u32::try_from(value).unwrap_or(0).to_be_bytes());
            }
        }
    }

    pub fn int(out: &mut Vec<u8>, value: i64) {
        if value >= 0 {
            head(out, 0, value.unsigned_abs());
        } else {
            head(out, 1, (-1 - value).unsigned_abs());
        }
    }

    pub fn bytes(out: &mut Vec<u8>, value: &[u8]) {
        head(out, 2, value.len() as u64);
        out.extend_from_slice(value);
    }

    pub fn text(out: &mut Vec<u8>, value: &str) {
        head(out, 3, value.len() as u64);
        out.extend_from_slice(value.as_bytes());
    }

    pub fn map(out: &mut Vec<u8>, entries: usize) {
        head(out, 5, entries as u64);
    }
}

impl SoftPasskey {
    /// A credential no server has seen, made for the user handle `user_handle`.
    pub fn new(user_handle: Vec<u8>) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .expect("a P-256 key");
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
            .expect("the key");
        let mut id = vec![0u8; 32];
        getrandom::fill(&mut id).expect("random id");
        Self {
            key,
            id,
            user_handle,
            counter: 0,
        }
    }

    /// The COSE_Key of the public key (EC2, P-256, ES256).
    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.public_key().as_ref();
        let (x, y) = (&point[1..33], &point[33..65]);
        let mut out = Vec::new();
        cbor::map(&mut out, 5);
        cbor::int(&mut out, 1);
        cbor::int(&mut out, 2);
        cbor::int(&mut out, 3);
        cbor::int(&mut out, -7);
        cbor::int(&mut out, -1);
        cbor::int(&mut out, 1);
        cbor::int(&mut out, -2);
        cbor::bytes(&mut out, x);
        cbor::int(&mut out, -3);
        cbor::bytes(&mut out, y);
        out
    }

    fn client_data(kind: &str, challenge: &str, tweak: &Tweak) -> Vec<u8> {
        let kind = tweak.kind.as_deref().unwrap_or(kind);
        let challenge = tweak.challenge.as_deref().unwrap_or(challenge);
        serde_json::to_vec(&json!({
            "type": kind,
            "challenge": challenge,
            "origin": tweak.origin,
            "crossOrigin": false,
        }))
        .expect("client data")
    }

    /// A credential for creation options (`{"publicKey": ...}` or the inner object), its
    /// attestation `none`, its id `id` or a random one: the credential and the `toJSON()`
    /// body to post.
    pub fn create(options: &Value, tweak: &Tweak, id: Option<Vec<u8>>) -> (Self, Value) {
        let public_key = options.get("publicKey").unwrap_or(options);
        let handle = unb64(public_key["user"]["id"].as_str().expect("user.id"));
        let mut passkey = Self::new(handle);
        if let Some(id) = id {
            passkey.id = id;
        }
        let challenge = public_key["challenge"].as_str().expect("challenge");
        let client_data = Self::client_data("webauthn.create", challenge, tweak);
        let mut auth_data = sha256(tweak.rp_id.as_bytes());
        auth_data.push(tweak.flags | AT);
        auth_data.extend_from_slice(&passkey.counter.to_be_bytes());
        auth_data.extend_from_slice(&[0u8; 16]);
        auth_data.extend_from_slice(&u16::try_from(passkey.id.len()).unwrap_or(0).to_be_bytes());
        auth_data.extend_from_slice(&passkey.id);
        auth_data.extend_from_slice(&passkey.cose_key());
        let mut attestation = Vec::new();
        cbor::map(&mut attestation, 3);
        cbor::text(&mut attestation, "fmt");
        cbor::text(&mut attestation, "none");
        cbor::text(&mut attestation, "attStmt");
        cbor::map(&mut attestation, 0);
        cbor::text(&mut attestation, "authData");
        cbor::bytes(&mut attestation, &auth_data);
        let body = json!({
            "id": b64(&passkey.id),
            "rawId": b64(&passkey.id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64(&client_data),
                "attestationObject": b64(&attestation),
                "transports": ["internal"],
            },
        });
        (passkey, body)
    }

    /// An assertion for request options, its counter one past the last (or `counter`): the
    /// `toJSON()` body to post.
    pub fn get(&mut self, options: &Value, tweak: &Tweak) -> Value {
        self.counter += 1;
        self.sign(options, tweak, self.counter)
    }

    /// An assertion with the signature counter `counter`, whatever the last one was.
    pub fn sign(&self, options: &Value, tweak: &Tweak, counter: u32) -> Value {
        let public_key = options.get("publicKey").unwrap_or(options);
        let challenge = public_key["challenge"].as_str().expect("challenge");
        let client_data = Self::client_data("webauthn.get", challenge, tweak);
        let mut auth_data = sha256(tweak.rp_id.as_bytes());
        auth_data.push(tweak.flags);
        auth_data.extend_from_slice(&counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&sha256(&client_data));
        let signature = self
            .key
            .sign(&SystemRandom::new(), &signed)
            .expect("a signature");
        json!({
            "id": b64(&self.id),
            "rawId": b64(&self.id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64(&client_data),
                "authenticatorData": b64(&auth_data),
                "signature": b64(signature.as_ref()),
                "userHandle": b64(&self.user_handle),
            },
        })
    }
}
