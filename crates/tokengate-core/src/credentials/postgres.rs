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

/// Where users are, and which columns say what. Every name is a plain SQL identifier
/// (`users`, `password_hash`), or a schema-qualified table (`auth.users`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UsersTable {
    /// The table (`users`).
    pub table: String,
    /// The column a user signs in with (`login`).
    pub login: String,
    /// The column of the Argon2id PHC hash of the password, as text (`password_hash`).
    pub password: String,
    /// The column whose value becomes `sub`; `None`: the login (`None`).
    pub subject: Option<String>,
    /// A column of roles, `text[]` or a JSON array, put in the `roles` claim (`None`).
    pub roles: Option<String>,
    /// A `jsonb` column of extra claims, an object (`None`).
    pub claims: Option<String>,
    /// A boolean column that is true for a user who may not sign in (`None`).
    pub disabled: Option<String>,
}

impl Default for UsersTable {
    fn default() -> Self {
        Self {
            table: "users".to_owned(),
            login: "login".to_owned(),
            password: "password_hash".to_owned(),
            subject: None,
            roles: None,
            claims: None,
            disabled: None,
        }
    }
}

impl UsersTable {
    /// The defaults, with the table named `table`.
    pub fn new(table: &str) -> Self {
        Self {
            table: table.to_owned(),
            ..Self::default()
        }
    }

    /// The login column.
    #[must_use]
    pub fn login(mut self, column: &str) -> Self {
        column.clone_into(&mut self.login);
        self
    }

    /// The password hash column.
    #[must_use]
    pub fn password(mut self, column: &str) -> Self {
        column.clone_into(&mut self.password);
        self
    }

    /// The column that becomes `sub` (a user id, say) instead of the login.
    #[must_use]
    pub fn subject(mut self, column: &str) -> Self {
        self.subject = Some(column.to_owned());
        self
    }

    /// The roles column.
    #[must_use]
    pub fn roles(mut self, column: &str) -> Self {
        self.roles = Some(column.to_owned());
        self
    }

    /// The extra claims column.
    #[must_use]
    pub fn claims(mut self, column: &str) -> Self {
        self.claims = Some(column.to_owned());
        self
    }

    /// The disabled flag column.
    #[must_use]
    pub fn disabled(mut self, column: &str) -> Self {
        self.disabled = Some(column.to_owned());
        self
    }
}

/// Where application keys are: one row per key, with its application's name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApplicationsTable {
    /// The table (`application_keys`).
    pub table: String,
    /// The key column, sent as `login` (`key`).
    pub key: String,
    /// The application's name column, sent as `application` (`application`).
    pub application: String,
    /// The column of the Argon2id PHC hash of the secret (`secret_hash`).
    pub secret: String,
    /// A column of scopes, `text[]` or a JSON array, put space-delimited in the `scope`
    /// claim (`None`).
    pub scopes: Option<String>,
    /// A `jsonb` column of extra claims (`None`).
    pub claims: Option<String>,
    /// A boolean column that is true for a revoked key (`None`).
    pub disabled: Option<String>,
}

impl Default for ApplicationsTable {
    fn default() -> Self {
        Self {
            table: "application_keys".to_owned(),
            key: "key".to_owned(),
            application: "application".to_owned(),
            secret: "secret_hash".to_owned(),
            scopes: None,
            claims: None,
            disabled: None,
        }
    }
}

impl ApplicationsTable {
    /// The defaults, with the table named `table`.
    pub fn new(table: &str) -> Self {
        Self {
            table: table.to_owned(),
            ..Self::default()
        }
    }

    /// The scopes column.
    #[must_use]
    pub fn scopes(mut self, column: &str) -> Self {
        self.scopes = Some(column.to_owned());
        self
    }

    /// The extra claims column.
    #[must_use]
    pub fn claims(mut self, column: &str) -> Self {
        self.claims = Some(column.to_owned());
        self
    }

    /// The disabled flag column.
    #[must_use]
    pub fn disabled(mut self, column: &str) -> Self {
        self.disabled = Some(column.to_owned());
        self
    }
}

