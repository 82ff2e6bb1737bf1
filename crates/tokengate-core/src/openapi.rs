//! The OpenAPI 3.1 description of the endpoints the gate answers (feature `openapi`), as a
//! utoipa document to serve as it is or to merge into the application's own.
//!
//! [`TokenGate::openapi`] describes `signin`, `token`, `signout`, `sessions`,
//! `sessions/{id}`, `jwks` (and `ticket`, where WebSocket paths are configured) under the
//! configured prefix: the request bodies in the three encodings the endpoints read (multipart, urlencoded, JSON) with every field and its
//! constraints, every answer with its status, JSON schema and headers (`Set-Cookie`,
//! `Retry-After`, `WWW-Authenticate`), and the security schemes: `bearerAuth` (HTTP bearer,
//! JWT) and `cookieAuth` with `csrfHeader` (cookie mode). [`TokenGate::describe`] merges it into
//! an application's document; [`secured`] marks one of the application's operations with what
//! its route requires.
//!
//! # Example
//!
//! ```
//! use tokengate_core::authz::Requirement;
//! use tokengate_core::credentials::MemoryDirectory;
//! use tokengate_core::openapi::secured;
//! use tokengate_core::{Config, TokenGate};
//! use utoipa::openapi::{OpenApiBuilder, PathsBuilder, path::{HttpMethod, OperationBuilder, PathItem}};
//!
//! let config = Config::default().with_secret("an-example-secret-of-at-least-32-bytes");
//! let gate = TokenGate::builder(config).credentials(MemoryDirectory::new()).build()?;
//! // The application's own document (from `#[derive(OpenApi)]` as often as not)...
//! let report = OperationBuilder::new().operation_id(Some("report")).build();
//! let mut doc = OpenApiBuilder::new()
//!     .paths(PathsBuilder::new().path("/api/rest/reports", PathItem::new(HttpMethod::Get, report)))
//!     .build();
//! // ...with the gate's endpoints and schemes, and its route marked as the layer guards it.
//! gate.describe(&mut doc);
//! secured(&mut doc, "/api/rest/reports", HttpMethod::Get, Some(&Requirement::role("admin")));
//! let json = doc.to_json()?;
//! assert!(json.contains("/api/rest/signin") && json.contains(r#""bearerAuth":["admin"]"#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde_json::{json, Map, Value};
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::OpenApi;

use crate::authz::Requirement;
use crate::gate::TokenGate;
use crate::http::cookies::CSRF_HEADER;

/// The pattern of every field value but the password: no control character (a NUL, a
/// newline...), which the gate refuses with 400 before any store sees it.
const TEXT: &str = "^[^\\x00-\\x1F\\x7F-\\x9F]*$";

impl TokenGate {
    /// The OpenAPI 3.1 document of the gate's endpoints, as this configuration has them (the
    /// prefix, whether `exp=unlimited` is honoured, the cookie names).
    pub fn openapi(&self) -> OpenApi {
        // The document is written out below; it always parses (a test holds it to that).
        serde_json::from_value(self.openapi_json()).unwrap_or_default()
    }

    /// Merges the gate's endpoints, schemas and security schemes into `doc`: the
    /// application's own paths and components stay, the gate's are added.
    pub fn describe(&self, doc: &mut OpenApi) {
        doc.merge(self.openapi());
    }

    /// The document as JSON.
    pub fn openapi_json(&self) -> Value {
        let mut document = self.written();
        if let Some(schemas) = document["components"]["schemas"].as_object_mut() {
            for name in ["SignIn", "Refresh", "SignOut", "TicketAsk", "Field"] {
                if let Some(schema) = schemas.get(name).map(as_form) {
                    schemas.insert(format!("{name}Form"), schema);
                }
            }
        }
        document
    }

