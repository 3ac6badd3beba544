//! Social-login providers in the settings: generic OpenID Connect ones by name, and the two
//! plain OAuth 2.0 providers with profile APIs of their own (GitHub, Facebook).

use super::load::Reader;
use super::*;

/// Google needs no issuer setting: this is its well-known one.
const GOOGLE_ISSUER: &str = "https://accounts.google.com";

pub(super) fn oidc_providers(r: &mut Reader<'_>) -> Vec<OidcProviderSettings> {
    let names = r.raw("OIDC_PROVIDERS").unwrap_or_default();
    let mut providers = Vec::new();
    for name in names
        .split(',')
        .map(|n| n.trim().to_ascii_lowercase())
        .filter(|n| !n.is_empty())
    {
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            r.problems.push(format!(
                "OIDC_PROVIDERS must list names made of letters, digits and _ (got {name:?})"
            ));
            continue;
        }
        let key = |suffix: &str| format!("OIDC_{}_{suffix}", name.to_ascii_uppercase());
        let default_issuer = (name == "google").then(|| GOOGLE_ISSUER.to_string());
        let issuer = match r.raw(&key("ISSUER")).or(default_issuer).map(|v| Url::parse(&v)) {
            Some(Ok(u)) if matches!(u.scheme(), "http" | "https") => Some(u),
            _ => {
                r.problems.push(format!(
                    "{} must be the provider's issuer URL, such as https://accounts.google.com",
                    key("ISSUER")
                ));
                None
            }
        };
        let client_id = r.raw(&key("CLIENT_ID")).filter(|v| !v.trim().is_empty());
        if client_id.is_none() {
            r.problems.push(format!(
                "{} must be the client id from the provider's console",
                key("CLIENT_ID")
            ));
        }
        let client_secret = r.raw(&key("CLIENT_SECRET")).filter(|v| !v.trim().is_empty());
        if client_secret.is_none() {
            r.problems.push(format!(
                "{} must be the client secret from the provider's console",
                key("CLIENT_SECRET")
            ));
        }
        let scopes = r
            .raw(&key("SCOPES"))
            .unwrap_or_else(|| "openid email profile".into())
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if let (Some(issuer), Some(client_id), Some(secret)) = (issuer, client_id, client_secret) {
            providers.push(OidcProviderSettings {
                name,
                issuer,
                client_id,
                client_secret: SecretString::from(secret),
                scopes,
            });
        }
    }
    providers
}

/// The setting names and documented defaults of one built-in OAuth 2.0 provider.
pub(super) struct OAuthAppDefaults {
    prefix: &'static str,
    scopes: &'static str,
    web_url: &'static str,
    /// The name of the API base URL setting after the prefix (`API_URL`, `GRAPH_URL`).
    api_setting: &'static str,
    api_url: &'static str,
}

/// `read:user` for the numeric id, `user:email` for `/user/emails` (the verified flags).
pub(super) const GITHUB_DEFAULTS: OAuthAppDefaults = OAuthAppDefaults {
    prefix: "GITHUB",
    scopes: "read:user user:email",
    web_url: "https://github.com",
    api_setting: "API_URL",
    api_url: "https://api.github.com",
};

/// Graph API v19.0, the version the integration was written and tested against.
pub(super) const FACEBOOK_DEFAULTS: OAuthAppDefaults = OAuthAppDefaults {
    prefix: "FACEBOOK",
    scopes: "email public_profile",
    web_url: "https://www.facebook.com/v19.0",
    api_setting: "GRAPH_URL",
    api_url: "https://graph.facebook.com/v19.0",
};

/// A built-in provider is offered exactly when its client id and secret are both set.
pub(super) fn oauth_app(r: &mut Reader<'_>, d: &OAuthAppDefaults) -> Option<OAuthAppSettings> {
    let key = |suffix: &str| format!("{}_{suffix}", d.prefix);
    let client_id = r.raw(&key("CLIENT_ID"));
    let client_secret = r.raw(&key("CLIENT_SECRET"));
    let url = |r: &mut Reader<'_>, name: &str, default: &str| {
        r.parse(&key(name), Url::parse(default).ok(), "an absolute http(s) URL", |v| {
            Url::parse(v)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                .map(Some)
        })
    };
    let web_url = url(r, "URL", d.web_url);
    let api_url = url(r, d.api_setting, d.api_url);
    match (client_id, client_secret) {
        (None, None) => None,
        (Some(client_id), Some(secret)) => Some(OAuthAppSettings {
            client_id,
            client_secret: SecretString::from(secret),
            scopes: r
                .raw(&key("SCOPES"))
                .unwrap_or_else(|| d.scopes.to_string())
                .split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            web_url: web_url?,
            api_url: api_url?,
        }),
        (id, _) => {
            let missing = if id.is_none() { "CLIENT_ID" } else { "CLIENT_SECRET" };
            r.problems.push(format!(
                "{} must be set too (from the provider's console) when {} is set",
                key(missing),
                key(if id.is_none() { "CLIENT_SECRET" } else { "CLIENT_ID" })
            ));
            None
        }
    }
}
