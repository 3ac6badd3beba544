//! Mail through the HTTP APIs of Amazon SES and SendGrid, and failover between providers, all
//! against stand-ins that speak the real protocols (see `common::mail_apis`): the SES one
//! verifies each request's SigV4 signature with botocore.
//!
//! Outages are the stand-ins answering 503 (or, for SMTP, refusing the connection); time moves
//! with `app.advance`, never by sleeping.

use crate::admin_support::admin_get;
use crate::both;
use crate::common::mail_apis::*;
use crate::common::sql::scalar;
use crate::common::*;
use chrono::Duration;
use gatehouse::config::{AwsCredentialSource, MailProviderKind, SendGridSettings, SesSettings};
use gatehouse::mail::worker::Step;
use secrecy::SecretString;
use serde_json::{json, Value};

fn ses_settings(ses: &SesStandIn, secret: &str) -> SesSettings {
    SesSettings {
        region: AWS_REGION.into(),
        endpoint: url::Url::parse(&ses.url()).unwrap(),
        configuration_set: Some("gatehouse-test".into()),
        credentials: AwsCredentialSource::Environment {
            access_key_id: AWS_ACCESS_KEY_ID.into(),
            secret_access_key: SecretString::from(secret),
            session_token: None,
        },
    }
}

fn sendgrid_settings(sendgrid: &SendGridStandIn, key: &str) -> SendGridSettings {
    SendGridSettings {
        api_key: SecretString::from(key),
        api_url: url::Url::parse(&sendgrid.url()).unwrap(),
    }
}

/// The verification link's token in a mail an API received.
fn token_in(text: &str) -> String {
    let start = text.find("/verify-email?token=").expect("a verification link") + "/verify-email?token=".len();
    text[start..]
        .split(|c: char| c.is_whitespace())
        .next()
        .unwrap()
        .to_string()
}

