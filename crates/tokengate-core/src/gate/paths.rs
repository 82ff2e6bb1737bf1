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
    /// `POST {prefix}/introspect`: whether a token is live, and its claims, for an
    /// application authenticated as an OAuth client (RFC 7662).
    Introspect,
    /// `POST {prefix}/revoke`: ends the session of a refresh or access token (RFC 7009).
    Revoke,
    /// `GET {prefix}/mfa`: the caller's second factors and recovery codes left; only with
    /// `mfa_key`.
    ListFactors,
    /// `POST {prefix}/mfa/totp`: enrols a TOTP authenticator (pending until confirmed).
    EnrolTotp,
    /// `POST {prefix}/mfa/verify`: a refresh token and a code for tokens at `aal2`.
    VerifyFactor,
    /// `POST {prefix}/mfa/recovery`: new recovery codes, replacing those left (`aal2`).
    RecoveryCodes,
    /// `DELETE {prefix}/mfa/{id}`: removes a factor (`aal2`).
    RemoveFactor,
    /// `POST {prefix}/mfa/{id}/confirm`: the first code of a pending factor, activating it.
    ConfirmFactor,
    /// `GET {prefix}/passkeys`: the caller's passkeys; only with `passkey_rp_id`.
    ListPasskeys,
    /// `POST {prefix}/passkeys/register/options`: the options of a new passkey's creation.
    PasskeyRegisterOptions,
    /// `POST {prefix}/passkeys/register`: the new passkey, as the browser made it.
    PasskeyRegister,
    /// `POST {prefix}/passkeys/signin/options`: the options of a passwordless sign-in.
    PasskeySignInOptions,
    /// `POST {prefix}/passkeys/signin`: a passkey's assertion for both tokens.
    PasskeySignIn,
    /// `POST {prefix}/passkeys/verify/options`: the options of a passkey proved as the
    /// second factor of a session (then `POST {prefix}/mfa/verify`).
    PasskeyVerifyOptions,
    /// `PATCH {prefix}/passkeys/{id}` renames a passkey; `DELETE` removes it (`aal2`).
    Passkey,
    /// `GET {prefix}/oidc/{name}/start`: sends the browser to an identity provider to sign in;
    /// only with `[[providers]]`.
    ProviderStart,
    /// `GET {prefix}/oidc/{name}/callback`: where the provider sends the browser back.
    ProviderCallback,
    /// `POST {prefix}/oidc/exchange`: an app's one-time code and PKCE verifier for both
    /// tokens.
    ProviderExchange,
    /// `GET {issuer path}/.well-known/openid-configuration`: the discovery document as OpenID
    /// Connect Discovery places it; only with `discovery`.
    OpenIdConfiguration,
    /// `GET /.well-known/oauth-authorization-server{issuer path}`: the same document as RFC
    /// 8414 places it; only with `discovery`.
    AuthorizationServerMetadata,
    /// `GET {metrics_path}`: the gate's metrics in the Prometheus text format; only with
    /// `metrics_path`.
    Metrics,
}

/// How an endpoint is reached: a row of [`ENDPOINTS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)] // independent facts of one row, each read alone
pub struct EndpointRoute {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// Its path under the prefix; a segment `{id}` stands for one non-empty segment.
    pub path: &'static str,
    /// The methods it answers (`GET` answers `HEAD` too), as the `Allow` header names them:
    /// one, or several separated by `, `.
    pub method: &'static str,
    /// Whether it is there only where WebSocket paths are configured.
    pub websockets_only: bool,
    /// Whether it is there only where second factors are (`mfa_key`).
    pub mfa_only: bool,
    /// Whether it is there only where passkeys are (`passkey_rp_id`).
    pub passkey_only: bool,
    /// Whether it is there only where identity providers are (`[[providers]]`).
    pub providers_only: bool,
    /// Whether its path is from the root, not under the prefix, `{issuer}` standing for the
    /// path of the issuer URL; such an endpoint is there only with `discovery`, but for the
    /// metrics.
    pub at_root: bool,
    /// Whether it is the metrics, at `metrics_path` (`{metrics}`), there only with it.
    pub metrics_only: bool,
}

