//! The sign-in `exp` field: when the client wants its refresh token to end.
//!
//! Accepted forms: Unix epoch seconds (`1767225600`), an RFC 3339 / ISO 8601 date-time
//! (`2026-01-01T00:00:00Z`, `2026-01-01T01:00:00+01:00`, or without offset, read as UTC), a
//! date alone (midnight UTC), or `unlimited`. The environment decides how far it is honoured.
//!
//! # Example
//!
//! ```
//! use std::time::{SystemTime, UNIX_EPOCH};
//! use time::{format_description::well_known::Rfc3339, OffsetDateTime};
//! use tokengate::credentials::{hash_password, MemoryDirectory};
//! use tokengate::serde_json::{json, Value};
//! use tokengate::{Config, TokenGate};
//! # use tokengate::adapter::RequestHead;
//! # use tokengate::{serde_json, Endpoint};
//! # struct Call<'a>(&'a str, &'a str, (&'a str, &'a str));
//! # impl RequestHead for Call<'_> {
//! #     fn method(&self) -> &str { self.0 }
//! #     fn path(&self) -> &str { self.1 }
//! #     fn header(&self, name: &str) -> Option<&[u8]> {
//! #         (name == self.2 .0).then_some(self.2 .1.as_bytes())
//! #     }
//! # }
//! # fn body(text: String) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> {
//! #     futures_util::stream::iter([Ok(bytes::Bytes::from(text))])
//! # }
//! # /// Signs `ada` in with `exp`: when her session ends, as `GET /api/rest/sessions` lists it
//! # /// (`expiresAt`, null for none), or the status of the refusal.
//! # async fn session_end(gate: &TokenGate, exp: &str) -> Result<Value, u16> {
//! #     let form = ("content-type", "application/x-www-form-urlencoded");
//! #     let signin = Call("POST", "/api/rest/signin", form);
//! #     let fields = format!("login=ada&password=pw&exp={exp}");
//! #     let response = gate.serve(Endpoint::SignIn, &signin, body(fields)).await;
//! #     if response.status != 201 {
//! #         return Err(response.status);
//! #     }
//! #     let tokens: Value = serde_json::from_slice(&response.body).unwrap();
//! #     let bearer = format!("Bearer {}", tokens["accessToken"].as_str().unwrap());
//! #     let list = Call("GET", "/api/rest/sessions", ("authorization", &bearer));
//! #     let response = gate.serve(Endpoint::ListSessions, &list, body(String::new())).await;
//! #     let listed: Value = serde_json::from_slice(&response.body).unwrap();
//! #     let sessions = listed["sessions"].as_array().unwrap();
//! #     let current = sessions.iter().find(|s| s["current"] == true).unwrap();
//! #     Ok(current["expiresAt"].clone())
//! # }
//!
//! # tokio::runtime::Builder::new_multi_thread().build().unwrap().block_on(async {
//! let phc = hash_password("pw")?;
//! let config = Config::default().with_secret("an-example-secret-of-at-least-32-bytes");
//! let gate = TokenGate::builder(config.clone())
//!     .credentials(MemoryDirectory::new().user("ada", &phc)?)
//!     .build()?;
//!
//! // `session_end` signs in with `exp=...` and reads `expiresAt` from `GET /api/rest/sessions`.
//! // An hour from now, as Unix seconds or as an RFC 3339 date-time: the same end.
//! let at = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() + 3600;
//! let rfc3339 = OffsetDateTime::from_unix_timestamp(i64::try_from(at)?)?.format(&Rfc3339)?;
//! assert_eq!(session_end(&gate, &at.to_string()).await, Ok(json!(at)));
//! assert_eq!(session_end(&gate, &rfc3339).await, Ok(json!(at)));
//!
//! // `unlimited` is refused (400) unless the environment allows it (`allow_unlimited`).
//! assert_eq!(session_end(&gate, "unlimited").await, Err(400));
//! let mut config = config;
//! config.tokens.allow_unlimited = true;
//! let gate = TokenGate::builder(config)
//!     .credentials(MemoryDirectory::new().user("ada", &phc)?)
//!     .build()?;
//! assert_eq!(session_end(&gate, "unlimited").await, Ok(Value::Null));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use std::time::Duration;

use time::format_description::well_known::{Iso8601, Rfc3339};
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// The refresh token's end, as asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// At this Unix time.
    At(i64),
    /// Never: the token lives until signed out.
    Unlimited,
}