/// The statements, written once from the tables' names.
#[derive(Debug)]
struct Queries {
    /// `$1` login → hash, subject, roles, claims, disabled.
    user_by_login: String,
    /// `$1` subject → roles, claims, disabled; `{type}` stands for the subject column's type,
    /// read from the catalog once, so that the look-up uses the column's index.
    user_by_subject: String,
    /// `$1` table, `$2` column → the column's type.
    subject_type: String,
    /// The subject column as it is named (`$2` above).
    subject_column: String,
    /// The table as written in the statements (`$1` above).
    users_table: String,
    /// `$1` key → hash, application, scopes, claims, disabled.
    key_by_key: String,
    /// The distinct Argon2id parameters of the stored hashes, users' and keys'.
    hash_parameters: Vec<String>,
}

/// The credential directory over the application's own PostgreSQL tables: users (and,
/// optionally, application keys) with Argon2id PHC hashes in text columns, roles, scopes and
/// claims from columns. One statement per sign-in and per `/token`; every hash is checked off
/// the executor, and an unknown login costs the same hash work as a wrong password. At each
/// `/token` the principal is read again: a deleted or disabled user (or key) loses the session
/// there, and changed roles show in the next access token.
///
/// ```no_run
/// use tokengate_core::credentials::{PostgresDirectory, UsersTable};
///
/// let users = UsersTable::new("users").login("email").roles("roles").disabled("disabled");
/// let directory = PostgresDirectory::connect_lazy("postgres://postgres@127.0.0.1/app", &users)?;
/// # drop(directory);
/// # Ok::<(), tokengate_core::credentials::CredentialsError>(())
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
}

impl fmt::Debug for PostgresDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresDirectory")
            .field("queries", &self.queries)
            .finish_non_exhaustive()
    }
}

fn failed(error: impl fmt::Display) -> CredentialsError {
    CredentialsError(format!("postgres: {error}"))
}

/// `name` quoted as an identifier, or (with a dot) as a schema and a table; `None` when it is
/// not a plain name.
fn identifier(name: &str) -> Option<String> {
    let plain = |part: &str| {
        let mut chars = part.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
            && part.len() <= 63
    };
    let parts: Vec<&str> = name.split('.').collect();
    (parts.len() <= 2 && parts.iter().all(|part| plain(part))).then(|| {
        parts
            .iter()
            .map(|part| format!("\"{part}\""))
            .collect::<Vec<_>>()
            .join(".")
    })
}

/// The SQL of an optional column as JSON text (`null` without one).
fn json_of(column: Option<&String>) -> Result<String, CredentialsError> {
    match column {
        None => Ok("NULL::text".to_owned()),
        Some(name) => Ok(format!("to_jsonb({})::text", checked(name)?)),
    }
}

/// The SQL of an optional disabled flag (`false` without one).
fn flag_of(column: Option<&String>) -> Result<String, CredentialsError> {
    match column {
        None => Ok("false".to_owned()),
        Some(name) => Ok(format!("COALESCE({}, false)", checked(name)?)),
    }
}

fn checked(name: &str) -> Result<String, CredentialsError> {
    identifier(name).ok_or_else(|| {
        CredentialsError(format!(
            "`{name}` is not a plain SQL name (letters, digits and `_`, or schema.table)"
        ))
    })
}

