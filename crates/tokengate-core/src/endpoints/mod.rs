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
mod metrics;
mod mfa;
#[cfg(feature = "federation")]
mod oidc;
#[cfg(feature = "passkeys")]
mod passkeys;
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
use crate::http::form::{body_kind, parse_kind, read_body, BodyKind, Fields};
use crate::http::request::RequestHead;
use crate::http::response::Response;
use crate::store::StoreError;
use crate::telemetry::{REFRESHES, SIGNINS};

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
        let answered = serve(self, endpoint, head, body).await;
        count(endpoint, &answered);
        match answered {
            Ok(response) => response,
            Err(error) => self.error_response_to(&error, head),
        }
    }
}

/// Counts a sign-in (by its method) or a `/token` call by its outcome; see
/// [`crate::telemetry`]. A provider sign-in is counted at its callback, where the identity is
/// proved (an app's code exchanged after it is not counted again).
fn count(endpoint: Endpoint, answered: &Result<Response, Error>) {
    let method = match endpoint {
        Endpoint::SignIn => "password",
        Endpoint::PasskeySignIn => "passkey",
        Endpoint::ProviderCallback => "provider",
        Endpoint::Refresh => {
            let outcome = match answered {
                Ok(_) => "success",
                Err(error) => match error.kind() {
                    ErrorKind::Unavailable(_) => "store_down",
                    _ if error.status() >= 500 => "error",
                    _ => "refused",
                },
            };
            ::metrics::counter!(REFRESHES, "outcome" => outcome).increment(1);
            return;
        }
        _ => return,
    };
    let outcome = match answered {
        Ok(_) => "success",
        Err(error) => match error.kind() {
            ErrorKind::InvalidCredentials | ErrorKind::InvalidPasskey => "wrong_credentials",
            ErrorKind::TooManyAttempts { .. } => "throttled",
            ErrorKind::Busy { .. } => "busy",
            ErrorKind::Unavailable(_) => "store_down",
            _ if error.status() >= 500 => "error",
            _ => "refused",
        },
    };
    ::metrics::counter!(SIGNINS, "method" => method, "outcome" => outcome).increment(1);
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
    let mut body = pin!(body);
    if !reads_body(endpoint, head.method()) {
        // Nothing is read from it, but the answer must still reach the client.
        discard(body.as_mut(), head.header("content-length")).await;
    }
    let body = body.as_mut();
    match endpoint {
        Endpoint::Jwks => Ok(jwks::jwks(gate, head)),
        Endpoint::OpenIdConfiguration | Endpoint::AuthorizationServerMetadata => {
            Ok(discovery::metadata(gate))
        }
        Endpoint::Metrics => metrics::metrics(gate, head).await,
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
        Endpoint::ListFactors => mfa::list(gate, head).await,
        // The access token is the whole request.
        Endpoint::EnrolTotp => mfa::enrol(gate, head).await,
        Endpoint::RemoveFactor => mfa::remove(gate, head).await,
        Endpoint::RecoveryCodes => mfa::replace_recovery(gate, head).await,
        Endpoint::ConfirmFactor => {
            mfa::confirm(gate, head, &body_fields(gate, head, body).await?).await
        }
        Endpoint::VerifyFactor => {
            let (kind, bytes) = body_bytes(gate, head, body).await?;
            #[cfg(feature = "passkeys")]
            if gate.mfa().is_some_and(|mfa| mfa.passkeys.is_some()) {
                if let Some((fields, credential)) = with_credential(&kind, &bytes)? {
                    return passkeys::verify(gate, head, &fields, &credential).await;
                }
            }
            mfa::verify(gate, head, &parse_kind(&kind, bytes).await?).await
        }
        #[cfg(feature = "passkeys")]
        Endpoint::ListPasskeys => passkeys::list(gate, head).await,
        // The access token is the whole request.
        #[cfg(feature = "passkeys")]
        Endpoint::PasskeyRegisterOptions => passkeys::register_options(gate, head).await,
        #[cfg(feature = "passkeys")]
        Endpoint::PasskeyRegister => {
            passkeys::register(gate, head, &json_body(gate, head, body).await?).await
        }
        #[cfg(feature = "passkeys")]
        Endpoint::PasskeySignInOptions => passkeys::signin_options(gate, head).await,
        #[cfg(feature = "passkeys")]
        Endpoint::PasskeySignIn => {
            passkeys::signin(gate, head, &json_body(gate, head, body).await?).await
        }
        #[cfg(feature = "passkeys")]
        Endpoint::PasskeyVerifyOptions => {
            passkeys::verify_options(gate, head, &body_fields(gate, head, body).await?).await
        }
        #[cfg(feature = "passkeys")]
        Endpoint::Passkey if head.method() == "DELETE" => passkeys::remove(gate, head).await,
        #[cfg(feature = "passkeys")]
        Endpoint::Passkey => {
            passkeys::rename(gate, head, &body_fields(gate, head, body).await?).await
        }
        #[cfg(feature = "federation")]
        Endpoint::ProviderStart => oidc::start(gate, head).await,
        #[cfg(feature = "federation")]
        Endpoint::ProviderCallback => oidc::callback(gate, head).await,
        #[cfg(feature = "federation")]
        Endpoint::ProviderExchange => {
            oidc::exchange(gate, head, &body_fields(gate, head, body).await?).await
        }
        // A build without federation never routes these (the gate refuses `[[providers]]`).
        #[cfg(not(feature = "federation"))]
        Endpoint::ProviderStart | Endpoint::ProviderCallback | Endpoint::ProviderExchange => {
            Err(internal("identity providers are not in this build"))
        }
        // A build without passkeys never routes their endpoints (the gate refuses
        // `passkey_rp_id`).
        #[cfg(not(feature = "passkeys"))]
        Endpoint::ListPasskeys
        | Endpoint::PasskeyRegisterOptions
        | Endpoint::PasskeyRegister
        | Endpoint::PasskeySignInOptions
        | Endpoint::PasskeySignIn
        | Endpoint::PasskeyVerifyOptions
        | Endpoint::Passkey => Err(internal("passkeys are not in this build")),
    }
}

