//! The second step of a login (`mfa_token` + code → tokens) and step-up of a live session.

use super::codes::{self, CodeUse};
use super::{active_factors, combined_amr, user_gone, Method, Proof, CHALLENGE_TTL};
use crate::audit::{self, EventKind, Outcome};
use crate::auth::one_time::{self, policy::MFA_CHALLENGES};
use crate::auth::passkeys::{self, Started};
use crate::auth::secrets::OpaqueToken;
use crate::auth::services::Services;
use crate::auth::sessions::{self, AuthUser, TokenPair};
use crate::client::ClientInfo;
use crate::error::{Error, ErrorCode, Result};
use crate::store::{NewRefreshToken, OneTimeTokenRecord, TokenPurpose, UserRecord};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

/// What a correct first factor gets: tokens, or (MFA user) the challenge to finish.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum LoginOutcome {
    Tokens(TokenPair),
    MfaRequired(MfaRequired),
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MfaRequired {
    /// Always `true`: no tokens yet, finish with `POST /api/auth/mfa/challenge`.
    pub mfa_required: bool,
    /// Single-use, valid for `expires_in` seconds, good only for `/api/auth/mfa/challenge*`.
    pub mfa_token: String,
    /// Factors that can finish this login (`totp`, `email`, `recovery`, `passkey`).
    pub methods: Vec<Method>,
    pub expires_in: i64,
}

fn first_factor(purpose: TokenPurpose) -> &'static str {
    match purpose {
        TokenPurpose::MfaChallengeAfterEmailOtp => "email",
        // RFC 8176 has no federated value; "fed" is what access tokens from social login carry.
        TokenPurpose::MfaChallengeAfterOAuth => "fed",
        TokenPurpose::MfaChallengeAfterPasskey => "webauthn",
        _ => "pwd",
    }
}

/// Issues an `mfa_token` for a user who just passed the first factor (`purpose` says which).
pub async fn begin(state: &Services, user: &UserRecord, purpose: TokenPurpose) -> Result<MfaRequired> {
    let methods = methods_after(state, user, purpose).await?;
    let token = OpaqueToken::generate();
    one_time::issue(state, user.id, purpose, token.hash(), None).await?;
    Ok(MfaRequired {
        mfa_required: true,
        mfa_token: token.expose().to_string(),
        methods,
        expires_in: CHALLENGE_TTL.num_seconds(),
    })
}

async fn methods_after(state: &Services, user: &UserRecord, purpose: TokenPurpose) -> Result<Vec<Method>> {
    let mut methods = Vec::new();
    for f in active_factors(state, user.id).await? {
        match f.method.as_str() {
            "totp" => methods.push(Method::Totp),
            // After a passwordless mail code the mailbox is already proven: not a second factor.
            "email" if purpose != TokenPurpose::MfaChallengeAfterEmailOtp => methods.push(Method::Email),
            _ => {}
        }
    }
    // After a passkey sign-in the passkey is the first factor: another one adds nothing.
    if purpose != TokenPurpose::MfaChallengeAfterPasskey && state.store.passkeys().count_of_user(user.id).await? > 0 {
        methods.push(Method::Passkey);
    }
    if state.store.mfa().unused_recovery_codes(user.id).await? > 0 {
        methods.push(Method::Recovery);
    }
    Ok(methods)
}

fn invalid_mfa_token(message: &str) -> Error {
    Error::new(ErrorCode::InvalidMfaToken, format!("{message}; sign in again"))
}

async fn live_challenge(state: &Services, presented: &OpaqueToken) -> Result<(OneTimeTokenRecord, TokenPurpose)> {
    Ok(one_time::find(state, &MFA_CHALLENGES, &presented.hash()).await??)
}

async fn challenge_user(state: &Services, record: &OneTimeTokenRecord) -> Result<UserRecord> {
    let user = state
        .store
        .users()
        .by_id(record.user_id)
        .await?
        .ok_or_else(|| invalid_mfa_token("the account no longer exists"))?;
    if !user.is_active {
        return Err(Error::new(ErrorCode::AccountDisabled, "this account is disabled"));
    }
    Ok(user)
}

/// Mails an MFA code for a pending login.
pub async fn send_code(state: &Services, presented: &OpaqueToken) -> Result<()> {
    let (record, purpose) = live_challenge(state, presented).await?;
    let user = challenge_user(state, &record).await?;
    if !methods_after(state, &user, purpose).await?.contains(&Method::Email) {
        return Err(codes::method_not_enrolled(Method::Email));
    }
    codes::count_code_mail(state, &user).await?;
    codes::send_email_code(state, &user, TokenPurpose::MfaEmailCode, CodeUse::SignIn).await
}

/// Starts a passkey ceremony to finish a pending login (when `methods` lists `passkey`).
pub async fn passkey_options(state: &Services, presented: &OpaqueToken) -> Result<Started> {
    let (record, purpose) = live_challenge(state, presented).await?;
    let user = challenge_user(state, &record).await?;
    if !methods_after(state, &user, purpose).await?.contains(&Method::Passkey) {
        return Err(codes::method_not_enrolled(Method::Passkey));
    }
    passkeys::second_factor::start(state, &user).await
}

