#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use sentry::protocol::{Context, Exception, Map, Request, User};

const JWT: &str = "eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLWJ5dGVz";
const REFRESH: &str = "q3Vb2mXr8kLpZt6YwN1sHc0dEfGhJiKoMuPvRyTzAa4";
const REQUEST_ID: &str = "5b0f0c6e-7d1a-4c55-9a33-2f8e9d4c1b20";

#[test]
fn credentials_in_free_text_are_replaced() {
    for (text, secret) in [
        (format!("authorization: Bearer {JWT}"), JWT),
        (format!("sent token {JWT} twice"), JWT),
        (format!("refresh_token={REFRESH}&x=1"), REFRESH),
        (format!("opaque {REFRESH} in a message"), REFRESH),
        (
            r#"{"email":"a@b.co","password":"hunter2 hunter2"}"#.to_string(),
            "hunter2",
        ),
        ("password=hunter2".into(), "hunter2"),
        ("code: 493021".into(), "493021"),
        ("otp=493021".into(), "493021"),
        (
            "Cookie: gatehouse_refresh=abc.def; gatehouse_csrf=xyz".into(),
            "abc.def",
        ),
        ("could not deliver to rahim@example.com".into(), "rahim@example.com"),
        ("basic dXNlcjpwYXNz".into(), "dXNlcjpwYXNz"),
    ] {
        let scrubbed = scrub_text(&text);
        assert!(!scrubbed.contains(secret), "{text:?} → {scrubbed:?}");
        assert!(
            scrubbed.contains(FILTERED) || scrubbed.contains("[email]"),
            "{scrubbed}"
        );
    }
}

#[test]
fn what_an_operator_needs_is_kept() {
    for text in [
        r#"error returned from database: no such table: users"#.to_string(),
        format!("request {REQUEST_ID} failed"),
        "status=500 method=POST route=/api/auth/login".into(),
        "pool timed out while waiting for an open connection".into(),
    ] {
        assert_eq!(scrub_text(&text), text);
    }
}

#[test]
fn secret_names_are_recognised() {
    for key in [
        "password",
        "new_password",
        "refresh_token",
        "X-CSRF-Token",
        "authorization",
        "Cookie",
        "code",
        "mfa_code",
        "recovery_code",
        "api_key",
        "client_secret",
        "html",
        "text",
    ] {
        assert!(is_sensitive_key(key), "{key}");
    }
    for key in [
        "method",
        "route",
        "request_id",
        "status_code",
        "error",
        "message",
        "user_id",
    ] {
        assert!(!is_sensitive_key(key), "{key}");
    }
}

fn event_full_of_secrets() -> Event<'static> {
    let mut headers = Map::new();
    for (name, value) in [
        ("authorization", format!("Bearer {JWT}")),
        ("cookie", format!("gatehouse_refresh={REFRESH}")),
        ("x-csrf-token", "csrf-secret-value".to_string()),
        ("user-agent", "curl/8.5".to_string()),
        ("x-request-id", REQUEST_ID.to_string()),
    ] {
        headers.insert(name.to_string(), value);
    }
    let mut extra = Map::new();
    extra.insert("password".into(), "hunter2 hunter2".into());
    extra.insert("route".into(), "/api/auth/login".into());
    let mut fields = Map::new();
    fields.insert("code".into(), 493021.into());
    fields.insert("error".into(), format!("token {REFRESH} was refused").into());
    let mut crumb_data = Map::new();
    crumb_data.insert("html_body".into(), "<a href=\"https://x/reset?token=abc\">".into());
    let mut event = Event {
        message: Some(format!("login failed for rahim@example.com with {JWT}")),
        request: Some(Request {
            url: Some(
                "https://auth.example.com/api/auth/login?token=reset-token-value&page=2"
                    .parse()
                    .unwrap(),
            ),
            method: Some("POST".into()),
            data: Some(r#"{"password":"hunter2 hunter2"}"#.into()),
            query_string: Some("token=reset-token-value".into()),
            cookies: Some(format!("gatehouse_refresh={REFRESH}")),
            headers,
            ..Default::default()
        }),
        user: Some(User {
            id: Some("42".into()),
            email: Some("rahim@example.com".into()),
            ..Default::default()
        }),
        extra,
        ..Default::default()
    };
    event.tags.insert("request_id".into(), REQUEST_ID.into());
    event.tags.insert("session_token".into(), REFRESH.into());
    event
        .contexts
        .insert("Rust Tracing Fields".into(), Context::Other(fields));
    event.exception.values.push(Exception {
        ty: "Error".into(),
        value: Some(format!("password=hunter2 and {REFRESH}")),
        ..Default::default()
    });
    event.breadcrumbs.values.push(Breadcrumb {
        message: Some(format!("refresh rotated {REFRESH}")),
        data: crumb_data,
        ..Default::default()
    });
    event
}

#[test]
fn an_event_leaves_with_no_secret_in_it() {
    let event = scrub_event(event_full_of_secrets()).expect("events are kept, not dropped");
    let sent = serde_json::to_string(&event).unwrap();
    for secret in [
        JWT,
        REFRESH,
        "hunter2",
        "csrf-secret-value",
        "reset-token-value",
        "493021",
        "rahim@example.com",
        "token=abc",
    ] {
        assert!(!sent.contains(secret), "{secret} in {sent}");
    }
    let request = event.request.as_ref().unwrap();
    assert_eq!(request.headers["user-agent"], "curl/8.5");
    assert_eq!(request.headers["x-request-id"], REQUEST_ID);
    assert_eq!(request.headers["authorization"], FILTERED);
    assert_eq!(request.url.as_ref().unwrap().path(), "/api/auth/login");
    assert_eq!(
        request.url.as_ref().unwrap().query(),
        Some("token=[Filtered]&page=[Filtered]")
    );
    assert!(request.data.is_none() && request.cookies.is_none());
    assert_eq!(event.tags["request_id"], REQUEST_ID);
    assert_eq!(event.extra["route"], "/api/auth/login");
    assert_eq!(event.user.as_ref().unwrap().id.as_deref(), Some("42"));
}
