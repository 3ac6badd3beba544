//! `POST /api/auth/refresh` and `/logout`: the two endpoints that take a refresh token — in the
//! JSON body, or in cookie mode from the `gatehouse_refresh` cookie (then only with an allowed
//! `Origin` and the matching `X-CSRF-Token`, see [`crate::auth::csrf`]).

use crate::app::AppState;
use crate::auth::secrets::OpaqueToken;
use crate::auth::sessions::{self, TokenPair};
use crate::client::ClientInfo;
use crate::error::{Error, ErrorCode, Problem, Result};
use crate::http::cookies;
use crate::http::extract::{bearer_token, body_rejection, parse_json};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(csrf_token))
}

#[derive(Debug, serde::Serialize, ToSchema)]
pub struct CsrfToken {
    /// Send it as `X-CSRF-Token` with the next cookie-authenticated request.
    pub csrf_token: String,
}

/// The CSRF token of the session in the refresh cookie, for a front end on another host of the
/// same site (`app.example.com` beside `auth.example.com`) that cannot read the `gatehouse_csrf`
/// cookie and lost the `csrf_token` of the last answer on a page reload. Safe to hand out:
/// the cookie is `SameSite=Strict` (another site cannot make the browser send it), and a page
/// of another origin can read the answer only if `CORS_ALLOWED_ORIGINS` allows it; a request
/// naming any other `Origin` is refused outright.
#[utoipa::path(get, path = "/api/auth/csrf", tag = "tokens",
    responses(
        (status = 200, description = "The CSRF token that goes with the refresh cookie", body = CsrfToken),
        (status = 401, description = "`refresh_cookie_missing`: no session cookie was sent", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`origin_not_allowed`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`cookie_mode_off`: REFRESH_TOKEN_COOKIE is not on", body = Problem, content_type = "application/problem+json"),
    ))]
async fn csrf_token(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    let token = cookies::csrf_for_cookie(&state, &headers)?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(CsrfToken { csrf_token: token }),
    )
        .into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    /// Leave out in cookie mode: the `gatehouse_refresh` cookie is used instead.
    pub refresh_token: Option<String>,
}

/// An optional JSON body: empty is `None` (a cookie-mode request needs none); anything else must
/// be JSON, as on every other endpoint.
fn optional_body(
    headers: &HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Option<RefreshRequest>> {
    let body = body.map_err(body_rejection)?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        });
    if !is_json {
        return Err(Error::UnsupportedMediaType);
    }
    parse_json(&body).map(Some)
}

fn body_token(body: Option<&RefreshRequest>) -> Option<OpaqueToken> {
    body?
        .refresh_token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(OpaqueToken::from_presented)
}

fn token_required() -> Error {
    Error::field("refresh_token", "required", "is required")
}

/// Exchange a refresh token for a new pair (the old refresh token stops working).
///
/// Presenting an already-rotated token again ends the whole session (theft detection), except
/// for a retry within a few seconds, which gets the same new pair. In cookie mode, send no body:
/// the cookie is used, with `X-CSRF-Token`, and the new pair comes back as cookies too.
#[utoipa::path(post, path = "/api/auth/refresh", tag = "tokens", request_body(content = RefreshRequest, description = "Optional in cookie mode"),
    params(("X-CSRF-Token" = Option<String>, Header, description = "Cookie mode: the value of the gatehouse_csrf cookie")),
    responses(
        (status = 200, description = "A new pair (cookie mode: new cookies, `csrf_token` instead of `refresh_token`)", body = TokenPair),
        (status = 401, description = "`invalid_refresh_token`, `refresh_token_expired`, `refresh_token_reused`, `session_revoked` or `session_expired`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Cookie mode: `origin_not_allowed`, `csrf_token_missing` or `csrf_token_mismatch`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn refresh(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let body = optional_body(&headers, body)?;
    if let Some(token) = body_token(body.as_ref()) {
        // A token in the body answers in the body, whatever the mode (native apps, scripts).
        return Ok(axum::Json(sessions::refresh(&state, &token, &client).await?).into_response());
    }
    let token = cookies::presented_refresh_token(&state, &headers)?.ok_or_else(token_required)?;
    match sessions::refresh(&state, &token, &client).await {
        Ok(pair) => Ok(cookies::tokens(&state, pair)),
        // The cookie names a session that is over: stop the browser sending it.
        Err(e @ Error::Problem { .. }) if e.status() == StatusCode::UNAUTHORIZED => {
            Ok(cookies::error_clearing(&state, e))
        }
        Err(e) => Err(e),
    }
}

/// End the session: its refresh tokens and access tokens stop working at once.
///
/// Authenticate with the access token (`Authorization: Bearer`), or send `{"refresh_token": ...}`,
/// or in cookie mode the cookie (with `X-CSRF-Token`). Cookie mode also expires the cookies.
#[utoipa::path(post, path = "/api/auth/logout", tag = "tokens", request_body(content = RefreshRequest, description = "Optional when a bearer token or the cookie is sent"),
    security(("bearer" = []), ("oauth2_password" = []), ()),
    params(("X-CSRF-Token" = Option<String>, Header, description = "Cookie mode: the value of the gatehouse_csrf cookie")),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "No valid access or refresh token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Cookie mode: `origin_not_allowed`, `csrf_token_missing` or `csrf_token_mismatch`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn logout(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let signed_out = || (cookies::cleared(&state), StatusCode::NO_CONTENT).into_response();
    let (mut parts, ()) = axum::http::Request::new(()).into_parts();
    parts.headers = headers.clone();
    if let Some(bearer) = bearer_token(&parts) {
        let user = sessions::authenticate(&state, bearer).await?;
        sessions::logout(&state, &user, &client).await?;
        return Ok(signed_out());
    }
    let body = optional_body(&headers, body)?;
    let token = match body_token(body.as_ref()) {
        Some(token) => token,
        None => match cookies::presented_refresh_token(&state, &headers)? {
            Some(token) => token,
            None if body.is_some() => return Err(token_required()),
            None => {
                return Err(Error::new(
                    ErrorCode::MissingToken,
                    "send Authorization: Bearer <access_token> or {\"refresh_token\": ...}",
                ))
            }
        },
    };
    match sessions::logout_by_refresh(&state, &token, &client).await {
        Ok(()) => Ok(signed_out()),
        Err(e @ Error::Problem { .. }) if e.status() == StatusCode::UNAUTHORIZED => {
            Ok(cookies::error_clearing(&state, e))
        }
        Err(e) => Err(e),
    }
}
