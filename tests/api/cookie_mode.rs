//! Cookie mode (`REFRESH_TOKEN_COOKIE=true`): the refresh token as an HttpOnly cookie, and the
//! CSRF defences every cookie-authenticated request must pass (Origin + X-CSRF-Token).

use crate::both;
use crate::common::oidc::StandInProvider;
use crate::common::*;
use serde_json::{json, Value};
use std::collections::HashMap;

const FRONT_END: &str = "http://localhost:3000";

async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn_configured(backend, |c| {
        c.refresh_token_cookie = true;
        c.cors_allowed_origins = vec![FRONT_END.into()];
    })
    .await
}

/// `Set-Cookie` headers by cookie name.
fn set_cookies(r: &reqwest::Response) -> HashMap<String, String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| {
            let v = v.to_str().unwrap().to_string();
            (v.split('=').next().unwrap().to_string(), v)
        })
        .collect()
}

/// The `name=value` part of a `Set-Cookie`.
fn pair(set_cookie: &str) -> &str {
    set_cookie.split(';').next().unwrap()
}

fn value(set_cookie: &str) -> &str {
    pair(set_cookie).split_once('=').unwrap().1
}

/// A browser session as the front end holds it: the two cookies.
struct Browser {
    refresh: String,
    csrf: String,
}

impl Browser {
    fn from(r: &reqwest::Response) -> Self {
        let c = set_cookies(r);
        Browser {
            refresh: pair(&c["gatehouse_refresh"]).to_string(),
            csrf: value(&c["gatehouse_csrf"]).to_string(),
        }
    }

    fn cookie_header(&self) -> String {
        format!("{}; gatehouse_csrf={}", self.refresh, self.csrf)
    }
}

async fn cookie_login(app: &TestApp, email: &str) -> (reqwest::Response, Browser) {
    app.register_verified(email).await;
    let r = app.login(email, PASSWORD).await;
    assert_eq!(r.status(), 200);
    let browser = Browser::from(&r);
    (r, browser)
}

async fn post_with_cookie(
    app: &TestApp,
    path: &str,
    cookie: &str,
    origin: Option<&str>,
    csrf: Option<&str>,
) -> reqwest::Response {
    let mut req = app.client.post(app.url(path)).header("cookie", cookie);
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    if let Some(t) = csrf {
        req = req.header("x-csrf-token", t);
    }
    app.send(req).await
}

async fn login_sets_an_http_only_refresh_cookie_not_a_body_token(backend: Backend) {
    let app = spawn(backend).await;
    let (r, browser) = cookie_login(&app, "rahim@example.com").await;
    let cookies = set_cookies(&r);
    let refresh = &cookies["gatehouse_refresh"];
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/api/auth", "Max-Age=604800"] {
        assert!(refresh.contains(attr), "{attr} missing: {refresh}");
    }
    // PUBLIC_URL is http here (allowed for development only): no Secure.
    assert!(!refresh.contains("Secure"), "{refresh}");
    let csrf = &cookies["gatehouse_csrf"];
    assert!(!csrf.contains("HttpOnly"), "the front end must read it: {csrf}");
    assert!(csrf.contains("Path=/") && csrf.contains("SameSite=Strict"), "{csrf}");
    let body: Value = r.json().await.unwrap();
    assert!(body["refresh_token"].is_null(), "{body}");
    assert_eq!(body["csrf_token"], browser.csrf.as_str());
    assert_eq!(app.me(body["access_token"].as_str().unwrap()).await.status(), 200);
}

async fn a_cookie_refresh_without_the_csrf_token_is_refused(backend: Backend) {
    let app = spawn(backend).await;
    let (_, b) = cookie_login(&app, "rahim@example.com").await;
    let r = post_with_cookie(&app, "/api/auth/refresh", &b.cookie_header(), Some(FRONT_END), None).await;
    expect_problem(r, 403, "csrf_token_missing").await;
}

