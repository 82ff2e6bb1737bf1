//! The OpenAPI 3.1 description of the endpoints the gate answers (feature `openapi`), as a
//! utoipa document to serve as it is or to merge into the application's own.
//!
//! [`TokenGate::openapi`] describes `signin`, `token`, `signout`, `sessions`,
//! `sessions/{id}`, `jwks`, `introspect`, `revoke` (and `ticket`, where WebSocket paths are
//! configured; the discovery documents, with `discovery`) under the
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
//! use tokengate::authz::Requirement;
//! use tokengate::credentials::MemoryDirectory;
//! use tokengate::openapi::secured;
//! use tokengate::{Config, TokenGate};
//! use tokengate::utoipa::openapi::{OpenApiBuilder, PathsBuilder, path::{HttpMethod, OperationBuilder, PathItem}};
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

mod components;
mod mfa;
mod operations;
mod passkeys;
mod providers;

use crate::authz::Requirement;
use crate::gate::TokenGate;

/// The pattern of every field value but the password: no control character (a NUL, a
/// newline...), which the gate refuses with 400 before any store sees it.
pub(crate) const TEXT: &str = "^[^\\x00-\\x1F\\x7F-\\x9F]*$";

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
            if let Some(field) = schemas.get("Field").map(as_form) {
                schemas.insert("FieldForm".to_owned(), field);
            }
            for name in [
                "SignIn",
                "Refresh",
                "SignOut",
                "TicketAsk",
                "Introspection",
                "Revocation",
                "FactorCode",
                "FactorProof",
                "PasskeyName",
                "ProviderExchange",
            ] {
                let Some(form) = schemas.get(name).map(as_form) else {
                    continue;
                };
                let form = match name {
                    "SignIn" => sign_in_form(form),
                    "SignOut" => sign_out_form(&form),
                    _ => form,
                };
                // The same rules, under a name of their own: one type per encoding.
                schemas.insert(format!("{name}Multipart"), form.clone());
                schemas.insert(format!("{name}Form"), form);
            }
        }
        document
    }

    /// The document as written, before the form variants of the bodies are derived: one
    /// operation per endpoint the gate answers, from the endpoint table.
    fn written(&self) -> Value {
        let config = self.config();
        let prefix = config.endpoints.prefix.trim_end_matches('/');
        let [access_cookie, refresh_cookie, _] = self.cookies().names();
        let mut document = json!({
            "openapi": "3.1.0",
            "info": {
                "title": "tokengate",
                "description": "Sign in with a login and password (or an application key), trade \
                                the refresh token for access tokens, sign out; every other route \
                                takes the access token as a bearer or in a cookie.",
                "version": env!("CARGO_PKG_VERSION"),
            },
            "paths": {},
            "components": components::components(config, access_cookie, refresh_cookie),
            "tags": [{ "name": "tokengate", "description": "sign-in, tokens, sign-out, sessions" }],
        });
        for (row, template) in self.endpoint_routes() {
            let path = if row.at_root {
                template
            } else {
                format!("{prefix}{}", row.path)
            };
            for method in row.methods() {
                document["paths"][&path][method.to_ascii_lowercase()] =
                    passkeys::operation(row.endpoint, method)
                        .or_else(|| providers::operation(row.endpoint))
                        .unwrap_or_else(|| operations::operation(row.endpoint, config));
            }
        }
        if config.mfa.key.is_some() {
            if let (Some(schemas), Value::Object(more)) = (
                document["components"]["schemas"].as_object_mut(),
                mfa::schemas(),
            ) {
                schemas.extend(more);
            }
        }
        if config.mfa.passkey_rp_id.is_some() {
            if let (Some(schemas), Value::Object(more)) = (
                document["components"]["schemas"].as_object_mut(),
                passkeys::schemas(),
            ) {
                schemas.extend(more);
            }
            // `mfa/verify` takes a passkey's assertion in place of a code, in JSON.
            let verify = format!("{prefix}/mfa/verify");
            let json = &mut document["paths"][verify]["post"]["requestBody"]["content"]
                ["application/json"]["schema"];
            *json = json!({ "oneOf": [
                { "$ref": "#/components/schemas/FactorProof" },
                { "$ref": "#/components/schemas/PasskeyProof" },
            ] });
        }
        if !config.federation.providers.is_empty() {
            if let (Some(schemas), Value::Object(more)) = (
                document["components"]["schemas"].as_object_mut(),
                providers::schemas(),
            ) {
                schemas.extend(more);
            }
        }
        if !config.endpoints.discovery {
            // Its schema only where its operations are.
            if let Some(schemas) = document["components"]["schemas"].as_object_mut() {
                schemas.remove("Discovery");
            }
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

/// The form variant of `SignIn`: `cookieauth` is one of the words a form sends.
fn sign_in_form(mut form: Value) -> Value {
    form["properties"]["cookieauth"] = json!({
        "type": "string", "enum": ["true", "false", "1", "0"],
        "description": "cookie mode: the tokens in cookies, the CSRF token in the body",
    });
    form
}

/// The form variant of `SignOut`: one object whose `session` says it never comes with
/// `scope` (the JSON schema's two titled alternatives would name two types twice, and a
/// multipart alternative is one no generator fills in).
fn sign_out_form(form: &Value) -> Value {
    let branches = form["oneOf"].as_array().cloned().unwrap_or_default();
    let mut properties = Map::new();
    for branch in &branches {
        if let Some(fields) = branch["properties"].as_object() {
            properties.extend(fields.clone());
        }
    }
    json!({
        "type": "object",
        "properties": properties,
        "propertyNames": { "type": "string", "pattern": "^[A-Za-z0-9_.\\-\\[\\]:]{1,128}$" },
        "additionalProperties": { "$ref": "#/components/schemas/FieldForm" },
    })
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
        let mut discovering = Config::default();
        discovering.endpoints.discovery = true;
        discovering.tokens.issuer = "https://auth.example.org/tenant".to_owned();
        let discovering =
            TokenGate::builder(discovering.with_secret("a-test-only-secret-of-32-bytes-or-more"))
                .credentials(MemoryDirectory::new())
                .build()
                .unwrap_or_else(|e| panic!("{e}"));
        let described: OpenApi =
            serde_json::from_value(discovering.openapi_json()).unwrap_or_else(|e| panic!("{e}"));
        for path in [
            "/tenant/.well-known/openid-configuration",
            "/.well-known/oauth-authorization-server/tenant",
        ] {
            assert!(described.paths.paths.contains_key(path), "{path}");
        }
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
