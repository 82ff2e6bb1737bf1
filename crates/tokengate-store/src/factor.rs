//! Second factors: what a store keeps of them, and the decisions taken on them.

/// One second factor of a subject: a TOTP authenticator (`totp`) or a passkey (`passkey`). The
/// store keeps it as given: the secret is sealed by the gate before it gets here, and the store
/// never reads it.
#[derive(Clone, PartialEq, Eq)]
pub struct Factor {
    /// The factor's id, random.
    pub id: String,
    /// Whose factor it is.
    pub subject: String,
    /// What it is: `totp` or `passkey`.
    pub kind: String,
    /// The secret, sealed (encrypted and authenticated under a key the store never sees).
    pub secret: String,
    /// When it was added, Unix seconds.
    pub created_at: i64,
    /// When it was confirmed (its first code accepted), Unix seconds; `None` while pending.
    pub confirmed_at: Option<i64>,
    /// A pending factor ends here unless confirmed, Unix seconds; `None` once confirmed.
    pub expires_at: Option<i64>,
    /// The last time step accepted for it (a TOTP code's step), so no step is accepted twice;
    /// for a passkey, the authenticator's signature counter; 0 before any.
    pub last_step: i64,
    /// When a code of it was last accepted, Unix seconds.
    pub last_used_at: Option<i64>,
    /// The name its owner gave it (a passkey's); `None` for none.
    pub name: Option<String>,
    /// A passkey's credential id (base64url): unique in the store, and how a passkey sign-in
    /// finds its factor. `None` for a TOTP factor.
    pub credential: Option<String>,
}

impl std::fmt::Debug for Factor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Factor")
            .field("id", &self.id)
            .field("subject", &self.subject)
            .field("kind", &self.kind)
            .field("secret", &"<sealed>")
            .field("created_at", &self.created_at)
            .field("confirmed_at", &self.confirmed_at)
            .field("expires_at", &self.expires_at)
            .field("last_step", &self.last_step)
            .field("last_used_at", &self.last_used_at)
            .field("name", &self.name)
            .field("credential", &self.credential)
            .finish()
    }
}

impl Factor {
    /// A pending factor added at `now`, ending at `expires_at` unless confirmed.
    pub fn pending(
        id: &str,
        subject: &str,
        kind: &str,
        secret: &str,
        now: i64,
        expires_at: i64,
    ) -> Self {
        Self {
            id: id.to_owned(),
            subject: subject.to_owned(),
            kind: kind.to_owned(),
            secret: secret.to_owned(),
            created_at: now,
            confirmed_at: None,
            expires_at: Some(expires_at),
            last_step: 0,
            last_used_at: None,
            name: None,
            credential: None,
        }
    }

    /// A passkey registered at `now`: active at once (its registration proved it), named
    /// `name`, found by `credential`, with the authenticator's signature counter `counter`.
    pub fn credential(
        id: &str,
        subject: &str,
        secret: &str,
        credential: &str,
        name: &str,
        counter: i64,
        now: i64,
    ) -> Self {
        Self {
            id: id.to_owned(),
            subject: subject.to_owned(),
            kind: "passkey".to_owned(),
            secret: secret.to_owned(),
            created_at: now,
            confirmed_at: Some(now),
            expires_at: None,
            last_step: counter,
            last_used_at: None,
            name: Some(name.to_owned()),
            credential: Some(credential.to_owned()),
        }
    }

    /// Whether it is confirmed: a factor the subject must prove.
    pub fn is_active(&self) -> bool {
        self.confirmed_at.is_some()
    }

    /// Whether it still counts at `now`: confirmed, or pending and not yet at its end.
    pub fn is_live(&self, now: i64) -> bool {
        self.is_active() || self.expires_at.is_some_and(|at| at > now)
    }

    /// The factor after `step` is accepted at `now`, if it may be: a live factor, and a step
    /// past the last one accepted. Confirming is accepting the first step of a pending one.
    pub fn accept(&self, step: i64, now: i64) -> Option<Self> {
        if !self.is_live(now) || step <= self.last_step {
            return None;
        }
        let mut accepted = self.clone();
        accepted.last_step = step;
        accepted.last_used_at = Some(now);
        if !accepted.is_active() {
            accepted.confirmed_at = Some(now);
            accepted.expires_at = None;
        }
        Some(accepted)
    }
}

