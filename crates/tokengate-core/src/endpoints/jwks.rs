//! `GET {prefix}/jwks`: the public keys, for other services to verify access tokens.

use crate::clock::unix_now;
use crate::gate::TokenGate;
use crate::http::response::Response;

/// The JWKS document: public keys only, cacheable for a few minutes so that verifiers see a
/// rotation soon.
pub(super) fn jwks(gate: &TokenGate) -> Response {
    let mut response = Response::json(200, &gate.keys().jwks(unix_now()));
    response.remove_header("cache-control");
    response.push("cache-control", "public, max-age=300".to_owned());
    response
}
