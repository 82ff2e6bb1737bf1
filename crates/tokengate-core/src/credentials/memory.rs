//! A directory of users and application keys held in memory, as Argon2id hashes only.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use super::password::{check_phc, PasswordError, PasswordVerifier};
use super::{Credentials, CredentialsFuture, Current, Login, LookupFuture, Principal};

type Claims = serde_json::Map<String, serde_json::Value>;

struct User {
    phc: String,
    claims: serde_json::Map<String, serde_json::Value>,
}

struct Application {
    name: String,
    phc: String,
    claims: serde_json::Map<String, serde_json::Value>,
}

/// Users and application keys in memory. Only Argon2id PHC strings within the policy are
/// stored (see [`PasswordVerifier`]): a plaintext, weaker or foreign hash is refused when
/// added, and every sign-in costs what the strongest hash held costs.
#[derive(Clone)]
pub struct MemoryDirectory {
    entries: Arc<RwLock<Entries>>,
    verifier: PasswordVerifier,
}

#[derive(Default)]
struct Entries {
    users: HashMap<String, User>,
    applications: HashMap<String, Application>,
}

impl fmt::Debug for MemoryDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = self.entries();
        f.debug_struct("MemoryDirectory")
            .field("users", &entries.users.len())
            .field("applications", &entries.applications.len())
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
            entries: Arc::default(),
            verifier: PasswordVerifier::new(),
        }
    }

    fn entries(&self) -> std::sync::RwLockReadGuard<'_, Entries> {
        self.entries.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn entries_mut(&self) -> std::sync::RwLockWriteGuard<'_, Entries> {
        self.entries.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Removes the user `login`: they can no longer sign in, and their sessions end at their
    /// next refresh. `true` if they were there. Clones of the directory share the change.
    pub fn remove_user(&self, login: &str) -> bool {
        self.entries_mut().users.remove(login).is_some()
    }

    /// Replaces the extra claims of user `login` (roles...): the next refresh of each of
    /// their sessions carries the new ones. `true` if the user is there.
    pub fn set_user_claims(&self, login: &str, claims: Claims) -> bool {
        match self.entries_mut().users.get_mut(login) {
            Some(user) => {
                user.claims = claims;
                true
            }
            None => false,
        }
    }

    /// Removes the application key `key`; its sessions end at their next refresh.
    pub fn remove_application(&self, key: &str) -> bool {
        self.entries_mut().applications.remove(key).is_some()
    }

    /// Adds a user with the PHC hash of their password (see [`hash_password`](super::hash_password)).
    pub fn user(self, login: &str, phc: &str) -> Result<Self, PasswordError> {
        self.user_with_claims(login, phc, serde_json::Map::new())
    }

    /// Adds a user whose access tokens carry these extra claims (roles, name...).
    pub fn user_with_claims(
        self,
        login: &str,
        phc: &str,
        claims: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Self, PasswordError> {
        check_phc(phc)?;
        self.verifier.expect(phc);
        self.entries_mut().users.insert(
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
        self,
        application: &str,
        key: &str,
        phc: &str,
        claims: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Self, PasswordError> {
        check_phc(phc)?;
        self.verifier.expect(phc);
        self.entries_mut().applications.insert(
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
                    // Read under the lock, verified after it (the lock is not held over await).
                    let user = self
                        .entries()
                        .users
                        .get(login)
                        .map(|user| (user.phc.clone(), user.claims.clone()));
                    let ok = self
                        .verifier
                        .verify(password, user.as_ref().map(|(phc, _)| phc.as_str()))
                        .await;
                    Ok(user.filter(|_| ok).map(|(_, claims)| Principal {
                        subject: login.to_owned(),
                        application: None,
                        claims,
                    }))
                }
                Login::Application {
                    application,
                    key,
                    secret,
                } => {
                    let app = self
                        .entries()
                        .applications
                        .get(key)
                        .map(|app| (app.name.clone(), app.phc.clone(), app.claims.clone()));
                    // A key of another application still costs a full verification.
                    let ok = self
                        .verifier
                        .verify(secret, app.as_ref().map(|(_, phc, _)| phc.as_str()))
                        .await;
                    Ok(app.filter(|(name, _, _)| ok && name == application).map(
                        |(name, _, claims)| Principal {
                            subject: key.to_owned(),
                            application: Some(name),
                            claims,
                        },
                    ))
                }
            }
        })
    }
    fn refresh<'a>(&'a self, principal: &'a Principal) -> LookupFuture<'a> {
        let entries = self.entries();
        let now = match &principal.application {
            None => entries
                .users
                .get(&principal.subject)
                .map(|user| &user.claims),
            Some(name) => entries
                .applications
                .get(&principal.subject)
                .filter(|app| app.name == *name)
                .map(|app| &app.claims),
        };
        let current = match now {
            None => Current::Gone,
            Some(claims) if *claims == principal.claims => Current::Unchanged,
            Some(claims) => Current::Changed(claims.clone()),
        };
        Box::pin(std::future::ready(Ok(current)))
    }
}