async fn a_cookie_refresh_with_a_wrong_csrf_token_is_refused(backend: Backend) {
    let app = spawn(backend).await;
    let (_, b) = cookie_login(&app, "rahim@example.com").await;
    let (_, other) = cookie_login(&app, "other@example.com").await;
    for wrong in ["forged", other.csrf.as_str()] {
        let r = post_with_cookie(
            &app,
            "/api/auth/refresh",
            &b.cookie_header(),
            Some(FRONT_END),
            Some(wrong),
        )
        .await;
        expect_problem(r, 403, "csrf_token_mismatch").await;
    }
}

async fn a_cookie_refresh_from_a_foreign_origin_is_refused(backend: Backend) {
    let app = spawn(backend).await;
    let (_, b) = cookie_login(&app, "rahim@example.com").await;
    for origin in [Some("https://evil.example"), Some("null"), None] {
        let r = post_with_cookie(&app, "/api/auth/refresh", &b.cookie_header(), origin, Some(&b.csrf)).await;
        expect_problem(r, 403, "origin_not_allowed").await;
    }
    // Refused requests did not spend the token: the right one still works.
    let r = post_with_cookie(
        &app,
        "/api/auth/refresh",
        &b.cookie_header(),
        Some(FRONT_END),
        Some(&b.csrf),
    )
    .await;
    assert_eq!(r.status(), 200);
}

async fn the_right_csrf_token_refreshes_and_rotates_the_cookies(backend: Backend) {
    let app = spawn(backend).await;
    let (_, b) = cookie_login(&app, "rahim@example.com").await;
    let r = post_with_cookie(
        &app,
        "/api/auth/refresh",
        &b.cookie_header(),
        Some(FRONT_END),
        Some(&b.csrf),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], FRONT_END);
    assert_eq!(r.headers()["access-control-allow-credentials"], "true");
    let next = Browser::from(&r);
    assert_ne!(next.refresh, b.refresh, "rotation sets a new refresh cookie");
    assert_ne!(next.csrf, b.csrf, "the CSRF token follows the refresh token");
    let body: Value = r.json().await.unwrap();
    assert!(body["refresh_token"].is_null(), "{body}");
    assert_eq!(app.me(body["access_token"].as_str().unwrap()).await.status(), 200);
    // PUBLIC_URL's own origin is allowed too, and the new pair works.
    let r = post_with_cookie(
        &app,
        "/api/auth/refresh",
        &next.cookie_header(),
        Some(PUBLIC_URL),
        Some(&next.csrf),
    )
    .await;
    assert_eq!(r.status(), 200);
}

async fn logout_by_cookie_needs_csrf_and_clears_the_cookies(backend: Backend) {
    let app = spawn(backend).await;
    let (_, b) = cookie_login(&app, "rahim@example.com").await;
    let r = post_with_cookie(&app, "/api/auth/logout", &b.cookie_header(), Some(FRONT_END), None).await;
    expect_problem(r, 403, "csrf_token_missing").await;
    let r = post_with_cookie(
        &app,
        "/api/auth/logout",
        &b.cookie_header(),
        Some(FRONT_END),
        Some(&b.csrf),
    )
    .await;
    assert_eq!(r.status(), 204);
    let cleared = set_cookies(&r);
    for name in ["gatehouse_refresh", "gatehouse_csrf"] {
        assert!(cleared[name].contains("Max-Age=0"), "{name} not cleared: {:?}", cleared);
    }
    // The session is over: the cookie no longer refreshes, and the answer clears it again.
    let r = post_with_cookie(
        &app,
        "/api/auth/refresh",
        &b.cookie_header(),
        Some(FRONT_END),
        Some(&b.csrf),
    )
    .await;
    assert!(set_cookies(&r)["gatehouse_refresh"].contains("Max-Age=0"));
    expect_problem(r, 401, "session_revoked").await;
}

