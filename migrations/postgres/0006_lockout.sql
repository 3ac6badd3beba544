-- Failed-login lockout (issue 5). One row per (subject, ip) counts consecutive failures from
-- one address, and one row per (subject, '*') counts them from everywhere; either can lock.
-- subject is a user id, or a keyed hash of an identifier that has no account (so unknown
-- accounts lock exactly like real ones and lockout cannot be used to find out who is registered).
CREATE TABLE login_failures (
    subject      TEXT NOT NULL,
    ip           TEXT NOT NULL,
    failures     INTEGER NOT NULL,
    locked_until TIMESTAMPTZ NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (subject, ip)
);
CREATE INDEX login_failures_updated ON login_failures(updated_at);
