//! The components of the document: the schemas of the bodies and answers, and the security
//! schemes.

use serde_json::{json, Value};

use super::{socket_paths, TEXT};
use crate::config::Config;
use crate::http::cookies::CSRF_HEADER;

/// The schemas and security schemes of a gate with `config`, whose access and refresh cookies
/// are named `access_cookie` and `refresh_cookie`.
#[allow(clippy::too_many_lines)] // one table of schemas, read top to bottom
pub(super) fn components(config: &Config, access_cookie: &str, refresh_cookie: &str) -> Value {
    let tokens = &config.tokens;
    let exp = if tokens.allow_unlimited {
        "Unix seconds, an RFC 3339 date-time or a date, or `unlimited` (a refresh token \
         without an end)"
    } else {
        "Unix seconds, an RFC 3339 date-time or a date"
    };
    let mut components = json!({
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
                "cookieauth": { "type": ["boolean", "null"],
                    "description": "cookie mode: the tokens in cookies, the CSRF token in the body (the strings `true`, `false`, `1` and `0` and the numbers 1 and 0 are read too)" },
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
                    "scope": { "type": ["string", "null"], "enum": ["local", "global", "others", null],
                        "description": "this session, all of the subject's, or all others (without it: this session)" },
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
                        "description": "the id of the subject's session to end (never with `scope`: 400)" },
                },
            },
        ] },
        "Introspection": client_body(
            "the token to look at",
            "ignored: only access tokens are ever active",
            "the application key, with `client_secret`, when not sent by HTTP Basic; alone, it proves nothing (401)",
        ),
        "Revocation": client_body(
            "the refresh or access token to revoke",
            "`refresh_token` or `access_token`: which kind is tried first; anything else is ignored",
            "optional: the application key, with `client_secret`, when not sent by HTTP Basic; alone (a public client), it changes nothing",
        ),
        "IntrospectionAnswer": {
            "type": "object",
            "required": ["active"],
            "description": "`active: false` comes alone; `active: true` with every claim of the token",
            "properties": {
                "active": { "type": "boolean" },
                "sub": { "type": "string" },
                "iss": { "type": "string" },
                "aud": { "type": "string" },
                "exp": { "type": "integer" },
                "iat": { "type": "integer" },
                "jti": { "type": "string" },
                "sid": { "type": "string", "description": "the session" },
                "scope": { "type": "string", "description": "space-delimited, for an application key with scopes" },
                "client_id": { "type": "string", "description": "for an application key's token: the key (its `sub`), as the application authenticates" },
                "app": { "type": "string", "description": "for an application key's token: the application's name" },
                "token_type": { "type": "string", "const": "Bearer" },
            },
        },
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
        "SignedIn": {
            "description": "a session's tokens: in the body, or in cookie mode in cookies with the CSRF token in the body",
            "oneOf": [
                { "$ref": "#/components/schemas/Tokens" },
                { "$ref": "#/components/schemas/CookieTokens" },
            ],
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
        "Discovery": {
            "type": "object",
            "required": ["issuer", "jwks_uri", "response_types_supported"],
            "properties": {
                "issuer": { "type": "string", "format": "uri" },
                "jwks_uri": { "type": "string", "format": "uri" },
                "token_endpoint": { "type": "string", "format": "uri" },
                "grant_types_supported": { "type": "array", "items": { "type": "string" } },
                "token_endpoint_auth_methods_supported": { "type": "array", "items": { "type": "string" } },
                "introspection_endpoint": { "type": "string", "format": "uri" },
                "introspection_endpoint_auth_methods_supported": { "type": "array", "items": { "type": "string" } },
                "revocation_endpoint": { "type": "string", "format": "uri" },
                "revocation_endpoint_auth_methods_supported": { "type": "array", "items": { "type": "string" } },
                "response_types_supported": { "type": "array", "items": { "type": "string" } },
                "subject_types_supported": { "type": "array", "items": { "type": "string" } },
                "id_token_signing_alg_values_supported": { "type": "array", "items": { "type": "string" } },
            },
        },
        "Error": {
            "type": "object",
            "required": ["error", "error_description"],
            "properties": {
                "error": { "type": "string", "enum": [
                    "missing_token", "invalid_token", "insufficient_scope", "csrf_rejected",
                    "invalid_credentials", "invalid_client", "invalid_request", "unsupported_media_type",
                    "payload_too_large", "request_timeout", "method_not_allowed", "not_found",
                    "temporarily_unavailable", "too_many_attempts", "server_error",
                    "insufficient_user_authentication", "invalid_code", "too_many_factors"] },
                "error_description": { "type": "string" },
            },
        },
    },
    "securitySchemes": {
        "bearerAuth": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
            "description": "the access token from `signin` or `token`" },
        "cookieAuth": { "type": "apiKey", "in": "cookie", "name": access_cookie,
            "description": format!("cookie mode: the access token in its cookie (the refresh token in `{refresh_cookie}`)") },
        "clientBasic": { "type": "http", "scheme": "basic",
            "description": "an application as an OAuth client: its key and secret, each form-urlencoded (RFC 6749 §2.3.1); or `client_id` and `client_secret` in the body" },
        "csrfHeader": { "type": "apiKey", "in": "header", "name": CSRF_HEADER,
            "description": "cookie mode: the CSRF token from `signin`, on every unsafe request" },
    },
    });
    if !config.guard.websocket_paths.is_empty() {
        let ttl = config.endpoints.ticket_ttl.as_secs();
        components["schemas"]["TicketAsk"] = json!({
            "type": "object",
            "propertyNames": { "type": "string", "pattern": "^[A-Za-z0-9_.\\-\\[\\]:]{1,128}$" },
            "additionalProperties": { "$ref": "#/components/schemas/Field" },
            "properties": {
                "path": { "type": ["string", "null"], "pattern": socket_paths(&config.guard.websocket_paths),
                    "description": "the socket path the ticket opens, and those under it (`/ws/chat`: `/ws/chat` and `/ws/chat/room`); without it, any of the WebSocket paths" },
            },
        });
        components["schemas"]["Ticket"] = json!({
            "type": "object",
            "required": ["ticket", "expiresIn"],
            "properties": {
                "ticket": { "type": "string", "description": "for `?ticket=` on the upgrade" },
                "expiresIn": { "type": "integer", "minimum": 1, "maximum": ttl,
                    "description": "seconds left to open the socket" },
            },
        });
    }
    components
}

/// The body of an OAuth endpoint (introspection, revocation): the token, its hint, and the
/// client's credentials when they do not come by HTTP Basic; each field described for its
/// endpoint.
fn client_body(token: &str, hint: &str, client_id: &str) -> Value {
    json!({
        "type": "object",
        "required": ["token"],
        "propertyNames": { "type": "string", "pattern": "^[A-Za-z0-9_.\\-\\[\\]:]{1,128}$" },
        "additionalProperties": { "$ref": "#/components/schemas/Field" },
        "properties": {
            "token": { "type": "string", "minLength": 1, "pattern": TEXT, "description": token },
            "token_type_hint": { "type": ["string", "null"], "pattern": TEXT, "description": hint },
            "client_id": { "type": ["string", "null"], "minLength": 1, "pattern": TEXT, "description": client_id },
            "client_secret": { "type": ["string", "null"], "minLength": 1, "pattern": TEXT, "description": "the application secret, with `client_id`" },
        },
    })
}
