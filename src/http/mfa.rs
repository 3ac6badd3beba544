//! `/api/auth/mfa/*` (enrolment, login challenge, step-up, disable, recovery codes) and
//! `/api/auth/otp/*` (passwordless sign-in by mailed code). Rules live in `auth::mfa`.

use crate::app::AppState;
use crate::auth::mfa::challenge::{self, LoginOutcome};
use crate::auth::mfa::enrol::{self, Enrolment, RecoveryCodes};
use crate::auth::mfa::{otp_login, Method, Proof};
use crate::auth::passkeys::Started;
use crate::auth::secrets::OpaqueToken;
use crate::auth::sessions::{AuthUser, TokenPair};
use crate::client::ClientInfo;
use crate::domain::{Email, Invalid, Password};
use crate::error::{Problem, Result};
use crate::http::auth::{EmailRequest, Fields, MessageResponse};
use crate::http::cookies;
use crate::http::extract::Json;
use crate::http::mail_request;
use crate::http::passkeys::{parse_ceremony, take_credential};
use crate::ratelimit::Limit;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use webauthn_rs_core::proto::PublicKeyCredential;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(enable))
        .routes(routes!(verify))
        .routes(routes!(challenge_handler))
        .routes(routes!(challenge_send))
        .routes(routes!(challenge_passkey))
        .routes(routes!(step_up))
        .routes(routes!(step_up_passkey))
        .routes(routes!(send_code))
        .routes(routes!(disable))
        .routes(routes!(recovery_codes))
        .routes(routes!(otp_request))
        .routes(routes!(otp_login_handler))
}

fn parse_method(raw: &str) -> std::result::Result<Method, Invalid> {
    Method::parse(raw).ok_or_else(|| Invalid::new("invalid_method", "must be totp, email, recovery or passkey"))
}

fn parse_code(raw: &str) -> std::result::Result<String, Invalid> {
    let code = raw.trim();
    if code.is_empty() || code.len() > 64 {
        Err(Invalid::new(
            "invalid_format",
            "must be the code from your app, mail or recovery sheet",
        ))
    } else {
        Ok(code.to_string())
    }
}

/// A second factor as sent: a code, or (`method: "passkey"`) a passkey's answer.
enum SentProof {
    Code {
        method: Option<Method>,
        code: String,
    },
    Passkey {
        ceremony_id: String,
        credential: Box<PublicKeyCredential>,
    },
}

impl SentProof {
    fn as_proof(&self) -> Proof<'_> {
        match self {
            SentProof::Code { method, code } => Proof::Code { method: *method, code },
            SentProof::Passkey {
                ceremony_id,
                credential,
            } => Proof::Passkey {
                ceremony_id,
                credential,
            },
        }
    }
}

/// `code` for the code methods; `ceremony_id` and `credential` for a passkey.
fn take_proof(
    f: &mut Fields,
    method: Option<&str>,
    code: Option<&str>,
    ceremony_id: Option<&str>,
    credential: Option<&serde_json::Value>,
) -> Option<SentProof> {
    let method = f.optional("method", method, parse_method);
    if method == Some(Method::Passkey) {
        let ceremony_id = f.take("ceremony_id", ceremony_id, parse_ceremony);
        let credential = take_credential(f, credential);
        return Some(SentProof::Passkey {
            ceremony_id: ceremony_id?,
            credential: Box::new(credential?),
        });
    }
    let code = f.take("code", code, parse_code)?;
    Some(SentProof::Code { method, code })
}

fn parse_token(raw: &str) -> std::result::Result<OpaqueToken, Invalid> {
    Ok(OpaqueToken::from_presented(raw))
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"method": "totp"}))]
pub struct EnableRequest {
    /// `totp` (authenticator app) or `email`.
    pub method: Option<String>,
    /// Needed to turn on the first factor unless the session signed in within
    /// `MFA_STEP_UP_WINDOW` (a stolen access token must not be enough to enrol).
    pub current_password: Option<String>,
}

/// Start enrolling a second factor. `totp` answers with the secret, the `otpauth://` URI and a
/// QR code (shown only now); `email` mails a 6-digit code. Finish with `/api/auth/mfa/verify`.
#[utoipa::path(post, path = "/api/auth/mfa/enable", tag = "mfa", request_body = EnableRequest, security(("bearer" = [])),
    responses(
        (status = 200, description = "Enrolment started", body = Enrolment),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`mfa_step_up_required`: MFA is already on and the token's second factor is not recent; `reauthentication_required`: the first factor needs `current_password` or a sign-in within `MFA_STEP_UP_WINDOW`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`mfa_already_enabled` for this method", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`method` missing or unknown; `current_password` wrong", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`account_locked` or `rate_limited`: too many wrong passwords", body = Problem, content_type = "application/problem+json"),
    ))]
