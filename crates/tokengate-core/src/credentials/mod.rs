//! Checking who signs in: users by login and password, applications by key and secret.
//!
//! Implement [`Credentials`] over your user database, or use the [`MemoryDirectory`], or
//! (feature `postgres`) `PostgresDirectory` over the users table you already have.
//!
//! # Example
//!
//! ```
//! use tokengate::credentials::{hash_password, Credentials, Login, MemoryDirectory};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let directory = MemoryDirectory::new()
//!     .user("ada@example.org", &hash_password("correct horse")?)?;
//! let login = Login::User { login: "ada@example.org", password: "correct horse" };
//! let principal = directory.verify(login).await?.expect("the password matches");
//! assert_eq!(principal.subject, "ada@example.org");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

mod login;
mod memory;
mod password;
#[cfg(feature = "postgres")]
mod postgres;
mod queue;

use std::fmt;
use std::future::Future;
use std::pin::Pin;

pub use login::normalised_login;
pub(crate) use login::throttle_key;
pub use memory::MemoryDirectory;
pub use password::{hash_password, PasswordError, PasswordVerifier};
pub(crate) use queue::{CheckQueue, RETRY_AFTER_SECONDS};

#[cfg(feature = "postgres")]
pub use postgres::{ApplicationsTable, IdentitiesTable, PostgresDirectory, UsersTable};

/// What a client presented at sign-in.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Login<'a> {
    /// A user's login and password.
    User {
        /// The login.
        login: &'a str,
        /// The password.
        password: &'a str,
    },
    /// An application key login (`application` field present).
    Application {
        /// The application name.
        application: &'a str,
        /// The key (sent as `login`).
        key: &'a str,
        /// The secret (sent as `password`).
        secret: &'a str,
    },
}

impl fmt::Debug for Login<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User { login, .. } => f
                .debug_struct("User")
                .field("login", login)
                .field("password", &"REDACTED")
                .finish(),
            Self::Application {
                application, key, ..
            } => f
                .debug_struct("Application")
                .field("application", application)
                .field("key", key)
                .field("secret", &"REDACTED")
                .finish(),
        }
    }
}

/// Who signed in, and what goes into their access tokens.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Principal {
    /// The `sub` claim: the login, or the application key.
    pub subject: String,
    /// The `app` claim, for application logins.
    pub application: Option<String>,
    /// Extra claims for the access token (roles, display name...). Registered claim names
    /// (`iss`, `sub`, `exp`...) are ignored here: tokengate sets those itself.
    pub claims: serde_json::Map<String, serde_json::Value>,
}

/// The credential directory could not answer (database down); the sign-in gets 503.
#[derive(Debug, thiserror::Error)]
#[error("credential directory unavailable: {0}")]
pub struct CredentialsError(pub String);

/// A boxed future, as returned by [`Credentials`].
pub type CredentialsFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Principal>, CredentialsError>> + Send + 'a>>;

/// What a refresh finds of a principal that signed in earlier.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Current {
    /// Still there, with the claims it signed in with.
    Unchanged,
    /// Still there, with these claims now (roles added or removed...): the new access token
    /// carries them.
    Changed(serde_json::Map<String, serde_json::Value>),
    /// Removed or disabled: `/token` ends the session and answers 401.
    Gone,
}

/// A boxed future, as returned by [`Credentials::refresh`].
pub type LookupFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Current, CredentialsError>> + Send + 'a>>;

/// Checks a login. `Ok(None)` means "wrong": the caller answers every kind of wrong the same way,
/// and an implementation should take the same time for an unknown login as for a wrong password.
pub trait Credentials: Send + Sync + 'static {
    /// Verifies the login; `Ok(Some)` with the principal when it is right.
    fn verify<'a>(&'a self, login: Login<'a>) -> CredentialsFuture<'a>;

    /// At each `/token`: the principal as it is now, so that claims stay true for as long as a
    /// session lives (a role removed, a user deleted). `principal` is as it signed in: its
    /// subject, its application, the claims stored with the session. The default keeps the
    /// stored claims; an error answers the refresh with 503.
    ///
    /// A passkey sign-in asks it too, and it is then the only question the directory is asked
    /// (no password is checked): a directory that removes or disables users must answer
    /// [`Current::Gone`] for them here, or they keep signing in with their passkeys.
    fn refresh<'a>(&'a self, principal: &'a Principal) -> LookupFuture<'a> {
        let _ = principal;
        Box::pin(std::future::ready(Ok(Current::Unchanged)))
    }

    /// An application authenticating as an OAuth client (RFC 6749 §2.3.1) to
    /// `{prefix}/introspect` or `{prefix}/revoke`: its key as `client_id`, its secret as
    /// `client_secret`, without its name. `Ok(Some)` with the principal it signs in as when
    /// the secret is right. The default knows no client: introspection then answers every
    /// caller 401, and revocation takes only the token itself.
    fn verify_client<'a>(&'a self, key: &'a str, secret: &'a str) -> CredentialsFuture<'a> {
        let _ = (key, secret);
        Box::pin(std::future::ready(Ok(None)))
    }

    /// A sign-in with an identity provider (`[[providers]]`) proved who this is: `subject`
    /// is the provider's `sub`, `provider` its configured name, `claims` the whole of its
    /// verified ID token. `Ok(Some)` with the local principal it signs in as: a user linked
    /// to this identity earlier, one made now, or an existing user this identity may take
    /// over — only on an email the provider verified (`email_verified` is `true`), and only
    /// where the application allows it. `Ok(None)` refuses the sign-in (403). The default
    /// refuses every identity.
    ///
    /// [`Credentials::refresh`] is then asked about the principal at each `/token`, as for a
    /// password sign-in: a directory that makes users here must know them there.
    fn federated<'a>(
        &'a self,
        provider: &'a str,
        subject: &'a str,
        claims: &'a serde_json::Map<String, serde_json::Value>,
    ) -> CredentialsFuture<'a> {
        let _ = (provider, subject, claims);
        Box::pin(std::future::ready(Ok(None)))
    }
}

/// The email address an identity provider verified, from its ID token's claims: `email`,
/// when `email_verified` is `true` (not a string, not absent).
pub fn verified_email(claims: &serde_json::Map<String, serde_json::Value>) -> Option<&str> {
    let verified = claims.get("email_verified") == Some(&serde_json::Value::Bool(true));
    claims
        .get("email")
        .and_then(serde_json::Value::as_str)
        .filter(|email| verified && !email.is_empty())
}
