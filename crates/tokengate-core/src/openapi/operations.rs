//! One operation per endpoint of the table ([`crate::ENDPOINTS`]), and the answers they share.

use serde_json::{json, Value};

use crate::config::Config;
use crate::gate::Endpoint;

/// The operation of `endpoint` under a gate with `config`.
pub(super) fn operation(endpoint: Endpoint, config: &Config) -> Value {
    if let Some(operation) = super::mfa::operation(endpoint) {
        return operation;
    }
    match endpoint {
        Endpoint::SignIn => signin(),
        Endpoint::Refresh => refresh(),
        Endpoint::SignOut => signout(),
        Endpoint::Jwks => jwks(),
        Endpoint::ListSessions => list_sessions(),
        Endpoint::EndSession => end_session(),
        Endpoint::Ticket => ticket(config),
        Endpoint::Introspect => introspect(),
        Endpoint::Revoke => revoke(),
        Endpoint::OpenIdConfiguration => {
            discovery("openIdConfiguration", "OpenID Connect Discovery")
        }
        Endpoint::AuthorizationServerMetadata => {
            discovery("authorizationServerMetadata", "RFC 8414")
        }
        Endpoint::Metrics => metrics(config),
        // Written by `super::mfa`.
        Endpoint::ListFactors
        | Endpoint::EnrolTotp
        | Endpoint::VerifyFactor
        | Endpoint::RecoveryCodes
        | Endpoint::RemoveFactor
        | Endpoint::ConfirmFactor
        // Written by `super::passkeys`.
        | Endpoint::ListPasskeys
        | Endpoint::PasskeyRegisterOptions
        | Endpoint::PasskeyRegister
        | Endpoint::PasskeySignInOptions
        | Endpoint::PasskeySignIn
        | Endpoint::PasskeyVerifyOptions
        | Endpoint::Passkey
        // Written by `super::providers`.
        | Endpoint::ProviderStart
        | Endpoint::ProviderCallback
        | Endpoint::ProviderExchange => Value::Null,
    }
}

/// `GET {metrics_path}`: public, or for tokens with `metrics_scope`.
fn metrics(config: &Config) -> Value {
    let mut operation = json!({
        "operationId": "metrics",
        "tags": ["tokengate"],
        "summary": "The gate's metrics, in the Prometheus text format",
        "description": "Sign-ins, refreshes, sign-outs, the guard's refusals, store operations \
                        and the password-hashing queue. No label holds a login, a subject or \
                        a token.",
        "responses": {
            "200": {
                "description": "the exposition (text format 0.0.4)",
                "content": { "text/plain": { "schema": { "type": "string" } } },
            },
        },
    });
    if config.endpoints.metrics_scope.is_some() {
        operation["security"] = bearer_or_cookie();
        operation["responses"]["401"] = challenged("no access token, or not a valid one");
        operation["responses"]["403"] = error("the token lacks the `metrics_scope` scope");
    }
    operation
}

/// `GET` of a discovery document, as `standard` places it.
fn discovery(id: &str, standard: &str) -> Value {
    json!({
        "operationId": id,
        "tags": ["tokengate"],
        "summary": format!("The discovery document, where {standard} looks for it"),
        "description": "The issuer, the JWKS and the token endpoint, for services that verify \
                        access tokens from the issuer URL alone. Every URL comes from the \
                        configuration, never from the request's `Host`.",
        "responses": { "200": {
            "description": "the authorization server's metadata",
            "headers": { "Cache-Control": {
                "description": "as the JWKS's: at most 300 s, never past a retired key's `verify_until`",
                "schema": { "type": "string" } } },
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Discovery" } } },
        } },
    })
}

/// A body in the three encodings the endpoints read, each with a schema of its own (so that a
/// generated client has one type per encoding and sends each its own way): a form field is
/// text; JSON also takes numbers and booleans (read as their text) and null (no field). The
/// form schemas are derived from the JSON one (see `as_form`).
pub(super) fn form(schema: &str) -> Value {
    let named = |suffix: &str| json!({ "$ref": format!("#/components/schemas/{schema}{suffix}") });
    json!({
        "multipart/form-data": { "schema": named("Multipart") },
        "application/x-www-form-urlencoded": { "schema": named("Form") },
        "application/json": { "schema": named("") },
    })
}

/// A request body that the endpoint needs, in the three encodings: declared optional, as
/// every generator then reads it, with what a request without one gets in `description`.
fn needed_body(schema: &str) -> Value {
    json!({
        "required": false,
        "description": "needed: a request without a body gets 400, naming the first field it lacks",
        "content": form(schema),
    })
}

/// An error answer.
pub(super) fn error(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } },
    })
}

/// A 429 of throttling, with its `Retry-After`.
pub(super) fn throttled(description: &str) -> Value {
    let mut answer = error(description);
    answer["headers"] = json!({ "Retry-After": {
        "description": "seconds until an attempt is counted again",
        "schema": { "type": "integer", "minimum": 1 } } });
    answer
}

