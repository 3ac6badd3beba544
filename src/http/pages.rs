//! The HTML pages that links in mails open (used unless `VERIFY_EMAIL_URL` /
//! `RESET_PASSWORD_URL` point the links at a front end of your own).
//!
//! GET only shows a form; the token is spent by the POST it submits. Mail scanners and link
//! previewers fetch links with GET, and must not be able to use up a token.

use crate::app::AppState;
use crate::auth::secrets::OpaqueToken;
use crate::auth::{password_change, verification};
use crate::error::Error;
use crate::http::extract::ClientInfo;
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

async fn show(Query(q): Query<TokenQuery>) -> Response {
    match q.token.filter(|t| !t.is_empty()) {
        Some(token) => page(
            StatusCode::OK,
            "Confirm your email address",
            &format!(
                "<form method=\"post\" action=\"verify-email\"><input type=\"hidden\" name=\"token\" value=\"{}\">\
                 <button type=\"submit\">Confirm my email address</button></form>",
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

async fn confirm(State(state): State<AppState>, client: ClientInfo, Form(q): Form<TokenQuery>) -> Response {
    let token = OpaqueToken::from_presented(q.token.as_deref().unwrap_or(""));
    match verification::verify_with_token(&state, &token, &client).await {
        Ok(()) => page(
            StatusCode::OK,
            "Email address confirmed",
            "<p>Thank you. You can close this page and sign in.</p>",
        ),
        Err(e) => {
            let status = e.status();
            if status.is_server_error() {
                return e.into_response();
            }
            page(
                status,
                "This link does not work",
                &format!("<p>{}</p>", escape_html(&e.to_string())),
            )
        }
    }
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
