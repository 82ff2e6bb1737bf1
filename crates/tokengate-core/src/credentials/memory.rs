//! A directory of users and application keys held in memory, as Argon2id hashes only.

use std::collections::HashMap;
use std::fmt;

use super::password::{check_phc, PasswordError, PasswordVerifier};
use super::{Credentials, CredentialsFuture, Login, Principal};

struct User {
    phc: String,
    claims: serde_json::Map<String, serde_json::Value>,
}

struct Application {
    name: String,
    phc: String,
    claims: serde_json::Map<String, serde_json::Value>,
}

/// Users and application keys in memory. Only Argon2id PHC strings are stored: a plaintext
/// or weaker hash is refused when added.
pub struct MemoryDirectory {
    users: HashMap<String, User>,
    applications: HashMap<String, Application>,
    verifier: PasswordVerifier,
}

impl fmt::Debug for MemoryDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryDirectory")
            .field("users", &self.users.len())
            .field("applications", &self.applications.len())
            .finish_non_exhaustive()
    }
}

impl Default for MemoryDirectory {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryDirectory {
    /// An empty directory.
    pub fn new() -> Self {
        Self {
            users: HashMap::new(),
            applications: HashMap::new(),
            verifier: PasswordVerifier::new(),
        }
    }

    /// Adds a user with the PHC hash of their password (see [`hash_password`](super::hash_password)).
    pub fn user(self, login: &str, phc: &str) -> Result<Self, PasswordError> {
        self.user_with_claims(login, phc, serde_json::Map::new())
    }

    /// Adds a user whose access tokens carry these extra claims (roles, name...).
    pub fn user_with_claims(
        mut self,
        login: &str,
        phc: &str,
        claims: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Self, PasswordError> {
        check_phc(phc)?;
        self.users.insert(
            login.to_owned(),
            User {
                phc: phc.to_owned(),
                claims,
            },
        );
        Ok(self)
    }

    /// Adds an application key with the PHC hash of its secret.
    pub fn application(
        self,
        application: &str,
        key: &str,
        phc: &str,
    ) -> Result<Self, PasswordError> {
        self.application_with_claims(application, key, phc, serde_json::Map::new())
    }

    /// Adds an application key whose access tokens carry these extra claims.
    pub fn application_with_claims(
        mut self,
        application: &str,
        key: &str,
        phc: &str,
        claims: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Self, PasswordError> {
        check_phc(phc)?;
        self.applications.insert(
            key.to_owned(),
            Application {
                name: application.to_owned(),
                phc: phc.to_owned(),
                claims,
            },
        );
        Ok(self)
    }
}

impl Credentials for MemoryDirectory {
    fn verify<'a>(&'a self, login: Login<'a>) -> CredentialsFuture<'a> {
        Box::pin(async move {
            match login {
                Login::User { login, password } => {
                    let user = self.users.get(login);
                    let ok = self
                        .verifier
                        .verify(password, user.map(|u| u.phc.as_str()))
                        .await;
                    Ok(user.filter(|_| ok).map(|user| Principal {
                        subject: login.to_owned(),
                        application: None,
                        claims: user.claims.clone(),
                    }))
                }
                Login::Application {
                    application,
                    key,
                    secret,
                } => {
                    let app = self.applications.get(key);
                    // A key of another application still costs a full verification.
                    let ok = self
                        .verifier
                        .verify(secret, app.map(|a| a.phc.as_str()))
                        .await;
                    Ok(app
                        .filter(|app| ok && app.name == application)
                        .map(|app| Principal {
                            subject: key.to_owned(),
                            application: Some(app.name.clone()),
                            claims: app.claims.clone(),
                        }))
                }
            }
        })
    }
}
