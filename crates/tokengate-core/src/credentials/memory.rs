//! A directory of users and application keys held in memory, as Argon2id hashes only.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use super::password::{check_phc, PasswordError, PasswordVerifier};
use super::{
    verified_email, Credentials, CredentialsFuture, Current, Login, LookupFuture, Principal,
};

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
    federation: Federation,
}

/// What the directory does with identities that providers prove.
#[derive(Default)]
struct Federation {
    /// Make a user `<provider>:<sub>` with these claims on a first sign-in (else refuse).
    create: Option<Claims>,
    /// Let a verified email sign in as the user with that login.
    link_emails: bool,
    /// The identities signed in before: (provider, sub) → the local subject.
    links: HashMap<(String, String), String>,
    /// The users made for identities, with their claims (they have no password).
    made: HashMap<String, Claims>,
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
        let mut entries = self.entries_mut();
        let made = entries.federation.made.remove(login).is_some();
        entries.federation.links.retain(|_, local| local != login);
        entries.users.remove(login).is_some() || made
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

    /// Makes a user `<provider>:<sub>` with these roles the first time an identity provider
    /// proves an identity it does not know (`[[providers]]`); without this, such sign-ins
    /// are refused (403). The users made have no password, and are known at each refresh.
    #[must_use]
    pub fn create_federated_users<R: Into<String>>(
        self,
        roles: impl IntoIterator<Item = R>,
    ) -> Self {
        self.entries_mut().federation.create = Some(roles_claim(roles));
        self
    }

    /// Lets an identity sign in as the user whose login is its email address, when its
    /// provider verified the address (`email_verified: true`): the identity is then linked
    /// to that user. Off unless called: a provider that lets anyone claim an address would
    /// otherwise hand out this directory's accounts.
    #[must_use]
    pub fn link_verified_emails(self) -> Self {
        self.entries_mut().federation.link_emails = true;
        self
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

    /// Adds a user whose access tokens carry these roles (the `roles` claim that
    /// `Require::role` reads).
    ///
    /// ```
    /// use tokengate::credentials::{hash_password, MemoryDirectory};
    ///
    /// let users = MemoryDirectory::new()
    ///     .user_with_roles("ada@example.org", &hash_password("correct horse")?, ["admin"])?;
    /// # drop(users);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn user_with_roles<R: Into<String>>(
        self,
        login: &str,
        phc: &str,
        roles: impl IntoIterator<Item = R>,
    ) -> Result<Self, PasswordError> {
        self.user_with_claims(login, phc, roles_claim(roles))
    }