async fn enable(
    State(state): State<AppState>,
    user: AuthUser,
    client: ClientInfo,
    Json(body): Json<EnableRequest>,
) -> Result<axum::Json<Enrolment>> {
    let mut f = Fields::default();
    let method = f.take("method", body.method.as_deref(), parse_method);
    let current_password = body.current_password.as_deref().map(Password::for_verification);
    f.finish()?;
    match method {
        Some(method) => Ok(axum::Json(
            enrol::enable(&state, &user, method, current_password.as_ref(), &client).await?,
        )),
        None => Err(crate::error::Error::field("method", "required", "is required")),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"method": "totp", "code": "123456"}))]
pub struct MethodCodeRequest {
    /// `totp`, `email` or `recovery`. Optional where a code can tell: a 6-digit code is the app's
    /// (or, without an app, the mailed one), anything else a recovery code.
    pub method: Option<String>,
    pub code: Option<String>,
}

/// Finish an enrolment with a code from the app or the mail. Answers with 10 recovery codes,
/// shown only now.
#[utoipa::path(post, path = "/api/auth/mfa/verify", tag = "mfa", request_body = MethodCodeRequest, security(("bearer" = [])),
    responses(
        (status = 200, description = "MFA is on", body = RecoveryCodes),
        (status = 400, description = "`invalid_code` or `mfa_not_pending`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`method` or `code` missing", body = Problem, content_type = "application/problem+json"),
    ))]
async fn verify(
    State(state): State<AppState>,
    user: AuthUser,
    client: ClientInfo,
    Json(body): Json<MethodCodeRequest>,
) -> Result<axum::Json<RecoveryCodes>> {
    let mut f = Fields::default();
    let method = f.take("method", body.method.as_deref(), parse_method);
    let code = f.take("code", body.code.as_deref(), parse_code);
    f.finish()?;
    match (method, code) {
        (Some(method), Some(code)) => Ok(axum::Json(enrol::verify(&state, &user, method, &code, &client).await?)),
        _ => Err(crate::error::Error::field("code", "required", "is required")),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"mfa_token": "…", "method": "totp", "code": "123456"}))]
pub struct ChallengeRequest {
    /// From the `mfa_required` answer of `/api/auth/login`, `/api/auth/otp/login` or a sign-in
    /// with a provider or a passkey.
    pub mfa_token: Option<String>,
    /// `totp`, `email`, `recovery` or `passkey`; optional for a code (its shape tells).
    pub method: Option<String>,
    /// The code, for every method but `passkey`.
    pub code: Option<String>,
    /// `passkey` only: from `POST /api/auth/mfa/challenge/passkey`.
    pub ceremony_id: Option<String>,
    /// `passkey` only: the browser's `PublicKeyCredential` from `navigator.credentials.get()`,
    /// as JSON.
    #[schema(value_type = Option<Object>)]
    pub credential: Option<serde_json::Value>,
}

/// Finish a login with a second factor: a code, or a passkey's answer to a ceremony from
/// `/api/auth/mfa/challenge/passkey`. Five refused answers end the `mfa_token`.
#[utoipa::path(post, path = "/api/auth/mfa/challenge", tag = "mfa", request_body = ChallengeRequest,
    responses(
        (status = 200, description = "Signed in; the access token's `amr` names both factors and `mfa` is true", body = TokenPair),
        (status = 400, description = "`invalid_code`, `mfa_method_not_enabled`, or a passkey refusal (`passkey_challenge_invalid`, `passkey_challenge_expired`, `passkey_origin_mismatch`, `passkey_rp_id_mismatch`, …)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_mfa_token` (unknown, used, expired or dead), `too_many_attempts` (this wrong answer was the last allowed): sign in again; `passkey_unknown`, `passkey_signature_invalid`, `passkey_clone_suspected`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong codes for this account recently", body = Problem, content_type = "application/problem+json"),
    ))]
