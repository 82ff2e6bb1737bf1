//! `POST {prefix}/signin`: checks the login, opens a session, answers 201 with both tokens.

use serde_json::Value;

use super::exp::{parse_exp, Expiry};
use super::fields::{flag, non_empty, required};
use super::tokens::{cookies_response, mint_access, mint_refresh, tokens_response};
use super::{internal, store_down};
use crate::audit::{AuditEvent, AuditKind};
use crate::clock::unix_now;
use crate::credentials::{Login, Principal};
use crate::gate::TokenGate;
use crate::http::error::{Error, ErrorKind};
use crate::http::form::Fields;
use crate::http::request::RequestHead;
use crate::http::response::Response;
use crate::jws::{random_id, session_id};
use crate::mfa::Assurance;
use crate::store::Session;
use crate::throttle::{Attempt, Refusal};

/// The longest login read.
const MAX_LOGIN: usize = 1024;

pub(super) async fn signin<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
    fields: &Fields,
) -> Result<Response, Error> {
    let login = required(fields, "login")?;
    // No directory holds a longer login, and its normalised form is computed on every attempt.
    if login.len() > MAX_LOGIN {
        return Err(Error::new(ErrorKind::InvalidField {
            field: "login",
            reason: format!("must be at most {MAX_LOGIN} bytes"),
        }));
    }
    let password = required(fields, "password")?;
    let application = non_empty(fields, "application")?;
    let cookie_mode = flag(fields, "cookieauth")?;
    if cookie_mode {
        // Login CSRF: another site must not sign the browser in to an account of its own.
        gate.cookies().check_origin(head)?;
    }
    let now = unix_now();
    let expiry = expiry(gate, fields, now)?;
    let client = gate.client_addr(head);
    let attempt = Attempt::new(&gate.config().throttle, login, application, client);
    let counter = gate.failures();
    let reserved = match attempt.reserve(counter, now).await {
        Ok(reserved) => reserved,
        Err(Refusal::TooMany { retry_after }) => {
            gate.audit(
                &AuditEvent::new(AuditKind::Throttled, client)
                    .subject(login)
                    .application(application),
            );
            return Err(Error::new(ErrorKind::TooManyAttempts { retry_after }));
        }
        Err(Refusal::Down(error)) => {
            tracing::warn!(target: "tokengate", %error, "failure counter unavailable");
            return Err(Error::new(ErrorKind::Unavailable("throttling store")));
        }
    };
    let credentials = match application {
        Some(application) => Login::Application {
            application,
            key: login,
            secret: password,
        },
        None => Login::User { login, password },
    };
    let opened = open_session(gate, head, credentials, expiry, now, client).await;
    // The one place the reservations are decided: a wrong login or password was a failure,
    // and they stand; a sign-in gives back its own; anything else (a directory, a hook or a
    // store down, a step that failed) decided nothing, and gives them back.
    match &opened {
        Ok(_) => reserved.succeeded(counter).await,
        Err(error) if matches!(error.kind(), ErrorKind::InvalidCredentials) => {}
        Err(_) => reserved.undecided(counter).await,
    }
    let Opened {
        principal,
        sid,
        refresh,
        access,
        mfa_required,
    } = opened?;
    gate.audit(
        &AuditEvent::new(AuditKind::SignIn, client)
            .subject(&principal.subject)
            .session(&sid)
            .application(principal.application.as_deref()),
    );
    let mut response = if cookie_mode {
        cookies_response(gate, &sid, &refresh, &access)?
    } else {
        tokens_response(gate, &refresh, &access)
    };
    if !mfa_required.is_empty() {
        response.add_field("mfaRequired", Value::from(mfa_required));
    }
    Ok(response)
}

/// A session opened by a sign-in: whose, its id, its tokens, and the second factors that can
/// still raise it (none when the subject has none).
struct Opened {
    principal: Principal,
    sid: String,
    refresh: String,
    access: String,
    mfa_required: Vec<&'static str>,
}

/// What a sign-in of `principal` has proved: a password, and whether a second factor is
/// awaited (a user with an active one); with the methods that can prove it.
pub(super) async fn signed_in(
    gate: &TokenGate,
    principal: &Principal,
    now: i64,
) -> Result<(Assurance, Vec<&'static str>), Error> {
    let mut methods = Vec::new();
    if let (Some(mfa), None) = (gate.mfa(), &principal.application) {
        let factors = mfa
            .factors
            .factors(&principal.subject, now)
            .await
            .map_err(|e| store_down(&e))?;
        let active = |kind: &str| factors.iter().any(|f| f.is_active() && f.kind == kind);
        if active("totp") {
            methods.push("totp");
        }
        if active("passkey") {
            methods.push("passkey");
        }
        if !methods.is_empty() {
            let left = mfa
                .factors
                .recovery_left(&principal.subject)
                .await
                .map_err(|e| store_down(&e))?;
            if left > 0 {
                methods.push("recovery");
            }
        }
    }
    Ok((
        Assurance::signed_in("pwd", now, !methods.is_empty()),
        methods,
    ))
}

