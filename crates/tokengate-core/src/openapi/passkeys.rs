//! The operations and schemas of the passkey endpoints (with `passkey_rp_id`).

use serde_json::{json, Value};

use super::operations::{bearer_or_cookie, body_errors, challenged, error, form, throttled, with};
use super::TEXT;
use crate::gate::Endpoint;

/// The operation of a passkey endpoint answering `method`; `None` for the others.
pub(super) fn operation(endpoint: Endpoint, method: &str) -> Option<Value> {
    Some(match (endpoint, method) {
        (Endpoint::ListPasskeys, _) => list(),
        (Endpoint::PasskeyRegisterOptions, _) => register_options(),
        (Endpoint::PasskeyRegister, _) => register(),
        (Endpoint::PasskeySignInOptions, _) => signin_options(),
        (Endpoint::PasskeySignIn, _) => signin(),
        (Endpoint::PasskeyVerifyOptions, _) => verify_options(),
        (Endpoint::Passkey, "DELETE") => remove(),
        (Endpoint::Passkey, _) => rename(),
        _ => return None,
    })
}

/// A body that is a credential as the browser's `PublicKeyCredential.toJSON()` gives it.
fn credential_body(description: &str) -> Value {
    json!({
        "required": true,
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/PasskeyCredential" } } },
    })
}

/// What an options endpoint answers.
fn options(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/PasskeyOptions" } } },
    })
}

/// What a body that must be a credential can answer about the body itself.
fn credential_errors() -> Value {
    json!({
        "400": error("the body is not a credential, or the credential was refused (the reason says which check)"),
        "408": error("the body did not arrive within `body_timeout`"),
        "413": error("the body is larger than `body_limit`"),
        "415": error("the body is not JSON"),
        "503": error("the session store is unavailable"),
    })
}

fn passkey_id() -> Value {
    json!({
        "name": "id", "in": "path", "required": true,
        "description": "the passkey's id, as `GET passkeys` lists it",
        "schema": { "type": "string", "minLength": 1 },
    })
}

/// `GET passkeys`.
fn list() -> Value {
    json!({
        "operationId": "passkeys",
        "tags": ["tokengate"],
        "summary": "The caller's passkeys (never a key)",
        "security": bearer_or_cookie(),
        "responses": {
            "200": {
                "description": "the passkeys, the oldest first",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Passkeys" } } },
            },
            "401": challenged("no access token, or not a valid one, or its session has ended"),
            "403": error("an application key's token: passkeys are a user's"),
            "503": error("the session store is unavailable"),
        },
    })
}

/// `POST passkeys/register/options`.
fn register_options() -> Value {
    json!({
        "operationId": "passkeyRegisterOptions",
        "tags": ["tokengate"],
        "summary": "The options of a new passkey, for `navigator.credentials.create` (its binary fields in base64url)",
        "description": "Under the caller's user handle (random, never the login), excluding its passkeys; a discoverable credential preferred, user verification required. Answer within `passkey_challenge_ttl` with `POST passkeys/register`, from the same session. Once the caller has an active factor, this needs `aal2`.",
        "security": bearer_or_cookie(),
        "responses": {
            "200": options("the creation options: `{\"publicKey\": ...}`"),
            "401": challenged("no valid access token, its session has ended, or the caller has an active factor and the session is below `aal2` (`insufficient_user_authentication`)"),
            "403": error("an application key's token, or cookie mode without the CSRF header"),
            "429": throttled("too many ceremonies asked for from this address"),
            "503": error("the session store is unavailable"),
        },
    })
}

