//! The statements, one per operation, with the schema written in. `$1` is always the
//! namespace (`store_prefix`) the rows belong to.

/// The columns of a session, in the order [`crate::session`] reads them.
const COLUMNS: &str = "id, subject, application, claims, created_at, refreshed_at, expires_at, \
                       token, previous, rotated_at, user_agent, address";

/// The columns of a factor, in the order [`crate::factors`] reads them.
const FACTOR_COLUMNS: &str = "id, subject, kind, secret, created_at, confirmed_at, expires_at, \
                              last_step, last_used_at, name, credential";

/// The schema's version, in `schema_version`: 2 records the client of each session and
/// creates sessions through `create_session`; 3 keeps second factors and recovery codes; 4
/// names factors and keeps passkeys (each credential id once in a namespace) and the
/// challenges of their ceremonies.
pub(crate) const VERSION: i32 = 4;

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
    pub(crate) session: String,
    pub(crate) reserve: String,
    pub(crate) release: String,
    pub(crate) clear: String,
    pub(crate) reissue: String,
    pub(crate) add_factor: String,
    pub(crate) factors: String,
    pub(crate) confirm_factor: String,
    pub(crate) accept_step: String,
    pub(crate) remove_factor: String,
    pub(crate) replace_recovery: String,
    pub(crate) spend_recovery: String,
    pub(crate) recovery_left: String,
    pub(crate) add_credential: String,
    pub(crate) credential: String,
    pub(crate) use_credential: String,
    pub(crate) rename_factor: String,
    pub(crate) put_challenge: String,
    pub(crate) take_challenge: String,
}

