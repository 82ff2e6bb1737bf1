//! `POST {prefix}/ticket`: a connection ticket for a WebSocket, where a browser cannot send an
//! `Authorization` header with the upgrade.
//!
//! The ticket is a token of its own type (`typ: ticket+jwt`, so it is never taken for an access
//! token, nor one for it) carrying the claims of the access token that asked for it, a new
//! `jti`, and an `exp` of `ticket_ttl` from now (no later than the access token's). The guard
//! reads it only from the query of an upgrade to one of the `websocket_paths`, spends its `jti`
//! in the shared attempt counter in one atomic step (a second upgrade with it is refused, on
//! any instance that shares the counter), and checks that its session is still live.

use serde_json::{Map, Value};

use super::internal;
use crate::clock::unix_now;
use crate::gate::TokenGate;
use crate::http::error::Error;
use crate::http::request::RequestHead;
use crate::http::response::Response;
use crate::jws::{random_id, sign, TokenKind};

/// Answers `POST {prefix}/ticket`: 201 with the ticket and its seconds left.
pub(super) async fn ticket<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
) -> Result<Response, Error> {
    let verified = gate.authenticate(head).await?;
    let now = unix_now();
    let ttl = i64::try_from(gate.config().endpoints.ticket_ttl.as_secs()).unwrap_or(30);
    let exp = verified
        .claims()
        .exp
        .map_or(now + ttl, |access| access.min(now + ttl));
    let mut payload: Map<String, Value> =
        serde_json::from_slice(verified.payload()).map_err(internal)?;
    payload.insert("iat".to_owned(), now.into());
    payload.insert("exp".to_owned(), exp.into());
    payload.insert("jti".to_owned(), random_id().map_err(internal)?.into());
    let ticket = sign(gate.keys(), TokenKind::Ticket, &payload).map_err(internal)?;
    Ok(Response::json(
        201,
        &serde_json::json!({ "ticket": ticket, "expiresIn": (exp - now).max(1) }),
    ))
}
