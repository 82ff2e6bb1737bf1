//! `tokengate sessions`: a subject's sessions in the configured store, listed or ended, through
//! the gate's own operations (`list_sessions`, `revoke_session`, `revoke_subject`).

use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokengate_core::store::Session;
use tokengate_core::TokenGate;

use crate::{load, Failure};

/// The `sessions` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Lists the live sessions of SUBJECT: id, opened, last used, client address, user agent
    /// (never a token).
    List {
        /// The subject (the login, or the application key).
        subject: String,
        /// One JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Ends session ID of SUBJECT.
    End {
        /// The subject (the login, or the application key).
        subject: String,
        /// The session id (`sid`), as `list` shows it.
        id: String,
    },
    /// Ends every session of SUBJECT (after a password change, an account closed).
    EndAll {
        /// The subject (the login, or the application key).
        subject: String,
    },
}

pub(crate) fn run(command: &Command) -> Result<(), Failure> {
    let config = load::config()?;
    if config.store.url == "memory" {
        return Err(Failure::bad(
            "the configured store is `memory`: sessions live inside the application's process, \
             out of this command's reach; configure a shared store (`store = \"sqlite://...\"`, \
             `redis://...` or `postgres://...`)",
        ));
    }
    let runtime = load::runtime()?;
    let _entered = runtime.enter();
    let gate = load::gate(config)?;
    runtime.block_on(answer(&gate, command))
}

async fn answer(gate: &TokenGate, command: &Command) -> Result<(), Failure> {
    // The store's own error was logged (to standard error) by the gate.
    let failed = |e: tokengate_core::Error| Failure::bad(format!("the session store: {e}"));
    match command {
        Command::List { subject, json } => {
            let sessions = gate.list_sessions(subject).await.map_err(failed)?;
            if *json {
                let listed: Vec<_> = sessions.iter().map(as_json).collect();
                println!("{}", json!({ "subject": subject, "sessions": listed }));
            } else {
                print_table(&sessions);
            }
            Ok(())
        }
        Command::End { subject, id } => {
            if gate.revoke_session(subject, id).await.map_err(failed)? {
                println!("ended session {id} of {subject}");
                Ok(())
            } else {
                Err(Failure::No(format!("no live session {id} of {subject}")))
            }
        }
        Command::EndAll { subject } => {
            let ended = gate.revoke_subject(subject).await.map_err(failed)?;
            println!("ended {ended} session(s) of {subject}");
            Ok(())
        }
    }
}

fn print_table(sessions: &[Session]) {
    println!("ID\tCREATED\tLAST USED\tCLIENT\tUSER AGENT");
    for session in sessions {
        println!(
            "{}\t{}\t{}\t{}\t{}",
            printable(&session.id),
            time(session.created_at),
            time(session.refreshed_at),
            client(session),
            printable(session.user_agent.as_deref().unwrap_or("-")),
        );
    }
}

fn as_json(session: &Session) -> serde_json::Value {
    json!({
        "id": session.id,
        "createdAt": session.created_at,
        "lastUsedAt": session.refreshed_at,
        "expiresAt": session.expires_at,
        "application": session.application,
        "address": session.address,
        "userAgent": session.user_agent,
    })
}

/// The client: its address, and the application for an application-key login.
fn client(session: &Session) -> String {
    let address = printable(session.address.as_deref().unwrap_or("-"));
    match &session.application {
        Some(application) => format!("{address} ({})", printable(application)),
        None => address,
    }
}

/// A time as RFC 3339, UTC.
fn time(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|at| at.format(&Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

/// `text` (a client sent it) with control characters, which could rewrite the terminal or the
/// table, replaced by `?`.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}
