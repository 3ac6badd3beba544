//! Cookie mode (`REFRESH_TOKEN_COOKIE=true`, seed 001): the refresh token travels as a cookie
//! JavaScript cannot read, so an XSS bug in the front end cannot steal a long-lived credential.
//!
//! - `gatehouse_refresh`: the refresh token. `HttpOnly`; `Secure` when `PUBLIC_URL` is https
//!   (plain http is only accepted for localhost development, see `Config`); `SameSite=Strict`,
//!   since the front end calls gatehouse from its own pages (same site: `app.example.com` and
//!   `auth.example.com`, or `localhost:3000` and `localhost:8080`) and no cross-site navigation
//!   ever needs to carry it; `Path=/api/auth`, so it is sent to the auth API only; `Max-Age` =
//!   the refresh token's remaining lifetime.
//! - `gatehouse_csrf`: the CSRF token bound to that refresh token (see [`crate::auth::csrf`]).
//!   Readable by JavaScript (that is its purpose), `Path=/` so every page can read it, same
//!   `Secure`/`SameSite`/`Max-Age`. Also returned as `csrf_token` in the JSON answer.
//!
//! Every endpoint that issues a pair (login, MFA challenge, OTP login, step-up, OAuth exchange
//! and callback, refresh) sets both and leaves `refresh_token` out of the JSON — except a
//! refresh that presented its token in the body, which answers as before (native apps). The
//! OAuth 2.0 token endpoint (`/api/auth/token`) always answers per RFC 6749.

use crate::app::AppState;
use crate::auth::csrf::{self, RequestProof};
use crate::auth::mfa::challenge::LoginOutcome;
use crate::auth::secrets::OpaqueToken;
use crate::auth::sessions::TokenPair;
use crate::error::{Error, ErrorCode, Result};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

pub const REFRESH_COOKIE: &str = "gatehouse_refresh";
pub const CSRF_COOKIE: &str = "gatehouse_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";
const REFRESH_PATH: &str = "/api/auth";

fn cookie(state: &AppState, name: &'static str, value: String, path: &'static str, http_only: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .path(path)
        .http_only(http_only)
        .secure(state.config.cookies_are_secure())
        .same_site(SameSite::Strict)
        .build()
}

/// The answer for a freshly issued pair: JSON as before, or in cookie mode the cookies plus
/// the JSON without `refresh_token` and with `csrf_token`.
pub fn tokens(state: &AppState, pair: TokenPair) -> Response {
    if !state.config.refresh_token_cookie {
        return axum::Json(pair).into_response();
    }
    let (jar, csrf_token) = with_session(state, CookieJar::new(), &pair);
    let body = serde_json::json!({
        "access_token": pair.access_token,
        "token_type": pair.token_type,
        "expires_in": pair.expires_in,
        "refresh_expires_in": pair.refresh_expires_in,
        "csrf_token": csrf_token,
    });
    (jar, axum::Json(body)).into_response()
}

/// Adds the refresh and CSRF cookies for `pair` to `jar`; returns the CSRF token too.
pub fn with_session(state: &AppState, jar: CookieJar, pair: &TokenPair) -> (CookieJar, String) {
    let refresh = OpaqueToken::from_presented(&pair.refresh_token);
    let csrf_token = csrf::token_for(&state.secrets.csrf_key, &refresh);
    let max_age = cookie::time::Duration::seconds(pair.refresh_expires_in.max(0));
    let mut refresh_cookie = cookie(state, REFRESH_COOKIE, pair.refresh_token.clone(), REFRESH_PATH, true);
    refresh_cookie.set_max_age(max_age);
    let mut csrf_cookie = cookie(state, CSRF_COOKIE, csrf_token.clone(), "/", false);
    csrf_cookie.set_max_age(max_age);
    (jar.add(refresh_cookie).add(csrf_cookie), csrf_token)
}

/// [`tokens`] for an answer that may instead be the MFA step (which sets no cookie).
pub fn outcome(state: &AppState, outcome: LoginOutcome) -> Response {
    match outcome {
        LoginOutcome::Tokens(pair) => tokens(state, pair),
        step @ LoginOutcome::MfaRequired(_) => axum::Json(step).into_response(),
    }
}

/// Expires both cookies (logout, or a cookie whose session is over).
pub fn cleared(state: &AppState) -> CookieJar {
    if !state.config.refresh_token_cookie {
        return CookieJar::new();
    }
    let mut refresh = cookie(state, REFRESH_COOKIE, String::new(), REFRESH_PATH, true);
    refresh.make_removal();
    let mut csrf = cookie(state, CSRF_COOKIE, String::new(), "/", false);
    csrf.make_removal();
    CookieJar::new().add(refresh).add(csrf)
}

/// The refresh token from the cookie, once the request has proved it comes from an allowed
/// page with the matching CSRF token; `None` when cookie mode is off or there is no cookie.
pub fn presented_refresh_token(state: &AppState, headers: &HeaderMap) -> Result<Option<OpaqueToken>> {
    if !state.config.refresh_token_cookie {
        return Ok(None);
    }
    let jar = CookieJar::from_headers(headers);
    let Some(token) = jar
        .get(REFRESH_COOKIE)
        .map(|c| c.value().trim())
        .filter(|v| !v.is_empty())
    else {
        return Ok(None);
    };
    let token = OpaqueToken::from_presented(token);
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    csrf::check(
        &state.config,
        &state.secrets.csrf_key,
        &token,
        &RequestProof {
            origin: text(header::ORIGIN.as_str()),
            referer: text(header::REFERER.as_str()),
            csrf_header: text(CSRF_HEADER),
        },
    )?;
    Ok(Some(token))
}

/// The CSRF token for the refresh cookie of this request (`GET /api/auth/csrf`). A browser
/// sends `Origin` on every cross-origin fetch; when it does, it must be an allowed one.
pub fn csrf_for_cookie(state: &AppState, headers: &HeaderMap) -> Result<String> {
    if !state.config.refresh_token_cookie {
        return Err(Error::new(
            ErrorCode::CookieModeOff,
            "cookie mode is off (REFRESH_TOKEN_COOKIE): the refresh token travels in the JSON body and needs no CSRF token",
        ));
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        if !csrf::allowed_origin(&state.config, origin.trim_end_matches('/')) {
            return Err(Error::new(
                ErrorCode::OriginNotAllowed,
                "this page is not allowed to use the session cookie (Origin must be PUBLIC_URL or one of CORS_ALLOWED_ORIGINS)",
            ));
        }
    }
    let jar = CookieJar::from_headers(headers);
    let token = jar
        .get(REFRESH_COOKIE)
        .map(|c| c.value().trim())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            Error::new(
                ErrorCode::RefreshCookieMissing,
                "no session cookie was sent: sign in first, and call with credentials: 'include'",
            )
        })?;
    Ok(csrf::token_for(
        &state.secrets.csrf_key,
        &OpaqueToken::from_presented(token),
    ))
}

/// An error answer that also expires the cookies (the session they name is unusable).
pub fn error_clearing(state: &AppState, e: Error) -> Response {
    (cleared(state), e).into_response()
}
