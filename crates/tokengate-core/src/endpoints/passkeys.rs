//! The passkey endpoints (with `passkey_rp_id`): registering a passkey for the caller
//! (`POST {prefix}/passkeys/register/options`, then `POST {prefix}/passkeys/register` with what
//! the browser made), listing, renaming and removing them (`GET {prefix}/passkeys`, `PATCH` and
//! `DELETE {prefix}/passkeys/{id}`), signing in with one and no password (`POST
//! {prefix}/passkeys/signin/options`, then `POST {prefix}/passkeys/signin`), and proving one as
//! a session's second factor (`POST {prefix}/passkeys/verify/options`, then `POST
//! {prefix}/mfa/verify` with the assertion as `credential`).
//!
//! Each ceremony's state waits in the factor store under its challenge, taken once: an answer
//! is for the one request that asked, within `passkey_challenge_ttl`, and for the session that
//! asked when one did. Every failure of a sign-in answers alike, counted against the client's
//! address and the credential id as a password sign-in is.

use serde_json::{Map, Value};
use webauthn_rs::prelude::{
    AuthenticationResult, Passkey, PublicKeyCredential, RegisterPublicKeyCredential, Uuid,
    WebauthnError,
};

use super::exp::Expiry;
use super::fields::required;
use super::mfa::{
    aal2_once_active, caller, end_others, on as mfa_on, open, presented_session, raise,
    raised_response, throttled, verified,
};
use super::refresh::current_claims;
use super::signin::start_session;
use super::tokens::{cookies_response, tokens_response};
use super::{internal, store_down};
use crate::audit::{AuditEvent, AuditKind};
use crate::clock::unix_now;
use crate::credentials::{Current, Principal};
use crate::gate::{second_factor, Endpoint, Mfa, TokenGate};
use crate::http::error::{Error, ErrorKind};
use crate::http::form::Fields;
use crate::http::request::RequestHead;
use crate::http::response::Response;
use crate::jws::random_id;
use crate::mfa::passkey::{challenge_in, credential_key, flags, Ceremony, Kept, Options, Passkeys};
use crate::mfa::{recovery, Assurance};
use crate::store::{CredentialUse, Factor, Registered, StoreError, SubjectRevocation};
use crate::throttle::{Attempt, Refusal};

/// The longest name a passkey is given.
const MAX_NAME: usize = 64;

/// The second factors and the relying party, which route these endpoints only when on.
fn on(gate: &TokenGate) -> Result<(&Mfa, &Passkeys), Error> {
    let mfa = mfa_on(gate)?;
    let passkeys = mfa
        .passkeys
        .as_ref()
        .ok_or_else(|| Error::new(ErrorKind::Internal("passkeys are off".to_owned())))?;
    Ok((mfa, passkeys))
}

fn down(error: &StoreError) -> Error {
    store_down(error)
}

/// A ceremony webauthn-rs could not start: its options could not be made.
fn not_started(error: &WebauthnError) -> Error {
    internal(format!("passkey options could not be made: {error}"))
}

/// What a registration answer that webauthn-rs refused gets (400): its reason, which names a
/// check and never a secret.
fn refused(reason: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidField {
        field: "credential",
        reason: format!("was refused: {reason}"),
    })
}

/// A body that is the credential a browser gave (`PublicKeyCredential.toJSON()`).
fn credential_from<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|error| {
        Error::new(ErrorKind::MalformedBody(format!(
            "not a credential as `PublicKeyCredential.toJSON()` gives it: {error}"
        )))
    })
}

/// The passkeys among `factors`, each with what it keeps, opened.
fn kept_of<'f>(mfa: &Mfa, factors: &'f [Factor]) -> Result<Vec<(&'f Factor, Kept)>, Error> {
    factors
        .iter()
        .filter(|factor| factor.is_active() && factor.kind == "passkey")
        .map(|factor| Ok((factor, open_kept(mfa, factor)?)))
        .collect()
}

