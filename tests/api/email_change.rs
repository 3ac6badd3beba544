//! Moving an account to a new sign-in address: proof of ownership at both ends, notices to the
//! old address, nothing revealed about other accounts, and links to the old address retired.

use crate::both;
use crate::common::social::Kind;
use crate::common::*;
use crate::{mfa_support, social_support};
use chrono::Duration;
use serde_json::{json, Value};

const OLD: &str = "rahim@example.com";
const NEW: &str = "rahim.uddin@example.org";

async fn ask(app: &TestApp, access: &str, body: Value) -> reqwest::Response {
    app.post_json_auth("/api/auth/change-email", access, &body).await
}

async fn ask_for(app: &TestApp, access: &str, new_email: &str) -> reqwest::Response {
    ask(
        app,
        access,
        json!({ "new_email": new_email, "current_password": PASSWORD }),
    )
    .await
}

async fn confirm(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json("/api/auth/confirm-email-change", &json!({ "token": token }))
        .await
}

/// Signs in `OLD`, asks to move to `NEW` and returns the tokens and the link token mailed to `NEW`.
async fn pending_change(app: &TestApp) -> (Tokens, String) {
    let t = app.signed_in(OLD).await;
    let r = ask_for(app, &t.access, NEW).await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let mail = app.mail_to(NEW, 0).await;
    (t, link_token(&mail, "/confirm-email-change"))
}

async fn events(app: &TestApp, email: &str) -> Vec<(String, String)> {
    let user = app.state.store.users().by_email(email).await.unwrap().unwrap();
    let events = app.state.store.audit().for_user(user.id, 100).await.unwrap();
    events.into_iter().map(|e| (e.event_type, e.outcome)).collect()
}

async fn the_link_moves_the_account_and_both_addresses_are_told(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (t, token) = pending_change(&app).await;
    let confirm_mail = app.mail_to(NEW, 0).await;
    assert!(
        confirm_mail.subject.contains("Confirm your new"),
        "{}",
        confirm_mail.subject
    );
    // Mails to the old address: verification, then the notice naming the new address.
    let notice = app.mail_to(OLD, 1).await;
    assert!(notice.subject.contains("about to change"), "{}", notice.subject);
    assert!(notice.text.contains(NEW), "{}", notice.text);

    // Nothing changes until the link is used.
    assert_eq!(app.login(OLD, PASSWORD).await.status(), 200);
    expect_problem(app.login(NEW, PASSWORD).await, 401, "invalid_credentials").await;

    let r = confirm(&app, &token).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    expect_problem(app.login(OLD, PASSWORD).await, 401, "invalid_credentials").await;
    assert_eq!(app.login(NEW, PASSWORD).await.status(), 200);
    let me: Value = app.me(&t.access).await.json().await.unwrap();
    assert_eq!(me["email"], NEW);
    assert_eq!(me["is_email_verified"], true, "{me}");
    let done = app.mail_to(OLD, 2).await;
    assert!(done.subject.contains("was changed"), "{}", done.subject);
    assert!(done.text.contains(NEW), "{}", done.text);

    expect_problem(confirm(&app, &token).await, 400, "token_used").await;
    let seen = events(&app, NEW).await;
    assert!(
        seen.contains(&("email_change_requested".into(), "success".into())),
        "{seen:?}"
    );
    assert!(seen.contains(&("email_changed".into(), "success".into())), "{seen:?}");
}

