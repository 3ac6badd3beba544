//! Email verification: one mail carries a link token (24 h) and a 6-digit code (15 min); either
//! proves the address. Both are single use and only their hashes are stored. A code allows
//! `MAX_CODE_ATTEMPTS` wrong guesses before it is destroyed (NIST SP 800-63B §5.2.2), so a million
//! possible codes cannot be walked through. Using either revokes the other.

use crate::audit::{self, Outcome};
use crate::auth::secrets::{constant_time_eq, NumericCode, OpaqueToken};
use crate::auth::services::Services;
use crate::client::ClientInfo;
use crate::domain::Email;
use crate::error::{Error, Result};
use crate::mail::templates::{render, Template};
use crate::store::{NewOneTimeToken, OneTimeTokenRecord, TokenPurpose, UserRecord};
use serde_json::json;
use uuid::Uuid;

const PURPOSES: [TokenPurpose; 2] = [TokenPurpose::EmailVerificationLink, TokenPurpose::EmailVerificationCode];

/// Issues a fresh link and code (revoking earlier ones) and queues the mail.
pub async fn send_verification(state: &Services, user: &UserRecord) -> Result<()> {
    let now = state.now();
    let cfg = &state.config;
    state.store.tokens().revoke(user.id, &PURPOSES, now).await?;
    let link_token = OpaqueToken::generate();
    let code = NumericCode::generate();
    state
        .store
        .tokens()
        .insert(&NewOneTimeToken {
            id: Uuid::new_v4(),
            user_id: user.id,
            purpose: TokenPurpose::EmailVerificationLink,
            token_hash: link_token.hash(),
            expires_at: now + cfg.verification_link_ttl,
            created_at: now,
        })
        .await?;
    state
        .store
        .tokens()
        .insert(&NewOneTimeToken {
            id: Uuid::new_v4(),
            user_id: user.id,
            purpose: TokenPurpose::EmailVerificationCode,
            token_hash: code.hash(&state.secrets.code_hash_key, user.id),
            expires_at: now + cfg.verification_code_ttl,
            created_at: now,
        })
        .await?;
    let link = cfg.mail_link(
        cfg.verify_email_url.as_ref(),
        "/verify-email",
        &[("token", link_token.expose())],
    );
    let name = user.first_name.clone().unwrap_or_default();
    let link_hours = (cfg.verification_link_ttl.num_hours()).max(1).to_string();
    let code_minutes = cfg.verification_code_ttl.num_minutes().max(1).to_string();
    let mail = render(
        Template::VerifyEmail,
        &[
            ("app", &cfg.app_name),
            ("name", &name),
            ("link", &link),
            ("code", code.expose()),
            ("link_hours", &link_hours),
            ("code_minutes", &code_minutes),
        ],
    );
    state.outbox.enqueue(&user.email, mail).await?;
    Ok(())
}

fn token_error(record: &OneTimeTokenRecord, now: chrono::DateTime<chrono::Utc>) -> Error {
    if record.used_at.is_some() {
        Error::bad_request("token_used", "this verification link was already used")
    } else if record.revoked_at.is_some() {
        Error::bad_request(
            "token_revoked",
            "this verification link was replaced by a newer one or is no longer needed; use the newest mail",
        )
    } else if record.expires_at <= now {
        Error::bad_request("token_expired", "this verification link has expired; ask for a new one")
    } else {
        Error::bad_request("token_used", "this verification link was already used")
    }
}

pub async fn verify_with_token(state: &Services, token: &OpaqueToken, client: &ClientInfo) -> Result<()> {
    let now = state.now();
    let record = state
        .store
        .tokens()
        .by_hash(TokenPurpose::EmailVerificationLink, &token.hash())
        .await?
        .ok_or_else(|| Error::bad_request("invalid_token", "this verification link is not valid"))?;
    if !state.store.tokens().consume(record.id, now).await? {
        return Err(token_error(&record, now));
    }
    complete(state, record.user_id, "link", client).await
}

fn invalid_code() -> Error {
    Error::bad_request(
        "invalid_code",
        "the code is not correct or has expired; check the newest mail or ask for a new code",
    )
}

pub async fn verify_with_code(state: &Services, email: &Email, code: &NumericCode, client: &ClientInfo) -> Result<()> {
    let now = state.now();
    let Some(user) = state.store.users().by_email(&email.canonical()).await? else {
        return Err(invalid_code());
    };
    let live = state
        .store
        .tokens()
        .live(user.id, TokenPurpose::EmailVerificationCode, now)
        .await?;
    let presented = code.hash(&state.secrets.code_hash_key, user.id);
    let matching = live.iter().find(|t| constant_time_eq(&t.token_hash, &presented));
    match matching {
        Some(t) if state.store.tokens().consume(t.id, now).await? => complete(state, user.id, "code", client).await,
        Some(_) => Err(invalid_code()),
        None => {
            if let Some(newest) = live.first() {
                let attempts = state
                    .store
                    .tokens()
                    .record_failed_attempt(newest.id, state.config.max_code_attempts, now)
                    .await?;
                audit::record(
                    state.store.as_ref(),
                    now,
                    "email_verification",
                    Some(user.id),
                    client,
                    Outcome::Failure,
                    json!({ "method": "code", "attempts": attempts }),
                )
                .await;
                // The code dies after `MAX_CODE_ATTEMPTS` wrong guesses, but the answer stays
                // `invalid_code`: an unknown address has no code to exhaust, so a different
                // answer here would tell which addresses have accounts.
            }
            Err(invalid_code())
        }
    }
}

async fn complete(state: &Services, user_id: Uuid, method: &str, client: &ClientInfo) -> Result<()> {
    let now = state.now();
    state.store.users().mark_email_verified(user_id, now).await?;
    state.store.tokens().revoke(user_id, &PURPOSES, now).await?;
    audit::record(
        state.store.as_ref(),
        now,
        "email_verification",
        Some(user_id),
        client,
        Outcome::Success,
        json!({ "method": method }),
    )
    .await;
    Ok(())
}

/// Sends a new verification mail if the address belongs to an unverified account; otherwise does
/// nothing. The caller answers the same either way.
pub async fn resend(state: &Services, email: &Email) -> Result<()> {
    match state.store.users().by_email(&email.canonical()).await? {
        Some(user) if !user.is_email_verified && user.is_active => send_verification(state, &user).await,
        _ => Ok(()),
    }
}
