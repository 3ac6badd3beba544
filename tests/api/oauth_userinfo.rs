//! Generic OpenID Connect providers that put the profile claims only in UserInfo (OIDC Core
//! §5.4), not in the id_token: gatehouse asks UserInfo, checks its `sub`, and treats a missing
//! `email_verified` as not verified.

use crate::both;
use crate::common::oidc::{Behaviour, StandInProvider};
use crate::common::{expect_problem, Backend, TestApp};
use crate::oauth::{location, state_cookie};
use serde_json::{json, Value};

const SUCCESS_URL: &str = "https://app.test/signed-in";
const EMAIL: &str = "social@example.com";

async fn spawn(backend: Backend, behaviour: Behaviour) -> (TestApp, StandInProvider) {
    let provider = StandInProvider::start().await;
    provider.set(Behaviour {
        claims_in_userinfo_only: true,
        ..behaviour
    });
    let settings = provider.settings("corp");
    let app = TestApp::spawn_configured(backend, move |c| {
        c.oidc_providers = vec![settings];
        c.oauth_success_url = Some(url::Url::parse(SUCCESS_URL).unwrap());
    })
    .await;
    (app, provider)
}

/// Through the provider, up to the request back to gatehouse's callback.
async fn callback_request(app: &TestApp) -> reqwest::RequestBuilder {
    let r = app.get("/api/auth/oauth/corp").await;
    assert_eq!(r.status(), 303);
    let cookie = state_cookie(&r);
    let back = app.client.get(location(&r)).send().await.unwrap();
    let query = location(&back).query().unwrap_or_default().to_string();
    app.client
        .get(app.url(&format!("/api/auth/oauth/callback?{query}")))
        .header("cookie", cookie)
}

/// The callback's answer (a 5xx fails the test).
async fn callback(app: &TestApp) -> reqwest::Response {
    app.send(callback_request(app).await).await
}

/// A whole sign-in; the account's `/me`.
async fn sign_in(app: &TestApp) -> Value {
    let r = callback(app).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let code = location(&r)
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let r = app
        .post_json("/api/auth/oauth/exchange", &json!({ "code": code }))
        .await;
    assert_eq!(r.status(), 200);
    let access = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    app.me(&access).await.json().await.unwrap()
}

async fn a_new_user_gets_the_address_and_names_from_userinfo(backend: Backend) {
    let (app, _p) = spawn(backend, Behaviour::default()).await;
    let me = sign_in(&app).await;
    assert_eq!(me["email"], EMAIL);
    assert_eq!(me["is_email_verified"], true);
    assert_eq!(me["first_name"], "Karim");
    // Returning: the same account.
    assert_eq!(sign_in(&app).await["id"], me["id"]);
}

async fn a_verified_userinfo_address_links_the_existing_account(backend: Backend) {
    let (app, _p) = spawn(backend, Behaviour::default()).await;
    let tokens = app.signed_in(EMAIL).await;
    let mine: Value = app.me(&tokens.access).await.json().await.unwrap();
    assert_eq!(sign_in(&app).await["id"], mine["id"]);
}

async fn no_link_when_userinfo_does_not_say_the_address_is_verified(backend: Backend) {
    for verified in [Some(false), None] {
        let (app, _p) = spawn(
            backend,
            Behaviour {
                userinfo_email_verified: verified,
                ..Behaviour::default()
            },
        )
        .await;
        app.signed_in(EMAIL).await;
        expect_problem(callback(&app).await, 409, "email_in_use_unverified").await;
    }
}

async fn a_userinfo_answer_about_another_subject_is_refused(backend: Backend) {
    let (app, _p) = spawn(
        backend,
        Behaviour {
            userinfo_sub: Some("someone-else".into()),
            ..Behaviour::default()
        },
    )
    .await;
    expect_problem(callback(&app).await, 401, "invalid_id_token").await;
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM users WHERE email = $1", EMAIL)
            .await,
        0
    );
}

async fn userinfo_down_is_a_503_with_a_code(backend: Backend) {
    let (app, _p) = spawn(
        backend,
        Behaviour {
            userinfo_down: true,
            ..Behaviour::default()
        },
    )
    .await;
    // The one 5xx a test expects: the provider's outage, reported as such.
    let r = callback_request(&app).await.send().await.unwrap();
    expect_problem(r, 503, "provider_unavailable").await;
}

both!(
    a_new_user_gets_the_address_and_names_from_userinfo,
    a_verified_userinfo_address_links_the_existing_account,
    no_link_when_userinfo_does_not_say_the_address_is_verified,
    a_userinfo_answer_about_another_subject_is_refused,
    userinfo_down_is_a_503_with_a_code,
);