/// A 503 of an endpoint that checks a password or a secret: a dependency down, or the hash
/// queue full (`hash_queue_depth`), which comes with `Retry-After`.
fn queue_full(what_checks: &str) -> Value {
    let mut answer = error(&format!(
        "the session store or the credential directory is unavailable; or too many {what_checks} are being checked at once (`hash_queue_depth`), answered at once with `Retry-After`"
    ));
    answer["headers"] = json!({ "Retry-After": {
        "description": "when the hash queue is full: seconds to wait before trying again",
        "schema": { "type": "integer", "minimum": 1 } } });
    answer
}

/// An application authenticating as an OAuth client: HTTP Basic, or `client_id` and
/// `client_secret` in the body, which no security scheme can name; so the scheme is one of two
/// alternatives, the other none (the description says which endpoint needs one way or the
/// other).
fn client_auth() -> Value {
    json!([{ "clientBasic": [] }, {}])
}

/// An error answer with the Bearer challenge.
pub(super) fn challenged(description: &str) -> Value {
    let mut answer = error(description);
    answer["headers"] = json!({ "WWW-Authenticate": {
        "description": "the Bearer challenge (RFC 6750 §3)",
        "schema": { "type": "string" } } });
    answer
}

/// What every endpoint with a body can answer about the body itself.
pub(super) fn body_errors() -> Value {
    json!({
        "400": error("a field is missing, repeated or invalid, or the body cannot be read"),
        "408": error("the body did not arrive within `body_timeout`"),
        "413": error("the body is larger than `body_limit`"),
        "415": error("the body is not multipart/form-data, urlencoded or JSON"),
        "503": error("the session store is unavailable"),
    })
}

/// `base` with the answers of `more` added.
pub(super) fn with(mut base: Value, more: Value) -> Value {
    if let (Some(base), Value::Object(more)) = (base.as_object_mut(), more) {
        base.extend(more);
    }
    base
}

/// The answer of a sign-in or a refresh, with what a client does next with what it got: the
/// stateful walk of a session. (An empty `parameters` is written out: utoipa's `Link` does not
/// read a link without it.)
fn tokens_answer() -> Value {
    json!({
        "description": "signed in: both tokens in the body; in cookie mode (`cookieauth`), \
                        in cookies, and the CSRF token in the body",
        "headers": { "Set-Cookie": {
            "description": "cookie mode only: the access, refresh and CSRF cookies",
            "schema": { "type": "string" } } },
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/SignedIn" } } },
        "links": {
            "refresh": { "operationId": "token", "parameters": {},
                "requestBody": { "token": "$response.body#/refreshToken" },
                "description": "trade the refresh token for a new access token" },
            "signOut": { "operationId": "signout", "parameters": {},
                "requestBody": { "token": "$response.body#/refreshToken" },
                "description": "end the session" },
        },
    })
}

/// The access token, as a bearer or in its cookie with the CSRF header.
pub(super) fn bearer_or_cookie() -> Value {
    json!([
        { "bearerAuth": [] },
        { "cookieAuth": [], "csrfHeader": [] },
    ])
}

/// The `{id}` of `sessions/{id}`.
fn session_id() -> Value {
    json!({
        "name": "id", "in": "path", "required": true,
        "description": "the session's id, as `GET sessions` lists it",
        "schema": { "type": "string", "minLength": 1 },
    })
}

/// `POST signin`.
fn signin() -> Value {
    json!({
        "operationId": "signin",
        "tags": ["tokengate"],
        "summary": "Sign in: a new session, its refresh token and an access token",
        "requestBody": needed_body("SignIn"),
        "responses": with(body_errors(), json!({
            "201": tokens_answer(),
            "401": error("unknown login, wrong password, unknown application or wrong secret: one answer for all"),
            "403": error("cookie mode: the request comes from a foreign origin"),
            "429": {
                "description": "too many failed sign-ins for this login or from this address",
                "headers": { "Retry-After": {
                    "description": "seconds until an attempt is counted again",
                    "schema": { "type": "integer", "minimum": 1 } } },
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } },
            },
            "503": queue_full("sign-ins"),
        })),
    })
}

/// `POST token`.
fn refresh() -> Value {
    json!({
        "operationId": "token",
        "tags": ["tokengate"],
        "summary": "Trade a refresh token for a new access token (and, with rotation, a new refresh token)",
        "description": "The refresh token is required, in one of three places: the field `token`, a bearer header, or the refresh cookie (cookie mode, with the CSRF header). The field is optional in the body only because a header or the cookie may carry it instead: with none of the three, the answer is 400.",
        "requestBody": { "required": false, "content": form("Refresh") },
        "responses": with(body_errors(), json!({
            "201": tokens_answer(),
            "401": challenged("the refresh token is not valid, expired, or its session has ended"),
            "403": error("cookie mode: the CSRF header is missing or wrong, or the origin is foreign"),
        })),
    })
}

