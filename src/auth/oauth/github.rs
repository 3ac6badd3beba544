//! Sign-in with a GitHub OAuth App (plain OAuth 2.0: GitHub has no id_token).
//!
//! - Authorize at `{GITHUB_URL}/login/oauth/authorize` with `state` and PKCE S256; the token is
//!   requested at `{GITHUB_URL}/login/oauth/access_token` with `Accept: application/json`.
//!   GitHub answers a refused code with **200** and an `error` field (`bad_verification_code`,
//!   `incorrect_client_credentials`, `redirect_uri_mismatch`), so the body is checked, not only
//!   the status.
//! - Who signed in: `GET {GITHUB_API_URL}/user` (the numeric `id` is the identity: a `login` can
//!   be renamed and then claimed by someone else) and `GET /user/emails`, of which only the
//!   address that is both `primary` and `verified` counts. A primary address that is not
//!   verified is passed on as unverified (it can neither link nor create an account); other
//!   verified addresses are ignored, since the user chose the primary one as theirs.
//! - API calls carry `Accept: application/vnd.github+json`, the API version header and a
//!   `User-Agent` (GitHub refuses requests without one).

use super::state_cookie::PendingLogin;
use super::{authorization_request, code_rejected, read_json, unreachable_provider, CodeExchange, ProviderProfile};
use crate::config::OAuthAppSettings;
use crate::error::Result;
use reqwest::header::ACCEPT;
use secrecy::ExposeSecret;
use serde::Deserialize;
use url::Url;

const NAME: &str = "github";
const API_MEDIA_TYPE: &str = "application/vnd.github+json";
const API_VERSION: &str = "2022-11-28";

pub fn authorize_url(s: &OAuthAppSettings, redirect_uri: &str, pending: &PendingLogin) -> Result<Url> {
    authorization_request(
        &s.web("/login/oauth/authorize"),
        NAME,
        &s.client_id,
        redirect_uri,
        &s.scopes.join(" "),
        pending,
        &[],
    )
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct User {
    id: u64,
    name: Option<String>,
}

#[derive(Deserialize)]
struct UserEmail {
    email: String,
    #[serde(default)]
    primary: bool,
    #[serde(default)]
    verified: bool,
}

pub async fn profile(s: &OAuthAppSettings, x: &CodeExchange<'_>) -> Result<ProviderProfile> {
    let response = x
        .http
        .post(s.web("/login/oauth/access_token"))
        .header(ACCEPT, "application/json")
        .form(&[
            ("client_id", s.client_id.as_str()),
            ("client_secret", s.client_secret.expose_secret()),
            ("code", x.code),
            ("redirect_uri", x.redirect_uri),
            ("code_verifier", &x.pending.pkce_verifier),
        ])
        .send()
        .await
        .map_err(|e| unreachable_provider(NAME, e))?;
    if response.status().is_client_error() {
        return Err(code_rejected(NAME, response.status().as_str()));
    }
    let answer: TokenAnswer = read_json(NAME, Ok(response)).await?;
    let token = match (answer.access_token, answer.error) {
        (_, Some(error)) => return Err(code_rejected(NAME, &error)),
        (Some(token), None) if !token.is_empty() => token,
        _ => return Err(code_rejected(NAME, "no access_token in the answer")),
    };
    let api = |path: &str| {
        x.http
            .get(s.api(path))
            .bearer_auth(&token)
            .header(ACCEPT, API_MEDIA_TYPE)
            .header("x-github-api-version", API_VERSION)
            .send()
    };
    let user: User = read_json(NAME, api("/user").await).await?;
    let emails: Vec<UserEmail> = read_json(NAME, api("/user/emails").await).await?;
    let primary = emails.into_iter().find(|e| e.primary);
    let (first_name, last_name) = split_name(user.name.as_deref());
    Ok(ProviderProfile {
        subject: user.id.to_string(),
        email_verified: primary.as_ref().is_some_and(|e| e.verified),
        email: primary.map(|e| e.email),
        first_name,
        last_name,
    })
}

/// GitHub has one free-form `name`; "Ada Lovelace" prefills both names, anything else neither.
fn split_name(name: Option<&str>) -> (Option<String>, Option<String>) {
    let parts: Vec<&str> = name.unwrap_or_default().split_whitespace().collect();
    match parts.as_slice() {
        [first, last] => (Some(first.to_string()), Some(last.to_string())),
        _ => (None, None),
    }
}
