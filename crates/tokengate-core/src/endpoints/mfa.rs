//! The second-factor endpoints (with `mfa_key`): `GET {prefix}/mfa` lists the caller's
//! factors, `POST {prefix}/mfa/totp` enrols an authenticator, `POST {prefix}/mfa/{id}/confirm`
//! activates it with its first code (and shows the recovery codes once), `DELETE
//! {prefix}/mfa/{id}` removes one, `POST {prefix}/mfa/recovery` replaces the recovery codes,
//! and `POST {prefix}/mfa/verify` proves a factor for a session, reissuing it at `aal2`.
//!
//! Adding, removing and replacing need `aal2` once the subject has an active factor: a
//! stolen password alone can neither add an authenticator of its own nor take one away.

use serde_json::{Map, Value};

use super::fields::{presented_refresh, required};
use super::refresh::current_claims;
use super::tokens::{cookies_response, mint_access, mint_refresh, tokens_response};
use super::{internal, store_down};
use crate::audit::{AuditEvent, AuditKind};
use crate::clock::unix_now;
use crate::gate::{second_factor, Endpoint, Mfa, TokenGate};
use crate::http::error::{Error, ErrorKind};
use crate::http::form::Fields;
use crate::http::request::RequestHead;
use crate::http::response::Response;
use crate::jws::{random_id, TokenError, VerifiedToken};
use crate::mfa::{recovery, totp, Assurance};
use crate::store::{
    Confirmation, Confirmed, Factor, Reissue, Session, StoreError, SubjectRevocation,
};
use crate::throttle::{Attempt, Refusal, Reserved};

/// The second factors, which route these endpoints only when on.
pub(super) fn on(gate: &TokenGate) -> Result<&Mfa, Error> {
    gate.mfa()
        .ok_or_else(|| Error::new(ErrorKind::Internal("second factors are off".to_owned())))
}

fn down(error: &StoreError) -> Error {
    store_down(error)
}

/// The caller of an endpoint that acts with an access token: a user (an application key has
/// no second factor), whose own session is live whatever the guard's mode.
pub(super) async fn caller<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
) -> Result<VerifiedToken, Error> {
    let verified = gate.authenticate_at_aal1(head).await?;
    let claims = verified.claims();
    if claims.app.is_some() {
        return Err(Error::new(ErrorKind::InsufficientScope("user".to_owned())));
    }
    let live = gate
        .store()
        .is_live(&claims.sub, &claims.sid, unix_now())
        .await
        .map_err(|e| down(&e))?;
    if !live {
        gate.sessions_ended([claims.sid.as_str()]);
        return Err(Error::invalid_token(TokenError::Revoked));
    }
    Ok(verified)
}

/// Refuses a token below `aal2` once the subject has an active factor.
pub(super) fn aal2_once_active(verified: &VerifiedToken, factors: &[Factor]) -> Result<(), Error> {
    if factors.iter().any(Factor::is_active) && !verified.assurance().0 {
        return Err(Error::new(second_factor()));
    }
    Ok(())
}

/// `GET {prefix}/mfa`: the caller's live factors (never a secret) and the recovery codes left.
pub(super) async fn list<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
) -> Result<Response, Error> {
    let mfa = on(gate)?;
    let verified = caller(gate, head).await?;
    let subject = &verified.claims().sub;
    let now = unix_now();
    let mut factors = mfa
        .factors
        .factors(subject, now)
        .await
        .map_err(|e| down(&e))?;
    // The active ones first, then the oldest: an order that does not depend on the store.
    factors.sort_by(|a, b| {
        (!a.is_active(), a.created_at, &a.id).cmp(&(!b.is_active(), b.created_at, &b.id))
    });
    let left = mfa
        .factors
        .recovery_left(subject)
        .await
        .map_err(|e| down(&e))?;
    let factors: Vec<Value> = factors
        .iter()
        .map(|factor| {
            serde_json::json!({
                "id": factor.id,
                "kind": factor.kind,
                "active": factor.is_active(),
                "createdAt": factor.created_at,
                "confirmedAt": factor.confirmed_at,
                "expiresAt": factor.expires_at,
                "lastUsedAt": factor.last_used_at,
            })
        })
        .collect();
    Ok(Response::json(
        200,
        &serde_json::json!({ "factors": factors, "recoveryCodesLeft": left }),
    ))
}