impl EndpointRoute {
    /// Whether the endpoint answers `method`.
    pub fn allows(&self, method: &str) -> bool {
        self.methods()
            .any(|allowed| method == allowed || (allowed == "GET" && method == "HEAD"))
    }

    /// The methods it answers, each once.
    pub fn methods(&self) -> impl Iterator<Item = &'static str> {
        self.method.split(", ")
    }

    /// The path before its `{id}` segment and what follows the segment, for a path with one.
    fn by_id(&self) -> Option<(&'static str, &'static str)> {
        self.path.split_once("/{id}")
    }

    /// Whether a gate with `config` answers it.
    fn present(&self, config: &Config) -> bool {
        (!self.websockets_only || !config.guard.websocket_paths.is_empty())
            && (!self.at_root || self.metrics_only || config.endpoints.discovery)
            && (!self.metrics_only || config.endpoints.metrics_path.is_some())
            && (!self.mfa_only || config.mfa.key.is_some())
            && (!self.passkey_only || config.mfa.passkey_rp_id.is_some())
            && (!self.providers_only || !config.federation.providers.is_empty())
    }
}

/// Every endpoint, in the order the matcher tries them and documents list them.
pub const ENDPOINTS: [EndpointRoute; 28] = [
    route(Endpoint::SignIn, "/signin", "POST", false),
    route(Endpoint::Refresh, "/token", "POST", false),
    route(Endpoint::SignOut, "/signout", "POST", false),
    route(Endpoint::Jwks, "/jwks", "GET", false),
    route(Endpoint::ListSessions, "/sessions", "GET", false),
    route(Endpoint::EndSession, "/sessions/{id}", "DELETE", false),
    route(Endpoint::Ticket, "/ticket", "POST", true),
    route(Endpoint::Introspect, "/introspect", "POST", false),
    route(Endpoint::Revoke, "/revoke", "POST", false),
    mfa(Endpoint::ListFactors, "/mfa", "GET"),
    mfa(Endpoint::EnrolTotp, "/mfa/totp", "POST"),
    mfa(Endpoint::VerifyFactor, "/mfa/verify", "POST"),
    mfa(Endpoint::RecoveryCodes, "/mfa/recovery", "POST"),
    mfa(Endpoint::RemoveFactor, "/mfa/{id}", "DELETE"),
    mfa(Endpoint::ConfirmFactor, "/mfa/{id}/confirm", "POST"),
    passkey(Endpoint::ListPasskeys, "/passkeys", "GET"),
    passkey(
        Endpoint::PasskeyRegisterOptions,
        "/passkeys/register/options",
        "POST",
    ),
    passkey(Endpoint::PasskeyRegister, "/passkeys/register", "POST"),
    passkey(
        Endpoint::PasskeySignInOptions,
        "/passkeys/signin/options",
        "POST",
    ),
    passkey(Endpoint::PasskeySignIn, "/passkeys/signin", "POST"),
    passkey(
        Endpoint::PasskeyVerifyOptions,
        "/passkeys/verify/options",
        "POST",
    ),
    // After every fixed path under `/passkeys`: the matcher takes the first row that fits.
    passkey(Endpoint::Passkey, "/passkeys/{id}", "PATCH, DELETE"),
    provider(Endpoint::ProviderStart, "/oidc/{id}/start", "GET"),
    provider(Endpoint::ProviderCallback, "/oidc/{id}/callback", "GET"),
    provider(Endpoint::ProviderExchange, "/oidc/exchange", "POST"),
    at_root(
        Endpoint::OpenIdConfiguration,
        "{issuer}/.well-known/openid-configuration",
    ),
    at_root(
        Endpoint::AuthorizationServerMetadata,
        "/.well-known/oauth-authorization-server{issuer}",
    ),
    EndpointRoute {
        metrics_only: true,
        ..at_root(Endpoint::Metrics, "{metrics}")
    },
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
        mfa_only: false,
        passkey_only: false,
        providers_only: false,
        at_root: false,
        metrics_only: false,
    }
}

