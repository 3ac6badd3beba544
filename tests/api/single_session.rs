//! `SINGLE_SESSION=true` (seeds 001, 004): each sign-in ends the user's other sessions, however
//! it happens. Off by default.

use crate::both;
use crate::common::*;
use serde_json::{json, Value};

async fn token_grant(app: &TestApp, email: &str) -> Tokens {
    let r = app
        .send(app.client.post(app.url("/api/auth/token")).form(&[
            ("grant_type", "password"),
            ("username", email),
            ("password", PASSWORD),
        ]))
        .await;
    assert_eq!(r.status(), 200);
    Tokens::from(r.json::<Value>().await.unwrap())
}

async fn otp_sign_in(app: &TestApp, email: &str, nth_mail: usize) -> Tokens {
    let r = app.post_json("/api/auth/otp/request", &json!({ "email": email })).await;
    assert_eq!(r.status(), 202);
    let code = app.mail_to(email, nth_mail).await.six_digit_code().unwrap();
    let r = app
        .post_json("/api/auth/otp/login", &json!({ "email": email, "code": code }))
        .await;
    assert_eq!(r.status(), 200);
    Tokens::from(r.json::<Value>().await.unwrap())
}

async fn assert_ended(app: &TestApp, tokens: &Tokens) {
    expect_problem(app.me(&tokens.access).await, 401, "session_revoked").await;
    expect_problem(app.refresh(&tokens.refresh).await, 401, "session_revoked").await;
}

async fn each_sign_in_ends_the_earlier_sessions(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c| c.single_session = true).await;
    let email = "rahim@example.com";
    let first = app.signed_in(email).await;
    let second = Tokens::from(app.login(email, PASSWORD).await.json::<Value>().await.unwrap());
    assert_ended(&app, &first).await;
    assert_eq!(app.me(&second.access).await.status(), 200);

    // The OAuth token endpoint and passwordless codes start sessions the same way.
    let third = token_grant(&app, email).await;
    assert_ended(&app, &second).await;
    let fourth = otp_sign_in(&app, email, 1).await;
    assert_ended(&app, &third).await;
    // The survivor refreshes normally, and refreshing is not a sign-in: it ends nothing.
    let r = app.refresh(&fourth.refresh).await;
    assert_eq!(r.status(), 200);
    let refreshed = Tokens::from(r.json::<Value>().await.unwrap());
    assert_eq!(app.me(&refreshed.access).await.status(), 200);
    let sessions: Value = app
        .get_auth("/api/auth/sessions", &refreshed.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sessions.as_array().unwrap().len(), 1, "{sessions}");
}

async fn sessions_are_not_limited_by_default(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = "rahim@example.com";
    let first = app.signed_in(email).await;
    let second = Tokens::from(app.login(email, PASSWORD).await.json::<Value>().await.unwrap());
    for tokens in [&first, &second] {
        assert_eq!(app.me(&tokens.access).await.status(), 200);
        assert_eq!(app.refresh(&tokens.refresh).await.status(), 200);
    }
}

both!(
    each_sign_in_ends_the_earlier_sessions,
    sessions_are_not_limited_by_default
);
