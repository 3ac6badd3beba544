//! POST /api/auth/login: what a client learns from a refusal (nothing about which accounts
//! exist), what a malformed request gets, and what a login leaves behind (audit trail, last_login).

use crate::both;
use crate::common::sql::scalar;
use crate::common::*;
use gatehouse::store::AuditEvent;
use serde_json::{json, Value};
use uuid::Uuid;

const USER_AGENT: &str = "gatehouse-tests/1.0 (login)";

/// A refusal as the client sees it: status, the problem body and the challenge header.
async fn answer(r: reqwest::Response) -> (u16, Option<String>, Value) {
    let status = r.status().as_u16();
    let challenge = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string());
    (status, challenge, r.json().await.unwrap())
}

async fn login_from_browser(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.send(
        app.client
            .post(app.url("/api/auth/login"))
            .header("user-agent", USER_AGENT)
            .json(&json!({ "email": email, "password": password })),
    )
    .await
}

async fn login_events(app: &TestApp, user_id: Uuid) -> Vec<AuditEvent> {
    let events = app.state.store.audit().for_user(user_id, 50).await.unwrap();
    events.into_iter().filter(|e| e.event_type == "login").collect()
}

async fn user_id(app: &TestApp, email: &str) -> Uuid {
    app.state
        .store
        .users()
        .by_email(email)
        .await
        .unwrap()
        .expect("user exists")
        .id
}

async fn unknown_email_and_wrong_password_get_identical_answers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified("rahim@example.com").await;

    let unknown = answer(app.login("nobody@example.com", PASSWORD).await).await;
    let wrong = answer(app.login("rahim@example.com", "not the right passphrase").await).await;

    assert_eq!(unknown.0, 401);
    assert_eq!(unknown.2["code"], "invalid_credentials");
    assert!(unknown.1.is_some(), "a 401 carries WWW-Authenticate");
    assert_eq!(
        unknown, wrong,
        "status, challenge and whole body must not tell the two apart"
    );
}

async fn malformed_email_gets_the_same_401_as_an_unknown_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified("rahim@example.com").await;

    let unknown = answer(app.login("nobody@example.com", PASSWORD).await).await;
    for malformed in ["not-an-email", "rahim@", "", "  "] {
        let got = answer(app.login(malformed, PASSWORD).await).await;
        assert_eq!(got, unknown, "login as {malformed:?}");
    }
}

async fn login_ignores_case_and_surrounding_spaces_in_the_email(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified("rahim@example.com").await;
    for typed in ["RAHIM@Example.COM", "  rahim@example.com ", "Rahim@example.com"] {
        assert_eq!(app.login(typed, PASSWORD).await.status(), 200, "login as {typed:?}");
    }
}

async fn login_without_email_or_password_is_422_naming_each_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let body = expect_problem(
        app.post_json("/api/auth/login", &json!({})).await,
        422,
        "validation_failed",
    )
    .await;
    let errors = field_errors(&body);
    assert!(errors.contains(&("email".into(), "required".into())), "{body}");
    assert!(errors.contains(&("password".into(), "required".into())), "{body}");

    let body = expect_problem(
        app.post_json("/api/auth/login", &json!({ "email": "rahim@example.com" }))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        field_errors(&body),
        vec![("password".to_string(), "required".to_string())]
    );
}

async fn login_with_a_non_string_password_is_422(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = app
        .post_json(
            "/api/auth/login",
            &json!({ "email": "rahim@example.com", "password": 12345678 }),
        )
        .await;
    let body = expect_problem(r, 422, "validation_failed").await;
    assert_eq!(
        field_errors(&body),
        vec![("password".to_string(), "invalid_type".to_string())]
    );
}

async fn successful_login_is_audited_with_ip_and_user_agent(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified("rahim@example.com").await;
    let id = user_id(&app, "rahim@example.com").await;

    let r = login_from_browser(&app, "rahim@example.com", PASSWORD).await;
    assert_eq!(r.status(), 200);

    let events = login_events(&app, id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e.outcome, "success");
    assert_eq!(e.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(e.user_agent.as_deref(), Some(USER_AGENT));
    assert_eq!(e.occurred_at, app.state.now());
}

async fn wrong_password_is_audited_as_a_failure_without_the_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified("rahim@example.com").await;
    let id = user_id(&app, "rahim@example.com").await;

    let r = login_from_browser(&app, "rahim@example.com", "not the right passphrase").await;
    assert_eq!(r.status(), 401);

    let events = login_events(&app, id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e.outcome, "failure");
    assert_eq!(e.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(e.user_agent.as_deref(), Some(USER_AGENT));
    let details: Value = serde_json::from_str(&e.details).unwrap();
    assert_eq!(details["reason"], "invalid_credentials");
    assert!(!e.details.contains("not the right passphrase"), "{}", e.details);
}

async fn login_with_an_unknown_email_is_audited_as_a_failure(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let r = login_from_browser(&app, "nobody@example.com", PASSWORD).await;
    assert_eq!(r.status(), 401);

    let failures = scalar(
        &app,
        &format!(
            "SELECT COUNT(*) FROM audit_events WHERE event_type = 'login' AND outcome = 'failure' \
             AND user_id IS NULL AND ip = '127.0.0.1' AND user_agent = '{USER_AGENT}'"
        ),
    )
    .await;
    assert_eq!(failures, 1);
}

async fn successful_login_sets_last_login(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified("rahim@example.com").await;
    let before = app
        .state
        .store
        .users()
        .by_email("rahim@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before.last_login, None);

    app.advance(chrono::Duration::minutes(3));
    let r = app.login("rahim@example.com", PASSWORD).await;
    assert_eq!(r.status(), 200);
    let tokens = Tokens::from(r.json::<Value>().await.unwrap());

    let me: Value = app.me(&tokens.access).await.json().await.unwrap();
    let last_login: chrono::DateTime<chrono::Utc> = serde_json::from_value(me["last_login"].clone()).unwrap();
    assert_eq!(last_login, app.state.now());
}

async fn failed_login_leaves_last_login_unchanged(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified("rahim@example.com").await;
    let r = app.login("rahim@example.com", "not the right passphrase").await;
    assert_eq!(r.status(), 401);
    let user = app
        .state
        .store
        .users()
        .by_email("rahim@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.last_login, None);
}

both!(
    unknown_email_and_wrong_password_get_identical_answers,
    malformed_email_gets_the_same_401_as_an_unknown_one,
    login_ignores_case_and_surrounding_spaces_in_the_email,
    login_without_email_or_password_is_422_naming_each_field,
    login_with_a_non_string_password_is_422,
    successful_login_is_audited_with_ip_and_user_agent,
    wrong_password_is_audited_as_a_failure_without_the_password,
    login_with_an_unknown_email_is_audited_as_a_failure,
    successful_login_sets_last_login,
    failed_login_leaves_last_login_unchanged,
);