/// What a passkey factor keeps, opened.
fn open_kept(mfa: &Mfa, factor: &Factor) -> Result<Kept, Error> {
    let bytes = open(mfa, factor)?;
    serde_json::from_slice(&bytes).map_err(|_| internal("a passkey's stored state is unreadable"))
}

/// `kept`, sealed for factor `id` of `subject`.
fn seal_kept(mfa: &Mfa, kept: &Kept, subject: &str, id: &str) -> Result<String, Error> {
    let bytes = serde_json::to_vec(kept).map_err(internal)?;
    mfa.sealer
        .seal(&bytes, subject, id)
        .ok_or_else(|| internal("sealing failed"))
}

/// Counts a request for ceremony options against the client's address: each one holds state
/// in the store until its challenge ends, so no client makes them without end. 429 past
/// `throttle_per_address` per `passkey_challenge_ttl`.
async fn count_options<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
    now: i64,
) -> Result<(), Error> {
    let config = gate.config();
    let attempt = Attempt::passkey_options(
        &config.throttle,
        config.mfa.passkey_challenge_ttl.as_secs(),
        gate.client_addr(head),
    );
    match attempt.reserve(gate.failures(), now).await {
        Ok(_) => Ok(()),
        Err(Refusal::TooMany { retry_after }) => {
            Err(Error::new(ErrorKind::TooManyAttempts { retry_after }))
        }
        Err(Refusal::Down(error)) => {
            tracing::warn!(target: "tokengate", %error, "attempt counter unavailable");
            Err(Error::new(ErrorKind::Unavailable("throttling store")))
        }
    }
}

/// Keeps `ceremony` under its challenge until it ends; answers its options (200).
async fn ask(
    mfa: &Mfa,
    passkeys: &Passkeys,
    options: Options,
    ceremony: &Ceremony,
    now: i64,
) -> Result<Response, Error> {
    let state = serde_json::to_string(ceremony).map_err(internal)?;
    mfa.factors
        .put_challenge(
            &options.challenge,
            &state,
            now.saturating_add(passkeys.ttl()),
        )
        .await
        .map_err(|e| down(&e))?;
    Ok(Response::json(
        200,
        &serde_json::json!({ "publicKey": options.public_key }),
    ))
}

/// Takes the ceremony a credential answers, by the challenge in its client data: once.
/// `None`: no such challenge waits (never asked, answered already, or ended).
async fn take(mfa: &Mfa, client_data: &[u8], now: i64) -> Result<Option<Ceremony>, Error> {
    let Some(challenge) = challenge_in(client_data) else {
        return Ok(None);
    };
    let state = mfa
        .factors
        .take_challenge(&challenge, now)
        .await
        .map_err(|e| down(&e))?;
    Ok(state.and_then(|state| serde_json::from_str(&state).ok()))
}

/// `GET {prefix}/passkeys`: the caller's passkeys (never a key).
pub(super) async fn list<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
) -> Result<Response, Error> {
    let (mfa, _) = on(gate)?;
    let verified = caller(gate, head).await?;
    let factors = mfa
        .factors
        .factors(&verified.claims().sub, unix_now())
        .await
        .map_err(|e| down(&e))?;
    let mut listed = kept_of(mfa, &factors)?;
    listed.sort_by(|(a, _), (b, _)| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let passkeys: Vec<Value> = listed
        .iter()
        .map(|(factor, kept)| {
            let flags = flags(&kept.passkey);
            serde_json::json!({
                "id": factor.id,
                "name": factor.name,
                "createdAt": factor.created_at,
                "lastUsedAt": factor.last_used_at,
                "backupEligible": flags.backup_eligible,
                "backedUp": flags.backed_up,
            })
        })
        .collect();
    Ok(Response::json(
        200,
        &serde_json::json!({ "passkeys": passkeys }),
    ))
}

/// `POST {prefix}/passkeys/register/options`: the options of a new passkey for the caller
/// (`aal2` once the caller has an active factor), under the caller's user handle, excluding
/// the passkeys it has.
pub(super) async fn register_options<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
) -> Result<Response, Error> {
    let (mfa, passkeys) = on(gate)?;
    let verified = caller(gate, head).await?;
    let claims = verified.claims();
    let subject = claims.sub.as_str();
    let now = unix_now();
    let factors = mfa
        .factors
        .factors(subject, now)
        .await
        .map_err(|e| down(&e))?;
    aal2_once_active(&verified, &factors)?;
    count_options(gate, head, now).await?;
    let kept = kept_of(mfa, &factors)?;
    // One handle per user, random: a new passkey takes the one its others have.
    let handle = kept
        .first()
        .map_or_else(Uuid::new_v4, |(_, kept)| kept.handle);
    let exclude = kept
        .iter()
        .map(|(_, kept)| kept.passkey.cred_id().clone())
        .collect();
    let (options, state) = passkeys
        .register(handle, subject, subject, exclude)
        .map_err(|e| not_started(&e))?;
    let ceremony = Ceremony::Register {
        subject: subject.to_owned(),
        sid: claims.sid.clone(),
        handle,
        state,
    };
    ask(mfa, passkeys, options, &ceremony, now).await
}

