//! The statements, one per operation, with the schema written in. `$1` is always the
//! namespace (`store_prefix`) the rows belong to.

/// The columns of a session, in the order [`crate::session`] reads them.
const COLUMNS: &str = "id, subject, application, claims, created_at, refreshed_at, expires_at, \
                       token, previous, rotated_at, user_agent, address";

/// The schema's version, in `schema_version`: 2 records the client of each session and
/// creates sessions through `create_session`.
pub(crate) const VERSION: i32 = 2;

pub(crate) struct Statements {
    /// The schema's version, when it has one (an error when it does not exist yet).
    pub(crate) version: String,
    pub(crate) schema: String,
    pub(crate) create: String,
    pub(crate) refresh: String,
    pub(crate) is_live: String,
    pub(crate) revoke: String,
    pub(crate) revoke_subject: String,
    pub(crate) list: String,
    pub(crate) reserve: String,
    pub(crate) release: String,
    pub(crate) clear: String,
}

impl Statements {
    /// The statements over the tables of schema `s` (a checked identifier).
    #[allow(clippy::too_many_lines)] // one statement per operation
    pub(crate) fn new(s: &str) -> Self {
        let create_session = create_session(s);
        let params = (1..=14)
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let t = |column: &str| format!("t.{column}");
        let returning: Vec<String> = COLUMNS.split(", ").map(t).collect();
        let returning = returning.join(", ");
        Self {
            version: format!("SELECT max(version) FROM {s}.schema_version"),
            // Idempotent and versioned; the advisory lock keeps instances that start together
            // from racing on the catalog.
            schema: format!(
                "BEGIN;
                 SELECT pg_advisory_xact_lock(hashtext('tokengate schema {s}'));
                 CREATE SCHEMA IF NOT EXISTS {s};
                 CREATE TABLE IF NOT EXISTS {s}.schema_version (version integer NOT NULL);
                 INSERT INTO {s}.schema_version SELECT {VERSION}
                     WHERE NOT EXISTS (SELECT 1 FROM {s}.schema_version);
                 CREATE TABLE IF NOT EXISTS {s}.sessions (
                     ns text NOT NULL,
                     id text NOT NULL,
                     subject text NOT NULL,
                     application text,
                     claims text NOT NULL,
                     created_at bigint NOT NULL,
                     refreshed_at bigint NOT NULL,
                     expires_at bigint,
                     token text NOT NULL,
                     previous text,
                     rotated_at bigint NOT NULL,
                     PRIMARY KEY (ns, id)
                 );
                 CREATE INDEX IF NOT EXISTS sessions_subject ON {s}.sessions (ns, subject);
                 CREATE INDEX IF NOT EXISTS sessions_expiry ON {s}.sessions (expires_at);
                 CREATE TABLE IF NOT EXISTS {s}.attempts (
                     ns text NOT NULL,
                     key text NOT NULL,
                     count bigint NOT NULL,
                     ends_at bigint NOT NULL,
                     PRIMARY KEY (ns, key)
                 );
                 CREATE INDEX IF NOT EXISTS attempts_end ON {s}.attempts (ends_at);
                 -- Version 2.
                 ALTER TABLE {s}.sessions ADD COLUMN IF NOT EXISTS user_agent text,
                     ADD COLUMN IF NOT EXISTS address text;
                 {create_session}
                 UPDATE {s}.schema_version SET version = {VERSION} WHERE version < {VERSION};
                 COMMIT;"
            ),
            // $2..$13: the session, $14 the most live sessions of its subject (or null).
            create: format!("SELECT * FROM {s}.create_session({params})"),
            // $2 id, $3 subject, $4 now, $5 the token to rotate to (or null), $6 the presented
            // token, $7 the grace, $8 the idle timeout (or null). The rules of
            // `Refreshed::decide`, on the locked row (its latest version, whatever this
            // statement's snapshot): idle (deleted), current (refreshed, rotated if asked),
            // replaced within the grace, or reused (deleted).
            refresh: format!(
                "WITH s AS (
                     SELECT ns, {COLUMNS} FROM {s}.sessions
                     WHERE ns = $1 AND id = $2 AND subject = $3
                       AND (expires_at IS NULL OR expires_at > $4)
                     FOR UPDATE
                 ), idle AS (
                     DELETE FROM {s}.sessions t USING s
                     WHERE t.ns = s.ns AND t.id = s.id AND $4 - s.refreshed_at > $8::bigint
                     RETURNING 'idle'::text, {returning}
                 ), used AS (
                     SELECT * FROM s WHERE $8::bigint IS NULL OR $4 - s.refreshed_at <= $8
                 ), current AS (
                     UPDATE {s}.sessions t SET
                         refreshed_at = $4,
                         previous = CASE WHEN $5::text IS NULL THEN t.previous ELSE t.token END,
                         token = COALESCE($5::text, t.token),
                         rotated_at = CASE WHEN $5::text IS NULL THEN t.rotated_at ELSE $4 END
                     FROM used s WHERE t.ns = s.ns AND t.id = s.id AND s.token = $6
                     RETURNING 'current'::text, {returning}
                 ), replaced AS (
                     SELECT 'replaced'::text, {COLUMNS} FROM used s
                     WHERE s.token <> $6 AND $5::text IS NOT NULL
                       AND COALESCE(s.previous = $6, false) AND $4 - s.rotated_at <= $7
                 ), reused AS (
                     DELETE FROM {s}.sessions t USING used s
                     WHERE t.ns = s.ns AND t.id = s.id AND s.token <> $6 AND $5::text IS NOT NULL
                       AND NOT (COALESCE(s.previous = $6, false) AND $4 - s.rotated_at <= $7)
                     RETURNING 'reused'::text, {returning}
                 )
                 SELECT * FROM current UNION ALL SELECT * FROM replaced
                 UNION ALL SELECT * FROM reused UNION ALL SELECT * FROM idle"
            ),
            is_live: format!(
                "SELECT EXISTS (SELECT 1 FROM {s}.sessions
                     WHERE ns = $1 AND id = $2 AND subject = $3
                       AND (expires_at IS NULL OR expires_at > $4))"
            ),
            revoke: format!(
                "WITH ended AS (
                     DELETE FROM {s}.sessions WHERE ns = $1 AND id = $2 AND subject = $3
                     RETURNING expires_at
                 )
                 SELECT EXISTS (SELECT 1 FROM ended
                     WHERE expires_at IS NULL OR expires_at > $4)"
            ),
            // $2 subject, $3 the session to keep (or null), $4 now, $5 whether a token asks,
            // $6 its session, $7 its token, $8 the grace (or null), $9 the only session to end
            // (or null), $10 the most live sessions to end (or null: all, the ended ones too):
            // the rule of `Session::accepts`, then the sign-out, in one statement. A batch
            // deletes by the ids it chose, through the primary key: its cost is its size, not
            // the subject's sessions.
            revoke_subject: format!(
                "WITH accepted AS (
                     SELECT 1 WHERE NOT $5::bool
                     UNION ALL
                     SELECT 1 FROM {s}.sessions
                     WHERE $5::bool AND ns = $1 AND id = $6 AND subject = $2
                       AND (expires_at IS NULL OR expires_at > $4)
                       AND (token = $7 OR ($8::bigint IS NOT NULL
                            AND COALESCE(previous = $7, false) AND $4 - rotated_at <= $8))
                 ), every AS (
                     DELETE FROM {s}.sessions
                     WHERE $10::bigint IS NULL AND ns = $1 AND subject = $2
                       AND id IS DISTINCT FROM $3 AND ($9::text IS NULL OR id = $9)
                       AND EXISTS (SELECT 1 FROM accepted)
                     RETURNING id, expires_at
                 ), chosen AS (
                     SELECT id FROM {s}.sessions
                     WHERE $10::bigint IS NOT NULL AND ns = $1 AND subject = $2
                       AND id IS DISTINCT FROM $3 AND ($9::text IS NULL OR id = $9)
                       AND (expires_at IS NULL OR expires_at > $4)
                     LIMIT $10 FOR UPDATE
                 ), batch AS (
                     DELETE FROM {s}.sessions
                     WHERE $10::bigint IS NOT NULL AND ns = $1
                       AND id IN (SELECT id FROM chosen)
                       AND EXISTS (SELECT 1 FROM accepted)
                     RETURNING id, expires_at
                 ), ended AS (
                     SELECT id, expires_at FROM every
                     UNION ALL
                     SELECT id, expires_at FROM batch
                 )
                 SELECT EXISTS (SELECT 1 FROM accepted),
                        COALESCE((SELECT array_agg(id ORDER BY id) FROM ended
                                  WHERE expires_at IS NULL OR expires_at > $4),
                                 ARRAY[]::text[])"
            ),
            list: format!(
                "SELECT {COLUMNS} FROM {s}.sessions
                 WHERE ns = $1 AND subject = $2 AND (expires_at IS NULL OR expires_at > $3)
                 ORDER BY created_at, id"
            ),
            // $2 key, $3 limit, $4 now, $5 window length: counts and grants, or leaves the
            // window as it is and answers it refused (read from before the statement).
            // Ended windows of the namespace go as attempts come, a few per reservation,
            // skipping rows another statement holds: the table stays bounded by open windows.
            reserve: format!(
                "WITH swept AS (
                     DELETE FROM {s}.attempts WHERE ctid IN (
                         SELECT ctid FROM {s}.attempts
                         WHERE ns = $1 AND ends_at <= $4 AND key <> $2
                         LIMIT 16 FOR UPDATE SKIP LOCKED)
                 ),
                 counted AS (
                     INSERT INTO {s}.attempts AS a (ns, key, count, ends_at)
                     VALUES ($1, $2, 1, $4 + $5)
                     ON CONFLICT (ns, key) DO UPDATE SET
                         count = CASE WHEN a.ends_at <= $4 THEN 1 ELSE a.count + 1 END,
                         ends_at = CASE WHEN a.ends_at <= $4 THEN $4 + $5 ELSE a.ends_at END
                     WHERE a.ends_at <= $4 OR a.count < $3
                     RETURNING count, ends_at
                 )
                 SELECT true, count, ends_at FROM counted
                 UNION ALL
                 SELECT false, count, ends_at FROM {s}.attempts
                 WHERE ns = $1 AND key = $2 AND NOT EXISTS (SELECT 1 FROM counted)"
            ),
            // $3 the end of the window the attempt was counted in: given back only to it. A
            // window given back to zero is deleted: it protects nothing.
            release: format!(
                "WITH gone AS (
                     DELETE FROM {s}.attempts
                     WHERE ns = $1 AND key = $2 AND ends_at = $3 AND count <= 1
                 )
                 UPDATE {s}.attempts SET count = count - 1
                 WHERE ns = $1 AND key = $2 AND ends_at = $3 AND count > 1"
            ),
            clear: format!("DELETE FROM {s}.attempts WHERE ns = $1 AND key = $2"),
        }
    }
}