    /// The document as written, before the form variants of the bodies are derived.
    #[allow(clippy::too_many_lines)] // one document, read top to bottom
    fn written(&self) -> Value {
        let config = self.config();
        let prefix = config.endpoints.prefix.trim_end_matches('/');
        let tokens = &config.tokens;
        let [access_cookie, refresh_cookie, _] = self.cookies().names();
        let exp = if tokens.allow_unlimited {
            "Unix seconds, an RFC 3339 date-time or a date, or `unlimited` (a refresh token \
             without an end)"
        } else {
            "Unix seconds, an RFC 3339 date-time or a date"
        };
        // A form field is text; JSON also takes numbers and booleans (read as their text) and
        // null (no field). So each body has a form schema and a JSON one (see `as_form`).
        let form = |schema: &str| {
            let text = json!({ "$ref": format!("#/components/schemas/{schema}Form") });
            let json = json!({ "$ref": format!("#/components/schemas/{schema}") });
            json!({
                "multipart/form-data": { "schema": text },
                "application/x-www-form-urlencoded": { "schema": text },
                "application/json": { "schema": json },
            })
        };
        let error = |description: &str| {
            json!({
                "description": description,
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } },
            })
        };
        let challenged = |description: &str| {
            let mut answer = error(description);
            answer["headers"] = json!({ "WWW-Authenticate": {
                "description": "the Bearer challenge (RFC 6750 §3)",
                "schema": { "type": "string" } } });
            answer
        };
        // What every endpoint with a body can answer about the body itself.
        let body_errors = json!({
            "400": error("a field is missing, repeated or invalid, or the body cannot be read"),
            "408": error("the body did not arrive within `body_timeout`"),
            "413": error("the body is larger than `body_limit`"),
            "415": error("the body is not multipart/form-data, urlencoded or JSON"),
            "503": error("the session store is unavailable"),
        });
        let with = |mut base: Value, more: Value| {
            if let (Some(base), Value::Object(more)) = (base.as_object_mut(), more) {
                base.extend(more);
            }
            base
        };
        let tokens_answer = json!({
            "description": "signed in: both tokens in the body; in cookie mode (`cookieauth`), \
                            in cookies, and the CSRF token in the body",
            "headers": { "Set-Cookie": {
                "description": "cookie mode only: the access, refresh and CSRF cookies",
                "schema": { "type": "string" } } },
            "content": { "application/json": { "schema": { "oneOf": [
                { "$ref": "#/components/schemas/Tokens" },
                { "$ref": "#/components/schemas/CookieTokens" },
            ] } } },
        });
        // What a client does next with what it got: the stateful walk of a session. (An empty
        // `parameters` is written out: utoipa's `Link` does not read a link without it.)
        let refresh_links = json!({
            "refresh": { "operationId": "token", "parameters": {},
                "requestBody": { "token": "$response.body#/refreshToken" },
                "description": "trade the refresh token for a new access token" },
            "signOut": { "operationId": "signout", "parameters": {},
                "requestBody": { "token": "$response.body#/refreshToken" },
                "description": "end the session" },
        });
        let mut tokens_answer = tokens_answer;
        tokens_answer["links"] = refresh_links;
        let bearer_or_cookie = json!([
            { "bearerAuth": [] },
            { "cookieAuth": [], "csrfHeader": [] },
        ]);
        let session_id = json!({
            "name": "id", "in": "path", "required": true,
            "description": "the session's id, as `GET sessions` lists it",
            "schema": { "type": "string", "minLength": 1 },
        });
        let mut document = json!({
            "openapi": "3.1.0",
            "info": {
                "title": "tokengate",
                "description": "Sign in with a login and password (or an application key), trade \
                                the refresh token for access tokens, sign out; every other route \
                                takes the access token as a bearer or in a cookie.",
                "version": env!("CARGO_PKG_VERSION"),
            },
            "paths": {
                format!("{prefix}/signin"): { "post": {
                    "operationId": "signin",
                    "tags": ["tokengate"],
                    "summary": "Sign in: a new session, its refresh token and an access token",
                    "requestBody": { "required": true, "content": form("SignIn") },
                    "responses": with(body_errors.clone(), json!({
                        "201": tokens_answer,
                        "401": error("unknown login, wrong password, unknown application or wrong secret: one answer for all"),
                        "403": error("cookie mode: the request comes from a foreign origin"),
                        "429": {
                            "description": "too many failed sign-ins for this login or from this address",
                            "headers": { "Retry-After": {
                                "description": "seconds until an attempt is counted again",
                                "schema": { "type": "integer", "minimum": 1 } } },
                            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } },
                        },
                    })),
                } },
                format!("{prefix}/token"): { "post": {
                    "operationId": "token",
                    "tags": ["tokengate"],
                    "summary": "Trade a refresh token for a new access token (and, with rotation, a new refresh token)",
                    "description": "The refresh token is required, in one of three places: the field `token`, a bearer header, or the refresh cookie (cookie mode, with the CSRF header). The field is optional in the body only because a header or the cookie may carry it instead: with none of the three, the answer is 400.",
                    "requestBody": { "required": false, "content": form("Refresh") },
                    "responses": with(body_errors.clone(), json!({
                        "201": tokens_answer,
                        "401": challenged("the refresh token is not valid, expired, or its session has ended"),
                        "403": error("cookie mode: the CSRF header is missing or wrong, or the origin is foreign"),
                    })),
                } },
                format!("{prefix}/signout"): { "post": {
                    "operationId": "signout",
                    "tags": ["tokengate"],
                    "summary": "End the session (`scope=local`), all of the subject's (`global`), all others (`others`), or the one named by `session`",
                    "description": "Idempotent: an unknown, expired or revoked token also gets 200, and ends nothing. The refresh token is required, in the field `token`, a bearer header or the refresh cookie (cookie mode); the field is optional in the body only because a header or the cookie may carry it instead: with none of the three, the answer is 400.",
                    "requestBody": { "required": false, "content": form("SignOut") },
                    "responses": with(body_errors, json!({
                        "200": {
                            "description": "signed out",
                            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/SignedOut" } } },
                        },
                        "403": error("cookie mode: the CSRF header is missing or wrong, or the origin is foreign"),
                        "404": error("`session` names no live session of the token's subject"),
                    })),
                } },
                format!("{prefix}/sessions"): { "get": {
                    "operationId": "sessions",
                    "tags": ["tokengate"],
                    "summary": "The caller's live sessions, its own first (never their tokens)",
                    "security": bearer_or_cookie,
                    "responses": {
                        "200": {
                            "description": "the sessions",
                            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Sessions" } } },
                            "links": { "endSession": { "operationId": "endSession",
                                "parameters": { "id": "$response.body#/sessions/0/id" },
                                "description": "end the first listed session (the caller's own)" } },
                        },
                        "401": challenged("no access token, or not a valid one"),
                        "503": error("the session store is unavailable"),
                    },
                } },
                format!("{prefix}/sessions/{{id}}"): { "delete": {
                    "operationId": "endSession",
                    "tags": ["tokengate"],
                    "summary": "End one of the caller's sessions",
                    "security": bearer_or_cookie,
                    "parameters": [session_id],
                    "responses": {
                        "200": {
                            "description": "the session ended",
                            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/SignedOut" } } },
                        },
                        "401": challenged("no access token, or not a valid one, or its session has ended"),
                        "403": error("cookie mode: the CSRF header is missing or wrong, or the origin is foreign"),
                        "404": error("no live session of the caller's subject has this id"),
                        "503": error("the session store is unavailable"),
                    },
                } },
                format!("{prefix}/jwks"): { "get": {
                    "operationId": "jwks",
                    "tags": ["tokengate"],
                    "summary": "The public keys that verify access tokens (none for HS256)",
                    "responses": { "200": {
                        "description": "a JWK set",
                        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Jwks" } } },
                    } },
                } },
            },
            "components": {
                "schemas": {
                    "SignIn": {
                        "type": "object",
                        "required": ["login", "password"],
                        "propertyNames": { "type": "string", "pattern": "^[A-Za-z0-9_.\\-\\[\\]:]{1,128}$" },
                        "additionalProperties": { "$ref": "#/components/schemas/Field" },
                        "properties": {
                            "login": { "type": ["string", "number", "boolean"], "minLength": 1, "pattern": TEXT, "description": "the login, or the application key" },
                            "password": { "type": ["string", "number", "boolean"], "minLength": 1, "description": "the password, or the application secret" },
                            "application": { "type": ["string", "number", "boolean", "null"], "minLength": 1, "pattern": TEXT, "description": "an application key sign-in: the application's name" },
                            "exp": { "type": ["string", "number", "null"], "minLength": 1, "pattern": TEXT, "description": format!(
                                "when the refresh token ends, at most {} from now: {exp}; default {}",
                                crate::duration::format_duration(tokens.max_refresh_ttl()),
                                crate::duration::format_duration(tokens.refresh_ttl)) },
                            "cookieauth": { "type": ["string", "boolean", "integer", "null"], "enum": ["true", "false", "1", "0", true, false, 1, 0, null],
                                "description": "cookie mode: the tokens in cookies, the CSRF token in the body" },
                        },
                    },
                    "Refresh": {
                        "type": "object",
                        "propertyNames": { "type": "string", "pattern": "^[A-Za-z0-9_.\\-\\[\\]:]{1,128}$" },
                        "additionalProperties": { "$ref": "#/components/schemas/Field" },
                        "properties": {
                            "token": { "type": ["string", "number", "boolean", "null"], "minLength": 1, "pattern": TEXT, "description": "the refresh token" },
                        },
                    },
                    // `session` ends one session, `scope` says which; never both.
                    "SignOut": { "oneOf": [
                        {
                            "type": "object",
                            "title": "SignOutScope",
                            "propertyNames": { "type": "string", "pattern": "^(?!session$)[A-Za-z0-9_.\\-\\[\\]:]{1,128}$" },
                            "additionalProperties": { "$ref": "#/components/schemas/Field" },
                            "properties": {
                                "token": { "type": ["string", "number", "boolean", "null"], "minLength": 1, "pattern": TEXT, "description": "the refresh token" },
                                "scope": { "type": ["string", "null"], "enum": ["local", "global", "others", null], "default": "local",
                                    "description": "this session, all of the subject's, or all others" },
                            },
                        },
                        {
                            "type": "object",
                            "title": "SignOutSession",
                            "required": ["session"],
                            "propertyNames": { "type": "string", "pattern": "^(?!scope$)[A-Za-z0-9_.\\-\\[\\]:]{1,128}$" },
                            "additionalProperties": { "$ref": "#/components/schemas/Field" },
                            "properties": {
                                "token": { "type": ["string", "number", "boolean", "null"], "minLength": 1, "pattern": TEXT, "description": "the refresh token" },
                                "session": { "type": ["string", "number", "boolean", "null"], "minLength": 1, "pattern": TEXT,
                                    "description": "the id of the subject's session to end" },
                            },
                        },
                    ] },
                    "Field": {
                        "description": "any other field is read and ignored (field names: 1 to 128 letters, digits or `_.-[]:`); in JSON, a value is a string, a number or a boolean, read as its text, and null is no field; no value but the password holds a control character",
                        "type": ["string", "number", "boolean", "null"],
                        "pattern": TEXT,
                    },
                    "Tokens": {
                        "type": "object",
                        "required": ["refreshToken", "accessToken", "tokenType", "expiresIn"],
                        "properties": {
                            "refreshToken": { "type": "string" },
                            "accessToken": { "type": "string" },
                            "tokenType": { "type": "string", "const": "Bearer" },
                            "expiresIn": { "type": "integer", "description": "the access token's lifetime, seconds" },
                        },
                    },
                    "CookieTokens": {
                        "type": "object",
                        "required": ["csrfToken", "expiresIn"],
                        "properties": {
                            "csrfToken": { "type": "string", "description": format!("send it back in `{CSRF_HEADER}` with every unsafe request") },
                            "expiresIn": { "type": "integer" },
                        },
                    },
                    "SignedOut": {
                        "type": "object",
                        "required": ["signedOut", "sessionsEnded"],
                        "properties": {
                            "signedOut": { "type": "boolean", "const": true },
                            "sessionsEnded": { "type": "integer", "minimum": 0 },
                        },
                    },
                    "Session": {
                        "type": "object",
                        "required": ["id", "createdAt", "refreshedAt", "lastUsedAt", "expiresAt", "application", "userAgent", "address", "current"],
                        "properties": {
                            "id": { "type": "string" },
                            "createdAt": { "type": "integer", "description": "Unix seconds" },
                            "refreshedAt": { "type": "integer" },
                            "lastUsedAt": { "type": "integer", "description": "the last `/token`" },
                            "expiresAt": { "type": ["integer", "null"], "description": "null: until signed out" },
                            "application": { "type": ["string", "null"] },
                            "userAgent": { "type": ["string", "null"] },
                            "address": { "type": ["string", "null"] },
                            "current": { "type": "boolean", "description": "the caller's own session" },
                        },
                    },
                    "Sessions": {
                        "type": "object",
                        "required": ["sessions"],
                        "properties": {
                            "sessions": { "type": "array", "maxItems": 100, "items": { "$ref": "#/components/schemas/Session" } },
                            "total": { "type": "integer", "minimum": 0, "description": "how many live sessions the subject holds; at most 100 are listed" }
                        },
                    },
                    "Jwks": {
                        "type": "object",
                        "required": ["keys"],
                        "properties": { "keys": { "type": "array", "items": { "type": "object" } } },
                    },
                    "Error": {
                        "type": "object",
                        "required": ["error", "error_description"],
                        "properties": {
                            "error": { "type": "string", "enum": [
                                "missing_token", "invalid_token", "insufficient_scope", "csrf_rejected",
                                "invalid_credentials", "invalid_request", "unsupported_media_type",
                                "payload_too_large", "request_timeout", "method_not_allowed", "not_found",
                                "temporarily_unavailable", "too_many_attempts", "server_error"] },
                            "error_description": { "type": "string" },
                        },
                    },
                },
                "securitySchemes": {
                    "bearerAuth": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                        "description": "the access token from `signin` or `token`" },
                    "cookieAuth": { "type": "apiKey", "in": "cookie", "name": access_cookie,
                        "description": format!("cookie mode: the access token in its cookie (the refresh token in `{refresh_cookie}`)") },
                    "csrfHeader": { "type": "apiKey", "in": "header", "name": CSRF_HEADER,
                        "description": "cookie mode: the CSRF token from `signin`, on every unsafe request" },
                },
            },
            "tags": [{ "name": "tokengate", "description": "sign-in, tokens, sign-out, sessions" }],
        });
        if !config.guard.websocket_paths.is_empty() {
            let ttl = config.endpoints.ticket_ttl.as_secs();
            document["paths"][format!("{prefix}/ticket")] = json!({ "post": {
                "operationId": "ticket",
                "tags": ["tokengate"],
                "summary": "A single-use ticket for opening a WebSocket",
                "description": format!(
                    "Open the socket on one of the WebSocket paths ({}) with `?ticket=...` within \
                     `expiresIn` seconds; the ticket opens one connection, for the caller's \
                     session while it is live.",
                    config.guard.websocket_paths.join(", ")),
                "security": bearer_or_cookie,
                "requestBody": { "required": false, "content": form("TicketAsk") },
                "responses": {
                    "201": {
                        "description": "the ticket",
                        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Ticket" } } },
                    },
                    "401": challenged("no access token, or not a valid one, or its session has ended"),
                    "403": error("cookie mode: the CSRF header is missing or wrong, or the origin is foreign"),
                    "400": error("`path` is not a plain path one of the WebSocket paths covers, or the body cannot be read"),
                    "429": error("the caller's subject was given 100 tickets within `ticket_ttl` already; retry after `Retry-After` seconds"),
                    "408": error("the body did not arrive within `body_timeout`"),
                    "413": error("the body is larger than `body_limit`"),
                    "415": error("the body is not multipart/form-data, urlencoded or JSON"),
                    "503": error("the session store is unavailable"),
                },
            } });
            document["components"]["schemas"]["TicketAsk"] = json!({
                "type": "object",
                "propertyNames": { "type": "string", "pattern": "^[A-Za-z0-9_.\\-\\[\\]:]{1,128}$" },
                "additionalProperties": { "$ref": "#/components/schemas/Field" },
                "properties": {
                    "path": { "type": ["string", "null"], "pattern": socket_paths(&config.guard.websocket_paths),
                        "description": "the socket path the ticket opens, and those under it (`/ws/chat`: `/ws/chat` and `/ws/chat/room`); without it, any of the WebSocket paths" },
                },
            });
            document["components"]["schemas"]["Ticket"] = json!({
                "type": "object",
                "required": ["ticket", "expiresIn"],
                "properties": {
                    "ticket": { "type": "string", "description": "for `?ticket=` on the upgrade" },
                    "expiresIn": { "type": "integer", "minimum": 1, "maximum": ttl,
                        "description": "seconds left to open the socket" },
                },
            });
        }
        document
    }
}

