//! Second factors: enrolment and confirmation, sign-in at `aal1` until a factor is proved,
//! verification at `aal2` on the same session, step-up refusals (RFC 9470), recovery codes.
//! The TOTP codes are computed here from RFC 6238 with HMAC-SHA-1 of aws-lc-rs, not by the
//! library the server uses.

use serde_json::Value;

use super::{claims_of, demo, start, Adapter, Body, Reply, Server, Tokens};

/// The step-up challenge of a session that has not proved its second factor.
pub const STEP_UP: &str = "Bearer realm=\"tokengate\", error=\"insufficient_user_authentication\", error_description=\"a second factor is required\", acr_values=\"aal2\"";

/// The current 30-second step.
pub fn step_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 30)
}

/// RFC 4648 base32, as authenticator apps read the secret.
fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut out) = (0u32, 0u32, Vec::new());
    for c in text.trim_end_matches('=').bytes() {
        let index = ALPHABET.iter().position(|a| *a == c).expect("base32");
        value = (value << 5) | u32::try_from(index).unwrap_or(0);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((value >> bits) & 0xff).unwrap_or(0));
        }
    }
    out
}

/// The 6-digit code of `secret` (base32) at `step` (RFC 6238 over RFC 4226, SHA-1).
pub fn totp(secret: &str, step: u64) -> String {
    use aws_lc_rs::hmac;
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &base32_decode(secret));
    let tag = hmac::sign(&key, &step.to_be_bytes());
    let mac = tag.as_ref();
    let offset = usize::from(mac[19] & 0x0f);
    let binary = u32::from_be_bytes([
        mac[offset],
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]) & 0x7fff_ffff;
    format!("{:06}", binary % 1_000_000)
}

pub fn bearer(token: &str) -> [(&'static str, String); 1] {
    [("authorization", format!("Bearer {token}"))]
}

/// Headers as the helpers take them.
fn headers<'a>(pairs: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    pairs
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect()
}

pub async fn get(server: &Server, path: &str, token: &str) -> Reply {
    server.get(path, &headers(&bearer(token))).await
}

pub async fn post(server: &Server, path: &str, token: &str, fields: &[(&str, &str)]) -> Reply {
    let body = if fields.is_empty() {
        Body::None
    } else {
        Body::Form(fields)
    };
    server.post(path, body, &headers(&bearer(token))).await
}

/// A user's authenticator, enrolled and confirmed: its secret, id, the step its confirming
/// code was of, and the recovery codes shown.
pub struct Enrolled {
    pub secret: String,
    pub id: String,
    pub step: u64,
    pub recovery: Vec<String>,
}

/// Signs in `user` (login, password): the tokens and the whole answer.
pub async fn sign_in(server: &Server, user: (&str, &str)) -> (Tokens, Value) {
    let reply = server
        .post(
            "/api/rest/signin",
            Body::Form(&[("login", user.0), ("password", user.1)]),
            &[],
        )
        .await;
    reply.expect(201);
    (reply.tokens(), reply.json())
}

/// Enrols a TOTP authenticator with `access` and confirms it with the code of the current step.
pub async fn enrol(server: &Server, access: &str) -> Enrolled {
    let enrolled = post(server, "/api/rest/mfa/totp", access, &[]).await;
    enrolled.expect(201);
    let body = enrolled.json();
    let secret = body["secret"].as_str().expect("secret").to_owned();
    let id = body["id"].as_str().expect("id").to_owned();
    let step = step_now();
    let confirmed = post(
        server,
        &format!("/api/rest/mfa/{id}/confirm"),
        access,
        &[("code", &totp(&secret, step))],
    )
    .await;
    confirmed.expect(200);
    let recovery = confirmed.json()["recoveryCodes"]
        .as_array()
        .expect("recovery codes")
        .iter()
        .map(|code| code.as_str().expect("a code").to_owned())
        .collect();
    Enrolled {
        secret,
        id,
        step,
        recovery,
    }
}

/// `POST mfa/verify` with a refresh token and a code.
pub async fn verify(server: &Server, refresh: &str, code: &str) -> Reply {
    server
        .post(
            "/api/rest/mfa/verify",
            Body::Form(&[("token", refresh), ("code", code)]),
            &[],
        )
        .await
}

/// The seed user, enrolled from a first session: that session's tokens, and the factor.
pub async fn john_with_a_factor(server: &Server) -> (Tokens, Enrolled) {
    let (tokens, _) = sign_in(server, demo::USER).await;
    let enrolled = enrol(server, &tokens.access).await;
    (tokens, enrolled)
}

