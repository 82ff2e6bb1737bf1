//! The operations and schemas of the second-factor endpoints (with `mfa_key`).

use serde_json::{json, Value};

use super::operations::{bearer_or_cookie, body_errors, challenged, error, form, throttled, with};
use super::TEXT;
use crate::gate::Endpoint;

/// The operation of a second-factor endpoint; `None` for the others.
pub(super) fn operation(endpoint: Endpoint) -> Option<Value> {
    Some(match endpoint {
        Endpoint::ListFactors => list(),
        Endpoint::EnrolTotp => enrol(),
        Endpoint::ConfirmFactor => confirm(),
        Endpoint::RemoveFactor => remove(),
        Endpoint::RecoveryCodes => recovery(),
        Endpoint::VerifyFactor => verify(),
        _ => return None,
    })
}

/// What a session below what an endpoint needs gets: the RFC 9470 challenge.
fn step_up(description: &str) -> Value {
    challenged(description)
}

fn factor_id() -> Value {
    json!({
        "name": "id", "in": "path", "required": true,
        "description": "the factor's id, as `GET mfa` lists it",
        "schema": { "type": "string", "minLength": 1 },
    })
}

fn recovery_codes(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/RecoveryCodes" } } },
    })
}

/// `GET mfa`.
fn list() -> Value {
    json!({
        "operationId": "factors",
        "tags": ["tokengate"],
        "summary": "The caller's second factors (never a secret) and the recovery codes left",
        "security": bearer_or_cookie(),
        "responses": {
            "200": {
                "description": "the factors",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Factors" } } },
            },
            "401": challenged("no access token, or not a valid one, or its session has ended"),
            "403": error("an application key's token: second factors are a user's"),
            "503": error("the session store is unavailable"),
        },
    })
}

/// `POST mfa/totp`.
fn enrol() -> Value {
    json!({
        "operationId": "enrolTotp",
        "tags": ["tokengate"],
        "summary": "Enrol a TOTP authenticator: its secret, shown once; pending until a code confirms it",
        "description": "SHA-1, 30-second steps, 6 digits: what authenticator apps use. Confirm with `POST mfa/{id}/confirm` within `mfa_pending_ttl`. Once the caller has an active factor, enrolling another needs `aal2`.",
        "security": bearer_or_cookie(),
        "responses": {
            "201": {
                "description": "the pending authenticator",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Enrolment" } } },
            },
            "401": step_up("no valid access token, its session has ended, or the caller has an active factor and the session is below `aal2` (`insufficient_user_authentication`)"),
            "403": error("an application key's token, or cookie mode without the CSRF header"),
            "409": error("the caller holds `mfa_max_factors` factors already"),
            "503": error("the session store is unavailable"),
        },
    })
}

/// `POST mfa/{id}/confirm`.
fn confirm() -> Value {
    json!({
        "operationId": "confirmFactor",
        "tags": ["tokengate"],
        "summary": "Confirm a pending authenticator with its current code; the first active factor comes with ten recovery codes, shown only here",
        "security": bearer_or_cookie(),
        "parameters": [factor_id()],
        "requestBody": { "required": false, "description": "needed: `code`", "content": form("FactorCode") },
        "responses": with(body_errors(), json!({
            "200": recovery_codes("active; the recovery codes (empty for a second factor: the first one's stay); the first factor ends the caller's other sessions (`mfa_end_sessions`)"),
            "400": error("`code` is missing, or not the authenticator's current code"),
            "401": step_up("no valid access token, its session has ended, or the session is below `aal2` while another factor is active"),
            "403": error("an application key's token, or cookie mode without the CSRF header"),
            "404": error("no pending factor of the caller has this id"),
            "429": throttled("too many codes tried for this session or this user"),
        })),
    })
}

/// `DELETE mfa/{id}`.
fn remove() -> Value {
    json!({
        "operationId": "removeFactor",
        "tags": ["tokengate"],
        "summary": "Remove a factor (`aal2` once one is active); removing an active one ends the caller's other sessions (`mfa_end_sessions`)",
        "security": bearer_or_cookie(),
        "parameters": [factor_id()],
        "responses": {
            "200": {
                "description": "removed",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/FactorRemoved" } } },
            },
            "401": step_up("no valid access token, its session has ended, or the session is below `aal2`"),
            "403": error("an application key's token, or cookie mode without the CSRF header"),
            "404": error("no factor of the caller has this id"),
            "503": error("the session store is unavailable"),
        },
    })
}

