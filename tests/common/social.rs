//! Stand-ins for GitHub and Facebook on 127.0.0.1:0 that speak their documented OAuth 2.0
//! protocols, so the whole browser-less flow runs against something that can say no:
//!
//! - GitHub: `/login/oauth/authorize` redirects back with `code` + `state` (or `error`);
//!   `/login/oauth/access_token` checks client id and secret, code, `redirect_uri` and the PKCE
//!   verifier, answers JSON only for `Accept: application/json`, and — like GitHub — reports a
//!   refused code as **200** with an `error` field; `/api/v3/user` and `/api/v3/user/emails`
//!   (Enterprise-style base path) demand the bearer token, a `User-Agent` and the API media type.
//! - Facebook: `/v19.0/dialog/oauth`, `/v19.0/oauth/access_token` (400 `OAuthException` on a
//!   bad code) and `/v19.0/me`, which demands the bearer token and a correct `appsecret_proof`
//!   and returns `email` only when the person has a confirmed one.

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

pub const CLIENT_ID: &str = "social-client";
pub const CLIENT_SECRET: &str = "social-secret";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    GitHub,
    Facebook,
}

/// One address on the GitHub account (`/user/emails`).
#[derive(Debug, Clone)]
pub struct GitHubEmail {
    pub email: String,
    pub primary: bool,
    pub verified: bool,
}

impl GitHubEmail {
    pub fn new(email: &str, primary: bool, verified: bool) -> Self {
        Self {
            email: email.into(),
            primary,
            verified,
        }
    }
}

/// How the next sign-in at the stand-in goes.
#[derive(Debug, Clone)]
pub struct Behaviour {
    /// GitHub's numeric id, or Facebook's app-scoped id.
    pub id: u64,
    pub login: String,
    pub name: String,
    /// GitHub: the account's addresses.
    pub github_emails: Vec<GitHubEmail>,
    /// Facebook: the confirmed address, if the person has one and shares it.
    pub facebook_email: Option<String>,
    /// `Some("access_denied")`: the authorize endpoint redirects back with this error.
    pub authorize_error: Option<String>,
    /// The token endpoint refuses every code.
    pub refuse_code: bool,
    /// The profile API answers this status instead of the profile.
    pub profile_status: Option<u16>,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            id: 4242,
            login: "octocat".into(),
            name: "Ada Lovelace".into(),
            github_emails: vec![
                GitHubEmail::new("old@example.com", false, true),
                GitHubEmail::new("social@example.com", true, true),
            ],
            facebook_email: Some("social@example.com".into()),
            authorize_error: None,
            refuse_code: false,
            profile_status: None,
        }
    }
}

struct Inner {
    kind: Kind,
    base: String,
    behaviour: Mutex<Behaviour>,
    /// code → (code_challenge, redirect_uri)
    codes: Mutex<HashMap<String, (String, String)>>,
    tokens: Mutex<HashSet<String>>,
    /// The query of the last authorize request, for tests to inspect.
    last_authorize: Mutex<HashMap<String, String>>,
}

#[derive(Clone)]
pub struct SocialStandIn {
    inner: Arc<Inner>,
}

impl SocialStandIn {
    pub async fn start(kind: Kind) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let standin = Self {
            inner: Arc::new(Inner {
                kind,
                base,
                behaviour: Mutex::new(Behaviour::default()),
                codes: Mutex::new(HashMap::new()),
                tokens: Mutex::new(HashSet::new()),
                last_authorize: Mutex::new(HashMap::new()),
            }),
        };
        let app = match kind {
            Kind::GitHub => Router::new()
                .route("/login/oauth/authorize", get(authorize))
                .route("/login/oauth/access_token", post(github_token))
                .route("/api/v3/user", get(github_user))
                .route("/api/v3/user/emails", get(github_emails)),
            Kind::Facebook => Router::new()
                .route("/v19.0/dialog/oauth", get(authorize))
                .route("/v19.0/oauth/access_token", post(facebook_token))
                .route("/v19.0/me", get(facebook_me)),
        }
        .with_state(standin.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        standin
    }