/// An endpoint there only with identity providers.
const fn provider(endpoint: Endpoint, path: &'static str, method: &'static str) -> EndpointRoute {
    EndpointRoute {
        endpoint,
        path,
        method,
        websockets_only: false,
        mfa_only: false,
        passkey_only: false,
        providers_only: true,
        at_root: false,
        metrics_only: false,
    }
}

/// An endpoint there only with second factors.
const fn mfa(endpoint: Endpoint, path: &'static str, method: &'static str) -> EndpointRoute {
    EndpointRoute {
        endpoint,
        path,
        method,
        websockets_only: false,
        mfa_only: true,
        passkey_only: false,
        providers_only: false,
        at_root: false,
        metrics_only: false,
    }
}

/// An endpoint there only with passkeys (which are second factors: `mfa_key` too).
const fn passkey(endpoint: Endpoint, path: &'static str, method: &'static str) -> EndpointRoute {
    EndpointRoute {
        endpoint,
        path,
        method,
        websockets_only: false,
        mfa_only: true,
        passkey_only: true,
        providers_only: false,
        at_root: false,
        metrics_only: false,
    }
}

/// A `GET` endpoint whose path is from the root, placed by the issuer's path.
const fn at_root(endpoint: Endpoint, path: &'static str) -> EndpointRoute {
    EndpointRoute {
        endpoint,
        path,
        method: "GET",
        websockets_only: false,
        mfa_only: false,
        passkey_only: false,
        providers_only: false,
        at_root: true,
        metrics_only: false,
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
    /// The endpoints from the root (discovery), with their whole paths; empty without
    /// `discovery`, so that the guard's path pays one test for them.
    at_root: Vec<(&'static EndpointRoute, String)>,
}

/// An endpoint a gate answers: its row, its whole path (before `/{id}` for one that takes an
/// id), whether it takes one, and what follows the id (`/confirm`).
#[derive(Debug)]
struct Present {
    row: &'static EndpointRoute,
    whole: String,
    by_id: bool,
    after: &'static str,
}

impl Present {
    /// The id in `path`, when `path` is this endpoint's with one.
    fn id_in<'p>(&self, path: &'p str) -> Option<&'p str> {
        id_under(path.strip_suffix(self.after)?, &self.whole)
    }
}

impl Paths {
    pub(super) fn new(config: &Config) -> Self {
        let prefix = config.endpoints.prefix.clone();
        let present = ENDPOINTS
            .iter()
            .filter(|row| row.present(config) && !row.at_root)
            .map(|row| Present {
                row,
                whole: format!(
                    "{prefix}{}",
                    row.by_id().map_or(row.path, |(before, _)| before)
                ),
                by_id: row.by_id().is_some(),
                after: row.by_id().map_or("", |(_, after)| after),
            })
            .collect();
        let issuer_path = issuer_path(&config.tokens.issuer);
        let at_root = ENDPOINTS
            .iter()
            .filter(|row| row.present(config) && row.at_root)
            .map(|row| {
                let whole = row.path.replace("{issuer}", issuer_path).replace(
                    "{metrics}",
                    config.endpoints.metrics_path.as_deref().unwrap_or_default(),
                );
                (row, whole)
            })
            .collect();
        Self {
            prefix,
            present,
            at_root,
        }
    }

    /// A discovery path that is also the path of an endpoint under the prefix (a prefix of
    /// `/.well-known/oauth-authorization-server` with an issuer path of `/signin`): the
    /// matcher tries the root endpoints first, so that endpoint would be gone.
    pub(super) fn clash(&self) -> Option<&str> {
        self.at_root
            .iter()
            .map(|(_, whole)| whole.as_str())
            .find(|whole| {
                self.present.iter().any(|present| {
                    if present.by_id {
                        present.id_in(whole).is_some()
                    } else {
                        *whole == present.whole
                    }
                })
            })
    }
}

