//! Second factors and recovery codes, beside the sessions, and the reissue of a session once a
//! factor is proved. Each operation is one script over keys in the subject's slot (its
//! factors, its recovery codes, or the session), so that it is one atomic step on one node of
//! a cluster too; the two reads are one command each. Passkeys, whose credential ids span
//! subjects, are the `passkeys` module's.

use std::collections::HashMap;

use redis::Script;
use tokengate_store::{
    Confirmation, Confirmed, CredentialUse, Factor, FactorStore, Registered, Reissue, Session,
    StoreError, StoreFuture,
};

use super::{corrupt, failed, passkeys, RedisStore};
use crate::values::parse;

/// The fields of `factor` as the scripts keep it (a JSON object of strings in the subject's
/// factors hash), with their values: `""` for a time of none; a name or credential id of none
/// is left out. A passkey's JSON holds one more field, `claim`: the mark of the claim on its
/// credential id (see the `passkeys` module).
pub(crate) fn fields(factor: &Factor) -> Vec<(&'static str, String)> {
    let optional = |at: Option<i64>| at.map(|at| at.to_string()).unwrap_or_default();
    let mut fields = vec![
        ("id", factor.id.clone()),
        ("subject", factor.subject.clone()),
        ("kind", factor.kind.clone()),
        ("secret", factor.secret.clone()),
        ("created_at", factor.created_at.to_string()),
        ("confirmed_at", optional(factor.confirmed_at)),
        ("expires_at", optional(factor.expires_at)),
        ("last_step", factor.last_step.to_string()),
        ("last_used_at", optional(factor.last_used_at)),
    ];
    if let Some(name) = &factor.name {
        fields.push(("name", name.clone()));
    }
    if let Some(credential) = &factor.credential {
        fields.push(("credential", credential.clone()));
    }
    fields
}

/// A factor from a flat field/value list, as `list_factors` answers. Errors name the field,
/// never its value (one of them is the sealed secret).
pub(crate) fn parse_factor(flat: &[String]) -> Result<Factor, StoreError> {
    let fields: HashMap<&str, &str> = flat
        .chunks_exact(2)
        .map(|pair| (pair[0].as_str(), pair[1].as_str()))
        .collect();
    let text = |name: &str| {
        fields
            .get(name)
            .map(|value| (*value).to_owned())
            .ok_or_else(|| corrupt(format!("factor without `{name}`")))
    };
    let optional = |name: &str| -> Result<Option<i64>, StoreError> {
        match fields.get(name) {
            None | Some(&"") => Ok(None),
            Some(at) => at
                .parse()
                .map(Some)
                .map_err(|_| corrupt(format!("factor `{name}` is not a number"))),
        }
    };
    let number = |name: &str| -> Result<i64, StoreError> {
        optional(name)?.ok_or_else(|| corrupt(format!("factor without `{name}`")))
    };
    Ok(Factor {
        id: text("id")?,
        subject: text("subject")?,
        kind: text("kind")?,
        secret: text("secret")?,
        created_at: number("created_at")?,
        confirmed_at: optional("confirmed_at")?,
        expires_at: optional("expires_at")?,
        last_step: number("last_step")?,
        last_used_at: optional("last_used_at")?,
        name: fields.get("name").map(|name| (*name).to_owned()),
        credential: fields.get("credential").map(|id| (*id).to_owned()),
    })
}

/// The scripts of this module. All but `accept_step` and `reissue` start with the helpers of
/// `factor.lua`; `reissue` starts with those of `session.lua`.
pub(crate) struct Scripts {
    reissue: Script,
    add: Script,
    list: Script,
    confirm: Script,
    accept: Script,
    remove: Script,
    replace_recovery: Script,
    spend_recovery: Script,
}

impl Scripts {
    /// Every script, sent to Redis by its digest and loaded on the first call that misses.
    pub(crate) fn new() -> Self {
        Self {
            reissue: Script::new(REISSUE),
            add: Script::new(ADD_FACTOR),
            list: Script::new(LIST_FACTORS),
            confirm: Script::new(CONFIRM_FACTOR),
            accept: Script::new(ACCEPT_STEP),
            remove: Script::new(REMOVE_FACTOR),
            replace_recovery: Script::new(REPLACE_RECOVERY),
            spend_recovery: Script::new(SPEND_RECOVERY),
        }
    }
}

