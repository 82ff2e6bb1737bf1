//! Attacks on the passkey endpoints, each scenario the answer the attack must get: clones,
//! duplicate fields, racing first factors, malformed credentials for live challenges, one
//! challenge answered at once, ended sessions and foreign user handles, application tokens,
//! one credential id claimed twice at once, and CSRF in cookie mode.

use serde_json::{json, Value};

use super::mfa::{bearer, get, sign_in};
use super::passkeys::{
    john_with_a_passkey, passkey_signin, post_empty, post_json, register, register_options,
    signin_options,
};
use super::webauthn::{SoftPasskey, Tweak};
use super::{claims_of, demo, parallel, start, Adapter, Body, Server};

const SIGNIN: &str = "/api/rest/passkeys/signin";

/// A change made to an honest assertion.
type Mutation = Box<dyn Fn(&mut Value)>;

fn hdrs<'a>(pairs: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    pairs.iter().map(|(n, v)| (*n, v.as_str())).collect()
}

/// Removes every passkey of the caller (an `aal2` access token), so a user starts over.
async fn remove_every_passkey(server: &Server, access: &str) {
    let listed = get(server, "/api/rest/passkeys", access).await.json();
    for passkey in listed["passkeys"].as_array().cloned().unwrap_or_default() {
        let path = format!(
            "/api/rest/passkeys/{}",
            passkey["id"].as_str().unwrap_or("")
        );
        server
            .request("DELETE", &path, Body::None, &hdrs(&bearer(access)))
            .await
            .expect(200);
    }
}

async fn verify_options(server: &Server, refresh: &str) -> Value {
    let reply = server
        .post(
            "/api/rest/passkeys/verify/options",
            Body::Form(&[("token", refresh)]),
            &[],
        )
        .await;
    reply.expect(200);
    reply.json()
}

/// An attacker holding a clone of John's authenticator signs in first; John's real
/// authenticator then shows the counter going back, and the passkey is ended as cloned. The
/// session the clone opened must not survive the clone signal: whichever side was the clone,
/// the server cannot tell, and leaving the sessions open leaves the attacker in.
pub async fn a_cloned_passkey_ends_every_session_of_its_user(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (_, passkey, _) = john_with_a_passkey(&server).await;
    // The clone signs in with counter 1.
    let options = signin_options(&server).await;
    let by_clone = post_json(
        &server,
        SIGNIN,
        None,
        passkey.sign(&options, &Tweak::default(), 1),
    )
    .await;
    by_clone.expect(201);
    let attacker = by_clone.tokens();
    assert_eq!(claims_of(&attacker.access)["acr"], "aal2");
    // The owner's authenticator, counter 1 as well: the clone signal.
    let options = signin_options(&server).await;
    post_json(
        &server,
        SIGNIN,
        None,
        passkey.sign(&options, &Tweak::default(), 1),
    )
    .await
    .expect(401);
    // The passkey is gone (as designed) ...
    let (_, answer) = sign_in(&server, demo::USER).await;
    assert!(answer.get("mfaRequired").is_none(), "{answer}");
    // ... and so is the session the cloned credential opened.
    let refreshed = server.refresh(&attacker.refresh).await;
    assert_eq!(
        refreshed.status,
        401,
        "the session opened by the cloned passkey survives the clone signal \
         (refresh answered {}: {})",
        refreshed.status,
        refreshed.text()
    );
}

