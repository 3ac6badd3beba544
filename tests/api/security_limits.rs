//! Security review, items 3–5: registration answers a taken username alike whether or not the
//! address has an account; sign-in counting keys IPv6 clients on their /64; mail requests are
//! limited per address and client network, with a looser cap per address, on every mail path.

use crate::both;
use crate::common::*;
use crate::mfa_support::{email_user, EMAIL};
use gatehouse::ratelimit::{Rate, RateLimitSettings};
use serde_json::{json, Value};

fn behind_proxy(c: &mut gatehouse::Config) {
    c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
}

async fn post_from(app: &TestApp, ip: &str, path: &str, body: &Value) -> reqwest::Response {
    app.send(app.client.post(app.url(path)).header("x-forwarded-for", ip).json(body))
        .await
}

async fn a_taken_username_answers_alike_whether_or_not_the_address_exists(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut first = registration("taken@example.com");
    first["username"] = json!("rahim");
    assert_eq!(app.register(&first).await.status(), 201);

    let mut existing_address = registration("taken@example.com");
    existing_address["username"] = json!("rahim");
    let mut new_address = registration("fresh@example.com");
    new_address["username"] = json!("rahim");
    let a = expect_problem(app.register(&existing_address).await, 409, "username_taken").await;
    let b = expect_problem(app.register(&new_address).await, 409, "username_taken").await;
    assert_eq!(a, b);
    // And a free username with an existing address answers like a new account.
    let mut other = registration("taken@example.com");
    other["username"] = json!("someone_else");
    assert_eq!(app.register(&other).await.status(), 201);
}

async fn failures_from_one_ipv6_network_lock_only_that_network(backend: Backend) {
    let app = TestApp::spawn_configured(backend, behind_proxy).await;
    app.register_verified(EMAIL).await;
    let wrong = json!({ "email": EMAIL, "password": "not the password at all" });
    // Twenty failures from four addresses of one /64: one client, locked out after five.
    for n in 0..20 {
        let ip = format!("2001:db8:1:2::{}", n % 4 + 1);
        let r = post_from(&app, &ip, "/api/auth/login", &wrong).await;
        let status = r.status().as_u16();
        assert!(status == 401 || status == 429, "{status}");
    }
    let right = json!({ "email": EMAIL, "password": PASSWORD });
    let r = post_from(&app, "2001:db8:1:2::99", "/api/auth/login", &right).await;
    expect_problem(r, 429, "account_locked").await;
    // The owner elsewhere is not locked out: the account-wide lock was never reached.
    let r = post_from(&app, "203.0.113.9", "/api/auth/login", &right).await;
    assert_eq!(r.status(), 200);
}

async fn the_login_rate_limit_counts_an_ipv6_network_once(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c| {
        behind_proxy(c);
        c.rate_limits = RateLimitSettings {
            login: Some(Rate::per_minute(3)),
            ..RateLimitSettings::off()
        };
    })
    .await;
    app.register_verified(EMAIL).await;
    let wrong = json!({ "email": EMAIL, "password": "not the password at all" });
    for n in 1..=3 {
        let r = post_from(&app, &format!("2001:db8:1:2::{n}"), "/api/auth/login", &wrong).await;
        assert_eq!(r.status(), 401);
    }
    let r = post_from(&app, "2001:db8:1:2::4", "/api/auth/login", &wrong).await;
    expect_problem(r, 429, "rate_limited").await;
    let right = json!({ "email": EMAIL, "password": PASSWORD });
    assert_eq!(
        post_from(&app, "2001:db8:9::1", "/api/auth/login", &right)
            .await
            .status(),
        200
    );
}

async fn strangers_cannot_use_up_the_owners_reset_requests(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c| {
        behind_proxy(c);
        c.rate_limits = RateLimitSettings {
            password_reset: Some(Rate::per_hour(3)),
            mail_per_address: Some(Rate::per_hour(10)),
            ..RateLimitSettings::off()
        };
    })
    .await;
    app.register_verified(EMAIL).await;
    let body = json!({ "email": EMAIL });
    for _ in 0..3 {
        assert_eq!(
            post_from(&app, "198.51.100.7", "/api/auth/forgot-password", &body)
                .await
                .status(),
            202
        );
    }
    let r = post_from(&app, "198.51.100.7", "/api/auth/forgot-password", &body).await;
    expect_problem(r, 429, "rate_limited").await;
    // The owner, from their own network, still gets a link.
    let r = post_from(&app, "203.0.113.9", "/api/auth/forgot-password", &body).await;
    assert_eq!(r.status(), 202);
    let mail = app.mail_to(EMAIL, 4).await;
    assert!(mail.subject.to_lowercase().contains("reset"), "{}", mail.subject);
}