/// `POST {prefix}/passkeys/register` with the credential the browser made for the options:
/// the passkey is the caller's (201). The first factor of the caller comes with ten recovery
/// codes, shown only here, and ends its other sessions.
pub(super) async fn register<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
    body: &[u8],
) -> Result<Response, Error> {
    let (mfa, passkeys) = on(gate)?;
    let verified = caller(gate, head).await?;
    let claims = verified.claims();
    let subject = claims.sub.as_str();
    let credential: RegisterPublicKeyCredential = credential_from(body)?;
    let now = unix_now();
    let Some(Ceremony::Register {
        subject: asker,
        sid,
        handle,
        state,
    }) = take(mfa, credential.response.client_data_json.as_ref(), now).await?
    else {
        return Err(refused(
            "it answers no registration options waiting (unknown, used or expired)",
        ));
    };
    if asker != subject || sid != claims.sid {
        return Err(refused("it answers options another session asked for"));
    }
    let factors = mfa
        .factors
        .factors(subject, now)
        .await
        .map_err(|e| down(&e))?;
    aal2_once_active(&verified, &factors)?;
    let passkey = passkeys
        .finish_register(&credential, &state)
        .map_err(refused)?;
    // The claims the session holds now, without what it proved: a passkey sign-in starts from
    // them (and the directory's refresh keeps them true).
    let session = gate
        .store()
        .session(subject, &claims.sid, now)
        .await
        .map_err(|e| down(&e))?
        .ok_or(Error::invalid_token(crate::jws::TokenError::Revoked))?;
    let stored: Map<String, Value> = serde_json::from_str(&session.claims).unwrap_or_default();
    let flags = flags(&passkey);
    let key = credential_key(passkey.cred_id().as_ref());
    let id = random_id().map_err(internal)?;
    let kept = Kept {
        passkey,
        handle,
        claims: Assurance::without(&stored),
    };
    let sealed = seal_kept(mfa, &kept, subject, &id)?;
    let name = "passkey";
    let factor = Factor::credential(
        &id,
        subject,
        &sealed,
        &key,
        name,
        i64::from(flags.counter),
        now,
    );
    let codes = recovery::generate().ok_or_else(|| internal("no randomness"))?;
    let hashes: Vec<String> = codes
        .iter()
        .map(|code| recovery::hash(subject, code))
        .collect();
    let added = mfa
        .factors
        .add_credential(factor, gate.config().mfa.max_factors, &hashes)
        .await
        .map_err(|e| down(&e))?;
    let first = match added {
        Registered::Added { recovery } => recovery,
        Registered::TooMany => return Err(Error::new(ErrorKind::TooManyFactors)),
        Registered::Taken | _ => return Err(Error::new(ErrorKind::PasskeyTaken)),
    };
    // Below `aal2`, only a first factor may be added: another one became active since the
    // check above (a race of two sessions, one perhaps a thief's), so this one goes again.
    if !first && !verified.assurance().0 {
        let _ = mfa.factors.remove_factor(subject, &id, now).await;
        return Err(Error::new(second_factor()));
    }
    gate.audit(
        &AuditEvent::new(AuditKind::FactorAdded, gate.client_addr(head))
            .subject(subject)
            .session(&claims.sid),
    );
    // The first factor: the sessions opened with the password alone before it end.
    if first {
        end_others(gate, subject, &claims.sid, now).await;
    }
    let mut answer = serde_json::json!({ "id": id, "name": name, "createdAt": now });
    if first {
        answer["recoveryCodes"] = Value::from(codes);
    }
    Ok(Response::json(201, &answer))
}

