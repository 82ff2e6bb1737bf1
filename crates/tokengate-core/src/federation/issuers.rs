//! The issuers whose access tokens are accepted: a token is checked with the keys and the
//! policy of the issuer its `iss` names, and with nothing else; a token naming no such issuer
//! is not theirs to answer.

use std::collections::HashMap;
use std::sync::Arc;

use super::keys::{CacheBounds, FetchKeys, KeyCache, Lookup};
use super::verify::{named, verify, Foreign, ForeignError, ForeignKey, IssuerPolicy};

/// Why a token of a known issuer was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ForeignRefusal {
    /// The token does not hold: 401.
    Invalid(ForeignError),
    /// The issuer's keys could not be had in time: 503, as for a store that is down.
    Unavailable,
}

struct Issuer {
    policy: IssuerPolicy,
    keys: Arc<KeyCache<ForeignKey>>,
}

/// The issuers, by their `iss`.
pub(crate) struct Issuers {
    by_issuer: HashMap<String, Issuer>,
}

impl std::fmt::Debug for Issuers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.by_issuer.keys()).finish()
    }
}

impl Issuers {
    /// The issuers of `policies`, each with the fetcher of its keys.
    pub(crate) fn new(
        policies: Vec<(IssuerPolicy, Arc<dyn FetchKeys<ForeignKey>>)>,
        bounds: CacheBounds,
    ) -> Self {
        let by_issuer = policies
            .into_iter()
            .map(|(policy, fetcher)| {
                let keys = KeyCache::new(fetcher, bounds);
                (policy.issuer.clone(), Issuer { policy, keys })
            })
            .collect();
        Self { by_issuer }
    }

    /// Whether `token` names one of these issuers: unchecked, it only says whose keys are to
    /// check it.
    pub(crate) fn names(&self, token: &str) -> bool {
        named(token).is_some_and(|named| self.by_issuer.contains_key(&named.issuer))
    }

    /// Starts fetching every issuer's keys, so that the first tokens find them; a no-op
    /// outside a Tokio runtime (the first token then starts the fetch).
    pub(crate) fn prefetch(&self) {
        if tokio::runtime::Handle::try_current().is_ok() {
            for issuer in self.by_issuer.values() {
                issuer.keys.prefetch();
            }
        }
    }

    /// `None` when `token` names none of these issuers; else whether it holds for the one it
    /// names.
    pub(crate) async fn verify(&self, token: &str) -> Option<Result<Foreign, ForeignRefusal>> {
        let named = named(token)?;
        let issuer = self.by_issuer.get(&named.issuer)?;
        let Some(kid) = named.kid else {
            return Some(Err(ForeignRefusal::Invalid(ForeignError::NoKeyId)));
        };
        Some(match issuer.keys.key(&kid).await {
            Lookup::Found(key) => {
                verify(token, &issuer.policy, &key).map_err(ForeignRefusal::Invalid)
            }
            Lookup::Unknown => Err(ForeignRefusal::Invalid(ForeignError::UnknownKey)),
            Lookup::Unavailable => Err(ForeignRefusal::Unavailable),
        })
    }
}

#[cfg(test)]
#[cfg(feature = "aws_lc_rs")]
mod tests {
    use super::*;
    use crate::federation::keys::{FetchError, FetchFuture, Fetched};
    use crate::federation::verify::key_of_jwk;
    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use serde_json::json;
    use std::time::Duration;

    /// An issuer of the test: its signing key and its JWK.
    struct Idp {
        name: &'static str,
        encoding: EncodingKey,
        jwk: Jwk,
    }

    impl Idp {
        fn new(name: &'static str) -> Self {
            let (encoding, jwk) = crate::federation::testing::es256("k1");
            Self {
                name,
                encoding,
                jwk,
            }
        }

        fn token(&self, iss: &str) -> String {
            let mut header = Header::new(Algorithm::ES256);
            header.kid = Some("k1".into());
            let now = jsonwebtoken::get_current_timestamp();
            let claims = json!({"iss": iss, "aud": "api", "sub": "svc", "exp": now + 60});
            jsonwebtoken::encode(&header, &claims, &self.encoding).unwrap()
        }

        fn policy(&self) -> IssuerPolicy {
            IssuerPolicy {
                issuer: self.name.to_owned(),
                audience: vec!["api".into()],
                algorithms: vec![Algorithm::ES256],
                roles_claim: None,
                scopes_claim: "scope".into(),
                leeway: 0,
            }
        }
    }

    struct Published(Jwk);

    impl FetchKeys<ForeignKey> for Published {
        fn fetch(&self) -> FetchFuture<ForeignKey> {
            let keys = key_of_jwk(&self.0).into_iter().collect();
            Box::pin(async move {
                Ok::<_, FetchError>(Fetched {
                    keys,
                    max_age: None,
                })
            })
        }
    }

    const BOUNDS: CacheBounds = CacheBounds {
        min_interval: Duration::from_secs(30),
        max_age: Duration::from_secs(600),
        wait: Duration::from_secs(1),
    };

    fn issuers(idps: &[&Idp]) -> Issuers {
        Issuers::new(
            idps.iter()
                .map(|idp| {
                    let fetcher: Arc<dyn FetchKeys<ForeignKey>> =
                        Arc::new(Published(idp.jwk.clone()));
                    (idp.policy(), fetcher)
                })
                .collect(),
            BOUNDS,
        )
    }

    #[tokio::test]
    async fn each_issuer_verifies_its_own_tokens() {
        let (a, b) = (Idp::new("https://a.example"), Idp::new("https://b.example"));
        let issuers = issuers(&[&a, &b]);
        let foreign = issuers.verify(&a.token(a.name)).await.unwrap().unwrap();
        assert_eq!(foreign.claims["sub"], "svc");
        assert!(issuers.verify(&b.token(b.name)).await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn a_token_naming_another_issuer_is_checked_with_that_issuers_keys() {
        // Mix-up: signed by A's key, naming B (same kid): B's key refuses it.
        let (a, b) = (Idp::new("https://a.example"), Idp::new("https://b.example"));
        let issuers = issuers(&[&a, &b]);
        let refused = issuers.verify(&a.token(b.name)).await.unwrap();
        assert!(
            matches!(refused, Err(ForeignRefusal::Invalid(_))),
            "{refused:?}"
        );
    }

    #[tokio::test]
    async fn a_token_naming_no_configured_issuer_is_not_theirs() {
        let a = Idp::new("https://a.example");
        let issuers = issuers(&[&a]);
        assert!(issuers.verify(&a.token("tokengate")).await.is_none());
        assert!(issuers.verify("not.a.token").await.is_none());
        assert!(issuers.verify("").await.is_none());
    }

    #[tokio::test]
    async fn an_unknown_key_id_is_invalid() {
        let a = Idp::new("https://a.example");
        let issuers = issuers(&[&a]);
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("elsewhere".into());
        let now = jsonwebtoken::get_current_timestamp();
        let claims = json!({"iss": a.name, "aud": "api", "sub": "svc", "exp": now + 60});
        let token = jsonwebtoken::encode(&header, &claims, &a.encoding).unwrap();
        assert_eq!(
            issuers.verify(&token).await.unwrap().unwrap_err(),
            ForeignRefusal::Invalid(ForeignError::UnknownKey)
        );
    }
}
