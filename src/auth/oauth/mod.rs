//! Social login: OpenID Connect providers (Google and any generic OIDC issuer) and the two
//! plain OAuth 2.0 providers with their own profile APIs (GitHub, Facebook). All use the
//! authorization code flow with `state` bound to the browser and PKCE S256 (RFC 7636); OIDC adds
//! a `nonce` and a verified id_token.
//!
//! Decisions: OIDC discovery is read lazily on first use and cached (a provider that is down at
//! start does not stop gatehouse); the JWKS is fetched per callback so key rotation at the
//! provider needs no restart. The browser binding of `state` is an HMAC-signed, short-lived
//! HttpOnly cookie, so no server-side row is written before the user comes back.
//!
//! Provider failures never become a 500: the provider refusing our code is `400
//! oauth_code_rejected`; a provider that cannot be reached, answers 5xx, or answers something
//! that is not its documented shape is `503 provider_unavailable` (logged without URLs, since a
//! URL may carry a code or proof).

pub mod facebook;
pub mod flow;
pub mod github;
pub mod id_token;
pub mod identities;
pub mod oidc;
pub mod state_cookie;

use crate::config::{Config, OAuthAppSettings};
use crate::error::{Error, ErrorCode, Result};
use anyhow::Context;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use state_cookie::PendingLogin;
use std::collections::HashMap;
use std::sync::Arc;
use url::Url;

/// One provider a user can sign in with.
pub enum Provider {
    Oidc(oidc::OidcProvider),
    GitHub(OAuthAppSettings),
    Facebook(OAuthAppSettings),
}

/// What gatehouse learns about the person, whichever provider vouched for them.
#[derive(Debug, Clone)]
pub struct ProviderProfile {
    /// The provider's stable id for the person: OIDC `sub`, GitHub's numeric `id` (the login can
    /// be renamed and then taken by someone else), Facebook's app-scoped `id`.
    pub subject: String,
    pub email: Option<String>,
    /// Whether the provider says the person proved they own `email`.
    pub email_verified: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// What a provider needs to turn the callback's `code` into a profile.
pub struct CodeExchange<'a> {
    pub http: &'a reqwest::Client,
    pub code: &'a str,
    pub redirect_uri: &'a str,
    pub pending: &'a PendingLogin,
    /// Unix seconds from the injected clock.
    pub now: i64,
}

impl Provider {
    pub fn name(&self) -> &str {
        match self {
            Provider::Oidc(p) => &p.settings.name,
            Provider::GitHub(_) => "github",
            Provider::Facebook(_) => "facebook",
        }
    }

    /// The provider's sign-in page for this pending login.
    pub async fn authorize_url(
        &self,
        http: &reqwest::Client,
        redirect_uri: &str,
        pending: &PendingLogin,
    ) -> Result<Url> {
        match self {
            Provider::Oidc(p) => p.authorize_url(http, redirect_uri, pending).await,
            Provider::GitHub(s) => github::authorize_url(s, redirect_uri, pending),
            Provider::Facebook(s) => facebook::authorize_url(s, redirect_uri, pending),
        }
    }

    /// Trades the code for the provider's tokens and reads who signed in.
    pub async fn profile(&self, exchange: &CodeExchange<'_>) -> Result<ProviderProfile> {
        match self {
            Provider::Oidc(p) => p.profile(exchange).await,
            Provider::GitHub(s) => github::profile(s, exchange).await,
            Provider::Facebook(s) => facebook::profile(s, exchange).await,
        }
    }
}

/// The configured providers, by name, plus the HTTP client that talks to them.
#[derive(Clone)]
pub struct Providers {
    by_name: Arc<HashMap<String, Arc<Provider>>>,
    pub http: reqwest::Client,
}