/// Registers `email`, confirms it by the link SendGrid received, gives it `role`, signs it in:
/// the access token.
async fn signed_in_through_sendgrid(
    app: &TestApp,
    sendgrid: &SendGridStandIn,
    email: &str,
    role: Option<&str>,
) -> String {
    register(app, email).await;
    eventually("the verification mail", async || {
        sendgrid.messages().iter().any(|m| m.to == email)
    })
    .await;
    let mail = sendgrid.messages().into_iter().find(|m| m.to == email).unwrap();
    let r = app
        .post_json("/api/auth/verify-email", &json!({ "token": token_in(&mail.text) }))
        .await;
    assert_eq!(r.status(), 200);
    if let Some(role) = role {
        gatehouse::auth::admin::create_admin(
            app.state.store.as_ref(),
            &app.state.config,
            app.state.clock.as_ref(),
            email,
            role,
            None,
        )
        .await
        .unwrap();
    }
    let r = app.login(email, PASSWORD).await;
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn register(app: &TestApp, email: &str) {
    let r = app.register(&registration(email)).await;
    assert_eq!(r.status(), 201, "registration of {email}");
}

async fn ses_delivers_a_signed_mail_with_both_parts(backend: Backend) {
    let ses = SesStandIn::start().await;
    let settings = ses_settings(&ses, AWS_SECRET_ACCESS_KEY);
    let app = TestApp::spawn_configured(backend, move |c| {
        c.mail.providers = vec![MailProviderKind::Ses];
        c.mail.ses = Some(settings);
        c.mail_from = "গেটহাউস <no-reply@gatehouse.test>".into();
    })
    .await;
    register(&app, "rahim@example.com").await;
    eventually("SES to accept the mail", async || ses.messages().await.len() == 1).await;

    let mail = &ses.messages().await[0];
    assert_eq!(mail.to, "rahim@example.com");
    assert!(mail.from.starts_with("=?UTF-8?B?") && mail.from.ends_with("<no-reply@gatehouse.test>"));
    assert!(mail.subject.contains("Confirm your email"), "{}", mail.subject);
    assert!(mail.html.contains("<") && mail.text.contains("/verify-email?token="));
    let r = app
        .post_json("/api/auth/verify-email", &json!({ "token": token_in(&mail.text) }))
        .await;
    assert_eq!(r.status(), 200, "the link SES carried works");
    assert!(app.smtp.messages_to("rahim@example.com").is_empty());
}

async fn sendgrid_delivers_with_its_key(backend: Backend) {
    let sendgrid = SendGridStandIn::start().await;
    let settings = sendgrid_settings(&sendgrid, SENDGRID_KEY);
    let app = TestApp::spawn_configured(backend, move |c| {
        c.mail.providers = vec![MailProviderKind::SendGrid];
        c.mail.sendgrid = Some(settings);
    })
    .await;
    register(&app, "karim@example.com").await;
    eventually("SendGrid to accept the mail", async || sendgrid.messages().len() == 1).await;

    let mail = &sendgrid.messages()[0];
    assert_eq!(
        (mail.to.as_str(), mail.from.as_str()),
        ("karim@example.com", "no-reply@gatehouse.test")
    );
    assert!(mail.text.contains("/verify-email?token=") && mail.html.contains("verify-email"));
    eventually("the outbox to empty", async || {
        app.state.store.outbox().depth().await.unwrap() == 0
    })
    .await;
}

async fn a_refused_signature_sends_the_mail_to_the_next_provider(backend: Backend) {
    let ses = SesStandIn::start().await;
    let settings = ses_settings(&ses, "not-the-secret");
    let app = TestApp::spawn_configured(backend, move |c| {
        c.mail.providers = vec![MailProviderKind::Ses, MailProviderKind::Smtp];
        c.mail.ses = Some(settings);
    })
    .await;
    register(&app, "nadia@example.com").await;
    app.mail_to("nadia@example.com", 0).await;

    assert_eq!(ses.requests().await, 1, "SES was asked first");
    assert!(ses.messages().await.is_empty(), "botocore refused the wrong signature");
    let ready: Value = app.get("/ready").await.json().await.unwrap();
    assert_eq!(ready["mail_providers"][0]["name"], "ses");
    assert_eq!(ready["mail_providers"][0]["status"], "failing");
    assert_eq!(ready["mail_providers"][1]["name"], "smtp");
    assert_eq!(ready["mail_providers"][1]["status"], "usable");
}

async fn while_the_first_provider_is_down_every_mail_goes_through_the_second_once(backend: Backend) {
    let ses = SesStandIn::start().await;
    let settings = ses_settings(&ses, AWS_SECRET_ACCESS_KEY);
    let app = TestApp::spawn_configured(backend, move |c| {
        c.mail.providers = vec![MailProviderKind::Ses, MailProviderKind::Smtp];
        c.mail.ses = Some(settings);
    })
    .await;
    ses.set_down(true).await;
    let addresses: Vec<String> = (0..4).map(|i| format!("user{i}@example.com")).collect();
    for a in &addresses {
        register(&app, a).await;
    }
    for a in &addresses {
        app.mail_to(a, 0).await;
    }
    assert_eq!(
        ses.requests().await,
        1,
        "after its first failure SES is passed over, not waited for"
    );

    // SES is back; once its cooldown is over it gets mail again.
    ses.set_down(false).await;
    app.advance(Duration::seconds(31));
    register(&app, "later@example.com").await;
    eventually("SES to take mail again", async || ses.messages().await.len() == 1).await;
    assert_eq!(ses.messages().await[0].to, "later@example.com");

    eventually("the outbox to empty", async || {
        app.state.store.outbox().depth().await.unwrap() == 0
    })
    .await;
    for a in &addresses {
        assert_eq!(app.smtp.messages_to(a).len(), 1, "{a} got its mail once");
    }
    assert!(app.smtp.messages_to("later@example.com").is_empty(), "not sent twice");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(r#"gatehouse_mail_attempts_total{provider="ses",outcome="failed"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"gatehouse_mail_attempts_total{provider="smtp",outcome="accepted"} 4"#));
    assert!(metrics.contains(r#"gatehouse_mail_send_duration_seconds_count{provider="ses"} 2"#));
}

async fn when_every_provider_is_down_mail_waits_and_all_of_it_arrives_after(backend: Backend) {
    let sendgrid = SendGridStandIn::start().await;
    let settings = sendgrid_settings(&sendgrid, SENDGRID_KEY);
    let app = TestApp::spawn_configured(backend, move |c| {
        c.mail.providers = vec![MailProviderKind::SendGrid, MailProviderKind::Smtp];
        c.mail.sendgrid = Some(settings);
    })
    .await;
    sendgrid.set_down(true);
    app.smtp.set_down(true);
    let addresses: Vec<String> = (0..3).map(|i| format!("wait{i}@example.com")).collect();
    for a in &addresses {
        register(&app, a).await;
    }
    eventually("each mail to have been tried once", async || {
        scalar(
            &app,
            "SELECT COUNT(*) FROM mail_outbox WHERE attempts >= 1 AND leased_until IS NULL",
        )
        .await
            == 3
    })
    .await;
    assert_eq!(app.state.store.outbox().depth().await.unwrap(), 3, "nothing lost");
    assert!(sendgrid.messages().is_empty());

    sendgrid.set_down(false);
    app.smtp.set_down(false);
    app.advance(Duration::minutes(5));
    app.state.outbox.wake();
    eventually("all mail to arrive", async || sendgrid.messages().len() == 3).await;
    eventually("the outbox to empty", async || {
        app.state.store.outbox().depth().await.unwrap() == 0
    })
    .await;
    let mut got: Vec<String> = sendgrid.messages().iter().map(|m| m.to.clone()).collect();
    got.sort();
    assert_eq!(got, addresses, "each mail once, none lost");
    for a in &addresses {
        assert!(app.smtp.messages_to(a).is_empty(), "{a}: not sent twice");
    }
}

async fn a_permanent_refusal_marks_the_mail_failed_with_the_reason(backend: Backend) {
    let sendgrid = SendGridStandIn::start().await;
    let settings = sendgrid_settings(&sendgrid, SENDGRID_KEY);
    let app = TestApp::spawn_configured(backend, move |c| {
        c.mail.providers = vec![MailProviderKind::SendGrid, MailProviderKind::Smtp];
        c.mail.sendgrid = Some(settings);
    })
    .await;
    register(&app, "bounce@example.com").await;
    eventually("the refusal to be stored", async || {
        scalar(&app, "SELECT COUNT(*) FROM mail_outbox WHERE failed_at IS NOT NULL").await == 1
    })
    .await;

    // No retry, and no second provider: it would refuse the same address.
    app.advance(Duration::hours(2));
    assert_eq!(app.worker.step().await.unwrap(), Step::Idle);
    assert_eq!(sendgrid.requests(), 1);
    assert!(app.smtp.messages_to("bounce@example.com").is_empty());
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM mail_outbox WHERE text_body = '' AND html_body = ''"
        )
        .await,
        1,
        "the bodies (a live link) are not kept"
    );

    let admin = signed_in_through_sendgrid(&app, &sendgrid, "admin@example.com", Some("admin")).await;
    let r = admin_get(&app, "/api/admin/mail/failed", &admin).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["failed"], 1);
    assert_eq!(body["items"][0]["recipient"], "bounce@example.com");
    let reason = body["items"][0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("sendgrid: 400") && reason.contains("Does not contain a valid address."),
        "{reason}"
    );
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("gatehouse_outbox_failed 1"), "{metrics}");
    let user = signed_in_through_sendgrid(&app, &sendgrid, "plain@example.com", None).await;
    let r = admin_get(&app, "/api/admin/mail/failed", &user).await;
    assert_eq!(r.status(), 403, "the list names users: it needs users:read");
}