/// The caller's passkey named in the path of `endpoint`, if it has one.
fn passkey_in_path<'p, R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &'p R,
    factors: &[Factor],
) -> Result<&'p str, Error> {
    gate.id_in_path(Endpoint::Passkey, head.path())
        .filter(|id| {
            factors
                .iter()
                .any(|f| f.id == *id && f.is_active() && f.kind == "passkey")
        })
        .ok_or(Error::new(ErrorKind::NoSuchFactor))
}

/// `PATCH {prefix}/passkeys/{id}` with `name`: renames one of the caller's passkeys (200;
/// `aal2`).
pub(super) async fn rename<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
    fields: &Fields,
) -> Result<Response, Error> {
    let (mfa, _) = on(gate)?;
    let verified = caller(gate, head).await?;
    let subject = verified.claims().sub.as_str();
    let name = required(fields, "name")?.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(Error::new(ErrorKind::InvalidField {
            field: "name",
            reason: format!("must be 1 to {MAX_NAME} characters"),
        }));
    }
    let now = unix_now();
    let factors = mfa
        .factors
        .factors(subject, now)
        .await
        .map_err(|e| down(&e))?;
    aal2_once_active(&verified, &factors)?;
    let id = passkey_in_path(gate, head, &factors)?;
    if !mfa
        .factors
        .rename_factor(subject, id, name, now)
        .await
        .map_err(|e| down(&e))?
    {
        return Err(Error::new(ErrorKind::NoSuchFactor));
    }
    Ok(Response::json(
        200,
        &serde_json::json!({ "id": id, "name": name }),
    ))
}

/// `DELETE {prefix}/passkeys/{id}`: removes one of the caller's passkeys (200; `aal2`); with
/// `mfa_end_sessions`, the caller's other sessions end.
pub(super) async fn remove<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
) -> Result<Response, Error> {
    let (mfa, _) = on(gate)?;
    let verified = caller(gate, head).await?;
    let claims = verified.claims();
    let subject = claims.sub.as_str();
    let now = unix_now();
    let factors = mfa
        .factors
        .factors(subject, now)
        .await
        .map_err(|e| down(&e))?;
    aal2_once_active(&verified, &factors)?;
    let id = passkey_in_path(gate, head, &factors)?;
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
    let ended = end_others(gate, subject, &claims.sid, now).await;
    Ok(Response::json(
        200,
        &serde_json::json!({ "removed": true, "activeLeft": left, "sessionsEnded": ended }),
    ))
}

/// `POST {prefix}/passkeys/signin/options`: the options of a passwordless sign-in (no token).
pub(super) async fn signin_options<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
) -> Result<Response, Error> {
    let (mfa, passkeys) = on(gate)?;
    let now = unix_now();
    count_options(gate, head, now).await?;
    let (options, state) = passkeys.sign_in().map_err(|e| not_started(&e))?;
    ask(mfa, passkeys, options, &Ceremony::SignIn { state }, now).await
}

/// A passkey that proved itself: its factor, what it keeps after the sign-in, and how.
struct Proved {
    factor: Factor,
    kept: Kept,
    result: AuthenticationResult,
}

