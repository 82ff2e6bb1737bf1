//! The endpoints the gate answers itself, in one table: each one's path under the prefix, the
//! methods it answers and whether it is there at all. The matcher ([`TokenGate::endpoint`]),
//! [`TokenGate::serve`], the adapters' route lists ([`TokenGate::endpoint_routes`]) and the
//! OpenAPI operations all read it: adding or renaming an endpoint is one row here and its
//! handler.

use super::TokenGate;
use crate::config::Config;

/// One of the endpoints the gate answers itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST {prefix}/signin`: a login and password (or an application key) for both tokens.
    SignIn,
    /// `POST {prefix}/token`: a refresh token for a new access token.
    Refresh,
    /// `POST {prefix}/signout`: ends the refresh token's session, or all of the subject's.
    SignOut,
    /// `GET {prefix}/jwks`: the public keys, for other services to verify access tokens.
    Jwks,
    /// `GET {prefix}/sessions`: the caller's live sessions.
    ListSessions,
    /// `DELETE {prefix}/sessions/{id}`: ends one of the caller's sessions.
    EndSession,
    /// `POST {prefix}/ticket`: a single-use ticket for opening a WebSocket; only where
    /// `websocket_paths` are configured.
    Ticket,
}

/// How an endpoint is reached: a row of [`ENDPOINTS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointRoute {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// Its path under the prefix; a last segment `{id}` stands for one non-empty segment.
    pub path: &'static str,
    /// The method it answers (`GET` answers `HEAD` too), as the `Allow` header names it.
    pub method: &'static str,
    /// Whether it is there only where WebSocket paths are configured.
    pub websockets_only: bool,
}

impl EndpointRoute {
    /// Whether the endpoint answers `method`.
    pub fn allows(&self, method: &str) -> bool {
        method == self.method || (self.method == "GET" && method == "HEAD")
    }

    /// The path before its `{id}` segment, for a path with one.
    fn by_id(&self) -> Option<&'static str> {
        self.path.strip_suffix("/{id}")
    }

    /// Whether a gate with `config` answers it.
    fn present(&self, config: &Config) -> bool {
        !self.websockets_only || !config.guard.websocket_paths.is_empty()
    }
}

/// Every endpoint, in the order the matcher tries them and documents list them.
pub const ENDPOINTS: [EndpointRoute; 7] = [
    route(Endpoint::SignIn, "/signin", "POST", false),
    route(Endpoint::Refresh, "/token", "POST", false),
    route(Endpoint::SignOut, "/signout", "POST", false),
    route(Endpoint::Jwks, "/jwks", "GET", false),
    route(Endpoint::ListSessions, "/sessions", "GET", false),
    route(Endpoint::EndSession, "/sessions/{id}", "DELETE", false),
    route(Endpoint::Ticket, "/ticket", "POST", true),
];

const fn route(
    endpoint: Endpoint,
    path: &'static str,
    method: &'static str,
    websockets_only: bool,
) -> EndpointRoute {
    EndpointRoute {
        endpoint,
        path,
        method,
        websockets_only,
    }
}

impl Endpoint {
    /// Its row of [`ENDPOINTS`] (the table lists the endpoints in the enum's order).
    pub fn route(self) -> &'static EndpointRoute {
        &ENDPOINTS[self as usize]
    }
}

/// The endpoints a gate answers, with their whole paths, built once with the gate.
#[derive(Debug)]
pub(super) struct Paths {
    prefix: String,
    present: Vec<Present>,
}

/// An endpoint a gate answers: its row, its whole path (before `/{id}` for one that takes an
/// id), and whether it takes one.
#[derive(Debug)]
struct Present {
    row: &'static EndpointRoute,
    whole: String,
    by_id: bool,
}

impl Paths {
    pub(super) fn new(config: &Config) -> Self {
        let prefix = config.endpoints.prefix.clone();
        let present = ENDPOINTS
            .iter()
            .filter(|row| row.present(config))
            .map(|row| Present {
                row,
                whole: format!("{prefix}{}", row.by_id().unwrap_or(row.path)),
                by_id: row.by_id().is_some(),
            })
            .collect();
        Self { prefix, present }
    }
}

/// The id in `{base}/{id}`: one non-empty path segment.
fn id_under<'p>(path: &'p str, base: &str) -> Option<&'p str> {
    path.strip_prefix(base)?
        .strip_prefix('/')
        .filter(|id| !id.is_empty() && !id.contains('/'))
}

impl TokenGate {
    /// The endpoint at `path`, if it is one.
    pub fn endpoint(&self, path: &str) -> Option<Endpoint> {
        let paths = &self.inner.paths;
        if !path.starts_with(paths.prefix.as_str()) {
            return None;
        }
        paths
            .present
            .iter()
            .find(|present| {
                if present.by_id {
                    id_under(path, &present.whole).is_some()
                } else {
                    path == present.whole
                }
            })
            .map(|present| present.row.endpoint)
    }

    /// The whole paths of the endpoints this gate answers (`/api/rest/signin`...; one with an
    /// id as the path before it, `/api/rest/sessions`).
    pub fn endpoint_paths(&self) -> impl Iterator<Item = &str> {
        let mut seen = None;
        self.inner
            .paths
            .present
            .iter()
            .map(|present| present.whole.as_str())
            // `sessions` and `sessions/{id}` share the path before the id.
            .filter(move |whole| seen.replace(*whole) != Some(*whole))
    }

    /// The endpoints this gate answers as route templates, for adapters that mount them as
    /// routes of their own: the row, and its whole path with `{id}` where it takes one
    /// (`/api/rest/sessions/{id}`).
    pub fn endpoint_routes(&self) -> impl Iterator<Item = (&'static EndpointRoute, String)> + '_ {
        self.inner.paths.present.iter().map(|present| {
            let template = if present.by_id {
                format!("{}/{{id}}", present.whole)
            } else {
                present.whole.clone()
            };
            (present.row, template)
        })
    }

    /// The session id of a `DELETE {prefix}/sessions/{id}` path.
    pub(crate) fn session_in_path<'p>(&self, path: &'p str) -> Option<&'p str> {
        let present = self
            .inner
            .paths
            .present
            .iter()
            .find(|present| present.row.endpoint == Endpoint::EndSession)?;
        id_under(path, &present.whole)
    }
}

#[cfg(test)]
mod tests {
    use super::{Endpoint, ENDPOINTS};

    #[test]
    fn the_table_lists_every_endpoint_in_the_enums_order() {
        for (at, row) in ENDPOINTS.iter().enumerate() {
            assert_eq!(row.endpoint as usize, at, "{row:?}");
            assert_eq!(row.endpoint.route(), row);
        }
        assert_eq!(Endpoint::Ticket.route().path, "/ticket");
    }
}
