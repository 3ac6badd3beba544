//! Login with a second factor: the challenge, each factor, replay, single use and brute force.

use crate::both;
use crate::common::*;
use crate::mfa_support::*;
use chrono::Duration;
use serde_json::{json, Value};

async fn login_needs_the_second_factor_and_totp_finishes_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = totp_user(&app).await;
    let (mfa_token, body) = password_step(&app).await;
    assert_eq!(body["methods"], json!(["totp", "recovery"]));

    // The mfa_token is no access token.
    expect_problem(app.me(&mfa_token).await, 401, "invalid_token").await;

    let r = challenge(&app, &mfa_token, Some("totp"), &totp_now(&app, &user.secret)).await;
    assert_eq!(r.status(), 200);
    let tokens = Tokens::from(r.json::<Value>().await.unwrap());
    assert_eq!(amr(&tokens.access), ["pwd", "otp", "mfa"]);
    assert_eq!(claims(&tokens.access)["mfa"], true);
    assert_eq!(app.me(&tokens.access).await.status(), 200);
    // A refresh keeps what the login proved.
    let refreshed = Tokens::from(app.refresh(&tokens.refresh).await.json::<Value>().await.unwrap());
    assert_eq!(amr(&refreshed.access), ["pwd", "otp", "mfa"]);

    // Single use.
    next_step(&app);
    expect_problem(
        challenge(&app, &mfa_token, None, &totp_now(&app, &user.secret)).await,
        401,
        "invalid_mfa_token",
    )
    .await;
}

async fn a_totp_code_used_at_enrolment_is_refused_at_login(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in(EMAIL).await;
    let body: Value = enable(&app, &tokens.access, "totp").await.json().await.unwrap();
    let secret = body["secret"].as_str().unwrap().to_string();
    let code = totp_now(&app, &secret);
    assert_eq!(verify(&app, &tokens.access, "totp", &code).await.status(), 200);

    let (mfa_token, _) = password_step(&app).await;
    expect_problem(
        challenge(&app, &mfa_token, Some("totp"), &code).await,
        400,
        "invalid_code",
    )
    .await;
    // Still inside the ±1 step window, but the step was used: refused too.
    app.advance(Duration::seconds(20));
    expect_problem(
        challenge(&app, &mfa_token, Some("totp"), &code).await,
        400,
        "invalid_code",
    )
    .await;
    next_step(&app);
    let r = challenge(&app, &mfa_token, Some("totp"), &totp_now(&app, &secret)).await;
    assert_eq!(r.status(), 200);
}

async fn a_totp_code_works_once_at_login(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = totp_user(&app).await;
    let code = totp_now(&app, &user.secret);
    let (first, _) = password_step(&app).await;
    assert_eq!(challenge(&app, &first, None, &code).await.status(), 200);
    let (second, _) = password_step(&app).await;
    expect_problem(challenge(&app, &second, None, &code).await, 400, "invalid_code").await;
}

async fn a_mailed_code_finishes_login(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    email_user(&app).await;
    let (mfa_token, body) = password_step(&app).await;
    assert_eq!(body["methods"], json!(["email", "recovery"]));
    let before = app.smtp.messages_to(EMAIL).len();
    let r = app
        .post_json("/api/auth/mfa/challenge/send", &json!({ "mfa_token": mfa_token }))
        .await;
    assert_eq!(r.status(), 202);
    let code = app.mail_to(EMAIL, before).await.six_digit_code().unwrap();
    let r = challenge(&app, &mfa_token, Some("email"), &code).await;
    assert_eq!(r.status(), 200);
    let tokens = Tokens::from(r.json::<Value>().await.unwrap());
    assert_eq!(amr(&tokens.access), ["pwd", "email", "mfa"]);
    assert_eq!(claims(&tokens.access)["mfa"], true);
}

async fn a_recovery_code_works_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = totp_user(&app).await;
    let code = &user.recovery_codes[0];
    let (mfa_token, _) = password_step(&app).await;
    let r = challenge(&app, &mfa_token, Some("recovery"), &code.to_uppercase()).await;
    assert_eq!(r.status(), 200, "recovery codes ignore case");
    let tokens = Tokens::from(r.json::<Value>().await.unwrap());
    assert_eq!(amr(&tokens.access), ["pwd", "recovery", "mfa"]);

    let (again, _) = password_step(&app).await;
    expect_problem(challenge(&app, &again, None, code).await, 400, "invalid_code").await;
    assert_eq!(
        challenge(&app, &again, None, &user.recovery_codes[1]).await.status(),
        200,
        "another code still works (method inferred)"
    );
}