/// Finishes a login: a valid second factor for a live `mfa_token` gives the token pair.
pub async fn complete(
    state: &Services,
    presented: &OpaqueToken,
    proof: &Proof<'_>,
    client: &ClientInfo,
) -> Result<TokenPair> {
    let now = state.now();
    let (record, purpose) = live_challenge(state, presented).await?;
    let user = challenge_user(state, &record).await?;
    let method = codes::resolve_method(state, user.id, proof).await?;
    if !methods_after(state, &user, purpose).await?.contains(&method) {
        return Err(codes::method_not_enrolled(method));
    }
    if let Err(refusal) = codes::verify_second_factor(state, &user, method, proof, client).await? {
        let max = state.config.max_code_attempts;
        let attempts = one_time::wrong_guess(state, &record, purpose).await?;
        audit::Event {
            kind: EventKind::MfaChallenge,
            user_id: Some(user.id),
            client,
            outcome: Outcome::Failure,
            details: json!({ "method": method.as_str(), "attempts": attempts }),
        }
        .record(state.store.as_ref(), now)
        .await;
        state.metrics.login_failed("mfa");
        if attempts >= max {
            return Err(Error::new(
                ErrorCode::TooManyAttempts,
                "too many wrong codes: this sign-in attempt has ended; sign in again",
            ));
        }
        return Err(refusal);
    }
    one_time::spend(state, &record, purpose).await??;
    let amr = combined_amr(&[first_factor(purpose).to_string()], method);
    let amr_refs: Vec<&str> = amr.iter().map(String::as_str).collect();
    let pair = sessions::start_session(state, &user, &amr_refs, client).await?;
    state.store.users().record_login(user.id, now).await?;
    audit::Event {
        kind: EventKind::Login,
        user_id: Some(user.id),
        client,
        outcome: Outcome::Success,
        details: json!({ "method": first_factor(purpose), "second_factor": method.as_str() }),
    }
    .record(state.store.as_ref(), now)
    .await;
    Ok(pair)
}

/// Mails an MFA code to the signed-in user (for step-up or disable).
pub async fn send_code_to_caller(state: &Services, caller: &AuthUser) -> Result<()> {
    let user = state.store.users().by_id(caller.user_id).await?.ok_or_else(user_gone)?;
    if !active_factors(state, user.id)
        .await?
        .iter()
        .any(|f| f.method == "email")
    {
        return Err(codes::method_not_enrolled(Method::Email));
    }
    codes::count_code_mail(state, &user).await?;
    codes::send_email_code(state, &user, TokenPurpose::MfaEmailCode, CodeUse::Confirm).await
}

async fn step_up_user(state: &Services, caller: &AuthUser) -> Result<UserRecord> {
    let user = state.store.users().by_id(caller.user_id).await?.ok_or_else(user_gone)?;
    if !user.mfa_enabled {
        return Err(Error::new(
            ErrorCode::MfaNotEnabled,
            "two-step sign-in is not enabled on this account",
        ));
    }
    Ok(user)
}

/// Starts a passkey ceremony for the caller's step-up.
pub async fn step_up_passkey_options(state: &Services, caller: &AuthUser) -> Result<Started> {
    let user = step_up_user(state, caller).await?;
    passkeys::second_factor::start(state, &user).await
}

/// Proves a second factor again for the caller's session and re-issues its tokens with a new
/// `auth_time` (and `mfa` in `amr`); the session's earlier refresh token stops working.
pub async fn step_up(state: &Services, caller: &AuthUser, proof: &Proof<'_>, client: &ClientInfo) -> Result<TokenPair> {
    let now = state.now();
    let user = step_up_user(state, caller).await?;
    let method = codes::resolve_method(state, user.id, proof).await?;
    if let Err(refusal) = codes::verify_second_factor(state, &user, method, proof, client).await? {
        audit::Event {
            kind: EventKind::MfaStepUp,
            user_id: Some(user.id),
            client,
            outcome: Outcome::Failure,
            details: json!({ "method": method.as_str() }),
        }
        .record(state.store.as_ref(), now)
        .await;
        return Err(refusal);
    }
    let session = state
        .store
        .sessions()
        .by_id(caller.session_id)
        .await?
        .ok_or_else(|| Error::new(ErrorCode::SessionRevoked, "this session has ended; sign in again"))?;
    let before: Vec<String> = serde_json::from_str(&session.amr).unwrap_or_default();
    let amr = combined_amr(&before, method);
    let refresh = OpaqueToken::generate();
    let fresh = NewRefreshToken {
        id: Uuid::new_v4(),
        session_id: session.id,
        user_id: user.id,
        token_hash: refresh.hash(),
        parent_id: None,
        created_at: now,
        expires_at: (now + state.config.refresh_token_ttl).min(session.expires_at),
    };
    let amr_json = serde_json::to_string(&amr).map_err(anyhow::Error::new)?;
    state
        .store
        .sessions()
        .step_up(session.id, &amr_json, now, &fresh, now)
        .await?;
    audit::Event {
        kind: EventKind::MfaStepUp,
        user_id: Some(user.id),
        client,
        outcome: Outcome::Success,
        details: json!({ "method": method.as_str(), "session_id": session.id }),
    }
    .record(state.store.as_ref(), now)
    .await;
    sessions::pair(
        state,
        &user,
        session.id,
        &amr,
        now,
        fresh.id,
        now,
        &refresh,
        fresh.expires_at,
    )
}