/// The field parser refuses duplicate fields everywhere (`DuplicateField`); the
/// `mfa/verify` body with a `credential` object is read by another parser (serde_json `Value`)
/// that keeps the last of duplicate keys silently.
pub async fn duplicate_fields_beside_a_credential_are_400(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (_, mut passkey, _) = john_with_a_passkey(&server).await;
    let (pending, _) = sign_in(&server, demo::USER).await;
    // The same body with a code in place of a credential: refused as a duplicate.
    let raw = format!(
        r#"{{"token":"not-the-token","token":"{}","code":"123456"}}"#,
        pending.refresh
    );
    let reply = server
        .post(
            "/api/rest/mfa/verify",
            Body::Raw("application/json", raw.into_bytes()),
            &[],
        )
        .await;
    reply.expect(400);
    assert!(reply.text().contains("more than once"), "{}", reply.text());
    let options = verify_options(&server, &pending.refresh).await;
    let assertion = passkey.get(&options, &Tweak::default());
    let raw = format!(
        r#"{{"token":"not-the-token","token":"{}","credential":{}}}"#,
        pending.refresh, assertion
    );
    let reply = server
        .post(
            "/api/rest/mfa/verify",
            Body::Raw("application/json", raw.into_bytes()),
            &[],
        )
        .await;
    assert_eq!(
        reply.status,
        400,
        "duplicate `token` fields are accepted next to a `credential` \
         (answered {}: {})",
        reply.status,
        reply.text()
    );
}

/// Two sessions of a user with no factor yet (the owner's, and an attacker's opened
/// with a stolen password) each register a passkey at the same moment. The aal2 rule ("a
/// password alone adds nothing once a factor is active") is checked on a read of the factors
/// before the store adds: both pass, and the password-only session keeps a passkey (a
/// passwordless aal2 sign-in) although another factor became active first.
pub async fn two_password_sessions_racing_to_register_add_one_passkey(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let mut both = 0;
    for _ in 0..4 {
        // A fresh user each round: John's passkeys are removed again at aal2.
        let (owner, _) = sign_in(&server, demo::USER).await;
        let (attacker, _) = sign_in(&server, demo::USER).await;
        let a = register_options(&server, &owner.access).await;
        let b = register_options(&server, &attacker.access).await;
        let (mut key_a, body_a) = SoftPasskey::create(&a, &Tweak::default(), None);
        let (mut key_b, body_b) = SoftPasskey::create(&b, &Tweak::default(), None);
        let (ra, rb) = parallel(futures_util::future::join(
            post_json(
                &server,
                "/api/rest/passkeys/register",
                Some(&owner.access),
                body_a,
            ),
            post_json(
                &server,
                "/api/rest/passkeys/register",
                Some(&attacker.access),
                body_b,
            ),
        ))
        .await;
        assert!(
            ra.status < 500 && rb.status < 500,
            "{} {}",
            ra.text(),
            rb.text()
        );
        if ra.status == 201 && rb.status == 201 {
            both += 1;
        }
        // Clean up: sign in with a key that was added and remove every passkey.
        let mut signed = passkey_signin(&server, &mut key_a).await;
        if signed.status != 201 {
            signed = passkey_signin(&server, &mut key_b).await;
        }
        let aal2 = signed.tokens();
        remove_every_passkey(&server, &aal2.access).await;
    }
    assert_eq!(
        both, 0,
        "in {both}/4 rounds two password-only sessions each added a passkey at once"
    );
}