/// `POST mfa/recovery`.
fn recovery() -> Value {
    json!({
        "operationId": "recoveryCodes",
        "tags": ["tokengate"],
        "summary": "Ten new recovery codes, replacing those left (`aal2`)",
        "security": bearer_or_cookie(),
        "responses": {
            "200": recovery_codes("the new codes, shown only here"),
            "401": step_up("no valid access token, its session has ended, or the session is below `aal2`"),
            "403": error("an application key's token, or cookie mode without the CSRF header"),
            "404": error("the caller has no active factor"),
            "503": error("the session store is unavailable"),
        },
    })
}

/// `POST mfa/verify`.
fn verify() -> Value {
    json!({
        "operationId": "verifyFactor",
        "tags": ["tokengate"],
        "summary": "Prove a second factor for a session: new tokens on the same session at `aal2`",
        "description": "The session's current refresh token (field `token`, a bearer header, or the refresh cookie with the CSRF header) and `code`: a TOTP code (each step once per authenticator) or a recovery code (once). The refresh token presented is spent: the answer carries the session's new one. Spending a recovery code ends the caller's other sessions (`mfa_end_sessions`).",
        "requestBody": { "required": false, "description": "needed: `code`, and `token` unless a header or the cookie carries it", "content": form("FactorProof") },
        "responses": with(body_errors(), json!({
            "201": {
                "description": "the session at `aal2`: both tokens, or in cookie mode the cookies and the CSRF token",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/SignedIn" } } },
            },
            "401": challenged("the refresh token is not the session's current one or its session has ended, or the code is wrong or used (`invalid_code`)"),
            "403": error("an application key's token, or cookie mode: the CSRF header is missing or wrong"),
            "429": throttled("too many codes tried for this session or this user"),
        })),
    })
}

/// The schemas of the second-factor endpoints.
pub(super) fn schemas() -> Value {
    let names = json!({ "type": "string", "pattern": "^[A-Za-z0-9_.\\-\\[\\]:]{1,128}$" });
    json!({
        "FactorCode": {
            "type": "object",
            "required": ["code"],
            "propertyNames": names,
            "additionalProperties": { "$ref": "#/components/schemas/Field" },
            "properties": {
                "code": { "type": ["string", "number"], "minLength": 1, "pattern": TEXT, "description": "the authenticator's current 6-digit code" },
            },
        },
        "FactorProof": {
            "type": "object",
            "required": ["code"],
            "propertyNames": names,
            "additionalProperties": { "$ref": "#/components/schemas/Field" },
            "properties": {
                "token": { "type": ["string", "number", "boolean", "null"], "minLength": 1, "pattern": TEXT, "description": "the refresh token (or a bearer header, or the refresh cookie)" },
                "code": { "type": ["string", "number"], "minLength": 1, "pattern": TEXT, "description": "a 6-digit TOTP code, or a recovery code" },
            },
        },
        "Enrolment": {
            "type": "object",
            "required": ["id", "kind", "secret", "otpauthUri", "qrSvg", "expiresAt"],
            "properties": {
                "id": { "type": "string" },
                "kind": { "type": "string", "const": "totp" },
                "secret": { "type": "string", "description": "base32, for typing into an authenticator app" },
                "otpauthUri": { "type": "string", "description": "`otpauth://totp/...`, what the QR code holds" },
                "qrSvg": { "type": "string", "description": "the QR code of `otpauthUri`, an SVG document" },
                "expiresAt": { "type": "integer", "description": "unconfirmed, it ends then (Unix seconds)" },
            },
        },
        "RecoveryCodes": {
            "type": "object",
            "required": ["recoveryCodes"],
            "properties": {
                "recoveryCodes": { "type": "array", "maxItems": 10, "items": { "type": "string" },
                    "description": "single-use codes, each standing in for a second factor once; shown only here" },
            },
        },
        "Factors": {
            "type": "object",
            "required": ["factors", "recoveryCodesLeft"],
            "properties": {
                "factors": { "type": "array", "items": { "type": "object",
                    "required": ["id", "kind", "active", "createdAt"],
                    "properties": {
                        "id": { "type": "string" },
                        "kind": { "type": "string" },
                        "active": { "type": "boolean", "description": "confirmed; false while pending" },
                        "createdAt": { "type": "integer" },
                        "confirmedAt": { "type": ["integer", "null"] },
                        "expiresAt": { "type": ["integer", "null"], "description": "a pending factor ends then" },
                        "lastUsedAt": { "type": ["integer", "null"] },
                    } } },
                "recoveryCodesLeft": { "type": "integer", "minimum": 0 },
            },
        },
        "FactorRemoved": {
            "type": "object",
            "required": ["removed", "activeLeft", "sessionsEnded"],
            "properties": {
                "removed": { "type": "boolean", "const": true },
                "activeLeft": { "type": "integer", "minimum": 0 },
                "sessionsEnded": { "type": "integer", "minimum": 0, "description": "the caller's other sessions, ended with an active factor" },
            },
        },
    })
}
