//! A stand-in OpenID Connect provider on 127.0.0.1:0 that speaks the real protocol: discovery,
//! an authorize endpoint that "signs the user in" at once and redirects back with code + state,
//! a token endpoint that checks the PKCE verifier and client secret and returns an id_token
//! signed with a real Ed25519 key, and the JWKS publishing that key. `Behaviour` bends the
//! id_token (issuer, audience, expiry, nonce, signing key) or returns an error instead.

use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub const CLIENT_ID: &str = "gatehouse-client";
pub const CLIENT_SECRET: &str = "stand-in-secret";
const KID: &str = "stand-in-key";

/// How the next sign-in at the stand-in goes.
#[derive(Debug, Clone)]
pub struct Behaviour {
    pub sub: String,
    pub email: String,
    pub email_verified: bool,
    /// `Some("access_denied")`: the authorize endpoint redirects back with this error.
    pub error: Option<String>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    /// Seconds from now (negative: already expired).
    pub expires_in: i64,
    pub nonce: Option<String>,
    /// Sign with a key the JWKS does not publish (same `kid`).
    pub foreign_key: bool,
    /// Like many certified providers (OIDC Core §5.4): the id_token carries `sub` only, and
    /// `email`, `email_verified` and names come from the UserInfo endpoint.
    pub claims_in_userinfo_only: bool,
    /// UserInfo's `email_verified`: `None` leaves the claim out.
    pub userinfo_email_verified: Option<bool>,
    /// UserInfo answers another `sub` than the id_token.
    pub userinfo_sub: Option<String>,
    /// UserInfo answers 500.
    pub userinfo_down: bool,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            sub: "subject-1".into(),
            email: "social@example.com".into(),
            email_verified: true,
            error: None,
            issuer: None,
            audience: None,
            expires_in: 300,
            nonce: None,
            foreign_key: false,
            claims_in_userinfo_only: false,
            userinfo_email_verified: Some(true),
            userinfo_sub: None,
            userinfo_down: false,
        }
    }
}

struct Inner {
    issuer: String,
    key: Vec<u8>,
    public_x: String,
    foreign: Vec<u8>,
    behaviour: Mutex<Behaviour>,
    /// code → (nonce, code_challenge)
    codes: Mutex<HashMap<String, (String, String)>>,
}

#[derive(Clone)]
pub struct StandInProvider {
    inner: Arc<Inner>,
}

fn ed25519() -> Vec<u8> {
    let rng = ring::rand::SystemRandom::new();
    Ed25519KeyPair::generate_pkcs8(&rng).unwrap().as_ref().to_vec()
}

impl StandInProvider {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let key = ed25519();
        let public_x = URL_SAFE_NO_PAD.encode(Ed25519KeyPair::from_pkcs8(&key).unwrap().public_key().as_ref());
        let provider = Self {
            inner: Arc::new(Inner {
                issuer,
                key,
                public_x,
                foreign: ed25519(),
                behaviour: Mutex::new(Behaviour::default()),
                codes: Mutex::new(HashMap::new()),
            }),
        };
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/jwks", get(jwks))
            .route("/userinfo", get(userinfo))
            .with_state(provider.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        provider
    }

    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    pub fn set(&self, behaviour: Behaviour) {
        *self.inner.behaviour.lock().unwrap() = behaviour;
    }

    /// The settings gatehouse needs to use this provider under `name`.
    pub fn settings(&self, name: &str) -> gatehouse::config::OidcProviderSettings {
        gatehouse::config::OidcProviderSettings {
            name: name.into(),
            issuer: url::Url::parse(self.issuer()).unwrap(),
            client_id: CLIENT_ID.into(),
            client_secret: secrecy::SecretString::from(CLIENT_SECRET),
            scopes: vec!["openid".into(), "email".into()],
        }
    }
}

