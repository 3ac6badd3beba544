//! POST /api/auth/register: what a valid registration produces, and how a bad request body is
//! answered. Each field's rules are in `fields`, the password policy in `password`, duplicate
//! accounts in `duplicates`.

mod duplicates;
mod fields;
mod password;

use crate::both;
use crate::common::*;
use serde_json::{json, Value};

/// `registration(email)` with `field` replaced by `value`.
pub(crate) fn with(email: &str, field: &str, value: impl Into<Value>) -> Value {
    let mut body = registration(email);
    body[field] = value.into();
    body
}

/// Registers `body` and asserts the 201.
pub(crate) async fn accepted(app: &TestApp, body: &Value) {
    let r = app.register(body).await;
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, 201, "registration of {body} was refused: {text}");
}

/// Registers `body` and asserts one 422 whose only field error is `field` with `code`.
pub(crate) async fn refused(app: &TestApp, body: &Value, field: &str, code: &str) -> Value {
    let problem = expect_problem(app.register(body).await, 422, "validation_failed").await;
    assert_eq!(
        field_errors(&problem),
        vec![(field.to_string(), code.to_string())],
        "for {body}"
    );
    problem
}

/// Registers `body`, confirms the address with the mailed link, signs in with the body's
/// password and returns GET /api/auth/me: what was stored, as the user sees it.
pub(crate) async fn profile_after_signup(app: &TestApp, body: &Value) -> Value {
    let email = body["email"].as_str().unwrap().trim();
    let password = body["password"].as_str().unwrap();
    let before = app.smtp.messages_to(email).len();
    accepted(app, body).await;
    let token = verification_token(&app.mail_to(email, before).await);
    let r = app
        .post_json("/api/auth/verify-email", &json!({ "token": token }))
        .await;
    assert_eq!(r.status(), 200, "verification failed: {}", r.text().await.unwrap());
    let r = app.login(email, password).await;
    assert_eq!(r.status(), 200, "login failed: {}", r.text().await.unwrap());
    let tokens = Tokens::from(r.json::<Value>().await.unwrap());
    let r = app.me(&tokens.access).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn valid_registration_is_accepted_and_mails_a_link_and_a_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = app.register(&registration("rahim@example.com")).await;
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("Check your inbox"), "{body}");

    let mail = app.mail_to("rahim@example.com", 0).await;
    assert_eq!(mail.to, vec!["rahim@example.com".to_string()]);
    assert!(mail.subject.contains("Confirm your email"), "subject: {}", mail.subject);
    assert!(mail.text.contains("Hello Rahim"), "{}", mail.text);
    let link = mail
        .link_starting_with(&format!("{PUBLIC_URL}/verify-email?token="))
        .unwrap_or_else(|| panic!("no link under {PUBLIC_URL} in {}", mail.text));
    assert!(
        link.len() > format!("{PUBLIC_URL}/verify-email?token=").len() + 20,
        "{link}"
    );
    let code = mail
        .six_digit_code()
        .unwrap_or_else(|| panic!("no code in {}", mail.text));
    assert_eq!(code.len(), 6);
    let html = mail.html.as_deref().expect("an HTML part");
    assert!(html.contains(&link), "the HTML part lacks the link: {html}");
    assert!(html.contains(&code), "the HTML part lacks the code: {html}");
    assert!(!mail.raw.contains(PASSWORD), "the mail contains the password");
    assert_eq!(app.smtp.messages().len(), 1, "exactly one mail is sent");
}

async fn mail_links_ignore_the_host_the_request_names(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let request = app
        .client
        .post(app.url("/api/auth/register"))
        .header("host", "evil.test")
        .header("x-forwarded-host", "evil.test")
        .header("x-forwarded-proto", "https")
        .header("forwarded", "host=evil.test;proto=https")
        .json(&registration("rahim@example.com"));
    assert_eq!(app.send(request).await.status(), 201);
    let mail = app.mail_to("rahim@example.com", 0).await;
    assert!(
        mail.link_starting_with(&format!("{PUBLIC_URL}/verify-email?token="))
            .is_some(),
        "{}",
        mail.text
    );
    assert!(!mail.raw.contains("evil.test"), "{}", mail.raw);
}

async fn registered_details_are_stored_as_given(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut body = registration("rahim@example.com");
    body["username"] = json!("Rahim_Uddin");
    let me = profile_after_signup(&app, &body).await;
    assert_eq!(me["email"], "rahim@example.com");
    assert_eq!(me["first_name"], "Rahim");
    assert_eq!(me["last_name"], "Uddin");
    assert_eq!(me["date_of_birth"], "1998-04-17");
    assert_eq!(me["gender"], "male");
    assert_eq!(me["mobile"], "+8801712345678");
    assert_eq!(me["username"], "Rahim_Uddin");
    assert_eq!(me["role"], "user");
    assert_eq!(me["is_email_verified"], true);
}

