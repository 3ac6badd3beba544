//! The 6-digit code in the verification mail (valid 15 minutes, 5 wrong guesses), and how the
//! code and the link spend each other.

use super::{can_sign_in, code_of, still_pending, verify_code, verify_token, wrong_code};
use crate::both;
use crate::common::*;
use chrono::Duration;

async fn code_confirms_the_address(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let code = code_of(&app.register_pending("rahim@example.com").await);
    assert_eq!(verify_code(&app, "rahim@example.com", &code).await.status(), 200);
    can_sign_in(&app, "rahim@example.com").await;
}

async fn code_is_accepted_as_typed_with_spaces_and_any_email_case(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let code = code_of(&app.register_pending("rahim@example.com").await);
    let typed = format!("{} {}", &code[..3], &code[3..]);
    assert_eq!(verify_code(&app, " Rahim@Example.com ", &typed).await.status(), 200);
    can_sign_in(&app, "rahim@example.com").await;
}

async fn wrong_code_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let code = code_of(&app.register_pending("rahim@example.com").await);
    expect_problem(
        verify_code(&app, "rahim@example.com", &wrong_code(&code, 1)).await,
        400,
        "invalid_code",
    )
    .await;
    still_pending(&app, "rahim@example.com").await;
}

async fn code_of_another_account_does_not_work(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let rahim = code_of(&app.register_pending("rahim@example.com").await);
    let karim = code_of(&app.register_pending("karim@example.com").await);
    if rahim != karim {
        expect_problem(
            verify_code(&app, "karim@example.com", &rahim).await,
            400,
            "invalid_code",
        )
        .await;
    }
    // An address without an account answers like a wrong code.
    expect_problem(
        verify_code(&app, "nobody@example.com", &rahim).await,
        400,
        "invalid_code",
    )
    .await;
    still_pending(&app, "karim@example.com").await;
}

async fn code_expires_after_15_minutes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mail = app.register_pending("rahim@example.com").await;
    assert!(mail.text.contains("valid for 15 minutes"), "{}", mail.text);
    app.advance(Duration::minutes(15) + Duration::seconds(1));
    expect_problem(
        verify_code(&app, "rahim@example.com", &code_of(&mail)).await,
        400,
        "invalid_code",
    )
    .await;
    still_pending(&app, "rahim@example.com").await;
    // The link lives longer than the code.
    assert_eq!(verify_token(&app, &verification_token(&mail)).await.status(), 200);
}

async fn code_still_works_just_before_it_expires(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let code = code_of(&app.register_pending("rahim@example.com").await);
    app.advance(Duration::minutes(15) - Duration::seconds(1));
    assert_eq!(verify_code(&app, "rahim@example.com", &code).await.status(), 200);
}

async fn five_wrong_codes_destroy_the_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mail = app.register_pending("rahim@example.com").await;
    let code = code_of(&mail);
    for attempt in 1..=4 {
        expect_problem(
            verify_code(&app, "rahim@example.com", &wrong_code(&code, attempt)).await,
            400,
            "invalid_code",
        )
        .await;
    }
    expect_problem(
        verify_code(&app, "rahim@example.com", &wrong_code(&code, 5)).await,
        400,
        // The last allowed wrong guess answers like every other (security review: a different
        // code would tell that the address has an account).
        "invalid_code",
    )
    .await;
    expect_problem(verify_code(&app, "rahim@example.com", &code).await, 400, "invalid_code").await;
    still_pending(&app, "rahim@example.com").await;
}

async fn wrong_code_limit_follows_the_setting(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |cfg| cfg.max_code_attempts = 2).await;
    let code = code_of(&app.register_pending("rahim@example.com").await);
    expect_problem(
        verify_code(&app, "rahim@example.com", &wrong_code(&code, 1)).await,
        400,
        "invalid_code",
    )
    .await;
    expect_problem(
        verify_code(&app, "rahim@example.com", &wrong_code(&code, 2)).await,
        400,
        "invalid_code",
    )
    .await;
    // The right code no longer works: it died with the second wrong guess.
    expect_problem(verify_code(&app, "rahim@example.com", &code).await, 400, "invalid_code").await;
}

async fn using_the_code_spends_the_link(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mail = app.register_pending("rahim@example.com").await;
    assert_eq!(
        verify_code(&app, "rahim@example.com", &code_of(&mail)).await.status(),
        200
    );
    expect_problem(
        verify_token(&app, &verification_token(&mail)).await,
        400,
        "token_revoked",
    )
    .await;
}

async fn using_the_link_spends_the_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mail = app.register_pending("rahim@example.com").await;
    assert_eq!(verify_token(&app, &verification_token(&mail)).await.status(), 200);
    expect_problem(
        verify_code(&app, "rahim@example.com", &code_of(&mail)).await,
        400,
        "invalid_code",
    )
    .await;
}

async fn code_works_only_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let code = code_of(&app.register_pending("rahim@example.com").await);
    assert_eq!(verify_code(&app, "rahim@example.com", &code).await.status(), 200);
    expect_problem(verify_code(&app, "rahim@example.com", &code).await, 400, "invalid_code").await;
}

both!(
    code_confirms_the_address,
    code_is_accepted_as_typed_with_spaces_and_any_email_case,
    wrong_code_is_refused,
    code_of_another_account_does_not_work,
    code_expires_after_15_minutes,
    code_still_works_just_before_it_expires,
    five_wrong_codes_destroy_the_code,
    wrong_code_limit_follows_the_setting,
    using_the_code_spends_the_link,
    using_the_link_spends_the_code,
    code_works_only_once,
);
