//! Social login over OpenID Connect, browser-less, against the stand-in provider.

use crate::both;
use crate::common::oidc::{Behaviour, StandInProvider};
use crate::common::{expect_invalid_current_password, expect_problem, Backend, TestApp, PASSWORD};
use serde_json::{json, Value};

const SUCCESS_URL: &str = "https://app.test/signed-in";

async fn spawn(backend: Backend) -> (TestApp, StandInProvider) {
    spawn_welcoming(backend, false).await
}

async fn spawn_welcoming(backend: Backend, welcome_mail: bool) -> (TestApp, StandInProvider) {
    let provider = StandInProvider::start().await;
    let settings = provider.settings("corp");
    let app = TestApp::spawn_configured(backend, move |c| {
        c.welcome_mail = welcome_mail;
        c.oidc_providers = vec![settings];
        c.oauth_success_url = Some(url::Url::parse(SUCCESS_URL).unwrap());
        c.oauth_redirect_allowlist = vec![url::Url::parse("https://app.test/welcome").unwrap()];
    })
    .await;
    (app, provider)
}

pub(crate) fn location(r: &reqwest::Response) -> url::Url {
    url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap()
}

/// The state cookie a sign-in start sets (asserting it is HttpOnly), as a `Cookie` header value.
pub(crate) fn state_cookie(r: &reqwest::Response) -> String {
    let raw = r.headers()["set-cookie"].to_str().unwrap();
    assert!(raw.contains("HttpOnly"), "{raw}");
    raw.split(';').next().unwrap().to_string()
}

/// Starts at gatehouse, passes the provider; returns the callback query and the state cookie.
async fn through_provider(app: &TestApp, start_path: &str) -> (String, String) {
    let r = app.get(start_path).await;
    assert_eq!(r.status(), 303, "start answered {}", r.status());
    let cookie = state_cookie(&r);
    let authorize = location(&r);
    let q: std::collections::HashMap<_, _> = authorize.query_pairs().into_owned().collect();
    assert!(q.contains_key("nonce") && q.contains_key("code_challenge") && q.contains_key("state"));
    let back = app.client.get(authorize).send().await.unwrap();
    assert!(back.status().is_redirection());
    let callback = location(&back);
    assert_eq!(callback.path(), "/api/auth/oauth/callback");
    (callback.query().unwrap_or_default().to_string(), cookie)
}

async fn callback(app: &TestApp, query: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(app.url(&format!("/api/auth/oauth/callback?{query}")));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    app.send(req).await
}

/// The whole flow; returns the one-time code handed to the app.
async fn sign_in_code(app: &TestApp) -> String {
    let (query, cookie) = through_provider(app, "/api/auth/oauth/corp").await;
    let r = callback(app, &query, Some(&cookie)).await;
    assert_eq!(r.status(), 303, "callback: {}", r.text().await.unwrap());
    let target = location(&r);
    assert!(target.as_str().starts_with(SUCCESS_URL), "{target}");
    target.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned()
}

async fn exchange(app: &TestApp, code: &str) -> reqwest::Response {
    app.post_json("/api/auth/oauth/exchange", &json!({ "code": code }))
        .await
}

async fn signed_in_user_id(app: &TestApp) -> String {
    let code = sign_in_code(app).await;
    let r = exchange(app, &code).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let access = body["access_token"].as_str().unwrap();
    let me: Value = app.me(access).await.json().await.unwrap();
    me["id"].as_str().unwrap().to_string()
}

async fn unknown_provider_is_not_configured(backend: Backend) {
    let (app, _p) = spawn(backend).await;
    expect_problem(app.get("/api/auth/oauth/nowhere").await, 404, "provider_not_configured").await;
}

