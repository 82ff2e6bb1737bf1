//! The key layout, in one place.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `{prefix}:{<subject>}:signed-in` | hash | the subject's sessions by id, each packed (see `scripts/session.lua`); expires with the index |
//! | `{prefix}:{<subject>}:sessions` | sorted set | the subject's session ids, scored by their end (`+inf`: unlimited); expires with its longest-lived session |
//! | `{prefix}:{<subject>}:session:<id>` | hash | one session as builds before the `signed-in` hash kept it, with named fields: read once, then moved into `signed-in` |
//! | `{prefix}:{<subject>}:factors` | hash | the subject's factors by id, as JSON; no end while one is active, else its last pending one's |
//! | `{prefix}:{<subject>}:recovery` | set | the subject's recovery codes, hashed; goes with its last active factor |
//! | `{prefix}:{<subject>}:revoked` | string | the time of the subject's last confirmed revocation, written only to be replicated after it (see `replicas`); expires in a minute |
//! | `{prefix}:{<subject>}:void:<mark>` | string | a claim on a credential id taken over: its add adds nothing; expires in a day |
//! | `{prefix}:credential:<credential id>` | string | the claim on a passkey's credential id: the mark of the call that made it, the subject and the factor's id |
//! | `{prefix}:challenge:<key>` | hash | `state` and `expires_at` of one passkey ceremony's challenge; expires a minute after its end |
//! | `{prefix}:throttle:<counter>` | hash | `count` and `ends_at` of one throttling window; expires with it |
//!
//! The subject in braces is a Redis Cluster hash tag: all of a subject's keys share one slot,
//! so that every script (which declares each key it touches in `KEYS`) runs on one node. A
//! credential id's claim and a challenge are keys of their own slot, each touched alone.
//! Braces and `%` in subjects and ids are percent-escaped, so that no subject can end the tag
//! early or make two keys meet.

/// Where the keys of one store live.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    prefix: String,
}

/// `text` with `%`, `{` and `}` percent-escaped.
fn escaped(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(['%', '{', '}']) {
        return text.into();
    }
    text.replace('%', "%25")
        .replace('{', "%7B")
        .replace('}', "%7D")
        .into()
}

impl Layout {
    pub(crate) fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    /// The hash of `subject`'s sessions.
    pub(crate) fn sessions(&self, subject: &str) -> String {
        format!("{}:{{{}}}:signed-in", self.prefix, escaped(subject))
    }

    /// Session `id` of `subject` as a hash of its own, as builds before the `sessions` hash
    /// kept it: the scripts move it into that hash when they meet it.
    pub(crate) fn legacy_session(&self, subject: &str, id: &str) -> String {
        format!(
            "{}:{{{}}}:session:{}",
            self.prefix,
            escaped(subject),
            escaped(id)
        )
    }

    /// The index of `subject`'s sessions.
    pub(crate) fn index(&self, subject: &str) -> String {
        format!("{}:{{{}}}:sessions", self.prefix, escaped(subject))
    }

    /// The fence of `subject`'s revocations: written after a revocation, so that waiting for
    /// the replicas to have it waits for the revocation too.
    pub(crate) fn fence(&self, subject: &str) -> String {
        format!("{}:{{{}}}:revoked", self.prefix, escaped(subject))
    }

    /// The hash of `subject`'s second factors.
    pub(crate) fn factors(&self, subject: &str) -> String {
        format!("{}:{{{}}}:factors", self.prefix, escaped(subject))
    }

    /// The set of `subject`'s recovery codes.
    pub(crate) fn recovery(&self, subject: &str) -> String {
        format!("{}:{{{}}}:recovery", self.prefix, escaped(subject))
    }

    /// The mark that the claim `mark` on a credential id was taken over from `subject`.
    pub(crate) fn void(&self, subject: &str, mark: &str) -> String {
        format!(
            "{}:{{{}}}:void:{}",
            self.prefix,
            escaped(subject),
            escaped(mark)
        )
    }

    /// The claim on the passkey credential id `credential`.
    pub(crate) fn credential(&self, credential: &str) -> String {
        format!("{}:credential:{}", self.prefix, escaped(credential))
    }

    /// The passkey ceremony challenge `key`.
    pub(crate) fn challenge(&self, key: &str) -> String {
        format!("{}:challenge:{}", self.prefix, escaped(key))
    }

    /// The throttling counter `key` (`fail:login:...`, `fail:addr:...`).
    pub(crate) fn counter(&self, key: &str) -> String {
        format!("{}:throttle:{key}", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The slot tag Redis Cluster hashes: the text between the first `{` and the next `}`.
    fn tag(key: &str) -> &str {
        let open = key.find('{').unwrap_or(0);
        let close = key[open..].find('}').map_or(key.len(), |at| open + at);
        &key[open + 1..close]
    }

    #[test]
    fn a_subjects_keys_share_one_slot() {
        let layout = Layout::new("app");
        let session = layout.legacy_session("ada@example.org", "s1");
        assert_eq!(session, "app:{ada@example.org}:session:s1");
        for key in [
            layout.sessions("ada@example.org"),
            layout.index("ada@example.org"),
            layout.factors("ada@example.org"),
            layout.recovery("ada@example.org"),
            layout.void("ada@example.org", "m1"),
            layout.fence("ada@example.org"),
        ] {
            assert_eq!(tag(&session), tag(&key), "{key}");
        }
    }

    #[test]
    fn braces_in_a_subject_neither_end_the_tag_nor_make_keys_meet() {
        let layout = Layout::new("app");
        let tricky = layout.legacy_session("x}:session:y", "id");
        let plain = layout.legacy_session("x", "y}:session:id");
        assert_ne!(tricky, plain);
        assert_eq!(tag(&tricky), "x%7D:session:y");
        assert_eq!(tag(&tricky), tag(&layout.index("x}:session:y")));
    }

    #[test]
    fn a_claim_and_a_challenge_have_no_tag_to_end() {
        let layout = Layout::new("app");
        assert_eq!(layout.credential("a{b}"), "app:credential:a%7Bb%7D");
        assert_eq!(layout.challenge("c}"), "app:challenge:c%7D");
    }
}

#[cfg(test)]
mod scripts {
    #[test]
    fn every_key_a_script_touches_is_declared_in_keys() {
        let all = crate::SCRIPTS
            .into_iter()
            .chain(crate::factors::SCRIPTS)
            .chain(crate::passkeys::SCRIPTS)
            .chain([("confirm", crate::replicas::CONFIRM)]);
        for (name, script) in all {
            let mut calls = 0;
            for call in script.split("redis.call(").skip(1) {
                calls += 1;
                // redis.call('COMMAND', key, ...): the key is the second argument.
                let key = call
                    .split_once(',')
                    .map_or("", |(_, rest)| rest.trim_start());
                assert!(
                    key.starts_with("KEYS["),
                    "{name}.lua touches a key it does not declare: redis.call({call:.60}"
                );
            }
            assert!(calls > 0, "{name}.lua calls nothing");
        }
    }
}
