//! Endpoint bodies: `multipart/form-data` (the seed's form), urlencoded, or JSON.
//!
//! Every form becomes the same list of text [`Fields`]. A field given twice is refused (which one
//! would win differs between frameworks and proxies, so no guess is made); the body is read under
//! a size limit that is enforced before it is read whole.
//!
//! # Example
//!
//! ```
//! use tokengate::adapter::RequestHead;
//! use tokengate::credentials::{hash_password, MemoryDirectory};
//! use tokengate::{Config, Endpoint, TokenGate};
//!
//! /// A sign-in whose body is of this content type.
//! struct SignIn(&'static str);
//! impl RequestHead for SignIn {
//!     fn method(&self) -> &str { "POST" }
//!     fn path(&self) -> &str { "/api/rest/signin" }
//!     fn header(&self, name: &str) -> Option<&[u8]> {
//!         (name == "content-type").then_some(self.0.as_bytes())
//!     }
//! }
//! # fn body(text: &'static str) -> impl futures_util::Stream<Item = Result<&'static [u8], std::io::Error>> {
//! #     futures_util::stream::iter([Ok(text.as_bytes())])
//! # }
//!
//! # tokio::runtime::Builder::new_multi_thread().build().unwrap().block_on(async {
//! let config = Config::default().with_secret("an-example-secret-of-at-least-32-bytes");
//! let directory = MemoryDirectory::new().user("ada", &hash_password("p!")?)?;
//! let gate = TokenGate::builder(config).credentials(directory).build()?;
//!
//! // A urlencoded field is decoded: `p%21` is the password `p!`.
//! let urlencoded = SignIn("application/x-www-form-urlencoded");
//! let response = gate.serve(Endpoint::SignIn, &urlencoded, body("login=ada&password=p%21")).await;
//! assert_eq!(response.status, 201);
//!
//! // A JSON `true` is the switch `cookieauth` on: the tokens come back in cookies.
//! let json = body(r#"{"login":"ada","password":"p!","cookieauth":true}"#);
//! let response = gate.serve(Endpoint::SignIn, &SignIn("application/json"), json).await;
//! assert_eq!(response.status, 201);
//! assert!(response.header("set-cookie").is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use std::fmt;

use bytes::{Buf, Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use serde::de::{Deserializer, MapAccess, Visitor};

use super::error::{Error, ErrorKind};

/// The text fields of a body, in order, each name once.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Fields {
    items: Vec<(String, String)>,
}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values are passwords and tokens: only the names are shown.
        f.debug_list()
            .entries(self.items.iter().map(|(name, _)| name))
            .finish()
    }
}

/// The longest field name read.
const NAME_LIMIT: usize = 128;

/// Whether `name` is a field name as clients send them: what the OpenAPI description says
/// (`^[A-Za-z0-9_.\-\[\]:]{1,128}$`), in every encoding alike.
fn is_field_name(name: &str) -> bool {
    (1..=NAME_LIMIT).contains(&name.len())
        && name.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'[' | b']' | b':')
        })
}

impl Fields {
    /// The value of a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// How many fields there are.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there is no field.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub(crate) fn push(&mut self, name: String, value: String) -> Result<(), Error> {
        if !is_field_name(&name) {
            return Err(Error::new(ErrorKind::MalformedBody(format!(
                "a field name must be 1 to {NAME_LIMIT} letters, digits or `_.-[]:`"
            ))));
        }
        if self.items.iter().any(|(key, _)| *key == name) {
            return Err(Error::new(ErrorKind::DuplicateField(name)));
        }
        // No field but the password (hashed, never stored as sent) may carry a control
        // character: a NUL reaches no store or directory (PostgreSQL refuses it as an
        // encoding error, which is no reason for a 503), a newline no log.
        if name != "password" && value.chars().any(char::is_control) {
            return Err(Error::new(ErrorKind::ControlCharacter(name)));
        }
        self.items.push((name, value));
        Ok(())
    }
}

/// The form a body is written in, from its `Content-Type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyKind {
    Multipart(String),
    UrlEncoded,
    Json,
    /// No content type: only an empty body is acceptable.
    Unspecified,
}

/// Decides the body form before any byte of the body is read: 415 for anything else.
pub(crate) fn body_kind(content_type: Option<&str>) -> Result<BodyKind, Error> {
    let Some(content_type) = content_type else {
        return Ok(BodyKind::Unspecified);
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "multipart/form-data" => multer::parse_boundary(content_type)
            .map(BodyKind::Multipart)
            .map_err(|_| {
                Error::new(ErrorKind::MalformedBody(
                    "multipart/form-data needs a boundary parameter".to_owned(),
                ))
            }),
        "application/x-www-form-urlencoded" => Ok(BodyKind::UrlEncoded),
        "application/json" => Ok(BodyKind::Json),
        json if json.starts_with("application/") && json.ends_with("+json") => Ok(BodyKind::Json),
        _ => Err(Error::new(ErrorKind::UnsupportedMediaType)),
    }
}

