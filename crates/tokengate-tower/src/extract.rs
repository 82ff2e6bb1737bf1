//! The axum extractor for the verified claims.

use std::ops::{Deref, DerefMut};

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use serde::de::DeserializeOwned;
use tokengate_core::{extract, TokenGate, VerifiedToken};

use crate::body::ResponseBody;
use crate::head::to_http;

/// The claims of the request's access token, as verified by the [`TokenGateLayer`](crate::TokenGateLayer).
///
/// `Claims<T>` also reads the custom claims as `T`. As `Option<Claims<T>>` it gives `None`
/// when the request came without a valid token (optional mode, public paths).
#[derive(Debug, Clone)]
pub struct Claims<T = ()>(pub tokengate_core::Claims<T>);

impl<T> Deref for Claims<T> {
    type Target = tokengate_core::Claims<T>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<T> DerefMut for Claims<T> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

/// Why [`Claims`] could not be extracted; answered like every other tokengate error.
#[derive(Debug)]
pub struct ClaimsRejection(tokengate_core::Response);

impl IntoResponse for ClaimsRejection {
    fn into_response(self) -> Response {
        to_http(self.0, ResponseBody::<axum::body::Body>::full).map(axum::body::Body::new)
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Claims<T> {
    type Rejection = ClaimsRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        extract::required(
            parts.extensions.get::<VerifiedToken>(),
            parts.extensions.get::<TokenGate>(),
        )
        .map(Claims)
        .map_err(ClaimsRejection)
    }
}

impl<S: Send + Sync, T: DeserializeOwned> OptionalFromRequestParts<S> for Claims<T> {
    type Rejection = ClaimsRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        extract::optional(
            parts.extensions.get::<VerifiedToken>(),
            parts.extensions.get::<TokenGate>(),
        )
        .map(|claims| claims.map(Claims))
        .map_err(ClaimsRejection)
    }
}