/// Malformed assertions that do answer a real challenge reach webauthn-rs: 4xx JSON,
/// never 5xx.
pub async fn malformed_assertions_for_live_challenges_are_4xx(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (_, mut passkey, _) = john_with_a_passkey(&server).await;
    let b64 =
        |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b);
    let mutations: Vec<Mutation> = vec![
        Box::new(|v| v["response"]["authenticatorData"] = json!("")),
        Box::new(move |v| v["response"]["authenticatorData"] = json!(b64(&[0xff; 37]))),
        Box::new(move |v| {
            let mut d = vec![0u8; 32];
            d.push(0xC5); // UP|UV|AT|ED with nothing after the counter
            d.extend_from_slice(&[0, 0, 0, 9]);
            v["response"]["authenticatorData"] = json!(b64(&d));
        }),
        Box::new(move |v| {
            let mut d = vec![0u8; 32];
            d.push(0x85); // ED with garbage CBOR
            d.extend_from_slice(&[0, 0, 0, 9, 0xbf, 0xbf, 0xbf]);
            v["response"]["authenticatorData"] = json!(b64(&d));
        }),
        Box::new(|v| v["response"]["signature"] = json!("")),
        Box::new(move |v| v["response"]["signature"] = json!(b64(&[0x30; 2000]))),
        Box::new(|v| v["response"]["userHandle"] = json!("")),
        Box::new(move |v| v["response"]["userHandle"] = json!(b64(&[1; 100_000]))),
        Box::new(|v| v["response"]["userHandle"] = Value::Null),
    ];
    for (i, mutate) in mutations.iter().enumerate() {
        let options = signin_options(&server).await;
        let mut body = passkey.get(&options, &Tweak::default());
        mutate(&mut body);
        let reply = post_json(&server, SIGNIN, None, body).await;
        assert!(
            (400..500).contains(&reply.status) && reply.json()["error"].is_string(),
            "mutation {i}: {} {}",
            reply.status,
            reply.text()
        );
    }
    // The client data itself: the challenge is found, the rest is not what it should be.
    let options = signin_options(&server).await;
    let challenge = options["publicKey"]["challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    for client_data in [
        json!({ "challenge": challenge }),
        json!({ "challenge": challenge, "type": 7, "origin": [] }),
        json!({ "challenge": challenge, "type": "webauthn.get", "origin": "x".repeat(500_000) }),
    ] {
        let options = signin_options(&server).await;
        let mut body = passkey.get(&options, &Tweak::default());
        let challenge = options["publicKey"]["challenge"].as_str().unwrap();
        let mut cd = client_data.clone();
        cd["challenge"] = json!(challenge);
        body["response"]["clientDataJSON"] = json!(b64(cd.to_string().as_bytes()));
        let reply = post_json(&server, SIGNIN, None, body).await;
        assert!(
            (400..500).contains(&reply.status),
            "client data {}: {} {}",
            &client_data.to_string()[..40.min(client_data.to_string().len())],
            reply.status,
            reply.text()
        );
    }
}

/// Concurrent uses of one verify challenge and one registration challenge: exactly
/// one succeeds each.
pub async fn one_challenge_answered_at_once_counts_once(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (_, mut passkey, _) = john_with_a_passkey(&server).await;
    let (pending, _) = sign_in(&server, demo::USER).await;
    let options = verify_options(&server, &pending.refresh).await;
    let assertion = passkey.get(&options, &Tweak::default());
    let body = json!({ "token": pending.refresh, "credential": assertion });
    let replies =
        parallel(futures_util::future::join_all((0..6).map(|_| {
            post_json(&server, "/api/rest/mfa/verify", None, body.clone())
        })))
        .await;
    let ok = replies.iter().filter(|r| r.status == 201).count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(replies.iter().all(|r| r.status < 500));
    // Registration: at aal2, one challenge answered many times at once.
    let aal2 = passkey_signin(&server, &mut passkey).await.tokens();
    let options = register_options(&server, &aal2.access).await;
    let (_, body) = SoftPasskey::create(&options, &Tweak::default(), None);
    let replies = parallel(futures_util::future::join_all((0..6).map(|_| {
        post_json(
            &server,
            "/api/rest/passkeys/register",
            Some(&aal2.access),
            body.clone(),
        )
    })))
    .await;
    let ok = replies.iter().filter(|r| r.status == 201).count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(replies.iter().all(|r| r.status < 500));
}