async fn discovery(State(p): State<StandInProvider>) -> Json<Value> {
    let i = &p.inner.issuer;
    Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/jwks"),
        "userinfo_endpoint": format!("{i}/userinfo"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn authorize(State(p): State<StandInProvider>, Query(q): Query<HashMap<String, String>>) -> impl IntoResponse {
    assert_eq!(q.get("client_id").map(String::as_str), Some(CLIENT_ID));
    assert_eq!(q.get("response_type").map(String::as_str), Some("code"));
    assert_eq!(q.get("code_challenge_method").map(String::as_str), Some("S256"));
    let mut back = url::Url::parse(&q["redirect_uri"]).unwrap();
    let behaviour = p.inner.behaviour.lock().unwrap().clone();
    {
        let mut pairs = back.query_pairs_mut();
        if let Some(error) = &behaviour.error {
            pairs.append_pair("error", error);
        } else {
            let code = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
            p.inner
                .codes
                .lock()
                .unwrap()
                .insert(code.clone(), (q["nonce"].clone(), q["code_challenge"].clone()));
            pairs.append_pair("code", &code);
        }
        pairs.append_pair("state", &q["state"]);
    }
    Redirect::to(back.as_str())
}

async fn token(State(p): State<StandInProvider>, Form(f): Form<HashMap<String, String>>) -> impl IntoResponse {
    let bad = |e: &str| (axum::http::StatusCode::BAD_REQUEST, Json(json!({ "error": e }))).into_response();
    if f.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET) {
        return bad("invalid_client");
    }
    let Some((nonce, challenge)) = f.get("code").and_then(|c| p.inner.codes.lock().unwrap().remove(c)) else {
        return bad("invalid_grant");
    };
    let verifier = f.get("code_verifier").cloned().unwrap_or_default();
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != challenge {
        return bad("invalid_grant");
    }
    let b = p.inner.behaviour.lock().unwrap().clone();
    let mut claims = json!({
        "iss": b.issuer.clone().unwrap_or_else(|| p.inner.issuer.clone()),
        "aud": b.audience.clone().unwrap_or_else(|| CLIENT_ID.into()),
        "sub": b.sub,
        "nonce": b.nonce.clone().unwrap_or(nonce),
        "iat": chrono::Utc::now().timestamp(),
        "exp": chrono::Utc::now().timestamp() + b.expires_in,
    });
    if !b.claims_in_userinfo_only {
        claims["email"] = json!(b.email);
        claims["email_verified"] = json!(b.email_verified);
    }
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(KID.into());
    let key = if b.foreign_key { &p.inner.foreign } else { &p.inner.key };
    let id_token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(key)).unwrap();
    Json(json!({ "access_token": USERINFO_TOKEN, "token_type": "Bearer", "expires_in": 300, "id_token": id_token }))
        .into_response()
}

const USERINFO_TOKEN: &str = "stand-in-access-token";

/// OIDC Core §5.3: the claims about the signed-in user, for the access token the token endpoint
/// gave. Without `claims_in_userinfo_only` it repeats what the id_token said.
async fn userinfo(State(p): State<StandInProvider>, headers: axum::http::HeaderMap) -> impl IntoResponse {
    let b = p.inner.behaviour.lock().unwrap().clone();
    if b.userinfo_down {
        return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "down").into_response();
    }
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok());
    if bearer != Some(&format!("Bearer {USERINFO_TOKEN}")) {
        return (
            axum::http::StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "invalid_token" })),
        )
            .into_response();
    }
    let mut claims = json!({
        "sub": b.userinfo_sub.clone().unwrap_or(b.sub.clone()),
        "email": b.email,
    });
    if b.claims_in_userinfo_only {
        claims["given_name"] = json!("Karim");
        claims["family_name"] = json!("Hossain");
    }
    let verified = if b.claims_in_userinfo_only {
        b.userinfo_email_verified
    } else {
        Some(b.email_verified)
    };
    if let Some(v) = verified {
        claims["email_verified"] = json!(v);
    }
    Json(claims).into_response()
}

async fn jwks(State(p): State<StandInProvider>) -> Json<Value> {
    Json(
        json!({ "keys": [{ "kty": "OKP", "crv": "Ed25519", "x": p.inner.public_x, "kid": KID, "alg": "EdDSA", "use": "sig" }] }),
    )
}
