-- Changing the sign-in address. The link mailed to the new address is a verification_tokens
-- row (purpose 'email_change'); the address it was issued for waits here until the link is used.
-- Deleting the token or the user deletes the pending change.
CREATE TABLE email_changes (
    token_id            UUID PRIMARY KEY REFERENCES verification_tokens(id) ON DELETE CASCADE,
    user_id             UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    new_email           TEXT NOT NULL,
    new_email_canonical TEXT NOT NULL
);
CREATE INDEX email_changes_user ON email_changes(user_id);
