-- A mail that a provider refused for good (an invalid recipient) is kept as failed, with the
-- provider's reason in last_error and its bodies blanked (they may hold a live link), instead
-- of being retried or silently dropped.
ALTER TABLE mail_outbox ADD COLUMN failed_at TIMESTAMPTZ;
DROP INDEX mail_outbox_due;
CREATE INDEX mail_outbox_due ON mail_outbox(next_attempt_at) WHERE failed_at IS NULL;
