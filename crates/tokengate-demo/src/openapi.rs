//! The demos' OpenAPI document: the gate's endpoints, and the demo's own routes marked with
//! what the gate requires of them. Served at `{prefix}/openapi.json`.

use serde_json::{json, Value};
use tokengate::authz::Requirement;
use tokengate::openapi::secured;
use tokengate::utoipa::openapi::path::HttpMethod;
use tokengate::utoipa::openapi::OpenApi;
use tokengate::TokenGate;

/// The demo's routes, as its handlers answer them.
fn routes(prefix: &str) -> Value {
    let error = |description: &str| {
        json!({ "description": description,
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
    };
    let claims = |summary: &str, id: &str, forbidden: bool| {
        let mut responses = json!({
            "200": { "description": "the caller's claims",
                     "content": { "application/json": { "schema": { "$ref": "#/components/schemas/DemoClaims" } } } },
            "401": error("no access token, or not a valid one"),
        });
        if forbidden {
            responses["403"] = error("the token does not meet the route's requirement");
        }
        json!({ "get": { "operationId": id, "summary": summary, "tags": ["demo"], "responses": responses } })
    };
    let text = |id: &str, summary: &str| {
        json!({ "operationId": id, "summary": summary, "tags": ["demo"], "responses": {
            "200": { "description": "pong", "content": { "text/plain": { "schema": { "type": "string" } } } },
            "401": error("no access token, or not a valid one") } })
    };
    json!({
        "openapi": "3.1.0",
        "info": { "title": "tokengate demo", "version": env!("CARGO_PKG_VERSION") },
        "paths": {
            format!("{prefix}/me"): claims("The caller's claims", "me", false),
            format!("{prefix}/admin"): claims("Administrators only (role admin)", "admin", true),
            format!("{prefix}/machine"): claims("Application tokens with scope read", "machine", true),
            format!("{prefix}/reports"): claims("Role admin, or scope read", "reports", true),
            format!("{prefix}/account"): claims("People only, no application token", "account", true),
            format!("{prefix}/ping"): { "get": text("ping", "Any valid token"), "post": text("pingPost", "Any valid token") },
            "/health": { "get": { "operationId": "health", "summary": "Public", "tags": ["demo"], "responses": {
                "200": { "description": "ok", "content": { "text/plain": { "schema": { "type": "string" } } } } } } },
        },
        "components": { "schemas": { "DemoClaims": {
            "type": "object",
            "required": ["iss", "sub", "iat", "exp", "jti", "sid"],
            "properties": {
                "iss": { "type": "string" }, "sub": { "type": "string" }, "iat": { "type": "integer" },
                "exp": { "type": "integer" }, "jti": { "type": "string" }, "sid": { "type": "string" },
                "app": { "type": "string" }, "aud": { "type": "string" },
                "roles": { "type": "array", "items": { "type": "string" } },
                "scope": { "type": "string" }, "name": { "type": "string" },
            },
        } } },
        "tags": [{ "name": "demo", "description": "the demo's own routes, behind the gate" }],
    })
}

/// The whole document of the demo over `gate`.
pub fn document(gate: &TokenGate) -> OpenApi {
    let prefix = gate
        .config()
        .endpoints
        .prefix
        .trim_end_matches('/')
        .to_owned();
    let mut doc: OpenApi = serde_json::from_value(routes(&prefix)).unwrap_or_default();
    gate.describe(&mut doc);
    let route = |path: &str| format!("{prefix}/{path}");
    let requirements = [
        ("me", None),
        ("admin", Some(Requirement::role("admin"))),
        (
            "machine",
            Some(Requirement::application().and(Requirement::scope("read"))),
        ),
        (
            "reports",
            Some(Requirement::role("admin").or(Requirement::scope("read"))),
        ),
        ("account", Some(Requirement::user())),
        ("ping", None),
    ];
    for (path, requirement) in &requirements {
        secured(
            &mut doc,
            &route(path),
            HttpMethod::Get,
            requirement.as_ref(),
        );
    }
    secured(&mut doc, &route("ping"), HttpMethod::Post, None);
    doc
}

/// The paths the documentation is served at, public: the document, and the UI under `/docs`.
pub fn public_paths(prefix: &str) -> [String; 3] {
    [
        format!("{}/openapi.json", prefix.trim_end_matches('/')),
        // `/docs` itself too: Swagger UI answers it with a redirect to `/docs/`.
        "/docs".to_owned(),
        "/docs/*".to_owned(),
    ]
}
