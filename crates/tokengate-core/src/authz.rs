//! Per-route requirements: what a route asks of a valid access token beyond its validity.
//!
//! A [`Requirement`] is a predicate over the verified token: a role (the `roles` claim), a
//! scope (the space-delimited `scope` claim of RFC 8693 / RFC 9068), a user or an application
//! token (or one application's), or a check of your own; combined with [`Requirement::all`] and
//! [`Requirement::any`]. The adapters apply one per route (a layer for axum's `route_layer`, a
//! Transform for actix-web's `Scope::wrap`, or an extractor) and answer alike: no token is 401
//! as on any guarded route; a token that does not meet the requirement is **403**
//! `insufficient_scope`, with the RFC 6750 challenge naming what is missing
//! (`WWW-Authenticate: Bearer error="insufficient_scope", scope="admin"`).
//!
//! # Example
//!
//! ```
//! use tokengate::authz::Requirement;
//!
//! // Administrators, or the reporting application with the `read` scope.
//! let admins = Requirement::role("admin");
//! let reporting = Requirement::application_named("reports").and(Requirement::scope("read"));
//! let route = Requirement::any([admins, reporting]);
//! assert_eq!(route.to_string(), "any of (role admin, all of (application reports, scope read))");
//! ```

use std::fmt;
use std::sync::Arc;

use crate::http::error::{Error, ErrorKind};
use crate::jws::VerifiedToken;

type Check = dyn Fn(&VerifiedToken) -> bool + Send + Sync;

/// What a route requires of a verified access token; see the [module](self).
#[derive(Clone)]
pub struct Requirement(Rule);

#[derive(Clone)]
enum Rule {
    Role(Box<str>),
    Scope(Box<str>),
    User,
    Application(Option<Box<str>>),
    All(Box<[Requirement]>),
    Any(Box<[Requirement]>),
    Custom {
        name: Box<str>,
        check: Arc<Check>,
    },
    /// A second factor proved on the session (`acr` `aal2`).
    Mfa,
    /// A factor proved within this many seconds (`auth_time`).
    RecentAuth(u64),
}

impl Requirement {
    /// The token's `roles` claim holds `role`.
    pub fn role(role: &str) -> Self {
        Self(Rule::Role(role.into()))
    }

    /// The token's `scope` claim holds `scope`.
    pub fn scope(scope: &str) -> Self {
        Self(Rule::Scope(scope.into()))
    }

    /// A user signed in here (with a login and password, or a passkey), not an application
    /// key, and not a token of another issuer (`[[issuers]]`), which may as well be a
    /// machine's.
    pub fn user() -> Self {
        Self(Rule::User)
    }

    /// An application signed in with its key.
    pub fn application() -> Self {
        Self(Rule::Application(None))
    }

    /// The application `name` signed in with its key.
    pub fn application_named(name: &str) -> Self {
        Self(Rule::Application(Some(name.into())))
    }

    /// A second factor proved on the token's session: its `acr` is `aal2`. A token without
    /// it is refused with 401 `insufficient_user_authentication` and `acr_values="aal2"`
    /// (RFC 9470), which a client answers with `POST {prefix}/mfa/verify`.
    pub fn mfa() -> Self {
        Self(Rule::Mfa)
    }

    /// A factor proved on the token's session within `max_age` (its `auth_time`): a token
    /// whose last proof is older is refused with 401 `insufficient_user_authentication` and
    /// `max_age` (RFC 9470). Time is counted in whole seconds.
    pub fn recent_auth(max_age: std::time::Duration) -> Self {
        Self(Rule::RecentAuth(max_age.as_secs()))
    }

    /// Every one of `requirements`.
    pub fn all(requirements: impl IntoIterator<Item = Requirement>) -> Self {
        Self(Rule::All(requirements.into_iter().collect()))
    }

    /// At least one of `requirements`.
    pub fn any(requirements: impl IntoIterator<Item = Requirement>) -> Self {
        Self(Rule::Any(requirements.into_iter().collect()))
    }

    /// A check of your own over the verified token (its [claims](VerifiedToken::claims),
    /// [grants](VerifiedToken::grants) or payload); `name` is what a refusal says is missing.
    pub fn custom(
        name: &str,
        check: impl Fn(&VerifiedToken) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self(Rule::Custom {
            name: name.into(),
            check: Arc::new(check),
        })
    }

    /// This and `other`.
    #[must_use]
    pub fn and(self, other: Requirement) -> Self {
        Self::all([self, other])
    }

    /// This or `other`.
    #[must_use]
    pub fn or(self, other: Requirement) -> Self {
        Self::any([self, other])
    }