/// Checks `credentials`, then opens the session and signs its tokens; every step that can
/// fail, in order, with what it answers.
async fn open_session<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
    credentials: Login<'_>,
    expiry: Expiry,
    now: i64,
    client: Option<std::net::IpAddr>,
) -> Result<Opened, Error> {
    let (login, application) = match &credentials {
        Login::User { login, .. } => (*login, None),
        Login::Application {
            application, key, ..
        } => (*key, Some(*application)),
    };
    // A full hash queue refuses here (503), before the directory is asked about the login.
    let checked = gate
        .queued_check(|| gate.credentials().verify(credentials))
        .await?;
    let principal: Principal = match checked {
        Ok(Some(principal)) => principal,
        Ok(None) => {
            gate.audit(
                &AuditEvent::new(AuditKind::SignInFailed, client)
                    .subject(login)
                    .application(application),
            );
            return Err(Error::new(ErrorKind::InvalidCredentials));
        }
        Err(error) => {
            tracing::warn!(target: "tokengate", %error, "credential directory failed");
            return Err(Error::new(ErrorKind::Unavailable("credential directory")));
        }
    };
    let (assurance, mfa_required) = signed_in(gate, &principal, now).await?;
    let claims = gate.claims_of(&principal).await?;
    let started = start_session(gate, head, &principal, claims, &assurance, expiry, now).await?;
    Ok(Opened {
        principal,
        sid: started.sid,
        refresh: started.refresh,
        access: started.access,
        mfa_required,
    })
}

/// A session just opened: its id and both tokens.
pub(super) struct Started {
    pub(super) sid: String,
    pub(super) refresh: String,
    pub(super) access: String,
}

/// Opens a session for `principal`, who proved `assurance` at `now`, its access token with
/// `claims` (the principal's, with the claims hook's): the tokens are signed, then the session
/// is stored (the sessions it evicts are audited).
pub(super) async fn start_session<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
    principal: &Principal,
    mut claims: serde_json::Map<String, Value>,
    assurance: &Assurance,
    expiry: Expiry,
    now: i64,
) -> Result<Started, Error> {
    let client = gate.client_addr(head);
    assurance.write(&mut claims);
    let session = new_session(principal, assurance, expiry, now, head, client)?;
    // Sign first: if the store then fails, nothing was written and no token escapes.
    let refresh = mint_refresh(gate, &session)?;
    let access = mint_access(gate, &session, &claims, now)?;
    let sid = session.id.clone();
    let max_sessions = gate.config().tokens.max_sessions;
    let evicted = gate
        .store()
        .create(session, max_sessions)
        .await
        .map_err(|error| store_down(&error))?;
    if !evicted.is_empty() {
        gate.sessions_ended(evicted.iter().map(String::as_str));
        gate.audit(
            &AuditEvent::new(AuditKind::SignOut, client)
                .subject(&principal.subject)
                .application(principal.application.as_deref())
                .ended(evicted.len()),
        );
    }
    Ok(Started {
        sid,
        refresh,
        access,
    })
}

/// The session a sign-in opens at `now`, with its first refresh token id and the client it
/// came from.
fn new_session<R: RequestHead + ?Sized>(
    principal: &Principal,
    assurance: &Assurance,
    expiry: Expiry,
    now: i64,
    head: &R,
    client: Option<std::net::IpAddr>,
) -> Result<Session, Error> {
    let mut stored = principal.claims.clone();
    assurance.write(&mut stored);
    let mut session = Session::new(
        &session_id().map_err(internal)?,
        &principal.subject,
        principal.application.as_deref(),
        &Value::Object(stored).to_string(),
        now,
        match expiry {
            Expiry::At(at) => Some(at),
            Expiry::Unlimited => None,
        },
    );
    session.token = random_id().map_err(internal)?;
    let agent = head
        .header("user-agent")
        .map(|agent| String::from_utf8_lossy(agent).into_owned());
    Ok(session.with_client(
        agent.as_deref(),
        client.map(|address| address.to_string()).as_deref(),
    ))
}

/// When the session ends: the `exp` field, within what the configuration allows, or
/// `refresh_ttl` from now.
pub(super) fn expiry(gate: &TokenGate, fields: &Fields, now: i64) -> Result<Expiry, Error> {
    let settings = &gate.config().tokens;
    match non_empty(fields, "exp")? {
        None => Ok(Expiry::At(now.saturating_add(
            i64::try_from(settings.refresh_ttl.as_secs()).unwrap_or(i64::MAX),
        ))),
        Some(exp) => parse_exp(
            exp,
            now,
            settings.max_refresh_ttl(),
            settings.allow_unlimited,
        )
        .map_err(|reason| {
            Error::new(ErrorKind::InvalidField {
                field: "exp",
                reason,
            })
        }),
    }
}
