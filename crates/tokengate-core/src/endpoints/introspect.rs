//! `POST {prefix}/introspect` (RFC 7662): whether a token is an access token of this issuer
//! whose session is live, and its claims, for an application authenticated as an OAuth client.
//! "Live" is asked of the store on each call (a session this instance saw end is not asked
//! again), so a service that introspects has strict revocation without sharing the store.
//!
//! Any application may introspect any token: it sees the token's claims, as a service the
//! token is sent to would. A token past its `exp` is inactive at once (the guard's leeway is
//! for other hosts' clocks; this is the issuer's). Anything that is not a live access token — a refresh token, a
//! ticket, another issuer's token, an expired or signed-out one, garbage — is
//! `{"active": false}` and nothing else.

use serde_json::Value;

use super::client::{self, Client};
use super::fields::required;
use crate::clock::unix_now;
use crate::gate::TokenGate;
use crate::http::error::{Error, ErrorKind};
use crate::http::form::Fields;
use crate::http::request::RequestHead;
use crate::http::response::Response;
use crate::jws::VerifiedToken;

pub(super) async fn introspect<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
    fields: &Fields,
) -> Result<Response, Error> {
    let Client::Confidential { id, secret } = client::presented(head, fields)? else {
        return Err(Error::new(ErrorKind::InvalidClient));
    };
    let token = required(fields, "token")?;
    // `token_type_hint` may be anything (RFC 7662 §2.1): only access tokens are ever active.
    client::authenticate(gate, head, &id, &secret).await?;
    let answer = match gate.verify_access(token) {
        Ok(verified) if current(&verified) && live(gate, &verified).await? => active(&verified),
        _ => serde_json::json!({ "active": false }),
    };
    Ok(Response::json(200, &answer))
}

/// Whether the token is within its time now, to the second: the guard allows some leeway
/// for the clocks of other issuers' hosts; here the issuer's own clock decides.
fn current(verified: &VerifiedToken) -> bool {
    let now = unix_now();
    let claims = verified.claims();
    let nbf = serde_json::from_slice::<NotBefore>(verified.payload())
        .ok()
        .and_then(|times| times.nbf);
    claims.exp.is_some_and(|exp| now < exp) && nbf.is_none_or(|nbf| nbf <= now)
}

#[derive(serde::Deserialize)]
struct NotBefore {
    nbf: Option<i64>,
}

/// Whether the token's session is live now: from the store, unless this instance saw it end.
async fn live(gate: &TokenGate, verified: &VerifiedToken) -> Result<bool, Error> {
    let claims = verified.claims();
    gate.session_is_live_now(&claims.sub, &claims.sid).await
}

/// The answer for a live access token: its claims, with `active`, `token_type` and, for an
/// application's token, `client_id` (the application's key, which is its subject).
fn active(verified: &VerifiedToken) -> Value {
    let mut answer = match serde_json::from_slice::<Value>(verified.payload()) {
        Ok(Value::Object(claims)) => claims,
        // The payload is an object: it passed this parse when it was verified.
        _ => serde_json::Map::new(),
    };
    let claims = verified.claims();
    if claims.app.is_some() {
        answer.insert("client_id".to_owned(), claims.sub.clone().into());
    }
    answer.insert("token_type".to_owned(), "Bearer".into());
    answer.insert("active".to_owned(), true.into());
    Value::Object(answer)
}
