//! Where users and application keys are: the tables and the columns that say what.

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
