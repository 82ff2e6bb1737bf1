//! Sign-in with an OpenID provider (`[[providers]]`):
//!
//! - `GET {prefix}/oidc/{name}/start?return_to=…` sends the browser to the provider, with
//!   PKCE, `state` and `nonce`; the state is kept once in the store and bound to this browser
//!   by a signed cookie. An app adds its own PKCE challenge (`code_challenge`, S256).
//! - `GET {prefix}/oidc/{name}/callback` takes the state once, has the code exchanged and the
//!   ID token verified, asks the credential directory who this is
//!   ([`Credentials::federated`](crate::credentials::Credentials::federated)), then: a
//!   browser's session opens in cookies and it goes on to `return_to`; an app gets a one-time
//!   code at `return_to` instead (never a token in a URL).
//! - `POST {prefix}/oidc/exchange` trades that code, once, with the app's PKCE verifier, for
//!   both tokens.

use openidconnect::{PkceCodeChallenge, PkceCodeVerifier};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::exp::Expiry;
use super::fields::required;
use super::signin::{signed_in, start_session};
use super::tokens::{cookies_response, tokens_response};
use super::{internal, store_down};
use crate::audit::{AuditEvent, AuditKind};
use crate::clock::unix_now;
use crate::credentials::Principal;
use crate::federation::providers::{Failure, Provider, Providers};
use crate::gate::{Endpoint, TokenGate};
use crate::http::error::{Error, ErrorKind};
use crate::http::form::Fields;
use crate::http::request::RequestHead;
use crate::http::response::Response;
use crate::jws::random_id;
use crate::throttle::{Attempt, Refusal};

/// Where a started sign-in's state is kept, under its `state`.
const STATE_KEY: &str = "oidc-state:";
/// Where an app's one-time code is kept, under the code.
const CODE_KEY: &str = "oidc-code:";

/// A sign-in between its start and its callback, as the store keeps it.
#[derive(Serialize, Deserialize)]
struct Started {
    /// The provider's name.
    provider: String,
    nonce: String,
    /// The PKCE verifier of the provider's code.
    verifier: String,
    return_to: String,
    /// The app's PKCE challenge (S256): the sign-in ends with a one-time code.
    app_challenge: Option<String>,
}

/// An app's sign-in between its callback and its exchange, as the store keeps it.
#[derive(Serialize, Deserialize)]
struct Proved {
    provider: String,
    subject: String,
    claims: Map<String, Value>,
    amr: Vec<String>,
    aal2: bool,
    auth_time: i64,
    pending: bool,
    app_challenge: String,
}

fn on(gate: &TokenGate) -> Result<&Providers, Error> {
    gate.providers()
        .ok_or_else(|| Error::new(ErrorKind::NoSuchProvider))
}

/// The provider named in the path of `endpoint`.
fn named<'g, R: RequestHead + ?Sized>(
    gate: &'g TokenGate,
    head: &R,
    endpoint: Endpoint,
) -> Result<(&'g Providers, &'g std::sync::Arc<Provider>), Error> {
    let providers = on(gate)?;
    let provider = gate
        .id_in_path(endpoint, head.path())
        .and_then(|name| providers.named(name))
        .ok_or_else(|| Error::new(ErrorKind::NoSuchProvider))?;
    Ok((providers, provider))
}

/// The longest query string read (a provider's callback carries a code and a state).
const MAX_QUERY: usize = 8 * 1024;

/// The longest `return_to` kept: it is stored with the sign-in until it ends.
const MAX_RETURN_TO: usize = 2048;

/// The query's parameters of `names`, each at most once; any other is ignored.
fn query<R: RequestHead + ?Sized, const N: usize>(
    head: &R,
    names: [&'static str; N],
) -> Result<[Option<String>; N], Error> {
    let query = head.query().unwrap_or("");
    if query.len() > MAX_QUERY {
        return Err(invalid(
            "query",
            &format!("must be at most {MAX_QUERY} bytes"),
        ));
    }
    let mut found: [Option<String>; N] = std::array::from_fn(|_| None);
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if let Some(at) = names.iter().position(|known| *known == name) {
            if found[at].is_some() {
                return Err(Error::new(ErrorKind::DuplicateField(name.into_owned())));
            }
            if value.chars().any(char::is_control) {
                return Err(Error::new(ErrorKind::ControlCharacter(name.into_owned())));
            }
            found[at] = Some(value.into_owned());
        }
    }
    Ok(found)
}

