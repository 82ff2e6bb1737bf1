//! Every statement of the store, in one place: the schema, then the sessions' statements,
//! then the attempt counter's, then the second factors' and recovery codes', then the
//! passkeys' ceremony challenges. `?n` are the bound parameters, as each call site binds them.

/// The factor columns, in the order `factor()` reads them.
macro_rules! factor_columns {
    () => {
        "id, subject, kind, secret, created_at, confirmed_at, expires_at, last_step, last_used_at, \
         name, credential"
    };
}

/// The session columns, in the order `session()` reads them.
macro_rules! columns {
    () => {
        "id, subject, application, claims, created_at, refreshed_at, expires_at, \
         token, previous, rotated_at, user_agent, address"
    };
}

/// The schema, created where missing (WAL, `synchronous = NORMAL`, a 5 s busy timeout).
pub(crate) const SCHEMA: &str = "PRAGMA journal_mode = WAL;
     PRAGMA synchronous = NORMAL;
     PRAGMA busy_timeout = 5000;
     CREATE TABLE IF NOT EXISTS tokengate_sessions (
         id TEXT PRIMARY KEY,
         subject TEXT NOT NULL,
         application TEXT,
         claims TEXT NOT NULL,
         created_at INTEGER NOT NULL,
         refreshed_at INTEGER NOT NULL,
         expires_at INTEGER,
         token TEXT NOT NULL,
         previous TEXT,
         rotated_at INTEGER NOT NULL,
         user_agent TEXT,
         address TEXT
     );
     CREATE INDEX IF NOT EXISTS tokengate_sessions_subject
         ON tokengate_sessions (subject);
     CREATE INDEX IF NOT EXISTS tokengate_sessions_expiry
         ON tokengate_sessions (expires_at);
     CREATE TABLE IF NOT EXISTS tokengate_attempts (
         key TEXT PRIMARY KEY,
         count INTEGER NOT NULL,
         ends_at INTEGER NOT NULL
     );
     CREATE TABLE IF NOT EXISTS tokengate_factors (
         subject TEXT NOT NULL,
         id TEXT NOT NULL,
         kind TEXT NOT NULL,
         secret TEXT NOT NULL,
         created_at INTEGER NOT NULL,
         confirmed_at INTEGER,
         expires_at INTEGER,
         last_step INTEGER NOT NULL,
         last_used_at INTEGER,
         name TEXT,
         credential TEXT,
         PRIMARY KEY (subject, id)
     );
     CREATE INDEX IF NOT EXISTS tokengate_factors_expiry
         ON tokengate_factors (expires_at);
     CREATE TABLE IF NOT EXISTS tokengate_recovery_codes (
         subject TEXT NOT NULL,
         code TEXT NOT NULL,
         PRIMARY KEY (subject, code)
     ) WITHOUT ROWID;
     CREATE TABLE IF NOT EXISTS tokengate_challenges (
         key TEXT PRIMARY KEY,
         state TEXT NOT NULL,
         expires_at INTEGER NOT NULL
     );
     CREATE INDEX IF NOT EXISTS tokengate_challenges_expiry
         ON tokengate_challenges (expires_at);";

/// A credential id is held once in the store: made by the migration, once the column exists.
pub(crate) const CREDENTIAL_INDEX: &str =
    "CREATE UNIQUE INDEX IF NOT EXISTS tokengate_factors_credential \
     ON tokengate_factors (credential) WHERE credential IS NOT NULL";

/// The schema's version, in `PRAGMA user_version`.
pub(crate) const SCHEMA_VERSION: &str = "PRAGMA user_version";

/// The session table's columns, for the migration.
pub(crate) const SESSION_COLUMNS: &str = "SELECT name FROM pragma_table_info('tokengate_sessions')";

/// The factor table's columns, for the migration.
pub(crate) const FACTOR_COLUMNS: &str = "SELECT name FROM pragma_table_info('tokengate_factors')";

/// `?1..?12` the session's columns: written whole.
pub(crate) const WRITE_SESSION: &str = concat!(
    "INSERT OR REPLACE INTO tokengate_sessions (",
    columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
);

/// `?1` now: the expired sessions go.
pub(crate) const DELETE_EXPIRED_SESSIONS: &str =
    "DELETE FROM tokengate_sessions WHERE expires_at IS NOT NULL AND expires_at <= ?1";

