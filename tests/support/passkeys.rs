//! Passkeys: registration for a signed-in user, a passwordless sign-in at `aal2`, a passkey as
//! the second factor of a password sign-in, renaming and removal; and the attacks on each,
//! with assertions made by the software authenticator of [`super::webauthn`].

use serde_json::{json, Value};

use super::cookies::cookie_signin;
use super::mfa::{bearer, get, sign_in, STEP_UP};
use super::webauthn::{SoftPasskey, Tweak, BE, BS, UP, UV};
use super::{claims_of, demo, parallel, start, Adapter, Body, Reply, Server, Tokens};

/// Headers as the helpers take them.
fn headers<'a>(pairs: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    pairs
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect()
}

/// `POST` of a JSON body, with `access` as a bearer when given.
pub async fn post_json(server: &Server, path: &str, access: Option<&str>, body: Value) -> Reply {
    let pairs: Vec<(&'static str, String)> = access
        .map(|token| bearer(token).to_vec())
        .unwrap_or_default();
    server.post(path, Body::Json(body), &headers(&pairs)).await
}

/// `POST` with no body, with `access` as a bearer when given.
pub async fn post_empty(server: &Server, path: &str, access: Option<&str>) -> Reply {
    let pairs: Vec<(&'static str, String)> = access
        .map(|token| bearer(token).to_vec())
        .unwrap_or_default();
    server.post(path, Body::None, &headers(&pairs)).await
}

/// The registration options for the user of `access`.
pub async fn register_options(server: &Server, access: &str) -> Value {
    let reply = post_empty(server, "/api/rest/passkeys/register/options", Some(access)).await;
    reply.expect(200);
    reply.json()
}

/// Registers a passkey for the user of `access`: the authenticator's credential and the answer.
pub async fn register(server: &Server, access: &str) -> (SoftPasskey, Value) {
    let options = register_options(server, access).await;
    let (passkey, body) = SoftPasskey::create(&options, &Tweak::default(), None);
    let reply = post_json(server, "/api/rest/passkeys/register", Some(access), body).await;
    reply.expect(201);
    (passkey, reply.json())
}

/// The options of a passwordless sign-in.
pub async fn signin_options(server: &Server) -> Value {
    let reply = post_empty(server, "/api/rest/passkeys/signin/options", None).await;
    reply.expect(200);
    reply.json()
}

/// A passwordless sign-in with `passkey`, its assertion honest.
pub async fn passkey_signin(server: &Server, passkey: &mut SoftPasskey) -> Reply {
    let options = signin_options(server).await;
    let body = passkey.get(&options, &Tweak::default());
    post_json(server, "/api/rest/passkeys/signin", None, body).await
}

/// The seed user with a passkey, registered from a first session: that session's tokens and
/// the passkey.
pub async fn john_with_a_passkey(server: &Server) -> (Tokens, SoftPasskey, Value) {
    let (tokens, _) = sign_in(server, demo::USER).await;
    let (passkey, answer) = register(server, &tokens.access).await;
    (tokens, passkey, answer)
}

/// `POST mfa/verify` with a session's refresh token and a passkey's assertion.
async fn verify_with(server: &Server, refresh: &str, assertion: Value) -> Reply {
    post_json(
        server,
        "/api/rest/mfa/verify",
        None,
        json!({ "token": refresh, "credential": assertion }),
    )
    .await
}

/// The options of proving a passkey for the session of `refresh`.
async fn verify_options(server: &Server, refresh: &str) -> Reply {
    server
        .post(
            "/api/rest/passkeys/verify/options",
            Body::Form(&[("token", refresh)]),
            &[],
        )
        .await
}

pub async fn a_passkey_is_registered_then_signs_in_without_a_password(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (tokens, _) = sign_in(&server, demo::USER).await;
    let options = register_options(&server, &tokens.access).await;
    let public_key = &options["publicKey"];
    assert_eq!(public_key["rp"]["id"], "localhost");
    assert_eq!(public_key["user"]["name"], demo::USER.0);
    let handle = public_key["user"]["id"].as_str().expect("user.id");
    assert_ne!(handle, demo::USER.0, "the user handle is the login");
    assert!(!handle.contains("john"), "{handle}");
    let selection = &public_key["authenticatorSelection"];
    assert_eq!(selection["residentKey"], "preferred", "{selection}");
    assert_eq!(selection["userVerification"], "required", "{selection}");
    let (mut passkey, body) = SoftPasskey::create(&options, &Tweak::default(), None);
    let registered = post_json(
        &server,
        "/api/rest/passkeys/register",
        Some(&tokens.access),
        body,
    )
    .await;
    registered.expect(201);
    let answer = registered.json();
    assert_eq!(answer["name"], "passkey");
    assert_eq!(
        answer["recoveryCodes"].as_array().map(Vec::len),
        Some(10),
        "the first factor comes with recovery codes: {answer}"
    );
    let listed = get(&server, "/api/rest/passkeys", &tokens.access).await;
    listed.expect(200);
    let listed = listed.json();
    assert_eq!(listed["passkeys"][0]["id"], answer["id"]);
    assert_eq!(listed["passkeys"][0]["backupEligible"], false);
    assert_eq!(listed["passkeys"][0]["lastUsedAt"], Value::Null);
    // Now that a factor is active, the session that registered it is below aal2.
    post_empty(
        &server,
        "/api/rest/passkeys/register/options",
        Some(&tokens.access),
    )
    .await
    .expect(401)
    .challenge(Some(STEP_UP));

    let options = signin_options(&server).await;
    assert!(
        options["publicKey"]["allowCredentials"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "a discoverable sign-in names no credential: {options}"
    );
    let signed_in = post_json(
        &server,
        "/api/rest/passkeys/signin",
        None,
        passkey.get(&options, &Tweak::default()),
    )
    .await;
    signed_in.expect(201);
    let signed_in = signed_in.tokens();
    let claims = claims_of(&signed_in.access);
    assert_eq!(claims["sub"], demo::USER.0);
    assert_eq!(claims["acr"], "aal2");
    assert_eq!(claims["amr"], json!(["hwk", "user"]));
    assert_eq!(
        claims["roles"],
        json!(["user", "admin"]),
        "the user's claims"
    );
    get(&server, "/api/rest/vault", &signed_in.access)
        .await
        .expect(200);
    // `/token` carries the assurance forward.
    let refreshed = server
        .post(
            "/api/rest/token",
            Body::Form(&[("token", &signed_in.refresh)]),
            &[],
        )
        .await;
    refreshed.expect(201);
    assert_eq!(claims_of(&refreshed.tokens().access)["acr"], "aal2");
    let listed = get(&server, "/api/rest/passkeys", &signed_in.access)
        .await
        .json();
    assert!(listed["passkeys"][0]["lastUsedAt"].is_number(), "{listed}");
}

pub async fn a_passkey_signs_in_with_cookies(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (_, mut passkey, _) = john_with_a_passkey(&server).await;
    let options = signin_options(&server).await;
    let body = passkey.get(&options, &Tweak::default());
    let reply = server
        .post(
            "/api/rest/passkeys/signin?cookieauth=true",
            Body::Json(body),
            &[],
        )
        .await;
    reply.expect(201);
    let answer = reply.json();
    assert!(answer["csrfToken"].is_string(), "{answer}");
    assert!(answer.get("accessToken").is_none(), "{answer}");
    assert_eq!(reply.headers_named("set-cookie").len(), 3);
    // Login CSRF: a foreign page cannot sign the browser in with a passkey of its own.
    let options = signin_options(&server).await;
    let body = passkey.get(&options, &Tweak::default());
    server
        .post(
            "/api/rest/passkeys/signin?cookieauth=true",
            Body::Json(body),
            &[("origin", "https://evil.example")],
        )
        .await
        .expect(403);
}

pub async fn a_passkey_is_the_second_factor_of_a_password_sign_in(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (_, mut passkey, _) = john_with_a_passkey(&server).await;
    let (pending, answer) = sign_in(&server, demo::USER).await;
    assert_eq!(answer["mfaRequired"], json!(["passkey", "recovery"]));
    get(&server, "/api/rest/vault", &pending.access)
        .await
        .expect(401)
        .challenge(Some(STEP_UP));
    let options = verify_options(&server, &pending.refresh).await;
    options.expect(200);
    let options = options.json();
    let allowed = options["publicKey"]["allowCredentials"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(allowed.len(), 1, "{options}");
    assert_eq!(
        allowed[0]["id"].as_str(),
        Some(
            base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                &passkey.id
            )
            .as_str()
        )
    );
    let assertion = passkey.get(&options, &Tweak::default());
    let raised = verify_with(&server, &pending.refresh, assertion).await;
    raised.expect(201);
    let raised = raised.tokens();
    let claims = claims_of(&raised.access);
    assert_eq!(claims["acr"], "aal2");
    assert_eq!(claims["amr"], json!(["pwd", "hwk", "mfa", "user"]));
    assert_eq!(
        claims["sid"],
        claims_of(&pending.access)["sid"],
        "the same session"
    );
    get(&server, "/api/rest/vault", &raised.access)
        .await
        .expect(200);
    // The refresh token presented was spent.
    verify_options(&server, &pending.refresh).await.expect(401);
}

pub async fn passkeys_are_renamed_and_removed_at_aal2(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (_, mut passkey, answer) = john_with_a_passkey(&server).await;
    let id = answer["id"].as_str().expect("id").to_owned();
    let path = format!("/api/rest/passkeys/{id}");
    let signed_in = passkey_signin(&server, &mut passkey).await;
    signed_in.expect(201);
    let aal2 = signed_in.tokens();
    let (aal1, _) = sign_in(&server, demo::USER).await;
    let renamed = server
        .request(
            "PATCH",
            &path,
            Body::Form(&[("name", "laptop")]),
            &headers(&bearer(&aal2.access)),
        )
        .await;
    renamed.expect(200);
    assert_eq!(renamed.json()["name"], "laptop");
    for name in ["", "   ", &"x".repeat(65)] {
        server
            .request(
                "PATCH",
                &path,
                Body::Form(&[("name", name)]),
                &headers(&bearer(&aal2.access)),
            )
            .await
            .expect(400);
    }
    let listed = get(&server, "/api/rest/passkeys", &aal2.access)
        .await
        .json();
    assert_eq!(listed["passkeys"][0]["name"], "laptop");
    // Another method on the path: 405 naming both.
    let put = server
        .request("PUT", &path, Body::None, &headers(&bearer(&aal2.access)))
        .await;
    put.expect(405);
    assert_eq!(put.header("allow"), Some("PATCH, DELETE"));
    // A password alone (a session still waiting for its factor) removes nothing.
    server
        .request("DELETE", &path, Body::None, &headers(&bearer(&aal1.access)))
        .await
        .expect(401)
        .challenge(Some(STEP_UP));
    // Another user's id is no passkey of the caller.
    let (jane, _) = sign_in(&server, demo::SECOND_USER).await;
    server
        .request("DELETE", &path, Body::None, &headers(&bearer(&jane.access)))
        .await
        .expect(404);
    let removed = server
        .request("DELETE", &path, Body::None, &headers(&bearer(&aal2.access)))
        .await;
    removed.expect(200);
    assert_eq!(removed.json()["activeLeft"], 0);
    passkey_signin(&server, &mut passkey).await.expect(401);
    let listed = get(&server, "/api/rest/passkeys", &aal2.access)
        .await
        .json();
    assert_eq!(listed["passkeys"], json!([]));
    // Without a factor left, a password sign-in is whole again.
    let (_, answer) = sign_in(&server, demo::USER).await;
    assert!(answer.get("mfaRequired").is_none(), "{answer}");
}

pub async fn a_passkey_assertion_counts_once_for_its_challenge_and_origin(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (_, mut passkey, _) = john_with_a_passkey(&server).await;
    let signin = "/api/rest/passkeys/signin";
    // Many sign-ins at once with one assertion: one session.
    let options = signin_options(&server).await;
    let assertion = passkey.get(&options, &Tweak::default());
    let replies = parallel(futures_util::future::join_all(
        (0..6).map(|_| post_json(&server, signin, None, assertion.clone())),
    ))
    .await;
    let opened = replies.iter().filter(|reply| reply.status == 201).count();
    assert_eq!(opened, 1, "one challenge opened {opened} sessions");
    assert!(replies
        .iter()
        .all(|reply| matches!(reply.status, 201 | 401)));
    // Replayed later: the same assertion again.
    let replayed = post_json(&server, signin, None, assertion).await;
    replayed.expect(401);
    assert_eq!(replayed.json()["error"], "invalid_credentials");
    // The attacks below each fail on a passkey of their own, Jane's: each failure counts
    // against its credential id as a wrong password counts against a login.
    let (jane, _) = sign_in(&server, demo::SECOND_USER).await;
    let (mut janes, _) = register(&server, &jane.access).await;
    // A challenge never asked for.
    let options = signin_options(&server).await;
    let made_up = Tweak {
        challenge: Some("bm90LWEtY2hhbGxlbmdlLW9mLW91cnM".to_owned()),
        ..Tweak::default()
    };
    post_json(&server, signin, None, janes.get(&options, &made_up))
        .await
        .expect(401);
    // Another origin, another port, another rp id, a client data of another type, and user
    // verification asked for but its flag absent.
    for tweak in [
        Tweak {
            origin: "https://evil.example".to_owned(),
            ..Tweak::default()
        },
        Tweak {
            origin: "http://localhost:9999".to_owned(),
            ..Tweak::default()
        },
        Tweak {
            rp_id: "evil.example".to_owned(),
            ..Tweak::default()
        },
        Tweak {
            kind: Some("webauthn.create".to_owned()),
            ..Tweak::default()
        },
        Tweak {
            flags: UP,
            ..Tweak::default()
        },
    ] {
        let options = signin_options(&server).await;
        let refused = post_json(&server, signin, None, janes.get(&options, &tweak)).await;
        refused.expect(401);
        assert_eq!(refused.text(), replayed.text(), "{tweak:?}");
    }
    // An unknown credential answers as a bad signature does.
    let options = signin_options(&server).await;
    let mut stranger = SoftPasskey::new(vec![7; 16]);
    let unknown = post_json(
        &server,
        signin,
        None,
        stranger.get(&options, &Tweak::default()),
    )
    .await;
    unknown.expect(401);
    assert_eq!(
        unknown.text(),
        replayed.text(),
        "one answer for every refusal"
    );
    // Jane's own honest sign-in still goes through.
    passkey_signin(&server, &mut janes).await.expect(201);
}

pub async fn a_counter_gone_back_ends_the_passkey(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (_, mut passkey, _) = john_with_a_passkey(&server).await;
    passkey.counter = 5;
    passkey_signin(&server, &mut passkey).await.expect(201);
    // A clone of the authenticator, a step behind.
    let options = signin_options(&server).await;
    let cloned = passkey.sign(&options, &Tweak::default(), 3);
    post_json(&server, "/api/rest/passkeys/signin", None, cloned)
        .await
        .expect(401);
    // The passkey is gone: even the real authenticator, ahead, no longer signs in.
    passkey.counter = 10;
    passkey_signin(&server, &mut passkey).await.expect(401);
    let (_, answer) = sign_in(&server, demo::USER).await;
    assert!(
        answer.get("mfaRequired").is_none(),
        "the cloned passkey still counted as a factor: {answer}"
    );
    // A synced passkey (backup eligible and backed up) signs in as `swk`.
    let (jane, _) = sign_in(&server, demo::SECOND_USER).await;
    let options = register_options(&server, &jane.access).await;
    let synced = Tweak {
        flags: UP | UV | BE | BS,
        ..Tweak::default()
    };
    let (mut phone, body) = SoftPasskey::create(&options, &synced, None);
    post_json(
        &server,
        "/api/rest/passkeys/register",
        Some(&jane.access),
        body,
    )
    .await
    .expect(201);
    let options = signin_options(&server).await;
    let signed_in = post_json(
        &server,
        "/api/rest/passkeys/signin",
        None,
        phone.get(&options, &synced),
    )
    .await;
    signed_in.expect(201);
    assert_eq!(
        claims_of(&signed_in.tokens().access)["amr"],
        json!(["swk", "user"])
    );
    let listed = get(&server, "/api/rest/passkeys", &signed_in.tokens().access)
        .await
        .json();
    assert_eq!(listed["passkeys"][0]["backedUp"], true);
}

pub async fn a_passkey_proves_nothing_for_another_user_or_session(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (_, mut johns, _) = john_with_a_passkey(&server).await;
    let (jane, _) = sign_in(&server, demo::SECOND_USER).await;
    let (mut janes, _) = register(&server, &jane.access).await;
    // John's password session asks to prove a passkey; Jane's passkey answers.
    let (pending, _) = sign_in(&server, demo::USER).await;
    let options = verify_options(&server, &pending.refresh).await.json();
    verify_with(
        &server,
        &pending.refresh,
        janes.get(&options, &Tweak::default()),
    )
    .await
    .expect(401);
    // Options asked for by Jane's session, answered for John's.
    let (jane_pending, _) = sign_in(&server, demo::SECOND_USER).await;
    let janes_options = verify_options(&server, &jane_pending.refresh).await.json();
    verify_with(
        &server,
        &pending.refresh,
        johns.get(&janes_options, &Tweak::default()),
    )
    .await
    .expect(401);
    // A sign-in assertion is no second factor, nor the other way round.
    let signin = signin_options(&server).await;
    verify_with(
        &server,
        &pending.refresh,
        johns.get(&signin, &Tweak::default()),
    )
    .await
    .expect(401);
    // Jane registers John's credential id under a key of her own: refused.
    let options = verify_options(&server, &jane_pending.refresh).await.json();
    let raised = verify_with(
        &server,
        &jane_pending.refresh,
        janes.get(&options, &Tweak::default()),
    )
    .await;
    raised.expect(201);
    let jane_raised = raised.tokens();
    let options = register_options(&server, &jane_raised.access).await;
    let (_, stolen_id) = SoftPasskey::create(&options, &Tweak::default(), Some(johns.id.clone()));
    let taken = post_json(
        &server,
        "/api/rest/passkeys/register",
        Some(&jane_raised.access),
        stolen_id,
    )
    .await;
    taken.expect(409);
    // John still signs in with his own.
    passkey_signin(&server, &mut johns).await.expect(201);
}

pub async fn registering_a_passkey_needs_the_session_that_asked(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (first, _) = sign_in(&server, demo::USER).await;
    let (second, _) = sign_in(&server, demo::USER).await;
    let register = "/api/rest/passkeys/register";
    // No token.
    post_empty(&server, "/api/rest/passkeys/register/options", None)
        .await
        .expect(401);
    let options = register_options(&server, &first.access).await;
    let (_, body) = SoftPasskey::create(&options, &Tweak::default(), None);
    post_json(&server, register, None, body.clone())
        .await
        .expect(401);
    // Another session of the same user: refused, and the options are spent.
    post_json(&server, register, Some(&second.access), body.clone())
        .await
        .expect(400);
    post_json(&server, register, Some(&first.access), body)
        .await
        .expect(400);
    // Another origin, user presence only.
    for tweak in [
        Tweak {
            origin: "https://evil.example".to_owned(),
            ..Tweak::default()
        },
        Tweak {
            flags: UP,
            ..Tweak::default()
        },
    ] {
        let options = register_options(&server, &first.access).await;
        let (_, body) = SoftPasskey::create(&options, &tweak, None);
        post_json(&server, register, Some(&first.access), body)
            .await
            .expect(400);
    }
    // Malformed and oversized bodies: 4xx, never a 500. (An attestation that is not CBOR
    // spends the options it answers, as any answer does.)
    let options = register_options(&server, &first.access).await;
    let (_, honest) = SoftPasskey::create(&options, &Tweak::default(), None);
    let mut bad_cbor = honest.clone();
    bad_cbor["response"]["attestationObject"] = json!("AAAA");
    let mut bad_base64 = honest.clone();
    bad_base64["response"]["clientDataJSON"] = json!("***");
    for body in [
        json!({}),
        json!([]),
        json!("text"),
        json!({ "id": "x", "rawId": "x", "type": "public-key", "response": {} }),
        bad_cbor,
        bad_base64,
    ] {
        let reply = post_json(&server, register, Some(&first.access), body).await;
        assert!(
            matches!(reply.status, 400 | 415),
            "a bad credential answered {}: {}",
            reply.status,
            reply.text()
        );
        assert!(reply.json()["error"].is_string());
    }
    // Over the body limit, within what the server drains so that its answer arrives.
    let mut huge = honest.clone();
    huge["response"]["attestationObject"] = json!("A".repeat(512 * 1024));
    post_json(&server, register, Some(&first.access), huge)
        .await
        .expect(413);
    server
        .post(
            register,
            Body::Raw("text/plain", b"{}".to_vec()),
            &headers(&bearer(&first.access)),
        )
        .await
        .expect(415);
    // An honest answer to fresh options registers.
    let options = register_options(&server, &first.access).await;
    let (_, honest) = SoftPasskey::create(&options, &Tweak::default(), None);
    post_json(&server, register, Some(&first.access), honest)
        .await
        .expect(201);
    // Now a factor is active: a password session below aal2 registers nothing.
    let (pending, _) = sign_in(&server, demo::USER).await;
    post_empty(
        &server,
        "/api/rest/passkeys/register/options",
        Some(&pending.access),
    )
    .await
    .expect(401)
    .challenge(Some(STEP_UP));
}

pub async fn registering_a_passkey_by_cookie_needs_the_csrf_header(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (_, browser) = cookie_signin(&server).await;
    let options = "/api/rest/passkeys/register/options";
    // A page of another site can make the browser send the cookie, never the header.
    server
        .post(options, Body::None, &browser.headers(false))
        .await
        .expect(403);
    let asked = server
        .post(options, Body::None, &browser.headers(true))
        .await;
    asked.expect(200);
    let (_, body) = SoftPasskey::create(&asked.json(), &Tweak::default(), None);
    server
        .post(
            "/api/rest/passkeys/register",
            Body::Json(body.clone()),
            &browser.headers(false),
        )
        .await
        .expect(403);
    server
        .post(
            "/api/rest/passkeys/register",
            Body::Json(body),
            &browser.headers(true),
        )
        .await
        .expect(201);
}

pub async fn ceremonies_asked_for_from_one_address_are_bounded(adapter: Adapter) {
    // Each options request holds state until its challenge ends: the address's limit per
    // challenge lifetime, then 429, whoever asks.
    let server = start(adapter, &[("TOKENGATE_THROTTLE_PER_ADDRESS", "5")]).await;
    let replies =
        parallel(futures_util::future::join_all((0..12).map(|_| {
            post_empty(&server, "/api/rest/passkeys/signin/options", None)
        })))
        .await;
    let granted = replies.iter().filter(|reply| reply.status == 200).count();
    assert_eq!(
        granted, 5,
        "a burst from one address got {granted} ceremonies"
    );
    let refused = replies
        .iter()
        .find(|reply| reply.status == 429)
        .expect("a 429");
    assert!(refused.header("retry-after").is_some());
    // A signed-in user's asking counts against the same address.
    let (john, _) = sign_in(&server, demo::USER).await;
    post_empty(
        &server,
        "/api/rest/passkeys/register/options",
        Some(&john.access),
    )
    .await
    .expect(429);
}