    /// Adds an application key whose access tokens carry these scopes (the space-delimited
    /// `scope` claim that `Require::scope` reads). Each is one scope token of RFC 6749 (§3.3):
    /// an empty scope, or one with a space or a quote, is refused rather than read as several.
    pub fn application_with_scopes<S: Into<String>>(
        self,
        application: &str,
        key: &str,
        phc: &str,
        scopes: impl IntoIterator<Item = S>,
    ) -> Result<Self, PasswordError> {
        let claims = scope_claim(scopes)?;
        self.application_with_claims(application, key, phc, claims)
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

/// `{"roles": [..]}`.
fn roles_claim<R: Into<String>>(roles: impl IntoIterator<Item = R>) -> Claims {
    let roles = roles
        .into_iter()
        .map(|role| serde_json::Value::String(role.into()));
    Claims::from_iter([("roles".to_owned(), roles.collect())])
}

/// `{"scope": ".. .."}`, space-delimited as RFC 8693 has it, of scope tokens only.
fn scope_claim<S: Into<String>>(
    scopes: impl IntoIterator<Item = S>,
) -> Result<Claims, PasswordError> {
    let scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
    // scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
    let token = |c: char| matches!(c, '\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e');
    if let Some(bad) = scopes
        .iter()
        .find(|s| s.is_empty() || !s.chars().all(token))
    {
        return Err(PasswordError::refused(format!(
            "the scope {bad:?} is not one scope token (printable ASCII, not empty, without spaces, quotes or backslashes)"
        )));
    }
    Ok(Claims::from_iter([(
        "scope".to_owned(),
        scopes.join(" ").into(),
    )]))
}

impl MemoryDirectory {
    /// The application of `key` when `secret` is its secret, and it is `application` where one
    /// is named (a sign-in names it; an OAuth client does not).
    async fn key(
        &self,
        application: Option<&str>,
        key: &str,
        secret: &str,
    ) -> Result<Option<Principal>, super::CredentialsError> {
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
        Ok(app
            .filter(|(name, _, _)| ok && application.is_none_or(|wanted| name == wanted))
            .map(|(name, _, claims)| Principal {
                subject: key.to_owned(),
                application: Some(name),
                claims,
            }))
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
                } => self.key(Some(application), key, secret).await,
            }
        })
    }

    fn verify_client<'a>(&'a self, key: &'a str, secret: &'a str) -> CredentialsFuture<'a> {
        Box::pin(self.key(None, key, secret))
    }

    fn federated<'a>(
        &'a self,
        provider: &'a str,
        subject: &'a str,
        claims: &'a Claims,
    ) -> CredentialsFuture<'a> {
        let mut entries = self.entries_mut();
        let identity = (provider.to_owned(), subject.to_owned());
        let principal = |subject: &str, claims: &Claims| Principal {
            subject: subject.to_owned(),
            application: None,
            claims: claims.clone(),
        };
        let known = |entries: &Entries, local: &str| {
            entries
                .users
                .get(local)
                .map(|user| &user.claims)
                .or_else(|| entries.federation.made.get(local))
                .map(|claims| principal(local, claims))
        };
        let found = if let Some(local) = entries.federation.links.get(&identity) {
            known(&entries, local)
        } else if let Some(email) = verified_email(claims)
            .filter(|email| entries.federation.link_emails && entries.users.contains_key(*email))
        {
            entries.federation.links.insert(identity, email.to_owned());
            known(&entries, email)
        } else if let Some(roles) = entries.federation.create.clone() {
            let local = format!("{provider}:{subject}");
            if entries.users.contains_key(&local) {
                // A password user of that very name is not this identity's to take.
                None
            } else {
                entries
                    .federation
                    .made
                    .entry(local.clone())
                    .or_insert(roles);
                entries.federation.links.insert(identity, local.clone());
                known(&entries, &local)
            }
        } else {
            None
        };
        Box::pin(std::future::ready(Ok(found)))
    }

    fn refresh<'a>(&'a self, principal: &'a Principal) -> LookupFuture<'a> {
        let entries = self.entries();
        let now = match &principal.application {
            None => entries
                .users
                .get(&principal.subject)
                .map(|user| &user.claims)
                .or_else(|| entries.federation.made.get(&principal.subject)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::hash_password;

    #[tokio::test]
    async fn roles_and_scopes_given_typed_are_the_claims_requirements_read() {
        let phc = hash_password("correct horse").unwrap();
        let directory = MemoryDirectory::new()
            .user_with_roles("ada", &phc, ["admin", "user"])
            .unwrap()
            .application_with_scopes("reports", "key-1", &phc, vec!["read", "write"])
            .unwrap();
        let ada = Login::User {
            login: "ada",
            password: "correct horse",
        };
        let user = directory.verify(ada).await.unwrap().expect("ada signs in");
        assert_eq!(user.claims["roles"], serde_json::json!(["admin", "user"]));
        let key = Login::Application {
            application: "reports",
            key: "key-1",
            secret: "correct horse",
        };
        let application = directory
            .verify(key)
            .await
            .unwrap()
            .expect("the key signs in");
        assert_eq!(application.claims["scope"], "read write");
        let wrong = Login::User {
            login: "ada",
            password: "wrong horse",
        };
        assert_eq!(directory.verify(wrong).await.unwrap(), None);
    }

    #[test]
    fn a_scope_that_is_not_one_token_is_refused_not_split() {
        let phc = hash_password("correct horse").unwrap();
        for bad in ["read admin", "read\tadmin", "", "say\"hi", "caf\u{e9}"] {
            let refused = MemoryDirectory::new().application_with_scopes("app", "k", &phc, [bad]);
            assert!(refused.is_err(), "{bad:?} was taken");
        }
        let fine = MemoryDirectory::new().application_with_scopes("app", "k", &phc, ["read:all"]);
        assert!(fine.is_ok());
    }
}