fn invalid(field: &'static str, reason: &str) -> Error {
    Error::new(ErrorKind::InvalidField {
        field,
        reason: reason.to_owned(),
    })
}

/// Where a sign-in returns to.
enum Back {
    /// A path on this server (a browser's sign-in only).
    Path(String),
    /// An address at one of `oidc_return_origins`.
    Address(url::Url),
}

/// Where a sign-in may return to: a path on this server, or an address at one of
/// `oidc_return_origins`; `None` for anywhere else (no open redirect).
fn return_to(providers: &Providers, value: &str) -> Option<Back> {
    if value.starts_with('/') {
        // Never `//host` or `/\host`, which browsers read as another server.
        let plain = !value.starts_with("//")
            && !value.contains('\\')
            && !value.chars().any(|c| c.is_whitespace() || c.is_control());
        return plain.then(|| Back::Path(value.to_owned()));
    }
    let url = url::Url::parse(value).ok()?;
    if !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    let origin = match url.scheme() {
        "https" | "http" => url.origin().ascii_serialization(),
        scheme => format!("{scheme}:"),
    };
    providers
        .return_origins
        .contains(&origin)
        .then_some(Back::Address(url))
}

/// Counts a sign-in's start against the client's address: each one keeps state in the store
/// until it ends, so no client starts them without end (429 past `throttle_per_address` a
/// minute).
async fn count_start<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
    now: i64,
) -> Result<(), Error> {
    let attempt = Attempt::provider_start(&gate.config().throttle, gate.client_addr(head));
    match attempt.reserve(gate.failures(), now).await {
        Ok(_) => Ok(()),
        Err(Refusal::TooMany { retry_after }) => {
            gate.audit(&AuditEvent::new(
                AuditKind::Throttled,
                gate.client_addr(head),
            ));
            Err(Error::new(ErrorKind::TooManyAttempts { retry_after }))
        }
        Err(Refusal::Down(error)) => {
            tracing::warn!(target: "tokengate", %error, "attempt counter unavailable");
            Err(Error::new(ErrorKind::Unavailable("throttling store")))
        }
    }
}

/// `GET {prefix}/oidc/{name}/start`: 302 to the provider.
pub(super) async fn start<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
) -> Result<Response, Error> {
    let (providers, provider) = named(gate, head, Endpoint::ProviderStart)?;
    let [back, challenge, method] = query(
        head,
        ["return_to", "code_challenge", "code_challenge_method"],
    )?;
    let app_challenge = match (challenge, method.as_deref()) {
        (None, None) => None,
        (Some(challenge), Some("S256")) => {
            let fits = challenge.len() == 43
                && challenge
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !fits {
                return Err(invalid(
                    "code_challenge",
                    "must be the S256 challenge of a PKCE verifier: 43 base64url characters",
                ));
            }
            Some(challenge)
        }
        (Some(_), _) => {
            return Err(invalid("code_challenge_method", "must be S256"));
        }
        (None, Some(_)) => return Err(Error::new(ErrorKind::MissingField("code_challenge"))),
    };
    let back = match (back.as_deref(), &app_challenge) {
        (None, None) => "/".to_owned(),
        (None, Some(_)) => return Err(Error::new(ErrorKind::MissingField("return_to"))),
        (Some(value), _) if value.len() > MAX_RETURN_TO => {
            return Err(invalid(
                "return_to",
                &format!("must be at most {MAX_RETURN_TO} bytes"),
            ))
        }
        (Some(value), app) => match return_to(providers, value) {
            Some(Back::Address(url)) => url.into(),
            // An app's code goes to an app, never to a page of this server.
            Some(Back::Path(path)) if app.is_none() => path,
            _ => {
                return Err(invalid(
                    "return_to",
                    "must be a path on this server or an address at one of oidc_return_origins",
                ))
            }
        },
    };
    let now = unix_now();
    count_start(gate, head, now).await?;
    let state = random_id().map_err(internal)?;
    let nonce = random_id().map_err(internal)?;
    let (to, verifier) = provider
        .authorize(&state, &nonce)
        .await
        .ok_or_else(|| Error::new(ErrorKind::Unavailable("identity provider")))?;
    let started = Started {
        provider: provider.name.clone(),
        nonce,
        verifier,
        return_to: back,
        app_challenge,
    };
    let kept = serde_json::to_string(&started).map_err(internal)?;
    providers
        .states
        .put_challenge(
            &format!("{STATE_KEY}{state}"),
            &kept,
            now.saturating_add(providers.state_ttl),
        )
        .await
        .map_err(|e| store_down(&e))?;
    gate.audit(
        &AuditEvent::new(AuditKind::ProviderStarted, gate.client_addr(head))
            .provider(&provider.name),
    );
    let mut response = redirect(&to)?;
    response.push(
        "set-cookie",
        gate.cookies().provider_state(&state, providers.state_ttl),
    );
    Ok(response)
}

