//! Social login through OpenID Connect providers (OIDC Core 1.0, authorization code flow with
//! PKCE S256 — RFC 7636 — and a nonce).
//!
//! Decisions: the discovery document is read lazily on first use and cached (a provider that is
//! down at start does not stop gatehouse); the JWKS is fetched per callback so key rotation at
//! the provider needs no restart. The browser binding of `state` is an HMAC-signed, short-lived
//! HttpOnly cookie, so no server-side row is written before the user comes back.

pub mod flow;
pub mod id_token;
pub mod identities;
pub mod state_cookie;

use crate::config::OidcProviderSettings;
use crate::error::{Error, Result};
use anyhow::Context;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// The parts of `/.well-known/openid-configuration` gatehouse uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

pub struct Provider {
    pub settings: OidcProviderSettings,
    discovery: OnceCell<Discovery>,
}

/// The configured providers, by name, plus the HTTP client that talks to them.
#[derive(Clone)]
pub struct Providers {
    by_name: Arc<HashMap<String, Arc<Provider>>>,
    pub http: reqwest::Client,
}

impl Providers {
    pub fn new(settings: &[OidcProviderSettings]) -> anyhow::Result<Self> {
        let by_name = settings
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    Arc::new(Provider {
                        settings: s.clone(),
                        discovery: OnceCell::new(),
                    }),
                )
            })
            .collect();
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("could not build the HTTP client for OAuth providers")?;
        Ok(Self {
            by_name: Arc::new(by_name),
            http,
        })
    }

    /// The provider called `name`, or 404 `provider_not_configured`.
    pub fn get(&self, name: &str) -> Result<Arc<Provider>> {
        self.by_name.get(name).cloned().ok_or_else(|| {
            Error::not_found(
                "provider_not_configured",
                format!("sign-in with {name:?} is not offered by this server"),
            )
        })
    }
}

impl Provider {
    /// The discovery document, fetched once and cached (a failed fetch is retried next time).
    pub async fn discovery(&self, http: &reqwest::Client) -> Result<&Discovery> {
        self.discovery
            .get_or_try_init(|| async {
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    self.settings.issuer.as_str().trim_end_matches('/')
                );
                let doc: Discovery = http
                    .get(&url)
                    .send()
                    .await
                    .and_then(|r| r.error_for_status())
                    .map_err(|e| provider_unavailable(&self.settings.name, e))?
                    .json()
                    .await
                    .map_err(|e| provider_unavailable(&self.settings.name, e))?;
                Ok::<_, Error>(doc)
            })
            .await
    }
}

pub(crate) fn provider_unavailable(name: &str, e: impl std::fmt::Display) -> Error {
    tracing::warn!(provider = name, error = %e, "OAuth provider request failed");
    Error::Unavailable {
        code: "provider_unavailable",
        message: format!("the sign-in provider {name:?} could not be reached; try again later"),
    }
}
