//! The cookie-mode web application: a page that signs in with `cookieauth=true`, shows the
//! profile, adds notes with a guarded POST that sends the CSRF header, refreshes and signs
//! out. Shared by the `cookie_web` example and the browser test.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use tokengate::axum::{Claims, TokenGateLayer};
use tokengate::figment::Figment;
use tokengate::TokenGate;

const PAGE: &str = include_str!("cookie_web.html");

/// Every user's notes, by subject.
#[derive(Debug, Clone, Default)]
pub struct Notes(Arc<Mutex<HashMap<String, Vec<String>>>>);

impl Notes {
    /// The notes of `subject`, oldest first.
    pub fn of(&self, subject: &str) -> Vec<String> {
        let notes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        notes.get(subject).cloned().unwrap_or_default()
    }

    fn add(&self, subject: &str, text: String) {
        let mut notes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        notes.entry(subject.to_owned()).or_default().push(text);
    }
}

/// The demo defaults, served over plain http: cookies without `Secure` unless the
/// environment says otherwise, and the page itself public.
pub fn cookie_web_defaults(figment: Figment) -> Figment {
    figment
        .join(("cookie_secure", "false"))
        .join(("public_paths", "/,/health"))
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

async fn list(State(notes): State<Notes>, claims: Claims) -> Json<Vec<String>> {
    Json(notes.of(&claims.sub))
}

/// Adds a note, from JSON (the page) or a urlencoded form (what another site's form would
/// send, were it let through).
async fn add(
    State(notes): State<Notes>,
    claims: Claims<Map<String, Value>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let text = if is_json {
        serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v["text"].as_str().map(str::to_owned))
    } else {
        url_field(&body, "text")
    };
    match text.filter(|t| !t.trim().is_empty()) {
        Some(text) => {
            notes.add(&claims.sub, text);
            (StatusCode::CREATED, Json(json!({"added": true}))).into_response()
        }
        None => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_request", "error_description": "the field `text` is required"})),
        )
            .into_response(),
    }
}

/// One field of a urlencoded body.
fn url_field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// The page, the notes API and the gate in front of them.
pub fn router(gate: TokenGate, notes: Notes) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/health", get(|| async { "ok" }))
        .route("/api/rest/me", get(me))
        .route("/api/rest/notes", get(list).post(add))
        .with_state(notes)
        .layer(TokenGateLayer::new(gate))
}

async fn me(claims: Claims<Map<String, Value>>) -> Json<tokengate::Claims<Map<String, Value>>> {
    Json(claims.0)
}