/// A 302 to `location`.
fn redirect(location: &str) -> Result<Response, Error> {
    let mut response = Response::json(302, &serde_json::json!({}));
    response
        .set_header("location", location)
        .map_err(internal)?;
    Ok(response)
}

/// `GET {prefix}/oidc/{name}/callback`: the provider's answer.
pub(super) async fn callback<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
) -> Result<Response, Error> {
    let (providers, provider) = named(gate, head, Endpoint::ProviderCallback)?;
    let client = gate.client_addr(head);
    let now = unix_now();
    let identified = identify(gate, head, providers, provider, now).await;
    if let Err(error) = &identified {
        if !matches!(error.kind(), ErrorKind::Unavailable(_)) {
            gate.audit(
                &AuditEvent::new(AuditKind::ProviderFailed, client).provider(&provider.name),
            );
        }
    }
    let (started, principal, assurance) = identified?;
    let mut response = match started.app_challenge {
        None => {
            let claims = gate.claims_of(&principal).await?;
            let expiry = refresh_expiry(gate, now);
            let opened =
                start_session(gate, head, &principal, claims, &assurance, expiry, now).await?;
            audit_signin(gate, client, &principal, &opened.sid, &provider.name);
            let mut response =
                cookies_response(gate, &opened.sid, &opened.refresh, &opened.access)?;
            response.status = 302;
            response
                .set_header("location", started.return_to.as_str())
                .map_err(internal)?;
            response
        }
        Some(app_challenge) => {
            let code = random_id().map_err(internal)?;
            let proved = Proved {
                provider: provider.name.clone(),
                subject: principal.subject,
                claims: principal.claims,
                amr: assurance.amr,
                aal2: assurance.aal2,
                auth_time: assurance.auth_time,
                pending: assurance.pending,
                app_challenge,
            };
            let kept = serde_json::to_string(&proved).map_err(internal)?;
            providers
                .states
                .put_challenge(
                    &format!("{CODE_KEY}{code}"),
                    &kept,
                    now.saturating_add(providers.code_ttl),
                )
                .await
                .map_err(|e| store_down(&e))?;
            let mut to = url::Url::parse(&started.return_to).map_err(internal)?;
            to.query_pairs_mut().append_pair("code", &code);
            redirect(to.as_str())?
        }
    };
    response.push("set-cookie", gate.cookies().provider_state_cleared());
    Ok(response)
}