/// `POST signout`.
fn signout() -> Value {
    json!({
        "operationId": "signout",
        "tags": ["tokengate"],
        "summary": "End the session (`scope=local`), all of the subject's (`global`), all others (`others`), or the one named by `session`",
        "description": "Idempotent: an unknown, expired or revoked token also gets 200, and ends nothing. The refresh token is required, in the field `token`, a bearer header or the refresh cookie (cookie mode); the field is optional in the body only because a header or the cookie may carry it instead: with none of the three, the answer is 400.",
        "requestBody": { "required": false, "content": form("SignOut") },
        "responses": with(body_errors(), json!({
            "200": {
                "description": "signed out",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/SignedOut" } } },
            },
            "401": challenged("a session still waiting for its second factor may end only itself (`insufficient_user_authentication`)"),
            "403": error("cookie mode: the CSRF header is missing or wrong, or the origin is foreign"),
            "404": error("`session` names no live session of the token's subject"),
        })),
    })
}

/// `GET sessions`.
fn list_sessions() -> Value {
    json!({
        "operationId": "sessions",
        "tags": ["tokengate"],
        "summary": "The caller's live sessions, its own first (never their tokens)",
        "security": bearer_or_cookie(),
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
    })
}

/// `DELETE sessions/{id}`.
fn end_session() -> Value {
    json!({
        "operationId": "endSession",
        "tags": ["tokengate"],
        "summary": "End one of the caller's sessions",
        "security": bearer_or_cookie(),
        "parameters": [session_id()],
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
    })
}

/// `GET jwks`.
fn jwks() -> Value {
    let caching = json!({
        "ETag": { "description": "the set's entity tag, for `If-None-Match`",
                  "schema": { "type": "string" } },
        "Cache-Control": {
            "description": "`public, max-age=N, must-revalidate`: at most 300 s, and never past the moment a retired key leaves the set",
            "schema": { "type": "string" } },
    });
    json!({
    "operationId": "jwks",
    "tags": ["tokengate"],
    "summary": "The public keys that verify access tokens (none for HS256)",
    "description": "A retired key stays in the set until its `verify_until`.",
    "parameters": [{
        "name": "If-None-Match", "in": "header", "required": false,
        "description": "the `ETag` of a set the caller holds: 304 while it is still the set",
        "schema": { "type": "string" },
    }],
    "responses": {
        "200": {
            "description": "a JWK set",
            "headers": caching,
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Jwks" } } },
        },
        "304": { "description": "the set the caller holds is still the set", "headers": caching },
    },})
}

/// `POST ticket`, where WebSocket paths are configured.
fn ticket(config: &Config) -> Value {
    json!({
        "operationId": "ticket",
        "tags": ["tokengate"],
        "summary": "A single-use ticket for opening a WebSocket",
        "description": format!(
            "Open the socket on one of the WebSocket paths ({}) with `?ticket=...` within \
             `expiresIn` seconds; the ticket opens one connection, for the caller's \
             session while it is live.",
            config.guard.websocket_paths.join(", ")),
        "security": bearer_or_cookie(),
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
    })
}

/// `POST introspect`.
fn introspect() -> Value {
    json!({
        "operationId": "introspect",
        "tags": ["tokengate"],
        "summary": "Whether an access token is live, and its claims (RFC 7662)",
        "description": "For services that ask rather than verify: the caller authenticates as an application (its key and secret, by HTTP Basic or `client_id` and `client_secret` in the body, never both). A live access token — signed here, not expired, its session not ended — gets `active: true` and its claims; anything else gets `{\"active\": false}` alone. Any application may introspect any token. Failed client authentications are throttled as sign-ins are.",
        "security": client_auth(),
        "requestBody": needed_body("Introspection"),
        "responses": with(body_errors(), json!({
            "200": {
                "description": "the token's state (`Cache-Control: no-store`)",
                "headers": { "Cache-Control": { "description": "`no-store`", "schema": { "type": "string" } } },
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/IntrospectionAnswer" } } },
            },
            "401": basic_challenged("no client credentials, or wrong ones"),
            "429": throttled("too many failed client authentications for this key or from this address"),
            "503": queue_full("sign-ins and client authentications"),
        })),
    })
}

/// `POST revoke`.
fn revoke() -> Value {
    json!({
        "operationId": "revoke",
        "tags": ["tokengate"],
        "summary": "End the session of a refresh or access token (RFC 7009)",
        "description": "The token itself is the authority, as at `signout`; an application may authenticate as a client as well, and must then do so correctly. Idempotent: an unknown, expired, foreign or revoked token also gets 200. `token_type_hint` (`refresh_token` or `access_token`) only says which kind is tried first.",
        "security": client_auth(),
        "requestBody": needed_body("Revocation"),
        "responses": with(body_errors(), json!({
            "200": {
                "description": "revoked, or nothing to revoke (`Cache-Control: no-store`)",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/SignedOut" } } },
            },
            "401": basic_challenged("client credentials were given, and are wrong"),
            "429": throttled("too many failed client authentications for this key or from this address"),
            "503": queue_full("sign-ins and client authentications"),
        })),
    })
}

/// An error answer with the Basic challenge of client authentication.
fn basic_challenged(description: &str) -> Value {
    let mut answer = error(description);
    answer["headers"] = json!({ "WWW-Authenticate": {
        "description": "the Basic challenge (RFC 7617)",
        "schema": { "type": "string" } } });
    answer
}