impl Queries {
    fn new(
        users: &UsersTable,
        applications: Option<&ApplicationsTable>,
    ) -> Result<Self, CredentialsError> {
        let table = checked(&users.table)?;
        let login = checked(&users.login)?;
        let subject = users
            .subject
            .as_deref()
            .map_or(Ok(login.clone()), checked)?;
        let (roles, claims) = (
            json_of(users.roles.as_ref())?,
            json_of(users.claims.as_ref())?,
        );
        let disabled = flag_of(users.disabled.as_ref())?;
        let password = checked(&users.password)?;
        let user_by_login = format!(
            "SELECT {password}::text, {subject}::text, {roles}, {claims}, {disabled}
             FROM {table} WHERE {login} = $1 LIMIT 1"
        );
        let user_by_subject = format!(
            "SELECT {roles}, {claims}, {disabled} FROM {table}
             WHERE {subject} = $1::text::{{type}} LIMIT 1"
        );
        let subject_type = "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
             WHERE a.attrelid = $1::regclass AND a.attname = $2 AND NOT a.attisdropped"
            .to_owned();
        // The parameter fields of the Argon2id rows of version 19 (written with or without
        // `v=19`, as PHC allows), each once: read as a hash, and checked, by the verifier.
        let parameters = |table: &str, column: &str| {
            format!(
                "SELECT DISTINCT CASE WHEN split_part(h, '$', 3) = 'v=19'
                                      THEN split_part(h, '$', 4)
                                      ELSE split_part(h, '$', 3) END
                 FROM (SELECT {column}::text AS h FROM {table}) AS hashes
                 WHERE h LIKE '$argon2id$%'
                   AND (split_part(h, '$', 3) = 'v=19' OR split_part(h, '$', 3) NOT LIKE 'v=%')
                 LIMIT {PARAMETER_SETS}"
            )
        };
        let mut hash_parameters = vec![parameters(&table, &password)];
        if let Some(apps) = applications {
            hash_parameters.push(parameters(&checked(&apps.table)?, &checked(&apps.secret)?));
        }
        let key_by_key = match applications {
            Some(apps) => {
                let table = checked(&apps.table)?;
                let key = checked(&apps.key)?;
                format!(
                    "SELECT {}::text, {}::text, {}, {}, {}, {key}::text FROM {table}
                     WHERE {key} = $1 LIMIT 1",
                    checked(&apps.secret)?,
                    checked(&apps.application)?,
                    json_of(apps.scopes.as_ref())?,
                    json_of(apps.claims.as_ref())?,
                    flag_of(apps.disabled.as_ref())?,
                )
            }
            None => String::new(),
        };
        Ok(Self {
            user_by_login,
            user_by_subject,
            subject_type,
            subject_column: users.subject.clone().unwrap_or_else(|| users.login.clone()),
            users_table: table,
            key_by_key,
            hash_parameters,
        })
    }
}

/// A sign-in row, users and keys alike: the hash, the subject (or the application's name), the
/// roles (or scopes), the extra claims, the disabled flag.
struct Found {
    hash: Option<String>,
    name: Option<String>,
    grants: Option<Value>,
    claims: Option<Value>,
    disabled: bool,
}

impl Found {
    fn read(row: &sqlx::postgres::PgRow) -> Result<Self, CredentialsError> {
        Ok(Self {
            hash: row.try_get(0).map_err(failed)?,
            name: row.try_get(1).map_err(failed)?,
            grants: json(row, 2)?,
            claims: json(row, 3)?,
            disabled: row.try_get(4).map_err(failed)?,
        })
    }
}

/// Column `at` of `row`, JSON text, parsed.
fn json(row: &sqlx::postgres::PgRow, at: usize) -> Result<Option<Value>, CredentialsError> {
    let text: Option<String> = row.try_get(at).map_err(failed)?;
    text.map(|text| serde_json::from_str(&text).map_err(failed))
        .transpose()
}

/// The claims of a row: its extra claims, then its roles (`roles`) or scopes (`scope`).
fn claims_of(extra: Option<Value>, grants: Option<Value>, scopes: bool) -> Map<String, Value> {
    let mut claims = match extra {
        Some(Value::Object(claims)) => claims,
        _ => Map::new(),
    };
    if let Some(Value::Array(items)) = grants {
        let names: Vec<String> = items
            .into_iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect();
        if scopes {
            claims.insert("scope".to_owned(), Value::String(names.join(" ")));
        } else {
            claims.insert(
                "roles".to_owned(),
                Value::Array(names.into_iter().map(Value::String).collect()),
            );
        }
    }
    claims
}

/// How long a sign-in's statement may take, and as much to get a connection for it.
const STATEMENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// How long reading the stored parameters may take, per statement and to get a connection.
const PRIME_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How often the stored parameters are read again, for rows written since.
const PRIME_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// The most distinct parameter fields read per table (a table holds a handful).
const PARAMETER_SETS: u32 = 1_024;