/// `POST {prefix}/mfa/totp`: a new authenticator, pending until its first code confirms it
/// (within `mfa_pending_ttl`); its secret is shown here once, and sealed in the store.
pub(super) async fn enrol<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
) -> Result<Response, Error> {
    let mfa = on(gate)?;
    let verified = caller(gate, head).await?;
    let claims = verified.claims();
    let subject = claims.sub.as_str();
    let now = unix_now();
    let settings = &gate.config().mfa;
    let factors = mfa
        .factors
        .factors(subject, now)
        .await
        .map_err(|e| down(&e))?;
    aal2_once_active(&verified, &factors)?;
    let secret = totp::new_secret().ok_or_else(|| internal("no randomness"))?;
    let id = random_id().map_err(internal)?;
    let sealed = mfa
        .sealer
        .seal(&secret, subject, &id)
        .ok_or_else(|| internal("sealing failed"))?;
    let ttl = i64::try_from(settings.pending_ttl.as_secs()).unwrap_or(i64::MAX);
    let factor = Factor::pending(&id, subject, "totp", &sealed, now, now.saturating_add(ttl));
    let uri = totp::uri(&secret, otp_issuer(&gate.config().tokens.issuer), subject);
    let qr = totp::qr_svg(&uri).ok_or_else(|| internal("the QR code could not be made"))?;
    if !mfa
        .factors
        .add_factor(factor, settings.max_factors)
        .await
        .map_err(|e| down(&e))?
    {
        return Err(Error::new(ErrorKind::TooManyFactors));
    }
    gate.audit(
        &AuditEvent::new(AuditKind::FactorAdded, gate.client_addr(head))
            .subject(subject)
            .session(&claims.sid),
    );
    Ok(Response::json(
        201,
        &serde_json::json!({
            "id": id,
            "kind": "totp",
            "secret": totp::base32(&secret),
            "otpauthUri": uri,
            "qrSvg": qr,
            "expiresAt": now.saturating_add(ttl),
        }),
    ))
}

/// The issuer an authenticator app shows: the host of an issuer URL, or the issuer itself.
fn otp_issuer(issuer: &str) -> &str {
    let rest = issuer.split_once("://").map_or(issuer, |(_, rest)| rest);
    rest.split(['/', ':'])
        .next()
        .filter(|host| !host.is_empty())
        .unwrap_or(issuer)
}

/// The counters a code is tried against, reserved: 429 once the session or the subject has
/// tried `mfa_attempts` in the window.
pub(super) async fn reserve<'a>(
    gate: &'a TokenGate,
    attempt: &'a Attempt,
    now: i64,
) -> Result<Reserved<'a>, Error> {
    match attempt.reserve(gate.failures(), now).await {
        Ok(reserved) => Ok(reserved),
        Err(Refusal::TooMany { retry_after }) => {
            Err(Error::new(ErrorKind::TooManyAttempts { retry_after }))
        }
        Err(Refusal::Down(error)) => {
            tracing::warn!(target: "tokengate", %error, "failure counter unavailable");
            Err(Error::new(ErrorKind::Unavailable("throttling store")))
        }
    }
}

/// A wrong code: audited, its reservations kept.
pub(super) fn failed<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
    subject: &str,
    sid: &str,
) {
    gate.audit(
        &AuditEvent::new(AuditKind::FactorFailed, gate.client_addr(head))
            .subject(subject)
            .session(sid),
    );
}

