//! The Transform and its middleware.

use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::HttpMessage as _;
use futures_util::future::{ready, Ready};
use tokengate_core::adapter::Route;
use tokengate_core::TokenGate;

use crate::future::ResponseFuture;
use crate::head::{to_actix, Head};

/// The middleware factory: `App::new().wrap(TokenGateTransform::new(gate))`.
///
/// It answers the gate's endpoints (the table `tokengate::ENDPOINTS`) and guards every
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
