-- The change feed behind the in-memory check of access tokens: every change to a session or an
-- account that a cached copy must not outlive is recorded here, by trigger, in the same
-- transaction as the change, so no write path (gatehouse's own, the admin CLI run beside the
-- server, an operator's SQL) can skip it. The server reads new rows several times a second.
-- `at_ms` is the database's own clock: the feed orders commits, it is not business time.
CREATE TABLE row_changes (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    kind   TEXT NOT NULL CHECK (kind IN ('user', 'session')),
    row_id BLOB NOT NULL,
    at_ms  INTEGER NOT NULL
);
CREATE INDEX row_changes_at ON row_changes(at_ms);

-- Signing in only moves `last_login`, and a rotation only `last_used_at`: neither is a reason
-- to drop a cached copy.
CREATE TRIGGER users_changed AFTER UPDATE ON users FOR EACH ROW
    WHEN OLD.last_login IS NEW.last_login
BEGIN
    INSERT INTO row_changes (kind, row_id, at_ms)
    VALUES ('user', OLD.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
CREATE TRIGGER users_deleted AFTER DELETE ON users FOR EACH ROW
BEGIN
    INSERT INTO row_changes (kind, row_id, at_ms)
    VALUES ('user', OLD.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
CREATE TRIGGER sessions_changed AFTER UPDATE OF revoked_at, expires_at, amr, auth_time ON sessions FOR EACH ROW
BEGIN
    INSERT INTO row_changes (kind, row_id, at_ms)
    VALUES ('session', OLD.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
CREATE TRIGGER sessions_deleted AFTER DELETE ON sessions FOR EACH ROW
BEGIN
    INSERT INTO row_changes (kind, row_id, at_ms)
    VALUES ('session', OLD.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
