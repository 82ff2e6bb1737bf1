//! For adapter authors: what a framework integration needs of the core, and nothing an
//! application needs. The tower Layer and the actix-web Transform are written with these.
//!
//! An adapter lends the request as a [`RequestHead`], asks [`TokenGate::route`] what to do
//! with it, and then serves the endpoint ([`TokenGate::serve`] with the body stream), passes
//! the request on with the [`Guarded`] value in its extensions, answers at once, or awaits
//! [`TokenGate::confirm`] first (strict revocation). Its claims extractors call [`extract`].
//!
//! [`TokenGate::route`]: crate::TokenGate::route
//! [`TokenGate::serve`]: crate::TokenGate::serve
//! [`TokenGate::confirm`]: crate::TokenGate::confirm

pub mod extract;

pub use crate::gate::{Guarded, PendingCheck, Route};
pub use crate::http::request::{find_cookie, RequestHead};
pub use crate::http::response::{InvalidHeader, Response};

/// The answer to give a request the gate refused (a [`Route::Refuse`], a failed
/// [`TokenGate::confirm`](crate::TokenGate::confirm), an unmet requirement): as it is, or, for a
/// gRPC call (`content-type: application/grpc...`), the same refusal as gRPC status headers
/// ([`Response::to_grpc`]), never an HTTP error that a gRPC client would report as a transport
/// failure. The content type is read only here, on the way out of a refusal.
///
/// ```
/// use tokengate_core::adapter::{refusal_for, RequestHead};
/// use tokengate_core::Response;
///
/// struct Call(&'static str);
/// impl RequestHead for Call {
///     fn method(&self) -> &str { "POST" }
///     fn path(&self) -> &str { "/helloworld.Greeter/SayHello" }
///     fn header(&self, name: &str) -> Option<&[u8]> {
///         (name == "content-type").then_some(self.0.as_bytes())
///     }
/// }
///
/// let refused = || Response::json(401, &serde_json::json!({
///     "error": "missing_token", "error_description": "an access token is required",
/// }));
/// let grpc = refusal_for(refused(), &Call("application/grpc+proto"));
/// assert_eq!((grpc.status, grpc.header("grpc-status")), (200, Some("16")));
/// let rest = refusal_for(refused(), &Call("application/json"));
/// assert_eq!((rest.status, rest.header("grpc-status")), (401, None));
/// ```
pub fn refusal_for<R: RequestHead + ?Sized>(response: Response, head: &R) -> Response {
    let grpc = head
        .header("content-type")
        .is_some_and(|value| value.starts_with(b"application/grpc"));
    if grpc {
        response.to_grpc()
    } else {
        response
    }
}
