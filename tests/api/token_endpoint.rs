//! `POST /api/auth/token`: the OAuth 2.0 password grant and refresh, driven by the `oauth2`
//! crate (a standard client library) and by hand for the RFC 6749 §5.2 error cases.

use crate::both;
use crate::common::*;
use crate::roles::claims;
use oauth2::basic::{BasicClient, BasicErrorResponseType, BasicTokenType};
use oauth2::{
    ClientId, EndpointNotSet, EndpointSet, RefreshToken, RequestTokenError, ResourceOwnerPassword,
    ResourceOwnerUsername, TokenResponse, TokenUrl,
};
use serde_json::{json, Value};

/// A client knowing only the token endpoint (what the password grant needs).
type Client = BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

fn oauth_client(app: &TestApp) -> Client {
    BasicClient::new(ClientId::new("fastapi-frontend".into()))
        .set_token_uri(TokenUrl::new(app.url("/api/auth/token")).unwrap())
}

/// An HTTP client as the oauth2 crate advises: no redirects followed (SSRF).
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn post_form(app: &TestApp, form: &[(&str, &str)]) -> reqwest::Response {
    app.send(app.client.post(app.url("/api/auth/token")).form(form)).await
}

/// Asserts an RFC 6749 §5.2 answer and returns its body.
async fn expect_oauth_error(r: reqwest::Response, status: u16, error: &str) -> Value {
    let got = r.status().as_u16();
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "{:?}",
        r.headers()["content-type"]
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(got, status, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
    body
}

async fn the_oauth2_crate_gets_tokens_with_the_password_grant(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified("rahim@example.com").await;
    let client = oauth_client(&app);
    let http = http();
    let token = client
        .exchange_password(
            &ResourceOwnerUsername::new("rahim@example.com".into()),
            &ResourceOwnerPassword::new(PASSWORD.into()),
        )
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(*token.token_type(), BasicTokenType::Bearer);
    assert_eq!(token.expires_in(), Some(std::time::Duration::from_secs(900)));
    let access = token.access_token().secret();
    assert_eq!(claims(access)["amr"], json!(["pwd"]));
    let me: Value = app.me(access).await.json().await.unwrap();
    assert_eq!(me["email"], "rahim@example.com");

    // Refresh with the same library: a new pair, and the old refresh token is spent.
    let first_refresh = token.refresh_token().unwrap().clone();
    let refreshed = client
        .exchange_refresh_token(&first_refresh)
        .request_async(&http)
        .await
        .unwrap();
    assert_ne!(refreshed.refresh_token().unwrap().secret(), first_refresh.secret());
    assert_eq!(app.me(refreshed.access_token().secret()).await.status(), 200);
    app.advance(chrono::Duration::minutes(1));
    match client.exchange_refresh_token(&first_refresh).request_async(&http).await {
        Err(RequestTokenError::ServerResponse(e)) => {
            assert_eq!(*e.error(), BasicErrorResponseType::InvalidGrant);
            assert!(e.error_description().unwrap().contains("already used"), "{e:?}");
        }
        other => panic!("a reused refresh token was not refused: {other:?}"),
    }
    let bogus = RefreshToken::new("not-a-refresh-token".into());
    assert!(matches!(
        client.exchange_refresh_token(&bogus).request_async(&http).await,
        Err(RequestTokenError::ServerResponse(e)) if *e.error() == BasicErrorResponseType::InvalidGrant
    ));
}

async fn wrong_password_and_unknown_user_are_the_same_invalid_grant(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified("rahim@example.com").await;
    let client = oauth_client(&app);
    let http = http();
    let mut answers = Vec::new();
    for (user, password) in [
        ("rahim@example.com", "not the password at all"),
        ("nobody@example.com", "not the password at all"),
        ("no_such_username", "not the password at all"),
    ] {
        match client
            .exchange_password(
                &ResourceOwnerUsername::new(user.into()),
                &ResourceOwnerPassword::new(password.into()),
            )
            .request_async(&http)
            .await
        {
            Err(RequestTokenError::ServerResponse(e)) => {
                assert_eq!(*e.error(), BasicErrorResponseType::InvalidGrant, "{user}");
            }
            other => panic!("{user}: {other:?}"),
        }
        let raw = post_form(
            &app,
            &[("grant_type", "password"), ("username", user), ("password", password)],
        )
        .await;
        answers.push(expect_oauth_error(raw, 400, "invalid_grant").await);
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0], answers[2]);
    assert_eq!(answers[0]["code"], "invalid_credentials");
}

