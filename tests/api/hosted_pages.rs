//! The hosted pages, driven as a browser would drive them without JavaScript: forms with their
//! CSRF token, cookies kept between requests, redirects read from `Location`. The real
//! browser suite (tests/browser) covers what needs a browser; this covers every rule.

use crate::both;
use crate::common::*;
use crate::hosted_support::Browser;
use crate::mfa_support::{totp_now, totp_user, EMAIL};
use serde_json::json;

async fn a_verified_user_signs_in_and_sees_the_account_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified(EMAIL).await;
    let browser = Browser::new(&app);
    // Signed out, the account page sends the browser to sign in, and back afterwards.
    let page = browser.get("/account").await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location.as_deref(), Some("/login?return_to=%2Faccount"));

    let answer = browser.sign_in(EMAIL, PASSWORD, Some("/account")).await;
    assert_eq!(answer.status, 303, "{}", answer.html);
    assert_eq!(answer.location.as_deref(), Some("/account"));
    let (_, account) = browser.open("/account").await;
    assert_eq!(account.status, 200);
    assert!(account.html.contains(EMAIL), "{}", account.html);
    assert!(account.html.contains("This device"));
}

async fn a_wrong_password_is_shown_on_the_form(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified(EMAIL).await;
    let browser = Browser::new(&app);
    let page = browser.sign_in(EMAIL, "not the password", None).await;
    assert_eq!(page.status, 401);
    assert!(page.html.contains("class=\"error\""), "{}", page.html);
    // The typed identifier is kept; the password is not.
    assert!(page.html.contains(&format!("value=\"{EMAIL}\"")));
    assert!(!page.html.contains("not the password"));
    // The same answer as for an address without an account: nothing to enumerate.
    let unknown = browser.sign_in("nobody@example.com", "not the password", None).await;
    assert_eq!(unknown.status, 401);
    let message = |html: &str| {
        regex::Regex::new(r#"role="alert"[^>]*>([^<]*)<"#)
            .unwrap()
            .captures(html)
            .unwrap()[1]
            .to_string()
    };
    assert_eq!(message(&page.html), message(&unknown.html));
}

async fn forms_without_their_csrf_token_or_from_another_site_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified(EMAIL).await;
    let browser = Browser::new(&app);
    let csrf = browser.get("/login").await.csrf();
    // No token.
    let page = browser
        .post("/login", &[("identifier", EMAIL), ("password", PASSWORD)])
        .await;
    assert_eq!(page.status, 403, "{}", page.html);
    // Another client's token (bound to another cookie).
    let other = Browser::new(&app);
    let foreign = other.get("/login").await.csrf();
    let page = browser
        .post(
            "/login",
            &[("csrf", &foreign), ("identifier", EMAIL), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 403);
    // The right token, posted from another site.
    let r = browser
        .client
        .post(app.url("/login"))
        .header("origin", "https://evil.example")
        .form(&[("csrf", csrf.as_str()), ("identifier", EMAIL), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Another site cannot sign a browser out either: no cookie is touched.
    let r = browser
        .client
        .post(app.url("/logout"))
        .header("origin", "https://evil.example")
        .form(&[("x", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers().get("set-cookie").is_none(), "{:?}", r.headers());
    // None of them signed in.
    assert_eq!(
        browser.get("/account").await.location.as_deref(),
        Some("/login?return_to=%2Faccount")
    );

    // A signed-in form needs the session's token too.
    assert_eq!(browser.sign_in(EMAIL, PASSWORD, None).await.status, 303);
    let page = browser
        .post("/account/sessions/revoke-others", &[("csrf", &csrf)])
        .await;
    assert_eq!(page.status, 403);
}

async fn return_to_is_followed_only_to_allowed_places(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c| {
        c.ui.return_to_origins = vec!["https://app.example.com".into()];
    })
    .await;
    app.register_verified(EMAIL).await;
    for (asked, landed) in [
        ("/account?tab=1", "/account?tab=1"),
        (
            "https://app.example.com/after-login",
            "https://app.example.com/after-login",
        ),
        ("https://evil.example/phish", "/account"),
        ("//evil.example/phish", "/account"),
        ("/\\evil.example", "/account"),
        ("javascript:alert(1)", "/account"),
        ("https://app.example.com.evil.example/", "/account"),
    ] {
        let browser = Browser::new(&app);
        let page = browser.sign_in(EMAIL, PASSWORD, Some(asked)).await;
        assert_eq!(page.status, 303, "{asked}: {}", page.html);
        assert_eq!(page.location.as_deref(), Some(landed), "{asked}");
    }
}

async fn an_mfa_user_finishes_through_the_mfa_step(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = totp_user(&app).await;
    let browser = Browser::new(&app);
    let step = browser.sign_in(EMAIL, PASSWORD, None).await;
    assert_eq!(step.status, 200, "the MFA step is shown, not the account");
    assert!(step.html.contains("action=\"/login/mfa\""), "{}", step.html);
    assert!(
        !step.html.contains("mfa_token"),
        "the step's token stays in an HttpOnly cookie"
    );
    let csrf = step.csrf();
    let wrong = browser
        .post(
            "/login/mfa",
            &[
                ("csrf", &csrf),
                ("methods", "totp,recovery"),
                ("method", "totp"),
                ("code", "000000"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.html.contains("role=\"alert\""));
    let code = totp_now(&app, &user.secret);
    let done = browser
        .post(
            "/login/mfa",
            &[
                ("csrf", &csrf),
                ("methods", "totp,recovery"),
                ("method", "totp"),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.html);
    let (_, account) = browser.open("/account").await;
    assert!(account.html.contains(EMAIL));
}

async fn registration_shows_one_message_per_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = Browser::new(&app);
    let csrf = browser.get("/register").await.csrf();
    let page = browser
        .post(
            "/register",
            &[
                ("csrf", &csrf),
                ("first_name", "R4him"),
                ("email", "not-an-address"),
                ("mobile", "12345"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    for field in [
        "first_name",
        "last_name",
        "email",
        "mobile",
        "date_of_birth",
        "gender",
        "password",
    ] {
        assert!(
            page.html.contains(&format!("id=\"{field}-error\"")),
            "{field} has its message: {}",
            page.html
        );
    }
    assert!(page.html.contains("value=\"R4him\""), "what was typed is kept");

    let page = browser
        .post(
            "/register",
            &[
                ("csrf", &csrf),
                ("first_name", "Rahim"),
                ("last_name", "Uddin"),
                ("email", EMAIL),
                ("mobile", "01712345678"),
                ("date_of_birth", "1998-04-17"),
                ("gender", "male"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 201, "{}", page.html);
    let mail = app.mail_to(EMAIL, 0).await;
    app.send(
        app.client
            .post(app.url("/api/auth/verify-email"))
            .json(&json!({ "token": verification_token(&mail) })),
    )
    .await;
    assert_eq!(browser.sign_in(EMAIL, PASSWORD, None).await.status, 303);
}

async fn the_profile_is_edited_and_sessions_are_ended_from_the_account_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let elsewhere = app.signed_in(EMAIL).await;
    let browser = Browser::new(&app);
    browser.sign_in(EMAIL, PASSWORD, None).await;
    let (_, account) = browser.open("/account").await;
    let csrf = account.csrf();

    let bad = browser
        .post(
            "/account/profile",
            &[("csrf", &csrf), ("first_name", "R4him"), ("mobile", "01812345678")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.html.contains("id=\"first_name-error\""));
    let saved = browser
        .post(
            "/account/profile",
            &[
                ("csrf", &csrf),
                ("first_name", "Karim"),
                ("username", "karim_u"),
                ("mobile", "01812345678"),
            ],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.html);
    let me: serde_json::Value = app.me(&elsewhere.access).await.json().await.unwrap();
    assert_eq!(me["first_name"], "Karim");
    assert_eq!(me["username"], "karim_u");
    assert_eq!(me["mobile"], "+8801812345678");

    // Two sessions are listed; ending the other one kills its tokens, not this page's.
    assert_eq!(saved.html.matches("data-testid=\"session\"").count(), 2);
    let ended = browser
        .post("/account/sessions/revoke-others", &[("csrf", &csrf)])
        .await;
    assert_eq!(ended.status, 200);
    expect_problem(app.me(&elsewhere.access).await, 401, "session_revoked").await;
    assert_eq!(ended.html.matches("data-testid=\"session\"").count(), 1);

    // Signing out ends this session too.
    let out = browser.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.location.as_deref(), Some("/login"));
    assert_eq!(
        browser.get("/account").await.location.as_deref(),
        Some("/login?return_to=%2Faccount")
    );
}

async fn an_expired_page_session_is_renewed_from_the_refresh_cookie(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified(EMAIL).await;
    let browser = Browser::new(&app);
    browser.sign_in(EMAIL, PASSWORD, None).await;
    app.advance(chrono::Duration::minutes(16));
    // The access cookie's token has expired; the page goes through the refresh cookie and back.
    let page = browser.get("/account").await;
    assert_eq!(
        page.location.as_deref(),
        Some("/api/auth/ui/resume?return_to=%2Faccount")
    );
    let (path, account) = browser.open("/account").await;
    assert_eq!(path, "/account");
    assert!(account.html.contains(EMAIL), "{}", account.html);
}

async fn an_authenticator_app_is_enrolled_and_then_asked_for(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified(EMAIL).await;
    let browser = Browser::new(&app);
    browser.sign_in(EMAIL, PASSWORD, None).await;
    let (_, account) = browser.open("/account").await;
    let csrf = account.csrf();
    let enrol = browser.post("/account/mfa/totp", &[("csrf", &csrf)]).await;
    assert_eq!(enrol.status, 200, "{}", enrol.html);
    // (minijinja writes `/` in attributes as `&#x2f;`, which a browser reads back as `/`.)
    let html = enrol.html.replace("&#x2f;", "/");
    assert!(
        html.contains("src=\"data:image/png;base64,"),
        "the QR code is an image: {html}"
    );
    let secret = regex::Regex::new(r#"data-testid="totp-secret">([A-Z2-7 ]+)<"#)
        .unwrap()
        .captures(&enrol.html)
        .unwrap()[1]
        .replace(' ', "");
    let shown_secret = regex::Regex::new(r#"name="secret" value="([A-Z2-7]+)""#)
        .unwrap()
        .captures(&enrol.html)
        .unwrap()[1]
        .to_string();
    let wrong = browser
        .post(
            "/account/mfa/totp/verify",
            &[("csrf", &csrf), ("secret", &shown_secret), ("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status, 400);
    // The same step again, with the key already scanned (not a new one).
    assert!(wrong.html.contains("role=\"alert\""), "{}", wrong.html);
    assert!(wrong.html.replace(' ', "").contains(&secret), "{}", wrong.html);
    let code = totp_now(&app, &secret);
    let codes = browser
        .post("/account/mfa/totp/verify", &[("csrf", &csrf), ("code", &code)])
        .await;
    assert_eq!(codes.status, 200, "{}", codes.html);
    let recovery: Vec<String> = regex::Regex::new(r"<li><code>([^<]+)</code></li>")
        .unwrap()
        .captures_iter(&codes.html)
        .map(|c| c[1].to_string())
        .collect();
    assert_eq!(recovery.len(), 10, "{}", codes.html);
    assert!(codes.html.contains("download=\"recovery-codes.txt\""));

    // The next sign-in asks for the app; a recovery code also works, once.
    browser.post("/logout", &[("csrf", &csrf)]).await;
    let step = browser.sign_in(EMAIL, PASSWORD, None).await;
    assert!(step.html.contains("action=\"/login/mfa\""));
    let done = browser
        .post(
            "/login/mfa",
            &[("csrf", &step.csrf()), ("method", "recovery"), ("code", &recovery[0])],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.html);

    // Turning it off takes a current code.
    let (_, account) = browser.open("/account").await;
    let csrf = account.csrf();
    assert!(account.html.contains("data-testid=\"mfa-status\""));
    let refused = browser
        .post("/account/mfa/disable", &[("csrf", &csrf), ("code", "000000")])
        .await;
    assert_eq!(refused.status, 400);
    crate::mfa_support::next_step(&app);
    let off = browser
        .post(
            "/account/mfa/disable",
            &[("csrf", &csrf), ("code", &totp_now(&app, &secret))],
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.html);
    assert!(off.html.contains("Two-step sign-in is off."));
}

async fn the_account_is_deleted_from_the_account_page_with_the_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified(EMAIL).await;
    let browser = Browser::new(&app);
    browser.sign_in(EMAIL, PASSWORD, None).await;
    let (_, account) = browser.open("/account").await;
    let csrf = account.csrf();
    let wrong = browser
        .post(
            "/account/delete",
            &[("csrf", &csrf), ("delete_password", "not the password")],
        )
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.html);
    assert!(wrong.html.contains("id=\"delete_password-error\""), "{}", wrong.html);
    assert_eq!(
        app.login(EMAIL, PASSWORD).await.status(),
        200,
        "a refused deletion deletes nothing"
    );

    let gone = browser
        .post("/account/delete", &[("csrf", &csrf), ("delete_password", PASSWORD)])
        .await;
    assert_eq!(gone.status, 200, "{}", gone.html);
    assert!(gone.html.contains("Account deleted"));
    assert_eq!(app.login(EMAIL, PASSWORD).await.status(), 401);
    assert_eq!(
        browser.get("/account").await.location.as_deref(),
        Some("/login?return_to=%2Faccount")
    );
}

both!(
    the_account_is_deleted_from_the_account_page_with_the_password,
    an_authenticator_app_is_enrolled_and_then_asked_for,
    a_verified_user_signs_in_and_sees_the_account_page,
    a_wrong_password_is_shown_on_the_form,
    forms_without_their_csrf_token_or_from_another_site_are_refused,
    return_to_is_followed_only_to_allowed_places,
    an_mfa_user_finishes_through_the_mfa_step,
    registration_shows_one_message_per_field,
    the_profile_is_edited_and_sessions_are_ended_from_the_account_page,
    an_expired_page_session_is_renewed_from_the_refresh_cookie
);
