//! Minting a session's tokens, and the two shapes of the answer that carries them: JSON for
//! API clients, cookies for browsers. Both tokens are [`Claims`], the type handlers read.

use serde_json::{Map, Value};

use super::internal;
use crate::gate::TokenGate;
use crate::http::error::Error;
use crate::http::response::Response;
use crate::jws::{random_id, sign, Claims, TokenKind};
use crate::store::Session;

/// Claim names tokengate sets itself; a credential checker cannot override them.
const REGISTERED: &[&str] = &[
    "iss", "sub", "aud", "iat", "exp", "nbf", "jti", "sid", "app",
];

/// A new access token for `session`, issued at `now` with the principal's extra `claims`;
/// it never outlives the session.
pub(super) fn mint_access(
    gate: &TokenGate,
    session: &Session,
    claims: &Map<String, Value>,
    now: i64,
) -> Result<String, Error> {
    let settings = &gate.config().tokens;
    let ttl = i64::try_from(settings.access_ttl.as_secs())
        .unwrap_or(i64::MAX)
        .max(1);
    let mut exp = now.saturating_add(ttl);
    if let Some(end) = session.expires_at {
        exp = exp.min(end);
    }
    let custom: Map<String, Value> = claims
        .iter()
        .filter(|(name, _)| !REGISTERED.contains(&name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let token = Claims {
        iss: settings.issuer.clone(),
        sub: session.subject.clone(),
        aud: settings.audience.clone(),
        iat: now,
        exp: Some(exp),
        jti: random_id().map_err(internal)?,
        sid: session.id.clone(),
        app: session.application.clone(),
        custom,
    };
    // A session still waiting for its second factor gets a token of its own kind, which only
    // this gate reads.
    let kind = if claims.get("mfa_pending") == Some(&Value::Bool(true)) {
        TokenKind::PendingAccess
    } else {
        TokenKind::Access
    };
    sign(gate.keys(), kind, &token).map_err(internal)
}

/// The session's current refresh token. Its claims come from the session alone (`iat` is
/// when it was issued, `jti` is the session's current token id), so signing it again gives
/// the same token: concurrent refreshes within the grace all get the one current token.
pub(super) fn mint_refresh(gate: &TokenGate, session: &Session) -> Result<String, Error> {
    let settings = &gate.config().tokens;
    let token = Claims {
        iss: settings.issuer.clone(),
        sub: session.subject.clone(),
        aud: settings.audience.clone(),
        iat: session.rotated_at,
        exp: session.expires_at,
        jti: session.token.clone(),
        sid: session.id.clone(),
        app: session.application.clone(),
        custom: (),
    };
    sign(gate.keys(), TokenKind::Refresh, &token).map_err(internal)
}

/// The JSON answer: both tokens (201).
pub(super) fn tokens_response(gate: &TokenGate, refresh: &str, access: &str) -> Response {
    Response::json(
        201,
        &serde_json::json!({
            "refreshToken": refresh,
            "accessToken": access,
            "tokenType": "Bearer",
            "expiresIn": gate.config().tokens.access_ttl.as_secs(),
        }),
    )
}

/// The cookie-mode answer: the tokens in cookies, only the CSRF token in the body (201).
pub(super) fn cookies_response(
    gate: &TokenGate,
    session: &str,
    refresh: &str,
    access: &str,
) -> Result<Response, Error> {
    let cookies = gate.cookies();
    let csrf = cookies.csrf_token(session).map_err(internal)?;
    let mut response = Response::json(
        201,
        &serde_json::json!({
            "csrfToken": csrf,
            "expiresIn": gate.config().tokens.access_ttl.as_secs(),
        }),
    );
    for cookie in cookies.set(access, refresh, &csrf) {
        response.push("set-cookie", cookie);
    }
    Ok(response)
}