async fn new_user_is_created_verified_with_an_empty_profile(backend: Backend) {
    let (app, _p) = spawn(backend).await;
    let code = sign_in_code(&app).await;
    let r = exchange(&app, &code).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let me: Value = app
        .me(body["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "social@example.com");
    assert!(me["date_of_birth"].is_null() && me["mobile"].is_null(), "{me}");
    assert_eq!(
        app.sql_count(
            "SELECT COUNT(*) FROM oauth_accounts WHERE provider_user_id = $1",
            "subject-1"
        )
        .await,
        1
    );
}

async fn a_provider_sign_up_is_welcomed_once(backend: Backend) {
    let (app, _p) = spawn_welcoming(backend, true).await;
    let first = signed_in_user_id(&app).await;
    let welcome = app.mail_to("social@example.com", 0).await;
    assert_eq!(welcome.subject, "Welcome to gatehouse");
    // Signing in again is not a sign-up: the next mail to the address is the reset link.
    assert_eq!(signed_in_user_id(&app).await, first);
    let r = app
        .post_json("/api/auth/forgot-password", &json!({ "email": "social@example.com" }))
        .await;
    assert_eq!(r.status(), 202);
    assert!(app.mail_to("social@example.com", 1).await.subject.contains("password"));
    assert_eq!(app.smtp.messages_to("social@example.com").len(), 2);
}

async fn returning_user_gets_the_same_account(backend: Backend) {
    let (app, _p) = spawn(backend).await;
    let first = signed_in_user_id(&app).await;
    let second = signed_in_user_id(&app).await;
    assert_eq!(first, second);
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM users WHERE email = $1", "social@example.com")
            .await,
        1
    );
}

async fn verified_email_links_to_the_existing_account(backend: Backend) {
    let (app, _p) = spawn(backend).await;
    let tokens = app.signed_in("social@example.com").await;
    let me: Value = app.me(&tokens.access).await.json().await.unwrap();
    assert_eq!(signed_in_user_id(&app).await, me["id"].as_str().unwrap());
    // The owner hears of it: from now on that provider account signs them in.
    let notice = app.mail_to("social@example.com", 1).await;
    assert!(notice.subject.contains("Corp sign-in was added"), "{}", notice.subject);
    // Signing in again with it is not a new link: no second mail.
    signed_in_user_id(&app).await;
    assert_eq!(app.smtp.messages_to("social@example.com").len(), 2);
    // The password still works too.
    assert_eq!(app.login("social@example.com", PASSWORD).await.status(), 200);
}

async fn unverified_email_never_links(backend: Backend) {
    let (app, p) = spawn(backend).await;
    app.register_verified("social@example.com").await;
    p.set(Behaviour {
        email_verified: false,
        ..Behaviour::default()
    });
    let (query, cookie) = through_provider(&app, "/api/auth/oauth/corp").await;
    expect_problem(
        callback(&app, &query, Some(&cookie)).await,
        409,
        "email_in_use_unverified",
    )
    .await;
    assert_eq!(
        app.sql_count(
            "SELECT COUNT(*) FROM oauth_accounts WHERE provider_user_id = $1",
            "subject-1"
        )
        .await,
        0
    );
}

async fn an_unconfirmed_local_account_is_not_linked(backend: Backend) {
    let (app, _p) = spawn(backend).await;
    app.register_pending("social@example.com").await;
    let (query, cookie) = through_provider(&app, "/api/auth/oauth/corp").await;
    expect_problem(callback(&app, &query, Some(&cookie)).await, 409, "account_not_verified").await;
    assert_eq!(
        app.sql_count(
            "SELECT COUNT(*) FROM oauth_accounts WHERE provider_user_id = $1",
            "subject-1"
        )
        .await,
        0
    );
}

async fn wrong_state_is_refused(backend: Backend) {
    let (app, _p) = spawn(backend).await;
    let (query, cookie) = through_provider(&app, "/api/auth/oauth/corp").await;
    let forged = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(url::form_urlencoded::parse(query.as_bytes()).map(|(k, v)| {
            if k == "state" {
                (k.into_owned(), "forged".to_string())
            } else {
                (k.into_owned(), v.into_owned())
            }
        }))
        .finish();
    expect_problem(callback(&app, &forged, Some(&cookie)).await, 400, "invalid_oauth_state").await;
}

async fn missing_or_foreign_state_cookie_is_refused(backend: Backend) {
    let (app, _p) = spawn(backend).await;
    let (query, _cookie) = through_provider(&app, "/api/auth/oauth/corp").await;
    expect_problem(callback(&app, &query, None).await, 400, "invalid_oauth_state").await;
    // A cookie from another browser's sign-in does not fit this state.
    let (_other_query, other_cookie) = through_provider(&app, "/api/auth/oauth/corp").await;
    expect_problem(
        callback(&app, &query, Some(&other_cookie)).await,
        400,
        "invalid_oauth_state",
    )
    .await;
}

async fn refused_id_token(app: &TestApp, p: &StandInProvider, behaviour: Behaviour) {
    p.set(behaviour);
    let (query, cookie) = through_provider(app, "/api/auth/oauth/corp").await;
    expect_problem(callback(app, &query, Some(&cookie)).await, 401, "invalid_id_token").await;
}

async fn bad_id_tokens_are_refused(backend: Backend) {
    let (app, p) = spawn(backend).await;
    let d = Behaviour::default;
    refused_id_token(
        &app,
        &p,
        Behaviour {
            nonce: Some("replayed".into()),
            ..d()
        },
    )
    .await;
    refused_id_token(
        &app,
        &p,
        Behaviour {
            foreign_key: true,
            ..d()
        },
    )
    .await;
    refused_id_token(
        &app,
        &p,
        Behaviour {
            issuer: Some("https://evil.test".into()),
            ..d()
        },
    )
    .await;
    refused_id_token(
        &app,
        &p,
        Behaviour {
            audience: Some("someone-else".into()),
            ..d()
        },
    )
    .await;
    refused_id_token(&app, &p, Behaviour { expires_in: -60, ..d() }).await;
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM oauth_accounts WHERE provider = $1", "corp")
            .await,
        0
    );
}

