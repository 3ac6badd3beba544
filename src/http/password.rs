//! `/api/auth/forgot-password`, `/api/auth/reset-password`, `/api/auth/change-password`.

use crate::app::AppState;
use crate::auth::password_change;
use crate::auth::secrets::OpaqueToken;
use crate::auth::sessions::AuthUser;
use crate::domain::{Email, Password};
use crate::error::{Problem, Result};
use crate::http::auth::{EmailRequest, Fields, MessageResponse};
use crate::http::extract::{ClientInfo, Json};
use axum::extract::State;
use axum::http::StatusCode;
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
    let mut f = Fields::default();
    let email = f.take("email", body.email.as_deref(), Email::parse);
    f.finish()?;
    if let Some(email) = email {
        // Off the request: known and unknown addresses must answer in the same time.
        tokio::spawn(async move {
            if let Err(e) = password_change::forgot(&state, &email, &client).await {
                tracing::error!(error = %format!("{e:#}"), "could not queue a password reset mail");
            }
        });
    }
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(MessageResponse {
            message: "If this address belongs to an account, we sent a link to reset the password. It is valid for a short time.".into(),
        }),
    ))
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
