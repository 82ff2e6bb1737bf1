//! `http` request parts seen as the core's [`RequestHead`].

use http::request::Parts;
use tokengate_core::adapter::RequestHead;

pub(crate) struct Head<'a> {
    pub(crate) method: &'a http::Method,
    /// The request's whole path: inside `Router::nest`, axum's `OriginalUri`, so that a gate
    /// layered inside a nested router knows its endpoints by their full paths.
    pub(crate) path: &'a str,
    pub(crate) headers: &'a http::HeaderMap,
    pub(crate) extensions: &'a http::Extensions,
    pub(crate) query: Option<&'a str>,
}

impl<'a> Head<'a> {
    pub(crate) fn of<B>(request: &'a http::Request<B>) -> Self {
        Self {
            method: request.method(),
            path: whole_path(request.uri(), request.extensions()),
            headers: request.headers(),
            extensions: request.extensions(),
            query: request.uri().query(),
        }
    }

    pub(crate) fn of_parts(parts: &'a Parts) -> Self {
        Self {
            method: &parts.method,
            path: whole_path(&parts.uri, &parts.extensions),
            headers: &parts.headers,
            extensions: &parts.extensions,
            query: parts.uri.query(),
        }
    }
}

/// The path as the client sent it, before any `nest` stripped a prefix.
fn whole_path<'a>(uri: &'a http::Uri, extensions: &'a http::Extensions) -> &'a str {
    #[cfg(feature = "axum")]
    if let Some(original) = extensions.get::<axum::extract::OriginalUri>() {
        return original.0.path();
    }
    let _ = extensions;
    uri.path()
}

impl RequestHead for Head<'_> {
    fn method(&self) -> &str {
        self.method.as_str()
    }

    fn path(&self) -> &str {
        self.path
    }

    fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.get(name).map(http::HeaderValue::as_bytes)
    }

    fn last_header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .get_all(name)
            .iter()
            .next_back()
            .map(http::HeaderValue::as_bytes)
    }

    fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .get_all(http::header::COOKIE)
            .iter()
            .find_map(|value| tokengate_core::adapter::find_cookie(value.as_bytes(), name))
    }

    fn peer_addr(&self) -> Option<std::net::IpAddr> {
        #[cfg(feature = "axum")]
        if let Some(info) = self
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        {
            return Some(info.0.ip());
        }
        let _ = self.extensions;
        None
    }

    fn query(&self) -> Option<&str> {
        self.query
    }
}

/// The core's plain answer as an `http` response.
pub(crate) fn to_http<B>(
    mut response: tokengate_core::Response,
    wrap: impl FnOnce(bytes::Bytes) -> B,
) -> http::Response<B> {
    let mut out = http::Response::new(wrap(std::mem::take(&mut response.body)));
    *out.status_mut() = http::StatusCode::from_u16(response.status)
        .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = out.headers_mut();
    // Names and values were checked where they entered the `Response`; should one still not
    // fit, it is left out rather than risk a panic.
    for (name, value) in response.headers() {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(name, value);
        }
    }
    out
}
