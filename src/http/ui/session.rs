//! The browser's session on the hosted pages.
//!
//! Signing in sets cookie mode's two cookies (the refresh token, `HttpOnly`, `Path=/api/auth`;
//! the CSRF token) — so a front end on the same site can refresh from them — and the access
//! token in `gatehouse_access` (`HttpOnly`, `SameSite=Lax`, as long as the token lives), which
//! the pages check like any bearer token: signature, expiry, and a live session, so a revoked
//! session is signed out on its next page.
//!
//! When the access token has expired the pages cannot see the refresh cookie (its path is the
//! API's), so they send the browser through [`RESUME_PATH`], which lies under that path: it
//! rotates the refresh token and comes back. Without a live refresh token it ends at sign-in.

use super::forms;
use crate::app::AppState;
use crate::auth::secrets::OpaqueToken;
use crate::auth::sessions::{self, AuthUser, TokenPair};
use crate::client::ClientInfo;
use crate::error::ErrorCode;
use crate::http::cookies::{self, CSRF_COOKIE, REFRESH_COOKIE};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;

pub const ACCESS_COOKIE: &str = "gatehouse_access";
pub const RESUME_PATH: &str = "/api/auth/ui/resume";

/// The cookies of a fresh sign-in (or rotation).
pub fn signed_in_cookies(state: &AppState, jar: CookieJar, pair: &TokenPair) -> CookieJar {
    let (jar, _) = cookies::with_session(state, jar, pair);
    let mut access = Cookie::build((ACCESS_COOKIE, pair.access_token.clone()))
        .path("/")
        .http_only(true)
        .secure(state.config.cookies_are_secure())
        .same_site(SameSite::Lax)
        .build();
    access.set_max_age(cookie::time::Duration::seconds(pair.expires_in.max(0)));
    jar.add(access)
}

/// Expires every session cookie the pages set.
pub fn signed_out_cookies(state: &AppState, jar: CookieJar) -> CookieJar {
    let secure = state.config.cookies_are_secure();
    let removal = |name: &'static str, path: &'static str| {
        let mut c = Cookie::build((name, "")).path(path).secure(secure).build();
        c.make_removal();
        c
    };
    jar.add(removal(ACCESS_COOKIE, "/"))
        .add(removal(REFRESH_COOKIE, "/api/auth"))
        .add(removal(CSRF_COOKIE, "/"))
}

/// The sign-in page, coming back to `return_to` afterwards.
pub fn login_path(return_to: &str) -> String {
    format!("/login?return_to={}", urlencode(return_to))
}

pub fn urlencode(raw: &str) -> String {
    url::form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}

/// The signed-in user of a page request, or where to send the browser instead: through
/// [`RESUME_PATH`] when a session cookie may still be there, else to sign-in. `here` is the
/// page to come back to.
pub async fn page_user(state: &AppState, jar: &CookieJar, here: &str) -> Result<AuthUser, Response> {
    let has_session_cookie = jar.get(CSRF_COOKIE).is_some();
    let Some(access) = jar.get(ACCESS_COOKIE).map(|c| c.value().to_string()) else {
        let to = if has_session_cookie {
            format!("{RESUME_PATH}?return_to={}", urlencode(here))
        } else {
            login_path(here)
        };
        return Err(Redirect::to(&to).into_response());
    };
    match sessions::authenticate(state, &access).await {
        Ok(user) => Ok(user),
        Err(e) if e.code() == ErrorCode::AccessTokenExpired.as_str() && has_session_cookie => {
            Err(Redirect::to(&format!("{RESUME_PATH}?return_to={}", urlencode(here))).into_response())
        }
        Err(_) => Err((signed_out_cookies(state, jar.clone()), Redirect::to(&login_path(here))).into_response()),
    }
}

#[derive(Deserialize)]
pub struct ReturnQuery {
    pub return_to: Option<String>,
}

/// `GET /api/auth/ui/resume`: rotates the refresh cookie into a new pair and returns to the
/// page (a path on this server only). The cookie is `SameSite=Strict`, so another site cannot
/// make a browser do this.
pub async fn resume(
    State(state): State<AppState>,
    jar: CookieJar,
    client: ClientInfo,
    Query(q): Query<ReturnQuery>,
) -> Response {
    let back = forms::return_to(&state, q.return_to.as_deref())
        .filter(|r| r.starts_with('/'))
        .unwrap_or_else(|| forms::DEFAULT_RETURN.into());
    let Some(token) = jar
        .get(REFRESH_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| !v.is_empty())
    else {
        return (signed_out_cookies(&state, jar), Redirect::to(&login_path(&back))).into_response();
    };
    match sessions::refresh(&state, &OpaqueToken::from_presented(&token), &client).await {
        Ok(pair) => (signed_in_cookies(&state, jar, &pair), Redirect::to(&back)).into_response(),
        Err(_) => (signed_out_cookies(&state, jar), Redirect::to(&login_path(&back))).into_response(),
    }
}
