-- users.failed_login_count and users.locked_until came with the foundation but were never the
-- lockout: that is login_failures (0006), counted per account and IP. Dropped so nobody reads
-- a counter that is always 0 and a lock that never happens.
ALTER TABLE users DROP COLUMN failed_login_count;
ALTER TABLE users DROP COLUMN locked_until;