    pub fn set(&self, behaviour: Behaviour) {
        *self.inner.behaviour.lock().unwrap() = behaviour;
    }

    pub fn last_authorize(&self) -> HashMap<String, String> {
        self.inner.last_authorize.lock().unwrap().clone()
    }

    /// The settings gatehouse needs to use this stand-in.
    pub fn settings(&self) -> gatehouse::config::OAuthAppSettings {
        let b = &self.inner.base;
        let (web, api) = match self.inner.kind {
            Kind::GitHub => (b.clone(), format!("{b}/api/v3")),
            Kind::Facebook => (format!("{b}/v19.0"), format!("{b}/v19.0")),
        };
        gatehouse::config::OAuthAppSettings {
            client_id: CLIENT_ID.into(),
            client_secret: secrecy::SecretString::from(CLIENT_SECRET),
            scopes: match self.inner.kind {
                Kind::GitHub => vec!["read:user".into(), "user:email".into()],
                Kind::Facebook => vec!["email".into(), "public_profile".into()],
            },
            web_url: url::Url::parse(&web).unwrap(),
            api_url: url::Url::parse(&api).unwrap(),
        }
    }

    fn behaviour(&self) -> Behaviour {
        self.inner.behaviour.lock().unwrap().clone()
    }

    /// Checks a token request the way the real endpoint does; `Err` names the OAuth error.
    fn redeem(&self, f: &HashMap<String, String>) -> Result<String, &'static str> {
        if f.get("client_id").map(String::as_str) != Some(CLIENT_ID)
            || f.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET)
        {
            return Err("incorrect_client_credentials");
        }
        let Some((challenge, redirect_uri)) = f.get("code").and_then(|c| self.inner.codes.lock().unwrap().remove(c))
        else {
            return Err("bad_verification_code");
        };
        if self.behaviour().refuse_code {
            return Err("bad_verification_code");
        }
        if f.get("redirect_uri") != Some(&redirect_uri) {
            return Err("redirect_uri_mismatch");
        }
        let verifier = f.get("code_verifier").cloned().unwrap_or_default();
        if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != challenge {
            return Err("bad_verification_code");
        }
        let token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>());
        self.inner.tokens.lock().unwrap().insert(token.clone());
        Ok(token)
    }

    fn bearer_ok(&self, headers: &HeaderMap) -> Option<String> {
        let token = headers
            .get("authorization")?
            .to_str()
            .ok()?
            .strip_prefix("Bearer ")?
            .to_string();
        self.inner.tokens.lock().unwrap().contains(&token).then_some(token)
    }
}

async fn authorize(State(p): State<SocialStandIn>, Query(q): Query<HashMap<String, String>>) -> impl IntoResponse {
    assert_eq!(q.get("client_id").map(String::as_str), Some(CLIENT_ID));
    assert_eq!(q.get("code_challenge_method").map(String::as_str), Some("S256"));
    *p.inner.last_authorize.lock().unwrap() = q.clone();
    let mut back = url::Url::parse(&q["redirect_uri"]).unwrap();
    {
        let mut pairs = back.query_pairs_mut();
        if let Some(error) = p.behaviour().authorize_error {
            pairs.append_pair("error", &error);
            match p.inner.kind {
                Kind::GitHub => pairs.append_pair("error_description", "The user has denied your application access."),
                Kind::Facebook => pairs
                    .append_pair("error_code", "200")
                    .append_pair("error_description", "Permissions error")
                    .append_pair("error_reason", "user_denied"),
            };
        } else {
            let code = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
            p.inner
                .codes
                .lock()
                .unwrap()
                .insert(code.clone(), (q["code_challenge"].clone(), q["redirect_uri"].clone()));
            pairs.append_pair("code", &code);
        }
        pairs.append_pair("state", &q["state"]);
    }
    Redirect::to(back.as_str())
}

