//! Security review, item 2: a session is not a password-guessing oracle. Wrong current passwords
//! (change-password, change-email, account deletion, MFA enrolment) count in the login rate
//! limit and in the failed-login lockout, and the guess that locks ends the session.

use crate::both;
use crate::common::*;
use gatehouse::ratelimit::{Rate, RateLimitSettings};
use serde_json::{json, Value};

const EMAIL: &str = "rahim@example.com";
const NEW_PASSWORD: &str = "violet tractor sings opera";

async fn change_password(app: &TestApp, access: &str, current: &str) -> reqwest::Response {
    app.send(
        app.client
            .put(app.url("/api/auth/change-password"))
            .bearer_auth(access)
            .json(&json!({ "current_password": current, "new_password": NEW_PASSWORD })),
    )
    .await
}

async fn change_email(app: &TestApp, access: &str, current: &str) -> reqwest::Response {
    app.post_json_auth(
        "/api/auth/change-email",
        access,
        &json!({ "new_email": "rahim.new@example.com", "current_password": current }),
    )
    .await
}

async fn delete_account(app: &TestApp, access: &str, current: &str) -> reqwest::Response {
    app.send(
        app.client
            .delete(app.url("/api/auth/me"))
            .bearer_auth(access)
            .json(&json!({ "current_password": current })),
    )
    .await
}

async fn wrong(r: reqwest::Response) {
    expect_invalid_current_password(r).await;
}

async fn wrong_current_passwords_lock_the_account_and_end_the_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.signed_in(EMAIL).await;
    // Five wrong guesses, spread over the three re-authenticating endpoints: one count.
    wrong(change_password(&app, &t.access, "guess number one").await).await;
    wrong(change_email(&app, &t.access, "guess number two").await).await;
    wrong(delete_account(&app, &t.access, "guess number three").await).await;
    wrong(change_password(&app, &t.access, "guess number four").await).await;
    wrong(change_password(&app, &t.access, "guess number five").await).await;
    // The fifth locked the account (as five wrong sign-ins do) and ended this session: the
    // right password is not even checked now.
    expect_problem(change_password(&app, &t.access, PASSWORD).await, 401, "session_revoked").await;
    expect_problem(app.refresh(&t.refresh).await, 401, "session_revoked").await;
    expect_problem(app.login(EMAIL, PASSWORD).await, 429, "account_locked").await;
    // The owner was mailed the unlock link, which works.
    let mail = app.mail_to(EMAIL, 1).await;
    assert!(mail.subject.contains("was paused"), "{}", mail.subject);
    let token = link_token(&mail, "/unlock-account");
    let r = app.post_json("/api/auth/unlock", &json!({ "token": token })).await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.login(EMAIL, PASSWORD).await.status(), 200);
}

async fn many_fast_guesses_never_reach_the_right_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.signed_in(EMAIL).await;
    let mut statuses = Vec::new();
    for n in 0..30 {
        let r = change_password(&app, &t.access, &format!("wrong guess {n}")).await;
        statuses.push(r.status().as_u16());
    }
    assert!(statuses[5..].iter().all(|s| *s == 401), "{statuses:?}");
    let r = change_password(&app, &t.access, PASSWORD).await;
    expect_problem(r, 401, "session_revoked").await;
    assert!(
        app.login(EMAIL, NEW_PASSWORD).await.status() != 200,
        "the password did not change"
    );
}

async fn re_authentication_counts_in_the_login_rate_limit(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c| {
        c.rate_limits = RateLimitSettings {
            login: Some(Rate::per_minute(3)),
            ..RateLimitSettings::off()
        };
    })
    .await;
    let t = app.signed_in(EMAIL).await; // one sign-in counted
    wrong(change_password(&app, &t.access, "guess number one").await).await;
    wrong(delete_account(&app, &t.access, "guess number two").await).await;
    let r = change_password(&app, &t.access, PASSWORD).await;
    expect_problem(r, 429, "rate_limited").await;
    expect_problem(app.login(EMAIL, PASSWORD).await, 429, "rate_limited").await;
}

async fn the_right_password_resets_the_count(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.signed_in(EMAIL).await;
    for n in 0..4 {
        wrong(change_email(&app, &t.access, &format!("guess {n}")).await).await;
    }
    let r = change_password(&app, &t.access, PASSWORD).await;
    assert_eq!(r.status(), 200);
    let r = app.login(EMAIL, NEW_PASSWORD).await;
    let login: Value = r.json().await.unwrap();
    assert!(login.get("access_token").is_some(), "{login}");
}

both!(
    wrong_current_passwords_lock_the_account_and_end_the_session,
    many_fast_guesses_never_reach_the_right_password,
    re_authentication_counts_in_the_login_rate_limit,
    the_right_password_resets_the_count,
);
