//! Registering and asking for a password reset on the hosted pages. Registration parses the form
//! with the API's own parser, so each field gets the same message a `422` would carry.

use super::forms::{self, check_form, form_token};
use super::render::page;
use super::session::ReturnQuery;
use super::signin::shown;
use super::strings::text;
use super::PageForm;
use crate::app::AppState;
use crate::auth::{password_change, registration};
use crate::client::ClientInfo;
use crate::domain::Email;
use crate::error::Error;
use crate::http::auth::RegisterRequest;
use crate::ratelimit::Limit;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the user typed, shown again with the messages (never the password).
#[derive(Default, Serialize, Deserialize)]
pub struct RegisterForm {
    #[serde(skip_serializing)]
    csrf: Option<String>,
    return_to: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    date_of_birth: Option<String>,
    gender: Option<String>,
    email: Option<String>,
    mobile: Option<String>,
    username: Option<String>,
    #[serde(skip_serializing)]
    password: Option<String>,
}

/// One message per field, from a refused registration.
pub fn field_messages(e: &Error) -> BTreeMap<String, String> {
    match e {
        Error::Validation(errors) => errors.iter().map(|f| (f.field.clone(), f.message.clone())).collect(),
        Error::FieldConflict(f) => [(f.field.clone(), f.message.clone())].into_iter().collect(),
        _ => BTreeMap::new(),
    }
}

fn register_page(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    form: &RegisterForm,
    fields: BTreeMap<String, String>,
    error: Option<String>,
) -> Response {
    let (jar, csrf) = form_token(state, jar);
    let return_to = forms::return_to_or_default(state, form.return_to.as_deref());
    let body = page(
        state,
        status,
        "register.html",
        context! { csrf, return_to, form => minijinja::Value::from_serialize(form), fields, error },
    );
    (jar, body).into_response()
}

pub async fn show(State(state): State<AppState>, jar: CookieJar, Query(q): Query<ReturnQuery>) -> Response {
    let form = RegisterForm {
        return_to: q.return_to,
        ..Default::default()
    };
    register_page(&state, jar, StatusCode::OK, &form, BTreeMap::new(), None)
}

/// Blank optional fields mean "not given", as an absent JSON member does.
fn given(v: &Option<String>) -> Option<String> {
    v.clone().filter(|s| !s.trim().is_empty())
}

pub async fn submit(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    client: ClientInfo,
    PageForm(form): PageForm<RegisterForm>,
) -> Response {
    if let Err(e) = check_form(&state, &headers, &jar, form.csrf.as_deref()) {
        return register_page(&state, jar, e.status(), &form, BTreeMap::new(), shown(&e));
    }
    if let Err(e) = state.limits.check(Limit::Register, &client.limit_subject()).await {
        return register_page(&state, jar, e.status(), &form, BTreeMap::new(), shown(&e));
    }
    let request = RegisterRequest {
        first_name: given(&form.first_name),
        last_name: given(&form.last_name),
        date_of_birth: given(&form.date_of_birth),
        gender: given(&form.gender),
        email: given(&form.email),
        mobile: given(&form.mobile),
        password: given(&form.password),
        username: given(&form.username),
    };
    let domain_error = match request.email.as_deref().map(Email::parse) {
        Some(Ok(email)) => registration::check_email_domain(&state, &email).await,
        _ => None,
    };
    let result = match request.parse(&state, domain_error) {
        Ok(reg) => registration::register(&state, reg, &client).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => page(
            &state,
            StatusCode::CREATED,
            "message.html",
            context! { title => text("check_inbox"), message => text("register_sent"), link => "/login", link_text => text("back_to_sign_in") },
        ),
        Err(e @ Error::Internal(_)) => e.into_response(),
        Err(e) => {
            let fields = field_messages(&e);
            let error = if fields.is_empty() {
                shown(&e)
            } else {
                Some(text("fix_fields").to_string())
            };
            register_page(&state, jar, e.status(), &form, fields, error)
        }
    }
}

fn forgot_page(state: &AppState, jar: CookieJar, status: StatusCode, email: &str, error: Option<String>) -> Response {
    let (jar, csrf) = form_token(state, jar);
    let body = page(state, status, "forgot.html", context! { csrf, email, error });
    (jar, body).into_response()
}

pub async fn show_forgot(State(state): State<AppState>, jar: CookieJar) -> Response {
    forgot_page(&state, jar, StatusCode::OK, "", None)
}

#[derive(Deserialize)]
pub struct ForgotForm {
    csrf: Option<String>,
    email: Option<String>,
}

pub async fn submit_forgot(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    client: ClientInfo,
    PageForm(f): PageForm<ForgotForm>,
) -> Response {
    let raw = f.email.unwrap_or_default();
    if let Err(e) = check_form(&state, &headers, &jar, f.csrf.as_deref()) {
        return forgot_page(&state, jar, e.status(), &raw, shown(&e));
    }
    let email = match Email::parse(&raw) {
        Ok(email) => email,
        Err(invalid) => {
            let error = format!("{}: {}", text("email"), invalid.message);
            return forgot_page(&state, jar, StatusCode::UNPROCESSABLE_ENTITY, &raw, Some(error));
        }
    };
    // The same answer whether or not the address has an account.
    match password_change::forgot(&state, &email, &client).await {
        Ok(()) => page(
            &state,
            StatusCode::OK,
            "message.html",
            context! { title => text("check_inbox"), message => text("forgot_sent"), link => "/login", link_text => text("back_to_sign_in") },
        ),
        Err(e @ Error::Internal(_)) => e.into_response(),
        Err(e) => forgot_page(&state, jar, e.status(), &raw, shown(&e)),
    }
}
