//! Throttling sign-ins, per login and per client address.
//!
//! Each sign-in *reserves* an attempt against the login tried and one against the client
//! address before the password is verified, in fixed windows (`throttle_window`, default 15
//! minutes). A reservation is one atomic step in the counter — count it, or refuse it when the
//! window already holds its limit (`throttle_per_login`, default 10; `throttle_per_address`,
//! default 100) — so however many attempts arrive at once, no more than the limit are ever
//! verified per login and per address in a window. A refused attempt answers 429 with
//! `Retry-After` until the window ends, whether or not the login exists and whether or not the
//! password is right, so the answer reveals nothing.
//!
//! The address is reserved before the login, and a refusal gives back what was reserved before
//! it; a window given back to zero is deleted. So an attempt refused creates no state, and what
//! one client can make the counters hold is bounded by its own limits: at most
//! `throttle_per_address` login windows per address and window.
//!
//! A failed attempt keeps its reservations: it was a failure. A successful one gives back its
//! own reservations, login and address (an office behind one address is not throttled for
//! signing in well), and nothing more: the failures other attempts left in the login's window
//! stay until it ends. The login key (the root collation's sort key at level 2, see
//! [`normalised_login`](crate::credentials::normalised_login)) is coarser than some
//! directories' comparison, so two accounts can share a window, and the owner of one must not reset what was tried against the other. An attempt
//! that could not be decided (the credential directory is down) gives both back.
//!
//! So, for one login, no more than `throttle_per_login` sign-ins can be in flight at the same
//! moment, right password or not: a service account that signs in from many workers at once
//! needs a higher limit (a success gives its reservation back, so sequential sign-ins are never
//! held).
//!
//! The client address is the peer address, or, only when `trusted_proxy_header` names one
//! (`x-forwarded-for`), the last address that header lists: the one the trusted proxy saw.
//! When that header is missing or unreadable, the peer address is used (and a warning logged),
//! so a misconfigured proxy never turns the per-address limit off. IPv6 addresses count per
//! `/64`, the block one host usually gets, so rotating addresses within it gains nothing.
//!
//! The counters sit behind [`AttemptCounter`] so that several instances can share them (the
//! Redis store implements it); [`MemoryCounter`] is the default, for one process.
//!
//! # Example
//!
//! ```
//! use tokengate::throttle::{AttemptCounter, MemoryCounter, Reservation};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let counter = MemoryCounter::new();
//! for _ in 0..3 {
//!     let granted = counter.reserve("login:ada", 3, 900, 1_000).await?;
//!     assert!(matches!(granted, Reservation::Granted(_)));
//! }
//! let refused = counter.reserve("login:ada", 3, 900, 1_010).await?;
//! assert_eq!(refused.retry_after(1_010), Some(890));
//! // The window ends, and attempts count again from zero.
//! let granted = counter.reserve("login:ada", 3, 900, 1_900).await?;
//! assert_eq!(granted.window().count, 1);
//! # Ok::<(), tokengate::store::StoreError>(())
//! # }).unwrap();
//! ```

mod memory;

use std::net::IpAddr;

pub use memory::MemoryCounter;
#[doc(hidden)]
pub use tokengate_store::FailureCounter;
pub use tokengate_store::{AttemptCounter, Reservation, Window};

use crate::config::ThrottleSettings;
use crate::jws::mac::MacKey;
use tokengate_store::StoreError;

/// Why an attempt may not go on.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// A window holds its limit: retry after this many seconds.
    TooMany { retry_after: u64 },
    /// A counter could not be reached.
    Down(StoreError),
}

/// The counters one sign-in attempt is held to, with their limits, and what becomes of its
/// reservations: the throttling policy, in one place.
pub(crate) struct Attempt {
    login: Option<(String, u32)>,
    address: Option<(String, u32)>,
    window: u64,
}

