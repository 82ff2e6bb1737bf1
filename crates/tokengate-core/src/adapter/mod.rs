//! For adapter authors: what a framework integration needs of the core, and nothing an
//! application needs. The tower Layer and the actix-web Transform are written with these.
//!
//! An adapter lends the request as a [`RequestHead`], asks [`TokenGate::route`] what to do
//! with it, and then serves the endpoint ([`TokenGate::serve`] with the body stream), passes
//! the request on with the [`Guarded`] value in its extensions, answers at once, or awaits
//! [`TokenGate::confirm`] first (strict revocation). Its claims extractors call [`extract`],
//! its per-route requirements [`extract::authorize`].
//!
//! Every refusal these give is already shaped for the request: for a gRPC call
//! (`content-type: application/grpc...`) the same refusal as gRPC status headers
//! ([`Response::to_grpc`]), never an HTTP error a gRPC client would report as a transport
//! failure. An adapter sends it as it is.
//!
//! [`TokenGate::route`]: crate::TokenGate::route
//! [`TokenGate::serve`]: crate::TokenGate::serve
//! [`TokenGate::confirm`]: crate::TokenGate::confirm

pub mod extract;

pub use crate::gate::{Guarded, PendingCheck, Route};
pub use crate::http::request::{find_cookie, RequestHead};
pub use crate::http::response::{InvalidHeader, Response};
