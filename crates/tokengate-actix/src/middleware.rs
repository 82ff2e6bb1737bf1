//! The Transform and its middleware.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::HttpMessage as _;
use futures_util::future::{ready, LocalBoxFuture, Ready};
use pin_project_lite::pin_project;
use tokengate_core::adapter::Route;
use tokengate_core::TokenGate;

use crate::head::{to_actix, Head};

/// The middleware factory: `App::new().wrap(TokenGateTransform::new(gate))`.
///
/// It answers the gate's endpoints (the table `tokengate_core::ENDPOINTS`) and guards every
/// other route of what it wraps; see the [crate example](crate).
#[derive(Debug, Clone)]
pub struct TokenGateTransform {
    gate: TokenGate,
}

impl TokenGateTransform {
    /// A transform serving `gate`.
    pub fn new(gate: TokenGate) -> Self {
        Self { gate }
    }
}

impl<S, B> Transform<S, ServiceRequest> for TokenGateTransform
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = TokenGateMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(TokenGateMiddleware {
            service: Rc::new(service),
            gate: self.gate.clone(),
        }))
    }
}

/// The middleware made by [`TokenGateTransform`].
#[derive(Debug)]
pub struct TokenGateMiddleware<S> {
    service: Rc<S>,
    gate: TokenGate,
}

impl<S, B> Service<ServiceRequest> for TokenGateMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = ResponseFuture<S::Future, B>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        match self.gate.route(&Head(request.request())) {
            Route::Endpoint(endpoint) => {
                let gate = self.gate.clone();
                let (request, payload) = request.into_parts();
                ResponseFuture::endpoint(Box::pin(async move {
                    let response = gate.serve(endpoint, &Head(&request), payload).await;
                    ServiceResponse::new(request, to_actix(response))
                }))
            }
            Route::Pass(guarded) => {
                request.extensions_mut().insert(guarded);
                ResponseFuture::inner(self.service.call(request))
            }
            Route::Refuse(response) => {
                ResponseFuture::ready(request.into_response(to_actix(response)))
            }
            Route::Check(pending) => {
                let gate = self.gate.clone();
                let service = Rc::clone(&self.service);
                ResponseFuture::check(Box::pin(async move {
                    match gate.confirm(pending, &Head(request.request())).await {
                        Ok(guarded) => {
                            request.extensions_mut().insert(guarded);
                            let response = service.call(request).await?;
                            Ok(response.map_into_left_body())
                        }
                        Err(response) => Ok(request
                            .into_response(to_actix(response))
                            .map_into_right_body()),
                    }
                }))
            }
        }
    }
}

pin_project! {
    /// The future of [`TokenGateMiddleware`]: the app's own answer, or the gate's.
    pub struct ResponseFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        Inner { #[pin] future: F },
        Ready { response: Option<ServiceResponse<BoxBody>> },
        Endpoint { future: LocalBoxFuture<'static, ServiceResponse<BoxBody>> },
        Check { future: CheckFuture<B> },
    }
}

type CheckFuture<B> =
    LocalBoxFuture<'static, Result<ServiceResponse<EitherBody<B>>, actix_web::Error>>;

impl<F, B> ResponseFuture<F, B> {
    pub(crate) fn inner(future: F) -> Self {
        Self {
            kind: Kind::Inner { future },
        }
    }

    pub(crate) fn ready(response: ServiceResponse<BoxBody>) -> Self {
        Self {
            kind: Kind::Ready {
                response: Some(response),
            },
        }
    }

    fn endpoint(future: LocalBoxFuture<'static, ServiceResponse<BoxBody>>) -> Self {
        Self {
            kind: Kind::Endpoint { future },
        }
    }

    fn check(future: CheckFuture<B>) -> Self {
        Self {
            kind: Kind::Check { future },
        }
    }
}

impl<F, B> fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Inner { .. } => "Inner",
            Kind::Ready { .. } => "Ready",
            Kind::Endpoint { .. } => "Endpoint",
            Kind::Check { .. } => "Check",
        };
        f.debug_tuple("ResponseFuture").field(&kind).finish()
    }
}

impl<F, B> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
{
    type Output = Result<ServiceResponse<EitherBody<B>>, actix_web::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => {
                future.poll(cx).map_ok(ServiceResponse::map_into_left_body)
            }
            KindProj::Ready { response } => Poll::Ready(
                response
                    .take()
                    .map(ServiceResponse::map_into_right_body)
                    .ok_or_else(|| {
                        actix_web::error::ErrorInternalServerError(
                            "tokengate response polled after completion",
                        )
                    }),
            ),
            KindProj::Endpoint { future } => future
                .as_mut()
                .poll(cx)
                .map(|response| Ok(response.map_into_right_body())),
            KindProj::Check { future } => future.as_mut().poll(cx),
        }
    }
}