/// Whether the endpoint reads its body; the others are answered from the head alone.
fn reads_body(endpoint: Endpoint, method: &str) -> bool {
    match endpoint {
        Endpoint::SignIn
        | Endpoint::Refresh
        | Endpoint::SignOut
        | Endpoint::Ticket
        | Endpoint::Introspect
        | Endpoint::Revoke
        | Endpoint::ConfirmFactor
        | Endpoint::VerifyFactor
        | Endpoint::PasskeyRegister
        | Endpoint::PasskeySignIn
        | Endpoint::PasskeyVerifyOptions
        | Endpoint::ProviderExchange => true,
        Endpoint::Passkey => method != "DELETE",
        Endpoint::Jwks
        | Endpoint::OpenIdConfiguration
        | Endpoint::AuthorizationServerMetadata
        | Endpoint::ListSessions
        | Endpoint::EndSession
        | Endpoint::ListFactors
        | Endpoint::EnrolTotp
        | Endpoint::RemoveFactor
        | Endpoint::RecoveryCodes
        | Endpoint::ListPasskeys
        | Endpoint::PasskeyRegisterOptions
        | Endpoint::PasskeySignInOptions
        | Endpoint::ProviderStart
        | Endpoint::ProviderCallback
        | Endpoint::Metrics => false,
    }
}