async fn an_unverified_email_gets_invalid_grant_saying_to_verify(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_pending("pending@example.com").await;
    let body = expect_oauth_error(
        post_form(
            &app,
            &[
                ("grant_type", "password"),
                ("username", "pending@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(body["code"], "email_not_verified");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("confirm your email"),
        "{body}"
    );
}

async fn the_form_answers_per_rfc_6749(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut reg = registration("rahim@example.com");
    reg["username"] = json!("rahim_uddin");
    assert_eq!(app.register(&reg).await.status(), 201);
    let mail = app.mail_to("rahim@example.com", 0).await;
    app.post_json("/api/auth/verify-email", &json!({ "token": verification_token(&mail) }))
        .await;

    // Success by username, as FastAPI's OAuth2PasswordRequestForm sends it (scope, empty client fields).
    let r = post_form(
        &app,
        &[
            ("grant_type", "password"),
            ("username", "rahim_uddin"),
            ("password", PASSWORD),
            ("scope", ""),
            ("client_id", ""),
            ("client_secret", ""),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["pragma"], "no-cache");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(body["access_token"].is_string() && body["refresh_token"].is_string());

    let r = post_form(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);

    expect_oauth_error(
        post_form(&app, &[("grant_type", "client_credentials")]).await,
        400,
        "unsupported_grant_type",
    )
    .await;
    expect_oauth_error(
        post_form(&app, &[("username", "rahim_uddin"), ("password", PASSWORD)]).await,
        400,
        "invalid_request",
    )
    .await;
    let missing = expect_oauth_error(
        post_form(&app, &[("grant_type", "password"), ("username", "rahim_uddin")]).await,
        400,
        "invalid_request",
    )
    .await;
    assert!(
        missing["error_description"].as_str().unwrap().contains("password"),
        "{missing}"
    );
    expect_oauth_error(
        post_form(&app, &[("grant_type", "refresh_token")]).await,
        400,
        "invalid_request",
    )
    .await;
    // §3.2: a parameter may not be repeated.
    expect_oauth_error(
        post_form(
            &app,
            &[
                ("grant_type", "password"),
                ("username", "a_b_c"),
                ("username", "rahim_uddin"),
                ("password", PASSWORD),
            ],
        )
        .await,
        400,
        "invalid_request",
    )
    .await;
    // JSON is not the form encoding.
    let r = app
        .post_json(
            "/api/auth/token",
            &json!({ "grant_type": "password", "username": "rahim_uddin", "password": PASSWORD }),
        )
        .await;
    expect_oauth_error(r, 400, "invalid_request").await;

    // A client secret cannot be checked (no confidential clients): 401 invalid_client.
    let r = post_form(
        &app,
        &[
            ("grant_type", "password"),
            ("username", "rahim_uddin"),
            ("password", PASSWORD),
            ("client_secret", "s3cret"),
        ],
    )
    .await;
    expect_oauth_error(r, 401, "invalid_client").await;
    let r = app
        .send(
            app.client
                .post(app.url("/api/auth/token"))
                .basic_auth("frontend", Some("s3cret"))
                .form(&[
                    ("grant_type", "password"),
                    ("username", "rahim_uddin"),
                    ("password", PASSWORD),
                ]),
        )
        .await;
    assert_eq!(r.headers()["www-authenticate"], "Basic realm=\"gatehouse\"");
    expect_oauth_error(r, 401, "invalid_client").await;
    // ... but Basic with an empty secret (what Swagger UI sends) is no authentication at all.
    let r = app
        .send(
            app.client
                .post(app.url("/api/auth/token"))
                .basic_auth("", Some(""))
                .form(&[
                    ("grant_type", "password"),
                    ("username", "rahim_uddin"),
                    ("password", PASSWORD),
                ]),
        )
        .await;
    assert_eq!(r.status(), 200);
}

async fn openapi_declares_the_password_flow(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    let scheme = &doc["components"]["securitySchemes"]["oauth2_password"];
    assert_eq!(scheme["type"], "oauth2", "{scheme}");
    assert_eq!(scheme["flows"]["password"]["tokenUrl"], "/api/auth/token");
    let token = &doc["paths"]["/api/auth/token"]["post"];
    assert!(
        token["requestBody"]["content"]["application/x-www-form-urlencoded"].is_object(),
        "{token}"
    );
    // Protected operations accept it, so "Authorize" in /docs applies to them.
    for (path, method) in [("/api/auth/me", "get"), ("/api/auth/me", "patch")] {
        let security = doc["paths"][path][method]["security"].as_array().unwrap();
        assert!(
            security.iter().any(|s| s.get("oauth2_password").is_some()),
            "{path} {method}: {security:?}"
        );
    }
}

both!(
    the_oauth2_crate_gets_tokens_with_the_password_grant,
    wrong_password_and_unknown_user_are_the_same_invalid_grant,
    an_unverified_email_gets_invalid_grant_saying_to_verify,
    the_form_answers_per_rfc_6749,
    openapi_declares_the_password_flow
);