/// `POST {prefix}/mfa/{id}/confirm` with `code`: activates a pending factor (200); the first
/// active factor comes with ten recovery codes, shown only here.
pub(super) async fn confirm<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
    fields: &Fields,
) -> Result<Response, Error> {
    let mfa = on(gate)?;
    let verified = caller(gate, head).await?;
    let claims = verified.claims();
    let subject = claims.sub.as_str();
    let id = gate
        .id_in_path(Endpoint::ConfirmFactor, head.path())
        .ok_or(Error::new(ErrorKind::NoSuchFactor))?;
    let code = required(fields, "code")?;
    let now = unix_now();
    let factors = mfa
        .factors
        .factors(subject, now)
        .await
        .map_err(|e| down(&e))?;
    aal2_once_active(&verified, &factors)?;
    let factor = factors
        .iter()
        .find(|factor| factor.id == id && !factor.is_active())
        .ok_or(Error::new(ErrorKind::NoSuchFactor))?;
    let settings = &gate.config();
    let attempt = Attempt::factor(
        &settings.throttle,
        settings.mfa.attempts,
        subject,
        &claims.sid,
    );
    let reserved = reserve(gate, &attempt, now).await?;
    let secret = open(mfa, factor)?;
    let wrong = || {
        Error::new(ErrorKind::InvalidField {
            field: "code",
            reason: "is not the authenticator's current code".to_owned(),
        })
    };
    let Some(step) = totp::step_of(&secret, code, now) else {
        failed(gate, head, subject, &claims.sid);
        return Err(wrong());
    };
    let codes = recovery::generate().ok_or_else(|| internal("no randomness"))?;
    let hashes: Vec<String> = codes
        .iter()
        .map(|code| recovery::hash(subject, code))
        .collect();
    let confirmed = mfa
        .factors
        .confirm_factor(Confirmation::new(subject, id, step, now, &hashes))
        .await;
    let confirmed = match confirmed {
        Ok(confirmed) => confirmed,
        Err(error) => {
            reserved.undecided(gate.failures()).await;
            return Err(down(&error));
        }
    };
    let Confirmed::Activated { recovery } = confirmed else {
        failed(gate, head, subject, &claims.sid);
        return Err(wrong());
    };
    reserved.succeeded(gate.failures()).await;
    // Below `aal2`, only a first factor may be activated: another one became active since the
    // check above (a race of two sessions, one perhaps a thief's), so this one goes again.
    if !recovery && !verified.assurance().0 {
        let _ = mfa.factors.remove_factor(subject, id, now).await;
        return Err(Error::new(second_factor()));
    }
    // The first factor: the sessions opened with the password alone before it (one a thief
    // may hold) end, as they would never be asked for it.
    if recovery {
        end_others(gate, subject, &claims.sid, now).await;
    }
    gate.audit(
        &AuditEvent::new(AuditKind::FactorConfirmed, gate.client_addr(head))
            .subject(subject)
            .session(&claims.sid),
    );
    let shown: Vec<String> = if recovery { codes } else { Vec::new() };
    Ok(Response::json(
        200,
        &serde_json::json!({ "recoveryCodes": shown }),
    ))
}

/// The secret of `factor`, opened; a secret no configured key opens is the operator's error.
pub(super) fn open(mfa: &Mfa, factor: &Factor) -> Result<Vec<u8>, Error> {
    mfa.sealer
        .open(&factor.secret, &factor.subject, &factor.id)
        .ok_or_else(|| {
            tracing::error!(
                target: "tokengate",
                "a second-factor secret opens with no configured key: was `mfa_key` replaced \
                 without keeping the old one in `mfa_previous_keys`?"
            );
            Error::new(ErrorKind::Unavailable("second-factor key"))
        })
}

