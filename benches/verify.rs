//! Side by side in one run: the HMAC floor, jsonwebtoken's decode, and our verification of the
//! same HS256 token; our EdDSA, ES256 and RS256 verification with and without the cache; token
//! issuing; memory-store operations. `cargo bench --bench verify`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use criterion::{criterion_group, criterion_main, Criterion};
use tokengate::adapter::RequestHead;
use tokengate::authz::Requirement;
use tokengate::credentials::{Credentials, CredentialsFuture, Login, Principal};
use tokengate::store::{MemoryStore, RefreshRequest, Session, SessionStore};
use tokengate::{Config, Endpoint, TokenGate};

const SECRET: &str = "a-benchmark-only-secret-of-32-bytes-or-more";

/// Accepts every login at once: issuing is measured without the password hash.
struct Anyone;

impl Credentials for Anyone {
    fn verify<'a>(&'a self, login: Login<'a>) -> CredentialsFuture<'a> {
        let subject = match login {
            Login::User { login, .. } => login.to_owned(),
            Login::Application { key, .. } => key.to_owned(),
        };
        Box::pin(async move {
            Ok(Some(Principal {
                subject,
                ..Principal::default()
            }))
        })
    }
}

struct Post;

impl RequestHead for Post {
    fn method(&self) -> &'static str {
        "POST"
    }
    fn path(&self) -> &'static str {
        "/api/rest/signin"
    }
    fn header(&self, name: &str) -> Option<&[u8]> {
        (name == "content-type").then_some(b"application/x-www-form-urlencoded".as_slice())
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn gate(toml: Option<&str>, env: &[(&str, &str)]) -> TokenGate {
    let mut pairs = vec![("TOKENGATE_SECRET", SECRET)];
    pairs.extend_from_slice(env);
    let config = Config::from_sources(toml, "default", pairs).unwrap();
    TokenGate::builder(config)
        .credentials(Anyone)
        .build()
        .unwrap()
}

fn signin(gate: &TokenGate, rt: &tokio::runtime::Runtime) -> String {
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(
        b"login=ada%40example.org&password=x",
    ))]);
    let response = rt.block_on(gate.serve(Endpoint::SignIn, &Post, body));
    let json: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    json["accessToken"].as_str().unwrap().to_owned()
}

fn pem(der: &[u8]) -> String {
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(der)
    )
}

fn key_toml(algorithm: &str, pem: &str) -> String {
    format!("[default]\nkeys = [{{ algorithm = \"{algorithm}\", key = \"\"\"\n{pem}\"\"\", signing = true }}]\n")
}

fn hs256(c: &mut Criterion) {
    let rt = runtime();
    let ours = gate(None, &[("TOKENGATE_VERIFY_CACHE", "false")]);
    let cached = gate(None, &[("TOKENGATE_VERIFY_CACHE", "true")]);
    let token = signin(&ours, &rt);
    let (signing_input, _) = token.rsplit_once('.').unwrap();
    let hmac = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, SECRET.as_bytes());
    let decoding = jsonwebtoken::DecodingKey::from_secret(SECRET.as_bytes()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_issuer(&["tokengate"]);
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    assert!(jsonwebtoken::decode::<serde_json::Value>(&token, &decoding, &validation).is_ok());
    assert!(cached.verify_access(&token).is_ok());

    let mut group = c.benchmark_group("hs256");
    group.bench_function("hmac_floor", |b| {
        b.iter(|| aws_lc_rs::hmac::sign(&hmac, black_box(signing_input.as_bytes())));
    });
    group.bench_function("jsonwebtoken_decode", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<serde_json::Value>(black_box(&token), &decoding, &validation)
                .unwrap()
        });
    });
    group.bench_function("tokengate_verify", |b| {
        b.iter(|| ours.verify_access(black_box(&token)).unwrap());
    });
    group.bench_function("tokengate_verify_cached", |b| {
        b.iter(|| cached.verify_access(black_box(&token)).unwrap());
    });
    group.bench_function("tokengate_issue_signin_without_hash", |b| {
        b.iter(|| signin(&ours, &rt));
    });
    group.finish();
}

