//! Identities that providers proved, linked to users: a table of this directory's own,
//! (provider, the provider's subject) → the user's subject.

use super::queries::{failed, identifier};
use crate::credentials::CredentialsError;

/// Where the links between identities and users are kept, and when an identity may be linked.
/// The table is made on first use:
///
/// ```sql
/// CREATE TABLE IF NOT EXISTS federated_identities (
///     provider text NOT NULL, provider_subject text NOT NULL, subject text NOT NULL,
///     linked_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (provider, provider_subject))
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IdentitiesTable {
    /// The table (`federated_identities`).
    pub table: String,
    /// Whether an identity not linked yet signs in as the user whose login is its email
    /// address, when its provider verified the address (`email_verified: true`), and is then
    /// linked to that user (`false`: only links made with
    /// [`PostgresDirectory::link_identity`](super::PostgresDirectory::link_identity) sign in).
    pub link_verified_emails: bool,
}

impl Default for IdentitiesTable {
    fn default() -> Self {
        Self {
            table: "federated_identities".to_owned(),
            link_verified_emails: false,
        }
    }
}

impl IdentitiesTable {
    /// The defaults, with the table named `table`.
    pub fn new(table: &str) -> Self {
        Self {
            table: table.to_owned(),
            ..Self::default()
        }
    }

    /// Links an identity to the user whose login is the email its provider verified.
    #[must_use]
    pub fn link_verified_emails(mut self) -> Self {
        self.link_verified_emails = true;
        self
    }
}

/// The statements over the identities table.
#[derive(Debug)]
pub(super) struct IdentityQueries {
    pub(super) create: String,
    /// `$1` provider, `$2` its subject → the user's subject.
    pub(super) find: String,
    /// `$1` provider, `$2` its subject, `$3` the user's subject → the subject linked (the
    /// first link made wins).
    pub(super) link: String,
    /// `$1` provider, `$2` its subject → whether a link was removed.
    pub(super) unlink: String,
    pub(super) link_emails: bool,
}

impl IdentityQueries {
    pub(super) fn new(identities: &IdentitiesTable) -> Result<Self, CredentialsError> {
        let table = identifier(&identities.table).ok_or_else(|| {
            failed(format!(
                "`{}` is not a table name (a plain identifier, or schema.table)",
                identities.table
            ))
        })?;
        Ok(Self {
            create: format!(
                "CREATE TABLE IF NOT EXISTS {table} (
                     provider text NOT NULL, provider_subject text NOT NULL,
                     subject text NOT NULL, linked_at timestamptz NOT NULL DEFAULT now(),
                     PRIMARY KEY (provider, provider_subject))"
            ),
            find: format!(
                "SELECT subject FROM {table} WHERE provider = $1 AND provider_subject = $2"
            ),
            link: format!(
                "INSERT INTO {table} (provider, provider_subject, subject) VALUES ($1, $2, $3)
                 ON CONFLICT (provider, provider_subject) DO UPDATE SET subject = {table}.subject
                 RETURNING subject"
            ),
            unlink: format!(
                "DELETE FROM {table} WHERE provider = $1 AND provider_subject = $2
                 RETURNING subject"
            ),
            link_emails: identities.link_verified_emails,
        })
    }
}