/// `DELETE {prefix}/mfa/{id}`: removes a factor (200). With `mfa_end_sessions`, removing an
/// active one ends the subject's other sessions.
pub(super) async fn remove<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
) -> Result<Response, Error> {
    let mfa = on(gate)?;
    let verified = caller(gate, head).await?;
    let claims = verified.claims();
    let subject = claims.sub.as_str();
    let id = gate
        .id_in_path(Endpoint::RemoveFactor, head.path())
        .filter(|id| !id.chars().any(char::is_control))
        .ok_or(Error::new(ErrorKind::NoSuchFactor))?;
    let now = unix_now();
    let factors = mfa
        .factors
        .factors(subject, now)
        .await
        .map_err(|e| down(&e))?;
    aal2_once_active(&verified, &factors)?;
    let was_active = factors.iter().any(|f| f.id == id && f.is_active());
    let left = mfa
        .factors
        .remove_factor(subject, id, now)
        .await
        .map_err(|e| down(&e))?
        .ok_or(Error::new(ErrorKind::NoSuchFactor))?;
    gate.audit(
        &AuditEvent::new(AuditKind::FactorRemoved, gate.client_addr(head))
            .subject(subject)
            .session(&claims.sid),
    );
    // A factor lost or stolen may have raised sessions: any active one removed ends the
    // others (ASVS 7.4.3), not only the last.
    let ended = if was_active {
        end_others(gate, subject, &claims.sid, now).await
    } else {
        0
    };
    Ok(Response::json(
        200,
        &serde_json::json!({ "removed": true, "activeLeft": left, "sessionsEnded": ended }),
    ))
}

/// With `mfa_end_sessions`, ends every session of `subject` but `keep`; how many ended. It
/// runs after what the request did was committed, so a store that fails here is logged and
/// the answer still says what was done (a retry would find it done, and be refused).
pub(super) async fn end_others(gate: &TokenGate, subject: &str, keep: &str, now: i64) -> usize {
    if !gate.config().mfa.end_sessions {
        return 0;
    }
    let request = SubjectRevocation::new(subject, Some(keep), None, now);
    let ended = match gate.end_sessions_of(request).await {
        Ok(ended) => ended.unwrap_or_default(),
        Err(error) => {
            tracing::warn!(
                target: "tokengate",
                %error,
                "session store failed: the subject's other sessions could not all be ended after a change of its factors"
            );
            0
        }
    };
    gate.audit(
        &AuditEvent::new(AuditKind::SignOut, None)
            .subject(subject)
            .ended(ended),
    );
    ended
}

/// `POST {prefix}/mfa/recovery`: ten new recovery codes replace those left (200; `aal2`).
pub(super) async fn replace_recovery<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
) -> Result<Response, Error> {
    let mfa = on(gate)?;
    let verified = caller(gate, head).await?;
    let claims = verified.claims();
    let subject = claims.sub.as_str();
    if !verified.assurance().0 {
        return Err(Error::new(second_factor()));
    }
    let codes = recovery::generate().ok_or_else(|| internal("no randomness"))?;
    let hashes: Vec<String> = codes
        .iter()
        .map(|code| recovery::hash(subject, code))
        .collect();
    if !mfa
        .factors
        .replace_recovery(subject, &hashes, unix_now())
        .await
        .map_err(|e| down(&e))?
    {
        return Err(Error::new(ErrorKind::NoSuchFactor));
    }
    gate.audit(
        &AuditEvent::new(AuditKind::RecoveryCodesReplaced, gate.client_addr(head))
            .subject(subject)
            .session(&claims.sid),
    );
    Ok(Response::json(
        200,
        &serde_json::json!({ "recoveryCodes": codes }),
    ))
}

/// A user's session as a request presents it: its current refresh token (field `token`, a
/// bearer header or the refresh cookie, CSRF-checked), found live in the store at `now`.
pub(super) struct Presented {
    pub(super) session: Session,
    pub(super) by_cookie: bool,
    pub(super) now: i64,
}

