//! What a token grants, for per-route requirements: its `roles` (an array of strings, or one
//! string) and its `scope` (RFC 8693 / RFC 9068: space-delimited, or an array). Verification
//! notes where they sit in the payload (as fast as skipping them); they are read from there on
//! the first requirement check of a verified token, never on the guard's path.

use std::borrow::Cow;

#[cfg(test)]
use serde::de::Deserializer;
use serde::de::IgnoredAny;
use serde::Deserialize;

/// The roles and scopes of a verified token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    roles: Vec<Box<str>>,
    scopes: Vec<Box<str>>,
}

impl Grants {
    /// Whether the token has role `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|held| **held == *role)
    }

    /// Whether the token has scope `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|held| **held == *scope)
    }

    /// The roles, as the token lists them.
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        self.roles.iter().map(|role| &**role)
    }

    /// The scopes, as the token lists them.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scopes.iter().map(|scope| &**scope)
    }

    /// Reads the grants of a payload; claims of another shape grant nothing.
    #[cfg(test)]
    fn of_payload(payload: &[u8]) -> Self {
        let Ok(read) = serde_json::from_slice::<Read<'_>>(payload) else {
            return Self::default();
        };
        Self::of_lists(read.roles, read.scope)
    }

    /// Reads the grants from the raw JSON values of `roles` and `scope`.
    pub(crate) fn of_raw(roles: Option<&[u8]>, scope: Option<&[u8]>) -> Self {
        Self::of_lists(roles.and_then(List::of_raw), scope.and_then(List::of_raw))
    }

    fn of_lists(roles: Option<List<'_>>, scope: Option<List<'_>>) -> Self {
        let words = |list: Option<List<'_>>, split: bool| -> Vec<Box<str>> {
            match list {
                Some(List::One(text)) if split => {
                    text.split_ascii_whitespace().map(Into::into).collect()
                }
                Some(List::One(text)) => vec![text.into()],
                Some(List::Many(items)) => items.into_iter().map(Into::into).collect(),
                Some(List::Other(_)) | None => Vec::new(),
            }
        };
        Self {
            roles: words(roles, false),
            scopes: words(scope, true),
        }
    }
}

#[cfg(test)]
#[derive(Deserialize)]
struct Read<'a> {
    #[serde(borrow, default, deserialize_with = "list")]
    roles: Option<List<'a>>,
    #[serde(borrow, default, deserialize_with = "list")]
    scope: Option<List<'a>>,
}

/// A string, a list of strings, or anything else (which grants nothing).
#[derive(Deserialize)]
#[serde(untagged)]
enum List<'a> {
    #[serde(borrow)]
    One(Cow<'a, str>),
    Many(Vec<String>),
    Other(IgnoredAny),
}

impl<'a> List<'a> {
    /// A string or a list of strings, read by its first byte (no trial and error).
    fn of_raw(raw: &'a [u8]) -> Option<Self> {
        match raw.first()? {
            b'"' => serde_json::from_slice(raw).ok().map(List::One),
            b'[' => serde_json::from_slice(raw).ok().map(List::Many),
            _ => None,
        }
    }
}

#[cfg(test)]
fn list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<List<'de>>, D::Error> {
    List::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_space_delimited_scopes_are_read() {
        let grants = Grants::of_payload(br#"{"roles":["user","admin"],"scope":"read write"}"#);
        assert!(grants.has_role("admin") && grants.has_role("user"));
        assert!(grants.has_scope("read") && grants.has_scope("write"));
        assert!(!grants.has_scope("read write") && !grants.has_role("root"));
    }

    #[test]
    fn claims_of_other_shapes_grant_nothing_and_never_fail() {
        assert_eq!(
            Grants::of_payload(br#"{"roles":7,"scope":{"a":1}}"#),
            Grants::default()
        );
        assert_eq!(Grants::of_payload(b"not json"), Grants::default());
        let one = Grants::of_payload(br#"{"roles":"admin","scope":["read"]}"#);
        assert!(one.has_role("admin") && one.has_scope("read"));
        // A role is compared whole: "admin user" is one role, not two.
        assert!(!Grants::of_payload(br#"{"roles":"admin user"}"#).has_role("admin"));
    }
}