async fn asking_needs_the_current_password_and_a_new_valid_address(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.signed_in(OLD).await;
    let body = expect_problem(
        ask(&app, &t.access, json!({ "new_email": NEW })).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        field_errors(&body),
        vec![("current_password".into(), "required".into())]
    );

    let wrong = json!({ "new_email": NEW, "current_password": "not the password at all" });
    let body = expect_problem(ask(&app, &t.access, wrong).await, 422, "validation_failed").await;
    assert_eq!(
        field_errors(&body),
        vec![("current_password".into(), "invalid_current_password".into())]
    );
    let body = expect_problem(
        ask_for(&app, &t.access, "RAHIM@Example.com").await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        field_errors(&body),
        vec![("new_email".into(), "email_unchanged".into())]
    );
    let body = expect_problem(ask(&app, &t.access, json!({})).await, 422, "validation_failed").await;
    assert!(
        field_errors(&body).contains(&("new_email".into(), "required".into())),
        "{body}"
    );
    let body = expect_problem(
        ask_for(&app, &t.access, "not-an-address").await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(field_errors(&body)[0].0, "new_email");

    let anonymous = app.send(
        app.client
            .post(app.url("/api/auth/change-email"))
            .json(&json!({ "new_email": NEW, "current_password": PASSWORD })),
    );
    expect_problem(anonymous.await, 401, "missing_token").await;
    // Only the verification mail went out, and the failed password is in the trail.
    assert_eq!(app.smtp.messages_to(NEW).len(), 0);
    let seen = events(&app, OLD).await;
    assert!(
        seen.contains(&("email_change_requested".into(), "failure".into())),
        "{seen:?}"
    );
}

async fn a_taken_address_answers_the_same_and_only_its_owner_hears_of_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified("taken@example.com").await;
    let t = app.signed_in(OLD).await;
    let taken = ask_for(&app, &t.access, "Taken@example.com").await;
    assert_eq!(taken.status(), 202);
    let taken: Value = taken.json().await.unwrap();
    let free = ask_for(&app, &t.access, NEW).await;
    assert_eq!(free.status(), 202);
    let free: Value = free.json().await.unwrap();
    assert_eq!(taken, free, "the answer must not tell taken and free addresses apart");

    // verification, then "someone tried"; no link to that address.
    let tried = app.mail_to("taken@example.com", 1).await;
    assert!(tried.subject.contains("Someone tried"), "{}", tried.subject);
    assert!(tried
        .link_starting_with(&format!("{PUBLIC_URL}/confirm-email-change"))
        .is_none());
    assert_eq!(app.login("taken@example.com", PASSWORD).await.status(), 200);
    assert_eq!(app.login(OLD, PASSWORD).await.status(), 200);
}

async fn a_password_change_or_a_newer_request_cancels_the_link(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (t, first) = pending_change(&app).await;
    assert_eq!(ask_for(&app, &t.access, NEW).await.status(), 202);
    let second = link_token(&app.mail_to(NEW, 1).await, "/confirm-email-change");
    expect_problem(confirm(&app, &first).await, 400, "token_revoked").await;

    let r = mfa_support::change_password(&app, &t.access, "violet tractor sings opera").await;
    assert_eq!(r.status(), 200);
    expect_problem(confirm(&app, &second).await, 400, "token_revoked").await;
    assert_eq!(app.login(OLD, "violet tractor sings opera").await.status(), 200);
}

async fn the_link_expires(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, token) = pending_change(&app).await;
    app.advance(Duration::hours(24) + Duration::seconds(1));
    expect_problem(confirm(&app, &token).await, 400, "token_expired").await;
    expect_problem(confirm(&app, "made-up-token").await, 400, "invalid_token").await;
    assert_eq!(app.login(OLD, PASSWORD).await.status(), 200);
}

async fn links_mailed_to_the_old_address_stop_working(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, token) = pending_change(&app).await;
    let r = app
        .post_json("/api/auth/forgot-password", &json!({ "email": OLD }))
        .await;
    assert_eq!(r.status(), 202);
    // verification, change notice, reset link
    let reset = reset_token(&app.mail_to(OLD, 2).await);
    assert_eq!(confirm(&app, &token).await.status(), 200);
    let r = app
        .post_json(
            "/api/auth/reset-password",
            &json!({ "token": reset, "new_password": "violet tractor sings opera" }),
        )
        .await;
    expect_problem(r, 400, "token_revoked").await;
    assert_eq!(app.login(NEW, PASSWORD).await.status(), 200);
}

async fn an_address_taken_before_the_link_is_used_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, token) = pending_change(&app).await;
    app.register_pending(NEW).await;
    expect_problem(confirm(&app, &token).await, 409, "email_taken").await;
    assert_eq!(app.login(OLD, PASSWORD).await.status(), 200);
}