/// A JSON body with an object `credential` (a passkey's assertion) among its fields: the
/// other fields, and the credential. `None` for any other body, which is read as fields.
#[cfg(feature = "passkeys")]
fn with_credential(
    kind: &BodyKind,
    bytes: &bytes::Bytes,
) -> Result<Option<(Fields, serde_json::Value)>, Error> {
    /// A JSON object's members in order, each name as often as it comes.
    struct Members(Vec<(String, serde_json::Value)>);

    impl<'de> serde::Deserialize<'de> for Members {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct Visit;
            impl<'de> serde::de::Visitor<'de> for Visit {
                type Value = Members;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Members, A::Error> {
                    let mut members = Vec::new();
                    while let Some(member) = map.next_entry()? {
                        members.push(member);
                    }
                    Ok(Members(members))
                }
            }
            deserializer.deserialize_map(Visit)
        }
    }

    if !matches!(kind, BodyKind::Json) {
        return Ok(None);
    }
    let Ok(Members(members)) = serde_json::from_slice(bytes) else {
        return Ok(None);
    };
    if !members
        .iter()
        .any(|(name, value)| name == "credential" && value.is_object())
    {
        return Ok(None);
    }
    let mut fields = Fields::default();
    let mut credential = None;
    for (name, value) in members {
        if name == "credential" {
            if credential.is_some() {
                return Err(Error::new(ErrorKind::DuplicateField(name)));
            }
            credential = Some(value);
            continue;
        }
        let text = match value {
            serde_json::Value::Null => continue,
            serde_json::Value::String(text) => text,
            serde_json::Value::Bool(flag) => flag.to_string(),
            serde_json::Value::Number(number) => number.to_string(),
            serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                return Err(Error::new(ErrorKind::MalformedBody(format!(
                    "the field `{name}` must be a string, a number or a boolean"
                ))))
            }
        };
        fields.push(name, text)?;
    }
    Ok(credential.map(|credential| (fields, credential)))
}

/// A body that must be JSON (a passkey's credential, whole): read under the limit, not parsed.
#[cfg(feature = "passkeys")]
async fn json_body<R, S, B, E>(gate: &TokenGate, head: &R, body: S) -> Result<bytes::Bytes, Error>
where
    R: RequestHead + ?Sized,
    S: Stream<Item = Result<B, E>>,
    B: Buf,
    E: fmt::Display,
{
    let (kind, bytes) = body_bytes(gate, head, body).await?;
    if !matches!(kind, BodyKind::Json) {
        return Err(Error::new(ErrorKind::UnsupportedMediaType));
    }
    Ok(bytes)
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
    let (kind, bytes) = body_bytes(gate, head, body).await?;
    parse_kind(&kind, bytes).await
}

/// A POST body, read: its form (from a content type checked before any byte is read) and its
/// bytes, read under the limit and within the deadline.
async fn body_bytes<R, S, B, E>(
    gate: &TokenGate,
    head: &R,
    body: S,
) -> Result<(BodyKind, bytes::Bytes), Error>
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
    Ok((kind, read))
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
async fn drain<S, B, E>(body: std::pin::Pin<&mut S>, length: Option<&[u8]>, kind: &ErrorKind)
where
    S: Stream<Item = Result<B, E>>,
    B: Buf,
{
    match kind {
        ErrorKind::PayloadTooLarge { .. } => read_on(body, length, true).await,
        ErrorKind::RequestTimeout => read_on(body, length, false).await,
        _ => {}
    }
}

/// Reads on a body and drops it: with `waits`, a body declared (or turning out) no longer than
/// [`DRAIN_BYTES`] for at most [`DRAIN_TIME`], and a larger one not at all; without, only what
/// has already arrived.
async fn read_on<S, B, E>(mut body: std::pin::Pin<&mut S>, length: Option<&[u8]>, waits: bool)
where
    S: Stream<Item = Result<B, E>>,
    B: Buf,
{
    let declared = length
        .and_then(|value| std::str::from_utf8(value).ok())
        .and_then(|text| text.trim().parse::<u64>().ok());
    if waits && declared.is_some_and(|n| n > DRAIN_BYTES) {
        return;
    }
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

/// Reads and drops the body of a request answered from its head alone, as a refused body is
/// drained: a connection closed with unread data is reset, and the reset can destroy the
/// answer before the client reads it.
async fn discard<S, B, E>(body: std::pin::Pin<&mut S>, length: Option<&[u8]>)
where
    S: Stream<Item = Result<B, E>>,
    B: Buf,
{
    read_on(body, length, true).await;
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
