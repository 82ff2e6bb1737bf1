//! `POST {prefix}/signout`: ends the session (or all of the subject's, or all others, or the
//! one named by `session=<id>`) and answers 200. Idempotent (RFC 7009): an unknown, expired or
//! revoked token also gets 200. A `session` that is no live session of the token's subject
//! gets 404.

use super::fields::presented_refresh;
use super::store_down;
use crate::audit::{AuditEvent, AuditKind};
use crate::clock::unix_now;
use crate::gate::TokenGate;
use crate::http::error::{Error, ErrorKind};
use crate::http::form::Fields;
use crate::http::request::RequestHead;
use crate::http::response::Response;
use crate::jws::Claims;
use crate::store::{Presented, SubjectRevocation};
use crate::telemetry::SIGNOUTS;

/// Which sessions a sign-out ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope<'a> {
    Local,
    Global,
    Others,
    /// One session of the subject, by id.
    One(&'a str),
}

pub(super) async fn signout<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
    fields: &Fields,
) -> Result<Response, Error> {
    let (token, by_cookie) = presented_refresh(gate, head, fields)?;
    let scope = match fields.get("scope") {
        None | Some("local") => Scope::Local,
        Some("global") => Scope::Global,
        Some("others") => Scope::Others,
        Some(_) => {
            return Err(Error::new(ErrorKind::InvalidField {
                field: "scope",
                reason: "must be `local`, `global` or `others`".to_owned(),
            }))
        }
    };
    let scope = match (fields.get("session"), fields.get("scope")) {
        (None, _) => scope,
        (Some(""), _) => {
            return Err(Error::new(ErrorKind::InvalidField {
                field: "session",
                reason: "must be a session id".to_owned(),
            }))
        }
        (Some(id), None) => Scope::One(id),
        (Some(_), Some(_)) => {
            return Err(Error::new(ErrorKind::InvalidField {
                field: "session",
                reason: "cannot be combined with `scope`".to_owned(),
            }))
        }
    };
    let mut ended = 0;
    // Only a token we signed may end a session; anything else changes nothing.
    let verified = gate.verify_refresh(token, true).ok();
    if by_cookie {
        match &verified {
            Some(verified) => gate.cookies().check(head, &verified.claims().sid)?,
            // Nothing to end: only the cookies go, and not at another origin's request.
            None => gate.cookies().check_origin(head)?,
        }
    }
    // The caller stays signed in when it ends another of its sessions.
    let mut own = true;
    if let Some(verified) = verified {
        let claims = verified.claims();
        ended = end_sessions(gate, claims, scope).await?;
        if let Scope::One(id) = scope {
            own = id == claims.sid;
        }
        let label = match scope {
            Scope::Local => "local",
            Scope::Global => "global",
            Scope::Others => "others",
            Scope::One(_) => "session",
        };
        crate::telemetry::counter(SIGNOUTS, "scope", label);
        gate.audit(
            &AuditEvent::new(AuditKind::SignOut, gate.client_addr(head))
                .subject(&claims.sub)
                .session(&claims.sid)
                .application(claims.app.as_deref())
                .ended(ended),
        );
    }
    let mut response = Response::json(
        200,
        &serde_json::json!({ "signedOut": true, "sessionsEnded": ended }),
    );
    if by_cookie && own {
        for cookie in gate.cookies().clear() {
            response.push("set-cookie", cookie);
        }
    }
    Ok(response)
}

/// Ends what `scope` names for the holder of `claims`, and says how many live sessions ended.
/// The store decides first; only what it ended is recorded here. Every session of a subject
/// ends in calls of a bounded size (see [`TokenGate::end_sessions_of`]): a sign-out of all
/// keeps the caller's own session, which each call checks, until the others are gone, and
/// ends it last.
async fn end_sessions(gate: &TokenGate, claims: &Claims, scope: Scope<'_>) -> Result<usize, Error> {
    if scope == Scope::Local {
        return end_own(gate, claims).await;
    }
    let now = unix_now();
    // A session still waiting for its second factor ends itself only: a password alone must
    // not sign its owner out everywhere.
    if gate.mfa().is_some() && !matches!(scope, Scope::One(id) if id == claims.sid) {
        let session = gate
            .store()
            .session(&claims.sub, &claims.sid, now)
            .await
            .map_err(|e| store_down(&e))?;
        if session.is_some_and(|session| waiting(&session)) {
            return Err(Error::new(crate::gate::second_factor()));
        }
    }
    // Ending every session, or another one, needs a token that could still refresh: one that
    // was signed out, rotated away or expired ends nothing.
    let settings = &gate.config().tokens;
    let grace = settings
        .rotation
        .then(|| i64::try_from(settings.reuse_grace.as_secs()).unwrap_or(i64::MAX));
    let keep = matches!(scope, Scope::Others | Scope::Global).then_some(claims.sid.as_str());
    let mut request = SubjectRevocation::new(
        &claims.sub,
        keep,
        Some(Presented::new(&claims.sid, &claims.jti, grace)),
        now,
    );
    if let Scope::One(id) = scope {
        request = request.only(id);
    }
    let ended = gate
        .end_sessions_of(request)
        .await
        .map_err(|e| store_down(&e))?;
    match (ended, scope) {
        // The token may act, and the subject has no such live session.
        (Some(0), Scope::One(_)) => Err(Error::new(ErrorKind::NoSuchSession)),
        (Some(others), Scope::Global) => Ok(others + end_own(gate, claims).await?),
        (ended, _) => Ok(ended.unwrap_or_default()),
    }
}

/// Whether `session` still waits for its second factor.
fn waiting(session: &crate::store::Session) -> bool {
    let claims = serde_json::from_str(&session.claims).unwrap_or_default();
    crate::mfa::Assurance::of_claims(&claims, session.created_at).pending
}

/// Ends the session of `claims` itself, and says whether it was live (1) or not (0).
pub(super) async fn end_own(gate: &TokenGate, claims: &Claims) -> Result<usize, Error> {
    let live = gate
        .store()
        .revoke(&claims.sub, &claims.sid, unix_now())
        .await
        .map_err(|e| store_down(&e))?;
    gate.sessions_ended([claims.sid.as_str()]);
    Ok(usize::from(live))
}
