//! The response future of the middleware: no boxing when the request goes to the service it
//! wraps.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::ServiceResponse;
use futures_util::future::LocalBoxFuture;
use pin_project_lite::pin_project;

pin_project! {
    /// The future of [`TokenGateMiddleware`](crate::TokenGateMiddleware): the app's own answer, or the gate's.
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

pub(crate) type CheckFuture<B> =
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

    pub(crate) fn endpoint(future: LocalBoxFuture<'static, ServiceResponse<BoxBody>>) -> Self {
        Self {
            kind: Kind::Endpoint { future },
        }
    }

    pub(crate) fn check(future: CheckFuture<B>) -> Self {
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