/// `POST passkeys/register`.
fn register() -> Value {
    json!({
        "operationId": "passkeyRegister",
        "tags": ["tokengate"],
        "summary": "Register the passkey the browser made for the options",
        "description": "The whole body is the credential as `PublicKeyCredential.toJSON()` gives it. The caller's first factor comes with ten recovery codes, shown only here, and ends its other sessions (`mfa_end_sessions`).",
        "security": bearer_or_cookie(),
        "requestBody": credential_body("the attestation"),
        "responses": with(credential_errors(), json!({
            "201": {
                "description": "the passkey",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/PasskeyRegistered" } } },
            },
            "401": challenged("no valid access token, its session has ended, or the session is below `aal2` while another factor is active"),
            "403": error("an application key's token, or cookie mode without the CSRF header"),
            "409": error("the passkey is registered already, or the caller holds `mfa_max_factors` factors"),
        })),
    })
}

/// `POST passkeys/signin/options`.
fn signin_options() -> Value {
    json!({
        "operationId": "passkeySignInOptions",
        "tags": ["tokengate"],
        "summary": "The options of a passwordless sign-in, for `navigator.credentials.get`",
        "description": "Any passkey of this site the authenticator holds; answer within `passkey_challenge_ttl` with `POST passkeys/signin`.",
        "security": [],
        "responses": {
            "200": options("the request options: `{\"publicKey\": ...}`"),
            "429": throttled("too many ceremonies asked for from this address"),
            "503": error("the session store is unavailable"),
        },
    })
}

/// `POST passkeys/signin`.
fn signin() -> Value {
    json!({
        "operationId": "passkeySignIn",
        "tags": ["tokengate"],
        "summary": "Sign in with a passkey: a new session at `aal2`, both tokens as `signin` answers them",
        "description": "The whole body is the assertion as `PublicKeyCredential.toJSON()` gives it; `?cookieauth=true` answers with the cookies and the CSRF token instead. Throttled as a sign-in, by address and by credential id; every refusal answers alike.",
        "security": [],
        "parameters": [{
            "name": "cookieauth", "in": "query", "required": false,
            "description": "`true`: the tokens in cookies, the CSRF token in the body",
            "schema": { "type": "string", "enum": ["true", "false", "1", "0"] },
        }],
        "requestBody": credential_body("the assertion"),
        "responses": with(credential_errors(), json!({
            "201": {
                "description": "signed in: both tokens, or in cookie mode the cookies and the CSRF token",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/SignedIn" } } },
            },
            "401": error("the passkey was not accepted (`invalid_credentials`)"),
            "403": error("cookie mode from a foreign `Origin`"),
            "429": throttled("too many failed sign-ins from this address or with this passkey"),
        })),
    })
}

/// `POST passkeys/verify/options`.
fn verify_options() -> Value {
    json!({
        "operationId": "passkeyVerifyOptions",
        "tags": ["tokengate"],
        "summary": "The options of proving a passkey as a session's second factor, for `navigator.credentials.get`",
        "description": "The session's current refresh token (field `token`, a bearer header, or the refresh cookie with the CSRF header). Answer with `POST mfa/verify`, the assertion as `credential`.",
        "requestBody": { "required": false, "description": "`token` unless a header or the cookie carries it", "content": form("Refresh") },
        "responses": with(body_errors(), json!({
            "200": options("the request options: `{\"publicKey\": ...}`"),
            "401": challenged("the refresh token is not the session's current one, or its session has ended"),
            "403": error("an application key's token, or cookie mode: the CSRF header is missing or wrong"),
            "404": error("the session's user has no passkey"),
            "429": throttled("too many ceremonies asked for from this address"),
        })),
    })
}

/// `PATCH passkeys/{id}`.
fn rename() -> Value {
    json!({
        "operationId": "renamePasskey",
        "tags": ["tokengate"],
        "summary": "Rename one of the caller's passkeys (`aal2` once a factor is active)",
        "security": bearer_or_cookie(),
        "parameters": [passkey_id()],
        "requestBody": { "required": false, "description": "needed: `name`", "content": form("PasskeyName") },
        "responses": with(body_errors(), json!({
            "200": {
                "description": "renamed",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/PasskeyRenamed" } } },
            },
            "401": challenged("no valid access token, its session has ended, or the session is below `aal2`"),
            "403": error("an application key's token, or cookie mode without the CSRF header"),
            "404": error("no passkey of the caller has this id"),
        })),
    })
}