/// The pattern of the paths a ticket may be bound to: each exact WebSocket path, or a plain path
/// under a prefix as the operator wrote it (segments of unreserved characters, none starting
/// with a dot).
pub(crate) fn socket_paths(listed: &[String]) -> String {
    const SEGMENT: &str = "[A-Za-z0-9_~-][A-Za-z0-9._~-]*";
    let escape = |text: &str| {
        text.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '/' || c == '_' || c == '~' {
                    c.to_string()
                } else {
                    format!("\\{c}")
                }
            })
            .collect::<String>()
    };
    let choices: Vec<String> = listed
        .iter()
        .map(|path| match path.strip_suffix('*') {
            Some(prefix) => match prefix.strip_suffix('/') {
                // `/*`: a plain path, not the empty one.
                Some("") => format!("/(?:{SEGMENT}(?:/{SEGMENT})*/?)?"),
                Some(base) => format!("{}(?:/?|/{SEGMENT}(?:/{SEGMENT})*/?)", escape(base)),
                None => format!("{}[A-Za-z0-9._~-]*(?:/{SEGMENT})*/?", escape(prefix)),
            },
            None => escape(path),
        })
        .collect();
    format!("^(?:{})$", choices.join("|"))
}

/// The form-encoded variant of a JSON body schema: every value text (`type` string, string
/// `enum` values only), references to `Field` made to `FieldForm`.
fn as_form(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| {
                    let value = match key.as_str() {
                        "type" if value.is_array() => json!("string"),
                        "enum" => Value::Array(
                            value
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter(|item| item.is_string())
                                .cloned()
                                .collect(),
                        ),
                        "$ref" if value == "#/components/schemas/Field" => {
                            json!("#/components/schemas/FieldForm")
                        }
                        _ => as_form(value),
                    };
                    (key.clone(), value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(as_form).collect()),
        other => other.clone(),
    }
}

