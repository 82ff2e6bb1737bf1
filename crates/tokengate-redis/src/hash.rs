//! A session as a Redis hash: its fields, written and read back.

use std::collections::HashMap;

use tokengate_store::{Session, StoreError};

use super::corrupt;

/// The hash's fields, in the order the `create` script receives them.
pub(crate) const FIELDS: [&str; 12] = [
    "id",
    "subject",
    "application",
    "claims",
    "created_at",
    "refreshed_at",
    "expires_at",
    "token",
    "previous",
    "rotated_at",
    "user_agent",
    "address",
];

/// The values of `session`'s hash, in [`FIELDS`] order (`""` for none).
pub(crate) fn hash_values(session: &Session) -> [String; 12] {
    [
        session.id.clone(),
        session.subject.clone(),
        session.application.clone().unwrap_or_default(),
        session.claims.clone(),
        session.created_at.to_string(),
        session.refreshed_at.to_string(),
        session
            .expires_at
            .map(|at| at.to_string())
            .unwrap_or_default(),
        session.token.clone(),
        session.previous.clone().unwrap_or_default(),
        session.rotated_at.to_string(),
        session.user_agent.clone().unwrap_or_default(),
        session.address.clone().unwrap_or_default(),
    ]
}

/// A session from the flat field/value list of `HGETALL`.
pub(crate) fn parse(flat: &[String]) -> Result<Session, StoreError> {
    let fields: HashMap<&str, &str> = flat
        .chunks_exact(2)
        .map(|pair| (pair[0].as_str(), pair[1].as_str()))
        .collect();
    let text = |name: &str| {
        fields
            .get(name)
            .map(|value| (*value).to_owned())
            .ok_or_else(|| corrupt(format!("session without `{name}`")))
    };
    let optional = |name: &str| {
        fields
            .get(name)
            .filter(|v| !v.is_empty())
            .map(|v| (*v).to_owned())
    };
    let number = |name: &str| -> Result<i64, StoreError> {
        text(name)?
            .parse()
            .map_err(|_| corrupt(format!("`{name}` is not a number")))
    };
    let mut session = Session::new(
        &text("id")?,
        &text("subject")?,
        optional("application").as_deref(),
        &text("claims")?,
        number("created_at")?,
        optional("expires_at")
            .map(|at| {
                at.parse()
                    .map_err(|_| corrupt("`expires_at` is not a number"))
            })
            .transpose()?,
    );
    session.refreshed_at = number("refreshed_at")?;
    session.token = text("token")?;
    session.previous = optional("previous");
    session.rotated_at = number("rotated_at")?;
    // Absent from sessions written before they were recorded.
    session.user_agent = optional("user_agent");
    session.address = optional("address");
    Ok(session)
}
