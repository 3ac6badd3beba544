-- Earlier password hashes, so a reset or change can refuse a recently used password.
-- Bounded to PASSWORD_HISTORY entries per user by the statement that adds to it.
CREATE TABLE password_history (
    id            UUID PRIMARY KEY,
    user_id       UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    -- Insertion order: several changes can share a timestamp.
    seq           BIGSERIAL NOT NULL
);
CREATE INDEX password_history_user ON password_history(user_id, seq);
