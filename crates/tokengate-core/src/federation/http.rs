//! The HTTP client the OpenID protocol runs over: reqwest, with a timeout, no redirects
//! followed (a provider that answers with one is refused rather than followed somewhere
//! else) and a bounded body.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures_util::StreamExt as _;
use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};

/// The largest answer read from a provider (discovery, keys, tokens: a few kilobytes).
const MAX_BODY: usize = 256 * 1024;

/// A provider could not be asked, or its answer was too large; the text says which, without
/// any URL (a provider's URLs name no secret, but a token request's body does).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct HttpError(String);

/// A reqwest client that gives up after `timeout` and follows no redirect: the one every
/// request to a provider or an issuer is made with.
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|error| format!("an HTTP client could not be built: {error}"))
}

/// The client a provider is asked with.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
}

impl Http {
    pub(crate) fn new(timeout: Duration) -> Result<Self, String> {
        Ok(Self {
            client: client(timeout)?,
        })
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let request = reqwest::Request::try_from(request).map_err(|error| {
            HttpError(format!(
                "the request cannot be sent: {}",
                error.without_url()
            ))
        })?;
        let response = self.client.execute(request).await.map_err(|error| {
            HttpError(format!(
                "the provider cannot be reached: {}",
                error.without_url()
            ))
        })?;
        // A provider that fails is down, not refusing: the sign-in answers 503.
        if response.status().is_server_error() {
            return Err(HttpError(format!(
                "the provider answered {}",
                response.status()
            )));
        }
        let mut answer = openidconnect::http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            answer = answer.header(name, value);
        }
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|error| {
                HttpError(format!(
                    "the provider's answer broke off: {}",
                    error.without_url()
                ))
            })?;
            if body.len() + chunk.len() > MAX_BODY {
                return Err(HttpError(format!(
                    "the provider's answer is over {MAX_BODY} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        answer
            .body(body)
            .map_err(|error| HttpError(format!("the provider's answer is not HTTP: {error}")))
    }
}

impl<'c> AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}