async fn github_token(
    State(p): State<SocialStandIn>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let answer = match p.redeem(&f) {
        Ok(token) => json!({ "access_token": token, "token_type": "bearer", "scope": "read:user,user:email" }),
        // GitHub reports a refused exchange with 200 and an `error` field.
        Err(e) => json!({ "error": e, "error_description": "refused", "error_uri": "https://docs.github.com" }),
    };
    if headers.get("accept").and_then(|v| v.to_str().ok()) != Some("application/json") {
        // Without `Accept: application/json` GitHub answers form-encoded.
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                answer
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k, v.as_str().unwrap_or(""))),
            )
            .finish();
        return ([("content-type", "application/x-www-form-urlencoded")], body).into_response();
    }
    Json(answer).into_response()
}

/// GitHub's API rules: bearer token, `User-Agent`, the media type; then the behaviour's status.
fn github_api_refusal(p: &SocialStandIn, headers: &HeaderMap) -> Option<Response> {
    if !headers.contains_key("user-agent") {
        return Some((StatusCode::FORBIDDEN, "Request forbidden by administrative rules.").into_response());
    }
    if headers.get("accept").and_then(|v| v.to_str().ok()) != Some("application/vnd.github+json") {
        return Some((StatusCode::UNSUPPORTED_MEDIA_TYPE, "wrong Accept").into_response());
    }
    if p.bearer_ok(headers).is_none() {
        return Some((StatusCode::UNAUTHORIZED, Json(json!({ "message": "Bad credentials" }))).into_response());
    }
    p.behaviour().profile_status.map(|s| {
        (
            StatusCode::from_u16(s).unwrap(),
            Json(json!({ "message": "stand-in failure" })),
        )
            .into_response()
    })
}

async fn github_user(State(p): State<SocialStandIn>, headers: HeaderMap) -> Response {
    if let Some(refusal) = github_api_refusal(&p, &headers) {
        return refusal;
    }
    let b = p.behaviour();
    Json(json!({ "id": b.id, "login": b.login, "name": b.name, "email": null })).into_response()
}

async fn github_emails(State(p): State<SocialStandIn>, headers: HeaderMap) -> Response {
    if let Some(refusal) = github_api_refusal(&p, &headers) {
        return refusal;
    }
    let emails: Vec<Value> = p
        .behaviour()
        .github_emails
        .iter()
        .map(|e| json!({ "email": e.email, "primary": e.primary, "verified": e.verified, "visibility": null }))
        .collect();
    Json(Value::Array(emails)).into_response()
}

fn facebook_error(message: &str, code: u32) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": { "message": message, "type": "OAuthException", "code": code, "fbtrace_id": "x" } })),
    )
        .into_response()
}

async fn facebook_token(State(p): State<SocialStandIn>, Form(f): Form<HashMap<String, String>>) -> Response {
    match p.redeem(&f) {
        Ok(token) => {
            Json(json!({ "access_token": token, "token_type": "bearer", "expires_in": 5183944 })).into_response()
        }
        Err(_) => facebook_error("Invalid verification code format.", 100),
    }
}

async fn facebook_me(
    State(p): State<SocialStandIn>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(token) = p.bearer_ok(&headers) else {
        return facebook_error("Invalid OAuth access token.", 190);
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(CLIENT_SECRET.as_bytes()).unwrap();
    mac.update(token.as_bytes());
    if q.get("appsecret_proof") != Some(&hex::encode(mac.finalize().into_bytes())) {
        return facebook_error("Invalid appsecret_proof provided in the API argument", 100);
    }
    let b = p.behaviour();
    if let Some(s) = b.profile_status {
        return (
            StatusCode::from_u16(s).unwrap(),
            Json(json!({ "error": { "message": "stand-in failure" } })),
        )
            .into_response();
    }
    let fields = q.get("fields").cloned().unwrap_or_default();
    let (first, last) = b.name.split_once(' ').unwrap_or((&b.name, ""));
    let mut me = serde_json::Map::new();
    me.insert("id".into(), json!(b.id.to_string()));
    for field in fields.split(',') {
        match field {
            "first_name" => me.insert("first_name".into(), json!(first)),
            "last_name" => me.insert("last_name".into(), json!(last)),
            "name" => me.insert("name".into(), json!(b.name)),
            "email" => match &b.facebook_email {
                Some(e) => me.insert("email".into(), json!(e)),
                None => None,
            },
            _ => None,
        };
    }
    Json(Value::Object(me)).into_response()
}
