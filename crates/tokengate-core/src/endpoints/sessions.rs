//! `GET {prefix}/sessions`: the caller's live sessions, never their tokens.

use serde_json::Value;

use super::store_down;
use crate::clock::unix_now;
use crate::gate::TokenGate;
use crate::http::error::Error;
use crate::http::request::RequestHead;
use crate::http::response::Response;

/// The live sessions of the access token's subject, its own first, then from the oldest.
pub(super) async fn sessions<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
) -> Result<Response, Error> {
    // The same checks as any route that needs a token: strict revocation and CSRF too.
    let verified = gate.authenticate(head).await?;
    let claims = verified.claims();
    let mut sessions = gate
        .store()
        .list(&claims.sub, unix_now())
        .await
        .map_err(|e| store_down(&e))?;
    sessions.sort_by_key(|session| (session.id != claims.sid, session.created_at));
    let sessions: Vec<Value> = sessions
        .iter()
        .map(|session| {
            serde_json::json!({
                "id": session.id,
                "createdAt": session.created_at,
                "refreshedAt": session.refreshed_at,
                "expiresAt": session.expires_at,
                "application": session.application,
                "current": session.id == claims.sid,
            })
        })
        .collect();
    Ok(Response::json(
        200,
        &serde_json::json!({ "sessions": sessions }),
    ))
}
