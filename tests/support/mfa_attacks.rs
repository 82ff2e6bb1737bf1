//! The attacks on second factors, each a scenario: brute force in parallel, codes of another
//! user, factors of another user, removal below `aal2`, `aal2` outliving a removed factor,
//! recovery codes spent twice, assurance forged under another key, pending sessions after a
//! subject's sign-out.

use super::mfa::{enrol, get, john_with_a_factor, post, sign_in, step_now, totp, verify, STEP_UP};
use super::{claims_of, demo, header_of, parallel, start, Adapter, Body};

pub async fn a_burst_of_wrong_codes_verifies_at_most_the_limit(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (_, factor) = john_with_a_factor(&server).await;
    let (pending, _) = sign_in(&server, demo::USER).await;
    let right = totp(&factor.secret, factor.step + 1);
    // Guesses that no step around now could accept.
    let window: Vec<String> = (factor.step - 1..=factor.step + 3)
        .map(|step| totp(&factor.secret, step))
        .collect();
    let wrong: Vec<String> = (0..1_000u32)
        .map(|n| format!("{:06}", (n * 7919 + 123_457) % 1_000_000))
        .filter(|guess| !window.contains(guess))
        .take(12)
        .collect();
    let answers = parallel(futures_util::future::join_all(
        wrong
            .iter()
            .map(|code| verify(&server, &pending.refresh, code)),
    ))
    .await;
    let tried = answers.iter().filter(|a| a.status == 401).count();
    let refused = answers.iter().filter(|a| a.status == 429).count();
    assert_eq!(
        tried, 5,
        "a burst of 12 wrong codes had {tried} checked; the limit is 5"
    );
    assert_eq!(refused, 7);
    let late = verify(&server, &pending.refresh, &right).await;
    late.expect(429).error("too_many_attempts");
    assert!(late.header("retry-after").is_some());
    get(&server, "/api/rest/vault", &pending.access)
        .await
        .expect(401);
}

pub async fn a_recovery_code_is_spent_once_and_ends_the_other_sessions(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (first, factor) = john_with_a_factor(&server).await;
    let (other, _) = sign_in(&server, demo::USER).await;
    let (pending, _) = sign_in(&server, demo::USER).await;
    let code = factor.recovery[0].to_uppercase().replace('-', " ");
    let verified = verify(&server, &pending.refresh, &code).await;
    verified.expect(201);
    let raised = verified.tokens();
    assert_eq!(claims_of(&raised.access)["acr"], "aal2");
    // The subject's other sessions end (a recovery code is spent when a factor is lost).
    server.refresh(&first.refresh).await.invalid_token();
    server.refresh(&other.refresh).await.invalid_token();
    server.refresh(&raised.refresh).await.expect(201);
    let (again, _) = sign_in(&server, demo::USER).await;
    verify(&server, &again.refresh, &factor.recovery[0])
        .await
        .expect(401)
        .error("invalid_code");
    let listed = get(&server, "/api/rest/mfa", &raised.access).await.json();
    assert_eq!(listed["recoveryCodesLeft"], 9);
    // New codes need aal2, and replace the old ones.
    let fresh = post(&server, "/api/rest/mfa/recovery", &raised.access, &[]).await;
    fresh.expect(200);
    post(&server, "/api/rest/mfa/recovery", &again.access, &[])
        .await
        .expect(401)
        .challenge(Some(STEP_UP));
    verify(&server, &again.refresh, &factor.recovery[1])
        .await
        .expect(401)
        .error("invalid_code");
    let new = fresh.json()["recoveryCodes"][0]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    verify(&server, &again.refresh, &new).await.expect(201);
}

