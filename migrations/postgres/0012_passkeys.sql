-- Passkeys (WebAuthn credentials). `credential` is webauthn-rs's own record of the credential
-- (public key, algorithm, flags at registration) as JSON; the columns beside it are what
-- gatehouse queries and shows, and `sign_count` is the authoritative counter (the copy inside
-- `credential` is the one from registration). Only public keys are stored: nothing here
-- signs anything. Deleting the user deletes its passkeys.
CREATE TABLE passkeys (
    id              UUID PRIMARY KEY,
    user_id         UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    credential_id   TEXT NOT NULL UNIQUE,
    credential      TEXT NOT NULL,
    name            TEXT NOT NULL,
    sign_count      BIGINT NOT NULL,
    user_verified   BOOLEAN NOT NULL,
    backup_eligible BOOLEAN NOT NULL,
    backup_state    BOOLEAN NOT NULL,
    transports      TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    last_used_at    TIMESTAMPTZ
);
CREATE INDEX passkeys_user ON passkeys(user_id);

-- A WebAuthn ceremony between its start and its finish: the challenge state webauthn-rs needs
-- to check the answer, under the SHA-256 of the ceremony id handed to the client. Taken (deleted)
-- by the finish, so each challenge is answered at most once.
CREATE TABLE webauthn_ceremonies (
    id_hash     TEXT PRIMARY KEY NOT NULL,
    purpose     TEXT NOT NULL,
    user_id     UUID REFERENCES users(id) ON DELETE CASCADE,
    state       TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX webauthn_ceremonies_expiry ON webauthn_ceremonies(expires_at);
