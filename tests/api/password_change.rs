//! Changing a password while signed in, and the password history shared with resets.

use crate::both;
use crate::common::*;
use serde_json::{json, Value};

const PASSWORDS: [&str; 6] = [
    "violet tractor sings opera",
    "seventeen lazy otters nap",
    "cobalt kettle whistles jazz",
    "marble falcon reads poetry",
    "saffron glacier hums softly",
    "thunder meadow paints clouds",
];

async fn change(app: &TestApp, access: &str, current: &str, new: &str) -> reqwest::Response {
    app.send(
        app.client
            .put(app.url("/api/auth/change-password"))
            .bearer_auth(access)
            .json(&json!({ "current_password": current, "new_password": new })),
    )
    .await
}

async fn change_password_keeps_this_session_and_ends_the_others(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let this = app.signed_in("rahim@example.com").await;
    let other = Tokens::from(
        app.login("rahim@example.com", PASSWORD)
            .await
            .json::<Value>()
            .await
            .unwrap(),
    );
    assert_eq!(change(&app, &this.access, PASSWORD, PASSWORDS[0]).await.status(), 200);

    assert_eq!(app.me(&this.access).await.status(), 200);
    assert_eq!(app.refresh(&this.refresh).await.status(), 200);
    expect_problem(app.me(&other.access).await, 401, "session_revoked").await;
    expect_problem(app.refresh(&other.refresh).await, 401, "session_revoked").await;

    expect_problem(
        app.login("rahim@example.com", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_eq!(app.login("rahim@example.com", PASSWORDS[0]).await.status(), 200);
    let notice = app.mail_to("rahim@example.com", 1).await;
    assert!(notice.subject.contains("password was changed"), "{}", notice.subject);
}

async fn change_password_needs_the_current_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.signed_in("rahim@example.com").await;
    let body = expect_problem(
        change(&app, &t.access, "not my password at all", PASSWORDS[0]).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        field_errors(&body),
        vec![("current_password".to_string(), "invalid_current_password".to_string())]
    );
    assert_eq!(app.login("rahim@example.com", PASSWORD).await.status(), 200);
}

async fn change_password_needs_a_bearer_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = app
        .send(
            app.client
                .put(app.url("/api/auth/change-password"))
                .json(&json!({ "current_password": PASSWORD, "new_password": PASSWORDS[0] })),
        )
        .await;
    expect_problem(r, 401, "missing_token").await;
}

async fn change_password_applies_the_policy(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.signed_in("rahim@example.com").await;
    let body = expect_problem(
        change(&app, &t.access, PASSWORD, "qwerty123").await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        field_errors(&body),
        vec![("new_password".to_string(), "common_password".to_string())]
    );
    let body = expect_problem(
        change(&app, &t.access, PASSWORD, "rahim-is-my-name-99").await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        field_errors(&body),
        vec![("new_password".to_string(), "contains_personal_info".to_string())]
    );
}

async fn the_last_five_passwords_are_refused_and_the_sixth_is_accepted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.signed_in("rahim@example.com").await;
    // PASSWORD, then PASSWORDS[0..5]: after five changes the last five are PASSWORDS[0..5].
    let mut current = PASSWORD;
    for next in &PASSWORDS[..5] {
        assert_eq!(
            change(&app, &t.access, current, next).await.status(),
            200,
            "changing to {next}"
        );
        current = next;
    }
    for old in &PASSWORDS[..5] {
        let body = expect_problem(change(&app, &t.access, current, old).await, 422, "validation_failed").await;
        assert_eq!(
            field_errors(&body),
            vec![("new_password".to_string(), "password_reused".to_string())],
            "reusing {old}"
        );
    }
    // The registration password is the sixth most recent now: accepted again.
    assert_eq!(change(&app, &t.access, current, PASSWORD).await.status(), 200);
}

async fn reset_also_refuses_recent_passwords(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified("rahim@example.com").await;
    assert_eq!(
        app.post_json("/api/auth/forgot-password", &json!({ "email": "rahim@example.com" }))
            .await
            .status(),
        202
    );
    let mail = app.mail_to("rahim@example.com", 1).await;
    let token = reset_token(&mail);
    let r = app
        .post_json(
            "/api/auth/reset-password",
            &json!({ "token": token, "new_password": PASSWORD }),
        )
        .await;
    let body = expect_problem(r, 422, "validation_failed").await;
    assert_eq!(
        field_errors(&body),
        vec![("new_password".to_string(), "password_reused".to_string())]
    );
}

async fn history_holds_only_hashes_and_stays_bounded(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c| c.password_history = 3).await;
    let t = app.signed_in("rahim@example.com").await;
    let mut current = PASSWORD;
    for next in &PASSWORDS {
        assert_eq!(change(&app, &t.access, current, next).await.status(), 200);
        current = next;
    }
    let me: Value = app.me(&t.access).await.json().await.unwrap();
    let user_id = uuid::Uuid::parse_str(me["id"].as_str().unwrap()).unwrap();
    let history = app.state.store.users().password_history(user_id, 100).await.unwrap();
    assert_eq!(
        history.len(),
        2,
        "history keeps PASSWORD_HISTORY - 1 entries beside the current hash"
    );
    for phc in &history {
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(PASSWORDS.iter().all(|p| !phc.contains(p)));
    }
    // With a history of 3, the fourth most recent is allowed again.
    assert_eq!(change(&app, &t.access, current, PASSWORDS[2]).await.status(), 200);
}

both!(
    change_password_keeps_this_session_and_ends_the_others,
    change_password_needs_the_current_password,
    change_password_needs_a_bearer_token,
    change_password_applies_the_policy,
    the_last_five_passwords_are_refused_and_the_sixth_is_accepted,
    reset_also_refuses_recent_passwords,
    history_holds_only_hashes_and_stays_bounded,
);