pub async fn codes_and_factors_of_another_user_prove_nothing(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (_, johns) = john_with_a_factor(&server).await;
    let (jane, _) = sign_in(&server, demo::SECOND_USER).await;
    let janes = enrol(&server, &jane.access).await;
    let (pending, _) = sign_in(&server, demo::SECOND_USER).await;
    let step = step_now();
    let johns_code = totp(&johns.secret, step);
    let janes_window: Vec<String> = (step - 1..=step + 1)
        .map(|s| totp(&janes.secret, s))
        .collect();
    if !janes_window.contains(&johns_code) {
        verify(&server, &pending.refresh, &johns_code)
            .await
            .expect(401)
            .error("invalid_code");
    }
    verify(&server, &pending.refresh, &johns.recovery[0])
        .await
        .expect(401)
        .error("invalid_code");
    // John's factor, named by Jane's session: no such factor of hers.
    let (john, _) = sign_in(&server, demo::USER).await;
    let johns_pending = post(
        &server,
        "/api/rest/mfa/totp",
        &super::mfa::raise(&server, &john, &johns).await,
        &[],
    )
    .await;
    johns_pending.expect(201);
    let id = johns_pending.json()["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let code = totp(
        johns_pending.json()["secret"].as_str().unwrap_or_default(),
        step,
    );
    let raised_jane = verify(&server, &pending.refresh, &janes.recovery[0])
        .await
        .tokens();
    post(
        &server,
        &format!("/api/rest/mfa/{id}/confirm"),
        &raised_jane.access,
        &[("code", &code)],
    )
    .await
    .expect(404);
    server
        .delete(
            &format!("/api/rest/mfa/{}", johns.id),
            &[("authorization", &format!("Bearer {}", raised_jane.access))],
        )
        .await
        .expect(404);
    let (john_again, _) = sign_in(&server, demo::USER).await;
    let listed = get(&server, "/api/rest/mfa", &john_again.access)
        .await
        .json();
    assert_eq!(
        listed["factors"].as_array().map(Vec::len),
        Some(2),
        "{listed}"
    );
}

pub async fn removing_a_factor_needs_aal2_and_ends_every_other_session(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (first, one) = john_with_a_factor(&server).await;
    let delete = |token: String, id: String| {
        let server = &server;
        async move {
            server
                .delete(
                    &format!("/api/rest/mfa/{id}"),
                    &[("authorization", &format!("Bearer {token}"))],
                )
                .await
        }
    };
    // At aal1 (the session that enrolled, and one waiting for its factor): refused.
    delete(first.access.clone(), one.id.clone())
        .await
        .expect(401)
        .challenge(Some(STEP_UP));
    let (b, _) = sign_in(&server, demo::USER).await;
    delete(b.access.clone(), one.id.clone()).await.expect(401);
    let b = verify(&server, &b.refresh, &totp(&one.secret, one.step + 1))
        .await
        .tokens();
    // A second authenticator, added at aal2, raises another session.
    let two = enrol(&server, &b.access).await;
    assert!(two.recovery.is_empty(), "the first factor's codes stay");
    let (c, _) = sign_in(&server, demo::USER).await;
    let c = verify(&server, &c.refresh, &totp(&two.secret, two.step + 1))
        .await
        .tokens();
    // Either factor removed may be the one lost or stolen: every other session ends, aal2
    // ones too (the one the other authenticator raised, the one that enrolled); the
    // remover's stays.
    let removed = delete(b.access.clone(), one.id.clone()).await;
    removed.expect(200);
    assert_eq!(
        (
            removed.json()["activeLeft"].as_u64(),
            removed.json()["sessionsEnded"].as_u64()
        ),
        (Some(1), Some(2))
    );
    server.refresh(&c.refresh).await.invalid_token();
    server.refresh(&first.refresh).await.invalid_token();
    // The last one.
    let removed = delete(b.access.clone(), two.id.clone()).await;
    removed.expect(200);
    assert_eq!(removed.json()["activeLeft"].as_u64(), Some(0));
    server.refresh(&b.refresh).await.expect(201);
    let listed = get(&server, "/api/rest/mfa", &b.access).await.json();
    assert_eq!(
        (
            listed["factors"].as_array().map(Vec::len),
            &listed["recoveryCodesLeft"]
        ),
        (Some(0), &serde_json::json!(0))
    );
    let (plain, answer) = sign_in(&server, demo::USER).await;
    assert!(answer.get("mfaRequired").is_none());
    get(&server, "/api/rest/me", &plain.access)
        .await
        .expect(200);
}

pub async fn assurance_forged_under_another_key_is_refused(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (jane, _) = sign_in(&server, demo::SECOND_USER).await;
    let mut claims = claims_of(&jane.access);
    claims["acr"] = serde_json::json!("aal2");
    claims["amr"] = serde_json::json!(["pwd", "otp", "mfa"]);
    let forged = super::sign_hs256(
        b"another-secret-of-at-least-32-bytes!!",
        &header_of(&jane.access),
        &claims,
    );
    get(&server, "/api/rest/vault", &forged)
        .await
        .invalid_token();
    // Signed right, but with `mfa_pending` taken away: the signature no longer holds.
    let (_, factor) = john_with_a_factor(&server).await;
    let (pending, _) = sign_in(&server, demo::USER).await;
    let mut stripped = claims_of(&pending.access);
    stripped.as_object_mut().map(|c| c.remove("mfa_pending"));
    let parts: Vec<&str> = pending.access.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            stripped.to_string()
        ),
        parts[2]
    );
    get(&server, "/api/rest/me", &tampered)
        .await
        .invalid_token();
    drop(factor);
}

