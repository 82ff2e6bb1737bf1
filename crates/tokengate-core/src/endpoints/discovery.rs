//! `GET {issuer path}/.well-known/openid-configuration` and
//! `GET /.well-known/oauth-authorization-server{issuer path}` (RFC 8414): where other services
//! find the issuer's keys and endpoints, with `discovery` on.

use serde_json::json;

use crate::clock::unix_now;
use crate::gate::{Endpoint, TokenGate};
use crate::http::response::Response;

/// The discovery document. Every URL is built from the configuration (`external_url`, else
/// the issuer's origin, then the prefix), never from the request: a forged `Host` or
/// `X-Forwarded-Host` cannot point verifiers elsewhere.
pub(super) fn metadata(gate: &TokenGate) -> Response {
    let config = gate.config();
    let base = config
        .endpoints
        .external_url
        .as_deref()
        .unwrap_or_else(|| origin(&config.tokens.issuer))
        .trim_end_matches('/');
    let url =
        |endpoint: Endpoint| format!("{base}{}{}", config.endpoints.prefix, endpoint.route().path);
    let document = json!({
        "issuer": config.tokens.issuer,
        "jwks_uri": url(Endpoint::Jwks),
        "token_endpoint": url(Endpoint::Refresh),
        "grant_types_supported": ["refresh_token"],
        "token_endpoint_auth_methods_supported": ["none"],
        "introspection_endpoint": url(Endpoint::Introspect),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint": url(Endpoint::Revoke),
        "revocation_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": gate.keys().published_algorithms(unix_now()),
    });
    let mut response = Response::json(200, &document);
    response.remove_header("cache-control");
    // It lists the published keys' algorithms: kept no longer than the keys themselves.
    let max_age = super::jwks::max_age(gate, unix_now());
    response.push(
        "cache-control",
        format!("public, max-age={max_age}, must-revalidate"),
    );
    response
}

/// `scheme://host[:port]` of a URL (the whole text when it has no path).
fn origin(url: &str) -> &str {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url;
    };
    match rest.find('/') {
        Some(at) => &url[..scheme.len() + 3 + at],
        None => url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::testing;

    #[test]
    fn the_document_names_the_configured_urls() {
        let gate = testing::gate(&[
            ("discovery", "true"),
            ("issuer", "https://auth.example.org/tenant"),
        ]);
        let answer = metadata(&gate);
        assert_eq!(
            answer.header("cache-control"),
            Some("public, max-age=300, must-revalidate")
        );
        let document: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(document["issuer"], "https://auth.example.org/tenant");
        assert_eq!(
            document["jwks_uri"],
            "https://auth.example.org/api/rest/jwks"
        );
        assert_eq!(
            document["token_endpoint"],
            "https://auth.example.org/api/rest/token"
        );
        assert_eq!(
            document["introspection_endpoint"],
            "https://auth.example.org/api/rest/introspect"
        );
        assert_eq!(
            document["revocation_endpoint"],
            "https://auth.example.org/api/rest/revoke"
        );
        assert_eq!(
            document["id_token_signing_alg_values_supported"],
            json!([]),
            "HS256 keys are never published: no algorithm another service could verify"
        );
        let behind = testing::gate(&[
            ("discovery", "true"),
            ("issuer", "https://auth.example.org"),
            ("external_url", "https://edge.example.org/mounted/"),
            ("prefix", "/auth"),
        ]);
        let document: serde_json::Value = serde_json::from_slice(&metadata(&behind).body).unwrap();
        assert_eq!(
            document["jwks_uri"],
            "https://edge.example.org/mounted/auth/jwks"
        );
    }

    #[test]
    fn the_origin_of_an_issuer_drops_its_path() {
        assert_eq!(
            origin("https://auth.example.org/tenant/"),
            "https://auth.example.org"
        );
        assert_eq!(
            origin("https://auth.example.org:8443"),
            "https://auth.example.org:8443"
        );
        assert_eq!(origin("http://localhost:3000/a/b"), "http://localhost:3000");
    }
}
