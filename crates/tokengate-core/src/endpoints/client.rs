//! An application authenticating as an OAuth client (RFC 6749 §2.3.1), for introspection and
//! revocation: its key as the client id, its secret as the client secret, by HTTP Basic or by
//! `client_id` and `client_secret` in the body — one of the two, never both. Throttled as a
//! sign-in is, on counters of their own for the key from each address (so that no one can
//! lock a resource server out from elsewhere) and the address's, shared with sign-in; an
//! application that authenticated lately is not verified again for a minute (see the gate's
//! client cache). A `client_id` without a secret is a public client, which proves nothing.

use std::borrow::Cow;

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

/// The longest client id or secret read.
const MAX_CREDENTIAL: usize = 1024;

/// How a request presents its client (RFC 6749 §2.3).
#[derive(PartialEq, Eq)]
pub(super) enum Client<'a> {
    /// No client at all.
    Absent,
    /// `client_id` alone: a public client (RFC 6749 §2.1), which proves nothing.
    Public,
    /// A confidential client's id and secret, by HTTP Basic or in the body.
    Confidential {
        /// The application key.
        id: Cow<'a, str>,
        /// Its secret.
        secret: Cow<'a, str>,
    },
}

impl std::fmt::Debug for Client<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Absent => f.write_str("Absent"),
            Self::Public => f.write_str("Public"),
            Self::Confidential { id, .. } => f
                .debug_struct("Confidential")
                .field("id", id)
                .field("secret", &"REDACTED")
                .finish(),
        }
    }
}

/// The client a request presents: HTTP Basic, or `client_id` (and `client_secret`) in the
/// body. A malformed `Authorization: Basic` is 401; a secret in the body without its id, or
/// credentials both ways at once (beyond the same `client_id` repeated in the body), is 400.
pub(super) fn presented<'a, R: RequestHead + ?Sized>(
    head: &R,
    fields: &'a Fields,
) -> Result<Client<'a>, Error> {
    let basic = head
        .header("authorization")
        .and_then(basic_credentials)
        .transpose()?;
    let id = non_empty(fields, "client_id")?;
    let secret = non_empty(fields, "client_secret")?;
    let both = || {
        Error::new(ErrorKind::InvalidField {
            field: "client_secret",
            reason: "cannot come with HTTP Basic credentials as well".to_owned(),
        })
    };
    let client = match (basic, id, secret) {
        (None, None, None) => Client::Absent,
        (None, Some(_), None) => Client::Public,
        (None, None, Some(_)) => return Err(Error::new(ErrorKind::MissingField("client_id"))),
        (None, Some(id), Some(secret)) => Client::Confidential {
            id: Cow::Borrowed(id),
            secret: Cow::Borrowed(secret),
        },
        (Some(_), _, Some(_)) => return Err(both()),
        (Some((basic, _)), Some(id), None) if basic != id => return Err(both()),
        (Some((id, secret)), _, None) => Client::Confidential {
            id: Cow::Owned(id),
            secret: Cow::Owned(secret),
        },
    };
    if let Client::Confidential { id, secret } = &client {
        if id.len() > MAX_CREDENTIAL || secret.len() > MAX_CREDENTIAL {
            return Err(Error::new(ErrorKind::InvalidClient));
        }
    }
    Ok(client)
}

/// The id and secret of an `Authorization: Basic` header; `None` for another scheme; 401 for
/// a Basic value that cannot be read. Each is form-urlencoded within the header, as RFC 6749
/// §2.3.1 has it (an id or secret of letters, digits, `-`, `_`, `.` and `~` is the same either
/// way).
fn basic_credentials(value: &[u8]) -> Option<Result<(String, String), Error>> {
    let invalid = || Error::new(ErrorKind::InvalidClient);
    let value = value.trim_ascii();
    // The scheme, then any whitespace: `Basic`, `basic`, `BASIC\t...` alike.
    let scheme_end = value
        .iter()
        .position(u8::is_ascii_whitespace)
        .unwrap_or(value.len());
    if !value[..scheme_end].eq_ignore_ascii_case(b"basic") {
        return None;
    }
    let encoded = value[scheme_end..].trim_ascii();
    let decoded = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    )
    .decode(encoded)
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

/// The application that `id` and `secret` authenticate: 401 for wrong credentials, 429 once
/// too many failed (for this key from this address, or from this address at all), 503 when
/// the directory or the counter is down. Credentials verified within the last minute are not
/// verified again, and requests with the same credentials wait for the one verification under
/// way.
pub(super) async fn authenticate<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
    id: &str,
    secret: &str,
) -> Result<Principal, Error> {
    let cache = gate.clients();
    // Only the very same id and secret hit, so a hit needs no throttling.
    if let Some(principal) = cache.get(id, secret, unix_now()) {
        return Ok(principal);
    }
    let _verifying = cache.verifying(id, secret).await;
    let now = unix_now();
    if let Some(principal) = cache.get(id, secret, now) {
        return Ok(principal);
    }
    let client = gate.client_addr(head);
    let attempt = Attempt::client(&gate.config().throttle, id, client);
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
    // A full hash queue refuses before the directory is asked about the key; the failure
    // reserved is given back, as nothing was decided.
    let checked = match gate
        .queued_check(|| gate.credentials().verify_client(id, secret))
        .await
    {
        Ok(checked) => checked,
        Err(busy) => {
            reserved.undecided(counter).await;
            return Err(busy);
        }
    };
    match checked {
        Ok(Some(principal)) => {
            reserved.succeeded(counter).await;
            cache.put(id, secret, &principal, now);
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

    use base64::engine::general_purpose::STANDARD;

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
        // Any whitespace after the scheme; padding or none.
        assert_eq!(
            read(b"BASIC\ta2V5OnNlY3JldA"),
            Some(Some(("key".to_owned(), "secret".to_owned())))
        );
        // Another scheme is not client authentication.
        assert_eq!(read(b"Bearer abc"), None);
        assert_eq!(read(b"Basically abc"), None);
        let client = Client::Confidential {
            id: Cow::Borrowed("key"),
            secret: Cow::Borrowed("hunter2"),
        };
        assert!(!format!("{client:?}").contains("hunter2"));
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