impl Attempt {
    /// The counters of a sign-in: the login's (as every directory may take it: its sort key
    /// in the root collation at level 2, see
    /// [`normalised_login`](crate::credentials::normalised_login); hashed, so that keys stay
    /// short whatever is sent; apart per application) and the client address's, where a limit
    /// applies.
    pub(crate) fn new(
        settings: &ThrottleSettings,
        login: &str,
        application: Option<&str>,
        client: Option<IpAddr>,
    ) -> Self {
        let login = (settings.per_login > 0).then(|| {
            let tag = MacKey::new(b"tokengate throttle").sign(&[
                application.unwrap_or("").as_bytes(),
                b"\0",
                &crate::credentials::throttle_key(login),
            ]);
            let tag = base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                &tag[..18],
            );
            (format!("fail:login:{tag}"), settings.per_login)
        });
        let address = client.filter(|_| settings.per_address > 0).map(|client| {
            (
                format!("fail:addr:{}", address_key(client)),
                settings.per_address,
            )
        });
        Self {
            login,
            address,
            window: settings.window.as_secs(),
        }
    }

    /// The counters of an application authenticating as an OAuth client: the key's, kept per
    /// client address (so that no one can lock a resource server out by failing with its key
    /// from elsewhere), and the address's, shared with sign-in. Without an address, the key's
    /// alone.
    pub(crate) fn client(settings: &ThrottleSettings, key: &str, client: Option<IpAddr>) -> Self {
        let mut attempt = Self::new(settings, "", None, client);
        attempt.login = (settings.per_login > 0).then(|| {
            let address = client.map(address_key).unwrap_or_default();
            let tag = MacKey::new(b"tokengate throttle").sign(&[
                b"oauth client\0",
                key.as_bytes(),
                b"\0",
                address.as_bytes(),
            ]);
            let tag = base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                &tag[..18],
            );
            (format!("fail:client:{tag}"), settings.per_login)
        });
        attempt
    }

    /// The counters of a second-factor code: the session's, then the subject's, each held to
    /// `mfa_attempts` per window; keyed by hashes, so keys stay short.
    pub(crate) fn factor(
        settings: &ThrottleSettings,
        limit: u32,
        subject: &str,
        sid: &str,
    ) -> Self {
        let tag = |what: &[u8], value: &str| {
            let tag = MacKey::new(b"tokengate throttle").sign(&[what, value.as_bytes()]);
            base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                &tag[..18],
            )
        };
        Self {
            address: Some((
                format!("fail:mfa-session:{}", tag(b"mfa session\0", sid)),
                limit,
            )),
            login: Some((
                format!("fail:mfa:{}", tag(b"mfa subject\0", subject)),
                limit,
            )),
            window: settings.window.as_secs(),
        }
    }

    /// The counters of a passkey sign-in: the client address's, shared with password
    /// sign-ins, and the credential id's (hashed), held to `throttle_per_login`.
    #[cfg(feature = "passkeys")]
    pub(crate) fn passkey(
        settings: &ThrottleSettings,
        credential: &str,
        client: Option<IpAddr>,
    ) -> Self {
        let mut attempt = Self::new(settings, "", None, client);
        attempt.login = (settings.per_login > 0).then(|| {
            let tag =
                MacKey::new(b"tokengate throttle").sign(&[b"passkey\0", credential.as_bytes()]);
            let tag = base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                &tag[..18],
            );
            (format!("fail:passkey:{tag}"), settings.per_login)
        });
        attempt
    }

    /// The counter of requests for passkey ceremony options from one client address: each
    /// holds state until its challenge ends, so an address gets `per_address` of them per
    /// challenge lifetime (`window` seconds: short, so that the windows of passing visitors
    /// end soon and never fill a counter kept in memory). Without an address or an address
    /// limit, none.
    #[cfg(feature = "passkeys")]
    pub(crate) fn passkey_options(
        settings: &ThrottleSettings,
        window: u64,
        client: Option<IpAddr>,
    ) -> Self {
        Self {
            login: None,
            address: client.filter(|_| settings.per_address > 0).map(|client| {
                (
                    format!("passkey-options:addr:{}", address_key(client)),
                    settings.per_address,
                )
            }),
            window: window.max(1),
        }
    }

    /// The counter of provider sign-ins started from one client address: each keeps state in
    /// the store until it ends, so an address starts `per_address` of them a minute. Without
    /// an address or an address limit, none.
    #[cfg(feature = "federation")]
    pub(crate) fn provider_start(settings: &ThrottleSettings, client: Option<IpAddr>) -> Self {
        Self {
            login: None,
            address: client.filter(|_| settings.per_address > 0).map(|client| {
                (
                    format!("oidc-start:addr:{}", address_key(client)),
                    settings.per_address,
                )
            }),
            window: 60,
        }
    }

    /// The address first: a client its address limit refuses must leave no state behind, so
    /// no login window is opened for an attempt the address refuses (a flood of random logins
    /// from one address once filled the counter and locked every user out).
    fn keys(&self) -> impl Iterator<Item = (&str, u32)> {
        [&self.address, &self.login]
            .into_iter()
            .flatten()
            .map(|(key, limit)| (key.as_str(), *limit))
    }

    /// Reserves the attempt on every counter, before the password is verified: one atomic
    /// step per counter, so a burst cannot pass a check before its failures are counted. A
    /// refusal on a later counter gives back the reservations made before it. A failed
    /// attempt keeps its reservations.
    pub(crate) async fn reserve(
        &self,
        counter: &dyn AttemptCounter,
        now: i64,
    ) -> Result<Reserved<'_>, Refusal> {
        let mut reserved = Reserved {
            granted: Vec::with_capacity(2),
        };
        for (key, limit) in self.keys() {
            let refusal = match counter.reserve(key, limit, self.window, now).await {
                Ok(Reservation::Granted(window)) => {
                    reserved.granted.push((key, window.ends_at));
                    continue;
                }
                Ok(refused) => refused
                    .retry_after(now)
                    .map(|retry_after| Refusal::TooMany { retry_after }),
                Err(error) => Some(Refusal::Down(error)),
            };
            if let Some(refusal) = refusal {
                reserved.give_back(counter).await;
                return Err(refusal);
            }
        }
        Ok(reserved)
    }
}