/// Tokens acted on only while their session lives: registration after sign-out,
/// a second factor proved for a session ended between options and answer, a discoverable
/// sign-in whose user handle is another user's.
pub async fn ended_sessions_and_foreign_handles_prove_nothing(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    // Registration options asked, then the session signs out: the answer adds nothing.
    let (john, _) = sign_in(&server, demo::USER).await;
    let options = register_options(&server, &john.access).await;
    server.signout(&john.refresh, &[]).await.expect(200);
    let (_, body) = SoftPasskey::create(&options, &Tweak::default(), None);
    let reply = post_json(
        &server,
        "/api/rest/passkeys/register",
        Some(&john.access),
        body,
    )
    .await;
    assert_eq!(reply.status, 401, "{}", reply.text());
    let (_, mut johns, _) = john_with_a_passkey(&server).await;
    // Verify options, then the pending session is ended by its own sign-out.
    let (pending, _) = sign_in(&server, demo::USER).await;
    let options = verify_options(&server, &pending.refresh).await;
    let assertion = johns.get(&options, &Tweak::default());
    server.signout(&pending.refresh, &[]).await.expect(200);
    let reply = post_json(
        &server,
        "/api/rest/mfa/verify",
        None,
        json!({ "token": pending.refresh, "credential": assertion }),
    )
    .await;
    assert_eq!(reply.status, 401, "{}", reply.text());
    // Jane's handle on John's credential.
    let (jane, _) = sign_in(&server, demo::SECOND_USER).await;
    let (janes, _) = register(&server, &jane.access).await;
    let options = signin_options(&server).await;
    let saved = std::mem::replace(&mut johns.user_handle, janes.user_handle.clone());
    let reply = post_json(
        &server,
        SIGNIN,
        None,
        johns.get(&options, &Tweak::default()),
    )
    .await;
    johns.user_handle = saved;
    assert_eq!(reply.status, 401, "{}", reply.text());
    // No handle at all.
    let options = signin_options(&server).await;
    let mut body = johns.get(&options, &Tweak::default());
    body["response"]
        .as_object_mut()
        .unwrap()
        .remove("userHandle");
    post_json(&server, SIGNIN, None, body).await.expect(401);
    // A registration challenge answered as a sign-in, and a sign-in challenge as a register.
    let aal2 = passkey_signin(&server, &mut johns).await.tokens();
    let reg = register_options(&server, &aal2.access).await;
    post_json(&server, SIGNIN, None, johns.get(&reg, &Tweak::default()))
        .await
        .expect(401);
    let sopt = signin_options(&server).await;
    let (_, body) = SoftPasskey::create(
        &sopt["publicKey"]
            .as_object()
            .map(|o| {
                let mut o = o.clone();
                o.insert("user".into(), json!({"id": "AAAAAAAAAAAAAAAAAAAAAA"}));
                Value::Object(o)
            })
            .unwrap(),
        &Tweak::default(),
        None,
    );
    let reply = post_json(
        &server,
        "/api/rest/passkeys/register",
        Some(&aal2.access),
        body,
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    // The same credential registered again by its owner: 409, nothing changes.
    let options = register_options(&server, &aal2.access).await;
    let (_, again) = SoftPasskey::create(&options, &Tweak::default(), Some(johns.id.clone()));
    let reply = post_json(
        &server,
        "/api/rest/passkeys/register",
        Some(&aal2.access),
        again,
    )
    .await;
    assert!(matches!(reply.status, 400 | 409), "{}", reply.text());
    passkey_signin(&server, &mut johns).await.expect(201);
}

/// Options endpoints do not read the body: a client that sends one (a fetch with a
/// JSON body) must still get its answer.
pub async fn options_asked_with_a_body_still_answer(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    for size in [16usize, 64 * 1024, 900 * 1024] {
        let body = json!({ "pad": "x".repeat(size) });
        let reply = post_json(&server, "/api/rest/passkeys/signin/options", None, body).await;
        assert_eq!(reply.status, 200, "size {size}: {}", reply.status);
    }
    let _ = post_empty(&server, "/api/rest/passkeys/signin/options", None).await;
}

/// Malformed attestations that answer a live registration challenge reach
/// webauthn-rs's parsers: 4xx JSON, never 5xx, never a dropped connection.
#[allow(clippy::too_many_lines)] // a table of attestations, each a case
pub async fn malformed_attestations_for_live_challenges_are_4xx(adapter: Adapter) {
    use super::webauthn::cbor;
    let server = start(adapter, &[]).await;
    let (john, _) = sign_in(&server, demo::USER).await;
    let b64 =
        |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b);
    let sha = |b: &[u8]| {
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b)
            .as_ref()
            .to_vec()
    };
    let ec2 = |x: &[u8], y: &[u8], alg: i64, crv: i64| {
        let mut o = Vec::new();
        cbor::map(&mut o, 5);
        cbor::int(&mut o, 1);
        cbor::int(&mut o, 2);
        cbor::int(&mut o, 3);
        cbor::int(&mut o, alg);
        cbor::int(&mut o, -1);
        cbor::int(&mut o, crv);
        cbor::int(&mut o, -2);
        cbor::bytes(&mut o, x);
        cbor::int(&mut o, -3);
        cbor::bytes(&mut o, y);
        o
    };
    let rsa = |n: &[u8], e: &[u8]| {
        let mut o = Vec::new();
        cbor::map(&mut o, 4);
        cbor::int(&mut o, 1);
        cbor::int(&mut o, 3);
        cbor::int(&mut o, 3);
        cbor::int(&mut o, -257);
        cbor::int(&mut o, -1);
        cbor::bytes(&mut o, n);
        cbor::int(&mut o, -2);
        cbor::bytes(&mut o, e);
        o
    };
    let okp = {
        let mut o = Vec::new();
        cbor::map(&mut o, 4);
        cbor::int(&mut o, 1);
        cbor::int(&mut o, 1);
        cbor::int(&mut o, 3);
        cbor::int(&mut o, -8);
        cbor::int(&mut o, -1);
        cbor::int(&mut o, 6);
        cbor::int(&mut o, -2);
        cbor::bytes(&mut o, &[9; 32]);
        o
    };
    let auth = |cose: &[u8], id_len: Option<u16>, tail: &[u8]| {
        let mut d = sha(b"localhost");
        d.push(0x45);
        d.extend_from_slice(&[0, 0, 0, 0]);
        d.extend_from_slice(&[0; 16]);
        let id = [7u8; 32];
        d.extend_from_slice(&id_len.unwrap_or(32).to_be_bytes());
        d.extend_from_slice(&id);
        d.extend_from_slice(cose);
        d.extend_from_slice(tail);
        d
    };
    let att = |fmt: &str, stmt: &dyn Fn(&mut Vec<u8>), auth_data: &[u8]| {
        let mut a = Vec::new();
        cbor::map(&mut a, 3);
        cbor::text(&mut a, "fmt");
        cbor::text(&mut a, fmt);
        cbor::text(&mut a, "attStmt");
        stmt(&mut a);
        cbor::text(&mut a, "authData");
        cbor::bytes(&mut a, auth_data);
        a
    };
    let empty = |a: &mut Vec<u8>| cbor::map(a, 0);
    let sig_only = |a: &mut Vec<u8>| {
        cbor::map(a, 2);
        cbor::text(a, "alg");
        cbor::int(a, -7);
        cbor::text(a, "sig");
        cbor::bytes(a, &[0x30, 0x02, 0x00, 0x00]);
    };
    let x5c = |a: &mut Vec<u8>| {
        cbor::map(a, 3);
        cbor::text(a, "alg");
        cbor::int(a, -7);
        cbor::text(a, "sig");
        cbor::bytes(a, &[0x30; 70]);
        cbor::text(a, "x5c");
        a.push(0x81);
        cbor::bytes(a, &[0x30, 0x82, 0xff, 0xff, 1, 2, 3]);
    };
    let p256 = ec2(&[1; 32], &[2; 32], -7, 1);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "packed sig",
            att("packed", &sig_only, &auth(&p256, None, &[])),
        ),
        ("packed x5c", att("packed", &x5c, &auth(&p256, None, &[]))),
        ("fido-u2f", att("fido-u2f", &x5c, &auth(&p256, None, &[]))),
        ("tpm", att("tpm", &x5c, &auth(&p256, None, &[]))),
        ("apple", att("apple", &x5c, &auth(&p256, None, &[]))),
        (
            "android-key",
            att("android-key", &x5c, &auth(&p256, None, &[])),
        ),
        (
            "safetynet",
            att("android-safetynet", &empty, &auth(&p256, None, &[])),
        ),
        ("unknown fmt", att("zzz", &empty, &auth(&p256, None, &[]))),
        ("bad point", att("none", &empty, &auth(&p256, None, &[]))),
        (
            "p384 crv with es256",
            att(
                "none",
                &empty,
                &auth(&ec2(&[1; 48], &[2; 48], -7, 2), None, &[]),
            ),
        ),
        (
            "tiny rsa",
            att("none", &empty, &auth(&rsa(&[3], &[1, 0, 1]), None, &[])),
        ),
        (
            "huge rsa",
            att(
                "none",
                &empty,
                &auth(&rsa(&[0xff; 2048], &[1, 0, 1]), None, &[]),
            ),
        ),
        ("okp", att("none", &empty, &auth(&okp, None, &[]))),
        (
            "id len past end",
            att("none", &empty, &auth(&p256, Some(0xffff), &[])),
        ),
        (
            "trailing bytes",
            att("none", &empty, &auth(&p256, None, &[0xff; 9])),
        ),
        ("no cose", att("none", &empty, &auth(&[], None, &[]))),
    ];
    for (name, attestation) in cases {
        let options = register_options(&server, &john.access).await;
        let (_, mut body) = SoftPasskey::create(&options, &Tweak::default(), None);
        body["response"]["attestationObject"] = json!(b64(&attestation));
        let reply = post_json(
            &server,
            "/api/rest/passkeys/register",
            Some(&john.access),
            body,
        )
        .await;
        assert!(
            (400..500).contains(&reply.status) && reply.json()["error"].is_string(),
            "{name}: {} {}",
            reply.status,
            reply.text()
        );
    }
}

