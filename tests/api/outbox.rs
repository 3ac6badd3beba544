//! The mail outbox: a request that sends mail only queues it, so an SMTP outage never fails the
//! request; the worker retries with backoff (on the injected clock) and deletes a mail once it
//! is delivered.
//!
//! Waiting here is for events (the capture refusing a connection, the worker storing its
//! outcome), never for time to pass: time moves with `app.advance`.

use crate::both;
use crate::common::sql::scalar;
use crate::common::*;
use chrono::Duration;
use gatehouse::mail::worker::Step;
use serde_json::json;

const EMAIL: &str = "rahim@example.com";

/// Mails the worker has given back after `attempts` failed attempts (lease released, error kept).
async fn failed_after(app: &TestApp, attempts: i64) -> i64 {
    let sql = format!(
        "SELECT COUNT(*) FROM mail_outbox \
         WHERE attempts = {attempts} AND leased_until IS NULL AND last_error IS NOT NULL"
    );
    scalar(app, &sql).await
}

/// Registers while the SMTP server is down and waits until the first attempt has failed.
async fn register_while_smtp_is_down(app: &TestApp) {
    app.smtp.set_down(true);
    let r = app.register(&registration(EMAIL)).await;
    assert_eq!(r.status(), 201, "the API answers although mail cannot go out");
    app.state.outbox.wake();
    eventually("the SMTP server to refuse a connection", async || {
        app.smtp.refused_connections() >= 1
    })
    .await;
    eventually("the worker to record the failed attempt", async || {
        failed_after(app, 1).await == 1
    })
    .await;
}

async fn registration_is_accepted_while_smtp_is_down(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    register_while_smtp_is_down(&app).await;

    assert!(app.smtp.messages_to(EMAIL).is_empty(), "nothing delivered while down");
    assert_eq!(app.state.store.outbox().depth().await.unwrap(), 1, "the mail is kept");
}

async fn mail_held_during_an_outage_is_delivered_later_and_its_link_works(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    register_while_smtp_is_down(&app).await;

    app.smtp.set_down(false);
    app.advance(Duration::minutes(5));
    let mail = app.mail_to(EMAIL, 0).await;
    assert!(mail.subject.contains("Confirm your email"), "subject: {}", mail.subject);
    eventually("the delivered mail to leave the outbox", async || {
        app.state.store.outbox().depth().await.unwrap() == 0
    })
    .await;

    let r = app
        .post_json("/api/auth/verify-email", &json!({ "token": verification_token(&mail) }))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.login(EMAIL, PASSWORD).await.status(), 200);
    assert_eq!(app.smtp.messages_to(EMAIL).len(), 1, "delivered once");
}

async fn failed_mail_waits_for_its_backoff(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    register_while_smtp_is_down(&app).await;
    app.smtp.set_down(false);

    // First retry is 30 s after the failure: not before.
    app.advance(Duration::seconds(29));
    assert_eq!(app.worker.step().await.unwrap(), Step::Idle);
    assert!(app.smtp.messages_to(EMAIL).is_empty());

    app.advance(Duration::seconds(1));
    app.mail_to(EMAIL, 0).await;
}

async fn backoff_grows_with_each_failed_attempt(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    register_while_smtp_is_down(&app).await;

    app.advance(Duration::seconds(30));
    app.state.outbox.wake();
    eventually("the second attempt to fail", async || failed_after(&app, 2).await == 1).await;
    app.smtp.set_down(false);

    // The second retry waits 60 s.
    app.advance(Duration::seconds(59));
    assert_eq!(app.worker.step().await.unwrap(), Step::Idle);
    app.advance(Duration::seconds(1));
    app.mail_to(EMAIL, 0).await;
}

async fn delivered_mail_is_deleted_from_the_outbox(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_pending(EMAIL).await;

    eventually("the delivered mail to leave the outbox", async || {
        app.state.store.outbox().depth().await.unwrap() == 0
    })
    .await;
    assert_eq!(app.smtp.messages_to(EMAIL).len(), 1);
}

both!(
    registration_is_accepted_while_smtp_is_down,
    mail_held_during_an_outage_is_delivered_later_and_its_link_works,
    failed_mail_waits_for_its_backoff,
    backoff_grows_with_each_failed_attempt,
    delivered_mail_is_deleted_from_the_outbox,
);