async fn challenge_handler(
    State(state): State<AppState>,
    client: ClientInfo,
    Json(body): Json<ChallengeRequest>,
) -> Result<axum::response::Response> {
    let mut f = Fields::default();
    let token = f.take("mfa_token", body.mfa_token.as_deref(), parse_token);
    let proof = take_proof(
        &mut f,
        body.method.as_deref(),
        body.code.as_deref(),
        body.ceremony_id.as_deref(),
        body.credential.as_ref(),
    );
    f.finish()?;
    match (token, proof) {
        (Some(token), Some(proof)) => Ok(cookies::tokens(
            &state,
            challenge::complete(&state, &token, &proof.as_proof(), &client).await?,
        )),
        _ => Err(crate::error::Error::field("code", "required", "is required")),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MfaTokenRequest {
    pub mfa_token: Option<String>,
}

/// Mail a 6-digit code to finish a pending login (when `methods` lists `email`).
#[utoipa::path(post, path = "/api/auth/mfa/challenge/send", tag = "mfa", request_body = MfaTokenRequest,
    responses(
        (status = 202, description = "A code is on its way", body = MessageResponse),
        (status = 400, description = "`mfa_method_not_enabled`: email is not a factor of this account", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_mfa_token`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn challenge_send(State(state): State<AppState>, Json(body): Json<MfaTokenRequest>) -> Result<impl IntoResponse> {
    let mut f = Fields::default();
    let token = f.take("mfa_token", body.mfa_token.as_deref(), parse_token);
    f.finish()?;
    if let Some(token) = token {
        challenge::send_code(&state, &token).await?;
    }
    Ok(code_mailed())
}

/// Start a passkey ceremony to finish a pending login (when `methods` lists `passkey`): hand
/// `options` to `navigator.credentials.get()`, then send its answer to
/// `/api/auth/mfa/challenge` with `method: "passkey"` and the `ceremony_id`.
#[utoipa::path(post, path = "/api/auth/mfa/challenge/passkey", tag = "mfa", request_body = MfaTokenRequest,
    responses(
        (status = 200, description = "The ceremony and its request options (this account's passkeys)", body = Started),
        (status = 400, description = "`mfa_method_not_enabled`: the account has no passkey, or a passkey was this sign-in's first factor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_mfa_token`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn challenge_passkey(
    State(state): State<AppState>,
    Json(body): Json<MfaTokenRequest>,
) -> Result<axum::Json<Started>> {
    let mut f = Fields::default();
    let token = f.take("mfa_token", body.mfa_token.as_deref(), parse_token);
    f.finish()?;
    match token {
        Some(token) => Ok(axum::Json(challenge::passkey_options(&state, &token).await?)),
        None => Err(crate::error::Error::field("mfa_token", "required", "is required")),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"method": "totp", "code": "123456"}))]
pub struct StepUpRequest {
    /// `totp`, `email`, `recovery` or `passkey`; optional for a code (its shape tells).
    pub method: Option<String>,
    /// The code, for every method but `passkey`.
    pub code: Option<String>,
    /// `passkey` only: from `POST /api/auth/mfa/step-up/passkey`.
    pub ceremony_id: Option<String>,
    /// `passkey` only: the browser's `PublicKeyCredential` from `navigator.credentials.get()`.
    #[schema(value_type = Option<Object>)]
    pub credential: Option<serde_json::Value>,
}

/// Prove a second factor again: the session's tokens are re-issued with a fresh `auth_time`, so
/// sensitive changes (change-password, MFA disable, recovery codes) are allowed for
/// `MFA_STEP_UP_WINDOW`. The session's earlier refresh token stops working.
#[utoipa::path(post, path = "/api/auth/mfa/step-up", tag = "mfa", request_body = StepUpRequest, security(("bearer" = [])),
    responses(
        (status = 200, description = "A new token pair for the same session", body = TokenPair),
        (status = 400, description = "`invalid_code`, `mfa_not_enabled`, `mfa_method_not_enabled` or a passkey refusal", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong codes for this account recently", body = Problem, content_type = "application/problem+json"),
    ))]
async fn step_up(
    State(state): State<AppState>,
    user: AuthUser,
    client: ClientInfo,
    Json(body): Json<StepUpRequest>,
) -> Result<axum::response::Response> {
    let mut f = Fields::default();
    let proof = take_proof(
        &mut f,
        body.method.as_deref(),
        body.code.as_deref(),
        body.ceremony_id.as_deref(),
        body.credential.as_ref(),
    );
    f.finish()?;
    match proof {
        Some(proof) => Ok(cookies::tokens(
            &state,
            challenge::step_up(&state, &user, &proof.as_proof(), &client).await?,
        )),
        None => Err(crate::error::Error::field("code", "required", "is required")),
    }
}

/// Start a passkey ceremony for a step-up: hand `options` to `navigator.credentials.get()`,
/// then send its answer to `/api/auth/mfa/step-up` with `method: "passkey"`.
#[utoipa::path(post, path = "/api/auth/mfa/step-up/passkey", tag = "mfa", security(("bearer" = [])),
    responses(
        (status = 200, description = "The ceremony and its request options (the caller's passkeys)", body = Started),
        (status = 400, description = "`mfa_not_enabled`, or `mfa_method_not_enabled`: the account has no passkey", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
    ))]
async fn step_up_passkey(State(state): State<AppState>, user: AuthUser) -> Result<axum::Json<Started>> {
    Ok(axum::Json(challenge::step_up_passkey_options(&state, &user).await?))
}

/// Mail a 6-digit MFA code to the signed-in user, for step-up or disable by email.
#[utoipa::path(post, path = "/api/auth/mfa/send-code", tag = "mfa", security(("bearer" = [])),
    responses(
        (status = 202, description = "A code is on its way", body = MessageResponse),
        (status = 400, description = "`mfa_method_not_enabled`: email is not a factor of this account", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
    ))]