/// A cloned authenticator shows itself by a signature counter that went back: the passkey
/// ends, and so does every session of its user (which side holds the clone, no one can tell:
/// the sessions it opened may be the clone's); the event is audited.
async fn cloned<R: RequestHead + ?Sized>(gate: &TokenGate, head: &R, mfa: &Mfa, factor: &Factor) {
    let now = unix_now();
    if let Err(error) = mfa
        .factors
        .remove_factor(&factor.subject, &factor.id, now)
        .await
    {
        tracing::warn!(target: "tokengate", %error, "session store failed: a passkey whose counter went back could not be removed");
    }
    let every = SubjectRevocation::new(&factor.subject, None, None, now);
    let ended = match gate.end_sessions_of(every).await {
        Ok(ended) => ended.unwrap_or_default(),
        Err(error) => {
            tracing::warn!(target: "tokengate", %error, "session store failed: the sessions of a user whose passkey was cloned could not all be ended");
            0
        }
    };
    gate.audit(
        &AuditEvent::new(AuditKind::PasskeyCloned, gate.client_addr(head))
            .subject(&factor.subject)
            .ended(ended),
    );
}

/// Checks a passwordless sign-in's assertion: its ceremony, its passkey (by credential id,
/// with the user handle it was made under), its signature and counter. `Ok(None)`: refused.
async fn check_signin<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
    mfa: &Mfa,
    passkeys: &Passkeys,
    assertion: &PublicKeyCredential,
    now: i64,
) -> Result<Option<Proved>, Error> {
    let Some(Ceremony::SignIn { state }) =
        take(mfa, assertion.response.client_data_json.as_ref(), now).await?
    else {
        return Ok(None);
    };
    let key = credential_key(assertion.raw_id.as_ref());
    let Some(factor) = mfa.factors.credential(&key).await.map_err(|e| down(&e))? else {
        return Ok(None);
    };
    let kept = open_kept(mfa, &factor)?;
    let handle = assertion
        .get_user_unique_id()
        .and_then(|bytes| Uuid::from_slice(bytes).ok());
    if handle != Some(kept.handle) {
        return Ok(None);
    }
    match passkeys.finish_sign_in(assertion, state, &kept.passkey) {
        Ok(result) => Ok(Some(Proved {
            factor,
            kept,
            result,
        })),
        Err(WebauthnError::CredentialPossibleCompromise) => {
            cloned(gate, head, mfa, &factor).await;
            Ok(None)
        }
        Err(_) => Ok(None),
    }
}

/// Records a passkey's use: its counter moved forward, its flags as the assertion gave them.
/// `false`: another use of the same counter came first.
async fn record(mfa: &Mfa, proved: &mut Proved, now: i64) -> Result<bool, Error> {
    proved.kept.passkey.update_credential(&proved.result);
    let sealed = seal_kept(mfa, &proved.kept, &proved.factor.subject, &proved.factor.id)?;
    let counter = i64::from(proved.result.counter());
    mfa.factors
        .use_credential(CredentialUse::new(
            &proved.factor.subject,
            &proved.factor.id,
            counter,
            &sealed,
            now,
        ))
        .await
        .map_err(|e| down(&e))
}

/// The methods a passkey proved (RFC 8176): the key (`hwk`, or `swk` for one that may be
/// synced), and `user` when the authenticator verified its user.
fn methods(proved: &Proved) -> Vec<&'static str> {
    let mut methods = vec![flags(&proved.kept.passkey).method()];
    if proved.result.user_verified() {
        methods.push("user");
    }
    methods
}

/// Whether the query string asks for cookie mode (`cookieauth=true`): the body is the
/// credential alone.
fn cookie_mode<R: RequestHead + ?Sized>(head: &R) -> Result<bool, Error> {
    let Some(query) = head.query() else {
        return Ok(false);
    };
    let mut mode = None;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name == "cookieauth" {
            if mode.is_some() {
                return Err(Error::new(ErrorKind::DuplicateField(
                    "cookieauth".to_owned(),
                )));
            }
            mode = Some(match value.to_ascii_lowercase().as_str() {
                "true" | "1" => true,
                "false" | "0" | "" => false,
                _ => {
                    return Err(Error::new(ErrorKind::InvalidField {
                        field: "cookieauth",
                        reason: "must be true or false".to_owned(),
                    }))
                }
            });
        }
    }
    Ok(mode.unwrap_or(false))
}