async fn a_wrong_sendgrid_key_is_not_a_bounce(backend: Backend) {
    let sendgrid = SendGridStandIn::start().await;
    let settings = sendgrid_settings(&sendgrid, "SG.revoked");
    let app = TestApp::spawn_configured(backend, move |c| {
        c.mail.providers = vec![MailProviderKind::SendGrid];
        c.mail.sendgrid = Some(settings);
    })
    .await;
    register(&app, "farhana@example.com").await;
    eventually("the attempt to be given back", async || {
        scalar(
            &app,
            "SELECT COUNT(*) FROM mail_outbox WHERE attempts = 1 AND leased_until IS NULL",
        )
        .await
            == 1
    })
    .await;
    let error: String = sqlx_error(&app).await;
    assert!(
        error.contains("credentials refused") && error.contains("SENDGRID_API_KEY"),
        "{error}"
    );
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM mail_outbox WHERE failed_at IS NULL").await,
        1,
        "kept for a retry once the key is fixed"
    );
}

/// The outbox's one row's `last_error`.
async fn sqlx_error(app: &TestApp) -> String {
    crate::common::sql::text(app, "SELECT last_error FROM mail_outbox").await
}

both!(
    ses_delivers_a_signed_mail_with_both_parts,
    sendgrid_delivers_with_its_key,
    a_refused_signature_sends_the_mail_to_the_next_provider,
    while_the_first_provider_is_down_every_mail_goes_through_the_second_once,
    when_every_provider_is_down_mail_waits_and_all_of_it_arrives_after,
    a_permanent_refusal_marks_the_mail_failed_with_the_reason,
    a_wrong_sendgrid_key_is_not_a_bounce,
);
