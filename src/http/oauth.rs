//! Social login (OpenID Connect, GitHub, Facebook): `/api/auth/oauth/{provider}` → provider →
//! `/api/auth/oauth/callback` → the app with `?code=` → `POST /api/auth/oauth/exchange`.
//! Tokens never travel in a URL: the app trades the one-time code for them.

use crate::app::AppState;
use crate::auth::mfa::challenge::LoginOutcome;
use crate::auth::oauth::flow::{self, CallbackParams, Landing};
use crate::auth::oauth::identities;
use crate::auth::oauth::state_cookie::{PendingLogin, Purpose, COOKIE_NAME};
use crate::auth::sessions::AuthUser;
use crate::client::ClientInfo;
use crate::domain::Password;
use crate::error::{Problem, Result};
use crate::http::cookies;
use crate::http::extract::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(callback))
        .routes(routes!(start))
        .routes(routes!(exchange))
        .routes(routes!(list_identities))
        .routes(routes!(unlink_identity))
        .routes(routes!(link_identity))
}

const COOKIE_PATH: &str = "/api/auth/oauth";

#[derive(Debug, Deserialize, IntoParams)]
pub struct StartParams {
    /// Where to send the browser afterwards; must be on `OAUTH_REDIRECT_ALLOWLIST`.
    pub redirect_to: Option<String>,
}

#[utoipa::path(get, path = "/api/auth/oauth/{provider}", tag = "tokens",
    params(("provider" = String, Path, description = "A configured provider name"), StartParams),
    responses(
        (status = 303, description = "To the provider's sign-in page (state, PKCE S256, nonce)"),
        (status = 400, description = "`redirect_not_allowed`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`provider_not_configured`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn start(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    Query(params): Query<StartParams>,
    jar: CookieJar,
) -> Result<impl IntoResponse> {
    let started = flow::start(&state, &provider, params.redirect_to.as_deref()).await?;
    Ok(to_provider(&state, jar, started))
}

/// Off to the provider's sign-in page, carrying the pending sign-in (or link) in its cookie.
pub(crate) fn to_provider(state: &AppState, jar: CookieJar, started: flow::Started) -> axum::response::Response {
    (
        jar.add(pending_cookie(state, started.cookie_value)),
        Redirect::to(&started.authorize_url),
    )
        .into_response()
}

/// The cookie that carries a pending sign-in (or link) to the callback.
fn pending_cookie(state: &AppState, value: String) -> Cookie<'static> {
    Cookie::build((COOKIE_NAME, value))
        .path(COOKIE_PATH)
        .http_only(true)
        .secure(state.config.public_url.scheme() == "https")
        // Lax: the provider's redirect back is a top-level GET navigation. No Max-Age: the
        // signed payload carries its own 10-minute expiry.
        .same_site(SameSite::Lax)
        .build()
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

#[utoipa::path(get, path = "/api/auth/oauth/callback", tag = "tokens", params(CallbackQuery),
    responses(
        (status = 303, description = "To `OAUTH_SUCCESS_URL` (or the allowed `redirect_to`) with `?code=`; in cookie mode without a code, setting the session cookies (MFA users still get the code)"),
        (status = 400, description = "`invalid_oauth_state`, `oauth_access_denied`, `oauth_provider_error`, `oauth_code_rejected`, `oauth_email_missing`, `oauth_email_unverified`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_id_token`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`email_in_use_unverified`, `account_not_verified`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`provider_unavailable`: the provider could not be reached or did not answer as documented", body = Problem, content_type = "application/problem+json"),
    ))]
