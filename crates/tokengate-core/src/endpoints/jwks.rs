//! `GET {prefix}/jwks`: the public keys, for other services to verify access tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bytes::Bytes;

use crate::clock::unix_now;
use crate::gate::TokenGate;
use crate::http::request::RequestHead;
use crate::http::response::Response;
use crate::jws::mac::MacKey;

/// The longest a verifier may keep the set, in seconds: a few minutes, so that a key added to
/// the list is seen soon.
const MAX_AGE: i64 = 300;

/// The JWKS document: public keys only. Cacheable (`public`) for at most [`MAX_AGE`] and never
/// past the moment a retired key leaves it (its `verify_until`), so that no cache keeps a key
/// past its grace; with an `ETag`, which a verifier's `If-None-Match` turns into a 304.
pub(super) fn jwks<R: RequestHead + ?Sized>(gate: &TokenGate, head: &R) -> Response {
    let now = unix_now();
    let mut response = Response::json(200, &gate.keys().jwks(now));
    let max_age = max_age(gate, now);
    let tag = entity_tag(&response.body);
    if head
        .header("if-none-match")
        .is_some_and(|asked| names(asked, &tag))
    {
        response.status = 304;
        response.body = Bytes::new();
        response.remove_header("content-type");
    }
    response.remove_header("cache-control");
    // A shared cache must not serve the set stale when this server is out of reach: it could
    // hand out a retired key past its grace.
    response.push(
        "cache-control",
        format!("public, max-age={max_age}, must-revalidate"),
    );
    response.push("etag", tag);
    response
}

/// How long the published keys (and what is said of them: the discovery documents list their
/// algorithms) may be kept at `now`: at most [`MAX_AGE`], never past a retired key's
/// `verify_until`.
pub(super) fn max_age(gate: &TokenGate, now: i64) -> i64 {
    gate.keys()
        .jwks_changes_at(now)
        .map_or(MAX_AGE, |at| at.saturating_sub(now).clamp(0, MAX_AGE))
}

/// A strong entity tag of the document: the first 16 bytes of a keyed SHA-256 of its bytes,
/// the same on every instance that publishes the same keys.
fn entity_tag(body: &[u8]) -> String {
    let digest = MacKey::new(b"tokengate jwks entity tag").sign(&[body]);
    format!("\"{}\"", URL_SAFE_NO_PAD.encode(&digest[..16]))
}

/// Whether an `If-None-Match` value names `tag`: `*`, or a list of entity tags compared
/// weakly (RFC 9110 §13.1.2: `W/"x"` matches `"x"`). A value that is not UTF-8 names nothing.
fn names(asked: &[u8], tag: &str) -> bool {
    let Ok(asked) = std::str::from_utf8(asked) else {
        return false;
    };
    asked.trim() == "*"
        || asked
            .split(',')
            .map(|listed| {
                let listed = listed.trim();
                listed.strip_prefix("W/").unwrap_or(listed)
            })
            .any(|listed| listed == tag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::MemoryDirectory;
    use crate::gate::testing;
    use crate::jws::{Algorithm, KeyConfig, KeyMaterial, Secret};
    use crate::Config;

    struct Get(Option<String>);

    impl RequestHead for Get {
        fn method(&self) -> &'static str {
            "GET"
        }
        fn path(&self) -> &'static str {
            "/api/rest/jwks"
        }
        fn header(&self, name: &str) -> Option<&[u8]> {
            (name == "if-none-match").then_some(self.0.as_deref()?.as_bytes())
        }
    }

    /// A gate signing with one Ed25519 key, another retired until `until`.
    fn rotating(until: i64) -> TokenGate {
        let key = || KeyMaterial::PrivatePem(Secret::new(testing::eddsa_pem()));
        let mut retired = KeyConfig::new(Algorithm::EdDsa, key());
        retired.kid = Some("retired".to_owned());
        retired.signing = false;
        retired.verify_until = Some(until);
        let config =
            Config::default().with_keys(vec![KeyConfig::new(Algorithm::EdDsa, key()), retired]);
        TokenGate::builder(config)
            .credentials(MemoryDirectory::new())
            .build()
            .expect("valid rotating gate")
    }

    fn max_age(response: &Response) -> i64 {
        let value = response.header("cache-control").expect("cache-control");
        let age = value
            .strip_prefix("public, max-age=")
            .and_then(|rest| rest.strip_suffix(", must-revalidate"))
            .expect(value);
        age.parse().expect(value)
    }

    #[test]
    fn the_set_is_cached_no_longer_than_a_retired_keys_grace() {
        let answer = jwks(&testing::eddsa_gate(), &Get(None));
        assert_eq!((answer.status, max_age(&answer)), (200, MAX_AGE));
        let answer = jwks(&rotating(unix_now() + 100), &Get(None));
        let listed: serde_json::Value = serde_json::from_slice(&answer.body).expect("JSON");
        assert_eq!(listed["keys"].as_array().map(Vec::len), Some(2), "{listed}");
        assert!((98..=101).contains(&max_age(&answer)), "{answer:?}");
        // A key past its grace is neither published nor shortens the cache.
        let answer = jwks(&rotating(unix_now() - 5), &Get(None));
        let listed: serde_json::Value = serde_json::from_slice(&answer.body).expect("JSON");
        assert_eq!(listed["keys"].as_array().map(Vec::len), Some(1), "{listed}");
        assert_eq!(max_age(&answer), MAX_AGE);
    }

    #[test]
    fn a_verifier_holding_the_set_gets_a_304_without_a_body() {
        let gate = testing::eddsa_gate();
        let first = jwks(&gate, &Get(None));
        let tag = first.header("etag").expect("an ETag").to_owned();
        let again = jwks(&gate, &Get(Some(format!("W/{tag}"))));
        assert_eq!(again.status, 304);
        assert!(again.body.is_empty());
        assert_eq!(again.header("etag"), Some(tag.as_str()));
        assert_eq!(again.header("cache-control"), first.header("cache-control"));
        assert_eq!(again.header("content-type"), None);
        let other = jwks(&testing::eddsa_gate(), &Get(Some(tag)));
        assert_eq!(other.status, 200, "another key set is not the one held");
    }

    #[test]
    fn if_none_match_names_the_tag_weakly_in_a_list_or_as_a_star() {
        let tag = entity_tag(b"{\"keys\":[]}");
        assert!(
            tag.starts_with('"') && tag.ends_with('"') && tag.len() == 24,
            "{tag}"
        );
        assert_eq!(
            tag,
            entity_tag(b"{\"keys\":[]}"),
            "the same keys, the same tag"
        );
        assert_ne!(tag, entity_tag(b"{\"keys\":[{}]}"));
        assert!(names(tag.as_bytes(), &tag));
        assert!(names(format!("W/{tag}").as_bytes(), &tag));
        assert!(names(format!("\"other\", {tag}").as_bytes(), &tag));
        assert!(names(b" * ", &tag));
        assert!(!names(b"\"other\"", &tag));
        assert!(
            !names(tag.trim_matches('"').as_bytes(), &tag),
            "an unquoted tag"
        );
        assert!(!names(b"", &tag));
        assert!(!names(format!("W/W/{tag}").as_bytes(), &tag));
        assert!(!names(&[0xff, 0xfe], &tag));
    }
}