pub async fn a_factor_is_enrolled_then_confirmed_by_its_first_code(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (tokens, _) = sign_in(&server, demo::USER).await;
    let enrolled = post(&server, "/api/rest/mfa/totp", &tokens.access, &[]).await;
    enrolled.expect(201);
    let body = enrolled.json();
    let secret = body["secret"].as_str().expect("secret");
    assert_eq!(secret.len(), 32, "160 bits in base32: {secret}");
    let uri = body["otpauthUri"].as_str().expect("uri");
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(body["qrSvg"]
        .as_str()
        .is_some_and(|svg| svg.contains("<svg")));
    let id = body["id"].as_str().expect("id");
    let listed = get(&server, "/api/rest/mfa", &tokens.access).await;
    listed.expect(200);
    assert!(!listed.text().contains(secret), "a secret was listed");
    assert_eq!(listed.json()["factors"][0]["active"], false);
    let confirm = format!("/api/rest/mfa/{id}/confirm");
    let step = step_now();
    let wrong = format!(
        "{:06}",
        (totp(secret, step).parse::<u32>().expect("digits") + 1) % 1_000_000
    );
    post(&server, &confirm, &tokens.access, &[("code", &wrong)])
        .await
        .expect(400);
    let confirmed = post(
        &server,
        &confirm,
        &tokens.access,
        &[("code", &totp(secret, step))],
    )
    .await;
    confirmed.expect(200);
    let codes = confirmed.json()["recoveryCodes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(codes.len(), 10, "ten recovery codes at the first factor");
    let listed = get(&server, "/api/rest/mfa", &tokens.access).await.json();
    assert_eq!(listed["factors"][0]["active"], true);
    assert_eq!(listed["recoveryCodesLeft"], 10);
    // Confirmed: now that a factor is active, the session that enrolled it is below aal2.
    post(
        &server,
        &confirm,
        &tokens.access,
        &[("code", &totp(secret, step + 1))],
    )
    .await
    .expect(401)
    .challenge(Some(STEP_UP));
    // A second factor at aal1, now that one is active: the step-up refusal.
    post(&server, "/api/rest/mfa/totp", &tokens.access, &[])
        .await
        .expect(401)
        .error("insufficient_user_authentication")
        .challenge(Some(STEP_UP));
}

pub async fn a_user_with_a_factor_signs_in_at_aal1_and_reaches_only_the_mfa_endpoints(
    adapter: Adapter,
) {
    let server = start(adapter, &[]).await;
    john_with_a_factor(&server).await;
    let (pending, answer) = sign_in(&server, demo::USER).await;
    assert_eq!(
        answer["mfaRequired"],
        serde_json::json!(["totp", "recovery"])
    );
    assert!(answer["accessToken"].is_string() && answer["refreshToken"].is_string());
    let claims = claims_of(&pending.access);
    assert_eq!(claims["acr"], "aal1");
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert_eq!(claims["mfa_pending"], true);
    assert!(claims["auth_time"].is_i64());
    for path in [
        "/api/rest/me",
        "/api/rest/sessions",
        "/api/rest/vault",
        "/api/rest/ping",
    ] {
        get(&server, path, &pending.access)
            .await
            .expect(401)
            .error("insufficient_user_authentication")
            .challenge(Some(STEP_UP));
    }
    post(&server, "/api/rest/ticket", &pending.access, &[])
        .await
        .expect(401)
        .error("insufficient_user_authentication");
    get(&server, "/api/rest/mfa", &pending.access)
        .await
        .expect(200);
    // `/token` keeps the session as it is: still waiting.
    let refreshed = server.refresh(&pending.refresh).await;
    refreshed.expect(201);
    assert_eq!(claims_of(&refreshed.tokens().access)["mfa_pending"], true);
    // A user without a factor is not held back.
    let (jane, answer) = sign_in(&server, demo::SECOND_USER).await;
    assert!(answer.get("mfaRequired").is_none(), "{answer}");
    assert!(claims_of(&jane.access).get("mfa_pending").is_none());
    get(&server, "/api/rest/me", &jane.access).await.expect(200);
}

pub async fn verifying_raises_the_session_to_aal2_and_token_keeps_it(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (_, factor) = john_with_a_factor(&server).await;
    let (pending, _) = sign_in(&server, demo::USER).await;
    let before = claims_of(&pending.access);
    let verified = verify(
        &server,
        &pending.refresh,
        &totp(&factor.secret, factor.step + 1),
    )
    .await;
    verified.expect(201);
    let raised = verified.tokens();
    let claims = claims_of(&raised.access);
    assert_eq!(claims["sid"], before["sid"], "the same session");
    assert_eq!(claims["acr"], "aal2");
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert!(claims.get("mfa_pending").is_none());
    let auth_time = claims["auth_time"].as_i64().expect("auth_time");
    assert!(auth_time >= before["auth_time"].as_i64().unwrap_or_default());
    assert_ne!(
        raised.refresh, pending.refresh,
        "the session's refresh token is replaced"
    );
    get(&server, "/api/rest/me", &raised.access)
        .await
        .expect(200);
    let vault = get(&server, "/api/rest/vault", &raised.access).await;
    vault.expect(200);
    assert_eq!(vault.json()["acr"], "aal2");
    // The refresh token minted before the proof is spent: it raises nothing, gets nothing.
    server.refresh(&pending.refresh).await.invalid_token();
    // `/token` carries the assurance forward, never upward: same acr, amr and auth_time.
    let carried = server.refresh(&raised.refresh).await;
    carried.expect(201);
    let again = claims_of(&carried.tokens().access);
    assert_eq!(
        (&again["acr"], &again["amr"], &again["auth_time"]),
        (&claims["acr"], &claims["amr"], &claims["auth_time"])
    );
    // Sign-out ends it.
    let refresh = carried.tokens().refresh;
    server.signout(&refresh, &[]).await.expect(200);
    server.refresh(&refresh).await.invalid_token();
    verify(&server, &refresh, &factor.recovery[0])
        .await
        .invalid_token();
}

pub async fn a_step_is_accepted_once_and_never_an_older_one(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (_, factor) = john_with_a_factor(&server).await;
    let next = totp(&factor.secret, factor.step + 1);
    let (first, _) = sign_in(&server, demo::USER).await;
    verify(&server, &first.refresh, &next).await.expect(201);
    // The same code on another session: replayed within its step.
    let (second, _) = sign_in(&server, demo::USER).await;
    verify(&server, &second.refresh, &next)
        .await
        .expect(401)
        .error("invalid_code");
    // The code that confirmed the factor, an older step.
    verify(&server, &second.refresh, &totp(&factor.secret, factor.step))
        .await
        .expect(401)
        .error("invalid_code");
    get(&server, "/api/rest/me", &second.access)
        .await
        .expect(401);
}

pub async fn step_up_refusals_name_what_is_missing_as_rfc_9470_says(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (jane, _) = sign_in(&server, demo::SECOND_USER).await;
    get(&server, "/api/rest/vault", &jane.access)
        .await
        .expect(401)
        .error("insufficient_user_authentication")
        .challenge(Some(STEP_UP));
    // A password proved just now is recent enough for a transfer.
    post(
        &server,
        "/api/rest/transfer",
        &jane.access,
        &[("amount", "1")],
    )
    .await
    .expect(200);
    let header = super::header_of(&jane.access);
    let mut old = claims_of(&jane.access);
    old["auth_time"] = Value::from(old["iat"].as_i64().unwrap_or_default() - 600);
    let stale = server.forge(&header, &old);
    post(&server, "/api/rest/transfer", &stale, &[("amount", "1")])
        .await
        .expect(401)
        .error("insufficient_user_authentication")
        .challenge(Some(
            "Bearer realm=\"tokengate\", error=\"insufficient_user_authentication\", error_description=\"a more recent authentication is required\", max_age=300",
        ));
    // At aal2, but long ago: the vault opens, the transfer does not.
    old["acr"] = Value::from("aal2");
    let stale_aal2 = server.forge(&header, &old);
    get(&server, "/api/rest/vault", &stale_aal2)
        .await
        .expect(200);
    post(&server, "/api/rest/transfer", &stale_aal2, &[])
        .await
        .expect(401)
        .error("insufficient_user_authentication");
    // A requirement the token misses besides assurance stays a 403.
    get(&server, "/api/rest/admin", &stale_aal2)
        .await
        .expect(403)
        .error("insufficient_scope");
}

/// Raises a session of the seed user (signed in as `session`, waiting or not) to `aal2` with
/// the next unused recovery code of `factor`: its new access token.
pub async fn raise(server: &Server, session: &Tokens, factor: &Enrolled) -> String {
    for code in &factor.recovery {
        let reply = verify(server, &session.refresh, code).await;
        if reply.status == 201 {
            return reply.tokens().access;
        }
    }
    panic!("no recovery code left to raise the session");
}