async fn callback(
    State(state): State<AppState>,
    client: ClientInfo,
    Query(q): Query<CallbackQuery>,
    jar: CookieJar,
) -> Result<impl IntoResponse> {
    let cookie = jar.get(COOKIE_NAME).map(|c| c.value().to_string());
    let (provider, purpose) = cookie
        .as_deref()
        .and_then(|c| PendingLogin::open_any_age(c, &state.secrets.oauth_state_key))
        .map(|p| (p.provider, p.purpose))
        .unwrap_or_default();
    let params = CallbackParams {
        code: q.code,
        state: q.state,
        error: q.error,
        error_description: q.error_description,
    };
    // The pending login is spent whatever the outcome.
    let jar = jar.remove(Cookie::build(COOKIE_NAME).path(COOKIE_PATH));
    match flow::callback(&state, cookie.as_deref(), params, &client).await {
        Ok(Landing::WithCode(target)) => Ok((jar, Redirect::to(target.as_str())).into_response()),
        Ok(Landing::SignedIn(target, pair)) => {
            // Cookie mode: the session's cookies ride on the redirect; the app then calls
            // POST /api/auth/refresh (cookie + X-CSRF-Token) for its first access token.
            let (jar, _csrf) = cookies::with_session(&state, jar, &pair);
            Ok((jar, Redirect::to(target.as_str())).into_response())
        }
        Ok(Landing::Page(return_to, outcome)) => Ok(crate::http::ui::social_sign_in(&state, jar, outcome, &return_to)),
        Ok(Landing::Linked(target)) => Ok((jar, Redirect::to(&target)).into_response()),
        // A page's sign-in or link is refused on a page, not in JSON.
        Err(e) if purpose != Purpose::Api => {
            Ok((jar, crate::http::ui::social_refused(&state, &provider, &purpose, e)).into_response())
        }
        Err(e) => Ok((jar, e).into_response()),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ExchangeRequest {
    /// The `code` the callback appended to the app's URL (60 s, single use).
    pub code: String,
}

#[utoipa::path(post, path = "/api/auth/oauth/exchange", tag = "tokens", request_body = ExchangeRequest,
    responses(
        (status = 200, description = "A token pair, or for an MFA user `{mfa_required: true, mfa_token, methods}`", body = LoginOutcome),
        (status = 401, description = "`invalid_oauth_code`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn exchange(
    State(state): State<AppState>,
    client: ClientInfo,
    Json(body): Json<ExchangeRequest>,
) -> Result<axum::response::Response> {
    Ok(cookies::outcome(
        &state,
        flow::exchange(&state, &body.code, &client).await?,
    ))
}

/// A provider identity linked to the signed-in user.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct IdentityView {
    pub id: uuid::Uuid,
    pub provider: String,
    pub email: Option<String>,
    pub linked_at: chrono::DateTime<chrono::Utc>,
}

#[utoipa::path(get, path = "/api/auth/identities", tag = "profile", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<IdentityView>),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_identities(State(state): State<AppState>, user: AuthUser) -> Result<axum::Json<Vec<IdentityView>>> {
    let linked = identities::list(&state, user.user_id).await?;
    Ok(axum::Json(
        linked
            .into_iter()
            .map(|a| IdentityView {
                id: a.id,
                provider: a.provider,
                email: a.email,
                linked_at: a.created_at,
            })
            .collect(),
    ))
}

#[utoipa::path(delete, path = "/api/auth/identities/{id}", tag = "profile", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "The id from GET /api/auth/identities")),
    responses(
        (status = 204, description = "Unlinked"),
        (status = 404, description = "`identity_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`last_sign_in_method`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn unlink_identity(
    State(state): State<AppState>,
    user: AuthUser,
    client: ClientInfo,
    Path(id): Path<uuid::Uuid>,
) -> Result<axum::http::StatusCode> {
    identities::unlink(&state, user.user_id, id, &client).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LinkRequest {
    /// Needed unless the session signed in within `MFA_STEP_UP_WINDOW` (or the account has no
    /// password).
    pub current_password: Option<String>,
    /// Where the browser comes back (with `linked=<provider>`); must be on
    /// `OAUTH_REDIRECT_ALLOWLIST`. Default `OAUTH_SUCCESS_URL`.
    pub redirect_to: Option<String>,
}

#[derive(Debug, serde::Serialize, ToSchema)]
pub struct LinkStarted {
    /// Send the browser here (a top-level navigation); the provider sends it back to
    /// gatehouse's callback, which links the identity.
    pub authorize_url: String,
}

/// Start linking a provider to the signed-in account. The answer sets the pending-login cookie
/// (send the request with credentials); the browser then opens `authorize_url`. Needs the MFA
/// step-up for MFA users, and the current password or a recent sign-in. An identity that
/// already signs in to another account is refused at the callback (`identity_in_use`).
#[utoipa::path(post, path = "/api/auth/identities/{provider}/link", tag = "profile", request_body = LinkRequest,
    security(("bearer" = [])),
    params(("provider" = String, Path, description = "A configured provider name")),
    responses(
        (status = 200, description = "Open `authorize_url` in the browser", body = LinkStarted),
        (status = 400, description = "`redirect_not_allowed`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`mfa_step_up_required` or `reauthentication_required`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`provider_not_configured`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_current_password`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn link_identity(
    State(state): State<AppState>,
    user: AuthUser,
    client: ClientInfo,
    Path(provider): Path<String>,
    jar: CookieJar,
    Json(body): Json<LinkRequest>,
) -> Result<impl IntoResponse> {
    let target = flow::landing_url(&state, body.redirect_to.as_deref())?;
    let password = body
        .current_password
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(Password::for_verification);
    let started =
        identities::start_link(&state, &user, &provider, password.as_ref(), target.to_string(), &client).await?;
    Ok((
        jar.add(pending_cookie(&state, started.cookie_value)),
        axum::Json(LinkStarted {
            authorize_url: started.authorize_url,
        }),
    ))
}