async fn provider_error_is_a_clear_400(backend: Backend) {
    let (app, p) = spawn(backend).await;
    p.set(Behaviour {
        error: Some("access_denied".into()),
        ..Behaviour::default()
    });
    let (query, cookie) = through_provider(&app, "/api/auth/oauth/corp").await;
    expect_problem(callback(&app, &query, Some(&cookie)).await, 400, "oauth_access_denied").await;
}

async fn redirect_to_outside_the_allow_list_is_refused(backend: Backend) {
    let (app, _p) = spawn(backend).await;
    let r = app
        .get("/api/auth/oauth/corp?redirect_to=https%3A%2F%2Fevil.test%2Fwelcome")
        .await;
    expect_problem(r, 400, "redirect_not_allowed").await;
    let r = app
        .get("/api/auth/oauth/corp?redirect_to=https%3A%2F%2Fapp.test%2Felsewhere")
        .await;
    expect_problem(r, 400, "redirect_not_allowed").await;
    // The allowed prefix `/welcome` ends at a path segment: `/welcome-admin` is elsewhere.
    let r = app
        .get("/api/auth/oauth/corp?redirect_to=https%3A%2F%2Fapp.test%2Fwelcome-admin")
        .await;
    expect_problem(r, 400, "redirect_not_allowed").await;
    // An allowed one receives the code.
    let (query, cookie) = through_provider(
        &app,
        "/api/auth/oauth/corp?redirect_to=https%3A%2F%2Fapp.test%2Fwelcome%2Fback",
    )
    .await;
    let r = callback(&app, &query, Some(&cookie)).await;
    assert!(location(&r).as_str().starts_with("https://app.test/welcome/back?code="));
}

async fn exchange_code_is_single_use_and_short_lived(backend: Backend) {
    let (app, _p) = spawn(backend).await;
    let code = sign_in_code(&app).await;
    assert_eq!(exchange(&app, &code).await.status(), 200);
    expect_problem(exchange(&app, &code).await, 401, "invalid_oauth_code").await;
    let late = sign_in_code(&app).await;
    app.advance(chrono::Duration::seconds(61));
    expect_problem(exchange(&app, &late).await, 401, "invalid_oauth_code").await;
}

both!(
    a_provider_sign_up_is_welcomed_once,
    unknown_provider_is_not_configured,
    new_user_is_created_verified_with_an_empty_profile,
    returning_user_gets_the_same_account,
    verified_email_links_to_the_existing_account,
    unverified_email_never_links,
    an_unconfirmed_local_account_is_not_linked,
    wrong_state_is_refused,
    missing_or_foreign_state_cookie_is_refused,
    bad_id_tokens_are_refused,
    provider_error_is_a_clear_400,
    redirect_to_outside_the_allow_list_is_refused,
    exchange_code_is_single_use_and_short_lived,
);

async fn mfa_user_gets_the_mfa_step_not_tokens(backend: Backend) {
    let (app, p) = spawn(backend).await;
    let user = crate::mfa_support::totp_user(&app).await;
    p.set(Behaviour {
        email: crate::mfa_support::EMAIL.into(),
        ..Behaviour::default()
    });
    let code = sign_in_code(&app).await;
    let r = exchange(&app, &code).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["mfa_required"], true, "{body}");
    assert!(body["access_token"].is_null());
    let mfa_token = body["mfa_token"].as_str().unwrap();
    let code = crate::mfa_support::totp_now(&app, &user.secret);
    let r = crate::mfa_support::challenge(&app, mfa_token, Some("totp"), &code).await;
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(crate::mfa_support::amr(access), ["fed", "otp", "mfa"]);
}

both!(mfa_user_gets_the_mfa_step_not_tokens);

