//! Email verification: one mail carries a link token (24 h) and a 6-digit code (15 min); either
//! proves the address. Both are single use and only their hashes are stored. A code allows
//! `MAX_CODE_ATTEMPTS` wrong guesses before it is destroyed (NIST SP 800-63B §5.2.2), so a million
//! possible codes cannot be walked through. Using either revokes the other.

use crate::audit::{self, EventKind, Outcome};
use crate::auth::one_time::{self, invalid_code, CodeCheck, Revoker};
use crate::auth::secrets::{NumericCode, OpaqueToken};
use crate::auth::services::Services;
use crate::client::ClientInfo;
use crate::domain::Email;
use crate::error::Result;
use crate::mail::templates::Template;
use crate::store::{TokenPurpose, UserRecord};
use serde_json::json;
use uuid::Uuid;

/// Issues a fresh link and code (revoking earlier ones) and queues the mail.
pub async fn send_verification(state: &Services, user: &UserRecord) -> Result<()> {
    let cfg = &state.config;
    let link_token = OpaqueToken::generate();
    let code = NumericCode::generate();
    let link_purpose = TokenPurpose::EmailVerificationLink;
    one_time::issue(state, user.id, link_purpose, link_token.hash(), None).await?;
    let code_hash = code.hash(&state.secrets.code_hash_key, user.id);
    one_time::issue(state, user.id, TokenPurpose::EmailVerificationCode, code_hash, None).await?;
    let link = cfg.mail_link(
        cfg.verify_email_url.as_ref(),
        "/verify-email",
        &[("token", link_token.expose())],
    );
    let name = user.first_name.clone().unwrap_or_default();
    let link_hours = (cfg.verification_link_ttl.num_hours()).max(1).to_string();
    let code_minutes = cfg.verification_code_ttl.num_minutes().max(1).to_string();
    let mail = state.outbox.render(
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

pub async fn verify_with_token(state: &Services, token: &OpaqueToken, client: &ClientInfo) -> Result<()> {
    let record = one_time::redeem(state, TokenPurpose::EmailVerificationLink, &token.hash()).await??;
    complete(state, record.user_id, "link", client).await
}

pub async fn verify_with_code(state: &Services, email: &Email, code: &NumericCode, client: &ClientInfo) -> Result<()> {
    let now = state.now();
    let Some(user) = state.store.users().by_email(&email.canonical()).await? else {
        return Err(invalid_code());
    };
    let presented = code.hash(&state.secrets.code_hash_key, user.id);
    let purpose = TokenPurpose::EmailVerificationCode;
    match one_time::check_code(state, user.id, purpose, Some(&presented)).await? {
        CodeCheck::Accepted => complete(state, user.id, "code", client).await,
        CodeCheck::Rejected { attempts } => {
            if let Some(attempts) = attempts {
                audit::Event {
                    kind: EventKind::EmailVerification,
                    user_id: Some(user.id),
                    client,
                    outcome: Outcome::Failure,
                    details: json!({ "method": "code", "attempts": attempts }),
                }
                .record(state.store.as_ref(), now)
                .await;
            }
            // The code dies after `MAX_CODE_ATTEMPTS` wrong guesses, but the answer stays
            // `invalid_code`: an unknown address has no code to exhaust, so a different
            // answer here would tell which addresses have accounts.
            Err(invalid_code())
        }
    }
}

async fn complete(state: &Services, user_id: Uuid, method: &str, client: &ClientInfo) -> Result<()> {
    let now = state.now();
    crate::auth::welcome::confirm_address(state, user_id).await?;
    one_time::revoke_on(state, user_id, Revoker::EmailVerified).await?;
    audit::Event {
        kind: EventKind::EmailVerification,
        user_id: Some(user_id),
        client,
        outcome: Outcome::Success,
        details: json!({ "method": method }),
    }
    .record(state.store.as_ref(), now)
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