/// The path of an issuer URL, without its trailing slash: `https://host/tenant/` → `/tenant`,
/// `https://host` → ``.
pub(crate) fn issuer_path(issuer: &str) -> &str {
    let after_scheme = issuer.split_once("://").map_or(issuer, |(_, rest)| rest);
    after_scheme
        .find('/')
        .map_or("", |at| &after_scheme[at..])
        .trim_end_matches('/')
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
        if !paths.at_root.is_empty() {
            if let Some((row, _)) = paths.at_root.iter().find(|(_, whole)| whole == path) {
                return Some(row.endpoint);
            }
        }
        if !path.starts_with(paths.prefix.as_str()) {
            return None;
        }
        paths
            .present
            .iter()
            .find(|present| {
                if present.by_id {
                    present.id_in(path).is_some()
                } else {
                    path == present.whole
                }
            })
            .map(|present| present.row.endpoint)
    }

    /// The whole paths of the endpoints this gate answers (`/api/rest/signin`...; one with an
    /// id as the path before it, `/api/rest/sessions`).
    pub fn endpoint_paths(&self) -> impl Iterator<Item = &str> {
        let paths = &self.inner.paths;
        let present = &paths.present;
        present
            .iter()
            .enumerate()
            // `sessions` and `sessions/{id}` share the path before the id: each path once.
            .filter(|(at, row)| !present[..*at].iter().any(|seen| seen.whole == row.whole))
            .map(|(_, row)| row.whole.as_str())
            .chain(paths.at_root.iter().map(|(_, whole)| whole.as_str()))
    }

    /// The endpoints this gate answers as route templates, for adapters that mount them as
    /// routes of their own: the row, and its whole path with `{id}` where it takes one
    /// (`/api/rest/sessions/{id}`).
    pub fn endpoint_routes(&self) -> impl Iterator<Item = (&'static EndpointRoute, String)> + '_ {
        let paths = &self.inner.paths;
        paths
            .present
            .iter()
            .map(|present| {
                let template = if present.by_id {
                    format!("{}/{{id}}{}", present.whole, present.after)
                } else {
                    present.whole.clone()
                };
                (present.row, template)
            })
            .chain(
                paths
                    .at_root
                    .iter()
                    .map(|(row, whole)| (*row, whole.clone())),
            )
    }

    /// The session id of a `DELETE {prefix}/sessions/{id}` path.
    pub(crate) fn session_in_path<'p>(&self, path: &'p str) -> Option<&'p str> {
        self.id_in_path(Endpoint::EndSession, path)
    }

    /// The id in the path of `endpoint`, one that takes an id.
    pub(crate) fn id_in_path<'p>(&self, endpoint: Endpoint, path: &'p str) -> Option<&'p str> {
        let present = self
            .inner
            .paths
            .present
            .iter()
            .find(|present| present.row.endpoint == endpoint)?;
        present.id_in(path)
    }
}

#[cfg(test)]
mod tests {
    use super::{issuer_path, Endpoint, ENDPOINTS};
    use crate::gate::testing;

