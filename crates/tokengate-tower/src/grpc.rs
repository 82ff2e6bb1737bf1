//! gRPC with tonic (feature `tonic`): the claims of a call, and requirements checked in a
//! method.
//!
//! The [`TokenGateLayer`](crate::TokenGateLayer) guards a tonic service as any other tower
//! service: the access token comes from the `authorization` metadata (`Bearer ...`), and a
//! call it refuses gets a gRPC status, never an HTTP error: `UNAUTHENTICATED` (16) without a
//! valid token, `PERMISSION_DENIED` (7) when a [`Require`](crate::Require) layer's
//! requirement is not met, with the reason in `grpc-message`. The gate's REST endpoints keep
//! answering beside the gRPC service on the same server.
//!
//! # Example
//!
//! ```
//! use tokengate::authz::Requirement;
//! use tokengate::tower::grpc;
//!
//! // In a tonic method: the caller, and an admin check of one method.
//! fn say_hello(request: &tonic::Request<()>) -> Result<String, tonic::Status> {
//!     let claims = grpc::claims(request)?;
//!     Ok(format!("hello, {}", claims.sub))
//! }
//! fn say_hello_admin(request: &tonic::Request<()>) -> Result<String, tonic::Status> {
//!     let claims = grpc::authorize(request, &Requirement::role("admin"))?;
//!     Ok(format!("hello, admin {}", claims.sub))
//! }
//!
//! // Without the layer in front, no call has claims.
//! let status = say_hello(&tonic::Request::new(())).unwrap_err();
//! assert_eq!(status.code(), tonic::Code::Unauthenticated);
//! # let _ = say_hello_admin;
//! ```

use tokengate_core::adapter::{extract, Guarded};
use tokengate_core::authz::Requirement;
use tokengate_core::{Claims, Error, ErrorKind, Response};

/// The claims of the call's access token, or `UNAUTHENTICATED` where the layer let the call
/// through without one (a public path, optional mode) or is not in front of the service.
pub fn claims<T>(request: &tonic::Request<T>) -> Result<&Claims, tonic::Status> {
    request
        .extensions()
        .get::<Guarded>()
        .and_then(Guarded::verified)
        .map(tokengate_core::VerifiedToken::claims)
        .ok_or_else(|| {
            tonic::Status::unauthenticated(Error::new(ErrorKind::MissingToken).to_string())
        })
}

/// The claims of the call's access token when it meets `requirement`: `UNAUTHENTICATED`
/// without a token, `PERMISSION_DENIED` naming what is missing otherwise.
pub fn authorize<'r, T>(
    request: &'r tonic::Request<T>,
    requirement: &Requirement,
) -> Result<&'r Claims, tonic::Status> {
    let guarded = request.extensions().get::<Guarded>();
    extract::check(guarded, requirement).map_err(|refusal| status(&refusal))?;
    claims(request)
}

/// A refusal of the gate as a tonic status, its code and message as
/// [`Response::to_grpc`] gives them.
pub fn status(refusal: &Response) -> tonic::Status {
    let (code, message) = refusal.grpc_status();
    tonic::Status::new(tonic::Code::from_i32(code), message)
}
