//! The HTML pages that links in mails open (used unless `VERIFY_EMAIL_URL`,
//! `RESET_PASSWORD_URL` or `CONFIRM_EMAIL_CHANGE_URL` point the links at a front end of your own).
//!
//! GET only shows a form; the token is spent by the POST it submits. Mail scanners and link
//! previewers fetch links with GET, and must not be able to use up a token.

use crate::app::AppState;
use crate::auth::secrets::OpaqueToken;
use crate::auth::{email_change, lockout, password_change, verification};
use crate::client::ClientInfo;
use crate::error::Error;
use crate::mail::templates::escape_html;
use axum::extract::{Form, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/verify-email", get(show).post(confirm))
        .route("/reset-password", get(show_reset).post(submit_reset))
        .route("/unlock-account", get(show_unlock).post(submit_unlock))
        .route(
            "/confirm-email-change",
            get(show_email_change).post(submit_email_change),
        )
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{title}</title><style>body{{font-family:sans-serif;max-width:32em;margin:4em auto;padding:0 1em;line-height:1.5}}\
         button{{font-size:1.1em;padding:.5em 1.2em}}</style></head><body><h1>{title}</h1>{body}</body></html>",
        title = escape_html(title)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
        ],
        html,
    )
        .into_response()
}

/// The page a mailed link opens: one button that posts the token back to `action`.
fn confirm_page(token: Option<String>, title: &str, action: &str, button: &str) -> Response {
    match token.filter(|t| !t.is_empty()) {
        Some(token) => page(
            StatusCode::OK,
            title,
            &format!(
                "<form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"token\" value=\"{}\">\
                 <button type=\"submit\">{button}</button></form>",
                escape_html(&token)
            ),
        ),
        None => page(
            StatusCode::BAD_REQUEST,
            "Link incomplete",
            "<p>This link has no token. Open the link from the mail exactly as it was sent.</p>",
        ),
    }
}

/// The answer to a posted token: `done` on success, the reason on a refused link.
fn outcome_page(result: crate::error::Result<()>, title: &str, done: &str) -> Response {
    match result {
        Ok(()) => page(StatusCode::OK, title, &format!("<p>{done}</p>")),
        Err(e) if e.status().is_server_error() => e.into_response(),
        Err(e) => page(
            e.status(),
            "This link does not work",
            &format!("<p>{}</p>", escape_html(&e.to_string())),
        ),
    }
}

async fn show(Query(q): Query<TokenQuery>) -> Response {
    confirm_page(
        q.token,
        "Confirm your email address",
        "verify-email",
        "Confirm my email address",
    )
}

async fn show_unlock(Query(q): Query<TokenQuery>) -> Response {
    confirm_page(q.token, "Unlock your account", "unlock-account", "Unlock my account")
}

async fn submit_unlock(State(state): State<AppState>, client: ClientInfo, Form(q): Form<TokenQuery>) -> Response {
    let token = OpaqueToken::from_presented(q.token.as_deref().unwrap_or(""));
    outcome_page(
        lockout::unlock_with_token(&state, &token, &client).await,
        "Account unlocked",
        "Sign-in works again. You can close this page and sign in.",
    )
}

async fn show_email_change(Query(q): Query<TokenQuery>) -> Response {
    confirm_page(
        q.token,
        "Confirm your new sign-in address",
        "confirm-email-change",
        "Use this address from now on",
    )
}

async fn submit_email_change(State(state): State<AppState>, client: ClientInfo, Form(q): Form<TokenQuery>) -> Response {
    let token = OpaqueToken::from_presented(q.token.as_deref().unwrap_or(""));
    outcome_page(
        email_change::confirm(&state, &token, &client).await,
        "Sign-in address changed",
        "Your account signs in with this address from now on. You can close this page.",
    )
}

async fn confirm(State(state): State<AppState>, client: ClientInfo, Form(q): Form<TokenQuery>) -> Response {
    let token = OpaqueToken::from_presented(q.token.as_deref().unwrap_or(""));
    outcome_page(
        verification::verify_with_token(&state, &token, &client).await,
        "Email address confirmed",
        "Thank you. You can close this page and sign in.",
    )
}

#[derive(Deserialize)]
struct ResetForm {
    token: Option<String>,
    new_password: Option<String>,
}

fn reset_form(token: &str, problem: Option<&str>) -> String {
    let problem = problem
        .map(|p| format!("<p role=\"alert\"><strong>{}</strong></p>", escape_html(p)))
        .unwrap_or_default();
    format!(
        "{problem}<form method=\"post\" action=\"reset-password\"><input type=\"hidden\" name=\"token\" value=\"{}\">\
         <p><label>New password<br><input type=\"password\" name=\"new_password\" autocomplete=\"new-password\" minlength=\"8\" maxlength=\"128\" required></label></p>\
         <button type=\"submit\">Set new password</button></form>",
        escape_html(token)
    )
}

async fn show_reset(Query(q): Query<TokenQuery>) -> Response {
    match q.token.filter(|t| !t.is_empty()) {
        Some(token) => page(StatusCode::OK, "Choose a new password", &reset_form(&token, None)),
        None => page(
            StatusCode::BAD_REQUEST,
            "Link incomplete",
            "<p>This link has no token. Open the link from the mail exactly as it was sent.</p>",
        ),
    }
}

async fn submit_reset(State(state): State<AppState>, client: ClientInfo, Form(f): Form<ResetForm>) -> Response {
    let raw_token = f.token.unwrap_or_default();
    let token = OpaqueToken::from_presented(&raw_token);
    match password_change::reset(&state, &token, f.new_password.as_deref().unwrap_or(""), &client).await {
        Ok(()) => page(
            StatusCode::OK,
            "Password changed",
            "<p>Your password was changed. You can close this page and sign in.</p>",
        ),
        Err(Error::Validation(errors)) => {
            let text = errors
                .iter()
                .map(|e| format!("The new password {}.", e.message))
                .collect::<Vec<_>>()
                .join(" ");
            page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Choose a new password",
                &reset_form(&raw_token, Some(&text)),
            )
        }
        Err(e) if e.status().is_server_error() => e.into_response(),
        Err(e) => page(
            e.status(),
            "This link does not work",
            &format!("<p>{}</p>", escape_html(&e.to_string())),
        ),
    }
}
