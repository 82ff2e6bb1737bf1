//! The plain answer that both adapters translate into their framework's response.
//!
//! Header names and values are checked where they enter a [`Response`], so an adapter can
//! never meet one its framework refuses: a name is a lower-case RFC 9110 token, a value holds
//! no control character but tab.
//!
//! # Example
//!
//! ```
//! use tokengate::serde_json::json;
//! use tokengate::Response;
//!
//! let mut response = Response::json(201, &json!({"accessToken": "..."}));
//! assert_eq!(response.status, 201);
//! assert_eq!(response.header("content-type"), Some("application/json"));
//! // Names are normalised to lower case; a name or value that HTTP forbids is an error.
//! response.append_header("X-Request-Id", "42")?;
//! assert_eq!(response.header("x-request-id"), Some("42"));
//! assert!(response.append_header("bad name", "x").is_err());
//! assert!(response.append_header("x-ok", "line\r\nbreak").is_err());
//! # Ok::<(), tokengate::InvalidHeader>(())
//! ```

use std::borrow::Cow;

use bytes::Bytes;
use serde::Serialize;

use super::request::RequestHead;

/// A status, headers and a body; no framework types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status code; adapters answer 500 for one outside 100..=999.
    pub status: u16,
    /// Lower-case names and values, in order; a name may repeat (`set-cookie`).
    headers: Vec<(Cow<'static, str>, String)>,
    /// The body bytes.
    pub body: Bytes,
}

/// A header name or value that HTTP does not allow, refused by [`Response::append_header`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid response header `{name}`: {reason}")]
pub struct InvalidHeader {
    /// The name as given (its value is left out: it may be a secret).
    pub name: String,
    /// What is wrong.
    pub reason: &'static str,
}

/// Whether `name` is an RFC 9110 token (`tchar`s only), not empty.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

/// Whether `value` is a header value both `http` crates accept: visible ASCII, spaces, tabs
/// and bytes of 0x80 and above, no other control character.
fn is_field_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80)
}

impl Response {
    /// The `error` code of a JSON error answer (`missing_token`, `insufficient_scope`...);
    /// `None` for any other answer.
    pub fn error_code(&self) -> Option<String> {
        let body: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        body.get("error")?.as_str().map(str::to_owned)
    }

