//! OpenID Connect providers (OIDC Core 1.0 §3.1, code flow): discovery, the authorize request
//! with a `nonce`, the token request, and the id_token checks in [`super::id_token`].

use super::state_cookie::PendingLogin;
use super::{authorization_request, code_rejected, id_token, read_json, unreachable_provider};
use super::{CodeExchange, ProviderProfile};
use crate::config::OidcProviderSettings;
use crate::error::{Error, ErrorCode, Result};
use secrecy::ExposeSecret;
use serde::Deserialize;
use tokio::sync::OnceCell;
use url::Url;

/// The parts of `/.well-known/openid-configuration` gatehouse uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    /// OIDC Core §5.3; where providers that keep the id_token small put the profile claims.
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
}

pub struct OidcProvider {
    pub settings: OidcProviderSettings,
    discovery: OnceCell<Discovery>,
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

/// What gatehouse reads from the UserInfo endpoint (OIDC Core §5.3.2).
#[derive(serde::Deserialize)]
struct UserInfo {
    sub: String,
    #[serde(default)]
    email: Option<String>,
    /// Missing counts as not verified.
    #[serde(default, deserialize_with = "id_token::lenient_bool")]
    email_verified: bool,
    #[serde(default)]
    given_name: Option<String>,
    #[serde(default)]
    family_name: Option<String>,
}

impl OidcProvider {
    pub fn new(settings: OidcProviderSettings) -> Self {
        Self {
            settings,
            discovery: OnceCell::new(),
        }
    }

    /// The discovery document, fetched once and cached (a failed fetch is retried next time).
    pub async fn discovery(&self, http: &reqwest::Client) -> Result<&Discovery> {
        self.discovery
            .get_or_try_init(|| async {
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    self.settings.issuer.as_str().trim_end_matches('/')
                );
                let discovery = read_json::<Discovery>(&self.settings.name, http.get(&url).send().await).await?;
                // OIDC Discovery §4.3: the document must name the issuer it was fetched for,
                // or a compromised or mistyped endpoint could vouch for another issuer's tokens.
                let configured = self.settings.issuer.as_str().trim_end_matches('/');
                if discovery.issuer.trim_end_matches('/') != configured {
                    return Err(super::provider_unavailable(
                        &self.settings.name,
                        format!(
                            "its discovery document names issuer {:?}, not the configured {configured:?}; check OIDC_{}_ISSUER",
                            discovery.issuer,
                            self.settings.name.to_ascii_uppercase()
                        ),
                    ));
                }
                Ok(discovery)
            })
            .await
    }

    pub async fn authorize_url(
        &self,
        http: &reqwest::Client,
        redirect_uri: &str,
        pending: &PendingLogin,
    ) -> Result<Url> {
        let discovery = self.discovery(http).await?;
        authorization_request(
            &discovery.authorization_endpoint,
            &self.settings.name,
            &self.settings.client_id,
            redirect_uri,
            &self.settings.scopes.join(" "),
            pending,
            &[("nonce", &pending.nonce)],
        )
    }

    pub async fn profile(&self, x: &CodeExchange<'_>) -> Result<ProviderProfile> {
        let name = &self.settings.name;
        let discovery = self.discovery(x.http).await?;
        let response = x
            .http
            .post(&discovery.token_endpoint)
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", x.code),
                ("redirect_uri", x.redirect_uri),
                ("client_id", &self.settings.client_id),
                ("client_secret", self.settings.client_secret.expose_secret()),
                ("code_verifier", &x.pending.pkce_verifier),
            ])
            .send()
            .await
            .map_err(|e| unreachable_provider(name, e))?;
        // RFC 6749 §5.2: a refused grant is a 400 (or 401 for client authentication).
        if response.status().is_client_error() {
            return Err(code_rejected(name, response.status().as_str()));
        }
        let body: TokenResponse = read_json(name, Ok(response)).await?;
        let raw = body
            .id_token
            .ok_or_else(|| Error::new(ErrorCode::InvalidIdToken, "the provider sent no id_token"))?;
        let jwks: jsonwebtoken::jwk::JwkSet = read_json(name, x.http.get(&discovery.jwks_uri).send().await).await?;
        let claims = id_token::verify(
            &raw,
            &jwks,
            &discovery.issuer,
            &self.settings.client_id,
            &x.pending.nonce,
            x.now,
        )?;
        let mut profile = ProviderProfile {
            subject: claims.sub,
            email: claims.email,
            email_verified: claims.email_verified,
            first_name: claims.given_name,
            last_name: claims.family_name,
        };
        let incomplete = profile.email.is_none()
            || !profile.email_verified
            || (profile.first_name.is_none() && profile.last_name.is_none());
        if let (true, Some(endpoint), Some(access)) = (incomplete, &discovery.userinfo_endpoint, &body.access_token) {
            let info: UserInfo = read_json(name, x.http.get(endpoint).bearer_auth(access).send().await).await?;
            merge_userinfo(&mut profile, info)?;
        }
        Ok(profile)
    }
}

/// OIDC Core §5.4: many providers return the `email` and `profile` claims from UserInfo, not in
/// the id_token. Its `sub` must be the id_token's (§5.3.2), or the answer is about someone else.
/// An address from UserInfo comes with UserInfo's own `email_verified` (missing: not verified).
fn merge_userinfo(profile: &mut ProviderProfile, info: UserInfo) -> Result<()> {
    if info.sub != profile.subject {
        return Err(Error::new(
            ErrorCode::InvalidIdToken,
            "the provider's userinfo answer names another user than its id_token",
        ));
    }
    if info.email.is_some() {
        profile.email = info.email;
        profile.email_verified = info.email_verified;
    }
    if profile.first_name.is_none() {
        profile.first_name = info.given_name;
    }
    if profile.last_name.is_none() {
        profile.last_name = info.family_name;
    }
    Ok(())
}