    /// The requirement as alternatives, each the list of names it needs together (`any` of
    /// `all`): what an OpenAPI security requirement can say of it.
    pub fn alternatives(&self) -> Vec<Vec<String>> {
        match &self.0 {
            Rule::Any(any) => any.iter().flat_map(Requirement::alternatives).collect(),
            Rule::All(all) => all.iter().fold(vec![Vec::new()], |sofar, one| {
                let mut product = Vec::new();
                for left in &sofar {
                    for right in one.alternatives() {
                        product.push(left.iter().cloned().chain(right).collect());
                    }
                }
                product
            }),
            Rule::Role(name) | Rule::Scope(name) | Rule::Custom { name, .. } => {
                vec![vec![name.to_string()]]
            }
            Rule::User => vec![vec!["user".to_owned()]],
            Rule::Application(None) => vec![vec!["application".to_owned()]],
            Rule::Application(Some(name)) => vec![vec![format!("application:{name}")]],
            Rule::Mfa => vec![vec!["acr:aal2".to_owned()]],
            Rule::RecentAuth(max_age) => vec![vec![format!("max_age:{max_age}")]],
        }
    }

    /// Whether `token` meets the requirement.
    pub fn is_met_by(&self, token: &VerifiedToken) -> bool {
        self.met(token, false)
    }

    /// Whether `token` meets the requirement; with `assured`, as if it met every assurance
    /// rule (a second factor, a recent one): whether a step-up is all it lacks.
    fn met(&self, token: &VerifiedToken, assured: bool) -> bool {
        match &self.0 {
            Rule::Mfa => assured || token.assurance().0,
            Rule::RecentAuth(max_age) => {
                assured
                    || token.assurance().1.is_some_and(|at| {
                        let age = crate::clock::unix_now().saturating_sub(at);
                        u64::try_from(age).unwrap_or(0) <= *max_age
                    })
            }
            Rule::All(all) => all.iter().all(|one| one.met(token, assured)),
            Rule::Any(any) => any.iter().any(|one| one.met(token, assured)),
            _ => self.met_plain(token),
        }
    }

    /// The rules that are not about assurance.
    fn met_plain(&self, token: &VerifiedToken) -> bool {
        match &self.0 {
            Rule::Role(role) => token.grants().has_role(role),
            Rule::Scope(scope) => token.grants().has_scope(scope),
            Rule::User => token.claims().app.is_none() && !token.is_foreign(),
            Rule::Application(None) => token.claims().app.is_some(),
            Rule::Application(Some(name)) => token.claims().app.as_deref() == Some(&**name),
            Rule::Custom { check, .. } => check(token),
            Rule::All(_) | Rule::Any(_) | Rule::Mfa | Rule::RecentAuth(_) => false,
        }
    }

    /// `Ok` when `token` meets the requirement. Else, when a step-up would meet it (a second
    /// factor, or a recent proof), the 401 `insufficient_user_authentication` error of RFC
    /// 9470 naming it (`acr_values`, `max_age`); otherwise the 403 `insufficient_scope` error
    /// whose challenge names what is missing.
    pub fn check(&self, token: &VerifiedToken) -> Result<(), Error> {
        if self.is_met_by(token) {
            return Ok(());
        }
        // A step-up is asked only of this gate's own tokens: another issuer's proves no factor
        // here, however it steps up, so it is refused as lacking what it lacks (403).
        if self.met(token, true) && !token.is_foreign() {
            let (mut aal2, mut max_age) = (false, None);
            self.step_up(token, &mut aal2, &mut max_age);
            return Err(Error::new(ErrorKind::InsufficientUserAuthentication {
                aal2,
                max_age,
            }));
        }
        let mut missing = Vec::new();
        self.missing(token, &mut missing);
        Err(Error::new(ErrorKind::InsufficientScope(missing.join(" "))))
    }

    /// The step-up that `token` lacks: a second factor, the shortest `max_age`.
    fn step_up(&self, token: &VerifiedToken, aal2: &mut bool, max_age: &mut Option<u64>) {
        if self.is_met_by(token) {
            return;
        }
        match &self.0 {
            Rule::Mfa => *aal2 = true,
            Rule::RecentAuth(age) => *max_age = Some(max_age.map_or(*age, |m| m.min(*age))),
            Rule::All(all) => all.iter().for_each(|one| one.step_up(token, aal2, max_age)),
            // The first alternative a step-up alone would meet.
            Rule::Any(any) => {
                if let Some(one) = any.iter().find(|one| one.met(token, true)) {
                    one.step_up(token, aal2, max_age);
                }
            }
            _ => {}
        }
    }

