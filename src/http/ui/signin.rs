//! Signing in on the hosted pages: password (email or username), the MFA step, an emailed code
//! instead of a password, and signing out. Each step calls the same rules as the API, so rate
//! limits, lockout, unverified and disabled accounts behave exactly as they do there.

use super::forms::{self, check_form, check_session_form, form_token};
use super::render::page;
use super::session::{self, signed_in_cookies, signed_out_cookies, ReturnQuery};
use super::strings::provider_label;
use super::strings::text;
use super::PageForm;
use crate::app::AppState;
use crate::auth::login;
use crate::auth::mfa::challenge::{self, LoginOutcome, MfaRequired};
use crate::auth::mfa::{Method, Proof};
use crate::auth::secrets::OpaqueToken;
use crate::auth::sessions::{self, TokenPair};
use crate::client::ClientInfo;
use crate::domain::Password;
use crate::error::Error;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use minijinja::context;
use serde::Deserialize;

/// The pending MFA step's token: `HttpOnly`, only sent to `/login`, gone after five minutes.
const MFA_COOKIE: &str = "gatehouse_mfa";

/// An error shown on a form: 4xx answers are the user's to fix, anything else is ours. The
/// API's details are written to follow a field name; on a page they start a sentence.
pub fn shown(e: &Error) -> Option<String> {
    (!matches!(e, Error::Internal(_))).then(|| sentence(&e.detail()))
}

pub fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

pub(super) fn login_page(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    return_to: &str,
    identifier: &str,
    error: Option<String>,
    notice: Option<&str>,
) -> Response {
    let (jar, csrf) = form_token(state, jar);
    let providers: Vec<_> = state
        .oauth
        .names()
        .into_iter()
        .map(|name| context! { label => provider_label(&name), name })
        .collect();
    let body = page(
        state,
        status,
        "login.html",
        context! { csrf, return_to, identifier, error, notice, providers },
    );
    (jar, body).into_response()
}

pub async fn show(State(state): State<AppState>, jar: CookieJar, Query(q): Query<ReturnQuery>) -> Response {
    let return_to = forms::return_to_or_default(&state, q.return_to.as_deref());
    // Already signed in: straight on.
    if let Some(access) = jar.get(session::ACCESS_COOKIE).map(|c| c.value().to_string()) {
        if sessions::authenticate(&state, &access).await.is_ok() {
            return Redirect::to(&return_to).into_response();
        }
    }
    login_page(&state, jar, StatusCode::OK, &return_to, "", None, None)
}

#[derive(Deserialize)]
pub struct LoginForm {
    csrf: Option<String>,
    return_to: Option<String>,
    identifier: Option<String>,
    password: Option<String>,
}

/// Where a finished sign-in goes: the cookies, then `return_to`.
pub(super) fn finish(state: &AppState, jar: CookieJar, pair: &TokenPair, return_to: &str) -> Response {
    let mut mfa_gone = Cookie::build((MFA_COOKIE, "")).path("/login").build();
    mfa_gone.make_removal();
    let jar = signed_in_cookies(state, jar.add(mfa_gone), pair);
    (jar, Redirect::to(return_to)).into_response()
}

pub(super) fn mfa_page(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    methods: &[Method],
    return_to: &str,
    error: Option<String>,
    notice: Option<&str>,
) -> Response {
    let (jar, csrf) = form_token(state, jar);
    // The codes are chosen and typed; a passkey answers from the page's script, in its own form.
    let all: Vec<&str> = methods.iter().map(|m| m.as_str()).collect();
    let codes: Vec<&str> = methods
        .iter()
        .filter(|m| **m != Method::Passkey)
        .map(|m| m.as_str())
        .collect();
    let passkey = methods.contains(&Method::Passkey);
    let body = page(
        state,
        status,
        "mfa.html",
        context! { csrf, return_to, methods => all.join(","), method_list => codes, passkey, error, notice },
    );
    (jar, body).into_response()
}

