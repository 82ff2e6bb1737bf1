//! Audit events: who signed in, failed, refreshed, signed out or was throttled, and from where.
//!
//! Every event is a `tracing` event on target `tokengate::audit` (level `info`, `warn` for
//! failures, throttling and detected reuse), and goes to the hook registered with
//! [`TokenGateBuilder::on_audit`](crate::TokenGateBuilder::on_audit) if any. An event carries
//! the subject, session id, application and client address; never a token, a password or a
//! secret.
//!
//! # Example
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use tokengate::audit::{AuditEvent, AuditKind};
//! use tokengate::credentials::MemoryDirectory;
//! use tokengate::{Config, TokenGate};
//!
//! let seen: Arc<Mutex<Vec<AuditKind>>> = Arc::default();
//! let sink = seen.clone();
//! let config = Config::default().with_secret("an-example-secret-of-at-least-32-bytes");
//! let gate = TokenGate::builder(config)
//!     .credentials(MemoryDirectory::new())
//!     .on_audit(move |event: &AuditEvent| sink.lock().unwrap().push(event.kind))
//!     .build()?;
//! # drop(gate);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::net::IpAddr;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuditKind {
    /// A sign-in succeeded and opened a session.
    SignIn,
    /// A sign-in failed: unknown login, wrong password, unknown application or wrong secret.
    SignInFailed,
    /// A sign-in was refused by throttling, before its credentials were checked.
    Throttled,
    /// An application failed to authenticate as an OAuth client (introspection, revocation):
    /// unknown key or wrong secret.
    ClientFailed,
    /// A refresh token was traded for a new access token.
    Refresh,
    /// A refresh token that rotation had replaced was used again; its session was ended.
    ReuseDetected,
    /// A sign-out ended sessions (or found none to end).
    SignOut,
    /// A second factor was enrolled (pending until confirmed).
    FactorAdded,
    /// A pending second factor was confirmed and is active.
    FactorConfirmed,
    /// A second factor was removed.
    FactorRemoved,
    /// A second factor was proved: the session is at `aal2`.
    FactorVerified,
    /// A second-factor code (or recovery code) was wrong or used already.
    FactorFailed,
    /// A recovery code was spent in place of a second factor.
    RecoveryCodeUsed,
    /// New recovery codes replaced those left.
    RecoveryCodesReplaced,
    /// A passkey's signature counter went back, as a cloned authenticator's does: the passkey
    /// was removed.
    PasskeyCloned,
    /// A sign-in with an identity provider started: the browser was sent to it.
    ProviderStarted,
    /// A sign-in with an identity provider came back and failed (its state, its answer, or no
    /// account for the identity); the sign-ins it completes are [`AuditKind::SignIn`] events
    /// with the provider.
    ProviderFailed,
}

impl AuditKind {
    /// The event's name in logs: `signin`, `signin_failed`, ...
    pub fn name(self) -> &'static str {
        match self {
            Self::SignIn => "signin",
            Self::SignInFailed => "signin_failed",
            Self::Throttled => "throttled",
            Self::ClientFailed => "client_failed",
            Self::Refresh => "refresh",
            Self::ReuseDetected => "reuse_detected",
            Self::SignOut => "signout",
            Self::FactorAdded => "factor_added",
            Self::FactorConfirmed => "factor_confirmed",
            Self::FactorRemoved => "factor_removed",
            Self::FactorVerified => "factor_verified",
            Self::FactorFailed => "factor_failed",
            Self::RecoveryCodeUsed => "recovery_code_used",
            Self::RecoveryCodesReplaced => "recovery_codes_replaced",
            Self::PasskeyCloned => "passkey_cloned",
            Self::ProviderStarted => "provider_started",
            Self::ProviderFailed => "provider_failed",
        }
    }
}

/// One audit event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditEvent {
    /// What happened.
    pub kind: AuditKind,
    /// The subject: the login (as tried, for failures) or the application key.
    pub subject: Option<String>,
    /// The session id.
    pub session: Option<String>,
    /// The application, for application logins.
    pub application: Option<String>,
    /// The client address (see [`crate::throttle`] for proxies).
    pub client: Option<IpAddr>,
    /// How many sessions a sign-out ended.
    pub sessions_ended: Option<usize>,
    /// The identity provider of a sign-in with one (its configured name).
    pub provider: Option<String>,
}

impl AuditEvent {
    pub(crate) fn new(kind: AuditKind, client: Option<IpAddr>) -> Self {
        Self {
            kind,
            subject: None,
            session: None,
            application: None,
            client,
            sessions_ended: None,
            provider: None,
        }
    }

    #[cfg_attr(not(feature = "federation"), allow(dead_code))]
    pub(crate) fn provider(mut self, provider: &str) -> Self {
        self.provider = Some(provider.to_owned());
        self
    }

    pub(crate) fn subject(mut self, subject: &str) -> Self {
        self.subject = Some(subject.to_owned());
        self
    }

    pub(crate) fn session(mut self, session: &str) -> Self {
        self.session = Some(session.to_owned());
        self
    }

    pub(crate) fn application(mut self, application: Option<&str>) -> Self {
        self.application = application.map(str::to_owned);
        self
    }

    pub(crate) fn ended(mut self, ended: usize) -> Self {
        self.sessions_ended = Some(ended);
        self
    }

    /// Logs the event on `tokengate::audit`.
    pub(crate) fn log(&self) {
        let event = self.kind.name();
        let subject = self.subject.as_deref();
        let session = self.session.as_deref();
        let application = self.application.as_deref();
        let client = self.client.map(|ip| ip.to_string());
        let client = client.as_deref();
        let ended = self.sessions_ended;
        let provider = self.provider.as_deref();
        match self.kind {
            AuditKind::SignInFailed
            | AuditKind::Throttled
            | AuditKind::ReuseDetected
            | AuditKind::ProviderFailed => {
                tracing::warn!(target: "tokengate::audit", event, subject, session, application, client, ended, provider);
            }
            _ => {
                tracing::info!(target: "tokengate::audit", event, subject, session, application, client, ended, provider);
            }
        }
    }
}
