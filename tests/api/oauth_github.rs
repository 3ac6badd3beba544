//! Sign-in with GitHub (OAuth 2.0 + REST API), browser-less, against the GitHub stand-in.

use crate::both;
use crate::common::social::{GitHubEmail, Kind};
use crate::common::{expect_problem, Backend, TestApp, PASSWORD};
use crate::social_support::*;

const GH: Kind = Kind::GitHub;

async fn github_is_not_offered_without_settings(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    expect_problem(app.get("/api/auth/oauth/github").await, 404, "provider_not_configured").await;
}

async fn the_authorize_request_uses_pkce_and_no_nonce(backend: Backend) {
    let (app, gh) = spawn(backend, GH).await;
    through_provider(&app, GH).await;
    let q = gh.last_authorize();
    assert_eq!(q["scope"], "read:user user:email");
    assert_eq!(q["code_challenge"].len(), 43, "{q:?}");
    assert_eq!(q["redirect_uri"], "http://gatehouse.test/api/auth/oauth/callback");
    assert!(!q.contains_key("nonce"), "GitHub is not OpenID Connect: {q:?}");
}

async fn a_new_user_gets_the_primary_verified_email_and_the_numeric_id(backend: Backend) {
    let (app, _gh) = spawn(backend, GH).await;
    let me = signed_in_profile(&app, GH).await;
    assert_eq!(me["email"], "social@example.com", "{me}");
    assert_eq!(me["is_email_verified"], true);
    assert_eq!(me["first_name"], "Ada");
    assert_eq!(me["last_name"], "Lovelace");
    assert_eq!(
        app.sql_text(
            "SELECT provider_user_id FROM oauth_accounts WHERE provider = $1",
            "github"
        )
        .await
        .as_deref(),
        Some("4242")
    );
}

async fn a_returning_user_is_known_by_id_even_after_a_rename(backend: Backend) {
    let (app, gh) = spawn(backend, GH).await;
    let first = signed_in_profile(&app, GH).await;
    with(&gh, |b| {
        b.login = "renamed".into();
        b.github_emails = vec![GitHubEmail::new("new-primary@example.com", true, true)];
    });
    let again = signed_in_profile(&app, GH).await;
    assert_eq!(first["id"], again["id"]);
    assert_eq!(again["email"], "social@example.com");
    assert_eq!(identities(&app, "github").await, 1);
}

async fn a_verified_primary_email_links_to_the_existing_account(backend: Backend) {
    let (app, _gh) = spawn(backend, GH).await;
    let tokens = app.signed_in("social@example.com").await;
    let mine: serde_json::Value = app.me(&tokens.access).await.json().await.unwrap();
    assert_eq!(signed_in_profile(&app, GH).await["id"], mine["id"]);
    assert_eq!(app.login("social@example.com", PASSWORD).await.status(), 200);
}

async fn an_unverified_primary_email_never_links_nor_creates(backend: Backend) {
    let (app, gh) = spawn(backend, GH).await;
    app.register_verified("social@example.com").await;
    with(&gh, |b| {
        b.github_emails = vec![GitHubEmail::new("social@example.com", true, false)]
    });
    expect_problem(sign_in(&app, GH).await, 409, "email_in_use_unverified").await;
    with(&gh, |b| {
        b.github_emails = vec![GitHubEmail::new("nobody-yet@example.com", true, false)]
    });
    expect_problem(sign_in(&app, GH).await, 400, "oauth_email_unverified").await;
    assert_eq!(identities(&app, "github").await, 0);
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM users WHERE email = $1", "nobody-yet@example.com")
            .await,
        0
    );
}

async fn a_verified_email_that_is_not_primary_does_not_link(backend: Backend) {
    let (app, gh) = spawn(backend, GH).await;
    let tokens = app.signed_in("social@example.com").await;
    let mine: serde_json::Value = app.me(&tokens.access).await.json().await.unwrap();
    with(&gh, |b| {
        b.github_emails = vec![
            GitHubEmail::new("social@example.com", false, true),
            GitHubEmail::new("primary@example.com", true, true),
        ]
    });
    let me = signed_in_profile(&app, GH).await;
    assert_ne!(me["id"], mine["id"]);
    assert_eq!(me["email"], "primary@example.com");
}

async fn access_denied_at_github_is_a_clear_400(backend: Backend) {
    let (app, gh) = spawn(backend, GH).await;
    with(&gh, |b| b.authorize_error = Some("access_denied".into()));
    let body = expect_problem(sign_in(&app, GH).await, 400, "oauth_access_denied").await;
    assert!(body["detail"].as_str().unwrap().contains("denied"), "{body}");
}

async fn a_wrong_state_or_missing_cookie_is_refused(backend: Backend) {
    let (app, _gh) = spawn(backend, GH).await;
    let (query, cookie) = through_provider(&app, GH).await;
    let forged: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(url::form_urlencoded::parse(query.as_bytes()).map(|(k, v)| {
            if k == "state" {
                (k, "forged".into())
            } else {
                (k, v)
            }
        }))
        .finish();
    expect_problem(callback(&app, &forged, Some(&cookie)).await, 400, "invalid_oauth_state").await;
    expect_problem(callback(&app, &query, None).await, 400, "invalid_oauth_state").await;
    assert_eq!(identities(&app, "github").await, 0);
}

async fn a_refused_code_is_a_clear_400_though_github_answers_200(backend: Backend) {
    let (app, gh) = spawn(backend, GH).await;
    with(&gh, |b| b.refuse_code = true);
    expect_problem(sign_in(&app, GH).await, 400, "oauth_code_rejected").await;
    // The same code cannot be replayed either: the stand-in spent it.
    gh.set(Default::default());
    let (query, cookie) = through_provider(&app, GH).await;
    assert_eq!(callback(&app, &query, Some(&cookie)).await.status(), 303);
    expect_problem(callback(&app, &query, Some(&cookie)).await, 400, "oauth_code_rejected").await;
}

async fn a_failing_github_api_is_a_503_not_a_500(backend: Backend) {
    let (app, gh) = spawn(backend, GH).await;
    for status in [500, 401, 404] {
        with(&gh, |b| b.profile_status = Some(status));
        let (query, cookie) = through_provider(&app, GH).await;
        // Sent without the harness's "no 5xx" guard: this 503 is the answer under test.
        let r = callback_request(&app, &query, Some(&cookie)).send().await.unwrap();
        expect_problem(r, 503, "provider_unavailable").await;
    }
    assert_eq!(identities(&app, "github").await, 0);
}

both!(
    github_is_not_offered_without_settings,
    the_authorize_request_uses_pkce_and_no_nonce,
    a_new_user_gets_the_primary_verified_email_and_the_numeric_id,
    a_returning_user_is_known_by_id_even_after_a_rename,
    a_verified_primary_email_links_to_the_existing_account,
    an_unverified_primary_email_never_links_nor_creates,
    a_verified_email_that_is_not_primary_does_not_link,
    access_denied_at_github_is_a_clear_400,
    a_wrong_state_or_missing_cookie_is_refused,
    a_refused_code_is_a_clear_400_though_github_answers_200,
    a_failing_github_api_is_a_503_not_a_500,
);