/// The answer to a correct first factor: signed in, or on to the MFA step.
pub(super) fn after_first_factor(state: &AppState, jar: CookieJar, outcome: LoginOutcome, return_to: &str) -> Response {
    match outcome {
        LoginOutcome::Tokens(pair) => finish(state, jar, &pair, return_to),
        LoginOutcome::MfaRequired(step) => {
            let jar = with_pending_step(state, jar, &step);
            mfa_page(state, jar, StatusCode::OK, &step.methods, return_to, None, None)
        }
    }
}

/// The jar with the pending MFA step's cookie.
pub(super) fn with_pending_step(state: &AppState, jar: CookieJar, step: &MfaRequired) -> CookieJar {
    let mut cookie = Cookie::build((MFA_COOKIE, step.mfa_token.clone()))
        .path("/login")
        .http_only(true)
        .secure(state.config.cookies_are_secure())
        .same_site(SameSite::Strict)
        .build();
    cookie.set_max_age(cookie::time::Duration::seconds(step.expires_in.max(0)));
    jar.add(cookie)
}

#[derive(Deserialize)]
pub struct MfaQuery {
    return_to: Option<String>,
    methods: Option<String>,
}

/// `GET /login/mfa`: the pending MFA step (after a social sign-in, which arrives by redirect).
pub async fn show_mfa(State(state): State<AppState>, jar: CookieJar, Query(q): Query<MfaQuery>) -> Response {
    let return_to = forms::return_to_or_default(&state, q.return_to.as_deref());
    if jar.get(MFA_COOKIE).is_none() {
        return Redirect::to(&session::login_path(&return_to)).into_response();
    }
    let mut methods = listed_methods(q.methods.as_deref());
    if methods.is_empty() {
        methods = vec![Method::Totp, Method::Email, Method::Recovery];
    }
    mfa_page(&state, jar, StatusCode::OK, &methods, &return_to, None, None)
}

pub async fn submit(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    client: ClientInfo,
    PageForm(f): PageForm<LoginForm>,
) -> Response {
    let return_to = forms::return_to_or_default(&state, f.return_to.as_deref());
    let identifier = f.identifier.unwrap_or_default();
    if let Err(e) = check_form(&state, &headers, &jar, f.csrf.as_deref()) {
        return login_page(&state, jar, e.status(), &return_to, &identifier, shown(&e), None);
    }
    let password = Password::for_verification(f.password.as_deref().unwrap_or_default());
    match login::login(&state, identifier.trim(), &password, &client).await {
        Ok(outcome) => after_first_factor(&state, jar, outcome, &return_to),
        Err(e @ Error::Internal(_)) => e.into_response(),
        Err(e) => login_page(&state, jar, e.status(), &return_to, &identifier, shown(&e), None),
    }
}

#[derive(Deserialize)]
pub struct MfaForm {
    csrf: Option<String>,
    return_to: Option<String>,
    methods: Option<String>,
    method: Option<String>,
    code: Option<String>,
}

pub(super) fn listed_methods(raw: Option<&str>) -> Vec<Method> {
    raw.unwrap_or_default().split(',').filter_map(Method::parse).collect()
}

pub async fn submit_mfa(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    client: ClientInfo,
    PageForm(f): PageForm<MfaForm>,
) -> Response {
    let PendingStep {
        token,
        methods,
        return_to,
    } = match pending_step(
        &state,
        jar.clone(),
        &headers,
        f.csrf.as_deref(),
        f.methods.as_deref(),
        f.return_to.as_deref(),
    ) {
        Ok(step) => step,
        Err(answer) => return *answer,
    };
    let method = f.method.as_deref().and_then(Method::parse);
    let code = f.code.unwrap_or_default();
    let proof = Proof::Code {
        method,
        code: code.trim(),
    };
    complete_step(&state, jar, &token, &proof, &client, &methods, &return_to).await
}