/// An application key's tokens on every passkey endpoint that takes a token.
pub async fn application_tokens_get_no_passkey(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (app, key, secret) = demo::APPLICATION;
    let reply = server
        .post(
            "/api/rest/signin",
            Body::Form(&[("login", key), ("password", secret), ("application", app)]),
            &[],
        )
        .await;
    let tokens = reply.tokens();
    for path in [
        "/api/rest/passkeys/register/options",
        "/api/rest/passkeys/register",
    ] {
        let r = post_empty(&server, path, Some(&tokens.access)).await;
        assert!(
            matches!(r.status, 401 | 403 | 415),
            "{path}: {} {}",
            r.status,
            r.text()
        );
    }
    let r = get(&server, "/api/rest/passkeys", &tokens.access).await;
    assert!(
        matches!(r.status, 401 | 403),
        "list: {} {}",
        r.status,
        r.text()
    );
    let r = server
        .post(
            "/api/rest/passkeys/verify/options",
            Body::Form(&[("token", &tokens.refresh)]),
            &[],
        )
        .await;
    assert!(
        matches!(r.status, 401 | 403),
        "verify/options: {} {}",
        r.status,
        r.text()
    );
}

/// Two users register one credential id at the same moment (a credential id is
/// the attacker's to choose: attestation `none` binds no key to it). Exactly one gets it, and
/// a sign-in by that id reaches the winner's key alone.
pub async fn one_credential_id_claimed_by_two_users_at_once_goes_to_one(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    for round in 0..4 {
        let (john, _) = sign_in(&server, demo::USER).await;
        let (jane, _) = sign_in(&server, demo::SECOND_USER).await;
        let a = post_empty(
            &server,
            "/api/rest/passkeys/register/options",
            Some(&john.access),
        )
        .await;
        let b = post_empty(
            &server,
            "/api/rest/passkeys/register/options",
            Some(&jane.access),
        )
        .await;
        a.expect(200);
        b.expect(200);
        let mut id = vec![0u8; 32];
        getrandom::fill(&mut id).unwrap();
        let (mut ka, body_a) = SoftPasskey::create(&a.json(), &Tweak::default(), Some(id.clone()));
        let (mut kb, body_b) = SoftPasskey::create(&b.json(), &Tweak::default(), Some(id));
        let (ra, rb) = parallel(futures_util::future::join(
            post_json(
                &server,
                "/api/rest/passkeys/register",
                Some(&john.access),
                body_a,
            ),
            post_json(
                &server,
                "/api/rest/passkeys/register",
                Some(&jane.access),
                body_b,
            ),
        ))
        .await;
        let statuses = (ra.status, rb.status);
        assert!(
            matches!(statuses, (201, 409) | (409, 201)),
            "round {round}: {statuses:?} {} {}",
            ra.text(),
            rb.text()
        );
        let (winner, loser) = if ra.status == 201 {
            (&mut ka, &mut kb)
        } else {
            (&mut kb, &mut ka)
        };
        passkey_signin(&server, loser).await.expect(401);
        let signed = passkey_signin(&server, winner).await;
        signed.expect(201);
        // Remove it again so both users start over without factors.
        let aal2 = signed.tokens();
        remove_every_passkey(&server, &aal2.access).await;
    }
}