async fn send_code(State(state): State<AppState>, user: AuthUser) -> Result<impl IntoResponse> {
    challenge::send_code_to_caller(&state, &user).await?;
    Ok(code_mailed())
}

/// Turn MFA off. Needs a recent second factor (step-up) *and* a current code or recovery code.
/// The account's owner is told by mail.
#[utoipa::path(post, path = "/api/auth/mfa/disable", tag = "mfa", request_body = MethodCodeRequest, security(("bearer" = [])),
    responses(
        (status = 200, description = "MFA is off; factors and recovery codes are deleted", body = MessageResponse),
        (status = 400, description = "`invalid_code` or `mfa_not_enabled`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`mfa_step_up_required`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn disable(
    State(state): State<AppState>,
    user: AuthUser,
    client: ClientInfo,
    Json(body): Json<MethodCodeRequest>,
) -> Result<axum::Json<MessageResponse>> {
    let mut f = Fields::default();
    let method = f.optional("method", body.method.as_deref(), parse_method);
    let code = f.take("code", body.code.as_deref(), parse_code);
    f.finish()?;
    if let Some(code) = code {
        enrol::disable(&state, &user, method, &code, &client).await?;
    }
    Ok(axum::Json(MessageResponse {
        message: "Two-step sign-in is off. Your recovery codes no longer work.".into(),
    }))
}

/// Replace the recovery codes (the earlier ones stop working). Needs step-up.
#[utoipa::path(post, path = "/api/auth/mfa/recovery-codes", tag = "mfa", security(("bearer" = [])),
    responses(
        (status = 200, description = "10 new codes, shown only now", body = RecoveryCodes),
        (status = 400, description = "`mfa_not_enabled`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`mfa_step_up_required`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn recovery_codes(
    State(state): State<AppState>,
    user: AuthUser,
    client: ClientInfo,
) -> Result<axum::Json<RecoveryCodes>> {
    Ok(axum::Json(
        enrol::regenerate_recovery_codes(&state, &user, &client).await?,
    ))
}

/// Ask for a sign-in code by mail (passwordless). Answers the same whether or not the address
/// has an account.
#[utoipa::path(post, path = "/api/auth/otp/request", tag = "mfa", request_body = EmailRequest,
    responses(
        (status = 202, description = "If the address has a confirmed account, a code is on its way", body = MessageResponse),
        (status = 422, description = "The email is missing or malformed", body = Problem, content_type = "application/problem+json"),
    ))]
async fn otp_request(
    State(state): State<AppState>,
    client: ClientInfo,
    Json(body): Json<EmailRequest>,
) -> Result<impl IntoResponse> {
    mail_request::accept(
        &state,
        &client,
        body.email.as_deref(),
        Limit::Email,
        "a sign-in code mail",
        "If this address belongs to an account, we mailed it a 6-digit sign-in code. It works once and for 10 minutes.",
        |state, email| async move { otp_login::request(&state, &email).await },
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"email": "rahim@example.com", "code": "123456"}))]
pub struct OtpLoginRequest {
    pub email: Option<String>,
    pub code: Option<String>,
}

/// Sign in with the mailed code. A user with an authenticator app gets the `mfa_required` step
/// instead of tokens.
#[utoipa::path(post, path = "/api/auth/otp/login", tag = "mfa", request_body = OtpLoginRequest,
    responses(
        (status = 200, description = "Tokens (`amr: [\"email\"]`), or `{mfa_required: true, mfa_token, methods}`", body = LoginOutcome),
        (status = 400, description = "`invalid_code`: wrong, used, expired or dead code, or unknown address (indistinguishable)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing or malformed", body = Problem, content_type = "application/problem+json"),
    ))]
async fn otp_login_handler(
    State(state): State<AppState>,
    client: ClientInfo,
    Json(body): Json<OtpLoginRequest>,
) -> Result<axum::response::Response> {
    let mut f = Fields::default();
    let email = f.take("email", body.email.as_deref(), Email::parse);
    let code = f.take("code", body.code.as_deref(), parse_code);
    f.finish()?;
    match (email, code) {
        (Some(email), Some(code)) => Ok(cookies::outcome(
            &state,
            otp_login::login(&state, &email, &code, &client).await?,
        )),
        _ => Err(crate::error::Error::field("code", "required", "is required")),
    }
}

/// The `202` of both "mail me a code" endpoints.
fn code_mailed() -> (StatusCode, axum::Json<MessageResponse>) {
    (
        StatusCode::ACCEPTED,
        axum::Json(MessageResponse {
            message: "We mailed you a 6-digit code. It works once and for 10 minutes.".into(),
        }),
    )
}