    /// The names of what `token` lacks, for the challenge's `scope` (space-delimited, as RFC
    /// 6750 §3 has it): for `all`, the parts not met; for `any`, every alternative.
    fn missing(&self, token: &VerifiedToken, names: &mut Vec<String>) {
        match &self.0 {
            Rule::All(all) => {
                for one in all.iter().filter(|one| !one.is_met_by(token)) {
                    one.missing(token, names);
                }
            }
            Rule::Any(any) => {
                for one in any {
                    one.missing(token, names);
                }
            }
            Rule::Role(name) | Rule::Scope(name) | Rule::Custom { name, .. } => {
                names.push(name.to_string());
            }
            Rule::User => names.push("user".to_owned()),
            Rule::Application(None) => names.push("application".to_owned()),
            Rule::Application(Some(name)) => names.push(format!("application:{name}")),
            Rule::Mfa => names.push("acr:aal2".to_owned()),
            Rule::RecentAuth(max_age) => names.push(format!("max_age:{max_age}")),
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, word: &str, items: &[Requirement]| {
            write!(f, "{word} of (")?;
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    f.write_str(", ")?;
                }
                item.fmt(f)?;
            }
            f.write_str(")")
        };
        match &self.0 {
            Rule::Role(role) => write!(f, "role {role}"),
            Rule::Scope(scope) => write!(f, "scope {scope}"),
            Rule::User => f.write_str("user"),
            Rule::Application(None) => f.write_str("application"),
            Rule::Application(Some(name)) => write!(f, "application {name}"),
            Rule::All(all) => list(f, "all", all),
            Rule::Any(any) => list(f, "any", any),
            Rule::Custom { name, .. } => write!(f, "{name}"),
            Rule::Mfa => f.write_str("second factor"),
            Rule::RecentAuth(max_age) => write!(f, "authentication within {max_age}s"),
        }
    }
}

impl fmt::Debug for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Requirement({self})")
    }
}

/// A requirement named by a type, for the extractor forms (`Authorized<P>`): the type says
/// which requirement its route has.
///
/// ```
/// use tokengate::authz::{Policy, Requirement};
///
/// struct Admin;
/// impl Policy for Admin {
///     fn requirement() -> Requirement {
///         Requirement::role("admin")
///     }
/// }
/// assert_eq!(Admin::requirement().to_string(), "role admin");
/// ```
pub trait Policy {
    /// The requirement.
    fn requirement() -> Requirement;
}