    /// The gRPC status code of this answer and its description (the JSON `error_description`,
    /// not yet percent-encoded), as [`Response::to_grpc`] sends them: for adapters that hand
    /// gRPC frameworks a status of their own type.
    pub fn grpc_status(&self) -> (i32, String) {
        let code = match self.status {
            200..=299 => 0,
            400 | 413 => 3,
            401 => 16,
            403 => 7,
            404 | 405 => 12,
            429 => 8,
            503 => 14,
            _ => 13,
        };
        let description = serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|body| body.get("error_description")?.as_str().map(str::to_owned))
            .unwrap_or_default();
        (code, description)
    }

    /// The same refusal as a gRPC client expects it: HTTP 200 with no body and the status in
    /// the headers ("Trailers-Only"), `grpc-status` from the HTTP status (401 is 16
    /// `UNAUTHENTICATED`, 403 is 7 `PERMISSION_DENIED`, 429 is 8 `RESOURCE_EXHAUSTED`, 503 is 14
    /// `UNAVAILABLE`, 400 and 413 are 3 `INVALID_ARGUMENT`, 404 is 12 `UNIMPLEMENTED`, 405 is 12
    /// too, anything else 13 `INTERNAL`) and the description in `grpc-message`,
    /// percent-encoded as the gRPC protocol says. Headers other than the body's own are kept
    /// (an error hook's request id, the Bearer challenge).
    ///
    /// ```
    /// use tokengate::serde_json::json;
    /// use tokengate::Response;
    ///
    /// let refusal = Response::json(403, &json!({
    ///     "error": "insufficient_scope", "error_description": "needs role admin: 100%",
    /// }));
    /// let grpc = refusal.to_grpc();
    /// assert_eq!((grpc.status, grpc.body.len()), (200, 0));
    /// assert_eq!(grpc.header("content-type"), Some("application/grpc"));
    /// assert_eq!(grpc.header("grpc-status"), Some("7"));
    /// assert_eq!(grpc.header("grpc-message"), Some("needs role admin: 100%25"));
    /// ```
    #[must_use]
    pub fn to_grpc(&self) -> Response {
        let (code, description) = self.grpc_status();
        let message = grpc_message(&description);
        let mut headers: Vec<(Cow<'static, str>, String)> = vec![
            (Cow::Borrowed("content-type"), "application/grpc".to_owned()),
            (Cow::Borrowed("grpc-status"), code.to_string()),
        ];
        if !message.is_empty() {
            headers.push((Cow::Borrowed("grpc-message"), message));
        }
        headers.extend(
            self.headers
                .iter()
                .filter(|(name, _)| {
                    !matches!(
                        name.as_ref(),
                        "content-type" | "content-length" | "x-content-type-options"
                    )
                })
                .cloned(),
        );
        Response {
            status: 200,
            headers,
            body: Bytes::new(),
        }
    }

    /// A JSON answer with `Content-Type: application/json`, `Cache-Control: no-store`
    /// (RFC 6749 §5.1: token answers must not be cached) and `X-Content-Type-Options: nosniff`
    /// (a browser never reads the JSON as anything else).
    pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> Self {
        // Serializing our own maps and structs cannot fail; an empty object is the safe fallback.
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
        Self {
            status,
            headers: vec![
                (Cow::Borrowed("content-type"), "application/json".to_owned()),
                (Cow::Borrowed("cache-control"), "no-store".to_owned()),
                (
                    Cow::Borrowed("x-content-type-options"),
                    "nosniff".to_owned(),
                ),
            ],
            body: Bytes::from(body),
        }
    }

    /// The first value of a header, by name (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Every header, in order: lower-case name and value.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers
            .iter()
            .map(|(name, value)| (name.as_ref(), value.as_str()))
    }

    /// Adds a header after the others (the name in any case; it is kept in lower case).
    pub fn append_header(
        &mut self,
        name: &str,
        value: impl Into<String>,
    ) -> Result<&mut Self, InvalidHeader> {
        let value = value.into();
        let invalid = |reason| InvalidHeader {
            name: name.to_owned(),
            reason,
        };
        if !is_token(name) {
            return Err(invalid("the name is not an HTTP token"));
        }
        if !is_field_value(&value) {
            return Err(invalid("the value holds a control character"));
        }
        self.headers
            .push((Cow::Owned(name.to_ascii_lowercase()), value));
        Ok(self)
    }

    /// Replaces every value of a header by one (the name in any case).
    pub fn set_header(
        &mut self,
        name: &str,
        value: impl Into<String>,
    ) -> Result<&mut Self, InvalidHeader> {
        self.remove_header(name);
        self.append_header(name, value)
    }

    /// Removes every value of a header (the name in any case).
    pub fn remove_header(&mut self, name: &str) -> &mut Self {
        self.headers
            .retain(|(key, _)| !key.eq_ignore_ascii_case(name));
        self
    }

    /// Adds `name` to the JSON object of the body (a body that is not one is left alone).
    pub(crate) fn add_field(&mut self, name: &str, value: serde_json::Value) {
        if let Ok(mut object) =
            serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&self.body)
        {
            object.insert(name.to_owned(), value);
            if let Ok(body) = serde_json::to_vec(&object) {
                self.body = Bytes::from(body);
            }
        }
    }

    /// Adds a header the core writes itself, whose name is a lower-case literal.
    pub(crate) fn push(&mut self, name: &'static str, value: String) {
        debug_assert!(is_token(name) && !name.bytes().any(|b| b.is_ascii_uppercase()));
        debug_assert!(is_field_value(&value));
        self.headers.push((Cow::Borrowed(name), value));
    }
}

