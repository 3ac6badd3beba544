//! Turning MFA on (`enable` then `verify`), off (`disable`) and renewing recovery codes.

use super::codes::{self, CodeUse};
use super::{require_step_up, totp, user_gone, Method, Proof};
use crate::audit::{self, EventKind, Outcome};
use crate::auth::reauthentication;
use crate::auth::services::Services;
use crate::auth::sessions::AuthUser;
use crate::client::ClientInfo;
use crate::domain::Password;
use crate::error::{Error, ErrorCode, Result};
use crate::mail::templates::Template;
use crate::store::{NewMfaFactor, StoreError, TokenPurpose, UserRecord};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

/// What `mfa/enable` answers. For TOTP the secret is shown here once and never again.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Enrolment {
    pub method: Method,
    /// TOTP: the key, base32 (for typing into an app by hand).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// TOTP: `otpauth://totp/ISSUER:EMAIL?secret=…&issuer=ISSUER` (what the QR code holds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otpauth_uri: Option<String>,
    /// TOTP: the QR code as `data:image/png;base64,…`, ready for an `<img src>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_code: Option<String>,
    pub message: String,
}

/// What `mfa/verify` and `mfa/recovery-codes` answer: the codes, shown once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
    pub message: String,
}

async fn load_user(state: &Services, caller: &AuthUser) -> Result<UserRecord> {
    state.store.users().by_id(caller.user_id).await?.ok_or_else(user_gone)
}

/// Starts enrolling `method`: a pending factor plus the TOTP secret, or a mailed code.
///
/// Adding a factor to an account that already has MFA needs the step-up. The *first* factor
/// needs the current password or a recent sign-in ([`reauthentication::prove_recent_owner`]):
/// otherwise a stolen access token could enrol the thief's authenticator, keep the recovery
/// codes and lock the owner out.
pub async fn enable(
    state: &Services,
    caller: &AuthUser,
    method: Method,
    current_password: Option<&Password>,
    client: &ClientInfo,
) -> Result<Enrolment> {
    let user = load_user(state, caller).await?;
    if user.mfa_enabled {
        require_step_up(state, caller, &user)?;
    } else {
        reauthentication::prove_recent_owner(state, caller, &user, current_password, EventKind::MfaEnrolment, client)
            .await?;
    }
    let now = state.now();
    let (secret, sealed) = match method {
        Method::Totp => {
            let secret = totp::TotpSecret::generate();
            let sealed = totp::seal(state, user.id, &secret)?;
            (Some(secret), Some(sealed))
        }
        Method::Email => {
            codes::count_code_mail(state, &user).await?;
            (None, None)
        }
        Method::Recovery | Method::Passkey => {
            return Err(Error::field(
                "method",
                "invalid_method",
                "must be totp or email (recovery codes come with either; add a passkey with POST /api/auth/passkeys/register/start)",
            ))
        }
    };
    let saved = state
        .store
        .mfa()
        .save_pending_factor(&NewMfaFactor {
            id: Uuid::new_v4(),
            user_id: user.id,
            method: method.as_str().into(),
            secret: sealed,
            created_at: now,
        })
        .await;
    match saved {
        Err(StoreError::Duplicate(_)) => {
            return Err(Error::new(
                ErrorCode::MfaAlreadyEnabled,
                format!("the {} method is already enabled on this account", method.as_str()),
            ))
        }
        other => other?,
    }
    match secret {
        Some(secret) => {
            let totp = secret.totp(&state.config.app_name, &user.email)?;
            let uri = totp.get_url();
            let base32 = totp.get_secret_base32();
            // Rendering a QR PNG takes a few ms of CPU: off the async runtime.
            let png = tokio::task::spawn_blocking(move || totp.get_qr_png())
                .await
                .map_err(anyhow::Error::new)?
                .map_err(|e| anyhow::anyhow!("QR rendering failed: {e}"))?;
            Ok(Enrolment {
                method,
                secret: Some(base32),
                otpauth_uri: Some(uri),
                qr_code: Some(format!("data:image/png;base64,{}", STANDARD.encode(png))),
                message: "Scan the QR code with your authenticator app (or type the secret), then send a code it shows to POST /api/auth/mfa/verify.".into(),
            })
        }
        None => {
            codes::send_email_code(state, &user, TokenPurpose::MfaEmailCode, CodeUse::Enrol).await?;
            Ok(Enrolment {
                method,
                secret: None,
                otpauth_uri: None,
                qr_code: None,
                message: "We mailed you a 6-digit code; send it to POST /api/auth/mfa/verify.".into(),
            })
        }
    }
}