async fn bearer_and_body_token_requests_are_unaffected(backend: Backend) {
    let app = spawn(backend).await;
    let (r, _) = cookie_login(&app, "rahim@example.com").await;
    let refresh = value(&set_cookies(&r)["gatehouse_refresh"]).to_string();
    let access = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    // A token in the body (a native app) answers in the body, no Origin or CSRF needed.
    let r = app.refresh(&refresh).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("set-cookie").is_none());
    let tokens = Tokens::from(r.json::<Value>().await.unwrap());
    // Bearer logout needs no CSRF token either.
    let r = app.post_json_auth("/api/auth/logout", &tokens.access, &json!({})).await;
    assert_eq!(r.status(), 204);
    expect_problem(app.me(&access).await, 401, "session_revoked").await;
}

async fn without_cookie_mode_no_cookie_is_set_or_read(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified("rahim@example.com").await;
    let r = app.login("rahim@example.com", PASSWORD).await;
    assert!(r.headers().get("set-cookie").is_none());
    let tokens = Tokens::from(r.json::<Value>().await.unwrap());
    let cookie = format!("gatehouse_refresh={}", tokens.refresh);
    let r = post_with_cookie(&app, "/api/auth/refresh", &cookie, Some(PUBLIC_URL), Some("x")).await;
    expect_problem(r, 422, "validation_failed").await;
}

both!(
    login_sets_an_http_only_refresh_cookie_not_a_body_token,
    a_cookie_refresh_without_the_csrf_token_is_refused,
    a_cookie_refresh_with_a_wrong_csrf_token_is_refused,
    a_cookie_refresh_from_a_foreign_origin_is_refused,
    the_right_csrf_token_refreshes_and_rotates_the_cookies,
    logout_by_cookie_needs_csrf_and_clears_the_cookies,
    bearer_and_body_token_requests_are_unaffected,
    without_cookie_mode_no_cookie_is_set_or_read,
);

/// Social login in cookie mode over https: the callback itself sets `Secure` cookies and sends
/// no code; the app's first refresh (cookie + CSRF) gives it the access token.
async fn oauth_callback_sets_secure_cookies_in_cookie_mode(backend: Backend) {
    let provider = StandInProvider::start().await;
    let settings = provider.settings("corp");
    let app = TestApp::spawn_configured(backend, move |c| {
        c.public_url = url::Url::parse("https://gatehouse.test").unwrap();
        c.refresh_token_cookie = true;
        c.oidc_providers = vec![settings];
        c.oauth_success_url = Some(url::Url::parse("https://app.test/signed-in").unwrap());
    })
    .await;
    let r = app.get("/api/auth/oauth/corp").await;
    let state_cookie = crate::oauth::state_cookie(&r);
    let authorize = crate::oauth::location(&r);
    let back = app.client.get(authorize).send().await.unwrap();
    let callback = url::Url::parse(back.headers()["location"].to_str().unwrap()).unwrap();
    let r = app
        .send(
            app.client
                .get(app.url(&format!("/api/auth/oauth/callback?{}", callback.query().unwrap())))
                .header("cookie", state_cookie),
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "https://app.test/signed-in");
    let cookies = set_cookies(&r);
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/api/auth"] {
        assert!(cookies["gatehouse_refresh"].contains(attr), "{attr}: {cookies:?}");
    }
    assert!(cookies["gatehouse_csrf"].contains("Secure"), "{cookies:?}");
    let b = Browser::from(&r);
    let r = post_with_cookie(
        &app,
        "/api/auth/refresh",
        &b.cookie_header(),
        Some("https://gatehouse.test"),
        Some(&b.csrf),
    )
    .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let me: Value = app
        .me(body["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "social@example.com");
}

async fn get_csrf(app: &TestApp, cookie: Option<&str>, origin: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(app.url("/api/auth/csrf"));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    app.send(req).await
}

async fn a_front_end_that_lost_the_csrf_token_can_fetch_it_again(backend: Backend) {
    let app = spawn(backend).await;
    let (_, b) = cookie_login(&app, "rahim@example.com").await;
    // Another host of the same site sends only the refresh cookie (it cannot read gatehouse_csrf).
    let r = get_csrf(&app, Some(&b.refresh), Some(FRONT_END)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers().get("cache-control").unwrap(), "no-store");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["csrf_token"], b.csrf.as_str());
    let r = post_with_cookie(&app, "/api/auth/refresh", &b.refresh, Some(FRONT_END), Some(&b.csrf)).await;
    assert_eq!(r.status(), 200);
    // Never to another origin, never without the cookie.
    let r = get_csrf(&app, Some(&b.refresh), Some("https://evil.example")).await;
    expect_problem(r, 403, "origin_not_allowed").await;
    expect_problem(
        get_csrf(&app, None, Some(FRONT_END)).await,
        401,
        "refresh_cookie_missing",
    )
    .await;
    let plain = TestApp::spawn(backend).await;
    expect_problem(get_csrf(&plain, Some(&b.refresh), None).await, 404, "cookie_mode_off").await;
}