async fn five_wrong_codes_end_the_mfa_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = totp_user(&app).await;
    let (mfa_token, _) = password_step(&app).await;
    let wrong = wrong_totp(&app, &user.secret);
    for _ in 0..4 {
        expect_problem(
            challenge(&app, &mfa_token, Some("totp"), &wrong).await,
            400,
            "invalid_code",
        )
        .await;
    }
    expect_problem(
        challenge(&app, &mfa_token, Some("totp"), &wrong).await,
        401,
        "too_many_attempts",
    )
    .await;
    // Dead even for the right code: sign in again.
    expect_problem(
        challenge(&app, &mfa_token, Some("totp"), &totp_now(&app, &user.secret)).await,
        401,
        "invalid_mfa_token",
    )
    .await;
    let (fresh, _) = password_step(&app).await;
    assert_eq!(
        challenge(&app, &fresh, Some("totp"), &totp_now(&app, &user.secret))
            .await
            .status(),
        200
    );
}

async fn wrong_codes_count_per_user_across_mfa_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = totp_user(&app).await;
    let wrong = wrong_totp(&app, &user.secret);
    for _ in 0..2 {
        let (mfa_token, _) = password_step(&app).await;
        for _ in 0..4 {
            expect_problem(
                challenge(&app, &mfa_token, Some("totp"), &wrong).await,
                400,
                "invalid_code",
            )
            .await;
        }
    }
    let (mfa_token, _) = password_step(&app).await;
    expect_problem(
        challenge(&app, &mfa_token, Some("totp"), &wrong).await,
        400,
        "invalid_code",
    )
    .await;
    // The tenth wrong code for this user locks MFA, whichever mfa_token carries it.
    expect_problem(
        challenge(&app, &mfa_token, Some("totp"), &wrong).await,
        429,
        "rate_limited",
    )
    .await;
    expect_problem(
        challenge(&app, &mfa_token, Some("totp"), &totp_now(&app, &user.secret)).await,
        429,
        "rate_limited",
    )
    .await;
    app.advance(Duration::minutes(16));
    let (mfa_token, _) = password_step(&app).await;
    assert_eq!(
        challenge(&app, &mfa_token, Some("totp"), &totp_now(&app, &user.secret))
            .await
            .status(),
        200
    );
}

async fn the_mfa_token_expires_after_five_minutes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = totp_user(&app).await;
    let (mfa_token, body) = password_step(&app).await;
    assert_eq!(body["expires_in"], 300);
    app.advance(Duration::seconds(301));
    expect_problem(
        challenge(&app, &mfa_token, Some("totp"), &totp_now(&app, &user.secret)).await,
        401,
        "invalid_mfa_token",
    )
    .await;
}

async fn a_password_reset_leaves_mfa_on(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    totp_user(&app).await;
    // Mails so far: verification, "two-step sign-in is on".
    app.post_json("/api/auth/forgot-password", &json!({ "email": EMAIL }))
        .await;
    let mail = app.mail_to(EMAIL, 2).await;
    let token = reset_token(&mail);
    let new_password = "purple elephant dances quietly";
    let r = app
        .post_json(
            "/api/auth/reset-password",
            &json!({ "token": token, "new_password": new_password }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = app.login(EMAIL, new_password).await.json().await.unwrap();
    assert_eq!(body["mfa_required"], true, "{body}");
    assert!(body.get("access_token").is_none());
}

both!(
    login_needs_the_second_factor_and_totp_finishes_it,
    a_totp_code_used_at_enrolment_is_refused_at_login,
    a_totp_code_works_once_at_login,
    a_mailed_code_finishes_login,
    a_recovery_code_works_once,
    five_wrong_codes_end_the_mfa_token,
    wrong_codes_count_per_user_across_mfa_tokens,
    the_mfa_token_expires_after_five_minutes,
    a_password_reset_leaves_mfa_on,
);
