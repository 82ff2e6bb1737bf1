//! `tokengate inspect`: a token's header and claims, and whether the configured gate accepts
//! it. The token itself is never printed.

use std::io::Read as _;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokengate_core::jws::MAX_TOKEN_LEN;
use tokengate_core::{ErrorKind, TokenError};

use crate::{load, Failure};

/// The arguments of `inspect`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The token; `-` or nothing reads it from standard input.
    token: Option<String>,
    /// Also verifies it with the configured keys and settings, as the guard does (with
    /// `strict_revocation`, its session too); implied by `--config`.
    #[arg(long)]
    verify: bool,
}

pub(crate) fn run(args: &Args, config_given: bool) -> Result<(), Failure> {
    let token = match args.token.as_deref() {
        None | Some("-") => read_stdin()?,
        Some(token) => token.trim().to_owned(),
    };
    if token.len() > MAX_TOKEN_LEN {
        return Err(Failure::bad(format!(
            "not a token: longer than {MAX_TOKEN_LEN} bytes"
        )));
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [header, claims, _signature] = parts[..] else {
        return Err(Failure::bad(format!(
            "not a token: a JWT has 3 parts separated by `.`, this has {}",
            parts.len()
        )));
    };
    let header = decode("header", header)?;
    let claims = decode("claims", claims)?;
    println!("header: {}", pretty(&header));
    println!("claims: {}", pretty(&claims));
    for name in ["iat", "nbf", "exp"] {
        if let Some(line) = claims
            .get(name)
            .and_then(Value::as_i64)
            .and_then(|t| when(name, t))
        {
            println!("{line}");
        }
    }
    if args.verify || config_given {
        verify(&token, &header)?;
    }
    Ok(())
}

/// Whether the configured gate accepts `token` as an access token, and why not.
fn verify(token: &str, header: &Value) -> Result<(), Failure> {
    let config = load::config()?;
    let strict = config.guard.strict_revocation;
    let store_is_shared = config.store.url != "memory";
    let runtime = load::runtime()?;
    let _entered = runtime.enter();
    let gate = load::gate(config)?;
    let verified = gate.verify_access(token).map_err(|error| {
        let field = |name| header.get(name).and_then(Value::as_str).unwrap_or_default();
        let hint = match error.kind() {
            ErrorKind::InvalidToken(TokenError::WrongType) => format!(
                " (its typ is `{}`: only access tokens, `at+jwt`, are verified here)",
                field("typ")
            ),
            ErrorKind::InvalidToken(TokenError::BadHeader) => format!(
                " (kid `{}`, alg `{}`: no configured key has this kid and algorithm, or the \
                 header names what is never accepted)",
                field("kid"),
                field("alg")
            ),
            _ => String::new(),
        };
        let reason = format!("{error}{hint}");
        Failure::No(format!("does not verify: {reason}"))
    })?;
    let claims = verified.claims();
    // The session, where the store is one this process can see.
    if store_is_shared && !claims.sid.is_empty() && !verified.is_foreign() {
        let sessions = runtime
            .block_on(gate.list_sessions(&claims.sub))
            .map_err(|e| Failure::bad(format!("the session store: {e}")))?;
        let live = sessions.iter().any(|session| session.id == claims.sid);
        if !live && strict {
            return Err(Failure::No(format!(
                "does not verify: {}",
                TokenError::Revoked
            )));
        }
        println!(
            "session: {}",
            if live {
                "live"
            } else {
                "ended (accepted until exp: strict_revocation is off)"
            }
        );
    }
    println!("verified: yes");
    Ok(())
}

fn read_stdin() -> Result<String, Failure> {
    let mut text = String::new();
    std::io::stdin()
        .take(MAX_TOKEN_LEN as u64 + 2)
        .read_to_string(&mut text)
        .map_err(|e| Failure::bad(format!("cannot read the token from standard input: {e}")))?;
    Ok(text.trim().to_owned())
}

/// A base64url JSON part of a token.
fn decode(what: &str, part: &str) -> Result<Value, Failure> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| Failure::bad(format!("not a token: its {what} is not base64url")))?;
    serde_json::from_slice(&bytes)
        .map_err(|_| Failure::bad(format!("not a token: its {what} is not JSON")))
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// `name: <RFC 3339 time> (in 5m / 3s ago)`.
fn when(name: &str, unix: i64) -> Option<String> {
    let at = OffsetDateTime::from_unix_timestamp(unix).ok()?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let distance = unix - now;
    let relative = if distance >= 0 {
        format!("in {distance}s")
    } else {
        format!("{}s ago", -distance)
    };
    Some(format!(
        "{name}: {} ({relative})",
        at.format(&Rfc3339).ok()?
    ))
}
