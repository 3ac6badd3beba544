//! GET/POST /verify-email: the page the mailed link opens. GET only shows a button (mail
//! scanners fetch links), the POST it submits spends the token.

use super::{can_sign_in, still_pending, verify_token};
use crate::both;
use crate::common::*;

/// The `value` of the page's hidden `token` input, as a browser would submit it.
fn hidden_token(html: &str) -> String {
    let marker = "name=\"token\" value=\"";
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no hidden token input in {html}"))
        + marker.len();
    let len = html[start..].find('"').unwrap();
    html[start..start + len].to_string()
}

async fn submit(app: &TestApp, token: &str) -> reqwest::Response {
    app.send(app.client.post(app.url("/verify-email")).form(&[("token", token)]))
        .await
}

fn content_type(r: &reqwest::Response) -> String {
    r.headers()["content-type"].to_str().unwrap().to_string()
}

async fn opening_the_link_shows_a_form_and_does_not_spend_the_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = verification_token(&app.register_pending("rahim@example.com").await);
    for _ in 0..2 {
        let r = app.get(&format!("/verify-email?token={token}")).await;
        assert_eq!(r.status(), 200);
        assert_eq!(content_type(&r), "text/html; charset=utf-8");
        let html = r.text().await.unwrap();
        assert!(
            html.contains("<form method=\"post\" action=\"verify-email\">"),
            "{html}"
        );
        assert!(html.contains("<button type=\"submit\">"), "{html}");
        assert_eq!(hidden_token(&html), token);
    }
    still_pending(&app, "rahim@example.com").await;
    assert_eq!(verify_token(&app, &token).await.status(), 200);
}

async fn submitting_the_page_confirms_the_address(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = verification_token(&app.register_pending("rahim@example.com").await);
    let html = app
        .get(&format!("/verify-email?token={token}"))
        .await
        .text()
        .await
        .unwrap();
    let r = submit(&app, &hidden_token(&html)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(content_type(&r), "text/html; charset=utf-8");
    let html = r.text().await.unwrap();
    assert!(html.contains("Email address confirmed"), "{html}");
    can_sign_in(&app, "rahim@example.com").await;
}

async fn submitting_a_spent_or_unknown_link_shows_why_it_does_not_work(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = verification_token(&app.register_pending("rahim@example.com").await);
    assert_eq!(submit(&app, &token).await.status(), 200);
    for (token, reason) in [(token.as_str(), "already used"), ("bogus", "not valid")] {
        let r = submit(&app, token).await;
        assert_eq!(r.status(), 400);
        assert_eq!(content_type(&r), "text/html; charset=utf-8");
        let html = r.text().await.unwrap();
        assert!(html.contains("This link does not work"), "{html}");
        assert!(html.contains(reason), "{html}");
    }
}

async fn link_without_a_token_shows_an_error_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for path in ["/verify-email", "/verify-email?token="] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 400);
        let html = r.text().await.unwrap();
        assert!(html.contains("Link incomplete"), "{html}");
        assert!(!html.contains("<form"), "{html}");
    }
}

async fn token_in_the_link_cannot_inject_markup(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let r = app
        .send(
            app.client
                .get(app.url("/verify-email"))
                .query(&[("token", "\"><script>alert(1)</script>")]),
        )
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("&quot;&gt;&lt;script&gt;"), "{html}");
}

fn assert_security_headers(r: &reqwest::Response, what: &str) -> String {
    let h = r.headers();
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(h["x-frame-options"], "DENY", "{what}");
    assert_eq!(h["referrer-policy"], "no-referrer", "{what}");
    assert_eq!(h["cache-control"], "no-store", "{what}");
    let csp = h
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("no CSP on {what}"))
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    csp
}

async fn responses_carry_security_headers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = verification_token(&app.register_pending("rahim@example.com").await);

    let page = app.get(&format!("/verify-email?token={token}")).await;
    let csp = assert_security_headers(&page, "the verification page");
    for directive in ["default-src 'none'", "form-action 'self'", "base-uri 'none'"] {
        assert!(csp.contains(directive), "page CSP {csp}");
    }
    assert!(!csp.contains("script-src"), "the page needs no script: {csp}");

    let done = submit(&app, &token).await;
    assert_security_headers(&done, "the confirmation page");

    let api = app.register(&registration("karim@example.com")).await;
    assert_eq!(api.status(), 201);
    let csp = assert_security_headers(&api, "a JSON answer");
    assert!(csp.contains("default-src 'none'"), "API CSP {csp}");

    let problem = verify_token(&app, "bogus").await;
    assert_security_headers(&problem, "a problem answer");
}

both!(
    opening_the_link_shows_a_form_and_does_not_spend_the_token,
    submitting_the_page_confirms_the_address,
    submitting_a_spent_or_unknown_link_shows_why_it_does_not_work,
    link_without_a_token_shows_an_error_page,
    token_in_the_link_cannot_inject_markup,
    responses_carry_security_headers,
);