/// Marks operation `method` of `path` in `doc` as the gate guards it: the bearer scheme (or
/// the cookie with its CSRF header), with the role or scope names `requirement` asks for
/// (OpenAPI 3.1 lets a non-OAuth scheme list role names). Where the operation is not in `doc`,
/// nothing changes.
#[allow(clippy::needless_pass_by_value)] // a fieldless enum, taken as callers write it
pub fn secured(
    doc: &mut OpenApi,
    path: &str,
    method: HttpMethod,
    requirement: Option<&Requirement>,
) {
    let Some(item) = doc.paths.paths.get_mut(path) else {
        return;
    };
    let operation = match method {
        HttpMethod::Get => item.get.as_mut(),
        HttpMethod::Put => item.put.as_mut(),
        HttpMethod::Post => item.post.as_mut(),
        HttpMethod::Delete => item.delete.as_mut(),
        HttpMethod::Options => item.options.as_mut(),
        HttpMethod::Head => item.head.as_mut(),
        HttpMethod::Patch => item.patch.as_mut(),
        HttpMethod::Trace => item.trace.as_mut(),
    };
    if let Some(operation) = operation {
        operation.security = Some(security(requirement));
    }
}

/// The security requirements of a route that needs `requirement` (or just a token): each
/// alternative of the requirement, by bearer or by cookie.
pub fn security(requirement: Option<&Requirement>) -> Vec<SecurityRequirement> {
    let alternatives = requirement.map_or_else(|| vec![Vec::new()], Requirement::alternatives);
    let mut out = Vec::with_capacity(alternatives.len() * 2);
    for names in &alternatives {
        out.push(SecurityRequirement::new("bearerAuth", names.clone()));
    }
    for names in &alternatives {
        let both: Map<String, Value> = [
            ("cookieAuth".to_owned(), json!(names)),
            ("csrfHeader".to_owned(), json!([])),
        ]
        .into_iter()
        .collect();
        if let Ok(requirement) = serde_json::from_value(Value::Object(both)) {
            out.push(requirement);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::MemoryDirectory;
    use crate::Config;

    fn gate(config: Config) -> TokenGate {
        TokenGate::builder(config.with_secret("a-test-only-secret-of-32-bytes-or-more"))
            .credentials(MemoryDirectory::new())
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_document_parses_as_openapi_31_with_every_endpoint() {
        let gate = gate(Config::default().with_prefix("/auth"));
        let json = gate.openapi_json();
        let doc: OpenApi = serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("{e}"));
        let back = serde_json::to_value(&doc).unwrap_or_default();
        assert_eq!(back["openapi"], "3.1.0");
        for path in gate.endpoint_paths() {
            assert!(
                doc.paths.paths.contains_key(path),
                "{path} is not described"
            );
        }
        assert!(doc.paths.paths.contains_key("/auth/sessions/{id}"));
        // Nothing of the written document is lost on the way through utoipa's types (but the
        // empty `parameters` of links, which it leaves out).
        let written = json.to_string().replace(r#""parameters":{},"#, "");
        assert_eq!(
            back["paths"].to_string(),
            serde_json::from_str::<Value>(&written).unwrap_or_default()["paths"].to_string()
        );
        assert_eq!(
            back["components"]["securitySchemes"],
            json["components"]["securitySchemes"]
        );
    }

    #[test]
    fn the_configuration_shows_in_the_document() {
        let json = gate(Config::default()).openapi_json();
        let exp =
            json["components"]["schemas"]["SignIn"]["properties"]["exp"]["description"].to_string();
        assert!(!exp.contains("unlimited"), "{exp}");
        let mut config = Config::default();
        config.tokens.allow_unlimited = true;
        config.cookies.secure = false;
        let json = gate(config).openapi_json();
        let exp =
            json["components"]["schemas"]["SignIn"]["properties"]["exp"]["description"].to_string();
        assert!(exp.contains("unlimited"), "{exp}");
        assert_eq!(
            json["components"]["securitySchemes"]["cookieAuth"]["name"],
            "tokengate-access"
        );
    }

    #[test]
    fn requirements_become_security_alternatives() {
        let admin_or_reader = Requirement::role("admin")
            .or(Requirement::application().and(Requirement::scope("read")));
        let json = serde_json::to_value(security(Some(&admin_or_reader))).unwrap_or_default();
        assert_eq!(
            json,
            json!([
                { "bearerAuth": ["admin"] },
                { "bearerAuth": ["application", "read"] },
                { "cookieAuth": ["admin"], "csrfHeader": [] },
                { "cookieAuth": ["application", "read"], "csrfHeader": [] },
            ])
        );
        let any = serde_json::to_value(security(None)).unwrap_or_default();
        assert_eq!(
            any,
            json!([{ "bearerAuth": [] }, { "cookieAuth": [], "csrfHeader": [] }])
        );
    }
}