/// Reads a body stream into memory, refusing it with 413 as soon as it is known to be larger
/// than `limit`: from `Content-Length` before reading, or while reading a body without one.
pub(crate) async fn read_body<S, B, E>(
    stream: S,
    content_length: Option<&[u8]>,
    limit: usize,
) -> Result<Bytes, Error>
where
    S: Stream<Item = Result<B, E>>,
    B: Buf,
    E: fmt::Display,
{
    let too_large = || Error::new(ErrorKind::PayloadTooLarge { limit });
    let declared = match content_length {
        None => None,
        Some(value) => Some(
            std::str::from_utf8(value)
                .ok()
                .and_then(|text| text.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    Error::new(ErrorKind::MalformedBody(
                        "invalid Content-Length".to_owned(),
                    ))
                })?,
        ),
    };
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    let capacity = declared.map_or(0, |length| usize::try_from(length).unwrap_or(limit));
    let mut body = BytesMut::with_capacity(capacity);
    futures_util::pin_mut!(stream);
    while let Some(chunk) = stream.next().await {
        let mut chunk = chunk.map_err(|e| {
            Error::new(ErrorKind::MalformedBody(format!(
                "the body could not be read: {e}"
            )))
        })?;
        if body.len() + chunk.remaining() > limit {
            return Err(too_large());
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            let len = part.len();
            body.extend_from_slice(part);
            chunk.advance(len);
        }
    }
    Ok(body.freeze())
}

/// Parses a whole body given its `Content-Type`.
pub async fn parse_body(content_type: Option<&str>, body: Bytes) -> Result<Fields, Error> {
    let kind = body_kind(content_type)?;
    parse_kind(&kind, body).await
}

pub(crate) async fn parse_kind(kind: &BodyKind, body: Bytes) -> Result<Fields, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Fields::default());
    }
    match kind {
        BodyKind::Unspecified => Err(Error::new(ErrorKind::UnsupportedMediaType)),
        BodyKind::UrlEncoded => parse_urlencoded(&body),
        BodyKind::Json => parse_json(&body),
        BodyKind::Multipart(boundary) => parse_multipart(body, boundary).await,
    }
}

fn parse_urlencoded(body: &[u8]) -> Result<Fields, Error> {
    let mut fields = Fields::default();
    for (name, value) in form_urlencoded::parse(body) {
        fields.push(name.into_owned(), value.into_owned())?;
    }
    Ok(fields)
}

fn malformed(reason: impl Into<String>) -> Error {
    Error::new(ErrorKind::MalformedBody(reason.into()))
}

fn parse_json(body: &[u8]) -> Result<Fields, Error> {
    struct FieldsVisitor;

    impl<'de> Visitor<'de> for FieldsVisitor {
        type Value = Result<Fields, Error>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut fields = Fields::default();
            // The whole object is read even after a bad field, so that a syntax error later in
            // the body is not reported as something else.
            let mut first_error = None;
            while let Some((name, value)) = map.next_entry::<String, serde_json::Value>()? {
                if first_error.is_some() {
                    continue;
                }
                if !is_field_name(&name) {
                    first_error = Some(malformed(format!(
                        "a field name must be 1 to {NAME_LIMIT} letters, digits or `_.-[]:`"
                    )));
                    continue;
                }
                let text = match value {
                    serde_json::Value::Null => continue,
                    serde_json::Value::String(text) => text,
                    serde_json::Value::Bool(flag) => flag.to_string(),
                    serde_json::Value::Number(number) => number.to_string(),
                    serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                        first_error = Some(malformed(format!(
                            "the field `{name}` must be a string, a number or a boolean"
                        )));
                        continue;
                    }
                };
                first_error = fields.push(name, text).err();
            }
            Ok(first_error.map_or(Ok(fields), Err))
        }
    }

    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let fields = deserializer
        .deserialize_map(FieldsVisitor)
        .map_err(|e| malformed(format!("invalid JSON: {e}")))??;
    deserializer
        .end()
        .map_err(|e| malformed(format!("invalid JSON: {e}")))?;
    Ok(fields)
}

