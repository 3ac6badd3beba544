//! Step-up for sensitive changes, disabling MFA and renewing recovery codes.

use crate::both;
use crate::common::*;
use crate::mfa_support::*;
use chrono::Duration;
use serde_json::{json, Value};

const NEW_PASSWORD: &str = "purple elephant dances quietly";

async fn change_password_needs_a_recent_second_factor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // This session began with the password alone, before MFA was turned on.
    let user = totp_user(&app).await;
    expect_problem(
        change_password(&app, &user.tokens.access, NEW_PASSWORD).await,
        403,
        "mfa_step_up_required",
    )
    .await;
    expect_problem(
        step_up(&app, &user.tokens.access, "totp", &wrong_totp(&app, &user.secret)).await,
        400,
        "invalid_code",
    )
    .await;
    let r = step_up(&app, &user.tokens.access, "totp", &totp_now(&app, &user.secret)).await;
    assert_eq!(r.status(), 200);
    let stepped = Tokens::from(r.json::<Value>().await.unwrap());
    assert_eq!(amr(&stepped.access), ["pwd", "otp", "mfa"]);
    assert_eq!(
        claims(&stepped.access)["sid"],
        claims(&user.tokens.access)["sid"],
        "same session"
    );
    // The session's earlier refresh token was replaced.
    assert_eq!(app.refresh(&user.tokens.refresh).await.status(), 401);
    assert_eq!(change_password(&app, &stepped.access, NEW_PASSWORD).await.status(), 200);
}

async fn the_step_up_lasts_ten_minutes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = totp_user(&app).await;
    let (mfa_token, _) = password_step(&app).await;
    let r = challenge(&app, &mfa_token, None, &totp_now(&app, &user.secret)).await;
    let tokens = Tokens::from(r.json::<Value>().await.unwrap());
    app.advance(Duration::minutes(11));
    // Still a valid access token (15 min), but its second factor is 11 minutes old.
    expect_problem(
        change_password(&app, &tokens.access, NEW_PASSWORD).await,
        403,
        "mfa_step_up_required",
    )
    .await;
    let refreshed = Tokens::from(app.refresh(&tokens.refresh).await.json::<Value>().await.unwrap());
    expect_problem(
        change_password(&app, &refreshed.access, NEW_PASSWORD).await,
        403,
        "mfa_step_up_required",
    )
    .await;
    let r = step_up(&app, &refreshed.access, "totp", &totp_now(&app, &user.secret)).await;
    let stepped = Tokens::from(r.json::<Value>().await.unwrap());
    assert_eq!(change_password(&app, &stepped.access, NEW_PASSWORD).await.status(), 200);
}

async fn users_without_mfa_need_no_step_up(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in(EMAIL).await;
    assert_eq!(change_password(&app, &tokens.access, NEW_PASSWORD).await.status(), 200);
}

async fn disable_needs_step_up_and_a_current_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = totp_user(&app).await;
    let disable = |access: String, code: String| {
        let app = &app;
        async move {
            app.post_json_auth("/api/auth/mfa/disable", &access, &json!({ "code": code }))
                .await
        }
    };
    expect_problem(
        disable(user.tokens.access.clone(), totp_now(&app, &user.secret)).await,
        403,
        "mfa_step_up_required",
    )
    .await;
    let r = step_up(&app, &user.tokens.access, "totp", &totp_now(&app, &user.secret)).await;
    let stepped = Tokens::from(r.json::<Value>().await.unwrap());
    // The code just used for the step-up cannot be used again; a wrong one fails.
    expect_problem(
        disable(stepped.access.clone(), totp_now(&app, &user.secret)).await,
        400,
        "invalid_code",
    )
    .await;
    let r = disable(stepped.access.clone(), user.recovery_codes[0].clone()).await;
    assert_eq!(r.status(), 200);

    let mail = app.mail_to(EMAIL, 2).await;
    assert!(mail.subject.contains("turned off"), "{}", mail.subject);
    let events = app
        .state
        .store
        .audit()
        .for_user(claims_user(&stepped.access), 50)
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.event_type == "mfa_disabled" && e.outcome == "success"),
        "{events:?}"
    );
    let me: Value = app.me(&stepped.access).await.json().await.unwrap();
    assert_eq!(me["mfa_enabled"], false);
    let body: Value = app.login(EMAIL, PASSWORD).await.json().await.unwrap();
    assert!(
        body["access_token"].is_string(),
        "password alone signs in again: {body}"
    );
}

fn claims_user(access: &str) -> uuid::Uuid {
    claims(access)["sub"].as_str().unwrap().parse().unwrap()
}

async fn recovery_codes_are_renewed_only_after_step_up(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = totp_user(&app).await;
    expect_problem(
        app.post_json_auth("/api/auth/mfa/recovery-codes", &user.tokens.access, &json!({}))
            .await,
        403,
        "mfa_step_up_required",
    )
    .await;
    let r = step_up(&app, &user.tokens.access, "totp", &totp_now(&app, &user.secret)).await;
    let stepped = Tokens::from(r.json::<Value>().await.unwrap());
    let r = app
        .post_json_auth("/api/auth/mfa/recovery-codes", &stepped.access, &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let fresh: Vec<String> = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(fresh.len(), 10);
    let (mfa_token, _) = password_step(&app).await;
    expect_problem(
        challenge(&app, &mfa_token, None, &user.recovery_codes[0]).await,
        400,
        "invalid_code",
    )
    .await;
    assert_eq!(challenge(&app, &mfa_token, None, &fresh[0]).await.status(), 200);
}

async fn step_up_by_mailed_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = email_user(&app).await;
    expect_problem(
        change_password(&app, &tokens.access, NEW_PASSWORD).await,
        403,
        "mfa_step_up_required",
    )
    .await;
    let before = app.smtp.messages_to(EMAIL).len();
    let r = app
        .post_json_auth("/api/auth/mfa/send-code", &tokens.access, &json!({}))
        .await;
    assert_eq!(r.status(), 202);
    let code = app.mail_to(EMAIL, before).await.six_digit_code().unwrap();
    let r = step_up(&app, &tokens.access, "email", &code).await;
    assert_eq!(r.status(), 200);
    let stepped = Tokens::from(r.json::<Value>().await.unwrap());
    assert_eq!(amr(&stepped.access), ["pwd", "email", "mfa"]);
    assert_eq!(change_password(&app, &stepped.access, NEW_PASSWORD).await.status(), 200);
}

both!(
    change_password_needs_a_recent_second_factor,
    the_step_up_lasts_ten_minutes,
    users_without_mfa_need_no_step_up,
    disable_needs_step_up_and_a_current_code,
    recovery_codes_are_renewed_only_after_step_up,
    step_up_by_mailed_code,
);
