//! The endpoints the gate answers itself, one file each: [`signin`], [`refresh`] (`/token`),
//! [`signout`], [`sessions`] (listing and ending one), [`jwks`], [`discovery`], [`ticket`]
//! (WebSockets), [`introspect`] and [`revoke`] (for other services and OAuth clients); with
//! what they share — reading the fields of a body ([`fields`]), minting the tokens of a
//! session ([`tokens`]) and authenticating an application as an OAuth client ([`client`]).

mod client;
mod discovery;
// `parse_exp` is public for the fuzz targets only (feature `fuzzing`).
#[cfg_attr(not(feature = "fuzzing"), allow(unreachable_pub))]
mod exp;
mod fields;
mod introspect;
mod jwks;
mod refresh;
mod revoke;
mod sessions;
mod signin;
mod signout;
mod ticket;
mod tokens;

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::task::Poll;

use bytes::Buf;
use futures_util::Stream;

#[cfg(feature = "fuzzing")]
pub use exp::{parse_exp, Expiry};

use crate::gate::{Endpoint, TokenGate};
use crate::http::error::{Error, ErrorKind};
use crate::http::form::{body_kind, parse_kind, read_body, Fields};
use crate::http::request::RequestHead;
use crate::http::response::Response;
use crate::store::StoreError;

impl TokenGate {
    /// Answers an endpoint: checks the method and content type, reads the body under the limit,
    /// parses it and runs the endpoint. Every failure becomes its error answer.
    pub async fn serve<R, S, B, E>(&self, endpoint: Endpoint, head: &R, body: S) -> Response
    where
        R: RequestHead + ?Sized,
        S: Stream<Item = Result<B, E>>,
        B: Buf,
        E: fmt::Display,
    {
        match serve(self, endpoint, head, body).await {
            Ok(response) => response,
            Err(error) => self.error_response_to(&error, head),
        }
    }
}

async fn serve<R, S, B, E>(
    gate: &TokenGate,
    endpoint: Endpoint,
    head: &R,
    body: S,
) -> Result<Response, Error>
where
    R: RequestHead + ?Sized,
    S: Stream<Item = Result<B, E>>,
    B: Buf,
    E: fmt::Display,
{
    let route = endpoint.route();
    if !route.allows(head.method()) {
        return Err(Error::new(ErrorKind::MethodNotAllowed {
            allow: route.method,
        }));
    }
    match endpoint {
        Endpoint::Jwks => Ok(jwks::jwks(gate, head)),
        Endpoint::OpenIdConfiguration | Endpoint::AuthorizationServerMetadata => {
            Ok(discovery::metadata(gate))
        }
        Endpoint::ListSessions => sessions::sessions(gate, head).await,
        Endpoint::EndSession => sessions::end_session(gate, head).await,
        Endpoint::SignIn => signin::signin(gate, head, &body_fields(gate, head, body).await?).await,
        Endpoint::Refresh => {
            refresh::refresh(gate, head, &body_fields(gate, head, body).await?).await
        }
        Endpoint::SignOut => {
            signout::signout(gate, head, &body_fields(gate, head, body).await?).await
        }
        // The access token is the whole request; the body may name the socket's path.
        Endpoint::Ticket => ticket::ticket(gate, head, &body_fields(gate, head, body).await?).await,
        Endpoint::Introspect => {
            introspect::introspect(gate, head, &body_fields(gate, head, body).await?).await
        }
        Endpoint::Revoke => revoke::revoke(gate, head, &body_fields(gate, head, body).await?).await,
    }
}

