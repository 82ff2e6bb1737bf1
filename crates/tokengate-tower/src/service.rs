//! The service.

use std::fmt;
use std::task::{Context, Poll};

use http_body::Body;
use tokengate_core::adapter::Route;
use tokengate_core::TokenGate;
use tower_service::Service;

use crate::body::ResponseBody;
use crate::future::ResponseFuture;
use crate::head::{to_http, Head};

/// The service made by [`TokenGateLayer`](crate::TokenGateLayer).
#[derive(Debug, Clone)]
pub struct TokenGateService<S> {
    inner: S,
    gate: TokenGate,
}

impl<S> TokenGateService<S> {
    /// Wraps `inner` with `gate`.
    pub fn new(inner: S, gate: TokenGate) -> Self {
        Self { inner, gate }
    }
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for TokenGateService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: fmt::Display,
    ResBody: Send + 'static,
{
    type Response = http::Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        match self.gate.route(&Head::of(&request)) {
            Route::Endpoint(endpoint) => {
                let gate = self.gate.clone();
                ResponseFuture::endpoint(Box::pin(async move {
                    let (parts, body) = request.into_parts();
                    let body = http_body_util::BodyDataStream::new(body);
                    let response = gate.serve(endpoint, &Head::of_parts(&parts), body).await;
                    to_http(response, ResponseBody::full)
                }))
            }
            Route::Pass(guarded) => {
                request.extensions_mut().insert(guarded);
                ResponseFuture::inner(self.inner.call(request))
            }
            Route::Refuse(response) => ResponseFuture::ready(to_http(response, ResponseBody::full)),
            Route::Check(pending) => {
                let gate = self.gate.clone();
                // The service polled ready goes into the future; a fresh clone stays here.
                let fresh = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, fresh);
                ResponseFuture::check(Box::pin(async move {
                    match gate.confirm(pending, &Head::of(&request)).await {
                        Ok(guarded) => {
                            request.extensions_mut().insert(guarded);
                            let response = inner.call(request).await?;
                            Ok(response.map(ResponseBody::inner))
                        }
                        Err(response) => Ok(to_http(response, ResponseBody::full)),
                    }
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http_body_util::{BodyExt, Full};
    use tokengate_core::credentials::MemoryDirectory;
    use tokengate_core::{Config, TokenGate};
    use tower::{ServiceBuilder, ServiceExt};

    use crate::TokenGateLayer;

    fn gate() -> TokenGate {
        let config = Config::default()
            .with_secret("a-test-only-secret-of-32-bytes-or-more")
            .with_public_paths(["/health"]);
        TokenGate::builder(config)
            .credentials(MemoryDirectory::new())
            .build()
            .expect("valid test config")
    }

    async fn call(path: &str, auth: Option<&str>) -> (u16, Option<String>, String) {
        let service = ServiceBuilder::new()
            .layer(TokenGateLayer::new(gate()))
            .service_fn(|_request: http::Request<Full<bytes::Bytes>>| async {
                Ok::<_, Infallible>(http::Response::new(Full::new(bytes::Bytes::from_static(
                    b"inner",
                ))))
            });
        let mut request = http::Request::get(path);
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let request = request.body(Full::default()).expect("valid request");
        let response = service.oneshot(request).await.expect("infallible");
        let status = response.status().as_u16();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .into_body()
            .collect()
            .await
            .expect("infallible")
            .to_bytes();
        (
            status,
            challenge,
            String::from_utf8_lossy(&body).into_owned(),
        )
    }

    #[tokio::test]
    async fn request_without_token_is_refused_with_a_bearer_challenge() {
        let (status, challenge, body) = call("/private", None).await;
        assert_eq!(status, 401);
        assert_eq!(challenge.as_deref(), Some("Bearer realm=\"tokengate\""));
        assert!(body.contains("\"error\":\"missing_token\""), "{body}");
    }

    #[tokio::test]
    async fn garbage_token_is_refused_as_invalid_token() {
        let (status, challenge, _) = call("/private", Some("Bearer not.a.token")).await;
        assert_eq!(status, 401);
        assert!(challenge.unwrap_or_default().contains("invalid_token"));
    }

    #[tokio::test]
    async fn a_grpc_call_is_refused_with_a_grpc_status_not_an_http_error() {
        let service = ServiceBuilder::new()
            .layer(TokenGateLayer::new(gate()))
            .service_fn(|_request: http::Request<Full<bytes::Bytes>>| async {
                Ok::<_, Infallible>(http::Response::new(Full::new(bytes::Bytes::new())))
            });
        for (token, message) in [
            (None, "an access token is required"),
            (Some("Bearer x.y.z"), "the token is not a well-formed JWT"),
        ] {
            let mut request = http::Request::post("/helloworld.Greeter/SayHello")
                .header("content-type", "application/grpc");
            if let Some(token) = token {
                request = request.header("authorization", token);
            }
            let request = request.body(Full::default()).expect("valid request");
            let response = service.clone().oneshot(request).await.expect("infallible");
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_owned)
            };
            assert_eq!(response.status().as_u16(), 200);
            assert_eq!(header("content-type").as_deref(), Some("application/grpc"));
            assert_eq!(header("grpc-status").as_deref(), Some("16"));
            assert_eq!(header("grpc-message").as_deref(), Some(message));
            let body = response.into_body().collect().await.expect("infallible");
            assert!(body.to_bytes().is_empty());
        }
        // The same refusal to a REST client stays an HTTP 401.
        let (status, _, _) = call("/helloworld.Greeter/SayHello", None).await;
        assert_eq!(status, 401);
    }

    #[tokio::test]
    async fn public_path_reaches_the_inner_service() {
        let (status, _, body) = call("/health", None).await;
        assert_eq!((status, body.as_str()), (200, "inner"));
    }

    #[tokio::test]
    async fn endpoint_refuses_get_with_405() {
        let (status, _, body) = call("/api/rest/signin", None).await;
        assert_eq!(status, 405);
        assert!(body.contains("method_not_allowed"));
    }

    #[tokio::test]
    async fn an_error_hook_adding_a_mixed_case_header_never_panics() {
        let config = Config::default().with_secret("a-test-only-secret-of-32-bytes-or-more");
        let gate = TokenGate::builder(config)
            .credentials(MemoryDirectory::new())
            .on_error(|_, _, mut response| {
                // A name in any case is kept in lower case; a bad one is refused, not panicked.
                let _ = response.append_header("X-Request-Id", "42");
                assert!(response.append_header("Bad Name", "x").is_err());
                response
            })
            .build()
            .expect("valid test config");
        let service = ServiceBuilder::new()
            .layer(TokenGateLayer::new(gate))
            .service_fn(|_request: http::Request<Full<bytes::Bytes>>| async {
                Ok::<_, Infallible>(http::Response::new(Full::new(bytes::Bytes::new())))
            });
        for _ in 0..2 {
            let request = http::Request::get("/private")
                .body(Full::default())
                .expect("valid request");
            let response = service.clone().oneshot(request).await.expect("infallible");
            assert_eq!(response.status().as_u16(), 401);
            assert_eq!(
                response
                    .headers()
                    .get("x-request-id")
                    .map(http::HeaderValue::as_bytes),
                Some(&b"42"[..])
            );
        }
    }
}
