//! The HTML pages that links in mails open (used unless `VERIFY_EMAIL_URL`,
//! `RESET_PASSWORD_URL` or `CONFIRM_EMAIL_CHANGE_URL` point the links at a front end of your own).
//!
//! GET only shows a form; the token is spent by the POST it submits. Mail scanners and link
//! previewers fetch links with GET, and must not be able to use up a token.
//!
//! They share the hosted pages' templates, branding and strings. Unlike those pages they send
//! `Referrer-Policy: no-referrer`: the address holds the token, and the form needs no origin
//! check (the token is the proof).

use crate::app::AppState;
use crate::auth::secrets::OpaqueToken;
use crate::auth::{email_change, lockout, password_change, verification};
use crate::client::ClientInfo;
use crate::error::Error;
use crate::http::ui::{self, text, PageForm};
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use std::collections::BTreeMap;

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

/// A hosted page that never tells anyone the address it was opened at.
fn page(state: &AppState, status: StatusCode, template: &str, ctx: minijinja::Value) -> Response {
    let mut response = ui::page(state, status, template, ctx);
    response
        .headers_mut()
        .insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

fn message(state: &AppState, status: StatusCode, title: &str, message: &str) -> Response {
    page(
        state,
        status,
        "message.html",
        minijinja::context! { title, message, link => "/login", link_text => text("go_to_sign_in") },
    )
}

fn incomplete(state: &AppState) -> Response {
    message(
        state,
        StatusCode::BAD_REQUEST,
        text("link_incomplete_title"),
        text("link_incomplete"),
    )
}

/// The page a mailed link opens: one button that posts the token back to `action`. `key` names
/// its strings: `<key>_title`, `<key>_intro`, `<key>_button`.
fn confirm_page(state: &AppState, token: Option<String>, key: &str, action: &str) -> Response {
    match token.filter(|t| !t.is_empty()) {
        Some(token) => page(
            state,
            StatusCode::OK,
            "link.html",
            minijinja::context! {
                title => text(&format!("{key}_title")),
                intro => text(&format!("{key}_intro")),
                button => text(&format!("{key}_button")),
                action,
                token,
            },
        ),
        None => incomplete(state),
    }
}

/// The answer to a posted token: `<key>_done_title` / `<key>_done` on success, the reason on a
/// refused link.
fn outcome_page(state: &AppState, result: crate::error::Result<()>, key: &str) -> Response {
    match result {
        Ok(()) => message(
            state,
            StatusCode::OK,
            text(&format!("{key}_done_title")),
            text(&format!("{key}_done")),
        ),
        Err(e) => broken(state, e),
    }
}

fn broken(state: &AppState, e: Error) -> Response {
    if e.status().is_server_error() {
        return e.into_response();
    }
    message(
        state,
        e.status(),
        text("link_broken_title"),
        &ui::sentence(&e.to_string()),
    )
}

async fn show(State(state): State<AppState>, Query(q): Query<TokenQuery>) -> Response {
    confirm_page(&state, q.token, "verify", "verify-email")
}

async fn confirm(State(state): State<AppState>, client: ClientInfo, PageForm(q): PageForm<TokenQuery>) -> Response {
    let token = OpaqueToken::from_presented(q.token.as_deref().unwrap_or(""));
    let result = verification::verify_with_token(&state, &token, &client).await;
    outcome_page(&state, result, "verify")
}

async fn show_unlock(State(state): State<AppState>, Query(q): Query<TokenQuery>) -> Response {
    confirm_page(&state, q.token, "unlock", "unlock-account")
}

async fn submit_unlock(
    State(state): State<AppState>,
    client: ClientInfo,
    PageForm(q): PageForm<TokenQuery>,
) -> Response {
    let token = OpaqueToken::from_presented(q.token.as_deref().unwrap_or(""));
    let result = lockout::unlock_with_token(&state, &token, &client).await;
    outcome_page(&state, result, "unlock")
}

async fn show_email_change(State(state): State<AppState>, Query(q): Query<TokenQuery>) -> Response {
    confirm_page(&state, q.token, "address_change", "confirm-email-change")
}

async fn submit_email_change(
    State(state): State<AppState>,
    client: ClientInfo,
    PageForm(q): PageForm<TokenQuery>,
) -> Response {
    let token = OpaqueToken::from_presented(q.token.as_deref().unwrap_or(""));
    let result = email_change::confirm(&state, &token, &client).await;
    outcome_page(&state, result, "address_change")
}

#[derive(Deserialize)]
struct ResetForm {
    token: Option<String>,
    new_password: Option<String>,
}

fn reset_page(state: &AppState, status: StatusCode, token: &str, fields: BTreeMap<String, String>) -> Response {
    let error = (!fields.is_empty()).then(|| text("fix_fields"));
    page(
        state,
        status,
        "reset.html",
        minijinja::context! { token, fields, error },
    )
}

async fn show_reset(State(state): State<AppState>, Query(q): Query<TokenQuery>) -> Response {
    match q.token.filter(|t| !t.is_empty()) {
        Some(token) => reset_page(&state, StatusCode::OK, &token, BTreeMap::new()),
        None => incomplete(&state),
    }
}

async fn submit_reset(State(state): State<AppState>, client: ClientInfo, PageForm(f): PageForm<ResetForm>) -> Response {
    let raw_token = f.token.unwrap_or_default();
    let token = OpaqueToken::from_presented(&raw_token);
    match password_change::reset(&state, &token, f.new_password.as_deref().unwrap_or(""), &client).await {
        Ok(()) => message(&state, StatusCode::OK, text("reset_done_title"), text("reset_done")),
        Err(e @ Error::Validation(_)) => reset_page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            &raw_token,
            ui::field_messages(&e),
        ),
        Err(e) => broken(&state, e),
    }
}
