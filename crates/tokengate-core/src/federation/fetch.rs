//! An issuer's keys over HTTP: its discovery document (`{issuer}/.well-known/openid-configuration`,
//! whose `issuer` must be the configured one, exactly) names its JWKS, which is fetched with its
//! `Cache-Control`. Every request has a timeout and a bounded body; redirects are not followed
//! (a JWKS that moves is named by the next discovery).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::StreamExt as _;
use jsonwebtoken::jwk::JwkSet;
use serde::Deserialize;

use super::keys::{max_age, FetchError, FetchFuture, FetchKeys, Fetched};
use super::verify::{key_of_jwk, ForeignKey};

/// The largest discovery document or JWKS read (real ones are a few kilobytes).
const MAX_BODY: usize = 256 * 1024;

/// Fetches one issuer's keys.
#[derive(Debug)]
pub(crate) struct HttpKeys {
    client: reqwest::Client,
    issuer: String,
    /// The JWKS address, once discovery has given it.
    jwks_uri: Arc<Mutex<Option<String>>>,
}

impl HttpKeys {
    pub(crate) fn new(issuer: &str, timeout: Duration) -> Result<Arc<Self>, String> {
        let client = super::http::client(timeout)?;
        Ok(Arc::new(Self {
            client,
            issuer: issuer.to_owned(),
            jwks_uri: Arc::new(Mutex::new(None)),
        }))
    }
}

impl FetchKeys<ForeignKey> for HttpKeys {
    fn fetch(&self) -> FetchFuture<ForeignKey> {
        let client = self.client.clone();
        let issuer = self.issuer.clone();
        let slot = Arc::clone(&self.jwks_uri);
        Box::pin(async move {
            let known = slot.lock().unwrap_or_else(PoisonError::into_inner).clone();
            let jwks_uri = if let Some(uri) = known {
                uri
            } else {
                let discovery = format!(
                    "{}/.well-known/openid-configuration",
                    issuer.trim_end_matches('/')
                );
                let (body, _) = get(&client, &discovery).await?;
                let uri = jwks_uri_of(&body, &issuer)?;
                *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(uri.clone());
                uri
            };
            let fetched = get(&client, &jwks_uri).await;
            if fetched.is_err() {
                // The JWKS may have moved: the next fetch asks discovery again.
                *slot.lock().unwrap_or_else(PoisonError::into_inner) = None;
            }
            let (body, cache_control) = fetched?;
            let set: JwkSet = serde_json::from_slice(&body)
                .map_err(|error| FetchError(format!("the JWKS is not one: {error}")))?;
            let keys = set.keys.iter().filter_map(key_of_jwk).collect();
            Ok(Fetched {
                keys,
                max_age: cache_control.as_deref().and_then(max_age),
            })
        })
    }
}

/// The `jwks_uri` of a discovery document, which must be for `issuer`.
fn jwks_uri_of(body: &[u8], issuer: &str) -> Result<String, FetchError> {
    #[derive(Deserialize)]
    struct Discovery {
        issuer: String,
        jwks_uri: String,
    }
    let found: Discovery = serde_json::from_slice(body)
        .map_err(|error| FetchError(format!("the discovery document is not one: {error}")))?;
    if found.issuer != issuer {
        return Err(FetchError(format!(
            "the discovery document is for issuer {:?}, not {issuer:?}",
            found.issuer
        )));
    }
    plain_address(issuer, &found.jwks_uri)
        .map_err(|why| FetchError(format!("the jwks_uri {why}")))?;
    Ok(found.jwks_uri)
}

/// Whether an address a provider's discovery names may be used: a plain address (a host, no
/// user, query or fragment), https, or http on this machine when the issuer itself is a local
/// http one (as start-up allows). `Err` completes "the address ...".
pub(crate) fn plain_address(issuer: &str, address: &str) -> Result<(), &'static str> {
    let authority = address
        .split_once("://")
        .map_or("", |(_, rest)| rest.split('/').next().unwrap_or(""));
    if authority.is_empty() || authority.contains('@') || address.contains(['?', '#']) {
        return Err("must be a plain address: a host, no user, query or fragment");
    }
    let secure = address.starts_with("https://");
    // An https issuer's addresses are never open to a man in the middle.
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(host, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                host
            } else {
                authority
            }
        });
    let local = issuer.starts_with("http://")
        && address.starts_with("http://")
        && matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    if secure || local {
        Ok(())
    } else {
        Err("is not an https address (http only for a local http issuer)")
    }
}