impl Statements {
    /// The statements over the tables of schema `s` (a checked identifier).
    #[allow(clippy::too_many_lines)] // one statement per operation
    pub(crate) fn new(s: &str) -> Self {
        let create_session = create_session(s);
        let factor_functions = factor_functions(s);
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
                 -- Version 3.
                 CREATE TABLE IF NOT EXISTS {s}.factors (
                     ns text NOT NULL,
                     subject text NOT NULL,
                     id text NOT NULL,
                     kind text NOT NULL,
                     secret text NOT NULL,
                     created_at bigint NOT NULL,
                     confirmed_at bigint,
                     expires_at bigint,
                     last_step bigint NOT NULL,
                     last_used_at bigint,
                     PRIMARY KEY (ns, subject, id)
                 );
                 CREATE INDEX IF NOT EXISTS factors_pending ON {s}.factors (ns, expires_at)
                     WHERE confirmed_at IS NULL;
                 CREATE TABLE IF NOT EXISTS {s}.recovery_codes (
                     ns text NOT NULL,
                     subject text NOT NULL,
                     code text NOT NULL,
                     PRIMARY KEY (ns, subject, code)
                 );
                 -- Version 4.
                 ALTER TABLE {s}.factors ADD COLUMN IF NOT EXISTS name text,
                     ADD COLUMN IF NOT EXISTS credential text;
                 CREATE UNIQUE INDEX IF NOT EXISTS factors_credential
                     ON {s}.factors (ns, credential) WHERE credential IS NOT NULL;
                 CREATE TABLE IF NOT EXISTS {s}.challenges (
                     ns text NOT NULL,
                     key text NOT NULL,
                     state text NOT NULL,
                     expires_at bigint NOT NULL,
                     PRIMARY KEY (ns, key)
                 );
                 CREATE INDEX IF NOT EXISTS challenges_expiry ON {s}.challenges (expires_at);
                 {factor_functions}
                 UPDATE {s}.schema_version SET version = {VERSION} WHERE version < {VERSION};
                 COMMIT;"
            ),
            // $2..$13: the session, $14 the most live sessions of its subject (or null).
            create: format!("SELECT * FROM {s}.create_session({params})"),
            // $2 id, $3 subject, $4 now, $5 the token to rotate to (or null), $6 the presented
            // token, $7 the grace, $8 the idle timeout (or null), $9 the touch interval. The
            // rules of `Refreshed::decide`, on the locked row (its latest version, whatever this
            // statement's snapshot): idle (deleted), current (refreshed, rotated if asked; the
            // last use kept within the touch interval), replaced within the grace, or reused
            // (deleted). `/token` answers a refresh that changes nothing from its own read of
            // the session, without this statement.
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
                         refreshed_at = CASE WHEN $5::text IS NULL AND $4 - t.refreshed_at < $9
                             THEN t.refreshed_at ELSE $4 END,
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
            session: format!(
                "SELECT {COLUMNS} FROM {s}.sessions
                 WHERE ns = $1 AND id = $2 AND subject = $3
                   AND (expires_at IS NULL OR expires_at > $4)"
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
            // $2 id, $3 subject, $4 now, $5 the presented token, $6 the new token, $7 the
            // claims: the rule of `Reissue::apply`. Of updates racing on the row, the first
            // takes its lock; the others find its new token in place of theirs, and change
            // nothing.
            reissue: format!(
                "UPDATE {s}.sessions SET
                     token = $6, claims = $7, previous = NULL, refreshed_at = $4, rotated_at = $4
                 WHERE ns = $1 AND id = $2 AND subject = $3
                   AND (expires_at IS NULL OR expires_at > $4) AND token = $5
                 RETURNING {COLUMNS}"
            ),
            // $2..$10: the factor, $11 the most live factors of its subject, $12 and $13 the
            // factor's name and credential id.
            add_factor: format!(
                "SELECT {s}.add_factor($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            ),
            // $2 subject, $3 now: active factors, and pending ones before their end.
            factors: format!(
                "SELECT {FACTOR_COLUMNS} FROM {s}.factors
                 WHERE ns = $1 AND subject = $2 AND (confirmed_at IS NOT NULL OR expires_at > $3)
                 ORDER BY created_at, id COLLATE \"C\""
            ),
            // $2 subject, $3 id, $4 step, $5 now, $6 the recovery codes: null when gone, else
            // whether the codes were stored.
            confirm_factor: format!("SELECT {s}.confirm_factor($1, $2, $3, $4, $5, $6)"),
            // $2 subject, $3 id, $4 step, $5 now: the rule of `Factor::accept` for an active
            // factor. Of updates racing on the row, the first takes its lock; the others find
            // its step and change nothing.
            accept_step: format!(
                "WITH accepted AS (
                     UPDATE {s}.factors SET last_step = $4, last_used_at = $5
                     WHERE ns = $1 AND subject = $2 AND id = $3
                       AND confirmed_at IS NOT NULL AND last_step < $4
                     RETURNING 1
                 )
                 SELECT EXISTS (SELECT 1 FROM accepted)"
            ),
            // $2 subject, $3 id, $4 now: null when no such factor, else the active ones left.
            remove_factor: format!("SELECT {s}.remove_factor($1, $2, $3, $4)"),
            // $2 subject, $3 the codes.
            replace_recovery: format!("SELECT {s}.replace_recovery($1, $2, $3)"),
            // $2 subject, $3 the code. Of deletes racing on the row, one returns it; a removal
            // of the last factor that deleted it first leaves nothing to delete.
            spend_recovery: format!(
                "WITH spent AS (
                     DELETE FROM {s}.recovery_codes
                     WHERE ns = $1 AND subject = $2 AND code = $3
                       AND EXISTS (SELECT 1 FROM {s}.factors
                           WHERE ns = $1 AND subject = $2 AND confirmed_at IS NOT NULL)
                     RETURNING 1
                 )
                 SELECT EXISTS (SELECT 1 FROM spent)"
            ),
            recovery_left: format!(
                "SELECT count(*) FROM {s}.recovery_codes WHERE ns = $1 AND subject = $2"
            ),
            // $2..$12: the factor, $13 the most live factors of its subject, $14 the recovery
            // codes: `taken`, `full`, `added` or `first` (added, with the codes).
            add_credential: format!(
                "SELECT {s}.add_credential($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
                 $13, $14)"
            ),
            // $2 credential id.
            credential: format!(
                "SELECT {FACTOR_COLUMNS} FROM {s}.factors
                 WHERE ns = $1 AND credential = $2 AND confirmed_at IS NOT NULL"
            ),
            // $2 subject, $3 id, $4 counter, $5 secret, $6 now: the rule of
            // `CredentialUse::fits` and `apply`. Of updates racing on the row with one counter,
            // the first takes its lock; the others find its counter and change nothing (unless
            // neither side keeps one).
            use_credential: format!(
                "WITH used AS (
                     UPDATE {s}.factors
                     SET last_step = GREATEST(last_step, $4), secret = $5, last_used_at = $6
                     WHERE ns = $1 AND subject = $2 AND id = $3
                       AND confirmed_at IS NOT NULL AND credential IS NOT NULL
                       AND (($4 = 0 AND last_step = 0) OR last_step < $4)
                     RETURNING 1
                 )
                 SELECT EXISTS (SELECT 1 FROM used)"
            ),
            // $2 subject, $3 id, $4 name, $5 now: a live factor renamed.
            rename_factor: format!(
                "WITH renamed AS (
                     UPDATE {s}.factors SET name = $4
                     WHERE ns = $1 AND subject = $2 AND id = $3
                       AND (confirmed_at IS NOT NULL OR expires_at > $5)
                     RETURNING 1
                 )
                 SELECT EXISTS (SELECT 1 FROM renamed)"
            ),
            // $2 key, $3 state, $4 its end, $5 now: written whole. A few ended challenges of
            // any namespace go on the way, skipping rows others hold: the table stays bounded
            // by the ceremonies under way.
            put_challenge: format!(
                "WITH swept AS (
                     DELETE FROM {s}.challenges WHERE ctid IN (
                         SELECT ctid FROM {s}.challenges
                         WHERE expires_at <= $5 AND NOT (ns = $1 AND key = $2)
                         LIMIT 32 FOR UPDATE SKIP LOCKED)
                 )
                 INSERT INTO {s}.challenges (ns, key, state, expires_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (ns, key) DO UPDATE SET
                     state = EXCLUDED.state, expires_at = EXCLUDED.expires_at"
            ),
            // $2 key, $3 now: deleted, ended or not; its state if it had not ended. Of deletes
            // racing on the row, one returns it.
            take_challenge: format!(
                "DELETE FROM {s}.challenges WHERE ns = $1 AND key = $2
                 RETURNING CASE WHEN expires_at > $3 THEN state END"
            ),
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

