//! `/api/auth/forgot-password`, `/api/auth/reset-password`, `/api/auth/change-password`.

use crate::app::AppState;
use crate::auth::secrets::OpaqueToken;
use crate::auth::sessions::AuthUser;
use crate::auth::{lockout, password_change};
use crate::client::ClientInfo;
use crate::domain::Password;
use crate::error::{Problem, Result};
use crate::http::auth::{EmailRequest, Fields, MessageResponse};
use crate::http::extract::Json;
use crate::http::mail_request;
use crate::ratelimit::Limit;
use axum::extract::State;
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(forgot_password))
        .routes(routes!(reset_password))
        .routes(routes!(change_password))
        .routes(routes!(unlock_account))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UnlockRequest {
    /// The token from the link in the "sign-in was paused" mail.
    pub token: Option<String>,
}

/// Lift a failed-login lockout with the token from the lock mail (for front ends that point
/// the link at their own page; gatehouse's own page is `/unlock-account`).
#[utoipa::path(post, path = "/api/auth/unlock", tag = "password", request_body = UnlockRequest,
    responses(
        (status = 200, description = "Every lock on the account has ended", body = MessageResponse),
        (status = 400, description = "`invalid_token`, `token_used` or `token_expired`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The token is missing", body = Problem, content_type = "application/problem+json"),
    ))]
async fn unlock_account(
    State(state): State<AppState>,
    client: ClientInfo,
    Json(body): Json<UnlockRequest>,
) -> Result<axum::Json<MessageResponse>> {
    let mut f = Fields::default();
    let token = f.take("token", body.token.as_deref(), |t| Ok(OpaqueToken::from_presented(t)));
    f.finish()?;
    if let Some(token) = token {
        lockout::unlock_with_token(&state, &token, &client).await?;
    }
    Ok(axum::Json(MessageResponse {
        message: "Sign-in to this account works again.".into(),
    }))
}

/// Ask for a password-reset link. Answers the same whether or not the address has an account.
#[utoipa::path(post, path = "/api/auth/forgot-password", tag = "password", request_body = EmailRequest,
    responses(
        (status = 202, description = "If the address has an account, a reset link is on its way", body = MessageResponse),
        (status = 422, description = "The email is missing or malformed", body = Problem, content_type = "application/problem+json"),
    ))]
async fn forgot_password(
    State(state): State<AppState>,
    client: ClientInfo,
    Json(body): Json<EmailRequest>,
) -> Result<impl IntoResponse> {
    mail_request::accept(
        &state,
        &client.clone(),
        body.email.as_deref(),
        Limit::PasswordReset,
        "a password reset mail",
        "If this address belongs to an account, we sent a link to reset the password. It is valid for a short time.",
        move |state, email| async move { password_change::forgot(&state, &email, &client).await },
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetPasswordRequest {
    /// The token from the link in the reset mail.
    pub token: Option<String>,
    pub new_password: Option<String>,
}

/// Set a new password with the token from a reset mail. Ends every session of the account.
#[utoipa::path(post, path = "/api/auth/reset-password", tag = "password", request_body = ResetPasswordRequest,
    responses(
        (status = 200, description = "Password changed; sign in with the new one", body = MessageResponse),
        (status = 400, description = "`invalid_token`, `token_used`, `token_expired` or `token_revoked`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The new password breaks the policy (`password_reused` for a recent one)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn reset_password(
    State(state): State<AppState>,
    client: ClientInfo,
    Json(body): Json<ResetPasswordRequest>,
) -> Result<axum::Json<MessageResponse>> {
    let mut f = Fields::default();
    let token = f.take("token", body.token.as_deref(), |t| Ok(OpaqueToken::from_presented(t)));
    let new_password = f.take("new_password", body.new_password.as_deref(), |p| Ok(p.to_string()));
    f.finish()?;
    if let (Some(token), Some(new_password)) = (token, new_password) {
        password_change::reset(&state, &token, &new_password, &client).await?;
    }
    Ok(axum::Json(MessageResponse {
        message: "Your password was changed. Sign in with the new password.".into(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    pub current_password: Option<String>,
    pub new_password: Option<String>,
}

/// Change the password of the signed-in user. Other sessions end; this one stays.
#[utoipa::path(put, path = "/api/auth/change-password", tag = "password", request_body = ChangePasswordRequest, security(("bearer" = [])),
    responses(
        (status = 200, description = "Password changed", body = MessageResponse),
        (status = 400, description = "`no_password_set`: the account signs in through a provider only", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`mfa_step_up_required`: an MFA user's token needs a second factor from the last `MFA_STEP_UP_WINDOW` (POST /api/auth/mfa/step-up)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_current_password`, or the new password breaks the policy", body = Problem, content_type = "application/problem+json"),
    ))]
async fn change_password(
    State(state): State<AppState>,
    user: AuthUser,
    client: ClientInfo,
    Json(body): Json<ChangePasswordRequest>,
) -> Result<axum::Json<MessageResponse>> {
    let mut f = Fields::default();
    let current = f.take("current_password", body.current_password.as_deref(), |p| {
        Ok(Password::for_verification(p))
    });
    let new_password = f.take("new_password", body.new_password.as_deref(), |p| Ok(p.to_string()));
    f.finish()?;
    if let (Some(current), Some(new_password)) = (current, new_password) {
        password_change::change(&state, &user, &current, &new_password, &client).await?;
    }
    Ok(axum::Json(MessageResponse {
        message: "Your password was changed. Your other devices were signed out.".into(),
    }))
}
