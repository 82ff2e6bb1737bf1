//! Every statement of the store, in one place: the schema, then the sessions' statements,
//! then the attempt counter's. `?n` are the bound parameters, as each call site binds them.

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
     );";

/// The schema's version, in `PRAGMA user_version`.
pub(crate) const SCHEMA_VERSION: &str = "PRAGMA user_version";

/// The session table's columns, for the migration.
pub(crate) const SESSION_COLUMNS: &str = "SELECT name FROM pragma_table_info('tokengate_sessions')";

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