async fn every_invalid_field_is_listed_in_one_answer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = json!({
        "first_name": "Rahim3",
        "last_name": "<b>",
        "date_of_birth": "2001-02-30",
        "gender": "robot",
        "email": "not-an-email",
        "mobile": "01212345678",
        "password": "short",
        "username": "a",
    });
    let problem = expect_problem(app.register(&body).await, 422, "validation_failed").await;
    let mut errors = field_errors(&problem);
    errors.sort();
    let expected: Vec<(String, String)> = [
        ("date_of_birth", "invalid_date"),
        ("email", "invalid_format"),
        ("first_name", "invalid_characters"),
        ("gender", "invalid_choice"),
        ("last_name", "invalid_characters"),
        ("mobile", "invalid_mobile"),
        ("password", "too_short"),
        ("username", "too_short"),
    ]
    .iter()
    .map(|(f, c)| (f.to_string(), c.to_string()))
    .collect();
    assert_eq!(errors, expected);
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("first_name: only letters are allowed"), "{detail}");
    for error in problem["errors"].as_array().unwrap() {
        assert!(!error["message"].as_str().unwrap().is_empty(), "{error}");
    }
    assert!(app.smtp.messages().is_empty());
}

async fn missing_fields_are_required(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let problem = expect_problem(app.register(&json!({})).await, 422, "validation_failed").await;
    let mut errors = field_errors(&problem);
    errors.sort();
    let expected: Vec<(String, String)> = [
        "date_of_birth",
        "email",
        "first_name",
        "gender",
        "last_name",
        "mobile",
        "password",
    ]
    .iter()
    .map(|f| (f.to_string(), "required".to_string()))
    .collect();
    assert_eq!(errors, expected, "username is optional, the rest required");

    let mut body = registration("rahim@example.com");
    body["last_name"] = json!("   ");
    body.as_object_mut().unwrap().remove("gender");
    let problem = expect_problem(app.register(&body).await, 422, "validation_failed").await;
    let mut errors = field_errors(&problem);
    errors.sort();
    assert_eq!(
        errors,
        vec![
            ("gender".to_string(), "required".to_string()),
            ("last_name".to_string(), "required".to_string())
        ]
    );
}

async fn a_number_where_a_string_belongs_names_the_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for field in ["mobile", "first_name"] {
        let body = with("rahim@example.com", field, 1712345678);
        let problem = expect_problem(app.register(&body).await, 422, "validation_failed").await;
        assert_eq!(
            field_errors(&problem),
            vec![(field.to_string(), "invalid_type".to_string())]
        );
    }
}

async fn malformed_json_is_a_bad_request(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for raw in [
        r#"{"first_name": "Rahim", "#,
        "not json at all",
        r#"{"first_name": "Rahim"} trailing"#,
    ] {
        let r = app
            .send(
                app.client
                    .post(app.url("/api/auth/register"))
                    .header("content-type", "application/json")
                    .body(raw),
            )
            .await;
        expect_problem(r, 400, "malformed_json").await;
    }
}

async fn a_body_that_is_not_declared_json_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let json_text = registration("rahim@example.com").to_string();
    let no_type = app.client.post(app.url("/api/auth/register")).body(json_text.clone());
    expect_problem(app.send(no_type).await, 415, "unsupported_media_type").await;
    let form = app
        .client
        .post(app.url("/api/auth/register"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("first_name=Rahim");
    expect_problem(app.send(form).await, 415, "unsupported_media_type").await;
    assert!(app.smtp.messages().is_empty());
    expect_problem(
        app.login("rahim@example.com", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
}

async fn extra_fields_cannot_grant_a_role_or_skip_verification(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut body = registration("rahim@example.com");
    for (field, value) in [
        ("role", json!("admin")),
        ("is_email_verified", json!(true)),
        ("email_verified_at", json!("2020-01-01T00:00:00Z")),
        ("is_active", json!(true)),
        ("mfa_enabled", json!(true)),
        ("id", json!("00000000-0000-0000-0000-000000000001")),
    ] {
        body[field] = value;
    }
    accepted(&app, &body).await;
    let mail = app.mail_to("rahim@example.com", 0).await;
    expect_problem(
        app.login("rahim@example.com", PASSWORD).await,
        403,
        "email_not_verified",
    )
    .await;
    let token = verification_token(&mail);
    let r = app
        .post_json("/api/auth/verify-email", &json!({ "token": token }))
        .await;
    assert_eq!(r.status(), 200);
    let tokens = Tokens::from(
        app.login("rahim@example.com", PASSWORD)
            .await
            .json::<Value>()
            .await
            .unwrap(),
    );
    let me: Value = app.me(&tokens.access).await.json().await.unwrap();
    assert_eq!(me["role"], "user");
    assert_eq!(me["mfa_enabled"], false);
    assert_ne!(me["id"], "00000000-0000-0000-0000-000000000001");
}

async fn a_refused_password_is_never_echoed_back(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for password in ["Zq7", "abcabcabcabc", "password123", "violet rahim tractor 42"] {
        let r = app.register(&with("rahim@example.com", "password", password)).await;
        assert_eq!(r.status(), 422);
        let text = r.text().await.unwrap();
        assert!(!text.contains(password), "{password:?} is in {text}");
    }
}

both!(
    valid_registration_is_accepted_and_mails_a_link_and_a_code,
    mail_links_ignore_the_host_the_request_names,
    registered_details_are_stored_as_given,
    every_invalid_field_is_listed_in_one_answer,
    missing_fields_are_required,
    a_number_where_a_string_belongs_names_the_field,
    malformed_json_is_a_bad_request,
    a_body_that_is_not_declared_json_is_refused,
    extra_fields_cannot_grant_a_role_or_skip_verification,
    a_refused_password_is_never_echoed_back,
);
