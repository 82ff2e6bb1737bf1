//! `GET {prefix}/sessions`: the caller's live sessions, never their tokens; and
//! `DELETE {prefix}/sessions/{id}`: ends one of them.

use serde_json::Value;

use super::store_down;
use crate::audit::{AuditEvent, AuditKind};
use crate::clock::unix_now;
use crate::gate::TokenGate;
use crate::http::error::{Error, ErrorKind};
use crate::http::request::RequestHead;
use crate::http::response::Response;
use crate::jws::TokenError;
use crate::store::SubjectRevocation;

/// The most sessions one `GET {prefix}/sessions` lists.
const LIST_LIMIT: usize = 100;

/// The live sessions of the access token's subject, its own first, then from the oldest.
/// Each says when it was opened, last used (its last `/token`) and ends, from which client,
/// and whether it is the caller's own (`current`).
pub(super) async fn sessions<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
) -> Result<Response, Error> {
    // The same checks as any route that needs a token: strict revocation and CSRF too.
    let verified = gate.authenticate(head).await?;
    let claims = verified.claims();
    // Oldest first; the caller's own is moved to the front (the sort is stable).
    let mut sessions = gate.list_sessions(&claims.sub).await?;
    sessions.sort_by_key(|session| session.id != claims.sid);
    // However many a subject holds (`max_sessions = none`), one answer lists a bounded few:
    // the caller's own, then the oldest; `total` says how many there are.
    let total = sessions.len();
    let sessions: Vec<Value> = sessions
        .iter()
        .take(LIST_LIMIT)
        .map(|session| {
            serde_json::json!({
                "id": session.id,
                "createdAt": session.created_at,
                "refreshedAt": session.refreshed_at,
                "lastUsedAt": session.refreshed_at,
                "expiresAt": session.expires_at,
                "application": session.application,
                "userAgent": session.user_agent,
                "address": session.address,
                "current": session.id == claims.sid,
            })
        })
        .collect();
    Ok(Response::json(
        200,
        &serde_json::json!({ "sessions": sessions, "total": total }),
    ))
}

/// Ends the caller's session named in the path: 200, or 404 when the subject has no such
/// live session (another subject's session is answered the same way, and left alone).
pub(super) async fn end_session<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
) -> Result<Response, Error> {
    let verified = gate.authenticate(head).await?;
    let claims = verified.claims();
    // An id with a control character (actix-web decodes `%00` in the path) is no session
    // of ours, and reaches no store.
    let Some(id) = gate
        .session_in_path(head.path())
        .filter(|id| !id.chars().any(char::is_control))
    else {
        return Err(Error::new(ErrorKind::NoSuchSession));
    };
    let store = gate.store();
    let now = unix_now();
    // Only a token whose own session is live acts, whatever the guard's mode.
    if !store
        .is_live(&claims.sub, &claims.sid, now)
        .await
        .map_err(|e| store_down(&e))?
    {
        gate.sessions_ended([claims.sid.as_str()]);
        return Err(Error::invalid_token(TokenError::Revoked));
    }
    let revocation = SubjectRevocation::new(&claims.sub, None, None, now).only(id);
    let ended = store
        .revoke_subject(revocation)
        .await
        .map_err(|e| store_down(&e))?
        .unwrap_or_default();
    if ended.is_empty() {
        return Err(Error::new(ErrorKind::NoSuchSession));
    }
    gate.sessions_ended(ended.iter().map(String::as_str));
    crate::telemetry::counter(crate::telemetry::SIGNOUTS, "scope", "session");
    gate.audit(
        &AuditEvent::new(AuditKind::SignOut, gate.client_addr(head))
            .subject(&claims.sub)
            .session(id)
            .application(claims.app.as_deref())
            .ended(ended.len()),
    );
    Ok(Response::json(
        200,
        &serde_json::json!({ "signedOut": true, "sessionsEnded": ended.len() }),
    ))
}
