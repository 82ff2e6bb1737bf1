//! actix-web requests seen as the core's [`RequestHead`], and the core's answers as actix
//! responses. actix-web 4 has its own `http` types; they stay on this side of the edge.

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use tokengate_core::adapter::RequestHead;

pub(crate) struct Head<'a>(pub(crate) &'a HttpRequest);

impl RequestHead for Head<'_> {
    fn method(&self) -> &str {
        self.0.method().as_str()
    }

    /// The path actix-web routes on: percent-escapes decoded (all but `%`, `/` and `+`), so
    /// that `/w%73/echo`, which actix-web serves as `/ws/echo`, is judged as `/ws/echo` too.
    fn path(&self) -> &str {
        self.0.match_info().as_str()
    }

    fn header(&self, name: &str) -> Option<&[u8]> {
        self.0.headers().get(name).map(HeaderValue::as_bytes)
    }

    fn last_header(&self, name: &str) -> Option<&[u8]> {
        self.0
            .headers()
            .get_all(name)
            .last()
            .map(HeaderValue::as_bytes)
    }

    fn cookie(&self, name: &str) -> Option<&str> {
        self.0
            .headers()
            .get_all(actix_web::http::header::COOKIE)
            .find_map(|value| tokengate_core::adapter::find_cookie(value.as_bytes(), name))
    }

    fn peer_addr(&self) -> Option<std::net::IpAddr> {
        self.0.peer_addr().map(|address| address.ip())
    }

    fn query(&self) -> Option<&str> {
        Some(self.0.query_string()).filter(|query| !query.is_empty())
    }
}

/// The core's plain answer as an actix response.
pub(crate) fn to_actix(mut response: tokengate_core::Response) -> HttpResponse {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut out = HttpResponse::with_body(status, std::mem::take(&mut response.body));
    let headers = out.headers_mut();
    // Names and values were checked where they entered the `Response`; should one still not
    // fit, it is left out rather than risk a panic.
    for (name, value) in response.headers() {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(name, value);
        }
    }
    out.map_into_boxed_body()
}
