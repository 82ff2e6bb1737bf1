//! Per-route requirements: a Layer for the routes that need more than a valid token.

use std::sync::Arc;
use std::task::{Context, Poll};

use tokengate_core::adapter::{extract, Guarded};
use tokengate_core::authz::Requirement;
use tower_layer::Layer;
use tower_service::Service;

use crate::body::ResponseBody;
use crate::future::ResponseFuture;
use crate::head::{to_http, Head};

/// Applies a [`Requirement`] to the routes it wraps, behind a
/// [`TokenGateLayer`](crate::TokenGateLayer): in axum, `Router::route_layer` or
/// `MethodRouter::layer`. A request without a valid token gets 401, one whose token does not
/// meet the requirement 403 `insufficient_scope`.
///
/// ```
/// # #[cfg(feature = "axum")] {
/// use axum::{routing::get, Router};
/// use tokengate::axum::Require;
///
/// let admin: Router = Router::new()
///     .route("/api/rest/admin", get(|| async { "hello, admin" }))
///     .route_layer(Require::role("admin"));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Require {
    requirement: Arc<Requirement>,
}

tokengate_core::require_constructors!(Require);

impl<S> Layer<S> for Require {
    type Service = RequireService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireService {
            inner,
            requirement: Arc::clone(&self.requirement),
        }
    }
}

/// The service made by [`Require`].
#[derive(Debug, Clone)]
pub struct RequireService<S> {
    inner: S,
    requirement: Arc<Requirement>,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for RequireService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let guarded = request.extensions().get::<Guarded>();
        match extract::authorize(guarded, &self.requirement, &Head::of(&request)) {
            Ok(()) => ResponseFuture::inner(self.inner.call(request)),
            Err(response) => ResponseFuture::ready(to_http(response, ResponseBody::full)),
        }
    }
}
