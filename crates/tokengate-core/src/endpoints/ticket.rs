//! `POST {prefix}/ticket`: a connection ticket for a WebSocket, where a browser cannot send an
//! `Authorization` header with the upgrade.
//!
//! The ticket is a token of its own type (`typ: ticket+jwt`, so it is never taken for an access
//! token, nor one for it) carrying only what a socket route needs of the access token that
//! asked for it (its issuer, audience, subject, session, application, `roles` and `scope`; no
//! other claim travels in a URL), a new `jti`, and an `exp` of `ticket_ttl` from now (no later
//! than the access token's). With the optional field `path`, the ticket opens only sockets at
//! that path or under it (`/ws/chat` opens `/ws/chat` and `/ws/chat/room`, not `/ws/admin`).
//! The guard reads it only from the query of an upgrade to one of the `websocket_paths`, spends
//! its `jti` in the shared attempt counter in one atomic step (a second upgrade with it is
//! refused, on any instance that shares the counter), and checks that its session is live.

use serde_json::{Map, Value};

use super::fields::non_empty;
use super::internal;
use crate::clock::unix_now;
use crate::gate::TokenGate;
use crate::http::error::{Error, ErrorKind};
use crate::http::form::Fields;
use crate::http::request::RequestHead;
use crate::http::response::Response;
use crate::jws::{random_id, sign, TokenKind};

/// Answers `POST {prefix}/ticket`: 201 with the ticket and its seconds left.
pub(super) async fn ticket<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
    fields: &Fields,
) -> Result<Response, Error> {
    let path = non_empty(fields, "path")?
        .map(|path| socket_path(gate, path))
        .transpose()?;
    let verified = gate.authenticate(head).await?;
    let now = unix_now();
    let ttl = i64::try_from(gate.config().endpoints.ticket_ttl.as_secs()).unwrap_or(30);
    asked_within_limit(gate, &verified.claims().sub, ttl, now).await?;
    let exp = verified
        .claims()
        .exp
        .map_or(now + ttl, |access| access.min(now + ttl));
    let access: Map<String, Value> =
        serde_json::from_slice(verified.payload()).map_err(internal)?;
    let mut payload: Map<String, Value> = access
        .into_iter()
        .filter(|(name, _)| CARRIED.contains(&name.as_str()))
        .collect();
    if let Some(path) = path {
        payload.insert(PATH_CLAIM.to_owned(), path.into());
    }
    payload.insert("iat".to_owned(), now.into());
    payload.insert("exp".to_owned(), exp.into());
    payload.insert("jti".to_owned(), random_id().map_err(internal)?.into());
    let ticket = sign(gate.keys(), TokenKind::Ticket, &payload).map_err(internal)?;
    Ok(Response::json(
        201,
        &serde_json::json!({ "ticket": ticket, "expiresIn": (exp - now).max(1) }),
    ))
}

/// The most tickets one subject is given in one `ticket_ttl`: each spent ticket is a window of
/// the shared counter until it would have expired, so the subject's windows stay bounded and
/// one user opening sockets in a loop cannot fill the counter sign-ins share.
const TICKETS_PER_TTL: u32 = 100;

/// Counts a ticket asked by `subject`; 429 with `Retry-After` past [`TICKETS_PER_TTL`].
async fn asked_within_limit(
    gate: &TokenGate,
    subject: &str,
    ttl: i64,
    now: i64,
) -> Result<(), Error> {
    use crate::throttle::Reservation;
    let tag = crate::jws::mac::MacKey::new(b"tokengate tickets").sign(&[subject.as_bytes()]);
    let key = format!(
        "tickets:{}",
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            &tag[..18]
        )
    );
    let window = u64::try_from(ttl).unwrap_or(30).max(1);
    match gate
        .failures()
        .reserve(&key, TICKETS_PER_TTL, window, now)
        .await
    {
        Ok(Reservation::Granted(_)) => Ok(()),
        Ok(refused @ Reservation::Refused(_)) => Err(Error::new(ErrorKind::TooManyAttempts {
            retry_after: refused.retry_after(now).unwrap_or(1),
        })),
        Err(error) => {
            tracing::warn!(target: "tokengate", %error, "attempt counter failed: no WebSocket ticket can be given");
            Err(Error::new(ErrorKind::Unavailable("attempt counter")))
        }
    }
}

/// The claims of the access token a ticket carries: what the guard and a socket route's
/// requirements read.
const CARRIED: [&str; 7] = ["iss", "aud", "sub", "sid", "app", "roles", "scope"];

/// The claim of the path a ticket is bound to.
const PATH_CLAIM: &str = "wsp";

/// `path` when a ticket may be bound to it: a plain absolute path (no escapes, no empty or dot
/// segments) that one of the `websocket_paths` covers.
fn socket_path(gate: &TokenGate, path: &str) -> Result<String, Error> {
    let invalid = |reason: &str| {
        Error::new(ErrorKind::InvalidField {
            field: "path",
            reason: reason.to_owned(),
        })
    };
    let body = path
        .strip_prefix('/')
        .ok_or_else(|| invalid("must be an absolute path"))?;
    let plain = !path.contains(['%', '?', '#', '\\'])
        && body
            .split('/')
            .enumerate()
            .all(|(at, segment)| match segment {
                "." | ".." => false,
                // A trailing `/` (`/ws/`) names everything under it.
                "" => at + 1 == body.split('/').count(),
                _ => true,
            });
    if !plain {
        return Err(invalid(
            "must be a plain path: no escapes, `?`, `#`, empty or dot segments",
        ));
    }
    let covered =
        gate.config()
            .guard
            .websocket_paths
            .iter()
            .any(|listed| match listed.strip_suffix('*') {
                Some(prefix) => path.starts_with(prefix) || prefix.strip_suffix('/') == Some(path),
                None => listed == path,
            });
    if !covered {
        return Err(invalid("is not one of the WebSocket paths"));
    }
    Ok(path.to_owned())
}