    #[test]
    fn the_issuer_path_places_the_discovery_documents() {
        assert_eq!(issuer_path("https://auth.example.org"), "");
        assert_eq!(issuer_path("https://auth.example.org/"), "");
        assert_eq!(
            issuer_path("https://auth.example.org/tenant/a/"),
            "/tenant/a"
        );
        let gate = testing::gate(&[
            ("discovery", "true"),
            ("issuer", "https://auth.example.org/tenant"),
        ]);
        let at = |path: &str| gate.endpoint(path);
        assert_eq!(
            at("/tenant/.well-known/openid-configuration"),
            Some(Endpoint::OpenIdConfiguration)
        );
        assert_eq!(
            at("/.well-known/oauth-authorization-server/tenant"),
            Some(Endpoint::AuthorizationServerMetadata)
        );
        for other in [
            "/.well-known/openid-configuration",
            "/tenant/.well-known/openid-configuration/",
            "//tenant/.well-known/openid-configuration",
            "/tenant/.well-known/%6fpenid-configuration",
            "/.well-known/oauth-authorization-server",
            "/.well-known/oauth-authorization-server/tenant/",
            "/TENANT/.well-known/openid-configuration",
        ] {
            assert_eq!(at(other), None, "{other}");
        }
        assert_eq!(at("/api/rest/jwks"), Some(Endpoint::Jwks));
        let routes: Vec<String> = gate.endpoint_routes().map(|(_, path)| path).collect();
        assert!(routes.contains(&"/.well-known/oauth-authorization-server/tenant".to_owned()));
        assert!(gate
            .endpoint_paths()
            .any(|path| path == "/tenant/.well-known/openid-configuration"));
    }

    #[test]
    fn without_discovery_no_well_known_path_is_an_endpoint() {
        let gate = testing::gate(&[("issuer", "https://auth.example.org")]);
        assert_eq!(gate.endpoint("/.well-known/openid-configuration"), None);
        assert_eq!(
            gate.endpoint("/.well-known/oauth-authorization-server"),
            None
        );
        assert!(!gate
            .endpoint_paths()
            .any(|path| path.contains(".well-known")));
    }

    #[test]
    fn the_table_lists_every_endpoint_in_the_enums_order() {
        for (at, row) in ENDPOINTS.iter().enumerate() {
            assert_eq!(row.endpoint as usize, at, "{row:?}");
            assert_eq!(row.endpoint.route(), row);
        }
        assert_eq!(Endpoint::Ticket.route().path, "/ticket");
    }
}

#[cfg(test)]
mod clash_tests {
    use crate::config::Config;
    use crate::credentials::MemoryDirectory;
    use crate::TokenGate;

    fn build(pairs: &[(&str, &str)]) -> Result<TokenGate, crate::ConfigError> {
        let mut env = vec![
            ("TOKENGATE_SECRET", "a-test-only-secret-of-32-bytes-or-more"),
            ("TOKENGATE_DISCOVERY", "true"),
        ];
        env.extend_from_slice(pairs);
        let config = Config::from_sources(None, "default", env).expect("valid settings");
        TokenGate::builder(config)
            .credentials(MemoryDirectory::new())
            .build()
    }

    #[test]
    fn a_discovery_path_that_is_an_endpoint_is_refused() {
        let mut refused_by_the_gate = 0;
        for (prefix, issuer) in [
            (
                "/.well-known/oauth-authorization-server",
                "https://auth.example.org/signin",
            ),
            (
                "/.well-known/oauth-authorization-server",
                "https://auth.example.org/sessions/x",
            ),
            (
                "/t/.well-known",
                "https://auth.example.org/t/.well-known/openid-configuration/..",
            ),
        ] {
            let Ok(config) = Config::from_sources(
                None,
                "default",
                [
                    ("TOKENGATE_SECRET", "a-test-only-secret-of-32-bytes-or-more"),
                    ("TOKENGATE_DISCOVERY", "true"),
                    ("TOKENGATE_PREFIX", prefix),
                    ("TOKENGATE_ISSUER", issuer),
                ],
            ) else {
                // Refused already, as an issuer path: nothing to clash.
                continue;
            };
            let refused = TokenGate::builder(config)
                .credentials(MemoryDirectory::new())
                .build()
                .unwrap_err();
            assert_eq!(refused.key, "prefix", "{prefix} {issuer}: {refused}");
            refused_by_the_gate += 1;
        }
        assert_eq!(refused_by_the_gate, 2);
        // A prefix near the documents, but on no endpoint's path, is fine.
        assert!(build(&[
            (
                "TOKENGATE_PREFIX",
                "/.well-known/oauth-authorization-server"
            ),
            ("TOKENGATE_ISSUER", "https://auth.example.org/tenant"),
        ])
        .is_ok());
    }
}
