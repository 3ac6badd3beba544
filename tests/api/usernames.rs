//! Usernames (seed 004): set at registration or with `PATCH /api/auth/me`, unique ignoring
//! case, and usable to sign in in the same field as the email — without revealing which
//! usernames exist.

use crate::both;
use crate::common::*;
use serde_json::{json, Value};

async fn register_verified_with_username(app: &TestApp, email: &str, username: &str) {
    let mut body = registration(email);
    body["username"] = json!(username);
    let r = app.register(&body).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let mail = app.mail_to(email, 0).await;
    let r = app
        .post_json("/api/auth/verify-email", &json!({ "token": verification_token(&mail) }))
        .await;
    assert_eq!(r.status(), 200);
}

async fn patch_me(app: &TestApp, access: &str, body: &Value) -> reqwest::Response {
    app.send(app.client.patch(app.url("/api/auth/me")).bearer_auth(access).json(body))
        .await
}

async fn login_as(app: &TestApp, field: &str, identifier: &str, password: &str) -> reqwest::Response {
    app.post_json("/api/auth/login", &json!({ field: identifier, "password": password }))
        .await
}

async fn a_username_signs_in_in_the_email_field_ignoring_case(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    register_verified_with_username(&app, "rahim@example.com", "Rahim_Uddin").await;
    for (field, identifier) in [
        ("email", "Rahim_Uddin"),
        ("email", "rahim_uddin"),
        ("username", "RAHIM_UDDIN"),
        ("identifier", " rahim_uddin "),
        ("username", "rahim@example.com"),
    ] {
        let r = login_as(&app, field, identifier, PASSWORD).await;
        assert_eq!(r.status(), 200, "{field}={identifier:?}: {}", r.text().await.unwrap());
        let tokens = Tokens::from(r.json::<Value>().await.unwrap());
        let me: Value = app.me(&tokens.access).await.json().await.unwrap();
        assert_eq!(me["email"], "rahim@example.com");
        assert_eq!(me["username"], "Rahim_Uddin", "stored as typed");
    }
}

async fn usernames_are_unique_ignoring_case(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    register_verified_with_username(&app, "rahim@example.com", "rahim").await;
    let mut body = registration("karim@example.com");
    body["username"] = json!("RAHIM");
    expect_problem(app.register(&body).await, 409, "username_taken").await;

    // The same through PATCH /api/auth/me.
    let karim = app.signed_in("karim@example.com").await;
    expect_problem(
        patch_me(&app, &karim.access, &json!({ "username": "Rahim" })).await,
        409,
        "username_taken",
    )
    .await;
    let me: Value = app.me(&karim.access).await.json().await.unwrap();
    assert_eq!(me["username"], Value::Null, "nothing changed");
}

async fn unknown_username_and_wrong_password_answer_alike(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    register_verified_with_username(&app, "rahim@example.com", "rahim_uddin").await;
    let wrong_password = expect_problem(
        login_as(&app, "username", "rahim_uddin", "not the password at all").await,
        401,
        "invalid_credentials",
    )
    .await;
    for identifier in ["karim_uddin", "nobody@example.com", "no", "admin", "01712345678"] {
        let unknown = expect_problem(
            login_as(&app, "username", identifier, "not the password at all").await,
            401,
            "invalid_credentials",
        )
        .await;
        assert_eq!(unknown, wrong_password, "{identifier}");
    }
    // A pending account's username does not leak `email_not_verified` without the password.
    let mut body = registration("pending@example.com");
    body["username"] = json!("pending_user");
    assert_eq!(app.register(&body).await.status(), 201);
    let pending = expect_problem(
        login_as(&app, "username", "pending_user", "not the password at all").await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_eq!(pending, wrong_password);
    expect_problem(
        login_as(&app, "username", "pending_user", PASSWORD).await,
        403,
        "email_not_verified",
    )
    .await;
}

async fn patch_me_sets_changes_and_removes_a_username(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;
    let r = patch_me(&app, &tokens.access, &json!({ "username": "Rahim.Uddin" })).await;
    assert_eq!(r.status(), 200);
    let profile: Value = r.json().await.unwrap();
    assert_eq!(profile["username"], "Rahim.Uddin");
    assert_eq!(profile["email"], "rahim@example.com");
    assert_eq!(login_as(&app, "username", "rahim.uddin", PASSWORD).await.status(), 200);

    // Changing only the case of one's own username is not a clash with oneself.
    let r = patch_me(&app, &tokens.access, &json!({ "username": "rahim.uddin" })).await;
    assert_eq!(r.status(), 200);

    let r = patch_me(&app, &tokens.access, &json!({ "username": null })).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["username"], Value::Null);
    expect_problem(
        login_as(&app, "username", "rahim.uddin", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    // The freed name can be taken by someone else.
    let karim = app.signed_in("karim@example.com").await;
    assert_eq!(
        patch_me(&app, &karim.access, &json!({ "username": "RAHIM.uddin" }))
            .await
            .status(),
        200
    );
}

async fn patch_me_changes_personal_details(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;
    let r = patch_me(
        &app,
        &tokens.access,
        &json!({ "first_name": "Karim", "last_name": "Mia", "date_of_birth": "1990-01-31",
                 "gender": "other", "mobile": "+880 1812-345678" }),
    )
    .await;
    assert_eq!(r.status(), 200);
    let me: Value = app.me(&tokens.access).await.json().await.unwrap();
    assert_eq!(me["first_name"], "Karim");
    assert_eq!(me["last_name"], "Mia");
    assert_eq!(me["date_of_birth"], "1990-01-31");
    assert_eq!(me["gender"], "other");
    assert_eq!(me["mobile"], "+8801812345678");
    // Left-out fields stay; an empty patch changes nothing.
    let r = patch_me(&app, &tokens.access, &json!({})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["first_name"], "Karim");
}

async fn patch_me_lists_every_bad_field_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;
    let body = expect_problem(
        patch_me(
            &app,
            &tokens.access,
            &json!({ "username": "a@b", "first_name": "R2D2", "last_name": null,
                     "date_of_birth": "2999-01-01", "gender": "robot", "mobile": "12345" }),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    let mut fields: Vec<String> = field_errors(&body).into_iter().map(|(f, _)| f).collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "date_of_birth",
            "first_name",
            "gender",
            "last_name",
            "mobile",
            "username"
        ]
    );
    let me: Value = app.me(&tokens.access).await.json().await.unwrap();
    assert_eq!(me["first_name"], "Rahim");
    assert_eq!(me["username"], Value::Null);

    // Fields that are not editable here are named, not silently ignored.
    let body = expect_problem(
        patch_me(&app, &tokens.access, &json!({ "email": "other@example.com" })).await,
        422,
        "validation_failed",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("email"), "{body}");
    // And it needs a token.
    let r = app
        .send(
            app.client
                .patch(app.url("/api/auth/me"))
                .json(&json!({ "username": "x_y_z" })),
        )
        .await;
    expect_problem(r, 401, "missing_token").await;
}

both!(
    a_username_signs_in_in_the_email_field_ignoring_case,
    usernames_are_unique_ignoring_case,
    unknown_username_and_wrong_password_answer_alike,
    patch_me_sets_changes_and_removes_a_username,
    patch_me_changes_personal_details,
    patch_me_lists_every_bad_field_and_changes_nothing
);
