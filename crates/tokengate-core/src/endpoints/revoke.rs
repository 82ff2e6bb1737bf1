//! `POST {prefix}/revoke` (RFC 7009): ends the session of a refresh token or an access token,
//! for the OAuth client libraries that call a revocation endpoint. The token itself is the
//! authority, as at `/signout` and `DELETE {prefix}/sessions/{id}`; an application may
//! authenticate as a client as well, and then must do so correctly (401 otherwise); a public
//! client's `client_id` alone proves nothing and changes nothing. Idempotent: an unknown, expired, foreign or revoked
//! token also gets 200. `token_type_hint` only says which kind is tried first.

use super::client::{self, Client};
use super::fields::required;
use super::signout::end_own;
use crate::audit::{AuditEvent, AuditKind};
use crate::gate::TokenGate;
use crate::http::error::Error;
use crate::http::form::Fields;
use crate::http::request::RequestHead;
use crate::http::response::Response;

pub(super) async fn revoke<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
    fields: &Fields,
) -> Result<Response, Error> {
    let presented = client::presented(head, fields)?;
    let token = required(fields, "token")?;
    if let Client::Confidential { id, secret } = presented {
        client::authenticate(gate, head, &id, &secret).await?;
    }
    let access_first = fields.get("token_type_hint") == Some("access_token");
    // Expired tokens too, as at `/signout`: the session may outlive them.
    let refresh = || gate.verify_refresh(token, true).ok();
    let access = || gate.verify_access_even_expired(token).ok();
    let verified = if access_first {
        access().or_else(refresh)
    } else {
        refresh().or_else(access)
    };
    let mut ended = 0;
    if let Some(verified) = verified {
        let claims = verified.claims();
        ended = end_own(gate, claims).await?;
        crate::telemetry::counter(crate::telemetry::SIGNOUTS, "scope", "revoke");
        gate.audit(
            &AuditEvent::new(AuditKind::SignOut, gate.client_addr(head))
                .subject(&claims.sub)
                .session(&claims.sid)
                .application(claims.app.as_deref())
                .ended(ended),
        );
    }
    Ok(Response::json(
        200,
        &serde_json::json!({ "signedOut": true, "sessionsEnded": ended }),
    ))
}
