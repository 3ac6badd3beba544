-- The change feed behind the in-memory check of access tokens: every change to a session or an
-- account that a cached copy must not outlive is recorded here, by trigger, in the same
-- transaction as the change, so no write path (gatehouse's own, the admin CLI, an operator's
-- SQL) can skip it. Each instance reads new rows several times a second and drops its copies.
-- `at_ms` is the database's own clock: the feed orders commits, it is not business time.
CREATE TABLE row_changes (
    seq    BIGSERIAL PRIMARY KEY,
    kind   TEXT NOT NULL CHECK (kind IN ('user', 'session')),
    row_id UUID NOT NULL,
    at_ms  BIGINT NOT NULL
);
CREATE INDEX row_changes_at ON row_changes(at_ms);

CREATE FUNCTION gatehouse_row_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO row_changes (kind, row_id, at_ms)
    VALUES (TG_ARGV[0], OLD.id, (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT);
    RETURN NULL;
END $$;

-- Signing in only moves `last_login`, and a rotation only `last_used_at`: neither is a reason
-- to drop a copy on every instance.
CREATE TRIGGER users_changed AFTER UPDATE ON users FOR EACH ROW
    WHEN (OLD.last_login IS NOT DISTINCT FROM NEW.last_login)
    EXECUTE FUNCTION gatehouse_row_changed('user');
CREATE TRIGGER users_deleted AFTER DELETE ON users FOR EACH ROW
    EXECUTE FUNCTION gatehouse_row_changed('user');
CREATE TRIGGER sessions_changed AFTER UPDATE OF revoked_at, expires_at, amr, auth_time ON sessions FOR EACH ROW
    EXECUTE FUNCTION gatehouse_row_changed('session');
CREATE TRIGGER sessions_deleted AFTER DELETE ON sessions FOR EACH ROW
    EXECUTE FUNCTION gatehouse_row_changed('session');