/// [`SessionStore::reissue`](tokengate_store::SessionStore::reissue) for `store`: one script
/// over the subject's sessions, which checks and replaces in the same step.
pub(crate) async fn reissue(
    store: &RedisStore,
    request: Reissue<'_>,
) -> Result<Option<Session>, StoreError> {
    let mut connection = store.connection().await?;
    let values: Vec<String> = store
        .scripts
        .factors
        .reissue
        .key(store.keys.sessions(request.subject))
        .key(store.keys.index(request.subject))
        .key(store.keys.legacy_session(request.subject, request.id))
        .arg(request.id)
        .arg(request.token)
        .arg(request.new_token)
        .arg(request.claims)
        .arg(request.now)
        .invoke_async(&mut connection)
        .await
        .map_err(failed)?;
    if values.is_empty() {
        return Ok(None);
    }
    parse(request.subject, request.id, &values).map(Some)
}

impl FactorStore for RedisStore {
    fn add_factor(&self, factor: Factor, max: u32) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let mut invocation = self.scripts.factors.add.prepare_invoke();
            invocation.key(self.keys.factors(&factor.subject)).arg(max);
            for (field, value) in fields(&factor) {
                invocation.arg(field).arg(value);
            }
            let added: i64 = invocation
                .invoke_async(&mut connection)
                .await
                .map_err(failed)?;
            Ok(added == 1)
        })
    }

    fn factors<'a>(&'a self, subject: &'a str, now: i64) -> StoreFuture<'a, Vec<Factor>> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let found: Vec<Vec<String>> = self
                .scripts
                .factors
                .list
                .key(self.keys.factors(subject))
                .arg(now)
                .invoke_async(&mut connection)
                .await
                .map_err(failed)?;
            let mut factors = found
                .iter()
                .map(|flat| parse_factor(flat))
                .collect::<Result<Vec<_>, _>>()?;
            factors.sort_by(|a, b| {
                a.created_at
                    .cmp(&b.created_at)
                    .then_with(|| a.id.cmp(&b.id))
            });
            Ok(factors)
        })
    }

    fn confirm_factor<'a>(&'a self, request: Confirmation<'a>) -> StoreFuture<'a, Confirmed> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let mut invocation = self.scripts.factors.confirm.prepare_invoke();
            invocation
                .key(self.keys.factors(request.subject))
                .key(self.keys.recovery(request.subject))
                .arg(request.id)
                .arg(request.step)
                .arg(request.now);
            for code in request.recovery {
                invocation.arg(code);
            }
            let answer: i64 = invocation
                .invoke_async(&mut connection)
                .await
                .map_err(failed)?;
            match answer {
                0 => Ok(Confirmed::Gone),
                1 => Ok(Confirmed::Activated { recovery: false }),
                2 => Ok(Confirmed::Activated { recovery: true }),
                _ => Err(corrupt("unexpected confirmation answer")),
            }
        })
    }

    fn accept_step<'a>(
        &'a self,
        subject: &'a str,
        id: &'a str,
        step: i64,
        now: i64,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let accepted: i64 = self
                .scripts
                .factors
                .accept
                .key(self.keys.factors(subject))
                .arg(id)
                .arg(step)
                .arg(now)
                .invoke_async(&mut connection)
                .await
                .map_err(failed)?;
            Ok(accepted == 1)
        })
    }

    fn remove_factor<'a>(
        &'a self,
        subject: &'a str,
        id: &'a str,
        now: i64,
    ) -> StoreFuture<'a, Option<usize>> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let (left, credential, mark): (i64, String, String) = self
                .scripts
                .factors
                .remove
                .key(self.keys.factors(subject))
                .key(self.keys.recovery(subject))
                .arg(id)
                .arg(now)
                .invoke_async(&mut connection)
                .await
                .map_err(failed)?;
            if left < 0 {
                return Ok(None);
            }
            // A passkey's credential id is free again once its claim goes, the factor first.
            if !credential.is_empty() {
                self.forget_credential(&mut connection, subject, id, &credential, &mark)
                    .await;
            }
            usize::try_from(left)
                .map(Some)
                .map_err(|_| corrupt("unexpected removal answer"))
        })
    }

    fn replace_recovery<'a>(
        &'a self,
        subject: &'a str,
        codes: &'a [String],
        _now: i64,
    ) -> StoreFuture<'a, bool> {
        // An active factor has no end: the time decides nothing here.
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let mut invocation = self.scripts.factors.replace_recovery.prepare_invoke();
            invocation
                .key(self.keys.factors(subject))
                .key(self.keys.recovery(subject));
            for code in codes {
                invocation.arg(code);
            }
            let replaced: i64 = invocation
                .invoke_async(&mut connection)
                .await
                .map_err(failed)?;
            Ok(replaced == 1)
        })
    }

    fn spend_recovery<'a>(
        &'a self,
        subject: &'a str,
        code: &'a str,
        _now: i64,
    ) -> StoreFuture<'a, bool> {
        // An active factor has no end: the time decides nothing here.
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let spent: i64 = self
                .scripts
                .factors
                .spend_recovery
                .key(self.keys.factors(subject))
                .key(self.keys.recovery(subject))
                .arg(code)
                .invoke_async(&mut connection)
                .await
                .map_err(failed)?;
            Ok(spent == 1)
        })
    }

    fn recovery_left<'a>(&'a self, subject: &'a str) -> StoreFuture<'a, usize> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            redis::cmd("SCARD")
                .arg(self.keys.recovery(subject))
                .query_async(&mut connection)
                .await
                .map_err(failed)
        })
    }

    fn add_credential<'a>(
        &'a self,
        factor: Factor,
        max: u32,
        recovery: &'a [String],
    ) -> StoreFuture<'a, Registered> {
        Box::pin(passkeys::add_credential(self, factor, max, recovery))
    }

    fn credential<'a>(&'a self, credential: &'a str) -> StoreFuture<'a, Option<Factor>> {
        Box::pin(passkeys::credential(self, credential))
    }

    fn use_credential<'a>(&'a self, request: CredentialUse<'a>) -> StoreFuture<'a, bool> {
        Box::pin(passkeys::use_credential(self, request))
    }

    fn rename_factor<'a>(
        &'a self,
        subject: &'a str,
        id: &'a str,
        name: &'a str,
        now: i64,
    ) -> StoreFuture<'a, bool> {
        Box::pin(passkeys::rename_factor(self, subject, id, name, now))
    }

    fn put_challenge<'a>(
        &'a self,
        key: &'a str,
        state: &'a str,
        expires_at: i64,
    ) -> StoreFuture<'a, ()> {
        Box::pin(passkeys::put_challenge(self, key, state, expires_at))
    }

    fn take_challenge<'a>(&'a self, key: &'a str, now: i64) -> StoreFuture<'a, Option<String>> {
        Box::pin(passkeys::take_challenge(self, key, now))
    }
}

