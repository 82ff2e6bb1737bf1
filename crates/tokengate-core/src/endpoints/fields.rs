//! Reading the fields of an endpoint body, and the refresh token a request presents.

use crate::gate::TokenGate;
use crate::http::error::{Error, ErrorKind};
use crate::http::form::Fields;
use crate::http::request::{bearer, RequestHead};

/// A field that may be absent, but not empty.
pub(super) fn non_empty<'a>(
    fields: &'a Fields,
    name: &'static str,
) -> Result<Option<&'a str>, Error> {
    match fields.get(name) {
        Some("") => Err(Error::new(ErrorKind::InvalidField {
            field: name,
            reason: "must not be empty".to_owned(),
        })),
        other => Ok(other),
    }
}

/// A field that must be there, and not empty.
pub(super) fn required<'a>(fields: &'a Fields, name: &'static str) -> Result<&'a str, Error> {
    non_empty(fields, name)?.ok_or(Error::new(ErrorKind::MissingField(name)))
}

/// A `true`/`false` field; absent is false.
pub(super) fn flag(fields: &Fields, name: &'static str) -> Result<bool, Error> {
    match fields.get(name).map(str::to_ascii_lowercase).as_deref() {
        None | Some("false" | "0" | "") => Ok(false),
        Some("true" | "1") => Ok(true),
        Some(_) => Err(Error::new(ErrorKind::InvalidField {
            field: name,
            reason: "must be true or false".to_owned(),
        })),
    }
}

/// The refresh token a `/token` or `/signout` request presents: field `token`, else a bearer
/// header, else the refresh cookie; and whether it came from the cookie.
pub(super) fn presented_refresh<'a, R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &'a R,
    fields: &'a Fields,
) -> Result<(&'a str, bool), Error> {
    if let Some(token) = non_empty(fields, "token")? {
        return Ok((token, false));
    }
    if let Some(token) = bearer(head, gate.config().guard.accept_authentication_header) {
        return Ok((token, false));
    }
    gate.cookies()
        .refresh(head)
        .map(|token| (token, true))
        .ok_or(Error::new(ErrorKind::MissingRefreshToken))
}
