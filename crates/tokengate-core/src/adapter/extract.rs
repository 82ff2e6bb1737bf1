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
use serde_path_to_error::Segment;

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

/// The claims, `None` without a verified token; `Err` for claims that do not fit `T`, which
/// is logged once per type (whichever extractor meets it first: actix-web's `Option<T>` asks
/// the required one, so the optional forms log it too, alike on both frameworks).
fn read<T: DeserializeOwned>(guarded: Option<&Guarded>) -> Result<Option<Claims<T>>, Response> {
    let Some(guarded) = guarded else {
        return Err(refuse(None, &Error::new(ErrorKind::MissingToken)));
    };
    guarded
        .verified()
        .map(|verified| {
            Claims::from_payload(verified.payload()).map_err(|_| {
                warn_once::<T>(verified.payload());
                refuse(Some(guarded), &Error::invalid_token(TokenError::BadClaims))
            })
        })
        .transpose()
}

/// A token whose claims do not fit `T` is the client's 401 (an old token may lawfully not
/// fit), but it is often the application's own mistake: the first one per type is logged at
/// `warn` for the developer, naming the type, the claim and what was expected of it. Neither
/// the token nor a claim's value is logged.
fn warn_once<T: DeserializeOwned>(payload: &[u8]) {
    let claims_type = std::any::type_name::<T>();
    if first_misfit_of(claims_type) {
        tracing::warn!(
            target: "tokengate",
            claims_type,
            misfit = %misfit::<T>(payload),
            "a token's claims do not fit the extractor's type: answered as without claims (401, or None for an optional extractor); logged once per type"
        );
    }
}

/// Which claim of `payload` does not fit `T`, and how, without its value: the top-level claim
/// (a field of `T`, or a claim name the application's own directory or hook gave the token),
/// `…` for anything deeper (map keys there may be data).
fn misfit<T: DeserializeOwned>(payload: &[u8]) -> String {
    let mut json = serde_json::Deserializer::from_slice(payload);
    match serde_path_to_error::deserialize::<_, T>(&mut json) {
        // `T` fits on its own: what failed is how it sits beside the registered claims.
        Ok(_) => "a claim that is also a registered one (iss, sub, exp...)".to_owned(),
        Err(error) => {
            let what = without_value(&error.inner().to_string());
            let mut segments = error.path().iter();
            match segments.next() {
                Some(Segment::Map { key }) => {
                    let deeper = if segments.next().is_some() {
                        ".…"
                    } else {
                        ""
                    };
                    format!("`{key}{deeper}`: {what}")
                }
                _ => what,
            }
        }
    }
}

/// serde's message without the value it quotes and without the position in the payload:
/// "invalid type: string \"ada\", expected u8" → "invalid type, expected u8". Only serde's
/// own phrases are kept; any other message (a type's own `Deserialize`, `try_from`) may quote
/// the value, and is not shown.
fn without_value(message: &str) -> String {
    let message = match message.rsplit_once(" at line ") {
        Some((before, position))
            if position
                .split(" column ")
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) =>
        {
            before
        }
        _ => message,
    };
    let kept = ["missing field `", "duplicate field `"];
    if kept.iter().any(|phrase| message.starts_with(phrase)) {
        return message.to_owned();
    }
    let phrases = [
        "invalid type",
        "invalid value",
        "invalid length",
        "unknown variant",
        "unknown field",
    ];
    match phrases.iter().find(|phrase| message.starts_with(*phrase)) {
        Some(phrase) => match message.rsplit_once(", expected ") {
            Some((_, expected)) => format!("{phrase}, expected {expected}"),
            None => (*phrase).to_owned(),
        },
        None => "the type's own deserializer refused it (its message is not shown: it may quote the value)".to_owned(),
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
    fn no_value_slips_through_the_message_or_the_path() {
        #[derive(Debug, serde::Deserialize)]
        struct Level {
            #[allow(dead_code)]
            level: u8,
        }
        #[derive(Debug, serde::Deserialize)]
        struct ByTenant {
            #[allow(dead_code)]
            by_tenant: std::collections::BTreeMap<String, u8>,
        }
        #[derive(Debug, serde::Deserialize)]
        struct Checked {
            #[allow(dead_code)]
            #[serde(deserialize_with = "refuse_quoting")]
            tenant: String,
        }
        fn refuse_quoting<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
            let value = <String as serde::Deserialize>::deserialize(d)?;
            Err(serde::de::Error::custom(format!(
                "not a tenant id: {value}"
            )))
        }
        let cases: [(String, &str); 5] = [
            (
                misfit::<Level>(br#"{"level":"SECRET-1 at line 7"}"#),
                "SECRET-1",
            ),
            (
                misfit::<Level>(br#"{"level":"x, expected SECRET-2"}"#),
                "SECRET-2",
            ),
            (misfit::<Checked>(br#"{"tenant":"SECRET-3"}"#), "SECRET-3"),
            (
                misfit::<ByTenant>(br#"{"by_tenant":{"SECRET-4":"x"}}"#),
                "SECRET-4",
            ),
            (misfit::<Level>(br#"{"level":[1, 2]}"#), "[1"),
        ];
        for (logged, secret) in &cases {
            assert!(!logged.contains(secret), "{secret} in {logged:?}");
        }
        assert_eq!(cases[0].0, "`level`: invalid type, expected u8");
        assert_eq!(cases[1].0, "`level`: invalid type, expected u8");
        assert!(
            cases[2]
                .0
                .starts_with("`tenant`: the type's own deserializer"),
            "{}",
            cases[2].0
        );
        assert_eq!(cases[3].0, "`by_tenant.…`: invalid type, expected u8");
    }

    #[test]
    fn a_misfit_is_first_once_per_type() {
        assert!(first_misfit_of("a::Tenant"));
        assert!(!first_misfit_of("a::Tenant"));
        assert!(first_misfit_of("a::Level"));
        assert!(!first_misfit_of("a::Level"));
    }
}
