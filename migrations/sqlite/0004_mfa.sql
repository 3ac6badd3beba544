-- Multi-factor authentication (issue 4). Emailed MFA codes, OTP-login codes and MFA login
-- challenges (`mfa_token`) live in verification_tokens with their own purposes.

-- One row per user and method. `secret` is the TOTP key sealed with AES-256-GCM
-- (12-byte nonce || ciphertext+tag, the user id as associated data); NULL for email.
CREATE TABLE mfa_factors (
    id           BLOB PRIMARY KEY NOT NULL,
    user_id      BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    method       TEXT NOT NULL CHECK (method IN ('totp', 'email')),
    secret       BLOB,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'active')),
    created_at   TEXT NOT NULL,
    activated_at TEXT,
    UNIQUE (user_id, method)
);

-- Single-use recovery codes; only a keyed hash (HMAC-SHA256) is stored.
CREATE TABLE mfa_recovery_codes (
    id         BLOB PRIMARY KEY NOT NULL,
    user_id    BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    used_at    TEXT
);
CREATE INDEX mfa_recovery_codes_user ON mfa_recovery_codes(user_id);

-- Per-user MFA state: the last accepted TOTP time step (replay protection, RFC 6238 §5.2) and
-- wrong codes across all challenges (so new mfa_tokens do not buy new guesses).
CREATE TABLE mfa_user_state (
    user_id        BLOB PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    last_totp_step INTEGER,
    failed_count   INTEGER NOT NULL DEFAULT 0,
    locked_until   TEXT
);