async fn one_address_has_a_cap_over_every_network(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c| {
        behind_proxy(c);
        c.rate_limits = RateLimitSettings {
            password_reset: Some(Rate::per_hour(3)),
            email: Some(Rate::per_hour(3)),
            mail_per_address: Some(Rate::per_hour(4)),
            ..RateLimitSettings::off()
        };
    })
    .await;
    app.register_verified(EMAIL).await;
    // Unknown and known addresses alike: the cap counts what is submitted.
    for address in ["nobody@example.com", EMAIL] {
        let body = json!({ "email": address });
        for n in 0..2 {
            let ip = format!("198.51.100.{n}");
            assert_eq!(
                post_from(&app, &ip, "/api/auth/forgot-password", &body).await.status(),
                202
            );
            assert_eq!(post_from(&app, &ip, "/api/auth/otp/request", &body).await.status(), 202);
        }
        let r = post_from(&app, "198.51.100.200", "/api/auth/resend-verification", &body).await;
        let problem = expect_problem(r, 429, "rate_limited").await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("mails asked for this address"),
            "{problem}"
        );
    }
}

async fn duplicate_registration_notices_are_capped_silently(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c| {
        behind_proxy(c);
        c.rate_limits = RateLimitSettings {
            mail_per_address: Some(Rate::per_hour(2)),
            ..RateLimitSettings::off()
        };
    })
    .await;
    app.register_verified(EMAIL).await;
    for n in 0..4 {
        let r = post_from(
            &app,
            &format!("198.51.100.{n}"),
            "/api/auth/register",
            &registration(EMAIL),
        )
        .await;
        assert_eq!(r.status(), 201, "the answer never changes");
    }
    // Verification mail, then only two "someone tried to register" notices.
    let notice = app.mail_to(EMAIL, 2).await;
    assert!(!notice.subject.is_empty());
    let r = post_from(
        &app,
        "198.51.100.9",
        "/api/auth/register",
        &registration("other@example.com"),
    )
    .await;
    assert_eq!(r.status(), 201);
    app.mail_to("other@example.com", 0).await;
    assert_eq!(app.smtp.messages_to(EMAIL).len(), 3, "two notices, not four");
}

async fn mfa_code_mails_are_limited(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |c| {
        c.rate_limits = RateLimitSettings {
            email: Some(Rate::per_hour(3)),
            ..RateLimitSettings::off()
        };
    })
    .await;
    let tokens = email_user(&app).await; // the enrolment code is the first mail counted
    for _ in 0..2 {
        let r = app
            .post_json_auth("/api/auth/mfa/send-code", &tokens.access, &json!({}))
            .await;
        assert_eq!(r.status(), 202);
    }
    let r = app
        .post_json_auth("/api/auth/mfa/send-code", &tokens.access, &json!({}))
        .await;
    expect_problem(r, 429, "rate_limited").await;
    // The login challenge's "mail me a code" shares the count.
    let login: Value = app.login(EMAIL, PASSWORD).await.json().await.unwrap();
    let mfa_token = login["mfa_token"].as_str().unwrap();
    let r = app
        .post_json("/api/auth/mfa/challenge/send", &json!({ "mfa_token": mfa_token }))
        .await;
    expect_problem(r, 429, "rate_limited").await;
}

both!(
    a_taken_username_answers_alike_whether_or_not_the_address_exists,
    failures_from_one_ipv6_network_lock_only_that_network,
    the_login_rate_limit_counts_an_ipv6_network_once,
    strangers_cannot_use_up_the_owners_reset_requests,
    one_address_has_a_cap_over_every_network,
    duplicate_registration_notices_are_capped_silently,
    mfa_code_mails_are_limited,
);
