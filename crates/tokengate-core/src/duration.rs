//! Durations written the way people write them in config files: `2s`, `20m`, `24h`, `30d`.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use tokengate::Config;
//!
//! let secret = [("TOKENGATE_SECRET", "an-example-secret-of-at-least-32-bytes")];
//! let toml = r#"
//!     [default]
//!     access_ttl = "20m"
//!     refresh_ttl = "1h30m"
//! "#;
//! let config = Config::from_sources(Some(toml), "default", secret)?;
//! assert_eq!(config.tokens.access_ttl, Duration::from_secs(1200));
//! assert_eq!(config.tokens.refresh_ttl, Duration::from_secs(5400));
//!
//! // A bare number in text is refused: seconds or minutes?
//! let bare = "[default]\naccess_ttl = \"20\"";
//! let error = Config::from_sources(Some(bare), "default", secret).unwrap_err();
//! assert_eq!(error.key, "access_ttl");
//! # Ok::<(), tokengate::ConfigError>(())
//! ```

use std::time::Duration;

/// Parses one or more `<number><unit>` groups, units `ms`, `s`, `m`, `h`, `d`, `w`.
///
/// A bare number is refused: `30` could mean seconds or minutes, and a config file should not
/// leave it to guessing.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("expected a duration such as `20m`, got an empty value".to_owned());
    }
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!(
                "expected a duration such as `20m` or `24h`, got `{text}`"
            ));
        }
        let (number, tail) = rest.split_at(digits);
        let unit_len = tail.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, tail) = tail.split_at(unit_len);
        let number: u64 = number
            .parse()
            .map_err(|_| format!("the number in `{text}` is too large"))?;
        let millis_per_unit: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "" => return Err(format!("`{text}` needs a unit: ms, s, m, h, d or w")),
            other => {
                return Err(format!(
                    "unknown unit `{other}` in `{text}` (use ms, s, m, h, d or w)"
                ))
            }
        };
        total = number
            .checked_mul(millis_per_unit)
            .and_then(|millis| total.checked_add(millis))
            .ok_or_else(|| format!("`{text}` is too long a duration"))?;
        rest = tail;
    }
    Ok(Duration::from_millis(total))
}

/// Writes a duration back in the largest unit that divides it (`86400s` → `1d`).
pub(crate) fn format_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    if duration.subsec_millis() != 0 || secs == 0 {
        return format!("{}ms", duration.as_millis());
    }
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs.is_multiple_of(size) {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_unit_is_understood() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(2_592_000)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn bare_numbers_unknown_units_and_overflow_are_refused() {
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("3y").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn formatting_picks_the_largest_unit() {
        assert_eq!(format_duration(Duration::from_secs(86_400)), "1d");
        assert_eq!(format_duration(Duration::from_secs(1_200)), "20m");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
    }
}
