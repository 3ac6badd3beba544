//! What every hosted form carries and proves.
//!
//! **CSRF.** A signed-in form carries HMAC(server key, "page", session id): another site can
//! neither read nor compute it, and it dies with the session. A form shown before sign-in
//! (sign in, register, forgotten password, the MFA step) is bound the same way to a random
//! `gatehouse_form` cookie (`HttpOnly`, `SameSite=Strict`), so login CSRF fails too. Either
//! way the request's `Origin` (or `Referer`) must be `PUBLIC_URL`'s when the browser sends
//! one. Compared in constant time.
//!
//! **`return_to`.** Where the browser goes after signing in: a path on this server, or a URL
//! on an origin of `UI_RETURN_TO_ORIGINS` (default: `CORS_ALLOWED_ORIGINS`). Anything else
//! (another host, `//evil.example`, `javascript:`) is ignored, never followed: no open redirect.

use crate::app::AppState;
use crate::auth::secrets::{constant_time_eq, hmac_bytes, random_bytes};
use crate::error::{Error, ErrorCode, Result};
use axum::http::{header, HeaderMap};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use uuid::Uuid;

pub const FORM_COOKIE: &str = "gatehouse_form";
/// Where a signed-in user lands when no (allowed) `return_to` was given.
pub const DEFAULT_RETURN: &str = "/account";

/// The CSRF token of a signed-in user's forms.
pub fn session_token(state: &AppState, session_id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(hmac_bytes(&state.secrets.csrf_key, &[b"page", session_id.as_bytes()]))
}

fn form_token_for(state: &AppState, cookie: &str) -> String {
    URL_SAFE_NO_PAD.encode(hmac_bytes(&state.secrets.csrf_key, &[b"form", cookie.as_bytes()]))
}

/// The CSRF token of a form shown before sign-in, and the jar with the cookie it is bound to
/// (the existing one, or a new one).
pub fn form_token(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    if let Some(existing) = jar
        .get(FORM_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| v.len() >= 32)
    {
        let token = form_token_for(state, &existing);
        return (jar, token);
    }
    let value = URL_SAFE_NO_PAD.encode(random_bytes::<32>());
    let token = form_token_for(state, &value);
    let cookie = Cookie::build((FORM_COOKIE, value))
        .path("/")
        .http_only(true)
        .secure(state.config.cookies_are_secure())
        .same_site(SameSite::Strict)
        .build();
    (jar.add(cookie), token)
}

fn refused(detail: &str) -> Error {
    Error::new(ErrorCode::CsrfTokenMismatch, detail.to_string())
}

/// The request came from one of our own pages, if the browser says where it came from.
pub fn check_origin(state: &AppState, headers: &HeaderMap) -> Result<()> {
    let ours = state.config.public_url.origin().ascii_serialization();
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let origin = text(header::ORIGIN).or_else(|| {
        text(header::REFERER)
            .and_then(|r| url::Url::parse(&r).ok())
            .map(|u| u.origin().ascii_serialization())
    });
    match origin {
        Some(o) if o.trim_end_matches('/') != ours => Err(Error::new(
            ErrorCode::OriginNotAllowed,
            "this form was sent from another site; open the page on this server and try again",
        )),
        _ => Ok(()),
    }
}

/// Checks a posted pre-sign-in form.
pub fn check_form(state: &AppState, headers: &HeaderMap, jar: &CookieJar, presented: Option<&str>) -> Result<()> {
    check_origin(state, headers)?;
    let cookie = jar.get(FORM_COOKIE).map(|c| c.value().to_string());
    match (cookie, presented.map(str::trim).filter(|p| !p.is_empty())) {
        (Some(cookie), Some(presented)) if constant_time_eq(presented, &form_token_for(state, &cookie)) => Ok(()),
        _ => Err(refused(
            "this form has expired or was not sent from this site; reload the page and try again",
        )),
    }
}

/// Checks a posted form of a signed-in user.
pub fn check_session_form(
    state: &AppState,
    headers: &HeaderMap,
    session_id: Uuid,
    presented: Option<&str>,
) -> Result<()> {
    check_origin(state, headers)?;
    match presented.map(str::trim) {
        Some(p) if constant_time_eq(p, &session_token(state, session_id)) => Ok(()),
        _ => Err(refused(
            "this form has expired or was not sent from this site; reload the page and try again",
        )),
    }
}

/// `raw` if it is a safe place to send the browser after signing in.
pub fn return_to(state: &AppState, raw: Option<&str>) -> Option<String> {
    let raw = raw?.trim();
    if raw.is_empty() || raw.len() > 2000 || raw.chars().any(|c| c.is_control() || c == '\\') {
        return None;
    }
    if raw.starts_with('/') {
        // `//host` and `/\host` are other hosts to a browser.
        return (!raw.starts_with("//")).then(|| raw.to_string());
    }
    let url = url::Url::parse(raw).ok()?;
    if !matches!(url.scheme(), "http" | "https") || !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    let origin = url.origin().ascii_serialization();
    let allowed = origin == state.config.public_url.origin().ascii_serialization()
        || state.config.ui.return_to_origins.contains(&origin);
    allowed.then(|| url.to_string())
}

/// `return_to`, or the account page.
pub fn return_to_or_default(state: &AppState, raw: Option<&str>) -> String {
    return_to(state, raw).unwrap_or_else(|| DEFAULT_RETURN.to_string())
}
