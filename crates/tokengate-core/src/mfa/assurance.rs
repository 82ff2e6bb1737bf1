//! What a session has proved, as its tokens carry it.

use serde_json::{Map, Value};

/// The claims that say what a session proved, which no credential directory or claims hook
/// may set: the gate writes them.
const CLAIMS: [&str; 5] = ["amr", "acr", "auth_time", "mfa_pending", "idp"];

/// What a session has proved: the methods (`amr`, RFC 8176: `pwd`, `otp`, `mfa`), the level
/// (`acr`: `aal1`, or `aal2` once a second factor is proved), when a factor was last proved
/// (`auth_time`), and whether a second factor is still awaited (`mfa_pending`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assurance {
    /// The methods proved, in order (`amr`).
    pub amr: Vec<String>,
    /// Whether a second factor was proved (`acr` `aal2`; else `aal1`).
    pub aal2: bool,
    /// When a factor was last proved on the session, Unix seconds (`auth_time`).
    pub auth_time: i64,
    /// Whether the subject has a factor that this session has not proved yet.
    pub pending: bool,
    /// The identity provider the session was opened with (`idp`, its configured name).
    pub idp: Option<String>,
}

impl Assurance {
    /// A sign-in with `method` (`pwd`) at `now`; `pending` when the subject has an active
    /// second factor.
    pub fn signed_in(method: &str, now: i64, pending: bool) -> Self {
        Self {
            amr: vec![method.to_owned()],
            aal2: false,
            auth_time: now,
            pending,
            idp: None,
        }
    }

    /// The assurance a session's stored claims hold; a session opened before sessions kept
    /// one has proved a password when it was opened.
    pub fn of_claims(claims: &Map<String, Value>, opened_at: i64) -> Self {
        let amr = claims.get("amr").and_then(Value::as_array).map_or_else(
            || vec!["pwd".to_owned()],
            |methods| {
                methods
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            },
        );
        Self {
            amr,
            aal2: claims.get("acr").and_then(Value::as_str) == Some("aal2"),
            auth_time: claims
                .get("auth_time")
                .and_then(Value::as_i64)
                .unwrap_or(opened_at),
            pending: claims.get("mfa_pending").and_then(Value::as_bool) == Some(true),
            idp: claims.get("idp").and_then(Value::as_str).map(str::to_owned),
        }
    }

    /// The session after a second factor (`method`: `otp`) is proved at `now`: `aal2`, with
    /// `mfa` among the methods, nothing pending.
    #[must_use]
    pub fn proved(mut self, method: &str, now: i64) -> Self {
        for proved in [method, "mfa"] {
            if !self.amr.iter().any(|known| known == proved) {
                self.amr.push(proved.to_owned());
            }
        }
        self.aal2 = true;
        self.auth_time = now;
        self.pending = false;
        self
    }

    /// Writes the assurance into `claims`, over anything of the same names.
    pub fn write(&self, claims: &mut Map<String, Value>) {
        claims.insert("amr".to_owned(), Value::from(self.amr.clone()));
        let acr = if self.aal2 { "aal2" } else { "aal1" };
        claims.insert("acr".to_owned(), Value::from(acr));
        claims.insert("auth_time".to_owned(), Value::from(self.auth_time));
        if self.pending {
            claims.insert("mfa_pending".to_owned(), Value::Bool(true));
        } else {
            claims.remove("mfa_pending");
        }
        match &self.idp {
            Some(idp) => {
                claims.insert("idp".to_owned(), Value::from(idp.as_str()));
            }
            None => {
                claims.remove("idp");
            }
        }
    }

    /// `claims` without the assurance: what the principal's own claims are.
    pub fn without(claims: &Map<String, Value>) -> Map<String, Value> {
        claims
            .iter()
            .filter(|(name, _)| !CLAIMS.contains(&name.as_str()))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_raises_and_is_written_over_forged_claims() {
        let signed_in = Assurance::signed_in("pwd", 100, true);
        let mut claims = Map::new();
        claims.insert("acr".to_owned(), Value::from("aal2"));
        claims.insert("roles".to_owned(), Value::from(vec!["user"]));
        signed_in.write(&mut claims);
        assert_eq!(claims["acr"], "aal1");
        assert_eq!(claims["mfa_pending"], true);
        assert_eq!(Assurance::of_claims(&claims, 0), signed_in);
        let proved = signed_in.proved("otp", 130);
        proved.write(&mut claims);
        assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
        assert_eq!(
            (claims["acr"].as_str(), claims["auth_time"].as_i64()),
            (Some("aal2"), Some(130))
        );
        assert!(claims.get("mfa_pending").is_none());
        assert_eq!(Assurance::without(&claims).len(), 1);
        let old = Assurance::of_claims(&Map::new(), 42);
        assert_eq!(
            (old.amr, old.aal2, old.auth_time, old.pending),
            (vec!["pwd".to_owned()], false, 42, false)
        );
    }
}