/// The first step of every function on a subject's factors: its advisory lock.
const LOCK: &str = "PERFORM pg_advisory_xact_lock(hashtext('tokengate factors ' || p_ns), \
                    hashtext(p_subject));";

/// A pending factor at or past its end.
const ENDED: &str = "confirmed_at IS NULL AND (expires_at IS NULL OR expires_at <= p_now)";

/// Replaces the subject's recovery codes by `p_codes`.
fn store_codes(s: &str) -> String {
    format!(
        "DELETE FROM {s}.recovery_codes WHERE ns = p_ns AND subject = p_subject;
             INSERT INTO {s}.recovery_codes (ns, subject, code)
             SELECT DISTINCT p_ns, p_subject, code FROM unnest(p_codes) AS code
             ON CONFLICT DO NOTHING;"
    )
}

/// The functions that add a factor: a TOTP one, pending, or a passkey, active at once.
fn add_functions(s: &str) -> String {
    let (lock, ended, store_codes) = (LOCK, ENDED, store_codes(s));
    // Drops ended pending factors (the subject's, and a few of others, skipping rows others
    // hold); `v_full`: the subject holds `p_max` live factors.
    let room = format!(
        "DELETE FROM {s}.factors WHERE ns = p_ns AND subject = p_subject AND {ended};
             DELETE FROM {s}.factors WHERE (ns, subject, id) IN (
                 SELECT ns, subject, id FROM {s}.factors
                 WHERE ns = p_ns AND confirmed_at IS NULL AND expires_at <= p_now
                 LIMIT 32 FOR UPDATE SKIP LOCKED);
             v_full := (SELECT count(*) FROM {s}.factors
                 WHERE ns = p_ns AND subject = p_subject) >= p_max;"
    );
    // Added unless a factor has its id or its credential id (any unique index).
    let insert = format!(
        "INSERT INTO {s}.factors (ns, {FACTOR_COLUMNS})
             VALUES (p_ns, p_id, p_subject, p_kind, p_secret, p_now, p_confirmed_at,
                     p_expires_at, p_last_step, p_last_used_at, p_name, p_credential)
             ON CONFLICT DO NOTHING;"
    );
    format!(
        r"-- Version 3 took no name nor credential id: instances of that version call this
         -- one with the defaults.
         DROP FUNCTION IF EXISTS {s}.add_factor(text, text, text, text, text, bigint, bigint,
             bigint, bigint, bigint, bigint);
         CREATE OR REPLACE FUNCTION {s}.add_factor(
             p_ns text, p_id text, p_subject text, p_kind text, p_secret text, p_now bigint,
             p_confirmed_at bigint, p_expires_at bigint, p_last_step bigint,
             p_last_used_at bigint, p_max bigint, p_name text DEFAULT NULL,
             p_credential text DEFAULT NULL)
         RETURNS boolean LANGUAGE plpgsql AS $fn$
         DECLARE
             v_full boolean;
         BEGIN
             {lock}
             {room}
             IF v_full THEN
                 RETURN false;
             END IF;
             {insert}
             RETURN FOUND;
         END
         $fn$;
         -- A passkey: `taken` when a factor of the namespace has its credential id (checked
         -- again after the insert, for one added meanwhile by another subject), `full` at
         -- `p_max` live factors, else `first` (the codes stored) or `added`.
         CREATE OR REPLACE FUNCTION {s}.add_credential(
             p_ns text, p_id text, p_subject text, p_kind text, p_secret text, p_now bigint,
             p_confirmed_at bigint, p_expires_at bigint, p_last_step bigint,
             p_last_used_at bigint, p_name text, p_credential text, p_max bigint,
             p_codes text[])
         RETURNS text LANGUAGE plpgsql AS $fn$
         DECLARE
             v_full boolean;
             v_first boolean;
         BEGIN
             {lock}
             {room}
             IF p_credential IS NULL OR EXISTS (SELECT 1 FROM {s}.factors
                     WHERE ns = p_ns AND credential = p_credential) THEN
                 RETURN 'taken';
             END IF;
             IF v_full THEN
                 RETURN 'full';
             END IF;
             v_first := NOT EXISTS (SELECT 1 FROM {s}.factors
                 WHERE ns = p_ns AND subject = p_subject AND confirmed_at IS NOT NULL);
             {insert}
             IF NOT FOUND THEN
                 IF EXISTS (SELECT 1 FROM {s}.factors
                         WHERE ns = p_ns AND credential = p_credential) THEN
                     RETURN 'taken';
                 END IF;
                 RETURN 'full';
             END IF;
             IF v_first THEN
                 {store_codes}
                 RETURN 'first';
             END IF;
             RETURN 'added';
         END
         $fn$;"
    )
}