/// The session whose current refresh token the request presents; an application's is refused.
pub(super) async fn presented_session<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
    fields: &Fields,
) -> Result<Presented, Error> {
    let (token, by_cookie) = presented_refresh(gate, head, fields)?;
    let verified = gate.verify_refresh(token, false)?;
    let claims = verified.claims();
    if by_cookie {
        gate.cookies().check(head, &claims.sid)?;
    }
    if claims.app.is_some() {
        return Err(Error::new(ErrorKind::InsufficientScope("user".to_owned())));
    }
    let now = unix_now();
    let session = gate
        .store()
        .session(&claims.sub, &claims.sid, now)
        .await
        .map_err(|e| down(&e))?
        .filter(|session| session.token == claims.jti)
        .ok_or(Error::invalid_token(TokenError::Revoked))?;
    Ok(Presented {
        session,
        by_cookie,
        now,
    })
}

/// How a code proved a factor.
enum Proof {
    Totp,
    Recovery,
}

/// Checks `code` against the subject's active authenticators (a step once per factor), or
/// spends it as a recovery code. `Ok(None)`: wrong or used.
async fn prove(
    mfa: &Mfa,
    factors: &[Factor],
    subject: &str,
    code: &str,
    now: i64,
) -> Result<Option<Proof>, Error> {
    let code = code.trim();
    if code.len() == 6 {
        // Every secret opened before any code is compared: a secret no key opens answers 503
        // before the code could have told anything (that answer gives the attempt back).
        let secrets = factors
            .iter()
            .filter(|f| f.is_active() && f.kind == "totp")
            .map(|factor| open(mfa, factor).map(|secret| (factor, secret)))
            .collect::<Result<Vec<_>, Error>>()?;
        for (factor, secret) in secrets {
            if let Some(step) = totp::step_of(&secret, code, now) {
                let accepted = mfa
                    .factors
                    .accept_step(subject, &factor.id, step, now)
                    .await
                    .map_err(|e| down(&e))?;
                if accepted {
                    return Ok(Some(Proof::Totp));
                }
            }
        }
        return Ok(None);
    }
    if recovery::looks_like(code) {
        let spent = mfa
            .factors
            .spend_recovery(subject, &recovery::hash(subject, code), now)
            .await
            .map_err(|e| down(&e))?;
        return Ok(spent.then_some(Proof::Recovery));
    }
    Ok(None)
}

/// `POST {prefix}/mfa/verify` with the session's current refresh token (field `token`, a
/// bearer header or the refresh cookie, as for `/token`) and `code` (a TOTP code or a
/// recovery code): the session is reissued at `aal2` — a new refresh token (the one presented
/// is spent), an access token with `acr` `aal2`, `amr` with `otp` and `mfa`, `auth_time`
/// now — and answered as `/token` answers (201).
pub(super) async fn verify<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
    fields: &Fields,
) -> Result<Response, Error> {
    let mfa = on(gate)?;
    let presented = presented_session(gate, head, fields).await?;
    let code = required(fields, "code")?;
    let (session, by_cookie, now) = (presented.session, presented.by_cookie, presented.now);
    let proved = decide(gate, mfa, &session, code, now);
    let (session, proof, access_claims) =
        throttled(gate, head, &session, now, ErrorKind::InvalidCode, proved).await?;
    let (refresh, access) = verified(gate, head, &session, &access_claims, now)?;
    let client = gate.client_addr(head);
    if matches!(proof, Proof::Recovery) {
        gate.audit(
            &AuditEvent::new(AuditKind::RecoveryCodeUsed, client)
                .subject(&session.subject)
                .session(&session.id),
        );
        end_others(gate, &session.subject, &session.id, now).await;
    }
    raised_response(gate, &session, &refresh, &access, by_cookie)
}