pub async fn a_pending_session_reaches_the_aal1_paths_and_ends_with_its_subject(adapter: Adapter) {
    let server = start(adapter, &[("TOKENGATE_MFA_AAL1_PATHS", "/api/rest/me")]).await;
    let (_, factor) = john_with_a_factor(&server).await;
    let (pending, _) = sign_in(&server, demo::USER).await;
    get(&server, "/api/rest/me", &pending.access)
        .await
        .expect(200);
    get(&server, "/api/rest/ping", &pending.access)
        .await
        .expect(401)
        .challenge(Some(STEP_UP));
    // The refresh token as a bearer header, as `/token` takes it.
    let code = totp(&factor.secret, factor.step + 1);
    let (other, _) = sign_in(&server, demo::USER).await;
    server
        .post(
            "/api/rest/mfa/verify",
            Body::Form(&[("code", &code)]),
            &[("authorization", &format!("Bearer {}", other.refresh))],
        )
        .await
        .expect(201);
    // The application ends the subject's sessions: a pending one too.
    server
        .gate
        .revoke_subject(demo::USER.0)
        .await
        .expect("revoked");
    verify(&server, &pending.refresh, &factor.recovery[0])
        .await
        .invalid_token();
    server.refresh(&pending.refresh).await.invalid_token();
}

pub async fn a_session_opened_before_the_first_factor_ends_when_it_is_confirmed(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    // A thief signed in with the password before the owner turned a factor on.
    let (thief, _) = sign_in(&server, demo::USER).await;
    let (owner, _) = sign_in(&server, demo::USER).await;
    let factor = enrol(&server, &owner.access).await;
    assert_eq!(factor.recovery.len(), 10);
    server.refresh(&thief.refresh).await.invalid_token();
    // The owner's own session, which proved the code, goes on.
    server.refresh(&owner.refresh).await.expect(201);
}

pub async fn a_waiting_session_ends_only_itself_and_is_no_one_elses_access_token(adapter: Adapter) {
    let server = start(adapter, &[]).await;
    let (owner, factor) = john_with_a_factor(&server).await;
    let (pending, _) = sign_in(&server, demo::USER).await;
    assert_eq!(header_of(&pending.access)["typ"], "mfa-pending+jwt");
    // A password alone cannot sign its owner out elsewhere.
    let owner_sid = claims_of(&owner.access)["sid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for extra in [
        vec![("scope", "others")],
        vec![("scope", "global")],
        vec![("session", owner_sid.as_str())],
    ] {
        server
            .signout(&pending.refresh, &extra)
            .await
            .expect(401)
            .error("insufficient_user_authentication");
    }
    server.refresh(&owner.refresh).await.expect(201);
    // Introspection says it is no access token.
    let (app, key, secret) = demo::APPLICATION;
    let _ = app;
    let answer = server
        .post(
            "/api/rest/introspect",
            Body::Form(&[
                ("token", &pending.access),
                ("client_id", key),
                ("client_secret", secret),
            ]),
            &[],
        )
        .await;
    answer.expect(200);
    assert_eq!(answer.json(), serde_json::json!({"active": false}));
    // A ticket of a raised session carries what it proved.
    let raised = verify(
        &server,
        &pending.refresh,
        &totp(&factor.secret, factor.step + 1),
    )
    .await
    .tokens();
    let ticket = post(&server, "/api/rest/ticket", &raised.access, &[]).await;
    ticket.expect(201);
    let carried = claims_of(ticket.json()["ticket"].as_str().unwrap_or_default());
    assert_eq!(carried["acr"], "aal2");
    assert!(carried["auth_time"].is_i64());
    // It may end itself.
    let (again, _) = sign_in(&server, demo::USER).await;
    server.signout(&again.refresh, &[]).await.expect(200);
    server.refresh(&again.refresh).await.invalid_token();
}
