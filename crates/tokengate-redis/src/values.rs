//! A session as the scripts take and give it: its values in one fixed order, all text. How
//! they are kept in Redis (packed in the subject's sessions hash) is `scripts/session.lua`'s.

use tokengate_store::{Session, StoreError};

use super::corrupt;

/// The values of `session` the `create` script packs, in the order of `session.lua`
/// (`""` for none): when it was opened, last refreshed and last rotated, its token, the one
/// rotation replaced, its claims, user agent, address and application. Its id and subject
/// are in the keys, and its end is its score in the subject's index.
pub(crate) fn packed_values(session: &Session) -> [String; 9] {
    [
        session.created_at.to_string(),
        session.refreshed_at.to_string(),
        session.rotated_at.to_string(),
        session.token.clone(),
        session.previous.clone().unwrap_or_default(),
        session.claims.clone(),
        session.user_agent.clone().unwrap_or_default(),
        session.address.clone().unwrap_or_default(),
        session.application.clone().unwrap_or_default(),
    ]
}

/// How many values a script answers for a session (`values` in `session.lua`).
pub(crate) const ANSWERED: usize = 10;

/// Session `id` of `subject` from the values a script answers: when it was opened, last
/// refreshed, when it ends (`""`: unlimited), when it was last rotated, its token, the one
/// rotation replaced, its claims, user agent, address and application (`""` for none).
pub(crate) fn parse(subject: &str, id: &str, values: &[String]) -> Result<Session, StoreError> {
    let [created_at, refreshed_at, expires_at, rotated_at, token, previous, claims, user_agent, address, application] =
        values
    else {
        return Err(corrupt(format!("a session of {} values", values.len())));
    };
    let number = |name: &str, text: &str| -> Result<i64, StoreError> {
        text.parse()
            .map_err(|_| corrupt(format!("`{name}` is not a number")))
    };
    let optional = |text: &String| (!text.is_empty()).then(|| text.clone());
    let mut session = Session::new(
        id,
        subject,
        optional(application).as_deref(),
        claims,
        number("created_at", created_at)?,
        optional(expires_at)
            .map(|at| number("expires_at", &at))
            .transpose()?,
    );
    session.refreshed_at = number("refreshed_at", refreshed_at)?;
    session.token.clone_from(token);
    session.previous = optional(previous);
    session.rotated_at = number("rotated_at", rotated_at)?;
    session.user_agent = optional(user_agent);
    session.address = optional(address);
    Ok(session)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_reads_back_from_the_values_a_script_answers() {
        let mut session = Session::new("s1", "ada", Some("app"), "{}", 10, Some(99))
            .with_client(Some("Mozilla/5.0"), Some("192.0.2.7"));
        session.token = "t2".into();
        session.previous = Some("t1".into());
        session.refreshed_at = 20;
        session.rotated_at = 15;
        let [created, refreshed, rotated, token, previous, claims, agent, address, app] =
            packed_values(&session);
        let answered = [
            created,
            refreshed,
            "99".into(),
            rotated,
            token,
            previous,
            claims,
            agent,
            address,
            app,
        ];
        assert_eq!(parse("ada", "s1", &answered).unwrap(), session);
    }

    #[test]
    fn a_short_or_broken_answer_is_corrupt_not_a_session() {
        let short = vec![String::new(); ANSWERED - 1];
        assert!(parse("ada", "s1", &short).is_err());
        let mut broken = vec![String::from("1"); ANSWERED];
        broken[2] = "never".into();
        let error = parse("ada", "s1", &broken).unwrap_err().to_string();
        assert!(error.contains("expires_at"), "{error}");
    }
}
