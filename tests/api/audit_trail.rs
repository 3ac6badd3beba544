//! The audit trail as a whole: one journey through every security event a user can cause, and
//! each entry has its time, user, IP, user agent and outcome — and no secret.

use crate::both;
use crate::common::*;
use chrono::Duration;
use serde_json::{json, Value};

const EMAIL: &str = "rahim@example.com";
const UA: &str = "AuditTrail/1.0 (test)";
const NEW_PASSWORD: &str = "purple elephant dances quietly";
const THIRD_PASSWORD: &str = "seven lanterns over a quiet harbour";

async fn every_security_event_is_audited_with_who_where_and_outcome(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    app.client = reqwest::Client::builder()
        .user_agent(UA)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut secrets: Vec<String> = vec![PASSWORD.into(), NEW_PASSWORD.into(), THIRD_PASSWORD.into()];

    // register, email_verification
    let mail = app.register_pending(EMAIL).await;
    let token = verification_token(&mail);
    secrets.push(token.clone());
    let r = app
        .post_json("/api/auth/verify-email", &json!({ "token": token }))
        .await;
    assert_eq!(r.status(), 200);
    // login (failure, success), refresh reuse, logout
    assert_eq!(app.login(EMAIL, "a wrong password entirely").await.status(), 401);
    let first = Tokens::from(app.login(EMAIL, PASSWORD).await.json::<Value>().await.unwrap());
    secrets.extend([first.access.clone(), first.refresh.clone()]);
    let rotated = Tokens::from(app.refresh(&first.refresh).await.json::<Value>().await.unwrap());
    app.advance(Duration::minutes(1));
    assert_eq!(app.refresh(&first.refresh).await.status(), 401);
    let _ = rotated;
    let second = Tokens::from(app.login(EMAIL, PASSWORD).await.json::<Value>().await.unwrap());
    let r = app
        .send(app.client.post(app.url("/api/auth/logout")).bearer_auth(&second.access))
        .await;
    assert_eq!(r.status(), 204);
    // session_revoked
    let a = Tokens::from(app.login(EMAIL, PASSWORD).await.json::<Value>().await.unwrap());
    let b = Tokens::from(app.login(EMAIL, PASSWORD).await.json::<Value>().await.unwrap());
    let list: Vec<Value> = app
        .get_auth("/api/auth/sessions", &a.access)
        .await
        .json()
        .await
        .unwrap();
    let other = list.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .send(
            app.client
                .delete(app.url(&format!("/api/auth/sessions/{other}")))
                .bearer_auth(&a.access),
        )
        .await;
    assert_eq!(r.status(), 204);
    let _ = b;
    // password_change
    let r = app
        .send(
            app.client
                .put(app.url("/api/auth/change-password"))
                .bearer_auth(&a.access)
                .json(&json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD })),
        )
        .await;
    assert_eq!(r.status(), 200);
    // password_reset_requested, password_reset (mails so far: verification, password changed)
    let r = app
        .post_json("/api/auth/forgot-password", &json!({ "email": EMAIL }))
        .await;
    assert_eq!(r.status(), 202);
    let token = reset_token(&app.mail_to(EMAIL, 2).await);
    secrets.push(token.clone());
    let r = app
        .post_json(
            "/api/auth/reset-password",
            &json!({ "token": token, "new_password": THIRD_PASSWORD }),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // account_locked, account_unlocked (mail 3 said the password was changed)
    for _ in 0..5 {
        assert_eq!(app.login(EMAIL, "still not the password").await.status(), 401);
    }
    let token = link_token(&app.mail_to(EMAIL, 4).await, "/unlock-account");
    secrets.push(token.clone());
    let r = app.post_json("/api/auth/unlock", &json!({ "token": token })).await;
    assert_eq!(r.status(), 200);

    let user = app.state.store.users().by_email(EMAIL).await.unwrap().unwrap();
    let events = app.state.store.audit().for_user(user.id, 200).await.unwrap();
    let seen = |kind: &str, outcome: &str| events.iter().any(|e| e.event_type == kind && e.outcome == outcome);
    for (kind, outcome) in [
        ("register", "success"),
        ("email_verification", "success"),
        ("login", "failure"),
        ("login", "success"),
        ("refresh_token_reuse_detected", "failure"),
        ("logout", "success"),
        ("session_revoked", "success"),
        ("password_change", "success"),
        ("password_reset_requested", "success"),
        ("password_reset", "success"),
        ("account_locked", "success"),
        ("account_unlocked", "success"),
    ] {
        assert!(
            seen(kind, outcome),
            "no {kind}/{outcome} event in {:?}",
            events.iter().map(|e| (&e.event_type, &e.outcome)).collect::<Vec<_>>()
        );
    }
    for e in &events {
        assert_eq!(e.ip.as_deref(), Some("127.0.0.1"), "{e:?}");
        assert_eq!(e.user_agent.as_deref(), Some(UA), "{e:?}");
        assert!(e.outcome == "success" || e.outcome == "failure", "{e:?}");
        assert!(
            serde_json::from_str::<Value>(&e.details).is_ok_and(|d| d.is_object()),
            "{e:?}"
        );
        for secret in &secrets {
            assert!(!e.details.contains(secret.as_str()), "a secret in {e:?}");
        }
    }
    let mut times: Vec<_> = events.iter().map(|e| e.occurred_at).collect();
    times.sort();
    assert!(
        times.first() < times.last(),
        "events carry the (injected) time they happened"
    );
}

both!(every_security_event_is_audited_with_who_where_and_outcome);
