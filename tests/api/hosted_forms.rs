//! Page forms whose body cannot be read: over the body limit, or not a form at all. The browser
//! gets a page that says what to do (never axum's bare text, never a 500), and nothing changes.

use crate::both;
use crate::common::*;
use crate::mfa_support::EMAIL;

async fn an_unreadable_form_gets_a_page_that_says_what_to_do(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified(EMAIL).await;
    let post = |path: &str| app.client.post(app.url(path)).header("origin", PUBLIC_URL);

    let long = "a".repeat(100 * 1024);
    for path in ["/login", "/register", "/account/profile", "/reset-password"] {
        let r = app
            .send(post(path).form(&[("identifier", EMAIL), ("password", long.as_str())]))
            .await;
        assert_eq!(r.status(), 413, "{path}");
        assert_eq!(r.headers()["connection"], "close", "{path}");
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let html = r.text().await.unwrap();
        assert!(html.contains("too long to send"), "{path}: {html}");
    }

    let r = app
        .send(
            post("/login")
                .header("content-type", "application/json")
                .body(format!(r#"{{"identifier":"{EMAIL}","password":"{PASSWORD}"}}"#)),
        )
        .await;
    assert_eq!(r.status(), 415);
    let html = r.text().await.unwrap();
    assert!(html.contains("reload the page"), "{html}");

    // Nothing was signed in or changed: the password still works, once, as before.
    assert_eq!(app.login(EMAIL, PASSWORD).await.status(), 200);
}

both!(an_unreadable_form_gets_a_page_that_says_what_to_do);