async fn a_locked_account_keeps_its_address_until_unlocked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, token) = pending_change(&app).await;
    let id = app.state.store.users().by_email(OLD).await.unwrap().unwrap().id;
    let store = &app.state.store;
    store.accounts().lock(id, &[], app.state.now()).await.unwrap();
    expect_problem(confirm(&app, &token).await, 403, "account_disabled").await;
    store.accounts().unlock(id, app.state.now()).await.unwrap();
    assert_eq!(confirm(&app, &token).await.status(), 200);
    assert_eq!(app.login(NEW, PASSWORD).await.status(), 200);
}

async fn the_mailed_page_shows_a_button_and_only_its_post_spends_the_link(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, token) = pending_change(&app).await;
    let page = app.get(&format!("/confirm-email-change?token={token}")).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<form method=\"post\""));
    assert_eq!(app.login(OLD, PASSWORD).await.status(), 200);

    let r = app
        .send(
            app.client
                .post(app.url("/confirm-email-change"))
                .form(&[("token", token.as_str())]),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Sign-in address changed"));
    assert_eq!(app.login(NEW, PASSWORD).await.status(), 200);
}

async fn an_mfa_user_needs_a_recent_second_factor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = mfa_support::totp_user(&app).await;
    app.advance(Duration::minutes(11));
    let r = ask_for(&app, &user.tokens.access, NEW).await;
    expect_problem(r, 403, "mfa_step_up_required").await;
    let code = mfa_support::totp_now(&app, &user.secret);
    let r = mfa_support::step_up(&app, &user.tokens.access, "totp", &code).await;
    assert_eq!(r.status(), 200);
    let stepped: Value = r.json().await.unwrap();
    let r = ask_for(&app, stepped["access_token"].as_str().unwrap(), NEW).await;
    assert_eq!(r.status(), 202);
    assert!(app.mail_to(NEW, 0).await.subject.contains("Confirm your new"));
}

async fn an_account_without_a_password_needs_a_fresh_provider_sign_in(backend: Backend) {
    let (app, _standin) = social_support::spawn(backend, Kind::GitHub).await;
    let code = social_support::sign_in_code(&app, Kind::GitHub).await;
    let r = app
        .post_json("/api/auth/oauth/exchange", &json!({ "code": code }))
        .await;
    let tokens: Value = r.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    app.advance(Duration::minutes(11));
    let r = ask(&app, access, json!({ "new_email": NEW })).await;
    expect_problem(r, 403, "reauthentication_required").await;

    let code = social_support::sign_in_code(&app, Kind::GitHub).await;
    let r = app
        .post_json("/api/auth/oauth/exchange", &json!({ "code": code }))
        .await;
    let fresh: Value = r.json().await.unwrap();
    let r = ask(
        &app,
        fresh["access_token"].as_str().unwrap(),
        json!({ "new_email": NEW }),
    )
    .await;
    assert_eq!(r.status(), 202);
    let token = link_token(&app.mail_to(NEW, 0).await, "/confirm-email-change");
    assert_eq!(confirm(&app, &token).await.status(), 200);
    // The provider identity still signs in, now to the account at the new address.
    let profile = social_support::signed_in_profile(&app, Kind::GitHub).await;
    assert_eq!(profile["email"], NEW);
}

both!(
    the_link_moves_the_account_and_both_addresses_are_told,
    asking_needs_the_current_password_and_a_new_valid_address,
    a_taken_address_answers_the_same_and_only_its_owner_hears_of_it,
    a_password_change_or_a_newer_request_cancels_the_link,
    the_link_expires,
    links_mailed_to_the_old_address_stop_working,
    an_address_taken_before_the_link_is_used_is_refused,
    a_locked_account_keeps_its_address_until_unlocked,
    the_mailed_page_shows_a_button_and_only_its_post_spends_the_link,
    an_mfa_user_needs_a_recent_second_factor,
    an_account_without_a_password_needs_a_fresh_provider_sign_in,
);