/// Finishes the pending MFA step with `proof` (a code, or a passkey's answer): signed in and
/// on to `return_to`, or the step again with the refusal.
pub(super) async fn complete_step(
    state: &AppState,
    jar: CookieJar,
    token: &OpaqueToken,
    proof: &Proof<'_>,
    client: &ClientInfo,
    methods: &[Method],
    return_to: &str,
) -> Response {
    match challenge::complete(state, token, proof, client).await {
        Ok(pair) => finish(state, jar, &pair, return_to),
        Err(e @ Error::Internal(_)) => e.into_response(),
        Err(e) => mfa_page(state, jar, e.status(), methods, return_to, shown(&e), None),
    }
}

/// A posted MFA step form, read: the step's token, the methods it lists and where it goes.
pub(super) struct PendingStep {
    pub token: OpaqueToken,
    pub methods: Vec<Method>,
    pub return_to: String,
}

/// The pending MFA step of a posted step form (its `csrf`, `methods` and `return_to` fields)
/// whose CSRF token checks out, or the page to answer instead: the step again with the
/// refusal, or sign-in when the step has expired.
pub(super) fn pending_step(
    state: &AppState,
    jar: CookieJar,
    headers: &HeaderMap,
    csrf: Option<&str>,
    methods: Option<&str>,
    return_to: Option<&str>,
) -> Result<PendingStep, Box<Response>> {
    let return_to = forms::return_to_or_default(state, return_to);
    let methods = listed_methods(methods);
    if let Err(e) = check_form(state, headers, &jar, csrf) {
        return Err(Box::new(mfa_page(
            state,
            jar,
            e.status(),
            &methods,
            &return_to,
            shown(&e),
            None,
        )));
    }
    match jar.get(MFA_COOKIE).map(|c| OpaqueToken::from_presented(c.value())) {
        Some(token) => Ok(PendingStep {
            token,
            methods,
            return_to,
        }),
        None => Err(Box::new(login_page(
            state,
            jar,
            StatusCode::BAD_REQUEST,
            &return_to,
            "",
            Some("this sign-in step has expired; sign in again".into()),
            None,
        ))),
    }
}

pub async fn send_mfa_code(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    PageForm(f): PageForm<MfaForm>,
) -> Response {
    let PendingStep {
        token,
        methods,
        return_to,
    } = match pending_step(
        &state,
        jar.clone(),
        &headers,
        f.csrf.as_deref(),
        f.methods.as_deref(),
        f.return_to.as_deref(),
    ) {
        Ok(step) => step,
        Err(answer) => return *answer,
    };
    match challenge::send_code(&state, &token).await {
        Ok(()) => mfa_page(
            &state,
            jar,
            StatusCode::OK,
            &methods,
            &return_to,
            None,
            Some(text("code_sent")),
        ),
        Err(e @ Error::Internal(_)) => e.into_response(),
        Err(e) => mfa_page(&state, jar, e.status(), &methods, &return_to, shown(&e), None),
    }
}

#[derive(Deserialize)]
pub struct LogoutForm {
    csrf: Option<String>,
}

pub async fn logout(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    client: ClientInfo,
    PageForm(f): PageForm<LogoutForm>,
) -> Response {
    // Another site's form never gets as far as touching a cookie (logout CSRF).
    if let Err(e) = forms::check_origin(&state, &headers) {
        return super::signed_in::form_refused(&state, e);
    }
    let user = match session::page_user(&state, &jar, "/login").await {
        Ok(user) => user,
        // Not signed in (or the session is already over): nothing to end.
        Err(_) => return Redirect::to("/login").into_response(),
    };
    if let Err(e) = check_session_form(&state, &headers, user.session_id, f.csrf.as_deref()) {
        return super::signed_in::form_refused(&state, e);
    }
    if let Err(e) = sessions::logout(&state, &user, &client).await {
        return e.into_response();
    }
    (signed_out_cookies(&state, jar), Redirect::to("/login")).into_response()
}