fn asymmetric(c: &mut Criterion) {
    let rt = runtime();
    let rng = SystemRandom::new();
    let ed = Ed25519KeyPair::generate_pkcs8v1(&rng).unwrap();
    let ec = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let rsa_der = rsa.as_der().unwrap();
    let keys = [
        ("EdDSA", pem(ed.as_ref())),
        ("ES256", pem(ec.as_ref())),
        ("RS256", pem(rsa_der.as_ref())),
    ];
    let mut group = c.benchmark_group("asymmetric");
    for (algorithm, pem) in &keys {
        let toml = key_toml(algorithm, pem);
        let uncached = gate(Some(&toml), &[("TOKENGATE_VERIFY_CACHE", "false")]);
        let cached = gate(Some(&toml), &[]);
        let token = signin(&uncached, &rt);
        group.bench_function(format!("{algorithm}_verify"), |b| {
            b.iter(|| uncached.verify_access(black_box(&token)).unwrap());
        });
        group.bench_function(format!("{algorithm}_verify_cached"), |b| {
            b.iter(|| cached.verify_access(black_box(&token)).unwrap());
        });
        group.bench_function(format!("{algorithm}_issue_signin_without_hash"), |b| {
            b.iter(|| signin(&uncached, &rt));
        });
    }
    group.finish();
}

fn memory_store(c: &mut Criterion) {
    let rt = runtime();
    let store = MemoryStore::new();
    let now = 1_800_000_000;
    for i in 0..10_000 {
        let mut session =
            Session::new(&format!("s{i}"), "ada", None, "{}", now, Some(now + 86_400));
        "t".clone_into(&mut session.token);
        rt.block_on(store.create(session, None)).unwrap();
    }
    let mut group = c.benchmark_group("memory_store");
    let mut n = 0u64;
    group.bench_function("create_then_revoke", |b| {
        b.iter(|| {
            n += 1;
            let id = format!("bench{n}");
            let session = Session::new(&id, "bob", None, "{}", now, Some(now + 86_400));
            rt.block_on(store.create(session, None)).unwrap();
            rt.block_on(store.revoke("bob", &id, now)).unwrap()
        });
    });
    group.bench_function("refresh", |b| {
        b.iter(|| {
            rt.block_on(store.refresh(RefreshRequest::keep("ada", "s42", "t", now + 1)))
                .unwrap()
        });
    });
    group.bench_function("is_live", |b| {
        b.iter(|| {
            rt.block_on(store.is_live("ada", black_box("s4242"), now + 1))
                .unwrap()
        });
    });
    group.finish();
}

/// Gives every principal roles and scopes, for the requirement checks.
struct Granted;

impl Credentials for Granted {
    fn verify<'a>(&'a self, login: Login<'a>) -> CredentialsFuture<'a> {
        let subject = match login {
            Login::User { login, .. } | Login::Application { key: login, .. } => login.to_owned(),
        };
        let mut claims = serde_json::Map::new();
        claims.insert("roles".into(), serde_json::json!(["user", "admin"]));
        claims.insert("scope".into(), "read write".into());
        Box::pin(async move {
            Ok(Some(Principal {
                subject,
                claims,
                ..Principal::default()
            }))
        })
    }
}

fn authz(c: &mut Criterion) {
    let rt = runtime();
    let config = Config::from_sources(None, "default", [("TOKENGATE_SECRET", SECRET)]).unwrap();
    let gate = TokenGate::builder(config)
        .credentials(Granted)
        .build()
        .unwrap();
    let token = signin(&gate, &rt);
    let verified = gate.verify_access(&token).unwrap();
    let role = Requirement::role("admin");
    let any = Requirement::any([
        Requirement::role("root"),
        Requirement::application(),
        Requirement::scope("write"),
    ]);
    assert!(role.check(&verified).is_ok() && any.check(&verified).is_ok());

    let mut group = c.benchmark_group("authz");
    // The grants of this token were read by the checks above: the cost of a check itself.
    group.bench_function("role_check", |b| {
        b.iter(|| role.check(black_box(&verified)).is_ok());
    });
    group.bench_function("any_of_three_check", |b| {
        b.iter(|| any.check(black_box(&verified)).is_ok());
    });
    // Every HS256 request verifies anew: the first check reads the token's grants.
    group.bench_function("verify_then_role_check", |b| {
        b.iter(|| {
            let verified = gate.verify_access(black_box(&token)).unwrap();
            role.check(&verified).is_ok()
        });
    });
    group.bench_function("verify_alone", |b| {
        b.iter(|| gate.verify_access(black_box(&token)).unwrap());
    });
    group.finish();
}

criterion_group!(benches, hs256, asymmetric, memory_store, authz);
criterion_main!(benches);
