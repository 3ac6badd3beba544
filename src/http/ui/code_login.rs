//! Signing in with a code mailed to the address instead of a password (`/login/code`). The
//! answer to asking is the same whether or not the address has an account.

use super::forms::{self, check_form, form_token};
use super::render::page;
use super::session::ReturnQuery;
use super::signin::{after_first_factor, shown};
use super::strings::text;
use super::PageForm;
use crate::app::AppState;
use crate::auth::mfa::otp_login;
use crate::client::ClientInfo;
use crate::domain::Email;
use crate::error::Error;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use minijinja::context;
use serde::Deserialize;

fn code_page(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    return_to: &str,
    email: &str,
    sent: bool,
    error: Option<String>,
) -> Response {
    let (jar, csrf) = form_token(state, jar);
    let notice = sent.then(|| text("code_sent"));
    let body = page(
        state,
        status,
        "code.html",
        context! { csrf, return_to, email, sent, error, notice },
    );
    (jar, body).into_response()
}

pub async fn show_code(State(state): State<AppState>, jar: CookieJar, Query(q): Query<ReturnQuery>) -> Response {
    let return_to = forms::return_to_or_default(&state, q.return_to.as_deref());
    code_page(&state, jar, StatusCode::OK, &return_to, "", false, None)
}

#[derive(Deserialize)]
pub struct CodeForm {
    csrf: Option<String>,
    return_to: Option<String>,
    email: Option<String>,
    code: Option<String>,
}

pub async fn request_code(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    PageForm(f): PageForm<CodeForm>,
) -> Response {
    let return_to = forms::return_to_or_default(&state, f.return_to.as_deref());
    let raw = f.email.unwrap_or_default();
    if let Err(e) = check_form(&state, &headers, &jar, f.csrf.as_deref()) {
        return code_page(&state, jar, e.status(), &return_to, &raw, false, shown(&e));
    }
    let email = match Email::parse(&raw) {
        Ok(email) => email,
        Err(invalid) => {
            let error = format!("{}: {}", text("email"), invalid.message);
            return code_page(
                &state,
                jar,
                StatusCode::UNPROCESSABLE_ENTITY,
                &return_to,
                &raw,
                false,
                Some(error),
            );
        }
    };
    // Answers the same whether or not the address has an account.
    match otp_login::request(&state, &email).await {
        Ok(()) => code_page(&state, jar, StatusCode::OK, &return_to, email.as_str(), true, None),
        Err(e @ Error::Internal(_)) => e.into_response(),
        Err(e) => code_page(&state, jar, e.status(), &return_to, &raw, false, shown(&e)),
    }
}

pub async fn submit_code(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    client: ClientInfo,
    PageForm(f): PageForm<CodeForm>,
) -> Response {
    let return_to = forms::return_to_or_default(&state, f.return_to.as_deref());
    let raw = f.email.unwrap_or_default();
    if let Err(e) = check_form(&state, &headers, &jar, f.csrf.as_deref()) {
        return code_page(&state, jar, e.status(), &return_to, &raw, true, shown(&e));
    }
    let Ok(email) = Email::parse(&raw) else {
        return code_page(
            &state,
            jar,
            StatusCode::UNPROCESSABLE_ENTITY,
            &return_to,
            &raw,
            false,
            None,
        );
    };
    let code = f.code.unwrap_or_default();
    match otp_login::login(&state, &email, code.trim(), &client).await {
        Ok(outcome) => after_first_factor(&state, jar, outcome, &return_to),
        Err(e @ Error::Internal(_)) => e.into_response(),
        Err(e) => code_page(&state, jar, e.status(), &return_to, email.as_str(), true, shown(&e)),
    }
}
