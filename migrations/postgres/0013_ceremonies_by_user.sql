-- The account's unfinished ceremonies, for the per-account bound and the cascade on deletion.
CREATE INDEX webauthn_ceremonies_user ON webauthn_ceremonies(user_id, purpose);