/// `DELETE passkeys/{id}`.
fn remove() -> Value {
    json!({
        "operationId": "removePasskey",
        "tags": ["tokengate"],
        "summary": "Remove one of the caller's passkeys (`aal2` once a factor is active); the caller's other sessions end (`mfa_end_sessions`)",
        "security": bearer_or_cookie(),
        "parameters": [passkey_id()],
        "responses": {
            "200": {
                "description": "removed",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/FactorRemoved" } } },
            },
            "401": challenged("no valid access token, its session has ended, or the session is below `aal2`"),
            "403": error("an application key's token, or cookie mode without the CSRF header"),
            "404": error("no passkey of the caller has this id"),
            "503": error("the session store is unavailable"),
        },
    })
}

/// The schemas of the passkey endpoints.
pub(super) fn schemas() -> Value {
    let names = json!({ "type": "string", "pattern": "^[A-Za-z0-9_.\\-\\[\\]:]{1,128}$" });
    let b64url = json!({ "type": "string", "pattern": "^[A-Za-z0-9_-]*={0,2}$" });
    json!({
        "PasskeyOptions": {
            "type": "object",
            "required": ["publicKey"],
            "properties": {
                "publicKey": { "type": "object", "description": "the WebAuthn options; `challenge`, `user.id` and credential ids in base64url" },
            },
        },
        "PasskeyCredential": {
            "type": "object",
            "required": ["id", "rawId", "type", "response"],
            "description": "a credential as `PublicKeyCredential.toJSON()` gives it",
            "properties": {
                "id": b64url,
                "rawId": b64url,
                "type": { "type": "string", "const": "public-key" },
                "response": { "type": "object", "description": "`clientDataJSON` and `attestationObject` (registration) or `authenticatorData`, `signature` and `userHandle` (assertion), in base64url" },
                "authenticatorAttachment": { "type": ["string", "null"] },
                "clientExtensionResults": { "type": "object" },
            },
        },
        "PasskeyProof": {
            "type": "object",
            "required": ["credential"],
            "properties": {
                "token": { "type": "string", "minLength": 1, "pattern": TEXT, "description": "the refresh token (or a bearer header, or the refresh cookie)" },
                "credential": { "$ref": "#/components/schemas/PasskeyCredential" },
            },
            "additionalProperties": false,
        },
        "PasskeyName": {
            "type": "object",
            "required": ["name"],
            "propertyNames": names,
            "additionalProperties": { "$ref": "#/components/schemas/Field" },
            "properties": {
                "name": { "type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[^\\x00-\\x1F\\x7F-\\x9F]*[^\\s\\x00-\\x1F\\x7F-\\x9F][^\\x00-\\x1F\\x7F-\\x9F]*$" },
            },
        },
        "PasskeyRegistered": {
            "type": "object",
            "required": ["id", "name", "createdAt"],
            "properties": {
                "id": { "type": "string" },
                "name": { "type": "string" },
                "createdAt": { "type": "integer" },
                "recoveryCodes": { "type": "array", "maxItems": 10, "items": { "type": "string" },
                    "description": "with the caller's first factor only: single-use codes, shown only here" },
            },
        },
        "PasskeyRenamed": {
            "type": "object",
            "required": ["id", "name"],
            "properties": { "id": { "type": "string" }, "name": { "type": "string" } },
        },
        "Passkeys": {
            "type": "object",
            "required": ["passkeys"],
            "properties": {
                "passkeys": { "type": "array", "items": { "type": "object",
                    "required": ["id", "name", "createdAt", "backupEligible", "backedUp"],
                    "properties": {
                        "id": { "type": "string" },
                        "name": { "type": ["string", "null"] },
                        "createdAt": { "type": "integer" },
                        "lastUsedAt": { "type": ["integer", "null"] },
                        "backupEligible": { "type": "boolean", "description": "the key may be synced to other devices" },
                        "backedUp": { "type": "boolean", "description": "the key is synced" },
                    } } },
            },
        },
    })
}
