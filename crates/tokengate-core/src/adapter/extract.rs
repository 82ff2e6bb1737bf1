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
//! use tokengate::credentials::MemoryDirectory;
//! use tokengate::adapter::{extract, Route};
//! use tokengate::{Config, GuardMode, TokenGate};
//!
//! let config = Config::default()
//!     .with_secret("an-example-secret-of-at-least-32-bytes")
//!     .with_mode(GuardMode::Optional);
//! let gate = TokenGate::builder(config).credentials(MemoryDirectory::new()).build()?;
//!
//! # struct Get;
//! # impl tokengate::adapter::RequestHead for Get {
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

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

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
    read(guarded, true)?.ok_or_else(|| refuse(guarded, &Error::new(ErrorKind::MissingToken)))
}

/// The request's claims read as `Claims<T>`, or `None` when no token was verified or when
/// its custom claims do not fit `T`: the optional extractors of both frameworks answer so
/// (actix-web's `Option<T>` turns every refusal into `None`, and axum's follows it).
///
/// The `Err` answer is 500, when no gate is in front of the route.
pub fn optional<T: DeserializeOwned>(
    guarded: Option<&Guarded>,
) -> Result<Option<Claims<T>>, Response> {
    match read(guarded, false) {
        Err(response) if guarded.is_some() => {
            tracing::debug!(target: "tokengate", status = response.status, "claims do not fit the extractor's type: none");
            Ok(None)
        }
        other => other,
    }
}

/// The claims, `None` without a verified token; `Err` for claims that do not fit `T`, which
/// is logged once per type when `warn_misfit` (the required forms: for the optional ones, no
/// claims is an answer an application may mean).
fn read<T: DeserializeOwned>(
    guarded: Option<&Guarded>,
    warn_misfit: bool,
) -> Result<Option<Claims<T>>, Response> {
    let Some(guarded) = guarded else {
        return Err(refuse(None, &Error::new(ErrorKind::MissingToken)));
    };
    guarded
        .verified()
        .map(|verified| {
            Claims::from_payload(verified.payload()).map_err(|_| {
                if warn_misfit {
                    warn_once::<T>(verified.payload());
                }
                refuse(Some(guarded), &Error::invalid_token(TokenError::BadClaims))
            })
        })
        .transpose()
}

/// A token whose claims do not fit `T` is the client's 401 (an old token may lawfully not
/// fit), but it is often the application's own mistake: the first one per type is logged at
/// `warn` for the developer, naming the type, the claim and what was expected of it. Neither
/// the token nor the claim's value is logged.
fn warn_once<T: DeserializeOwned>(payload: &[u8]) {
    let claims_type = std::any::type_name::<T>();
    if first_misfit_of(claims_type) {
        tracing::warn!(
            target: "tokengate",
            claims_type,
            misfit = %misfit::<T>(payload),
            "a token's claims do not fit the extractor's type: refused with 401 (logged once per type)"
        );
    }
}

/// Which claim of `payload` does not fit `T`, and how, without its value.
fn misfit<T: DeserializeOwned>(payload: &[u8]) -> String {
    let mut json = serde_json::Deserializer::from_slice(payload);
    match serde_path_to_error::deserialize::<_, T>(&mut json) {
        // `T` fits on its own: what failed is how it sits beside the registered claims.
        Ok(_) => "a claim that is also a registered one (iss, sub, exp...)".to_owned(),
        Err(error) => {
            let what = without_value(&error.inner().to_string());
            match error.path().to_string().as_str() {
                "." => what,
                path => format!("`{path}`: {what}"),
            }
        }
    }
}

/// serde's message without the value it quotes ("invalid type: string \"ada\", expected u8"
/// → "invalid type, expected u8") and without the position in the payload.
fn without_value(message: &str) -> String {
    let message = message.split(" at line ").next().unwrap_or(message);
    match message.split_once(", expected ") {
        Some((found, expected)) => {
            let kind = found.split([':', '`']).next().unwrap_or(found).trim();
            format!("{kind}, expected {expected}")
        }
        None => message.to_owned(),
    }
}

/// Whether no token's claims failed to fit `claims_type` before. The set holds type names,
/// so it is bounded by the types an application extracts.
fn first_misfit_of(claims_type: &'static str) -> bool {
    static MISFITS: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    MISFITS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(claims_type)
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

    #[test]
    fn a_misfit_names_the_claim_and_what_was_expected_without_its_value() {
        #[derive(Debug, serde::Deserialize)]
        struct Level {
            #[allow(dead_code)]
            level: u8,
        }
        let payload = br#"{"sub":"ada","level":"ada@example.org"}"#;
        assert_eq!(
            misfit::<Level>(payload),
            "`level`: invalid type, expected u8"
        );
        let payload = br#"{"sub":"ada","level":300}"#;
        assert_eq!(
            misfit::<Level>(payload),
            "`level`: invalid value, expected u8"
        );
        let payload = br#"{"sub":"ada"}"#;
        assert_eq!(misfit::<Level>(payload), "missing field `level`");
        assert_eq!(
            without_value("unknown variant `x-secret`, expected `a` or `b` at line 1 column 9"),
            "unknown variant, expected `a` or `b`"
        );
    }

    #[test]
    fn a_misfit_is_first_once_per_type() {
        assert!(first_misfit_of("a::Tenant"));
        assert!(!first_misfit_of("a::Tenant"));
        assert!(first_misfit_of("a::Level"));
        assert!(!first_misfit_of("a::Level"));
    }
}
