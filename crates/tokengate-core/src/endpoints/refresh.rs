//! `POST {prefix}/token`: trades a live refresh token for a new access token (201), rotating
//! the refresh token when rotation is on.

use serde_json::{Map, Value};

use super::fields::presented_refresh;
use super::tokens::{cookies_response, mint_access, mint_refresh, tokens_response};
use super::{internal, store_down};
use crate::audit::{AuditEvent, AuditKind};
use crate::clock::unix_now;
use crate::credentials::{Current, Principal};
use crate::gate::TokenGate;
use crate::http::error::{Error, ErrorKind};
use crate::http::form::Fields;
use crate::http::request::RequestHead;
use crate::http::response::Response;
use crate::jws::{random_id, TokenError};
use crate::mfa::Assurance;
use crate::store::{RefreshRequest, Refreshed, Session};

pub(super) async fn refresh<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
    fields: &Fields,
) -> Result<Response, Error> {
    let (token, by_cookie) = presented_refresh(gate, head, fields)?;
    let verified = gate.verify_refresh(token, false)?;
    let claims = verified.claims();
    if by_cookie {
        gate.cookies().check(head, &claims.sid)?;
    }
    let now = unix_now();
    let settings = &gate.config().tokens;
    // Everything that can fail runs before the store commits the refresh: the directory and
    // the claims hook answer for the session as it is. A 503 then changes nothing (with
    // rotation, a committed rotation followed by a 503 made the client's retry look like
    // reuse, and ended the session).
    let current = gate
        .store()
        .session(&claims.sub, &claims.sid, now)
        .await
        .map_err(|e| store_down(&e))?;
    // No live session: nothing to commit (a rotation committed before a 401 would make the
    // client's retry look like reuse).
    let Some(current) = current else {
        return Err(Error::invalid_token(TokenError::Revoked));
    };
    let access_claims = current_claims(gate, &current, now).await?;
    // The directory and the hook may have taken a while: expiry, idle time and the grace are
    // judged when the refresh commits.
    let now = unix_now();
    let new_token = if settings.rotation {
        Some(random_id().map_err(internal)?)
    } else {
        None
    };
    let request = match &new_token {
        Some(new_token) => RefreshRequest::rotate(
            &claims.sub,
            &claims.sid,
            &claims.jti,
            now,
            new_token,
            i64::try_from(settings.reuse_grace.as_secs()).unwrap_or(i64::MAX),
        ),
        None => RefreshRequest::keep(&claims.sub, &claims.sid, &claims.jti, now),
    }
    .idle(settings.idle_seconds())
    .touch(settings.touch_seconds());
    // Within the touch interval the session just read is the answer: nothing to write, and no
    // second statement.
    let unchanged = Refreshed::unchanged(&current, &request).filter(|_| current.is_live(now));
    let outcome = match unchanged {
        Some(unchanged) => unchanged,
        None => gate
            .store()
            .refresh(request)
            .await
            .map_err(|e| store_down(&e))?,
    };
    let session = match outcome {
        Refreshed::Current(session) | Refreshed::Replaced(session)
            if session.subject == claims.sub =>
        {
            session
        }
        Refreshed::Reused(session) => {
            gate.sessions_ended([session.id.as_str()]);
            metrics::counter!(crate::telemetry::REFRESH_REUSE).increment(1);
            gate.audit(
                &AuditEvent::new(AuditKind::ReuseDetected, gate.client_addr(head))
                    .subject(&session.subject)
                    .session(&session.id)
                    .application(session.application.as_deref()),
            );
            return Err(Error::invalid_token(TokenError::Revoked));
        }
        _ => return Err(Error::invalid_token(TokenError::Revoked)),
    };
    // Without rotation the session's token stays the same, and signing it again gives the same
    // text; but one signed with a key since retired, or with a published key (before refresh
    // tokens had a key of their own), is replaced by the current signing, so it stops being a
    // token that a service trusting the JWKS could take for an access token.
    let refresh = mint_refresh(gate, &session)?;
    let access = mint_access(gate, &session, &access_claims, now)?;
    gate.audit(
        &AuditEvent::new(AuditKind::Refresh, gate.client_addr(head))
            .subject(&session.subject)
            .session(&session.id)
            .application(session.application.as_deref()),
    );
    if by_cookie {
        return cookies_response(gate, &session.id, &refresh, &access);
    }
    Ok(tokens_response(gate, &refresh, &access))
}

/// The claims of the session's principal as they are now: asked of the credential directory
/// (a removed principal ends the session: 401), then the claims hook; with what the session
/// has proved, as it stored it (never raised here).
pub(super) async fn current_claims(
    gate: &TokenGate,
    session: &Session,
    now: i64,
) -> Result<Map<String, Value>, Error> {
    let stored_claims: Map<String, Value> =
        serde_json::from_str(&session.claims).unwrap_or_default();
    let assurance = Assurance::of_claims(&stored_claims, session.created_at);
    let mut claims = principal_claims(gate, session, &stored_claims, now).await?;
    assurance.write(&mut claims);
    Ok(claims)
}

/// The principal's own claims as they are now (without what the session proved).
async fn principal_claims(
    gate: &TokenGate,
    session: &Session,
    stored_claims: &Map<String, Value>,
    now: i64,
) -> Result<Map<String, Value>, Error> {
    let stored = Principal {
        subject: session.subject.clone(),
        application: session.application.clone(),
        claims: Assurance::without(stored_claims),
    };
    let principal = match gate.credentials().refresh(&stored).await {
        Ok(Current::Unchanged) => stored,
        Ok(Current::Changed(claims)) => Principal { claims, ..stored },
        Ok(Current::Gone) => {
            let ended = gate
                .store()
                .revoke(&session.subject, &session.id, now)
                .await
                .map_err(|e| store_down(&e))?;
            gate.sessions_ended([session.id.as_str()]);
            gate.audit(
                &AuditEvent::new(AuditKind::SignOut, None)
                    .subject(&session.subject)
                    .session(&session.id)
                    .application(session.application.as_deref())
                    .ended(usize::from(ended)),
            );
            return Err(Error::invalid_token(TokenError::Revoked));
        }
        Err(error) => {
            tracing::warn!(target: "tokengate", %error, "credential directory failed");
            return Err(Error::new(ErrorKind::Unavailable("credential directory")));
        }
    };
    gate.claims_of(&principal).await
}
