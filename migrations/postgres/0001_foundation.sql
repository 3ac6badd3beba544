-- gatehouse foundation schema (PostgreSQL). Timestamps are TIMESTAMPTZ in UTC.

CREATE TABLE users (
    id                  UUID PRIMARY KEY,
    email               TEXT NOT NULL,
    email_canonical     TEXT NOT NULL UNIQUE,
    username            TEXT,
    username_canonical  TEXT UNIQUE,
    first_name          TEXT,
    last_name           TEXT,
    date_of_birth       DATE,
    gender              TEXT CHECK (gender IN ('male', 'female', 'other', 'prefer_not_to_say')),
    mobile              TEXT,
    password_hash       TEXT,
    role                TEXT NOT NULL DEFAULT 'user',
    is_active           BOOLEAN NOT NULL DEFAULT TRUE,
    is_email_verified   BOOLEAN NOT NULL DEFAULT FALSE,
    mfa_enabled         BOOLEAN NOT NULL DEFAULT FALSE,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    last_login          TIMESTAMPTZ,
    email_verified_at   TIMESTAMPTZ,
    password_changed_at TIMESTAMPTZ,
    failed_login_count  INTEGER NOT NULL DEFAULT 0,
    locked_until        TIMESTAMPTZ
);

CREATE TABLE oauth_accounts (
    id               UUID PRIMARY KEY,
    user_id          UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    provider         TEXT NOT NULL,
    provider_user_id TEXT NOT NULL,
    email            TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (provider, provider_user_id)
);
CREATE INDEX oauth_accounts_user ON oauth_accounts(user_id);

-- One row per login ("access/session records"): access tokens carry its id as `sid`.
CREATE TABLE sessions (
    id           UUID PRIMARY KEY,
    user_id      UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ,
    auth_time    TIMESTAMPTZ NOT NULL,
    amr          TEXT NOT NULL,
    ip           TEXT,
    user_agent   TEXT
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE refresh_tokens (
    id         UUID PRIMARY KEY,
    session_id UUID NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    user_id    UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    parent_id  UUID,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);

CREATE TABLE verification_tokens (
    id         UUID PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    attempts   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX verification_tokens_hash ON verification_tokens(purpose, token_hash);
CREATE INDEX verification_tokens_user ON verification_tokens(user_id, purpose);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY NOT NULL,
    algorithm   TEXT NOT NULL,
    private_key TEXT NOT NULL,
    public_key  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    retired_at  TIMESTAMPTZ
);

CREATE TABLE server_secrets (
    name       TEXT PRIMARY KEY NOT NULL,
    value      BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE mail_outbox (
    id              UUID PRIMARY KEY,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    leased_until    TIMESTAMPTZ,
    last_error      TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox(next_attempt_at);

CREATE TABLE audit_events (
    id          UUID PRIMARY KEY,
    occurred_at TIMESTAMPTZ NOT NULL,
    event_type  TEXT NOT NULL,
    user_id     UUID,
    ip          TEXT,
    user_agent  TEXT,
    outcome     TEXT NOT NULL,
    details     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_user ON audit_events(user_id, occurred_at);
CREATE INDEX audit_events_time ON audit_events(occurred_at);
