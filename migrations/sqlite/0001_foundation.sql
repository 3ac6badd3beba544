-- gatehouse foundation schema (SQLite). UUIDs are 16-byte BLOBs, timestamps RFC 3339 text in UTC.
PRAGMA foreign_keys = ON;

CREATE TABLE users (
    id                  BLOB PRIMARY KEY NOT NULL,
    email               TEXT NOT NULL,
    email_canonical     TEXT NOT NULL UNIQUE,
    username            TEXT,
    username_canonical  TEXT UNIQUE,
    first_name          TEXT,
    last_name           TEXT,
    date_of_birth       TEXT,
    gender              TEXT CHECK (gender IN ('male', 'female', 'other', 'prefer_not_to_say')),
    mobile              TEXT,
    password_hash       TEXT,
    role                TEXT NOT NULL DEFAULT 'user',
    is_active           BOOLEAN NOT NULL DEFAULT 1,
    is_email_verified   BOOLEAN NOT NULL DEFAULT 0,
    mfa_enabled         BOOLEAN NOT NULL DEFAULT 0,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    last_login          TEXT,
    email_verified_at   TEXT,
    password_changed_at TEXT,
    failed_login_count  INTEGER NOT NULL DEFAULT 0,
    locked_until        TEXT
);

CREATE TABLE oauth_accounts (
    id               BLOB PRIMARY KEY NOT NULL,
    user_id          BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    provider         TEXT NOT NULL,
    provider_user_id TEXT NOT NULL,
    email            TEXT,
    created_at       TEXT NOT NULL,
    UNIQUE (provider, provider_user_id)
);
CREATE INDEX oauth_accounts_user ON oauth_accounts(user_id);

-- One row per login ("access/session records"): access tokens carry its id as `sid`.
CREATE TABLE sessions (
    id           BLOB PRIMARY KEY NOT NULL,
    user_id      BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    last_used_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT,
    auth_time    TEXT NOT NULL,
    amr          TEXT NOT NULL,
    ip           TEXT,
    user_agent   TEXT
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE refresh_tokens (
    id         BLOB PRIMARY KEY NOT NULL,
    session_id BLOB NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    user_id    BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    parent_id  BLOB,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    revoked_at TEXT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);

CREATE TABLE verification_tokens (
    id         BLOB PRIMARY KEY NOT NULL,
    user_id    BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    used_at    TEXT,
    revoked_at TEXT,
    attempts   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX verification_tokens_hash ON verification_tokens(purpose, token_hash);
CREATE INDEX verification_tokens_user ON verification_tokens(user_id, purpose);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY NOT NULL,
    algorithm   TEXT NOT NULL,
    private_key TEXT NOT NULL,
    public_key  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    retired_at  TEXT
);

CREATE TABLE server_secrets (
    name       TEXT PRIMARY KEY NOT NULL,
    value      BLOB NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE mail_outbox (
    id              BLOB PRIMARY KEY NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    leased_until    TEXT,
    last_error      TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox(next_attempt_at);

CREATE TABLE audit_events (
    id          BLOB PRIMARY KEY NOT NULL,
    occurred_at TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    user_id     BLOB,
    ip          TEXT,
    user_agent  TEXT,
    outcome     TEXT NOT NULL,
    details     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_user ON audit_events(user_id, occurred_at);
CREATE INDEX audit_events_time ON audit_events(occurred_at);