/// `text` as a `grpc-message` value: every byte outside visible ASCII and space, and `%`
/// itself, percent-encoded (UTF-8 first).
fn grpc_message(text: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if (b' '..=b'~').contains(&byte) && byte != b'%' {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// `response` as `head` expects a refusal: as it is, or, for a gRPC call (`content-type:
/// application/grpc...`), the same refusal as gRPC status headers ([`Response::to_grpc`]).
/// The content type is read only here, on the way out of a refusal.
pub(crate) fn shaped_for<R: RequestHead + ?Sized>(response: Response, head: &R) -> Response {
    let grpc = head
        .header("content-type")
        .is_some_and(|value| value.starts_with(b"application/grpc"));
    if grpc {
        response.to_grpc()
    } else {
        response
    }
}

#[cfg(test)]
mod tests {
    /// A refusal reaches a gRPC client as gRPC status headers, and anyone else as it is.
    #[test]
    fn a_refusal_is_shaped_for_grpc_calls_only() {
        struct Call(&'static str);
        impl super::RequestHead for Call {
            fn method(&self) -> &'static str {
                "POST"
            }
            fn path(&self) -> &'static str {
                "/helloworld.Greeter/SayHello"
            }
            fn header(&self, name: &str) -> Option<&[u8]> {
                (name == "content-type").then_some(self.0.as_bytes())
            }
        }
        let refused = || {
            Response::json(
                401,
                &serde_json::json!({
                    "error": "missing_token", "error_description": "an access token is required",
                }),
            )
        };
        let grpc = super::shaped_for(refused(), &Call("application/grpc+proto"));
        assert_eq!((grpc.status, grpc.header("grpc-status")), (200, Some("16")));
        let rest = super::shaped_for(refused(), &Call("application/json"));
        assert_eq!((rest.status, rest.header("grpc-status")), (401, None));
    }

    use super::*;

    #[test]
    fn mixed_case_names_are_normalised_and_bad_ones_refused() {
        let mut response = Response::json(200, &());
        response.append_header("X-Request-Id", "abc").unwrap();
        assert_eq!(response.header("x-request-id"), Some("abc"));
        assert!(response.headers().any(|(name, _)| name == "x-request-id"));
        for name in ["", "a b", "a:b", "é", "a\nb"] {
            assert!(response.append_header(name, "x").is_err(), "{name:?}");
        }
        for value in ["a\rb", "a\nb", "a\0b", "\u{7f}"] {
            assert!(response.append_header("x-v", value).is_err(), "{value:?}");
        }
        response.set_header("Cache-Control", "private").unwrap();
        assert_eq!(response.header("cache-control"), Some("private"));
        assert_eq!(
            response
                .headers()
                .filter(|(n, _)| *n == "cache-control")
                .count(),
            1
        );
    }

    #[test]
    fn grpc_refusals_carry_their_code_and_an_encoded_message() {
        let refusal = |status, description: &str| {
            Response::json(
                status,
                &serde_json::json!({ "error": "x", "error_description": description }),
            )
            .to_grpc()
        };
        let missing = refusal(401, "an access token is required");
        assert_eq!(missing.header("grpc-status"), Some("16"));
        assert_eq!(
            missing.header("grpc-message"),
            Some("an access token is required")
        );
        assert_eq!(missing.header("cache-control"), Some("no-store"));
        assert_eq!(refusal(403, "x").header("grpc-status"), Some("7"));
        assert_eq!(refusal(429, "x").header("grpc-status"), Some("8"));
        assert_eq!(refusal(503, "x").header("grpc-status"), Some("14"));
        assert_eq!(refusal(500, "x").header("grpc-status"), Some("13"));
        let encoded = refusal(401, "é\n%");
        assert_eq!(encoded.header("grpc-message"), Some("%C3%A9%0A%25"));
        assert!(encoded.header("x-content-type-options").is_none());
    }

    #[test]
    fn every_json_answer_forbids_sniffing_and_caching() {
        let response = Response::json(401, &());
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(response.header("cache-control"), Some("no-store"));
    }
}