/// The functions that change a subject's factors and recovery codes as a whole. Each queues
/// on the subject's advisory lock first (one of its own, so sign-ins never wait on factors),
/// then decides on what the statements after it see: what calls before it committed (a new
/// snapshot per statement). A pending factor is live before its end; one at or past it is
/// dropped, as [`tokengate_store::Factor::is_live`] says.
fn factor_functions(s: &str) -> String {
    let (lock, ended, store_codes) = (LOCK, ENDED, store_codes(s));
    let add_functions = add_functions(s);
    format!(
        r"{add_functions}
         CREATE OR REPLACE FUNCTION {s}.confirm_factor(
             p_ns text, p_subject text, p_id text, p_step bigint, p_now bigint, p_codes text[])
         RETURNS boolean LANGUAGE plpgsql AS $fn$
         DECLARE
             v_first boolean;
         BEGIN
             {lock}
             v_first := NOT EXISTS (SELECT 1 FROM {s}.factors
                 WHERE ns = p_ns AND subject = p_subject AND confirmed_at IS NOT NULL);
             UPDATE {s}.factors SET
                 confirmed_at = p_now, expires_at = NULL, last_step = p_step,
                 last_used_at = p_now
             WHERE ns = p_ns AND subject = p_subject AND id = p_id AND confirmed_at IS NULL
               AND expires_at > p_now AND last_step < p_step;
             IF NOT FOUND THEN
                 RETURN NULL;
             END IF;
             IF v_first THEN
                 {store_codes}
             END IF;
             RETURN v_first;
         END
         $fn$;
         CREATE OR REPLACE FUNCTION {s}.remove_factor(
             p_ns text, p_subject text, p_id text, p_now bigint)
         RETURNS integer LANGUAGE plpgsql AS $fn$
         DECLARE
             v_left integer;
         BEGIN
             {lock}
             DELETE FROM {s}.factors WHERE ns = p_ns AND subject = p_subject AND {ended};
             DELETE FROM {s}.factors WHERE ns = p_ns AND subject = p_subject AND id = p_id;
             IF NOT FOUND THEN
                 RETURN NULL;
             END IF;
             SELECT count(*) INTO v_left FROM {s}.factors
             WHERE ns = p_ns AND subject = p_subject AND confirmed_at IS NOT NULL;
             IF v_left = 0 THEN
                 DELETE FROM {s}.recovery_codes WHERE ns = p_ns AND subject = p_subject;
             END IF;
             RETURN v_left;
         END
         $fn$;
         CREATE OR REPLACE FUNCTION {s}.replace_recovery(
             p_ns text, p_subject text, p_codes text[])
         RETURNS boolean LANGUAGE plpgsql AS $fn$
         BEGIN
             {lock}
             IF NOT EXISTS (SELECT 1 FROM {s}.factors
                     WHERE ns = p_ns AND subject = p_subject AND confirmed_at IS NOT NULL) THEN
                 RETURN false;
             END IF;
             {store_codes}
             RETURN true;
         END
         $fn$;"
    )
}
