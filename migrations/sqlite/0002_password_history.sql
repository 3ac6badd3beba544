-- Earlier password hashes, so a reset or change can refuse a recently used password.
-- Bounded to PASSWORD_HISTORY entries per user by the statement that adds to it.
CREATE TABLE password_history (
    id            BLOB PRIMARY KEY NOT NULL,
    user_id       BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
-- Newest first is ORDER BY rowid DESC: several changes can share a timestamp.
CREATE INDEX password_history_user ON password_history(user_id);
