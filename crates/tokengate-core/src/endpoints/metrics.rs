//! `GET {metrics_path}`: the gate's metrics ([`crate::telemetry`]) in the Prometheus text
//! format; with `metrics_scope`, only for an access token that holds that scope.

use crate::authz::Requirement;
use crate::gate::TokenGate;
use crate::http::error::Error;
use crate::http::request::RequestHead;
use crate::http::response::Response;

/// The content type of the Prometheus text format.
#[cfg(feature = "prometheus")]
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

pub(super) async fn metrics<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
) -> Result<Response, Error> {
    if let Some(scope) = &gate.config().endpoints.metrics_scope {
        // The same checks as any route that needs a token: strict revocation too.
        let verified = gate.authenticate(head).await?;
        Requirement::scope(scope).check(&verified)?;
    }
    exposition(gate)
}

#[cfg(feature = "prometheus")]
fn exposition(gate: &TokenGate) -> Result<Response, Error> {
    let Some(handle) = gate.exposition() else {
        // The row is there only with `metrics_path`, which installs the exposition.
        return Err(super::internal("the metrics are not exported"));
    };
    // A JSON answer's headers (no-store, nosniff), with the exposition as its body.
    let mut response = Response::json(200, &());
    response.body = bytes::Bytes::from(handle.render());
    response
        .set_header("content-type", TEXT_FORMAT)
        .map_err(super::internal)?;
    Ok(response)
}

/// Without the feature the configuration refuses `metrics_path`, so this is never routed.
#[cfg(not(feature = "prometheus"))]
fn exposition(_: &TokenGate) -> Result<Response, Error> {
    Err(super::internal("the metrics are not in this build"))
}