impl Providers {
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let mut by_name: HashMap<String, Arc<Provider>> = config
            .oidc_providers
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    Arc::new(Provider::Oidc(oidc::OidcProvider::new(s.clone()))),
                )
            })
            .collect();
        if let Some(s) = &config.github {
            by_name.insert("github".into(), Arc::new(Provider::GitHub(s.clone())));
        }
        if let Some(s) = &config.facebook {
            by_name.insert("facebook".into(), Arc::new(Provider::Facebook(s.clone())));
        }
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            // GitHub's API refuses requests without one; the others ignore it.
            .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("could not build the HTTP client for OAuth providers")?;
        Ok(Self {
            by_name: Arc::new(by_name),
            http,
        })
    }

    /// Reads every OpenID Connect provider's discovery document now, in the background, so a
    /// wrong issuer or an unreachable provider shows in the log at start rather than at the
    /// first user's sign-in. A failure is only logged: the document is fetched again on use.
    pub fn prefetch_discovery(&self) {
        let oidc = self
            .by_name
            .values()
            .filter(|p| matches!(p.as_ref(), Provider::Oidc(_)));
        for provider in oidc {
            let (provider, http) = (provider.clone(), self.http.clone());
            tokio::spawn(async move {
                if let Provider::Oidc(oidc) = provider.as_ref() {
                    // A failure was logged (without secrets) by the fetch itself.
                    if oidc.discovery(&http).await.is_ok() {
                        tracing::info!(provider = %oidc.settings.name, "OpenID Connect discovery document read");
                    }
                }
            });
        }
    }

    /// The configured providers' names, sorted (the sign-in page's buttons).
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.by_name.keys().cloned().collect();
        names.sort();
        names
    }

    /// The provider called `name`, or 404 `provider_not_configured`.
    pub fn get(&self, name: &str) -> Result<Arc<Provider>> {
        self.by_name.get(name).cloned().ok_or_else(|| {
            Error::new(
                ErrorCode::ProviderNotConfigured,
                format!("sign-in with {name:?} is not offered by this server"),
            )
        })
    }
}

/// How a provider's name is shown to people (buttons, mails): the brand's own spelling for the
/// well-known ones, else the configured name with a capital letter.
pub fn display_name(name: &str) -> String {
    let known = [
        ("github", "GitHub"),
        ("gitlab", "GitLab"),
        ("facebook", "Facebook"),
        ("google", "Google"),
        ("microsoft", "Microsoft"),
        ("apple", "Apple"),
        ("linkedin", "LinkedIn"),
        ("keycloak", "Keycloak"),
    ];
    if let Some((_, label)) = known.iter().find(|(k, _)| *k == name) {
        return label.to_string();
    }
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

pub(crate) fn provider_unavailable(name: &str, e: impl std::fmt::Display) -> Error {
    tracing::warn!(provider = name, error = %e, "OAuth provider request failed");
    Error::Problem {
        code: ErrorCode::ProviderUnavailable,
        message: format!("the sign-in provider {name:?} could not be reached; try again later"),
    }
}

/// A transport failure, logged without its URL (which may hold a code or an `appsecret_proof`).
pub(crate) fn unreachable_provider(name: &str, e: reqwest::Error) -> Error {
    provider_unavailable(name, e.without_url())
}

/// The provider refused the authorization code (expired, used, wrong client or redirect URI).
/// `why` is the provider's own error name, for the operator; the user only needs to start again.
pub(crate) fn code_rejected(name: &str, why: &str) -> Error {
    tracing::warn!(
        provider = name,
        error = why,
        "OAuth provider refused the authorization code"
    );
    Error::new(
        ErrorCode::OauthCodeRejected,
        "the provider refused the sign-in code; start again",
    )
}

/// A documented JSON answer, or `provider_unavailable` for anything else (5xx, 4xx, other shape).
pub(crate) async fn read_json<T: DeserializeOwned>(name: &str, sent: reqwest::Result<reqwest::Response>) -> Result<T> {
    let response = sent.map_err(|e| unreachable_provider(name, e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(provider_unavailable(name, format!("answered HTTP {status}")));
    }
    response.json().await.map_err(|e| unreachable_provider(name, e))
}

/// RFC 7636 §4.2: `BASE64URL(SHA256(verifier))`.
pub(crate) fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// RFC 6749 §4.1.1 authorization request with PKCE S256; `extra` adds provider parameters.
pub(crate) fn authorization_request(
    endpoint: &str,
    provider: &str,
    client_id: &str,
    redirect_uri: &str,
    scope: &str,
    pending: &PendingLogin,
    extra: &[(&str, &str)],
) -> Result<Url> {
    let mut url =
        Url::parse(endpoint).map_err(|e| provider_unavailable(provider, format!("bad authorization endpoint: {e}")))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", scope)
        .append_pair("state", &pending.state)
        .append_pair("code_challenge", &pkce_challenge(&pending.pkce_verifier))
        .append_pair("code_challenge_method", "S256")
        .extend_pairs(extra);
    Ok(url)
}
