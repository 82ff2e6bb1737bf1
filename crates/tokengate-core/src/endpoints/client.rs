//! An application authenticating as an OAuth client (RFC 6749 §2.3.1), for introspection and
//! revocation: its key as the client id, its secret as the client secret, by HTTP Basic or by
//! `client_id` and `client_secret` in the body — one of the two, never both. Throttled as a
//! sign-in is, on counters of its own for the key (and the address's, shared with sign-in);
//! an application that authenticated lately is not verified again for a minute (see the gate's
//! client cache).

use std::borrow::Cow;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::fields::non_empty;
use crate::audit::{AuditEvent, AuditKind};
use crate::clock::unix_now;
use crate::credentials::Principal;
use crate::gate::TokenGate;
use crate::http::error::{Error, ErrorKind};
use crate::http::form::Fields;
use crate::http::request::RequestHead;
use crate::throttle::{Attempt, Refusal};

/// The throttling counters' namespace for client ids: no application name a sign-in can send
/// holds a control character, so these counters are never a sign-in's.
const CLIENT_COUNTERS: &str = "\u{1}oauth-client";

/// The longest client id or secret read.
const MAX_CREDENTIAL: usize = 1024;

/// A client id and secret, as presented.
pub(super) type ClientCredentials<'a> = (Cow<'a, str>, Cow<'a, str>);

/// The client credentials a request presents: HTTP Basic, or `client_id` and `client_secret`
/// in the body. `None` when it presents none; a malformed `Authorization: Basic`, only half
/// of the pair, or both ways at once is an error.
pub(super) fn presented<'a, R: RequestHead + ?Sized>(
    head: &R,
    fields: &'a Fields,
) -> Result<Option<ClientCredentials<'a>>, Error> {
    let basic = head.header("authorization").and_then(basic_credentials);
    let id = non_empty(fields, "client_id")?;
    let secret = non_empty(fields, "client_secret")?;
    let form = match (id, secret) {
        (None, None) => None,
        (Some(id), Some(secret)) => Some((Cow::Borrowed(id), Cow::Borrowed(secret))),
        (Some(_), None) => return Err(Error::new(ErrorKind::MissingField("client_secret"))),
        (None, Some(_)) => return Err(Error::new(ErrorKind::MissingField("client_id"))),
    };
    let presented = match (basic, form) {
        (Some(_), Some(_)) => {
            return Err(Error::new(ErrorKind::InvalidField {
                field: "client_id",
                reason: "cannot come with HTTP Basic credentials as well".to_owned(),
            }))
        }
        (Some(basic), None) => {
            let (id, secret) = basic?;
            Some((Cow::Owned(id), Cow::Owned(secret)))
        }
        (None, form) => form,
    };
    if let Some((id, secret)) = &presented {
        if id.len() > MAX_CREDENTIAL || secret.len() > MAX_CREDENTIAL {
            return Err(Error::new(ErrorKind::InvalidClient));
        }
    }
    Ok(presented)
}

/// The id and secret of an `Authorization: Basic` header; `None` for another scheme. Each is
/// form-urlencoded within the header, as RFC 6749 §2.3.1 has it (an id or secret of letters,
/// digits, `-`, `_`, `.` and `~` is the same either way).
fn basic_credentials(value: &[u8]) -> Option<Result<(String, String), Error>> {
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, encoded) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let invalid = || Error::new(ErrorKind::InvalidClient);
    let decoded = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let Some((id, secret)) = decoded.as_deref().and_then(|pair| pair.split_once(':')) else {
        return Some(Err(invalid()));
    };
    let unescape = |part: &str| {
        percent_encoding::percent_decode_str(&part.replace('+', " "))
            .decode_utf8()
            .ok()
            .map(Cow::into_owned)
            .filter(|part| !part.is_empty() && !part.chars().any(char::is_control))
    };
    Some(match (unescape(id), unescape(secret)) {
        (Some(id), Some(secret)) => Ok((id, secret)),
        _ => Err(invalid()),
    })
}

/// The application that `id` and `secret` authenticate, throttled as a sign-in is: 401 for
/// wrong credentials, 429 once too many failed, 503 when the directory or the counter is down.
pub(super) async fn authenticate<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
    id: &str,
    secret: &str,
) -> Result<Principal, Error> {
    let now = unix_now();
    // Only the very same id and secret hit, so a hit needs no throttling.
    if let Some(principal) = gate.clients().get(id, secret, now) {
        return Ok(principal);
    }
    let client = gate.client_addr(head);
    let attempt = Attempt::new(&gate.config().throttle, id, Some(CLIENT_COUNTERS), client);
    let counter = gate.failures();
    let reserved = match attempt.reserve(counter, now).await {
        Ok(reserved) => reserved,
        Err(Refusal::TooMany { retry_after }) => {
            gate.audit(&AuditEvent::new(AuditKind::Throttled, client).subject(id));
            return Err(Error::new(ErrorKind::TooManyAttempts { retry_after }));
        }
        Err(Refusal::Down(error)) => {
            tracing::warn!(target: "tokengate", %error, "failure counter unavailable");
            return Err(Error::new(ErrorKind::Unavailable("throttling store")));
        }
    };
    match gate.credentials().verify_client(id, secret).await {
        Ok(Some(principal)) => {
            reserved.succeeded(counter).await;
            gate.clients().put(id, secret, &principal, now);
            Ok(principal)
        }
        Ok(None) => {
            gate.audit(&AuditEvent::new(AuditKind::ClientFailed, client).subject(id));
            Err(Error::new(ErrorKind::InvalidClient))
        }
        Err(error) => {
            reserved.undecided(counter).await;
            tracing::warn!(target: "tokengate", %error, "credential directory failed");
            Err(Error::new(ErrorKind::Unavailable("credential directory")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(pair: &str) -> Vec<u8> {
        format!("Basic {}", STANDARD.encode(pair)).into_bytes()
    }

    #[test]
    fn basic_credentials_are_read_as_rfc_6749_encodes_them() {
        let read = |value: &[u8]| basic_credentials(value).map(Result::ok);
        assert_eq!(
            read(&basic("key-1:s3cr%3At+x")),
            Some(Some(("key-1".to_owned(), "s3cr:t x".to_owned())))
        );
        // The first colon splits: a raw colon in the secret stays in it.
        assert_eq!(
            read(&basic("key:a:b")),
            Some(Some(("key".to_owned(), "a:b".to_owned())))
        );
        assert_eq!(
            read(b"basic a2V5OnNlY3JldA=="),
            Some(Some(("key".to_owned(), "secret".to_owned())))
        );
        // Another scheme is not client authentication.
        assert_eq!(read(b"Bearer abc"), None);
        // Malformed: not base64, no colon, an empty half, invalid escapes, a control character.
        for bad in [
            b"Basic !!!".to_vec(),
            basic("no-colon"),
            basic(":secret"),
            basic("key:"),
            basic("key:%FF"),
            basic("key:a%0Ab"),
            b"Basic".to_vec(),
        ] {
            assert_eq!(
                read(&bad),
                Some(None),
                "{:?}",
                String::from_utf8_lossy(&bad)
            );
        }
    }
}