/// The sign-in a callback ends (its state this browser's, taken once, for this provider) and
/// who it proved: the provider's verified identity, as the credential directory maps it, with
/// what the session proved.
async fn identify<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
    providers: &Providers,
    provider: &std::sync::Arc<Provider>,
    now: i64,
) -> Result<(Started, Principal, crate::mfa::Assurance), Error> {
    let [state, code, refused, iss] = query(head, ["state", "code", "error", "iss"])?;
    let state = state.ok_or(Error::new(ErrorKind::InvalidState(
        "the callback carries no state",
    )))?;
    // CSRF: the state must be the one this browser started with.
    if gate.cookies().provider_state_of(head) != Some(state.as_str()) {
        return Err(Error::new(ErrorKind::InvalidState(
            "this browser did not start this sign-in",
        )));
    }
    let kept = providers
        .states
        .take_challenge(&format!("{STATE_KEY}{state}"), now)
        .await
        .map_err(|e| store_down(&e))?;
    let started: Started = kept
        .and_then(|kept| serde_json::from_str(&kept).ok())
        .ok_or(Error::new(ErrorKind::InvalidState(
            "this sign-in is over: used already, or too old",
        )))?;
    // Mix-up: the answer comes back where its sign-in went, from the issuer it went to.
    if started.provider != provider.name {
        return Err(Error::new(ErrorKind::InvalidState(
            "this sign-in was started with another provider",
        )));
    }
    if refused.is_some() {
        return Err(Error::new(ErrorKind::ProviderFailed(
            "the provider refused the sign-in",
        )));
    }
    if iss.is_some_and(|iss| iss != provider.issuer()) {
        return Err(Error::new(ErrorKind::ProviderFailed(
            "the answer names another issuer",
        )));
    }
    let code = code.ok_or(Error::new(ErrorKind::MissingField("code")))?;
    let claims = match provider
        .prove(&code, &started.verifier, &started.nonce)
        .await
    {
        Ok(claims) => claims,
        Err(Failure::Down) => return Err(Error::new(ErrorKind::Unavailable("identity provider"))),
        Err(Failure::Refused(why)) => return Err(Error::new(ErrorKind::ProviderFailed(why))),
    };
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|sub| !sub.is_empty())
        .ok_or(Error::new(ErrorKind::ProviderFailed(
            "the ID token names no subject",
        )))?;
    let mut principal = match gate
        .credentials()
        .federated(&provider.name, subject, &claims)
        .await
    {
        Ok(Some(principal)) => principal,
        Ok(None) => return Err(Error::new(ErrorKind::NoAccount)),
        Err(error) => {
            tracing::warn!(target: "tokengate", %error, "credential directory failed");
            return Err(Error::new(ErrorKind::Unavailable("credential directory")));
        }
    };
    principal.application = None;
    for (name, value) in provider.mapped_claims(&claims) {
        principal.claims.entry(name).or_insert(value);
    }
    let mut assurance = signed_in(gate, &principal, now).await?.0;
    // The methods are this gate's word: a sign-in at an identity provider (`fed`), and `mfa`
    // only where the provider is trusted for its second factors. What the provider says of
    // itself is never copied into this gate's tokens.
    assurance.amr = vec!["fed".to_owned()];
    if provider.proved_mfa(&claims) {
        assurance.amr.push("mfa".to_owned());
        assurance.aal2 = true;
        assurance.pending = false;
    }
    // When the provider says its user authenticated, if that is not in the future.
    assurance.auth_time = claims
        .get("auth_time")
        .and_then(Value::as_i64)
        .filter(|at| *at <= now)
        .unwrap_or(now);
    assurance.idp = Some(provider.name.clone());
    Ok((started, principal, assurance))
}

/// `POST {prefix}/oidc/exchange` with `code` and `code_verifier`: 201 with both tokens.
pub(super) async fn exchange<R: RequestHead + ?Sized>(
    gate: &TokenGate,
    head: &R,
    fields: &Fields,
) -> Result<Response, Error> {
    let providers = on(gate)?;
    let code = required(fields, "code")?;
    let verifier = required(fields, "code_verifier")?;
    let now = unix_now();
    let client = gate.client_addr(head);
    let kept = providers
        .states
        .take_challenge(&format!("{CODE_KEY}{code}"), now)
        .await
        .map_err(|e| store_down(&e))?;
    // Taken once, whatever follows: a wrong verifier spends the code.
    let proved: Proved = kept
        .and_then(|kept| serde_json::from_str(&kept).ok())
        .ok_or_else(|| Error::new(ErrorKind::InvalidGrant))?;
    // RFC 7636 §4.1: 43 to 128 unreserved characters.
    let fits = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    let challenge =
        PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(verifier.to_owned()));
    if !fits || challenge.as_str() != proved.app_challenge {
        gate.audit(&AuditEvent::new(AuditKind::ProviderFailed, client).provider(&proved.provider));
        return Err(Error::new(ErrorKind::InvalidGrant));
    }
    let principal = Principal {
        subject: proved.subject,
        application: None,
        claims: proved.claims,
    };
    let mut assurance = crate::mfa::Assurance::signed_in("", proved.auth_time, proved.pending);
    assurance.amr = proved.amr;
    assurance.aal2 = proved.aal2;
    assurance.idp = Some(proved.provider.clone());
    let claims = gate.claims_of(&principal).await?;
    let expiry = refresh_expiry(gate, now);
    let opened = start_session(gate, head, &principal, claims, &assurance, expiry, now).await?;
    audit_signin(gate, client, &principal, &opened.sid, &proved.provider);
    Ok(tokens_response(gate, &opened.refresh, &opened.access))
}

/// A provider sign-in's session lasts `refresh_ttl`.
fn refresh_expiry(gate: &TokenGate, now: i64) -> Expiry {
    let ttl = gate.config().tokens.refresh_ttl.as_secs();
    Expiry::At(now.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX)))
}

fn audit_signin(
    gate: &TokenGate,
    client: Option<std::net::IpAddr>,
    principal: &Principal,
    sid: &str,
    provider: &str,
) {
    gate.audit(
        &AuditEvent::new(AuditKind::SignIn, client)
            .subject(&principal.subject)
            .session(sid)
            .provider(provider),
    );
}