/// A factor of `session` proved under the attempt limit (`mfa_attempts` per subject and per
/// session): the attempt is reserved before `prove` runs (a burst proves no more than the
/// limit); a refusal keeps it, is audited and answered `refused`; an error gives it back.
pub(super) async fn throttled<R: RequestHead + ?Sized, T>(
    gate: &TokenGate,
    head: &R,
    session: &Session,
    now: i64,
    refused: ErrorKind,
    prove: impl std::future::Future<Output = Result<Option<T>, Error>>,
) -> Result<T, Error> {
    let settings = gate.config();
    let attempt = Attempt::factor(
        &settings.throttle,
        settings.mfa.attempts,
        &session.subject,
        &session.id,
    );
    let reserved = reserve(gate, &attempt, now).await?;
    match prove.await {
        Ok(Some(proved)) => {
            reserved.succeeded(gate.failures()).await;
            Ok(proved)
        }
        Ok(None) => {
            failed(gate, head, &session.subject, &session.id);
            Err(Error::new(refused))
        }
        Err(error) => {
            reserved.undecided(gate.failures()).await;
            Err(error)
        }
    }
}

/// The tokens of a session just raised to `aal2` (its refresh and access tokens), the
/// verification audited.
pub(super) fn verified<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
    session: &Session,
    access_claims: &Map<String, Value>,
    now: i64,
) -> Result<(String, String), Error> {
    let refresh = mint_refresh(gate, session)?;
    let access = mint_access(gate, session, access_claims, now)?;
    gate.audit(
        &AuditEvent::new(AuditKind::FactorVerified, gate.client_addr(head))
            .subject(&session.subject)
            .session(&session.id),
    );
    Ok((refresh, access))
}

/// The answer to a session raised to `aal2`: as `/token` answers, in cookies when the refresh
/// token came in one.
pub(super) fn raised_response(
    gate: &TokenGate,
    session: &Session,
    refresh: &str,
    access: &str,
    by_cookie: bool,
) -> Result<Response, Error> {
    if by_cookie {
        return cookies_response(gate, &session.id, refresh, access);
    }
    Ok(tokens_response(gate, refresh, access))
}

/// What can fail runs first (the directory and the claims hook), then the code is checked and
/// spent, then the session reissued at `aal2`: the reissued session, the proof, and the
/// claims of its access token. `Ok(None)`: a wrong or used code.
async fn decide(
    gate: &TokenGate,
    mfa: &Mfa,
    session: &Session,
    code: &str,
    now: i64,
) -> Result<Option<(Session, Proof, Map<String, Value>)>, Error> {
    let mut access_claims = current_claims(gate, session, now).await?;
    let factors = mfa
        .factors
        .factors(&session.subject, now)
        .await
        .map_err(|e| down(&e))?;
    let Some(proof) = prove(mfa, &factors, &session.subject, code, now).await? else {
        return Ok(None);
    };
    let reissued = raise(gate, session, &mut access_claims, &["otp"], now).await?;
    Ok(Some((reissued, proof, access_claims)))
}

/// Reissues `session` at `aal2` once `methods` were proved at `now` (a new refresh token, the
/// raised assurance stored), writing the assurance into `access_claims` too. A session whose
/// token moved on meanwhile is refused as revoked.
pub(super) async fn raise(
    gate: &TokenGate,
    session: &Session,
    access_claims: &mut Map<String, Value>,
    methods: &[&str],
    now: i64,
) -> Result<Session, Error> {
    let stored: Map<String, Value> = serde_json::from_str(&session.claims).unwrap_or_default();
    let raised = methods.iter().fold(
        Assurance::of_claims(&stored, session.created_at),
        |assurance, method| assurance.proved(method, now),
    );
    raised.write(access_claims);
    let mut stored = Assurance::without(&stored);
    raised.write(&mut stored);
    let stored = Value::Object(stored).to_string();
    let new_token = random_id().map_err(internal)?;
    let reissue = Reissue::new(
        &session.subject,
        &session.id,
        &session.token,
        &new_token,
        &stored,
        now,
    );
    gate.store()
        .reissue(reissue)
        .await
        .map_err(|e| down(&e))?
        .ok_or(Error::invalid_token(TokenError::Revoked))
}