/// `POST {prefix}/passkeys/signin` with an assertion for the sign-in options: a new session
/// at `aal2` (201, the tokens as `/signin` answers them; in cookies with `?cookieauth=true`).
/// Throttled as a sign-in, by address and by credential id; one answer for every refusal.
pub(super) async fn signin<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
    body: &[u8],
) -> Result<Response, Error> {
    let (mfa, passkeys) = on(gate)?;
    let cookie_mode = cookie_mode(head)?;
    if cookie_mode {
        // Login CSRF: another site must not sign the browser in to an account of its own.
        gate.cookies().check_origin(head)?;
    }
    let assertion: PublicKeyCredential = credential_from(body)?;
    let now = unix_now();
    let client = gate.client_addr(head);
    let key = credential_key(assertion.raw_id.as_ref());
    let attempt = Attempt::passkey(&gate.config().throttle, &key, client);
    let counter = gate.failures();
    let reserved = match attempt.reserve(counter, now).await {
        Ok(reserved) => reserved,
        Err(Refusal::TooMany { retry_after }) => {
            gate.audit(&AuditEvent::new(AuditKind::Throttled, client));
            return Err(Error::new(ErrorKind::TooManyAttempts { retry_after }));
        }
        Err(Refusal::Down(error)) => {
            tracing::warn!(target: "tokengate", %error, "failure counter unavailable");
            return Err(Error::new(ErrorKind::Unavailable("throttling store")));
        }
    };
    let opened = open_with_passkey(gate, head, mfa, passkeys, &assertion, now).await;
    match &opened {
        Ok(_) => reserved.succeeded(counter).await,
        Err(error) if matches!(error.kind(), ErrorKind::InvalidPasskey) => {
            gate.audit(&AuditEvent::new(AuditKind::SignInFailed, client));
        }
        Err(_) => reserved.undecided(counter).await,
    }
    let (subject, started) = opened?;
    gate.audit(
        &AuditEvent::new(AuditKind::SignIn, client)
            .subject(&subject)
            .session(&started.sid),
    );
    if cookie_mode {
        return cookies_response(gate, &started.sid, &started.refresh, &started.access);
    }
    Ok(tokens_response(gate, &started.refresh, &started.access))
}

/// Checks the assertion, then the user as the directory has it now, records the passkey's use
/// and opens the session; every refusal is [`ErrorKind::InvalidPasskey`].
async fn open_with_passkey<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
    mfa: &Mfa,
    passkeys: &Passkeys,
    assertion: &PublicKeyCredential,
    now: i64,
) -> Result<(String, super::signin::Started), Error> {
    let invalid = || Error::new(ErrorKind::InvalidPasskey);
    let mut proved = check_signin(gate, head, mfa, passkeys, assertion, now)
        .await?
        .ok_or_else(invalid)?;
    let subject = proved.factor.subject.clone();
    let stored = Principal {
        subject: subject.clone(),
        application: None,
        claims: proved.kept.claims.clone(),
    };
    let principal = match gate.credentials().refresh(&stored).await {
        Ok(Current::Unchanged) => stored,
        Ok(Current::Changed(claims)) => Principal { claims, ..stored },
        Ok(Current::Gone) => return Err(invalid()),
        Err(error) => {
            tracing::warn!(target: "tokengate", %error, "credential directory failed");
            return Err(Error::new(ErrorKind::Unavailable("credential directory")));
        }
    };
    let methods = methods(&proved);
    let assurance = Assurance {
        amr: methods.iter().map(|m| (*m).to_owned()).collect(),
        aal2: proved.result.user_verified(),
        auth_time: now,
        pending: false,
        idp: None,
    };
    // The claims hook may fail: it runs before the passkey's use is recorded.
    let claims = gate.claims_of(&principal).await?;
    if !record(mfa, &mut proved, now).await? {
        return Err(invalid());
    }
    let ttl = gate.config().tokens.refresh_ttl.as_secs();
    let expiry = Expiry::At(now.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX)));
    let started = start_session(gate, head, &principal, claims, &assurance, expiry, now).await?;
    Ok((subject, started))
}