/// The Argon2id parameter fields the tables' hashes use (`m=…,t=…,p=…`), read in a read-only
/// transaction of their own on a pooled connection, each statement within [`PRIME_TIMEOUT`]
/// (`SET LOCAL`, so connection poolers and the pool's own set-up are respected). A connection
/// that failed on the way is closed, never given back to the pool.
async fn stored_parameters(
    pool: &PgPool,
    queries: &Queries,
) -> Result<Vec<String>, CredentialsError> {
    let connection = tokio::time::timeout(PRIME_TIMEOUT, pool.acquire())
        .await
        .map_err(|_| failed("no connection came free in time"))?
        .map_err(failed)?;
    let mut connection = InTransaction(Some(connection));
    let read = read_parameters(connection.get(), queries);
    match tokio::time::timeout(PRIME_TIMEOUT * 2, read).await {
        Ok(Ok(found)) => {
            connection.ended();
            Ok(found)
        }
        Ok(Err(error)) => Err(failed(error)),
        Err(_) => Err(failed("reading took too long")),
    }
}

/// A pooled connection on which a transaction of the directory's own begins: it goes back to
/// the pool only once that transaction has ended ([`InTransaction::ended`]). Dropped before,
/// after a failure, a time-out, or with the sign-in's future (a client gone midway), it is
/// closed instead, and the server rolls back: no open transaction (a read-only one at that)
/// ever reaches the application's next query.
struct InTransaction(Option<sqlx::pool::PoolConnection<sqlx::Postgres>>);

impl InTransaction {
    fn get(&mut self) -> &mut sqlx::PgConnection {
        self.0
            .as_deref_mut()
            .unwrap_or_else(|| unreachable!("a connection is held until it is given back"))
    }

    /// The transaction ended: the connection goes back to the pool.
    fn ended(mut self) {
        drop(self.0.take());
    }
}

impl Drop for InTransaction {
    fn drop(&mut self) {
        if let Some(connection) = self.0.take() {
            drop(connection.detach());
        }
    }
}

/// The parameter fields, in a read-only transaction whose statements each get
/// [`PRIME_TIMEOUT`].
async fn read_parameters(
    connection: &mut sqlx::PgConnection,
    queries: &Queries,
) -> Result<Vec<String>, sqlx::Error> {
    let begin = format!(
        "BEGIN READ ONLY; SET LOCAL statement_timeout = {}",
        PRIME_TIMEOUT.as_millis()
    );
    sqlx::Executor::execute(&mut *connection, sqlx::raw_sql(&begin)).await?;
    let mut found = Vec::new();
    for query in &queries.hash_parameters {
        found.extend(
            sqlx::query_scalar::<_, String>(query)
                .fetch_all(&mut *connection)
                .await?,
        );
    }
    sqlx::Executor::execute(&mut *connection, sqlx::raw_sql("COMMIT")).await?;
    Ok(found)
}

/// `query` in a read-only transaction whose statement and lock waits end on the server after
/// [`STATEMENT_TIMEOUT`].
async fn bounded(
    connection: &mut sqlx::PgConnection,
    query: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
) -> Result<Option<sqlx::postgres::PgRow>, sqlx::Error> {
    let begin = format!(
        "BEGIN READ ONLY; SET LOCAL statement_timeout = {0}; SET LOCAL lock_timeout = {0}",
        STATEMENT_TIMEOUT.as_millis()
    );
    sqlx::Executor::execute(&mut *connection, sqlx::raw_sql(&begin)).await?;
    let found = query.fetch_optional(&mut *connection).await?;
    sqlx::Executor::execute(&mut *connection, sqlx::raw_sql("COMMIT")).await?;
    Ok(found)
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
        let ran = tokio::time::timeout(STATEMENT_TIMEOUT * 2, bounded(connection.get(), query));
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

    async fn key(
        &self,
        application: &str,
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
            ) if matched && name == application => Some(Principal {
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
                } => self.key(application, key, secret).await,
            }
        })
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
mod tests {
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