async fn identities_are_listed_and_the_last_sign_in_method_stays(backend: Backend) {
    let (app, _p) = spawn(backend).await;
    // A social-only user: no password, one identity.
    let code = sign_in_code(&app).await;
    let body: Value = exchange(&app, &code).await.json().await.unwrap();
    let access = body["access_token"].as_str().unwrap().to_string();
    let r = app.get_auth("/api/auth/identities", &access).await;
    assert_eq!(r.status(), 200);
    let list: Value = r.json().await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["provider"], "corp");
    let id = list[0]["id"].as_str().unwrap();
    let r = app
        .send(
            app.client
                .delete(app.url(&format!("/api/auth/identities/{id}")))
                .bearer_auth(&access),
        )
        .await;
    expect_problem(r, 409, "last_sign_in_method").await;
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM oauth_accounts WHERE provider = $1", "corp")
            .await,
        1
    );
}

async fn a_user_with_a_password_can_unlink(backend: Backend) {
    let (app, _p) = spawn(backend).await;
    let tokens = app.signed_in("social@example.com").await;
    sign_in_code(&app).await;
    let list: Value = app
        .get_auth("/api/auth/identities", &tokens.access)
        .await
        .json()
        .await
        .unwrap();
    let id = list[0]["id"].as_str().unwrap();
    let r = app
        .send(
            app.client
                .delete(app.url(&format!("/api/auth/identities/{id}")))
                .bearer_auth(&tokens.access),
        )
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM oauth_accounts WHERE provider = $1", "corp")
            .await,
        0
    );
    let r = app
        .send(
            app.client
                .delete(app.url(&format!("/api/auth/identities/{id}")))
                .bearer_auth(&tokens.access),
        )
        .await;
    expect_problem(r, 404, "identity_not_found").await;
}

/// OIDC Discovery §4.3: a document that names another issuer is not believed.
async fn a_discovery_document_naming_another_issuer_is_refused(backend: Backend) {
    let provider = StandInProvider::start().await;
    let mut settings = provider.settings("corp");
    // Same server, other name: its document names the 127.0.0.1 issuer, not this one.
    settings.issuer = url::Url::parse(&provider.issuer().replace("127.0.0.1", "localhost")).unwrap();
    let app = TestApp::spawn_configured(backend, move |c| c.oidc_providers = vec![settings]).await;
    let r = app.client.get(app.url("/api/auth/oauth/corp")).send().await.unwrap();
    expect_problem(r, 503, "provider_unavailable").await;
}

both!(
    identities_are_listed_and_the_last_sign_in_method_stays,
    a_user_with_a_password_can_unlink,
    a_discovery_document_naming_another_issuer_is_refused,
);

async fn a_signed_in_user_links_a_provider_through_the_api(backend: Backend) {
    let (app, _p) = spawn(backend).await;
    // A different address from the provider's: linking on purpose needs no address match.
    let tokens = app.signed_in("rahim@example.com").await;
    let path = "/api/auth/identities/corp/link";
    let r = app.post_json(path, &json!({})).await;
    assert_eq!(r.status(), 401, "a bearer token is needed");
    let r = app
        .post_json_auth(path, &tokens.access, &json!({ "redirect_to": "https://evil.test/" }))
        .await;
    expect_problem(r, 400, "redirect_not_allowed").await;
    let r = app
        .post_json_auth("/api/auth/identities/nowhere/link", &tokens.access, &json!({}))
        .await;
    expect_problem(r, 404, "provider_not_configured").await;

    let r = app.post_json_auth(path, &tokens.access, &json!({})).await;
    assert_eq!(r.status(), 200);
    let cookie = state_cookie(&r);
    let body: Value = r.json().await.unwrap();
    let authorize = url::Url::parse(body["authorize_url"].as_str().unwrap()).unwrap();
    let back = app.client.get(authorize).send().await.unwrap();
    let query = location(&back).query().unwrap_or_default().to_string();
    let r = callback(&app, &query, Some(&cookie)).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r).as_str(), format!("{SUCCESS_URL}?linked=corp"));
    let list: Value = app
        .get_auth("/api/auth/identities", &tokens.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["provider"], "corp", "{list}");
    assert_eq!(list[0]["email"], "social@example.com");
    // Replaying the callback fails: the provider has spent its code.
    let again = callback(&app, &query, Some(&cookie)).await;
    assert_eq!(again.status(), 400);

    // After the step-up window, the password is needed (and checked).
    app.advance(chrono::Duration::minutes(11));
    let fresh = app.refresh(&tokens.refresh).await;
    let access = fresh.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app.post_json_auth(path, &access, &json!({})).await;
    expect_problem(r, 403, "reauthentication_required").await;
    let r = app
        .post_json_auth(path, &access, &json!({ "current_password": "wrong password" }))
        .await;
    expect_invalid_current_password(r).await;
    let r = app
        .post_json_auth(path, &access, &json!({ "current_password": PASSWORD }))
        .await;
    assert_eq!(r.status(), 200);
}

both!(a_signed_in_user_links_a_provider_through_the_api);