/// `?1` subject, `?2` the new session, `?3` now: the subject's other live sessions.
pub(crate) const OTHER_LIVE_SESSIONS: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM tokengate_sessions WHERE subject = ?1 AND id <> ?2 \
     AND (expires_at IS NULL OR expires_at > ?3)"
);

/// `?1` id.
pub(crate) const DELETE_SESSION: &str = "DELETE FROM tokengate_sessions WHERE id = ?1";

/// `?1` id.
pub(crate) const SESSION_BY_ID: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM tokengate_sessions WHERE id = ?1"
);

/// `?1` id, `?2` subject, `?3` now.
pub(crate) const IS_LIVE: &str = "SELECT 1 FROM tokengate_sessions WHERE id = ?1 AND subject = ?2 \
     AND (expires_at IS NULL OR expires_at > ?3)";

/// `?1` id, `?2` subject, `?3` now: deletes the session if it is live (the count says so).
pub(crate) const DELETE_LIVE_SESSION: &str =
    "DELETE FROM tokengate_sessions WHERE id = ?1 AND subject = ?2 \
     AND (expires_at IS NULL OR expires_at > ?3)";

/// `?1` id, `?2` subject: deletes it, live or not.
pub(crate) const DELETE_SUBJECT_SESSION: &str =
    "DELETE FROM tokengate_sessions WHERE id = ?1 AND subject = ?2";

/// `?1` subject, `?2` the session kept (or null), `?3` now, `?4` the only session to end (or
/// null), `?5` the most to end (`-1`: no limit): the live ones end, their ids come back.
pub(crate) const REVOKE_SUBJECT: &str = "DELETE FROM tokengate_sessions WHERE id IN ( \
         SELECT id FROM tokengate_sessions WHERE subject = ?1 AND id IS NOT ?2 \
         AND (?4 IS NULL OR id = ?4) \
         AND (expires_at IS NULL OR expires_at > ?3) LIMIT ?5) \
     RETURNING id";

/// `?1` subject, `?2` now: the live sessions, oldest first.
pub(crate) const LIST: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM tokengate_sessions WHERE subject = ?1 \
     AND (expires_at IS NULL OR expires_at > ?2) ORDER BY created_at, id"
);

/// `?1` now: the ended windows go.
pub(crate) const DELETE_ENDED_WINDOWS: &str = "DELETE FROM tokengate_attempts WHERE ends_at <= ?1";

/// `?1` key.
pub(crate) const WINDOW: &str = "SELECT count, ends_at FROM tokengate_attempts WHERE key = ?1";

/// `?1` key.
pub(crate) const COUNT_ATTEMPT: &str =
    "UPDATE tokengate_attempts SET count = count + 1 WHERE key = ?1";

/// `?1` key, `?2` the window's end.
pub(crate) const OPEN_WINDOW: &str =
    "INSERT INTO tokengate_attempts (key, count, ends_at) VALUES (?1, 1, ?2)";

/// `?1` key, `?2` the end of the window the attempt was counted in: a window back at zero goes.
pub(crate) const DELETE_LAST_ATTEMPT: &str =
    "DELETE FROM tokengate_attempts WHERE key = ?1 AND ends_at = ?2 AND count <= 1";

/// `?1` key, `?2` as above: one attempt given back.
pub(crate) const GIVE_BACK_ATTEMPT: &str = "UPDATE tokengate_attempts SET count = count - 1 \
     WHERE key = ?1 AND ends_at = ?2 AND count > 1";

/// `?1` key.
pub(crate) const CLEAR: &str = "DELETE FROM tokengate_attempts WHERE key = ?1";

/// `?1` now: the pending factors that ended go (of every subject, as sessions do).
pub(crate) const DELETE_ENDED_FACTORS: &str = "DELETE FROM tokengate_factors \
     WHERE confirmed_at IS NULL AND (expires_at IS NULL OR expires_at <= ?1)";

/// `?1..?11` the factor's columns, `?12` the most live factors its subject may hold: added
/// unless the subject holds that many, or one with its id or its credential id (the count
/// says so).
pub(crate) const ADD_FACTOR: &str = concat!(
    "INSERT INTO tokengate_factors (",
    factor_columns!(),
    ") SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11 \
     WHERE (SELECT COUNT(*) FROM tokengate_factors WHERE subject = ?2 \
         AND (confirmed_at IS NOT NULL OR expires_at > ?5)) < ?12 \
     ON CONFLICT DO NOTHING"
);