/// What confirming a pending factor found; each store decides it in one atomic step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Confirmed {
    /// The factor is active now. `recovery`: it is the subject's first active factor, and the
    /// recovery codes given were stored (replacing any left).
    Activated {
        /// Whether the recovery codes given were stored.
        recovery: bool,
    },
    /// No such pending factor live at that time (unknown, another subject's, expired, or
    /// confirmed already), or a step not past its last one: nothing changed.
    Gone,
}

/// A confirmation of a pending factor, as the store sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Confirmation<'a> {
    /// Whose factor.
    pub subject: &'a str,
    /// The pending factor.
    pub id: &'a str,
    /// The step of the code that confirmed it: accepted, so it is never accepted again.
    pub step: i64,
    /// The time of the call.
    pub now: i64,
    /// The recovery codes, hashed, stored only if this is the subject's first active factor.
    pub recovery: &'a [String],
}

impl<'a> Confirmation<'a> {
    /// Confirms factor `id` of `subject` with a code of `step`, at `now`.
    pub fn new(subject: &'a str, id: &'a str, step: i64, now: i64, recovery: &'a [String]) -> Self {
        Self {
            subject,
            id,
            step,
            now,
            recovery,
        }
    }
}

/// What adding a passkey found; each store decides it in one atomic step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Registered {
    /// The passkey is active now. `recovery`: it is the subject's first active factor, and the
    /// recovery codes given were stored (replacing any left).
    Added {
        /// Whether the recovery codes given were stored.
        recovery: bool,
    },
    /// The subject already holds the most live factors allowed: nothing added.
    TooMany,
    /// A factor with this credential id is in the store already (any subject's): nothing added.
    Taken,
}

/// A passkey sign-in accepted by its signature, as the store records it.
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CredentialUse<'a> {
    /// Whose passkey.
    pub subject: &'a str,
    /// The factor.
    pub id: &'a str,
    /// The signature counter the authenticator gave (0: it keeps none).
    pub counter: i64,
    /// The passkey's state after the sign-in (its flags may change), sealed.
    pub secret: &'a str,
    /// The time of the call.
    pub now: i64,
}

impl std::fmt::Debug for CredentialUse<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialUse")
            .field("subject", &self.subject)
            .field("id", &self.id)
            .field("counter", &self.counter)
            .field("secret", &"<sealed>")
            .field("now", &self.now)
            .finish()
    }
}

impl<'a> CredentialUse<'a> {
    /// Records the use of passkey `id` of `subject` with `counter` at `now`, its state now
    /// `secret`.
    pub fn new(subject: &'a str, id: &'a str, counter: i64, secret: &'a str, now: i64) -> Self {
        Self {
            subject,
            id,
            counter,
            secret,
            now,
        }
    }

    /// Whether `factor` may record this use: an active passkey, and a counter past the one
    /// stored unless neither keeps one (both 0). A counter that does not move forward is what
    /// a cloned authenticator shows.
    pub fn fits(&self, factor: &Factor) -> bool {
        factor.is_active()
            && factor.credential.is_some()
            && ((self.counter == 0 && factor.last_step == 0) || self.counter > factor.last_step)
    }

    /// `factor` after this use (see [`fits`](Self::fits)).
    pub fn apply(&self, factor: &Factor) -> Factor {
        let mut used = factor.clone();
        used.last_step = self.counter.max(factor.last_step);
        self.secret.clone_into(&mut used.secret);
        used.last_used_at = Some(self.now);
        used
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_a_sealed_secret() {
        let factor = Factor::credential("p1", "ada", "SEALED-STATE", "cred", "laptop", 0, 1);
        let used = CredentialUse::new("ada", "p1", 1, "SEALED-STATE", 2);
        for shown in [format!("{factor:?}"), format!("{used:?}")] {
            assert!(!shown.contains("SEALED-STATE"), "{shown}");
            assert!(shown.contains("<sealed>"), "{shown}");
        }
    }
}
