//! Users and application keys from PostgreSQL tables the application already has.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Row};

use super::{
    Credentials, CredentialsError, CredentialsFuture, Current, Login, LookupFuture,
    PasswordVerifier, Principal,
};

mod bounds;
mod identities;
mod queries;
mod tables;

pub use identities::IdentitiesTable;
pub use tables::{ApplicationsTable, UsersTable};

use identities::IdentityQueries;

use bounds::{bounded, stored_parameters, InTransaction, PRIME_EVERY, STATEMENT_TIMEOUT};
use queries::{claims_of, failed, json, Found, Queries};

/// The credential directory over the application's own PostgreSQL tables: users (and,
/// optionally, application keys) with Argon2id PHC hashes in text columns, roles, scopes and
/// claims from columns. One statement per sign-in and per `/token`; every hash is checked off
/// the executor, and an unknown login costs the same hash work as a wrong password. At each
/// `/token` the principal is read again: a deleted or disabled user (or key) loses the session
/// there, and changed roles show in the next access token.
///
/// ```no_run
/// use tokengate::credentials::{PostgresDirectory, UsersTable};
///
/// let users = UsersTable::new("users").login("email").roles("roles").disabled("disabled");
/// let directory = PostgresDirectory::connect_lazy("postgres://postgres@127.0.0.1/app", &users)?;
/// # drop(directory);
/// # Ok::<(), tokengate::credentials::CredentialsError>(())
/// ```
#[derive(Clone)]
pub struct PostgresDirectory {
    pool: PgPool,
    queries: std::sync::Arc<Queries>,
    /// The look-up by subject, with the subject column's type written in; made on first use.
    by_subject: std::sync::Arc<tokio::sync::OnceCell<String>>,
    /// Whether telling the verifier the parameters of the stored hashes has started, and
    /// whether it has been tried once.
    primed: std::sync::Arc<(
        std::sync::atomic::AtomicBool,
        tokio::sync::watch::Sender<bool>,
    )>,
    verifier: PasswordVerifier,
    /// How many look-ups may hold a connection of the pool at once: half of it, so that a
    /// flood of sign-ins while the table is locked leaves the application the other half.
    lookups: std::sync::Arc<tokio::sync::Semaphore>,
    /// Where identities that providers proved are linked to users, and whether its table is
    /// made (once).
    identities: Option<std::sync::Arc<(IdentityQueries, tokio::sync::OnceCell<()>)>>,
}

impl fmt::Debug for PostgresDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresDirectory")
            .field("queries", &self.queries)
            .finish_non_exhaustive()
    }
}

impl PostgresDirectory {
    /// The directory over `users` (and no application keys) in the database of `pool`: the
    /// application's own pool, shared.
    pub fn new(pool: PgPool, users: &UsersTable) -> Result<Self, CredentialsError> {
        let half = usize::try_from(pool.options().get_max_connections() / 2).unwrap_or(1);
        let directory = Self {
            pool,
            queries: std::sync::Arc::new(Queries::new(users, None)?),
            by_subject: std::sync::Arc::default(),
            primed: std::sync::Arc::default(),
            verifier: PasswordVerifier::new(),
            lookups: std::sync::Arc::new(tokio::sync::Semaphore::new(half.max(1))),
            identities: None,
        };
        directory.prime();
        Ok(directory)
    }

