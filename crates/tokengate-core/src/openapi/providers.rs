//! The operations and schema of sign-in with identity providers (with `[[providers]]`).

use serde_json::{json, Value};

use super::operations::{body_errors, error, form, throttled, with};
use crate::gate::Endpoint;

/// The operation of a provider endpoint; `None` for the others.
pub(super) fn operation(endpoint: Endpoint) -> Option<Value> {
    Some(match endpoint {
        Endpoint::ProviderStart => start(),
        Endpoint::ProviderCallback => callback(),
        Endpoint::ProviderExchange => exchange(),
        _ => return None,
    })
}

/// The schema of the exchange's body (its form encodings are derived from it).
pub(super) fn schemas() -> Value {
    json!({
        "ProviderExchange": {
            "type": "object",
            "required": ["code", "code_verifier"],
            "properties": {
                "code": { "type": "string", "minLength": 1,
                    "description": "the one-time code the callback sent to `return_to`" },
                "code_verifier": { "type": "string", "minLength": 43, "maxLength": 128,
                    "description": "the PKCE verifier whose S256 challenge started the sign-in" },
            },
        },
    })
}

fn provider_name() -> Value {
    json!({
        "name": "id", "in": "path", "required": true,
        "description": "the provider's name, as `[[providers]]` configures it",
        "schema": { "type": "string", "pattern": "^[a-z0-9_-]{1,32}$" },
    })
}

fn redirected(description: &str) -> Value {
    json!({
        "description": description,
        "headers": {
            "Location": { "description": "where the browser goes next", "schema": { "type": "string" } },
            "Set-Cookie": { "description": "the sign-in's state cookie, or the session's cookies", "schema": { "type": "string" } },
        },
    })
}

/// `GET oidc/{id}/start`.
fn start() -> Value {
    json!({
        "operationId": "providerStart",
        "tags": ["tokengate"],
        "summary": "Sign in with an identity provider: the browser goes there",
        "description": "Sends the browser to the provider with PKCE (S256), `state` and `nonce`, the state bound to this browser by a signed cookie for `oidc_state_ttl`. An app adds the S256 challenge of its own verifier (`code_challenge`): its sign-in then ends with a one-time code at `return_to` for `POST oidc/exchange`.",
        "security": [],
        "parameters": [
            provider_name(),
            { "name": "return_to", "in": "query", "required": false,
              "description": "where the sign-in ends: a path on this server, or an address at one of `oidc_return_origins` (an app's must be one); `/` when absent",
              "schema": { "type": "string" } },
            { "name": "code_challenge", "in": "query", "required": false,
              "description": "an app's PKCE challenge (S256)",
              "schema": { "type": "string", "pattern": "^[A-Za-z0-9_-]{43}$" } },
            { "name": "code_challenge_method", "in": "query", "required": false,
              "schema": { "type": "string", "enum": ["S256"] } },
        ],
        "responses": {
            "302": redirected("to the provider's authorization endpoint"),
            "400": error("`return_to` is not allowed, or the app's challenge is not an S256 one"),
            "404": error("no provider of this name"),
            "429": throttled("too many sign-ins started from this address"),
            "503": error("the provider is not reachable yet, or the session store is unavailable"),
        },
    })
}

/// `GET oidc/{id}/callback`.
fn callback() -> Value {
    json!({
        "operationId": "providerCallback",
        "tags": ["tokengate"],
        "summary": "Where the provider sends the browser back",
        "description": "Takes the sign-in's state once (it must be this browser's), has the code exchanged and the ID token verified, and asks the application who this is. A browser's session then opens in cookies (the CSRF token in its cookie) and it goes on to `return_to`; an app's sign-in goes on to `return_to` with a one-time `code`.",
        "security": [],
        "parameters": [
            provider_name(),
            { "name": "state", "in": "query", "required": false, "schema": { "type": "string" } },
            { "name": "code", "in": "query", "required": false, "schema": { "type": "string" } },
            { "name": "error", "in": "query", "required": false, "schema": { "type": "string" } },
            { "name": "iss", "in": "query", "required": false, "schema": { "type": "string" } },
        ],
        "responses": {
            "302": redirected("signed in: to `return_to`"),
            "400": error("the state is missing, not this browser's, used already or too old (`invalid_state`), or the code is missing"),
            "401": error("the provider refused the sign-in, or its answer did not verify (`access_denied`)"),
            "403": error("the application has no account for this identity (`access_denied`)"),
            "404": error("no provider of this name"),
            "503": error("the provider, the credential directory or the session store is unavailable"),
        },
    })
}

/// `POST oidc/exchange`.
fn exchange() -> Value {
    json!({
        "operationId": "providerExchange",
        "tags": ["tokengate"],
        "summary": "An app's one-time code and PKCE verifier for both tokens",
        "description": "The code is taken once, whatever follows: a wrong verifier spends it.",
        "security": [],
        "requestBody": { "required": true, "content": form("ProviderExchange") },
        "responses": with(json!({
            "201": {
                "description": "signed in: both tokens, as `signin` answers them",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/SignedIn" } } },
            },
            "404": error("no identity provider is configured"),
        }), with(body_errors(), json!({
            "400": error("a field is missing or repeated, or the code is unknown, used or expired, or the verifier is not its challenge's (`invalid_grant`)"),
        }))),
    })
}
