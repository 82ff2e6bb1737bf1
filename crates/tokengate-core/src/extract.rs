//! What the adapters' `Claims` extractors share: reading the claims a guard left in the
//! request, and the answer when they are missing.
//!
//! The guard puts a [`VerifiedToken`] into the request's extensions when the request carried a
//! valid access token, and the [`TokenGate`] itself when it let the request through without one
//! (a public path, or the optional mode), so that the extractor answers in the gate's words.
//!
//! # Example
//!
//! ```
//! use tokengate_core::credentials::MemoryDirectory;
//! use tokengate_core::{extract, Config, TokenGate};
//!
//! let config = Config::default().set("secret", "an-example-secret-of-at-least-32-bytes")?;
//! let gate = TokenGate::builder(config).credentials(MemoryDirectory::new()).build()?;
//!
//! // No token was verified: optional extraction gives `None`, required gives the 401 answer.
//! assert!(matches!(extract::optional::<()>(None, Some(&gate)), Ok(None)));
//! let refused = extract::required::<()>(None, Some(&gate)).err().map(|r| r.status);
//! assert_eq!(refused, Some(401));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde::de::DeserializeOwned;

use crate::claims::Claims;
use crate::error::{Error, ErrorKind, TokenError};
use crate::gate::TokenGate;
use crate::response::Response;
use crate::verify::VerifiedToken;

/// The claims of `verified` read as `Claims<T>`, required.
///
/// The `Err` answer is the gate's own: 401 `missing_token` when no token was verified, 401
/// `invalid_token` when the custom claims do not fit `T`, and 500 when no gate is in front of
/// the route at all (a wiring bug, not the client's fault).
pub fn required<T: DeserializeOwned>(
    verified: Option<&VerifiedToken>,
    gate: Option<&TokenGate>,
) -> Result<Claims<T>, Response> {
    optional(verified, gate)?.ok_or_else(|| refuse(gate, &Error::new(ErrorKind::MissingToken)))
}

/// The claims of `verified` read as `Claims<T>`, or `None` when no token was verified.
///
/// The `Err` answer is 401 `invalid_token` when the custom claims do not fit `T`.
pub fn optional<T: DeserializeOwned>(
    verified: Option<&VerifiedToken>,
    gate: Option<&TokenGate>,
) -> Result<Option<Claims<T>>, Response> {
    verified
        .map(|verified| {
            Claims::from_payload(verified.payload())
                .map_err(|_| refuse(gate, &Error::invalid_token(TokenError::BadClaims)))
        })
        .transpose()
}

fn refuse(gate: Option<&TokenGate>, error: &Error) -> Response {
    if let Some(gate) = gate {
        return gate.error_response(error);
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
    use crate::credentials::MemoryDirectory;
    use crate::Config;

    #[test]
    fn without_any_gate_the_answer_is_a_500_not_a_client_error() {
        let answer = required::<()>(None, None).err().map(|r| r.status);
        assert_eq!(answer, Some(500));
    }

    #[test]
    fn custom_claims_that_do_not_fit_are_an_invalid_token() {
        #[derive(serde::Deserialize)]
        struct Needs {
            #[allow(dead_code)]
            tenant: u64,
        }
        let config = Config::default()
            .set("secret", "a-test-only-secret-of-32-bytes-or-more")
            .unwrap();
        let gate = TokenGate::builder(config)
            .credentials(MemoryDirectory::new())
            .build()
            .unwrap();
        let now = crate::clock::unix_now();
        let payload = serde_json::json!({
            "iss": "tokengate", "sub": "ada", "iat": now, "exp": now + 60, "jti": "j", "sid": "s",
        });
        let token =
            crate::issue::sign(&gate.inner.keys, crate::TokenKind::Access, &payload).unwrap();
        let verified = gate.verify_access(&token).unwrap();
        let refused = required::<Needs>(Some(&verified), Some(&gate)).err();
        let body = refused.map(|r| String::from_utf8_lossy(&r.body).into_owned());
        assert!(body.unwrap_or_default().contains("invalid_token"));
        let plain = optional::<()>(Some(&verified), Some(&gate)).unwrap();
        assert_eq!(plain.map(|c| c.sub), Some("ada".to_owned()));
    }
}
