//! `/api/auth/change-email` and `/api/auth/confirm-email-change`: moving an account to a new
//! sign-in address (rules in [`crate::auth::email_change`]).

use crate::app::AppState;
use crate::auth::email_change;
use crate::auth::registration::check_email_domain;
use crate::auth::secrets::OpaqueToken;
use crate::auth::sessions::AuthUser;
use crate::client::ClientInfo;
use crate::domain::{Email, Password};
use crate::error::{Error, Problem, Result};
use crate::http::auth::{Fields, MessageResponse};
use crate::http::extract::Json;
use crate::ratelimit::Limit;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(change_email))
        .routes(routes!(confirm_email_change))
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"new_email": "rahim.uddin@example.org", "current_password": "correct horse battery staple"}))]
pub struct ChangeEmailRequest {
    pub new_email: Option<String>,
    /// Required unless the account signs in through a provider only.
    pub current_password: Option<String>,
}

/// Ask to move the signed-in account to a new address. A link goes to the new address; nothing
/// changes until it is used. The old address is told.
///
/// Answers the same `202` whether or not the new address already has an account (its owner is
/// told instead). Needs the current password, a recent second factor for MFA users, and for an
/// account without a password a sign-in within `MFA_STEP_UP_WINDOW`.
#[utoipa::path(post, path = "/api/auth/change-email", tag = "profile", request_body = ChangeEmailRequest,
    security(("bearer" = [])),
    responses(
        (status = 202, description = "A confirmation link is on its way to the new address", body = MessageResponse),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`mfa_step_up_required` (POST /api/auth/mfa/step-up first), or `reauthentication_required`: an account without a password must have signed in within `MFA_STEP_UP_WINDOW`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`new_email` malformed or `email_unchanged`; `current_password` missing or `invalid_current_password`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many mails to this address (`RATE_LIMIT_EMAIL`)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn change_email(
    State(state): State<AppState>,
    user: AuthUser,
    client: ClientInfo,
    Json(body): Json<ChangeEmailRequest>,
) -> Result<(StatusCode, axum::Json<MessageResponse>)> {
    request(
        &state,
        &user,
        body.new_email.as_deref(),
        body.current_password.as_deref(),
        &client,
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(MessageResponse {
            message: "Check the new address: we sent it a link to confirm the change. Until it is used, you keep signing in with the current address.".into(),
        }),
    ))
}

/// Asks to move the caller's account to `new_email` (the API's and the account page's rule):
/// the fields checked, the owner proven, the mails sent off the request.
pub(crate) async fn request(
    state: &AppState,
    user: &AuthUser,
    new_email: Option<&str>,
    current_password: Option<&str>,
    client: &ClientInfo,
) -> Result<()> {
    let mut f = Fields::default();
    let new_email = f.take("new_email", new_email, Email::parse);
    if let Some(email) = &new_email {
        if let Some(mut problem) = check_email_domain(state, email).await {
            problem.field = "new_email".into();
            f.0.push(problem);
        }
    }
    let current = current_password.map(Password::for_verification);
    f.finish()?;
    let new_email = new_email.ok_or_else(|| Error::Internal(anyhow::anyhow!("validated new_email is missing")))?;
    let account = email_change::authorize(state, user, &new_email, current.as_ref(), client).await?;
    crate::auth::mail_limit::count_request(state, Limit::Email, &new_email.canonical(), client).await?;
    // Off the request, so a taken and a free address answer in the same time.
    let (state, client) = (state.clone(), client.clone());
    tokio::spawn(async move {
        if let Err(e) = email_change::send_change_mails(&state, &account, &new_email, &client).await {
            tracing::error!(error = %format!("{e:#}"), "could not queue the address-change mails");
        }
    });
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ConfirmEmailChangeRequest {
    /// The token from the link in the mail to the new address.
    pub token: Option<String>,
}

/// Confirm a new sign-in address with the token from the mail sent to it (for front ends that
/// point `CONFIRM_EMAIL_CHANGE_URL` at their own page; gatehouse's own is `/confirm-email-change`).
#[utoipa::path(post, path = "/api/auth/confirm-email-change", tag = "profile", request_body = ConfirmEmailChangeRequest,
    responses(
        (status = 200, description = "The account signs in with the new address from now on", body = MessageResponse),
        (status = 400, description = "`invalid_token`, `token_used`, `token_expired` or `token_revoked`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`account_disabled`: an admin locked the account; the link works again once it is unlocked", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`email_taken`: another account has the address by now; nothing changed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The token is missing", body = Problem, content_type = "application/problem+json"),
    ))]
async fn confirm_email_change(
    State(state): State<AppState>,
    client: ClientInfo,
    Json(body): Json<ConfirmEmailChangeRequest>,
) -> Result<axum::Json<MessageResponse>> {
    let mut f = Fields::default();
    let token = f.take("token", body.token.as_deref(), |t| Ok(OpaqueToken::from_presented(t)));
    f.finish()?;
    if let Some(token) = token {
        email_change::confirm(&state, &token, &client).await?;
    }
    Ok(axum::Json(MessageResponse {
        message: "Your sign-in address is changed. Sign in with the new address from now on.".into(),
    }))
}