/// The constructors of an adapter's `Require` layer, written once for both adapters: `new`,
/// the shorthands (`role`, `scope`, `user`, `application`) and `From<Requirement>`. The type
/// must hold its requirement as `requirement: Arc<Requirement>`.
#[doc(hidden)]
#[macro_export]
macro_rules! require_constructors {
    ($require:ident) => {
        impl $require {
            /// Requires `requirement`.
            pub fn new(requirement: $crate::authz::Requirement) -> Self {
                Self {
                    requirement: ::std::sync::Arc::new(requirement),
                }
            }

            /// Requires role `role` ([`Requirement::role`]($crate::authz::Requirement::role)).
            pub fn role(role: &str) -> Self {
                Self::new($crate::authz::Requirement::role(role))
            }

            /// Requires scope `scope` ([`Requirement::scope`]($crate::authz::Requirement::scope)).
            pub fn scope(scope: &str) -> Self {
                Self::new($crate::authz::Requirement::scope(scope))
            }

            /// Requires a user token ([`Requirement::user`]($crate::authz::Requirement::user)).
            pub fn user() -> Self {
                Self::new($crate::authz::Requirement::user())
            }

            /// Requires an application token
            /// ([`Requirement::application`]($crate::authz::Requirement::application)).
            pub fn application() -> Self {
                Self::new($crate::authz::Requirement::application())
            }

            /// Requires a second factor proved on the session
            /// ([`Requirement::mfa`]($crate::authz::Requirement::mfa)).
            pub fn mfa() -> Self {
                Self::new($crate::authz::Requirement::mfa())
            }

            /// Requires a factor proved within `max_age`
            /// ([`Requirement::recent_auth`]($crate::authz::Requirement::recent_auth)).
            pub fn recent_auth(max_age: ::std::time::Duration) -> Self {
                Self::new($crate::authz::Requirement::recent_auth(max_age))
            }
        }

        impl ::std::convert::From<$crate::authz::Requirement> for $require {
            fn from(requirement: $crate::authz::Requirement) -> Self {
                Self::new(requirement)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::testing;

    fn token(claims: &serde_json::Value) -> VerifiedToken {
        let gate = testing::gate(&[]);
        let exp = crate::clock::unix_now() + 600;
        let mut payload = serde_json::json!({
            "iss": "tokengate", "sub": "ada", "iat": exp - 60, "exp": exp, "jti": "j", "sid": "s",
        });
        if let (Some(payload), Some(extra)) = (payload.as_object_mut(), claims.as_object()) {
            payload.extend(extra.clone());
        }
        let signed = testing::sign(&gate, &payload);
        gate.verify_access(&signed).unwrap()
    }

    #[test]
    fn roles_scopes_and_kinds_of_principal() {
        let user = token(&serde_json::json!({"roles": ["user", "admin"]}));
        let app = token(&serde_json::json!({"app": "reports", "scope": "read write"}));
        assert!(Requirement::role("admin").is_met_by(&user));
        assert!(!Requirement::role("admin").is_met_by(&app));
        assert!(Requirement::scope("write").is_met_by(&app));
        assert!(Requirement::user().is_met_by(&user) && !Requirement::user().is_met_by(&app));
        assert!(Requirement::application().is_met_by(&app));
        assert!(Requirement::application_named("reports").is_met_by(&app));
        assert!(!Requirement::application_named("billing").is_met_by(&app));
        let either = Requirement::role("admin").or(Requirement::scope("read"));
        assert!(either.is_met_by(&user) && either.is_met_by(&app));
        let both = Requirement::role("admin").and(Requirement::scope("read"));
        assert!(!both.is_met_by(&user) && !both.is_met_by(&app));
        let custom = Requirement::custom("ada only", |t| t.claims().sub == "ada");
        assert!(custom.is_met_by(&user));
    }

    #[test]
    fn a_refusal_is_a_403_naming_what_is_missing() {
        let user = token(&serde_json::json!({"roles": ["user"]}));
        let error = Requirement::role("admin")
            .and(Requirement::role("user"))
            .and(Requirement::scope("read"))
            .check(&user)
            .unwrap_err();
        assert_eq!(error.status(), 403);
        assert_eq!(
            error.challenge("tokengate").as_deref(),
            Some("Bearer realm=\"tokengate\", error=\"insufficient_scope\", scope=\"admin read\"")
        );
        assert!(Requirement::role("user").check(&user).is_ok());
    }

    #[test]
    fn assurance_rules_refuse_with_the_step_up_they_lack() {
        let now = crate::clock::unix_now();
        let aal1 = token(&serde_json::json!({"roles": ["admin"], "acr": "aal1", "auth_time": now}));
        let old =
            token(&serde_json::json!({"roles": ["admin"], "acr": "aal2", "auth_time": now - 900}));
        let mfa = Requirement::mfa();
        let recent = Requirement::recent_auth(std::time::Duration::from_secs(300));
        assert!(recent.is_met_by(&aal1) && !mfa.is_met_by(&aal1));
        assert!(mfa.is_met_by(&old) && !recent.is_met_by(&old));
        let error = mfa
            .clone()
            .and(Requirement::role("admin"))
            .check(&aal1)
            .unwrap_err();
        assert_eq!(error.status(), 401);
        assert_eq!(
            error.challenge("tokengate").as_deref(),
            Some("Bearer realm=\"tokengate\", error=\"insufficient_user_authentication\", error_description=\"a second factor is required\", acr_values=\"aal2\"")
        );
        let both = Requirement::all([mfa.clone(), recent.clone()]);
        let error = both
            .check(&token(&serde_json::json!({"auth_time": now - 900})))
            .unwrap_err();
        assert!(matches!(
            error.kind(),
            ErrorKind::InsufficientUserAuthentication {
                aal2: true,
                max_age: Some(300)
            }
        ));
        // What a step-up cannot give stays a 403.
        let error = mfa
            .clone()
            .and(Requirement::role("auditor"))
            .check(&aal1)
            .unwrap_err();
        assert_eq!(error.status(), 403);
        // Any: a role that is there is enough; else the step-up of the first alternative.
        assert!(Requirement::role("admin")
            .or(mfa.clone())
            .check(&aal1)
            .is_ok());
        let error = Requirement::role("auditor")
            .or(recent)
            .check(&old)
            .unwrap_err();
        assert!(matches!(
            error.kind(),
            ErrorKind::InsufficientUserAuthentication {
                aal2: false,
                max_age: Some(300)
            }
        ));
        assert_eq!(mfa.alternatives(), vec![vec!["acr:aal2".to_owned()]]);
    }
}
