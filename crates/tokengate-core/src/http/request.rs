//! What the core needs to know of a request, without any framework's types.
//!
//! Each adapter implements [`RequestHead`] over its own request type in a few lines.
//!
//! # Example
//!
//! ```
//! use tokengate::adapter::RequestHead;
//!
//! struct Plain<'a> { auth: Option<&'a str> }
//!
//! impl RequestHead for Plain<'_> {
//!     fn method(&self) -> &str { "GET" }
//!     fn path(&self) -> &str { "/api/rest/me" }
//!     fn header(&self, name: &str) -> Option<&[u8]> {
//!         (name == "authorization").then(|| self.auth.map(str::as_bytes)).flatten()
//!     }
//! }
//!
//! let head = Plain { auth: Some("Bearer abc") };
//! assert_eq!(head.header("authorization"), Some(&b"Bearer abc"[..]));
//! ```

use std::net::IpAddr;

/// Read access to a request's method, path and headers.
pub trait RequestHead {
    /// The method, upper case (`"POST"`).
    fn method(&self) -> &str;
    /// The path without the query string.
    fn path(&self) -> &str;
    /// The first value of a header, by lower-case name, as raw bytes.
    fn header(&self, name: &str) -> Option<&[u8]>;
    /// The last value of a header sent on several lines, by lower-case name: HTTP joins the
    /// lines in order, so the rightmost element of a list header (`X-Forwarded-For`) is in
    /// the last line, the one a proxy appends. The default reads the first (adapters that can
    /// read every line override it).
    fn last_header(&self, name: &str) -> Option<&[u8]> {
        self.header(name)
    }
    /// The value of cookie `name`. The default reads the first `Cookie` header; adapters
    /// override it to read every one (HTTP/2 clients may split cookies over several).
    fn cookie(&self, name: &str) -> Option<&str> {
        self.header("cookie")
            .and_then(|header| find_cookie(header, name))
    }
    /// The peer address, where the adapter knows it.
    fn peer_addr(&self) -> Option<IpAddr> {
        None
    }
    /// The query string, without the `?`. Read only on WebSocket paths, for a ticket.
    fn query(&self) -> Option<&str> {
        None
    }
}

/// The value of cookie `name` in one `Cookie` header value (`a=1; b=2`), if it is there.
///
/// Adapters call it for each `Cookie` header of a request (HTTP/2 may send several).
///
/// ```
/// use tokengate::adapter::find_cookie;
///
/// assert_eq!(find_cookie(b"a=1; tokengate-access=xyz", "tokengate-access"), Some("xyz"));
/// assert_eq!(find_cookie(b"a=1", "tokengate-access"), None);
/// ```
pub fn find_cookie<'a>(header: &'a [u8], name: &str) -> Option<&'a str> {
    let header = std::str::from_utf8(header).ok()?;
    // Parsed borrowed from the header: no allocation on the guard's path.
    let value = cookie::Cookie::split_parse(header)
        .filter_map(Result::ok)
        .find(|pair| pair.name_raw() == Some(name))?
        .value_raw()?;
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    (!value.is_empty()).then_some(value)
}

/// Which bearer token a request carries, and where it came from.
pub(crate) fn bearer<R: RequestHead + ?Sized>(
    head: &R,
    accept_authentication: bool,
) -> Option<&str> {
    if let Some(token) = head.header("authorization").and_then(parse_bearer) {
        return Some(token);
    }
    if accept_authentication {
        return head.header("authentication").and_then(parse_bearer);
    }
    None
}

/// `Bearer <token>` with the scheme matched case-insensitively (RFC 7235 §2.1).
fn parse_bearer(value: &[u8]) -> Option<&str> {
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim_start();
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        assert_eq!(parse_bearer(b"bEaReR abc"), Some("abc"));
        assert_eq!(parse_bearer(b"Bearer   abc "), Some("abc"));
    }

    #[test]
    fn other_schemes_and_empty_tokens_are_not_bearers() {
        assert_eq!(parse_bearer(b"Basic abc"), None);
        assert_eq!(parse_bearer(b"Bearer "), None);
        assert_eq!(parse_bearer(b"Bearer"), None);
        assert_eq!(parse_bearer(&[0xff, 0xfe]), None);
    }
}