/// A sign-in answered in cookie mode: the cookies, no refresh token in the JSON, the CSRF
/// token in both, and a cookie refresh that works with it.
async fn expect_cookie_session(app: &TestApp, r: reqwest::Response) {
    assert_eq!(r.status(), 200);
    let b = Browser::from(&r);
    let body: Value = r.json().await.unwrap();
    assert!(body["refresh_token"].is_null(), "{body}");
    assert_eq!(body["csrf_token"], b.csrf.as_str());
    let r = post_with_cookie(
        app,
        "/api/auth/refresh",
        &b.cookie_header(),
        Some(FRONT_END),
        Some(&b.csrf),
    )
    .await;
    assert_eq!(r.status(), 200);
}

async fn a_passwordless_sign_in_also_sets_the_cookies(backend: Backend) {
    let app = spawn(backend).await;
    app.register_verified("rahim@example.com").await;
    let r = app
        .post_json("/api/auth/otp/request", &json!({ "email": "rahim@example.com" }))
        .await;
    assert_eq!(r.status(), 202);
    let code = app.mail_to("rahim@example.com", 1).await.six_digit_code().unwrap();
    let r = app
        .post_json(
            "/api/auth/otp/login",
            &json!({ "email": "rahim@example.com", "code": code }),
        )
        .await;
    expect_cookie_session(&app, r).await;
}

async fn finishing_the_mfa_step_sets_the_cookies(backend: Backend) {
    use crate::mfa_support::{challenge, enable, next_step, totp_now, verify, EMAIL};
    let app = spawn(backend).await;
    app.register_verified(EMAIL).await;
    let r = app.login(EMAIL, PASSWORD).await;
    let access = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let enrolment: Value = enable(&app, &access, "totp").await.json().await.unwrap();
    let secret = enrolment["secret"].as_str().unwrap().to_string();
    assert_eq!(
        verify(&app, &access, "totp", &totp_now(&app, &secret)).await.status(),
        200
    );
    next_step(&app);
    // The password step sets no cookie: there is no session yet.
    let r = app.login(EMAIL, PASSWORD).await;
    assert!(set_cookies(&r).is_empty(), "{:?}", set_cookies(&r));
    let step: Value = r.json().await.unwrap();
    let r = challenge(
        &app,
        step["mfa_token"].as_str().unwrap(),
        Some("totp"),
        &totp_now(&app, &secret),
    )
    .await;
    expect_cookie_session(&app, r).await;
}

both!(
    oauth_callback_sets_secure_cookies_in_cookie_mode,
    a_front_end_that_lost_the_csrf_token_can_fetch_it_again,
    a_passwordless_sign_in_also_sets_the_cookies,
    finishing_the_mfa_step_sets_the_cookies,
);