/// Completes an enrolment with a valid code; returns a new set of recovery codes.
pub async fn verify(
    state: &Services,
    caller: &AuthUser,
    method: Method,
    code: &str,
    client: &ClientInfo,
) -> Result<RecoveryCodes> {
    let user = load_user(state, caller).await?;
    let now = state.now();
    let factors = state.store.mfa().factors(user.id).await?;
    let Some(pending) = factors.iter().find(|f| f.method == method.as_str() && !f.is_active()) else {
        return Err(Error::new(
            ErrorCode::MfaNotPending,
            "there is no enrolment of this method to finish; call POST /api/auth/mfa/enable first",
        ));
    };
    let ok = match method {
        Method::Totp => {
            let sealed = pending
                .secret
                .as_deref()
                .ok_or_else(|| anyhow::anyhow!("pending TOTP factor without a secret"))?;
            let secret = totp::open(state, user.id, sealed)?;
            totp::verify(state, user.id, &secret, code).await?
        }
        Method::Email => codes::check_email_code(state, user.id, TokenPurpose::MfaEmailCode, code).await?,
        Method::Recovery | Method::Passkey => false,
    };
    if !ok {
        audit::Event {
            kind: EventKind::MfaEnrolment,
            user_id: Some(user.id),
            client,
            outcome: Outcome::Failure,
            details: json!({ "method": method.as_str(), "reason": "invalid_code" }),
        }
        .record(state.store.as_ref(), now)
        .await;
        return Err(codes::invalid_code());
    }
    let recovery = codes::generate_recovery_codes();
    let hashes = codes::hash_recovery_codes(state, user.id, &recovery);
    if !state
        .store
        .mfa()
        .activate_factor(pending.id, user.id, &hashes, now)
        .await?
    {
        return Err(Error::new(
            ErrorCode::MfaNotPending,
            "this enrolment was already finished",
        ));
    }
    notify(state, &user, Template::MfaEnabled, method.as_str()).await?;
    audit::Event {
        kind: EventKind::MfaEnabled,
        user_id: Some(user.id),
        client,
        outcome: Outcome::Success,
        details: json!({ "method": method.as_str() }),
    }
    .record(state.store.as_ref(), now)
    .await;
    Ok(RecoveryCodes {
        recovery_codes: recovery,
        message: "Two-step sign-in is on. Store these recovery codes somewhere safe: each works once, and they are not shown again.".into(),
    })
}

fn mfa_not_enabled() -> Error {
    Error::new(
        ErrorCode::MfaNotEnabled,
        "two-step sign-in is not enabled on this account",
    )
}

/// Turns MFA off: needs step-up *and* a current code (or recovery code).
pub async fn disable(
    state: &Services,
    caller: &AuthUser,
    method: Option<Method>,
    code: &str,
    client: &ClientInfo,
) -> Result<()> {
    let user = load_user(state, caller).await?;
    if !user.mfa_enabled {
        return Err(mfa_not_enabled());
    }
    require_step_up(state, caller, &user)?;
    let now = state.now();
    let proof = Proof::Code { method, code };
    let method = codes::resolve_method(state, user.id, &proof).await?;
    if codes::verify_second_factor(state, &user, method, &proof, client)
        .await?
        .is_err()
    {
        audit::Event {
            kind: EventKind::MfaDisabled,
            user_id: Some(user.id),
            client,
            outcome: Outcome::Failure,
            details: json!({ "method": method.as_str(), "reason": "invalid_code" }),
        }
        .record(state.store.as_ref(), now)
        .await;
        return Err(codes::invalid_code());
    }
    super::remove_factors(state.store.as_ref(), user.id, now).await?;
    notify(state, &user, Template::MfaDisabled, method.as_str()).await?;
    audit::Event {
        kind: EventKind::MfaDisabled,
        user_id: Some(user.id),
        client,
        outcome: Outcome::Success,
        details: json!({ "method": method.as_str() }),
    }
    .record(state.store.as_ref(), now)
    .await;
    Ok(())
}

/// Replaces the recovery codes (the old ones stop working). Needs step-up.
pub async fn regenerate_recovery_codes(
    state: &Services,
    caller: &AuthUser,
    client: &ClientInfo,
) -> Result<RecoveryCodes> {
    let user = load_user(state, caller).await?;
    if !user.mfa_enabled {
        return Err(mfa_not_enabled());
    }
    require_step_up(state, caller, &user)?;
    let now = state.now();
    let recovery = codes::generate_recovery_codes();
    let hashes = codes::hash_recovery_codes(state, user.id, &recovery);
    state.store.mfa().replace_recovery_codes(user.id, &hashes, now).await?;
    notify(state, &user, Template::MfaRecoveryCodes, "recovery").await?;
    audit::Event {
        kind: EventKind::MfaRecoveryCodesRegenerated,
        user_id: Some(user.id),
        client,
        outcome: Outcome::Success,
        details: json!({}),
    }
    .record(state.store.as_ref(), now)
    .await;
    Ok(RecoveryCodes {
        recovery_codes: recovery,
        message: "New recovery codes: the earlier ones no longer work. They are not shown again.".into(),
    })
}

async fn notify(state: &Services, user: &UserRecord, template: Template, method: &str) -> Result<()> {
    let name = user.first_name.clone().unwrap_or_default();
    let when = crate::mail::templates::mail_time(state.now());
    let mail = state.outbox.render(
        template,
        &[
            ("app", &state.config.app_name),
            ("name", &name),
            ("when", &when),
            ("method", method),
        ],
    );
    state.outbox.enqueue(&user.email, mail).await?;
    Ok(())
}
