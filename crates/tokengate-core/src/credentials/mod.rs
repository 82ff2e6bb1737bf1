//! Checking who signs in: users by login and password, applications by key and secret.
//!
//! Implement [`Credentials`] over your user database, or use the [`MemoryDirectory`], or
//! (feature `postgres`) `PostgresDirectory` over the users table you already have.
//!
//! # Example
//!
//! ```
//! use tokengate_core::credentials::{hash_password, Credentials, Login, MemoryDirectory};
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

mod memory;
mod password;
#[cfg(feature = "postgres")]
mod postgres;

use std::fmt;
use std::future::Future;
use std::pin::Pin;

pub use memory::MemoryDirectory;
pub use password::{hash_password, PasswordError, PasswordVerifier};

/// A login as every directory may take it: trimmed, without the characters a
/// case-insensitive collation ignores (Unicode's default-ignorable code points: soft hyphen,
/// zero-width joiners, variation selectors...), in NFKC (fullwidth `ａ` is `a`), case-folded.
/// The sign-in throttle counts attempts under this form whatever the directory compares, so no
/// spelling a `citext` column or an ICU `ks-level2` collation takes for the same login
/// (`JOHN.doe@…`, `John.Doe@…`, `jo\u{AD}hn.doe@…`) gets attempts of its own; logins that differ
/// only so share one window. A directory that wants to compare logins the same way can store
/// and look up this form; an accent-insensitive (level 1) collation is looser still.
///
/// ```
/// use tokengate_core::credentials::normalised_login;
///
/// assert_eq!(normalised_login(" John.Doe@Email.org "), "john.doe@email.org");
/// // "é" composed and decomposed, and the German sharp s, fold to one form.
/// assert_eq!(normalised_login("Jose\u{301}"), normalised_login("JOSÉ"));
/// assert_eq!(normalised_login("STRASSE"), normalised_login("straße"));
/// // Invisible characters and fullwidth forms are the plain login.
/// assert_eq!(normalised_login("jo\u{AD}hn\u{200D}.doe"), "john.doe");
/// assert_eq!(normalised_login("ＪＯＨＮ"), "john");
/// ```
pub fn normalised_login(login: &str) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    let login = login.trim();
    if login.is_ascii() {
        return login.to_ascii_lowercase();
    }
    let visible: String = login
        .chars()
        .filter(|c| !default_ignorable(*c))
        .nfkc()
        .collect();
    caseless::default_case_fold_str(&visible).nfkc().collect()
}

/// Whether `c` is a default-ignorable code point (Unicode's `Default_Ignorable_Code_Point`,
/// DerivedCoreProperties.txt): what collations and renderers skip.
fn default_ignorable(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x034F
            | 0x061C
            | 0x115F..=0x1160
            | 0x17B4..=0x17B5
            | 0x180B..=0x180F
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x206F
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFEFF
            | 0xFFA0
            | 0xFFF0..=0xFFF8
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF
    )
}
#[cfg(feature = "postgres")]
pub use postgres::{ApplicationsTable, PostgresDirectory, UsersTable};

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
    fn refresh<'a>(&'a self, principal: &'a Principal) -> LookupFuture<'a> {
        let _ = principal;
        Box::pin(std::future::ready(Ok(Current::Unchanged)))
    }
}