/// The function that creates a session: the sweep, the insert and, with a limit, the end of
/// the subject's least recently used sessions. A function, so that each step sees what
/// concurrent sign-ins committed before it (a new snapshot per statement), and the sign-ins
/// of one subject queue on an advisory lock only when there is a limit to keep.
fn create_session(s: &str) -> String {
    format!(
        r#"CREATE OR REPLACE FUNCTION {s}.create_session(
             p_ns text, p_id text, p_subject text, p_application text, p_claims text,
             p_created_at bigint, p_refreshed_at bigint, p_expires_at bigint, p_token text,
             p_previous text, p_rotated_at bigint, p_user_agent text, p_address text,
             p_max integer)
         RETURNS SETOF text LANGUAGE plpgsql AS $fn$
         BEGIN
             IF p_max IS NOT NULL THEN
                 PERFORM pg_advisory_xact_lock(hashtext('tokengate ' || p_ns), hashtext(p_subject));
             END IF;
             -- A few ended sessions and windows go on the way, skipping rows others hold.
             DELETE FROM {s}.sessions WHERE (ns, id) IN (
                 SELECT ns, id FROM {s}.sessions WHERE expires_at <= p_created_at
                 LIMIT 32 FOR UPDATE SKIP LOCKED);
             DELETE FROM {s}.attempts WHERE (ns, key) IN (
                 SELECT ns, key FROM {s}.attempts WHERE ends_at <= p_created_at
                 LIMIT 32 FOR UPDATE SKIP LOCKED);
             INSERT INTO {s}.sessions (ns, {COLUMNS})
             VALUES (p_ns, p_id, p_subject, p_application, p_claims, p_created_at,
                     p_refreshed_at, p_expires_at, p_token, p_previous, p_rotated_at,
                     p_user_agent, p_address)
             ON CONFLICT (ns, id) DO UPDATE SET
                 subject = EXCLUDED.subject, application = EXCLUDED.application,
                 claims = EXCLUDED.claims, created_at = EXCLUDED.created_at,
                 refreshed_at = EXCLUDED.refreshed_at, expires_at = EXCLUDED.expires_at,
                 token = EXCLUDED.token, previous = EXCLUDED.previous,
                 rotated_at = EXCLUDED.rotated_at, user_agent = EXCLUDED.user_agent,
                 address = EXCLUDED.address;
             IF p_max IS NOT NULL THEN
                 -- The order of `tokengate_store::evicted`: the most recently used stay.
                 RETURN QUERY
                 DELETE FROM {s}.sessions t WHERE t.ns = p_ns AND t.id IN (
                     SELECT id FROM {s}.sessions
                     WHERE ns = p_ns AND subject = p_subject AND id <> p_id
                       AND (expires_at IS NULL OR expires_at > p_created_at)
                     ORDER BY refreshed_at DESC, created_at DESC, id COLLATE "C" DESC
                     OFFSET GREATEST(p_max - 1, 0))
                 RETURNING t.id;
             END IF;
         END
         $fn$;"#
    )
}
