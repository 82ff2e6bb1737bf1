//! The response future: no boxing when the request goes to the inner service.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;

use crate::body::ResponseBody;

type EndpointFuture<B> = Pin<Box<dyn Future<Output = http::Response<ResponseBody<B>>> + Send>>;
type CheckFuture<B, E> =
    Pin<Box<dyn Future<Output = Result<http::Response<ResponseBody<B>>, E>> + Send>>;

pin_project! {
    /// The future of [`TokenGateService`](crate::TokenGateService).
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        kind: Kind<F, B, E>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B, E> {
        Inner { #[pin] future: F },
        Ready { response: Option<http::Response<ResponseBody<B>>> },
        // Endpoints await the credential check and the store: boxing there costs nothing that
        // matters, and keeps the guard path free of it.
        Endpoint { future: EndpointFuture<B> },
        // Strict revocation asks the store, then calls the inner service.
        Check { future: CheckFuture<B, E> },
    }
}

impl<F, B, E> std::fmt::Debug for ResponseFuture<F, B, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> ResponseFuture<F, B, E> {
    pub(crate) fn inner(future: F) -> Self {
        Self {
            kind: Kind::Inner { future },
        }
    }

    pub(crate) fn ready(response: http::Response<ResponseBody<B>>) -> Self {
        Self {
            kind: Kind::Ready {
                response: Some(response),
            },
        }
    }

    pub(crate) fn endpoint(future: EndpointFuture<B>) -> Self {
        Self {
            kind: Kind::Endpoint { future },
        }
    }

    pub(crate) fn check(future: CheckFuture<B, E>) -> Self {
        Self {
            kind: Kind::Check { future },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => {
                let response = ready!(future.poll(cx))?;
                Poll::Ready(Ok(response.map(ResponseBody::inner)))
            }
            KindProj::Ready { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => panic!("ResponseFuture polled after completion"),
            },
            KindProj::Endpoint { future } => future.as_mut().poll(cx).map(Ok),
            KindProj::Check { future } => future.as_mut().poll(cx),
        }
    }
}
