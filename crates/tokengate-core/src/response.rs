//! The plain answer that both adapters translate into their framework's response.
//!
//! # Example
//!
//! ```
//! use tokengate_core::Response;
//!
//! let response = Response::json(201, &serde_json::json!({"accessToken": "..."}));
//! assert_eq!(response.status, 201);
//! assert_eq!(response.header("content-type"), Some("application/json"));
//! ```

use bytes::Bytes;
use serde::Serialize;

/// A status, headers (lower-case names) and a body; no framework types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// Header names (lower case) and values, in order; a name may repeat (`set-cookie`).
    pub headers: Vec<(&'static str, String)>,
    /// The body bytes.
    pub body: Bytes,
}

impl Response {
    /// A JSON answer with `Content-Type: application/json` and `Cache-Control: no-store`
    /// (RFC 6749 §5.1: token answers must not be cached).
    pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> Self {
        // Serializing our own maps and structs cannot fail; an empty object is the safe fallback.
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
        Self {
            status,
            headers: vec![
                ("content-type", "application/json".to_owned()),
                ("cache-control", "no-store".to_owned()),
            ],
            body: Bytes::from(body),
        }
    }

    /// The first value of a header, by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }
}