    /// The directory over `users` in the database at `url`, with a pool of its own (at most
    /// 10 connections, 2 s per statement); connections are made on first use.
    pub fn connect_lazy(url: &str, users: &UsersTable) -> Result<Self, CredentialsError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(failed)?
            .options([("statement_timeout", "2000")]);
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(std::time::Duration::from_secs(2))
            .connect_lazy_with(options);
        Self::new(pool, users)
    }

    /// The same directory, with application keys from `applications` too.
    pub fn with_applications(
        mut self,
        users: &UsersTable,
        applications: &ApplicationsTable,
    ) -> Result<Self, CredentialsError> {
        self.queries = std::sync::Arc::new(Queries::new(users, Some(applications))?);
        self.by_subject = std::sync::Arc::default();
        self.primed = std::sync::Arc::default();
        self.prime();
        Ok(self)
    }

    /// The same directory, with sign-ins through identity providers (`[[providers]]`): an
    /// identity linked to a user in `identities` signs in as that user, as the users table has
    /// them now; one not linked is refused, unless the table links verified email addresses.
    pub fn with_identities(
        mut self,
        identities: &IdentitiesTable,
    ) -> Result<Self, CredentialsError> {
        self.identities = Some(std::sync::Arc::new((
            IdentityQueries::new(identities)?,
            tokio::sync::OnceCell::new(),
        )));
        Ok(self)
    }

    /// Links the identity `provider_subject` of `provider` (its configured name) to the user of
    /// `subject`, as an application does once the user, signed in, asks for it. `false` when
    /// the identity was linked already (to this user or another: the first link stands).
    pub async fn link_identity(
        &self,
        provider: &str,
        provider_subject: &str,
        subject: &str,
    ) -> Result<bool, CredentialsError> {
        let queries = self.identity_table().await?;
        let row = self
            .row_of(
                sqlx::query(&queries.link)
                    .bind(provider)
                    .bind(provider_subject)
                    .bind(subject),
                true,
            )
            .await?;
        let linked: Option<String> = row.map(|row| row.try_get(0)).transpose().map_err(failed)?;
        Ok(linked.as_deref() == Some(subject))
    }

    /// Ends the link of an identity: it no longer signs in. `true` if it was linked.
    pub async fn unlink_identity(
        &self,
        provider: &str,
        provider_subject: &str,
    ) -> Result<bool, CredentialsError> {
        let queries = self.identity_table().await?;
        let row = self
            .row_of(
                sqlx::query(&queries.unlink)
                    .bind(provider)
                    .bind(provider_subject),
                true,
            )
            .await?;
        Ok(row.is_some())
    }

    /// The identities' statements, their table made on first use.
    async fn identity_table(&self) -> Result<&IdentityQueries, CredentialsError> {
        let identities = self
            .identities
            .as_deref()
            .ok_or_else(|| failed("no identities table: see `with_identities`"))?;
        identities
            .1
            .get_or_try_init(|| async {
                self.row_of(sqlx::query(&identities.0.create), true)
                    .await
                    .map(drop)
            })
            .await?;
        Ok(&identities.0)
    }

    /// The user an identity signs in as: its link, or the user of the email address its
    /// provider verified (then linked), as the users table has them now.
    async fn identity(
        &self,
        provider: &str,
        provider_subject: &str,
        claims: &Map<String, Value>,
    ) -> Result<Option<Principal>, CredentialsError> {
        if self.identities.is_none() {
            return Ok(None);
        }
        let queries = self.identity_table().await?;
        let row = self
            .row(
                sqlx::query(&queries.find)
                    .bind(provider)
                    .bind(provider_subject),
            )
            .await?;
        let linked: Option<String> = row.map(|row| row.try_get(0)).transpose().map_err(failed)?;
        let subject = if let Some(subject) = linked {
            subject
        } else {
            let Some(email) = super::verified_email(claims).filter(|_| queries.link_emails) else {
                return Ok(None);
            };
            let row = self
                .row(sqlx::query(&self.queries.user_by_login).bind(email))
                .await?;
            let Some(Found {
                name: Some(subject),
                disabled: false,
                ..
            }) = row.as_ref().map(Found::read).transpose()?
            else {
                return Ok(None);
            };
            let row = self
                .row_of(
                    sqlx::query(&queries.link)
                        .bind(provider)
                        .bind(provider_subject)
                        .bind(&subject),
                    true,
                )
                .await?;
            // A concurrent sign-in may have linked it first: that link stands.
            row.map(|row| row.try_get(0))
                .transpose()
                .map_err(failed)?
                .unwrap_or(subject)
        };
        let principal = Principal {
            subject,
            application: None,
            claims: Map::new(),
        };
        Ok(self.current(&principal).await?.map(|claims| Principal {
            claims,
            ..principal
        }))
    }

    /// Tells the verifier the parameters of the hashes the tables hold, so that the first
    /// sign-ins already cost what the strongest row costs (an unknown login checked before any
    /// strong row was met would otherwise be the quicker, and tell that the login is unknown).
    /// Started when the directory is made (inside a runtime; else at the first sign-in) and run
    /// in the background: sign-ins wait for its first try at most [`STATEMENT_TIMEOUT`]. The
    /// parameters are read again every ten minutes while the directory is in use, for rows
    /// written since; a failure is tried again after 1 s, doubling up to a minute, and logged
    /// as an error from the fifth in a row.
    fn prime(&self) {
        if self
            .primed
            .0
            .swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.primed
                .0
                .store(false, std::sync::atomic::Ordering::Release);
            return;
        };
        let primed = std::sync::Arc::clone(&self.primed);
        let pool = self.pool.clone();
        let queries = std::sync::Arc::downgrade(&self.queries);
        let verifier = self.verifier.clone();
        runtime.spawn(async move {
            let mut failures = 0u32;
            loop {
                let Some(queries) = queries.upgrade() else {
                    return;
                };
                let read = stored_parameters(&pool, &queries).await;
                drop(queries);
                if let Ok(found) = &read {
                    for fields in found {
                        verifier.expect(&format!(
                            "$argon2id$v=19${fields}$c29tZSBzYWx0IGhlcmU$\
                             AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                        ));
                    }
                }
                primed.1.send_replace(true);
                let pause = match read {
                    Ok(_) => {
                        failures = 0;
                        PRIME_EVERY
                    }
                    Err(error) => {
                        failures = failures.saturating_add(1);
                        if failures < 5 {
                            tracing::warn!(
                                target: "tokengate",
                                %error,
                                "could not read the parameters of the stored password hashes; \
                                 trying again"
                            );
                        } else {
                            tracing::error!(
                                target: "tokengate",
                                %error,
                                failures,
                                "still cannot read the parameters of the stored password hashes: \
                                 until a row with the strongest of them signs in, an unknown login \
                                 may answer quicker than a known one"
                            );
                        }
                        std::time::Duration::from_secs(1 << (failures - 1).min(6))
                            .min(std::time::Duration::from_secs(60))
                    }
                };
                tokio::time::sleep(pause).await;
            }
        });
    }

    /// The row `query` finds, within [`STATEMENT_TIMEOUT`] to get a connection (of the half of
    /// the pool look-ups may hold) and as much to run: a table locked or a database slow answers 503, never a sign-in that hangs. The
    /// bound holds on the server too (`SET LOCAL statement_timeout` and `lock_timeout`, in a
    /// read-only transaction of the statement's own), so a sign-in given up on leaves no
    /// backend waiting on the lock; a connection whose statement failed or ran out of time is
    /// closed, never given back to the pool.
    async fn row(
        &self,
        query: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> Result<Option<sqlx::postgres::PgRow>, CredentialsError> {
        self.row_of(query, false).await
    }

    /// [`Self::row`], in a transaction that may write when `writes`.
    async fn row_of(
        &self,
        query: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
        writes: bool,
    ) -> Result<Option<sqlx::postgres::PgRow>, CredentialsError> {
        let waited = tokio::time::timeout(STATEMENT_TIMEOUT, async {
            let slot = self.lookups.acquire().await;
            (slot, self.pool.acquire().await)
        });
        let (_slot, connection) = waited
            .await
            .map_err(|_| failed("no connection came free in time"))?;
        let mut connection = InTransaction(Some(connection.map_err(failed)?));
        // The server's bound ends the statement first; this one is for a server that does
        // not answer at all.
        let ran = tokio::time::timeout(
            STATEMENT_TIMEOUT * 2,
            bounded(connection.get(), query, writes),
        );
        match ran.await {
            Ok(Ok(found)) => {
                connection.ended();
                Ok(found)
            }
            Ok(Err(error)) => Err(failed(error)),
            Err(_) => Err(failed("the statement took too long")),
        }
    }

    /// Waits, at most [`STATEMENT_TIMEOUT`], until the stored parameters have been read once
    /// (or could not be): the first sign-ins after a start cost what the strongest row costs.
    async fn primed(&self) {
        let mut done = self.primed.1.subscribe();
        let _ = tokio::time::timeout(STATEMENT_TIMEOUT, done.wait_for(|done| *done)).await;
    }

    /// The verifier every sign-in of this directory goes through.
    pub fn password_verifier(&self) -> &PasswordVerifier {
        &self.verifier
    }

    async fn user(
        &self,
        login: &str,
        password: &str,
    ) -> Result<Option<Principal>, CredentialsError> {
        self.prime();
        self.primed().await;
        let row = self
            .row(sqlx::query(&self.queries.user_by_login).bind(login))
            .await?;
        let found = row.as_ref().map(Found::read).transpose()?;
        // The same hash work whether the login is unknown, disabled or right.
        let phc = found.as_ref().and_then(|found| found.hash.as_deref());
        let matched = self.verifier.verify(password, phc).await;
        Ok(match found {
            Some(Found {
                name: Some(subject),
                grants,
                claims,
                disabled: false,
                ..
            }) if matched => Some(Principal {
                subject,
                application: None,
                claims: claims_of(claims, grants, false),
            }),
            _ => None,
        })
    }

    /// The application of `key` when `secret` is its secret, and it is `application` where
    /// one is named (a sign-in names it; an OAuth client does not).
    async fn key(
        &self,
        application: Option<&str>,
        key: &str,
        secret: &str,
    ) -> Result<Option<Principal>, CredentialsError> {
        self.prime();
        let row = if self.queries.key_by_key.is_empty() {
            None
        } else {
            self.primed().await;
            self.row(sqlx::query(&self.queries.key_by_key).bind(key))
                .await?
        };
        let found = row.as_ref().map(Found::read).transpose()?;
        // The key as its row spells it: a case-insensitive column finds `KEY-1` for `key-1`,
        // and the subject (what quotas, session limits and tickets count by) must be one.
        let canonical: Option<String> = row
            .as_ref()
            .map(|row| row.try_get(5))
            .transpose()
            .map_err(failed)?
            .flatten();
        // A key of another application, or none, still costs a full verification.
        let phc = found.as_ref().and_then(|found| found.hash.as_deref());
        let matched = self.verifier.verify(secret, phc).await;
        Ok(match (found, canonical) {
            (
                Some(Found {
                    name: Some(name),
                    grants,
                    claims,
                    disabled: false,
                    ..
                }),
                Some(subject),
            ) if matched && application.is_none_or(|wanted| name == wanted) => Some(Principal {
                subject,
                application: Some(name),
                claims: claims_of(claims, grants, true),
            }),
            _ => None,
        })
    }

    /// The look-up of a user by subject, once the subject column's type is known.
    async fn user_by_subject(&self) -> Result<&str, CredentialsError> {
        let queries = &self.queries;
        self.by_subject
            .get_or_try_init(|| async {
                let row = self
                    .row(
                        sqlx::query(&queries.subject_type)
                            .bind(&queries.users_table)
                            .bind(&queries.subject_column),
                    )
                    .await?;
                let found: Option<String> =
                    row.map(|row| row.try_get(0)).transpose().map_err(failed)?;
                let kind = found.ok_or_else(|| {
                    failed(format!(
                        "no column `{}` in {}",
                        queries.subject_column, queries.users_table
                    ))
                })?;
                Ok(queries.user_by_subject.replace("{type}", &kind))
            })
            .await
            .map(String::as_str)
    }

    /// The claims of `principal` as its row says now; `None` when the row is gone or disabled.
    async fn current(
        &self,
        principal: &Principal,
    ) -> Result<Option<Map<String, Value>>, CredentialsError> {
        let (query, scopes) = match &principal.application {
            None => (self.user_by_subject().await?, false),
            Some(_) if self.queries.key_by_key.is_empty() => return Ok(None),
            Some(_) => (self.queries.key_by_key.as_str(), true),
        };
        let row = self
            .row(sqlx::query(query).bind(&principal.subject))
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        // Application rows carry the hash and the name first.
        let from = if scopes { 2 } else { 0 };
        if scopes {
            let name: Option<String> = row.try_get(1).map_err(failed)?;
            if name != principal.application {
                return Ok(None);
            }
        }
        let grants = json(&row, from)?;
        let claims = json(&row, from + 1)?;
        let disabled: bool = row.try_get(from + 2).map_err(failed)?;
        Ok((!disabled).then(|| claims_of(claims, grants, scopes)))
    }
}

impl Credentials for PostgresDirectory {
    fn verify<'a>(&'a self, login: Login<'a>) -> CredentialsFuture<'a> {
        Box::pin(async move {
            match login {
                Login::User { login, password } => self.user(login, password).await,
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
        claims: &'a Map<String, Value>,
    ) -> CredentialsFuture<'a> {
        Box::pin(self.identity(provider, subject, claims))
    }

    fn refresh<'a>(&'a self, principal: &'a Principal) -> LookupFuture<'a> {
        Box::pin(async move {
            Ok(match self.current(principal).await? {
                None => Current::Gone,
                Some(claims) if claims == principal.claims => Current::Unchanged,
                Some(claims) => Current::Changed(claims),
            })
        })
    }
}

#[cfg(test)]
#[cfg(test)]
mod tests {
    use super::queries::identifier;
    use super::*;

    #[test]
    fn names_are_quoted_and_anything_else_refused() {
        assert_eq!(identifier("users").as_deref(), Some("\"users\""));
        assert_eq!(
            identifier("auth.Users").as_deref(),
            Some("\"auth\".\"Users\"")
        );
        for bad in ["", "a b", "users;drop", "a.b.c", "x\"y", "1users"] {
            assert_eq!(identifier(bad), None, "{bad}");
        }
        let error = Queries::new(&UsersTable::new("users").login("e mail"), None).unwrap_err();
        assert!(error.0.contains("e mail"), "{error}");
    }

    #[test]
    fn roles_and_scopes_become_their_claims() {
        let roles = claims_of(
            Some(serde_json::json!({"name": "Ada", "roles": "ignored"})),
            Some(serde_json::json!(["user", "admin", 7])),
            false,
        );
        assert_eq!(
            Value::Object(roles),
            serde_json::json!({"name": "Ada", "roles": ["user", "admin"]})
        );
        let scopes = claims_of(None, Some(serde_json::json!(["read", "write"])), true);
        assert_eq!(
            Value::Object(scopes),
            serde_json::json!({"scope": "read write"})
        );
        assert!(claims_of(Some(Value::Null), None, false).is_empty());
    }
}