/// Cookie mode: a passkey session in cookies (aal2) renames, removes and proves
/// nothing without the CSRF header; `mfa/verify` with a credential and the refresh cookie
/// neither.
pub async fn a_cookie_session_needs_the_csrf_header_for_every_passkey_change(adapter: Adapter) {
    use super::cookies::Browser;
    let server = start(adapter, &[]).await;
    let (_, mut passkey, answer) = john_with_a_passkey(&server).await;
    let id = answer["id"].as_str().unwrap().to_owned();
    let options = signin_options(&server).await;
    let reply = server
        .post(
            "/api/rest/passkeys/signin?cookieauth=true",
            Body::Json(passkey.get(&options, &Tweak::default())),
            &[],
        )
        .await;
    reply.expect(201);
    let browser = Browser::of(&reply);
    let path = format!("/api/rest/passkeys/{id}");
    let r = server
        .request(
            "PATCH",
            &path,
            Body::Form(&[("name", "pwned")]),
            &browser.headers(false),
        )
        .await;
    assert_eq!(r.status, 403, "rename without CSRF: {}", r.text());
    let r = server
        .request("DELETE", &path, Body::None, &browser.headers(false))
        .await;
    assert_eq!(r.status, 403, "remove without CSRF: {}", r.text());
    let r = post_empty(&server, "/api/rest/passkeys/register/options", None).await;
    assert_eq!(r.status, 401);
    let r = server
        .post(
            "/api/rest/passkeys/register/options",
            Body::None,
            &browser.headers(false),
        )
        .await;
    assert_eq!(r.status, 403, "register options without CSRF: {}", r.text());
    // A pending cookie session proving a passkey without the header.
    let (_, pending) = super::cookies::cookie_signin(&server).await;
    let r = server
        .post(
            "/api/rest/passkeys/verify/options",
            Body::None,
            &pending.headers(false),
        )
        .await;
    assert_eq!(r.status, 403, "verify options without CSRF: {}", r.text());
    let r = server
        .post(
            "/api/rest/passkeys/verify/options",
            Body::None,
            &pending.headers(true),
        )
        .await;
    r.expect(200);
    let assertion = passkey.get(&r.json(), &Tweak::default());
    let r = server
        .post(
            "/api/rest/mfa/verify",
            Body::Json(json!({ "credential": assertion })),
            &pending.headers(false),
        )
        .await;
    assert_eq!(r.status, 403, "verify without CSRF: {}", r.text());
    // The rename went nowhere.
    let r = server
        .get("/api/rest/passkeys", &browser.headers(false))
        .await;
    assert_eq!(r.json()["passkeys"][0]["name"], "passkey", "{}", r.text());
}