/// `?1` credential id: whether a factor holds it, whoever's, live or not.
pub(crate) const CREDENTIAL_HELD: &str =
    "SELECT EXISTS (SELECT 1 FROM tokengate_factors WHERE credential = ?1)";

/// `?1` credential id: the active factor that holds it.
pub(crate) const CREDENTIAL: &str = concat!(
    "SELECT ",
    factor_columns!(),
    " FROM tokengate_factors WHERE credential = ?1 AND confirmed_at IS NOT NULL"
);

/// `?1` subject, `?2` id, `?3` last step (the signature counter), `?4` secret, `?5` last used
/// at: a passkey after a sign-in.
pub(crate) const USE_CREDENTIAL: &str = "UPDATE tokengate_factors \
     SET last_step = ?3, secret = ?4, last_used_at = ?5 \
     WHERE subject = ?1 AND id = ?2";

/// `?1` subject, `?2` id, `?3` name, `?4` now: renames it if live (the count says so).
pub(crate) const RENAME_FACTOR: &str = "UPDATE tokengate_factors SET name = ?3 \
     WHERE subject = ?1 AND id = ?2 AND (confirmed_at IS NOT NULL OR expires_at > ?4)";

/// `?1` subject, `?2` now: the live factors, oldest first (in the order added).
pub(crate) const FACTORS: &str = concat!(
    "SELECT ",
    factor_columns!(),
    " FROM tokengate_factors WHERE subject = ?1 \
     AND (confirmed_at IS NOT NULL OR expires_at > ?2) ORDER BY created_at, rowid"
);

/// `?1` subject, `?2` id.
pub(crate) const FACTOR: &str = concat!(
    "SELECT ",
    factor_columns!(),
    " FROM tokengate_factors WHERE subject = ?1 AND id = ?2"
);

/// `?1` subject, `?2` id, `?3` confirmed at, `?4` ends at, `?5` last step, `?6` last used at:
/// a factor after a step is accepted.
pub(crate) const ACCEPT_STEP: &str = "UPDATE tokengate_factors \
     SET confirmed_at = ?3, expires_at = ?4, last_step = ?5, last_used_at = ?6 \
     WHERE subject = ?1 AND id = ?2";

/// `?1` subject.
pub(crate) const ACTIVE_FACTORS: &str =
    "SELECT COUNT(*) FROM tokengate_factors WHERE subject = ?1 AND confirmed_at IS NOT NULL";

/// `?1` subject, `?2` id, `?3` now: deletes it, live or not; whether it was live comes back.
pub(crate) const DELETE_FACTOR: &str = "DELETE FROM tokengate_factors \
     WHERE subject = ?1 AND id = ?2 \
     RETURNING confirmed_at IS NOT NULL OR expires_at > ?3";

/// `?1` subject.
pub(crate) const DELETE_RECOVERY: &str = "DELETE FROM tokengate_recovery_codes WHERE subject = ?1";

/// `?1` subject, `?2` code (hashed); a code given twice is kept once.
pub(crate) const ADD_RECOVERY: &str =
    "INSERT OR IGNORE INTO tokengate_recovery_codes (subject, code) VALUES (?1, ?2)";

/// `?1` subject, `?2` code (hashed): spent while the subject has an active factor (the count
/// says so).
pub(crate) const SPEND_RECOVERY: &str = "DELETE FROM tokengate_recovery_codes \
     WHERE subject = ?1 AND code = ?2 AND EXISTS ( \
         SELECT 1 FROM tokengate_factors WHERE subject = ?1 AND confirmed_at IS NOT NULL)";

/// `?1` subject.
pub(crate) const RECOVERY_LEFT: &str =
    "SELECT COUNT(*) FROM tokengate_recovery_codes WHERE subject = ?1";

/// `?1` now: a few ended challenges go, so abandoned ceremonies do not pile up.
pub(crate) const DELETE_ENDED_CHALLENGES: &str = "DELETE FROM tokengate_challenges \
     WHERE rowid IN (SELECT rowid FROM tokengate_challenges WHERE expires_at <= ?1 LIMIT 64)";

/// `?1` key, `?2` state, `?3` ends at: written whole.
pub(crate) const PUT_CHALLENGE: &str =
    "INSERT OR REPLACE INTO tokengate_challenges (key, state, expires_at) VALUES (?1, ?2, ?3)";

/// `?1` key: deletes it, ended or not; its state and end come back.
pub(crate) const TAKE_CHALLENGE: &str =
    "DELETE FROM tokengate_challenges WHERE key = ?1 RETURNING state, expires_at";
