//! What the adapters' `Claims` extractors share: what the guard leaves in a request, reading
//! the claims from it, and the answer when they are missing.
//!
//! For every request it lets through, the guard puts one [`Guarded`] into the request's
//! extensions: the verified token when the request carried a valid one, and always the gate,
//! so that an extractor refusing the request answers in the gate's words.
//!
//! # Example
//!
//! ```
//! use tokengate_core::credentials::MemoryDirectory;
//! use tokengate_core::adapter::{extract, Route};
//! use tokengate_core::{Config, GuardMode, TokenGate};
//!
//! let config = Config::default()
//!     .with_secret("an-example-secret-of-at-least-32-bytes")
//!     .with_mode(GuardMode::Optional);
//! let gate = TokenGate::builder(config).credentials(MemoryDirectory::new()).build()?;
//!
//! # struct Get;
//! # impl tokengate_core::adapter::RequestHead for Get {
//! #     fn method(&self) -> &str { "GET" }
//! #     fn path(&self) -> &str { "/api/rest/me" }
//! #     fn header(&self, _: &str) -> Option<&[u8]> { None }
//! # }
//! // No token: the guard lets the request through in optional mode, without claims.
//! let Route::Pass(guarded) = gate.route(&Get) else { panic!("not passed") };
//! assert!(matches!(extract::optional::<()>(Some(&guarded)), Ok(None)));
//! let refused = extract::required::<()>(Some(&guarded)).err().map(|r| r.status);
//! assert_eq!(refused, Some(401));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde::de::DeserializeOwned;

use crate::authz::Requirement;
use crate::gate::Guarded;
use crate::http::error::{Error, ErrorKind};
use crate::http::request::RequestHead;
use crate::http::response::{shaped_for, Response};
use crate::jws::{Claims, TokenError};

/// The request's claims read as `Claims<T>`, required.
///
/// The `Err` answer is the gate's own: 401 `missing_token` when no token was verified, 401
/// `invalid_token` when the custom claims do not fit `T`, and 500 when no gate is in front of
/// the route at all (a wiring bug, not the client's fault).
pub fn required<T: DeserializeOwned>(guarded: Option<&Guarded>) -> Result<Claims<T>, Response> {
    read(guarded)?.ok_or_else(|| refuse(guarded, &Error::new(ErrorKind::MissingToken)))
}

/// The request's claims read as `Claims<T>`, or `None` when no token was verified or when
/// its custom claims do not fit `T`: the optional extractors of both frameworks answer so
/// (actix-web's `Option<T>` turns every refusal into `None`, and axum's follows it).
///
/// The `Err` answer is 500, when no gate is in front of the route.
pub fn optional<T: DeserializeOwned>(
    guarded: Option<&Guarded>,
) -> Result<Option<Claims<T>>, Response> {
    match read(guarded) {
        Err(response) if guarded.is_some() => {
            tracing::debug!(target: "tokengate", status = response.status, "claims do not fit the extractor's type: none");
            Ok(None)
        }
        other => other,
    }
}

/// The claims, `None` without a verified token; `Err` for claims that do not fit `T`.
fn read<T: DeserializeOwned>(guarded: Option<&Guarded>) -> Result<Option<Claims<T>>, Response> {
    let Some(guarded) = guarded else {
        return Err(refuse(None, &Error::new(ErrorKind::MissingToken)));
    };
    guarded
        .verified()
        .map(|verified| {
            Claims::from_payload(verified.payload())
                .map_err(|_| refuse(Some(guarded), &Error::invalid_token(TokenError::BadClaims)))
        })
        .transpose()
}

/// Whether the request `head` may reach a route with `requirement`: `Ok` when its token meets
/// it. The refusal is shaped for the request (gRPC status headers for a gRPC call), ready to
/// send as it is.
///
/// The `Err` answer is the gate's own: 401 `missing_token` when no token was verified (a
/// requirement needs one even in optional mode and on public paths), 403 `insufficient_scope`
/// naming what is missing, and 500 when no gate is in front of the route.
pub fn authorize<R: RequestHead + ?Sized>(
    guarded: Option<&Guarded>,
    requirement: &Requirement,
    head: &R,
) -> Result<(), Response> {
    check(guarded, requirement).map_err(|refused| shaped_for(refused, head))
}

/// [`authorize`] for a handler that answers in a protocol of its own (a tonic service turns
/// the refusal into a `Status`): the refusal as the gate's HTTP answer, not shaped.
pub fn check(guarded: Option<&Guarded>, requirement: &Requirement) -> Result<(), Response> {
    let verified = guarded
        .and_then(Guarded::verified)
        .ok_or_else(|| refuse(guarded, &Error::new(ErrorKind::MissingToken)))?;
    requirement
        .check(verified)
        .map_err(|error| refuse(guarded, &error))
}

/// [`check`], then the claims as [`required`] reads them: for the extractor forms.
pub fn authorized<T: DeserializeOwned>(
    guarded: Option<&Guarded>,
    requirement: &Requirement,
) -> Result<Claims<T>, Response> {
    check(guarded, requirement)?;
    required(guarded)
}

fn refuse(guarded: Option<&Guarded>, error: &Error) -> Response {
    if let Some(guarded) = guarded {
        return guarded.gate().error_response(error);
    }
    let error = Error::new(ErrorKind::Internal(
        "claims extracted on a route that no TokenGate guards".to_owned(),
    ));
    tracing::error!(target: "tokengate", %error, "missing middleware");
    error.to_response("tokengate")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::testing;

    #[test]
    fn without_any_gate_the_answer_is_a_500_not_a_client_error() {
        let answer = required::<()>(None).err().map(|r| r.status);
        assert_eq!(answer, Some(500));
        let answer = optional::<()>(None).err().map(|r| r.status);
        assert_eq!(answer, Some(500));
    }

    #[test]
    fn custom_claims_that_do_not_fit_are_an_invalid_token() {
        #[derive(serde::Deserialize)]
        struct Needs {
            #[allow(dead_code)]
            tenant: u64,
        }
        let gate = testing::gate(&[]);
        let token = testing::access_token(&gate, "s", crate::clock::unix_now() + 60);
        let guarded = Guarded::new(gate.clone(), Some(gate.verify_access(&token).unwrap()));
        let refused = required::<Needs>(Some(&guarded)).err();
        let body = refused.map(|r| String::from_utf8_lossy(&r.body).into_owned());
        assert!(body.unwrap_or_default().contains("invalid_token"));
        let plain = optional::<()>(Some(&guarded)).unwrap();
        assert_eq!(plain.map(|c| c.sub), Some("ada".to_owned()));
        // Optional: claims that do not fit are none, as actix-web's `Option` makes them.
        assert!(matches!(optional::<Needs>(Some(&guarded)), Ok(None)));
    }
}