/// Parses `exp` at `now` under the environment's policy; the error text says which rule failed.
pub fn parse_exp(
    input: &str,
    now: i64,
    max_ttl: Duration,
    allow_unlimited: bool,
) -> Result<Expiry, String> {
    let input = input.trim();
    if input.eq_ignore_ascii_case("unlimited") {
        return if allow_unlimited {
            Ok(Expiry::Unlimited)
        } else {
            Err("`unlimited` is not allowed in this environment".to_owned())
        };
    }
    let at = parse_instant(input)
        .ok_or_else(|| "is not a Unix time, an ISO 8601 date-time or `unlimited`".to_owned())?;
    if at <= now {
        return Err("is in the past".to_owned());
    }
    let max = i64::try_from(max_ttl.as_secs()).unwrap_or(i64::MAX);
    if at - now > max {
        return Err(format!(
            "is further away than the longest lifetime allowed here ({max} seconds)"
        ));
    }
    Ok(Expiry::At(at))
}

fn parse_instant(input: &str) -> Option<i64> {
    if !input.is_empty() && input.len() <= 20 && input.bytes().all(|b| b.is_ascii_digit()) {
        return input.parse().ok();
    }
    if input.len() > 64 {
        return None;
    }
    if let Ok(at) = OffsetDateTime::parse(input, &Rfc3339) {
        return Some(at.unix_timestamp());
    }
    if let Ok(at) = OffsetDateTime::parse(input, &Iso8601::DEFAULT) {
        return Some(at.unix_timestamp());
    }
    if let Ok(at) = PrimitiveDateTime::parse(input, &Iso8601::DEFAULT) {
        return Some(at.assume_offset(UtcOffset::UTC).unix_timestamp());
    }
    Date::parse(input, &Iso8601::DEFAULT)
        .ok()
        .map(|date| date.midnight().assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn iso_forms_are_understood() {
        let hour = Ok(Expiry::At(NOW + 3600));
        assert_eq!(parse_exp("2026-01-01T01:00:00Z", NOW, DAY, false), hour);
        assert_eq!(
            parse_exp("2026-01-01T02:00:00+01:00", NOW, DAY, false),
            hour
        );
        assert_eq!(parse_exp("2026-01-01T01:00:00", NOW, DAY, false), hour);
        assert_eq!(
            parse_exp("2026-01-02", NOW, Duration::from_secs(2 * 86_400), false),
            Ok(Expiry::At(NOW + 86_400))
        );
    }

    #[test]
    fn past_too_far_and_garbage_each_say_why() {
        assert_eq!(
            parse_exp("1000", NOW, DAY, false),
            Err("is in the past".to_owned())
        );
        let far = parse_exp(&(NOW + 2 * 86_400).to_string(), NOW, DAY, false).unwrap_err();
        assert!(far.contains("longest lifetime"), "{far}");
        assert!(parse_exp("tomorrow", NOW, DAY, false)
            .unwrap_err()
            .contains("not a Unix time"));
        assert!(parse_exp("99999999999999999999999", NOW, DAY, false).is_err());
        assert!(parse_exp("", NOW, DAY, false).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(input in ".{0,80}", now in any::<i64>(), max in any::<u64>(), unlimited in any::<bool>()) {
            let _ = parse_exp(&input, now, Duration::from_secs(max), unlimited);
        }

        /// Past, present and future instants, as epoch seconds and as RFC 3339 with any
        /// offset: exactly those after now and within the maximum are accepted, as themselves.
        #[test]
        fn an_instant_is_accepted_exactly_when_it_is_ahead_and_within_max(
            offset in -200_000i64..200_000,
            zone_minutes in -720i32..=840,
            as_text in any::<bool>(),
        ) {
            let at = NOW + offset;
            let input = if as_text {
                let zone = UtcOffset::from_whole_seconds(zone_minutes * 60).unwrap();
                OffsetDateTime::from_unix_timestamp(at)
                    .unwrap()
                    .to_offset(zone)
                    .format(&Rfc3339)
                    .unwrap()
            } else {
                at.to_string()
            };
            let parsed = parse_exp(&input, NOW, DAY, false);
            if offset > 0 && offset <= 86_400 {
                prop_assert_eq!(parsed, Ok(Expiry::At(at)), "{}", input);
            } else {
                prop_assert!(parsed.is_err(), "{} gave {:?}", input, parsed);
            }
        }
    }
}
