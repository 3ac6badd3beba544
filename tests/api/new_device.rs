//! Mail on a sign-in from a device none of the user's recent sessions came from.

use crate::both;
use crate::common::*;
use serde_json::json;

const EMAIL: &str = "rahim@example.com";
const CHROME_120: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
const CHROME_121: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.6167.85 Safari/537.36";

async fn login_from(app: &TestApp, user_agent: &str) {
    let r = app
        .send(
            app.client
                .post(app.url("/api/auth/login"))
                .header("user-agent", user_agent)
                .json(&json!({ "email": EMAIL, "password": PASSWORD })),
        )
        .await;
    assert_eq!(r.status(), 200);
}

/// Queues a password-reset mail: a marker that shows which mails came before it.
async fn reset_mail_marker(app: &TestApp) {
    let r = app
        .post_json("/api/auth/forgot-password", &json!({ "email": EMAIL }))
        .await;
    assert_eq!(r.status(), 202);
}

async fn a_new_browser_is_announced_once_and_known_ones_never(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // First sign-in ever, then again from the same (unnamed) client: nothing to announce.
    app.signed_in(EMAIL).await;
    assert_eq!(app.login(EMAIL, PASSWORD).await.status(), 200);

    login_from(&app, CHROME_120).await;
    // Mails: verification, then the alert (an alert for the earlier sign-ins would come first).
    let alert = app.mail_to(EMAIL, 1).await;
    assert!(alert.subject.contains("New sign-in"), "{}", alert.subject);
    assert!(alert.text.contains("Chrome on Windows"), "{}", alert.text);
    assert!(alert.text.contains("127.0.0.1"), "{}", alert.text);
    assert!(alert.text.contains("password"), "{}", alert.text);

    // The same browser after an update, and the same browser again: known devices.
    login_from(&app, CHROME_121).await;
    login_from(&app, CHROME_120).await;
    reset_mail_marker(&app).await;
    let next = app.mail_to(EMAIL, 2).await;
    assert!(
        next.subject.contains("Reset"),
        "expected the reset mail, got {}",
        next.subject
    );

    login_from(&app, "PhoneApp/2.0 (iOS 17)").await;
    let app_alert = app.mail_to(EMAIL, 3).await;
    assert!(app_alert.text.contains("PhoneApp"), "{}", app_alert.text);
}

async fn alerts_can_be_switched_off(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c| c.new_device_alerts = false).await;
    app.signed_in(EMAIL).await;
    login_from(&app, CHROME_120).await;
    reset_mail_marker(&app).await;
    let next = app.mail_to(EMAIL, 1).await;
    assert!(
        next.subject.contains("Reset"),
        "expected the reset mail, got {}",
        next.subject
    );
}

both!(
    a_new_browser_is_announced_once_and_known_ones_never,
    alerts_can_be_switched_off,
);