/// The reservations one attempt holds: each counter's key, and the end of the window it was
/// counted in (so that it is given back to that window, and never to a later one).
pub(crate) struct Reserved<'a> {
    granted: Vec<(&'a str, i64)>,
}

impl Reserved<'_> {
    /// A successful sign-in gives back its own reservations, and no one else's failures. Best
    /// effort: the session is open by now, and a counter that is down must not turn a sign-in
    /// that took effect into an error.
    pub(crate) async fn succeeded(&self, counter: &dyn AttemptCounter) {
        self.give_back(counter).await;
    }

    /// An attempt that could not be decided gives back every reservation.
    pub(crate) async fn undecided(&self, counter: &dyn AttemptCounter) {
        self.give_back(counter).await;
    }

    /// Gives back each reservation to the window it was counted in; best effort, as the
    /// answer no longer depends on it.
    async fn give_back(&self, counter: &dyn AttemptCounter) {
        for (key, ends_at) in &self.granted {
            if let Err(error) = counter.release(key, *ends_at).await {
                tracing::warn!(
                    target: "tokengate",
                    %error,
                    "could not give back a sign-in reservation"
                );
            }
        }
    }
}

/// The address a client is counted under: itself for IPv4, its `/64` for IPv6 (an IPv4
/// address mapped into IPv6 counts as the IPv4 address).
fn address_key(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4.to_string();
            }
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Attack: from one address, the address limit of wrong sign-ins, then a flood of
    /// sign-ins with random logins, each refused by the address limit. The login was reserved
    /// first, so each refusal left an empty login window behind, until the counter was full and
    /// every user, from any address, got 429. Now a refused attempt leaves nothing, and the
    /// right password from another address signs in.
    #[test]
    fn a_flood_of_refused_logins_from_one_address_locks_no_one_out() {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(async {
                let settings = ThrottleSettings {
                    per_address: 5,
                    ..ThrottleSettings::default()
                };
                let counter = MemoryCounter::with_capacity(200);
                let attacker: IpAddr = "192.0.2.66".parse().unwrap();
                let now = 1_000;
                for i in 0..5 {
                    let attempt = Attempt::new(&settings, &format!("x{i}"), None, Some(attacker));
                    assert!(attempt.reserve(&counter, now).await.is_ok());
                }
                for i in 0..2_000 {
                    let attempt =
                        Attempt::new(&settings, &format!("random{i}"), None, Some(attacker));
                    assert!(matches!(
                        attempt.reserve(&counter, now).await,
                        Err(Refusal::TooMany { .. })
                    ));
                }
                assert!(counter.len() <= 6, "{} windows held", counter.len());
                let user = Attempt::new(
                    &settings,
                    "john.doe@email.org",
                    None,
                    Some("198.51.100.7".parse().unwrap()),
                );
                let reserved = user.reserve(&counter, now).await.unwrap();
                reserved.succeeded(&counter).await;
                assert!(counter.len() <= 6, "{} windows held", counter.len());
            });
    }

    /// Attack: two accounts whose logins share a counter key (`Ada` and `ada` in a directory
    /// that tells them apart). Nine wrong passwords against one, then its neighbour signed in
    /// well: the success cleared the whole window, and the guessing went on with ten more.
    /// A success now gives back only its own reservation.
    #[test]
    fn a_success_gives_back_only_its_own_reservation() {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(async {
                let settings = ThrottleSettings::default();
                let counter = MemoryCounter::new();
                let now = 1_000;
                for _ in 0..9 {
                    let guess = Attempt::new(&settings, "ada", None, None);
                    assert!(guess.reserve(&counter, now).await.is_ok());
                }
                let neighbour = Attempt::new(&settings, "Ada", None, None);
                let reserved = neighbour.reserve(&counter, now).await.unwrap();
                reserved.succeeded(&counter).await;
                let guess = Attempt::new(&settings, "ada", None, None);
                assert!(guess.reserve(&counter, now).await.is_ok());
                assert!(matches!(
                    guess.reserve(&counter, now).await,
                    Err(Refusal::TooMany { .. })
                ));
            });
    }

    #[test]
    fn ipv6_addresses_count_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:1:2:3".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.1");
    }
}
