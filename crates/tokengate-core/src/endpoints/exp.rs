//! The sign-in `exp` field: when the client wants its refresh token to end.
//!
//! Accepted forms: Unix epoch seconds (`1767225600`), an RFC 3339 / ISO 8601 date-time
//! (`2026-01-01T00:00:00Z`, `2026-01-01T01:00:00+01:00`, or without offset, read as UTC), a
//! date alone (midnight UTC), or `unlimited`. The environment decides how far it is honoured.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! # #[cfg(feature = "fuzzing")] {
//! use tokengate_core::fuzz::{parse_exp, Expiry};
//!
//! let now = 1_767_225_600; // 2026-01-01T00:00:00Z
//! let max = Duration::from_secs(30 * 86_400);
//! assert_eq!(parse_exp("1767229200", now, max, false), Ok(Expiry::At(1_767_229_200)));
//! assert_eq!(parse_exp("2026-01-01T01:00:00Z", now, max, false), Ok(Expiry::At(1_767_229_200)));
//! assert!(parse_exp("unlimited", now, max, false).is_err());
//! assert_eq!(parse_exp("unlimited", now, max, true), Ok(Expiry::Unlimited));
//! # }
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