// The scripts, one file each with its KEYS and ARGV written at its top; most start with the
// helpers of `factor.lua`.
macro_rules! with_helpers {
    ($file:literal) => {
        concat!(
            include_str!("scripts/factor.lua"),
            include_str!(concat!("scripts/", $file))
        )
    };
}
pub(crate) use with_helpers;

const REISSUE: &str = with_session_helpers!("reissue.lua");
const ACCEPT_STEP: &str = include_str!("scripts/accept_step.lua");
const ADD_FACTOR: &str = with_helpers!("add_factor.lua");
const LIST_FACTORS: &str = with_helpers!("list_factors.lua");
const CONFIRM_FACTOR: &str = with_helpers!("confirm_factor.lua");
const REMOVE_FACTOR: &str = with_helpers!("remove_factor.lua");
const REPLACE_RECOVERY: &str = with_helpers!("replace_recovery.lua");
const SPEND_RECOVERY: &str = with_helpers!("spend_recovery.lua");

/// Every script of this module, by name, as sent to Redis.
#[cfg(test)]
pub(crate) const SCRIPTS: [(&str, &str); 8] = [
    ("reissue", REISSUE),
    ("accept_step", ACCEPT_STEP),
    ("add_factor", ADD_FACTOR),
    ("list_factors", LIST_FACTORS),
    ("confirm_factor", CONFIRM_FACTOR),
    ("remove_factor", REMOVE_FACTOR),
    ("replace_recovery", REPLACE_RECOVERY),
    ("spend_recovery", SPEND_RECOVERY),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// `factor` as `list_factors` answers it.
    fn flat(factor: &Factor) -> Vec<String> {
        fields(factor)
            .into_iter()
            .flat_map(|(field, value)| [field.to_owned(), value])
            .collect()
    }

    #[test]
    fn a_factor_reads_back_as_written() {
        let pending = Factor::pending("f1", "ada", "totp", "sealed", 100, 700);
        assert_eq!(parse_factor(&flat(&pending)).unwrap(), pending);
        let active = pending.accept(5, 150).unwrap();
        assert_eq!(parse_factor(&flat(&active)).unwrap(), active);
        let passkey = Factor::credential("p1", "ada", "sealed", "cred-1", "", 7, 100);
        assert_eq!(parse_factor(&flat(&passkey)).unwrap(), passkey);
    }

    #[test]
    fn a_broken_factor_is_corrupt_without_its_secret() {
        let broken = ["id", "f1", "secret", "sealed-value"].map(str::to_owned);
        let error = parse_factor(&broken).unwrap_err().to_string();
        assert!(error.contains("subject"), "{error}");
        assert!(!error.contains("sealed-value"), "{error}");
    }
}