async fn parse_multipart(body: Bytes, boundary: &str) -> Result<Fields, Error> {
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut fields = Fields::default();
    loop {
        let field = multipart
            .next_field()
            .await
            .map_err(|e| malformed(format!("invalid multipart body: {e}")))?;
        let Some(field) = field else { break };
        let name = field
            .name()
            .map(str::to_owned)
            .ok_or_else(|| malformed("a multipart part has no field name"))?;
        let value = field
            .text()
            .await
            .map_err(|e| malformed(format!("invalid multipart field `{name}`: {e}")))?;
        fields.push(name, value)?;
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn block<T>(future: impl std::future::Future<Output = T>) -> T {
        match tokio::runtime::Builder::new_current_thread().build() {
            Ok(runtime) => runtime.block_on(future),
            Err(e) => panic!("{e}"),
        }
    }

    fn parse(content_type: &str, body: &'static str) -> Result<Fields, Error> {
        block(parse_body(
            Some(content_type),
            Bytes::from_static(body.as_bytes()),
        ))
    }

    fn kind_of(result: Result<Fields, Error>) -> ErrorKind {
        match result {
            Ok(fields) => panic!("expected an error, got {fields:?}"),
            Err(error) => error.kind().clone(),
        }
    }

    const MULTIPART: &str = "multipart/form-data; boundary=X";

    #[test]
    fn multipart_fields_are_read() {
        let body = "--X\r\nContent-Disposition: form-data; name=\"login\"\r\n\r\njohn.doe@email.org\r\n--X\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n#thePassword1234!\r\n--X--\r\n";
        let fields = parse(MULTIPART, body).unwrap_or_default();
        assert_eq!(fields.get("login"), Some("john.doe@email.org"));
        assert_eq!(fields.get("password"), Some("#thePassword1234!"));
    }

    #[test]
    fn duplicate_fields_are_refused_in_every_form() {
        // Names outside the described set are refused, in every encoding alike.
        for body in ["=1", "a%20b=1", "a%22=1"] {
            assert!(
                matches!(
                    kind_of(parse("application/x-www-form-urlencoded", body)),
                    ErrorKind::MalformedBody(_)
                ),
                "{body}"
            );
        }
        for body in [r#"{"":"1"}"#, r#"{"":null}"#, r#"{"a b":null}"#] {
            assert!(
                matches!(
                    kind_of(parse("application/json", body)),
                    ErrorKind::MalformedBody(_)
                ),
                "{body}"
            );
        }
        assert!(parse("application/json", r#"{"user[name]":"1","a.b-c_d:e":"2"}"#).is_ok());
        let dup = ErrorKind::DuplicateField("a".to_owned());
        assert_eq!(
            kind_of(parse("application/x-www-form-urlencoded", "a=1&a=2")),
            dup
        );
        assert_eq!(
            kind_of(parse("application/json", r#"{"a":"1","a":"2"}"#)),
            dup
        );
        let body = "--X\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--X\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n2\r\n--X--\r\n";
        assert_eq!(kind_of(parse(MULTIPART, body)), dup);
    }

    #[test]
    fn control_characters_are_refused_in_every_field_but_the_password() {
        for (content_type, body) in [
            ("application/x-www-form-urlencoded", "login=a&session=%00"),
            ("application/x-www-form-urlencoded", "login=a%0Ab"),
            ("application/json", r#"{"scope":"local\u0000"}"#),
            ("application/json", r#"{"application":"a\u007f"}"#),
        ] {
            let error = parse(content_type, body).unwrap_err();
            assert!(
                matches!(error.kind(), ErrorKind::ControlCharacter(_)),
                "{body}: {error}"
            );
            assert_eq!(error.status(), 400);
            assert_eq!(error.code(), "invalid_request");
        }
        let error = parse("application/x-www-form-urlencoded", "session=%00").unwrap_err();
        assert_eq!(
            error.to_string(),
            "the field `session` must not contain control characters"
        );
        let fields = parse(
            "application/x-www-form-urlencoded",
            "login=a&password=%00%0A",
        )
        .unwrap();
        assert_eq!(fields.get("password"), Some("\0\n"));
    }

    #[test]
    fn odd_bodies_are_4xx_errors() {
        assert!(matches!(
            kind_of(parse("text/plain", "a=1")),
            ErrorKind::UnsupportedMediaType
        ));
        assert!(matches!(
            kind_of(parse("multipart/form-data", "x")),
            ErrorKind::MalformedBody(_)
        ));
        assert!(matches!(
            kind_of(parse(
                MULTIPART,
                "--X\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1"
            )),
            ErrorKind::MalformedBody(_)
        ));
        assert!(matches!(
            kind_of(parse("application/json", "[1,2]")),
            ErrorKind::MalformedBody(_)
        ));
        assert!(matches!(
            kind_of(parse("application/json", r#"{"a":{"b":1}}"#)),
            ErrorKind::MalformedBody(_)
        ));
        let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        let deep = block(parse_body(Some("application/json"), Bytes::from(deep)));
        assert!(matches!(kind_of(deep), ErrorKind::MalformedBody(_)));
    }

    #[test]
    fn body_over_the_limit_is_refused_from_its_length_or_while_reading() {
        let chunks = || {
            futures_util::stream::iter(
                (0..10).map(|_| Ok::<_, std::io::Error>(Bytes::from_static(&[b'a'; 100]))),
            )
        };
        let declared = block(read_body(chunks(), Some(b"1000"), 500));
        assert!(matches!(declared.map_err(|e| e.status()), Err(413)));
        let undeclared = block(read_body(chunks(), None, 500));
        assert!(matches!(undeclared.map_err(|e| e.status()), Err(413)));
        let fits = block(read_body(chunks(), None, 1000));
        assert_eq!(fits.map(|b| b.len()).unwrap_or_default(), 1000);
    }

    proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512), which in 0usize..5) {
            let content_type = ["application/json", "application/x-www-form-urlencoded", MULTIPART, "multipart/form-data; boundary=\"\"", "text/plain"][which];
            let _ = block(parse_body(Some(content_type), Bytes::from(body)));
        }

        #[test]
        fn arbitrary_content_types_never_panic(content_type in ".{0,100}", body in ".{0,100}") {
            let _ = block(parse_body(Some(&content_type), Bytes::from(body)));
        }
    }
}
