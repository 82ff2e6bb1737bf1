//! The axum extractor for the verified claims.

use std::ops::{Deref, DerefMut};

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use serde::de::DeserializeOwned;
use tokengate_core::{Error, ErrorKind, TokenError, TokenGate, VerifiedToken};

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

fn reject(parts: &Parts, error: &Error) -> ClaimsRejection {
    if let Some(gate) = parts.extensions.get::<TokenGate>() {
        return ClaimsRejection(gate.error_response(error));
    }
    // The layer is not in front of this route: a wiring bug, not the client's fault.
    let error = Error::new(ErrorKind::Internal(
        "Claims extracted on a route without TokenGateLayer".to_owned(),
    ));
    ClaimsRejection(error.to_response("tokengate"))
}

fn read<T: DeserializeOwned>(parts: &Parts) -> Result<Option<Claims<T>>, ClaimsRejection> {
    let Some(verified) = parts.extensions.get::<VerifiedToken>() else {
        return Ok(None);
    };
    tokengate_core::Claims::from_payload(verified.payload())
        .map(|claims| Some(Claims(claims)))
        .map_err(|_| reject(parts, &Error::invalid_token(TokenError::BadClaims)))
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Claims<T> {
    type Rejection = ClaimsRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        read(parts)?.ok_or_else(|| reject(parts, &Error::new(ErrorKind::MissingToken)))
    }
}

impl<S: Send + Sync, T: DeserializeOwned> OptionalFromRequestParts<S> for Claims<T> {
    type Rejection = ClaimsRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        read(parts)
    }
}
