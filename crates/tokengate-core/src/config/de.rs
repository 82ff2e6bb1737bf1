//! Humane values for the configuration: durations (`20m`), sizes (`64KiB`), switches (`true`,
//! `yes`, `on`), counts and lists, each from its TOML type or from the text of an environment
//! variable.

use std::time::Duration;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use crate::duration::parse_duration;
use crate::jws::{Algorithm, Secret};

use super::{GuardMode, SameSite};

/// A value as the file or a variable gives it.
#[derive(Deserialize)]
#[serde(untagged)]
enum Raw {
    Bool(bool),
    Int(i64),
    Text(String),
    List(Vec<String>),
}

impl Raw {
    fn text<E: serde::de::Error>(self) -> Result<String, E> {
        match self {
            Self::Text(text) => Ok(text),
            Self::Int(n) => Ok(n.to_string()),
            Self::Bool(b) => Ok(b.to_string()),
            Self::List(_) => Err(E::custom("expected a string, not a list")),
        }
    }
}

fn raw<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Raw, D::Error> {
    Raw::deserialize(deserializer)
        .map_err(|_| D::Error::custom("expected a string, a number, a switch or a list"))
}

pub(super) fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    match raw(deserializer)? {
        Raw::Int(seconds) => u64::try_from(seconds)
            .map(Duration::from_secs)
            .map_err(|_| D::Error::custom("a duration cannot be negative")),
        other => parse_duration(&other.text::<D::Error>()?).map_err(D::Error::custom),
    }
}

pub(super) fn optional_duration<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    duration(deserializer).map(Some)
}

pub(super) fn size<'de, D: Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    match raw(deserializer)? {
        Raw::Int(bytes) => {
            usize::try_from(bytes).map_err(|_| D::Error::custom("a size cannot be negative"))
        }
        other => parse_size(&other.text::<D::Error>()?).map_err(D::Error::custom),
    }
}

pub(super) fn switch<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    match raw(deserializer)? {
        Raw::Bool(value) => Ok(value),
        other => parse_switch(&other.text::<D::Error>()?)
            .ok_or_else(|| D::Error::custom("expected true or false")),
    }
}

fn parse_switch(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// `auto` (`None`), or a switch.
pub(super) fn auto_switch<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<bool>, D::Error> {
    match raw(deserializer)? {
        Raw::Bool(value) => Ok(Some(value)),
        other => {
            let text = other.text::<D::Error>()?;
            if text.trim().eq_ignore_ascii_case("auto") {
                return Ok(None);
            }
            parse_switch(&text)
                .map(Some)
                .ok_or_else(|| D::Error::custom("expected auto, true or false"))
        }
    }
}

pub(super) fn count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let counted = match raw(deserializer)? {
        Raw::Int(n) => u32::try_from(n).ok(),
        other => other.text::<D::Error>()?.trim().parse().ok(),
    };
    counted.ok_or_else(|| D::Error::custom("expected a whole number from 0"))
}

/// A count, or none (`none`, `off` or empty: no limit).
pub(super) fn optional_count<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u32>, D::Error> {
    let counted = match raw(deserializer)? {
        Raw::Int(n) => u32::try_from(n).ok().map(Some),
        other => {
            let text = other.text::<D::Error>()?;
            match text.trim().to_ascii_lowercase().as_str() {
                "" | "none" | "off" => Some(None),
                number => number.parse().ok().map(Some),
            }
        }
    };
    counted.ok_or_else(|| D::Error::custom("expected a whole number from 1, or `none`"))
}

/// A count of at least one.
pub(super) fn capacity<'de, D: Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    Ok(usize::try_from(count(deserializer)?)
        .unwrap_or(usize::MAX)
        .max(1))
}

/// A list: a TOML array, or the comma-separated text of a variable.
pub(super) fn list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Ok(match raw(deserializer)? {
        Raw::List(items) => items,
        other => other
            .text::<D::Error>()?
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// Origins compare lower case and without a trailing slash.
pub(super) fn origins<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Ok(list(deserializer)?
        .into_iter()
        .map(|origin| origin.trim_end_matches('/').to_ascii_lowercase())
        .collect())
}

/// Text; empty text is no value.
pub(super) fn optional_text<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    let text = raw(deserializer)?.text::<D::Error>()?;
    Ok((!text.trim().is_empty()).then_some(text))
}

/// A URL, without a trailing slash; empty is none (checked as a URL in `validate`).
pub(super) fn optional_url<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Ok(optional_text(deserializer)?.map(|url| url.trim().trim_end_matches('/').to_owned()))
}

/// A header name: lower case; empty is none.
pub(super) fn header_name<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Ok(optional_text(deserializer)?.map(|name| name.trim().to_ascii_lowercase()))
}

/// A path prefix, without its trailing slash.
pub(super) fn prefix<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(raw(deserializer)?
        .text::<D::Error>()?
        .trim_end_matches('/')
        .to_owned())
}

pub(super) fn trimmed<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(raw(deserializer)?.text::<D::Error>()?.trim().to_owned())
}

pub(super) fn secret<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Secret>, D::Error> {
    match raw(deserializer) {
        Ok(Raw::Text(text)) => Ok(Some(Secret::new(text.into_bytes()))),
        _ => Err(D::Error::custom("expected a string")),
    }
}

/// Secrets: a TOML array of strings, or the comma-separated text of a variable.
pub(super) fn secrets<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Secret>, D::Error> {
    Ok(list(deserializer)?
        .into_iter()
        .map(|text| Secret::new(text.into_bytes()))
        .collect())
}

pub(super) fn mode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<GuardMode, D::Error> {
    match raw(deserializer)?
        .text::<D::Error>()?
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "required" => Ok(GuardMode::Required),
        "optional" => Ok(GuardMode::Optional),
        _ => Err(D::Error::custom("expected `required` or `optional`")),
    }
}

pub(super) fn same_site<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SameSite, D::Error> {
    match raw(deserializer)?
        .text::<D::Error>()?
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "strict" => Ok(SameSite::Strict),
        "lax" => Ok(SameSite::Lax),
        "none" => Ok(SameSite::None),
        _ => Err(D::Error::custom("expected `strict`, `lax` or `none`")),
    }
}

pub(super) fn algorithm<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Algorithm, D::Error> {
    Algorithm::parse(&raw(deserializer)?.text::<D::Error>()?)
        .ok_or_else(|| D::Error::custom("expected HS256, EdDSA, ES256 or RS256"))
}

/// `64KiB`, `1MiB`, `512B` or bytes.
pub(crate) fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let number: usize = number
        .parse()
        .map_err(|_| format!("expected a size such as `64KiB`, got `{text}`"))?;
    let factor = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "KB" | "k" => 1024,
        "MiB" | "MB" | "M" => 1024 * 1024,
        other => return Err(format!("unknown size unit `{other}` (use B, KiB or MiB)")),
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// A file path; empty is none.
pub(super) fn optional_path<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<std::path::PathBuf>, D::Error> {
    Ok(optional_text(deserializer)?.map(std::path::PathBuf::from))
}