/// `POST {prefix}/passkeys/verify/options` with a session's current refresh token (field
/// `token`, a bearer header or the refresh cookie): the options of proving one of its user's
/// passkeys as the session's second factor.
pub(super) async fn verify_options<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
    fields: &Fields,
) -> Result<Response, Error> {
    let (mfa, passkeys) = on(gate)?;
    let presented = presented_session(gate, head, fields).await?;
    let (session, now) = (presented.session, presented.now);
    count_options(gate, head, now).await?;
    let factors = mfa
        .factors
        .factors(&session.subject, now)
        .await
        .map_err(|e| down(&e))?;
    let kept: Vec<Passkey> = kept_of(mfa, &factors)?
        .into_iter()
        .map(|(_, kept)| kept.passkey)
        .collect();
    if kept.is_empty() {
        return Err(Error::new(ErrorKind::NoSuchFactor));
    }
    let (options, state) = passkeys.verify(&kept).map_err(|e| not_started(&e))?;
    let ceremony = Ceremony::Verify {
        subject: session.subject.clone(),
        sid: session.id.clone(),
        state,
    };
    ask(mfa, passkeys, options, &ceremony, now).await
}

/// `POST {prefix}/mfa/verify` with `credential`, an assertion for the verify options, in
/// place of a code: the session is reissued at `aal2` as a code would, `amr` with the key's
/// method. Throttled as codes are.
pub(super) async fn verify<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
    fields: &Fields,
    assertion: &Value,
) -> Result<Response, Error> {
    let (mfa, passkeys) = on(gate)?;
    let presented = presented_session(gate, head, fields).await?;
    let (session, by_cookie, now) = (presented.session, presented.by_cookie, presented.now);
    let assertion: PublicKeyCredential =
        serde_json::from_value(assertion.clone()).map_err(|error| {
            Error::new(ErrorKind::InvalidField {
                field: "credential",
                reason: format!(
                    "is not a credential as `PublicKeyCredential.toJSON()` gives it: {error}"
                ),
            })
        })?;
    let raised = prove_and_raise(gate, head, mfa, passkeys, &session, &assertion, now);
    let (raised, access_claims) =
        throttled(gate, head, &session, now, ErrorKind::InvalidPasskey, raised).await?;
    let (refresh, access) = verified(gate, head, &raised, &access_claims, now)?;
    raised_response(gate, &raised, &refresh, &access, by_cookie)
}

/// What can fail runs first (the directory and the claims hook), then the assertion is
/// checked against the session's ceremony and recorded, then the session reissued at `aal2`.
/// `Ok(None)`: refused.
async fn prove_and_raise<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
    mfa: &Mfa,
    passkeys: &Passkeys,
    session: &crate::store::Session,
    assertion: &PublicKeyCredential,
    now: i64,
) -> Result<Option<(crate::store::Session, Map<String, Value>)>, Error> {
    let mut access_claims = current_claims(gate, session, now).await?;
    let Some(Ceremony::Verify {
        subject,
        sid,
        state,
    }) = take(mfa, assertion.response.client_data_json.as_ref(), now).await?
    else {
        return Ok(None);
    };
    if subject != session.subject || sid != session.id {
        return Ok(None);
    }
    let key = credential_key(assertion.raw_id.as_ref());
    let Some(factor) = mfa
        .factors
        .credential(&key)
        .await
        .map_err(|e| down(&e))?
        .filter(|factor| factor.subject == session.subject)
    else {
        return Ok(None);
    };
    let kept = open_kept(mfa, &factor)?;
    let result = match passkeys.finish_verify(assertion, &state) {
        Ok(result) if result.cred_id() == kept.passkey.cred_id() => result,
        Err(WebauthnError::CredentialPossibleCompromise) => {
            cloned(gate, head, mfa, &factor).await;
            return Ok(None);
        }
        Ok(_) | Err(_) => return Ok(None),
    };
    let mut proved = Proved {
        factor,
        kept,
        result,
    };
    let methods = methods(&proved);
    if !record(mfa, &mut proved, now).await? {
        return Ok(None);
    }
    let raised = raise(gate, session, &mut access_claims, &methods, now).await?;
    Ok(Some((raised, access_claims)))
}
