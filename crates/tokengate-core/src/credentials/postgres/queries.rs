//! The statements, assembled once from the tables' names, and what their rows say.

use std::fmt;

use serde_json::{Map, Value};
use sqlx::Row;

use super::bounds::PARAMETER_SETS;
use super::tables::{ApplicationsTable, UsersTable};
use crate::credentials::CredentialsError;

/// The statements, written once from the tables' names.
#[derive(Debug)]
pub(super) struct Queries {
    /// `$1` login → hash, subject, roles, claims, disabled.
    pub(super) user_by_login: String,
    /// `$1` subject → roles, claims, disabled; `{type}` stands for the subject column's type,
    /// read from the catalog once, so that the look-up uses the column's index.
    pub(super) user_by_subject: String,
    /// `$1` table, `$2` column → the column's type.
    pub(super) subject_type: String,
    /// The subject column as it is named (`$2` above).
    pub(super) subject_column: String,
    /// The table as written in the statements (`$1` above).
    pub(super) users_table: String,
    /// `$1` key → hash, application, scopes, claims, disabled.
    pub(super) key_by_key: String,
    /// The distinct Argon2id parameters of the stored hashes, users' and keys'.
    pub(super) hash_parameters: Vec<String>,
}

pub(super) fn failed(error: impl fmt::Display) -> CredentialsError {
    CredentialsError(format!("postgres: {error}"))
}

/// `name` quoted as an identifier, or (with a dot) as a schema and a table; `None` when it is
/// not a plain name.
pub(super) fn identifier(name: &str) -> Option<String> {
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
pub(super) fn json_of(column: Option<&String>) -> Result<String, CredentialsError> {
    match column {
        None => Ok("NULL::text".to_owned()),
        Some(name) => Ok(format!("to_jsonb({})::text", checked(name)?)),
    }
}

/// The SQL of an optional disabled flag (`false` without one).
pub(super) fn flag_of(column: Option<&String>) -> Result<String, CredentialsError> {
    match column {
        None => Ok("false".to_owned()),
        Some(name) => Ok(format!("COALESCE({}, false)", checked(name)?)),
    }
}

pub(super) fn checked(name: &str) -> Result<String, CredentialsError> {
    identifier(name).ok_or_else(|| {
        CredentialsError(format!(
            "`{name}` is not a plain SQL name (letters, digits and `_`, or schema.table)"
        ))
    })
}

impl Queries {
    pub(super) fn new(
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
pub(super) struct Found {
    pub(super) hash: Option<String>,
    pub(super) name: Option<String>,
    pub(super) grants: Option<Value>,
    pub(super) claims: Option<Value>,
    pub(super) disabled: bool,
}

impl Found {
    pub(super) fn read(row: &sqlx::postgres::PgRow) -> Result<Self, CredentialsError> {
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
pub(super) fn json(
    row: &sqlx::postgres::PgRow,
    at: usize,
) -> Result<Option<Value>, CredentialsError> {
    let text: Option<String> = row.try_get(at).map_err(failed)?;
    text.map(|text| serde_json::from_str(&text).map_err(failed))
        .transpose()
}

/// The claims of a row: its extra claims, then its roles (`roles`) or scopes (`scope`).
pub(super) fn claims_of(
    extra: Option<Value>,
    grants: Option<Value>,
    scopes: bool,
) -> Map<String, Value> {
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
