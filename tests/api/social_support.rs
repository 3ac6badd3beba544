//! The browser-less social login steps shared by the GitHub and Facebook tests: start at
//! gatehouse, follow the stand-in's redirect back, hit the callback with the state cookie.

use crate::common::social::{Behaviour, Kind, SocialStandIn};
use crate::common::{Backend, TestApp};
use serde_json::{json, Value};

pub const SUCCESS_URL: &str = "https://app.test/signed-in";

pub async fn spawn(backend: Backend, kind: Kind) -> (TestApp, SocialStandIn) {
    spawn_with(backend, kind, |_| {}).await
}

pub async fn spawn_with(
    backend: Backend,
    kind: Kind,
    more: impl FnOnce(&mut gatehouse::Config) + Send + 'static,
) -> (TestApp, SocialStandIn) {
    let standin = SocialStandIn::start(kind).await;
    let settings = standin.settings();
    let app = TestApp::spawn_configured(backend, move |c| {
        match kind {
            Kind::GitHub => c.github = Some(settings),
            Kind::Facebook => c.facebook = Some(settings),
        }
        c.oauth_success_url = Some(url::Url::parse(SUCCESS_URL).unwrap());
        more(c);
    })
    .await;
    (app, standin)
}

pub fn path(kind: Kind) -> &'static str {
    match kind {
        Kind::GitHub => "/api/auth/oauth/github",
        Kind::Facebook => "/api/auth/oauth/facebook",
    }
}

pub fn location(r: &reqwest::Response) -> url::Url {
    url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap()
}

/// Starts at gatehouse and passes the stand-in; returns the callback query and the state cookie.
pub async fn through_provider(app: &TestApp, kind: Kind) -> (String, String) {
    let r = app.get(path(kind)).await;
    assert_eq!(r.status(), 303, "start answered {}", r.status());
    let raw = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(raw.contains("HttpOnly"), "{raw}");
    let cookie = raw.split(';').next().unwrap().to_string();
    let back = app.client.get(location(&r)).send().await.unwrap();
    assert!(
        back.status().is_redirection(),
        "the stand-in answered {}",
        back.status()
    );
    let callback = location(&back);
    assert_eq!(callback.path(), "/api/auth/oauth/callback");
    (callback.query().unwrap_or_default().to_string(), cookie)
}

pub fn callback_request(app: &TestApp, query: &str, cookie: Option<&str>) -> reqwest::RequestBuilder {
    let mut req = app.client.get(app.url(&format!("/api/auth/oauth/callback?{query}")));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req
}

pub async fn callback(app: &TestApp, query: &str, cookie: Option<&str>) -> reqwest::Response {
    app.send(callback_request(app, query, cookie)).await
}

/// The whole flow through the stand-in as it behaves now: the callback's answer.
pub async fn sign_in(app: &TestApp, kind: Kind) -> reqwest::Response {
    let (query, cookie) = through_provider(app, kind).await;
    callback(app, &query, Some(&cookie)).await
}

/// The whole flow; returns the one-time code handed to the app.
pub async fn sign_in_code(app: &TestApp, kind: Kind) -> String {
    let r = sign_in(app, kind).await;
    assert_eq!(r.status(), 303, "callback: {}", r.text().await.unwrap());
    let target = location(&r);
    assert!(target.as_str().starts_with(SUCCESS_URL), "{target}");
    target.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned()
}

/// Signs in through the provider and trades the code; returns the profile of `/me`.
pub async fn signed_in_profile(app: &TestApp, kind: Kind) -> Value {
    let code = sign_in_code(app, kind).await;
    let r = app
        .post_json("/api/auth/oauth/exchange", &json!({ "code": code }))
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    app.me(body["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap()
}

pub async fn identities(app: &TestApp, provider: &str) -> i64 {
    app.sql_count("SELECT COUNT(*) FROM oauth_accounts WHERE provider = $1", provider)
        .await
}

pub fn with(standin: &SocialStandIn, change: impl FnOnce(&mut Behaviour)) {
    let mut b = Behaviour::default();
    change(&mut b);
    standin.set(b);
}
