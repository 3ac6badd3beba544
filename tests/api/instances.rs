//! Two instances on one database (production behind a load balancer): tokens, grace-window
//! retries, concurrent refreshes, logout and mail delivery must not depend on which instance
//! a request reaches.

use crate::both;
use crate::common::instances::Instance;
use crate::common::*;
use gatehouse::mail::Rendered;
use serde_json::{json, Value};

async fn refresh_on(app: &TestApp, on: &Instance, refresh_token: &str) -> reqwest::Response {
    app.send(
        app.client
            .post(on.url("/api/auth/refresh"))
            .json(&json!({ "refresh_token": refresh_token })),
    )
    .await
}

async fn me_on(app: &TestApp, on: &Instance, access: &str) -> reqwest::Response {
    app.send(app.client.get(on.url("/api/auth/me")).bearer_auth(access))
        .await
}

async fn pair(r: reqwest::Response) -> Tokens {
    assert_eq!(r.status(), 200, "refresh failed: {}", r.text().await.unwrap());
    Tokens::from(r.json::<Value>().await.unwrap())
}

async fn tokens_from_one_instance_work_on_another(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let other = app.second_instance().await;
    let tokens = app.signed_in("rahim@example.com").await;

    assert_eq!(me_on(&app, &other, &tokens.access).await.status(), 200);
    let fresh = pair(refresh_on(&app, &other, &tokens.refresh).await).await;
    assert_eq!(app.me(&fresh.access).await.status(), 200);
}

async fn retry_on_another_instance_inside_the_grace_window_gets_the_same_pair(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let other = app.second_instance().await;
    let tokens = app.signed_in("rahim@example.com").await;

    let first = pair(app.refresh(&tokens.refresh).await).await;
    app.advance(chrono::Duration::seconds(5));
    let retry = pair(refresh_on(&app, &other, &tokens.refresh).await).await;
    assert_eq!((retry.access, retry.refresh), (first.access, first.refresh));
}

async fn concurrent_refreshes_across_instances_share_one_successor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let other = app.second_instance().await;
    let tokens = app.signed_in("rahim@example.com").await;

    let answers = futures::future::join_all((0..10).map(|i| {
        let base = if i % 2 == 0 {
            app.base.clone()
        } else {
            other.base.clone()
        };
        app.send(
            app.client
                .post(format!("{base}/api/auth/refresh"))
                .json(&json!({ "refresh_token": tokens.refresh })),
        )
    }))
    .await;
    let mut refresh_tokens = Vec::new();
    for r in answers {
        refresh_tokens.push(pair(r).await.refresh);
    }
    assert!(
        refresh_tokens.iter().all(|t| *t == refresh_tokens[0]),
        "{refresh_tokens:?}"
    );
    let live = crate::common::sql::scalar(
        &app,
        "SELECT COUNT(*) FROM refresh_tokens WHERE used_at IS NULL AND revoked_at IS NULL",
    )
    .await;
    assert_eq!(live, 1);
}

async fn logout_on_one_instance_is_refused_on_the_other(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let other = app.second_instance().await;
    let tokens = app.signed_in("rahim@example.com").await;

    let r = app
        .send(
            app.client
                .post(other.url("/api/auth/logout"))
                .bearer_auth(&tokens.access),
        )
        .await;
    assert_eq!(r.status(), 204);
    expect_problem(app.me(&tokens.access).await, 401, "session_revoked").await;
    expect_problem(app.refresh(&tokens.refresh).await, 401, "session_revoked").await;
}

async fn two_instances_deliver_each_queued_mail_exactly_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let other = app.second_instance().await;
    let recipients: Vec<String> = (0..20).map(|i| format!("user{i}@example.com")).collect();
    for to in &recipients {
        let mail = Rendered {
            subject: format!("hello {to}"),
            text: "text".into(),
            html: "<p>html</p>".into(),
        };
        app.state.outbox.enqueue(to, mail).await.unwrap();
    }
    app.state.outbox.wake();
    other.state.outbox.wake();

    for to in &recipients {
        app.smtp.wait_for_mail_to(to, 0).await;
    }
    for _ in 0..1000 {
        if app.state.store.outbox().depth().await.unwrap() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(app.state.store.outbox().depth().await.unwrap(), 0);
    // A deleted mail cannot be sent again, so the count is final.
    assert_eq!(app.smtp.messages().len(), recipients.len(), "a mail was sent twice");
}

both!(
    tokens_from_one_instance_work_on_another,
    retry_on_another_instance_inside_the_grace_window_gets_the_same_pair,
    concurrent_refreshes_across_instances_share_one_successor,
    logout_on_one_instance_is_refused_on_the_other,
    two_instances_deliver_each_queued_mail_exactly_once,
);