/// The fields of a POST body: content type checked, read under the limit and within the
/// deadline, parsed.
async fn body_fields<R, S, B, E>(gate: &TokenGate, head: &R, body: S) -> Result<Fields, Error>
where
    R: RequestHead + ?Sized,
    S: Stream<Item = Result<B, E>>,
    B: Buf,
    E: fmt::Display,
{
    let content_type = match head.header("content-type") {
        None => None,
        Some(value) => Some(
            std::str::from_utf8(value).map_err(|_| Error::new(ErrorKind::UnsupportedMediaType))?,
        ),
    };
    let kind = body_kind(content_type)?;
    let settings = &gate.config().endpoints;
    // A client that never finishes its body holds no connection and no task for longer.
    let mut body = pin!(body);
    let read = read_body(
        body.as_mut(),
        head.header("content-length"),
        settings.body_limit,
    );
    let read = match deadline(settings.body_timeout) {
        Some(deadline) => {
            let (mut read, mut deadline) = (pin!(read), pin!(deadline));
            std::future::poll_fn(|cx| {
                if let Poll::Ready(body) = read.as_mut().poll(cx) {
                    return Poll::Ready(body);
                }
                deadline
                    .as_mut()
                    .poll(cx)
                    .map(|()| Err(Error::new(ErrorKind::RequestTimeout)))
            })
            .await
        }
        None => read.await,
    };
    let read = match read {
        Ok(read) => read,
        Err(error) => {
            // Also behind `Expect: 100-continue`: actix-web tells such a client to continue
            // before any service runs, so its body comes anyway and must be read for the
            // answer to reach it; hyper asks for it once the drain reads (at most 1 MiB).
            drain(body, head.header("content-length"), error.kind()).await;
            return Err(error);
        }
    };
    parse_kind(&kind, read).await
}

/// The most of a refused body read on before the answer, and for how long.
const DRAIN_BYTES: u64 = 1024 * 1024;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(1);

/// Reads on what the client is still sending of a body refused before its end, so that the
/// answer reaches it: a connection closed with unread data is reset, and the reset can destroy
/// the answer before the client reads it (it sees "connection reset" instead of its 413). For a
/// 413, a body declared (or turning out) no longer than [`DRAIN_BYTES`] is read for at most
/// [`DRAIN_TIME`]; a larger one is answered at once (on hyper, a client that sends `Expect:
/// 100-continue` then never sends it). For a 408, only what has already arrived is read: the client
/// is too slow to wait for.
async fn drain<S, B, E>(mut body: std::pin::Pin<&mut S>, length: Option<&[u8]>, kind: &ErrorKind)
where
    S: Stream<Item = Result<B, E>>,
    B: Buf,
{
    let declared = length
        .and_then(|value| std::str::from_utf8(value).ok())
        .and_then(|text| text.trim().parse::<u64>().ok());
    let waits = match kind {
        ErrorKind::PayloadTooLarge { .. } if declared.is_some_and(|n| n > DRAIN_BYTES) => return,
        ErrorKind::PayloadTooLarge { .. } => true,
        ErrorKind::RequestTimeout => false,
        _ => return,
    };
    let timer = if waits { deadline(DRAIN_TIME) } else { None };
    let mut timer = pin!(timer);
    let mut read = 0u64;
    while read <= DRAIN_BYTES {
        // The next chunk, or `None` once the time is up (at once when nothing may be awaited).
        let next = std::future::poll_fn(|cx| {
            if let Poll::Ready(chunk) = body.as_mut().poll_next(cx) {
                return Poll::Ready(chunk);
            }
            match timer.as_mut().as_pin_mut() {
                Some(timer) => timer.poll(cx).map(|()| None),
                None => Poll::Ready(None),
            }
        })
        .await;
        match next {
            Some(Ok(chunk)) => read += chunk.remaining() as u64,
            Some(Err(_)) | None => return,
        }
    }
}

/// A timer that fires after `duration`, when the runtime has timers (`#[tokio::main]` and
/// actix-web's runtime do; a runtime built without `enable_time` does not, and then bodies are
/// read without a deadline rather than the request panicking).
fn deadline(duration: std::time::Duration) -> Option<tokio::time::Sleep> {
    use std::sync::atomic::{AtomicBool, Ordering};
    static NO_TIMERS: AtomicBool = AtomicBool::new(false);
    if NO_TIMERS.load(Ordering::Relaxed) {
        return None;
    }
    let sleep = std::panic::catch_unwind(|| tokio::time::sleep(duration)).ok();
    if sleep.is_none() && !NO_TIMERS.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            target: "tokengate",
            "the tokio runtime has no timers (`enable_time`): endpoint bodies are read without a deadline"
        );
    }
    sleep
}

/// A session store error, as the endpoints answer it (503), logged.
fn store_down(error: &StoreError) -> Error {
    tracing::warn!(target: "tokengate", %error, kind = error.kind().as_str(), "session store failed");
    Error::new(ErrorKind::Unavailable("session store"))
}

/// Something that cannot fail did (randomness, signing with a prepared key): a 500.
fn internal(error: impl fmt::Display) -> Error {
    Error::new(ErrorKind::Internal(error.to_string()))
}