/// The body (at most [`MAX_BODY`] bytes) and `Cache-Control` of a successful `GET`.
async fn get(client: &reqwest::Client, url: &str) -> Result<(Vec<u8>, Option<String>), FetchError> {
    let response = client
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|error| FetchError(format!("GET {url}: {}", error.without_url())))?;
    if !response.status().is_success() {
        return Err(FetchError(format!("GET {url}: {}", response.status())));
    }
    let cache_control = response
        .headers()
        .get(reqwest::header::CACHE_CONTROL)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|error| FetchError(format!("GET {url}: {}", error.without_url())))?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(FetchError(format!(
                "GET {url}: the body is over {MAX_BODY} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, cache_control))
}

#[cfg(test)]
#[cfg(feature = "aws_lc_rs")]
mod tests {
    use super::*;
    use crate::federation::keys::{CacheBounds, KeyCache, Lookup};
    use crate::federation::verify::{verify, IssuerPolicy};
    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use serde_json::json;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    /// A one-request-per-connection HTTP server on 127.0.0.1 that answers `answer(path)`:
    /// status, extra headers, body. Counts the requests per path.
    struct Served {
        base: String,
        jwks_hits: Arc<AtomicUsize>,
    }

    type Answer = Arc<dyn Fn(&str, &str) -> (u16, String, Vec<u8>) + Send + Sync>;

    async fn serve(answer: Answer) -> Served {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let jwks_hits = Arc::new(AtomicUsize::new(0));
        let (hits, at) = (Arc::clone(&jwks_hits), base.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let (answer, hits, at) = (Arc::clone(&answer), Arc::clone(&hits), at.clone());
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buffer = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        let Ok(n) = socket.read(&mut buffer).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        request.extend_from_slice(&buffer[..n]);
                    }
                    let text = String::from_utf8_lossy(&request);
                    let path = text.split(' ').nth(1).unwrap_or("/").to_owned();
                    if path == "/jwks" {
                        hits.fetch_add(1, Ordering::SeqCst);
                    }
                    let (status, headers, body) = answer(&at, &path);
                    let head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n",
                        body.len()
                    );
                    let _ = socket.write_all(head.as_bytes()).await;
                    let _ = socket.write_all(&body).await;
                });
            }
        });
        Served { base, jwks_hits }
    }

    fn es256() -> (EncodingKey, Jwk) {
        crate::federation::testing::es256("k1")
    }

    /// An issuer whose discovery names `claimed` as its issuer, and whose JWKS holds `jwk`.
    fn issuer(jwk: &Jwk, claimed: Option<&'static str>) -> Answer {
        let set = serde_json::to_vec(&json!({ "keys": [jwk] })).unwrap();
        Arc::new(move |base: &str, path: &str| match path {
            "/.well-known/openid-configuration" => {
                let issuer = claimed.map_or_else(|| base.to_owned(), str::to_owned);
                let body = json!({ "issuer": issuer, "jwks_uri": format!("{base}/jwks") });
                (200, String::new(), serde_json::to_vec(&body).unwrap())
            }
            "/jwks" => (
                200,
                "cache-control: public, max-age=120\r\n".into(),
                set.clone(),
            ),
            _ => (404, String::new(), b"{}".to_vec()),
        })
    }

    #[tokio::test]
    async fn keys_come_from_the_jwks_discovery_names_with_its_max_age() {
        let (_, jwk) = es256();
        let served = serve(issuer(&jwk, None)).await;
        let keys = HttpKeys::new(&served.base, Duration::from_secs(2)).unwrap();
        let fetched = keys.fetch().await.unwrap();
        assert_eq!(fetched.keys.len(), 1);
        assert_eq!(fetched.keys[0].0, "k1");
        assert_eq!(fetched.max_age, Some(Duration::from_secs(120)));
        // The JWKS address is remembered: the next fetch asks for the JWKS alone.
        keys.fetch().await.unwrap();
        assert_eq!(served.jwks_hits.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn an_https_issuers_keys_are_never_fetched_over_http() {
        let doc = |jwks: &str| {
            serde_json::to_vec(&json!({"issuer": "https://idp.example", "jwks_uri": jwks})).unwrap()
        };
        assert!(jwks_uri_of(&doc("http://idp.example/jwks"), "https://idp.example").is_err());
        assert!(jwks_uri_of(&doc("file:///etc/passwd"), "https://idp.example").is_err());
        assert!(jwks_uri_of(
            &doc("https://user:pw@keys.example/jwks"),
            "https://idp.example"
        )
        .is_err());
        assert_eq!(
            jwks_uri_of(&doc("https://keys.example/jwks"), "https://idp.example").unwrap(),
            "https://keys.example/jwks"
        );
    }

    #[test]
    fn a_local_http_issuer_names_http_keys_on_this_machine_only() {
        let issuer = "http://127.0.0.1:9000";
        let doc =
            |jwks: &str| serde_json::to_vec(&json!({"issuer": issuer, "jwks_uri": jwks})).unwrap();
        for local in [
            "http://127.0.0.1:9000/jwks",
            "http://localhost/jwks",
            "http://[::1]:8080/k",
        ] {
            assert!(jwks_uri_of(&doc(local), issuer).is_ok(), "{local}");
        }
        for remote in [
            "http://keys.remote.example/jwks",
            "http://127.0.0.1.evil.example/jwks",
            "http://localhost.evil.example:80/jwks",
        ] {
            assert!(jwks_uri_of(&doc(remote), issuer).is_err(), "{remote}");
        }
    }

    #[tokio::test]
    async fn a_jwks_that_moved_is_found_by_the_next_discovery() {
        let (_, jwk) = es256();
        let set = serde_json::to_vec(&json!({ "keys": [jwk] })).unwrap();
        let discoveries = Arc::new(AtomicUsize::new(0));
        let asked = Arc::clone(&discoveries);
        let moving: Answer = Arc::new(move |base: &str, path: &str| match path {
            "/.well-known/openid-configuration" => {
                // The first discovery names the old place, the later ones the new.
                let place = if asked.fetch_add(1, Ordering::SeqCst) == 0 {
                    "old"
                } else {
                    "new"
                };
                let body = json!({ "issuer": base, "jwks_uri": format!("{base}/{place}") });
                (200, String::new(), serde_json::to_vec(&body).unwrap())
            }
            "/new" => (200, String::new(), set.clone()),
            _ => (404, String::new(), b"{}".to_vec()),
        });
        let served = serve(moving).await;
        let keys = HttpKeys::new(&served.base, Duration::from_secs(2)).unwrap();
        assert!(keys.fetch().await.is_err());
        assert_eq!(keys.fetch().await.unwrap().keys.len(), 1);
        assert_eq!(discoveries.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_discovery_document_for_another_issuer_gives_no_keys() {
        let (_, jwk) = es256();
        let served = serve(issuer(&jwk, Some("https://elsewhere.example"))).await;
        let keys = HttpKeys::new(&served.base, Duration::from_secs(2)).unwrap();
        let error = keys.fetch().await.unwrap_err();
        assert!(error.0.contains("elsewhere"), "{error:?}");
        assert_eq!(served.jwks_hits.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn an_oversized_or_failing_jwks_gives_no_keys() {
        let big: Answer = Arc::new(|base: &str, path: &str| match path {
            "/.well-known/openid-configuration" => {
                let body = json!({ "issuer": base, "jwks_uri": format!("{base}/jwks") });
                (200, String::new(), serde_json::to_vec(&body).unwrap())
            }
            _ => (200, String::new(), vec![b' '; MAX_BODY + 1]),
        });
        let served = serve(big).await;
        let keys = HttpKeys::new(&served.base, Duration::from_secs(2)).unwrap();
        assert!(keys.fetch().await.unwrap_err().0.contains("over"));
        let failing: Answer = Arc::new(|_: &str, _: &str| (503, String::new(), b"{}".to_vec()));
        let served = serve(failing).await;
        let keys = HttpKeys::new(&served.base, Duration::from_secs(2)).unwrap();
        assert!(keys.fetch().await.unwrap_err().0.contains("503"));
    }

    #[tokio::test]
    async fn a_token_of_the_issuer_verifies_through_the_cache() {
        let (encoding, jwk) = es256();
        let served = serve(issuer(&jwk, None)).await;
        let fetcher = HttpKeys::new(&served.base, Duration::from_secs(2)).unwrap();
        let bounds = CacheBounds {
            min_interval: Duration::from_secs(30),
            max_age: Duration::from_secs(3600),
            wait: Duration::from_secs(2),
        };
        let cache = KeyCache::new(fetcher, bounds);
        let policy = IssuerPolicy {
            issuer: served.base.clone(),
            audience: vec!["api".into()],
            algorithms: vec![Algorithm::ES256],
            roles_claim: None,
            scopes_claim: "scope".into(),
            leeway: 0,
        };
        let now = jsonwebtoken::get_current_timestamp();
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("k1".into());
        let claims = json!({"iss": served.base, "aud": "api", "sub": "svc", "exp": now + 60, "scope": "read"});
        let token = jsonwebtoken::encode(&header, &claims, &encoding).unwrap();
        let Lookup::Found(key) = cache.key("k1").await else {
            panic!("the key was not found")
        };
        let foreign = verify(&token, &policy, &key).unwrap();
        assert!(foreign.grants.has_scope("read"));
        // Unknown ids within the interval fetch nothing more.
        for n in 0..50 {
            assert!(matches!(cache.key(&format!("x{n}")).await, Lookup::Unknown));
        }
        assert_eq!(served.jwks_hits.load(Ordering::SeqCst), 1);
    }
}
