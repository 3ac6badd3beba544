//! Facebook Login (OAuth 2.0 + Graph API), the "manually built login flow".
//!
//! - Authorize at `{FACEBOOK_URL}/dialog/oauth` with `state` and PKCE S256 (Facebook documents
//!   `code_challenge` for its code flow; where it does not apply it is ignored, and the verifier
//!   sent with the token request is ignored likewise — sending both never breaks a sign-in).
//! - The code is traded at `{FACEBOOK_GRAPH_URL}/oauth/access_token` with a form POST, not the
//!   GET of Facebook's examples, so the app secret never sits in a URL (proxy and access logs).
//!   Refusals are HTTP 400 with `{"error": {"type": "OAuthException", ...}}`.
//! - Who signed in: `GET /me?fields=id,first_name,last_name,name,email` with the token in the
//!   `Authorization` header and `appsecret_proof` = HMAC-SHA256(app secret, access token), which
//!   Facebook recommends (and apps may require) so a token stolen from elsewhere is useless
//!   without our secret. `id` is app-scoped: the same person has another id in another app.
//! - **Email**: Graph returns `email` only when the address is confirmed with Facebook, so an
//!   address that is present counts as provider-verified. A person without one (signed up with
//!   a phone number, or declined the `email` permission) can sign in again with an identity that
//!   is already linked, but a *new* identity without an email is refused with
//!   `oauth_email_missing`: gatehouse accounts always have an address (it is how passwords are
//!   reset and MFA codes mailed), so the user is asked to share one or register with email.

use super::state_cookie::PendingLogin;
use super::{authorization_request, code_rejected, read_json, unreachable_provider, CodeExchange, ProviderProfile};
use crate::config::OAuthAppSettings;
use crate::error::Result;
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use serde::Deserialize;
use sha2::Sha256;
use url::Url;

const NAME: &str = "facebook";

pub fn authorize_url(s: &OAuthAppSettings, redirect_uri: &str, pending: &PendingLogin) -> Result<Url> {
    // Facebook accepts comma- or space-separated scopes; commas are what its docs show.
    authorization_request(
        &s.web("/dialog/oauth"),
        NAME,
        &s.client_id,
        redirect_uri,
        &s.scopes.join(","),
        pending,
        &[],
    )
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
}

#[derive(Deserialize)]
struct Me {
    id: String,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
}

pub async fn profile(s: &OAuthAppSettings, x: &CodeExchange<'_>) -> Result<ProviderProfile> {
    let secret = s.client_secret.expose_secret();
    let response = x
        .http
        .post(s.api("/oauth/access_token"))
        .form(&[
            ("client_id", s.client_id.as_str()),
            ("client_secret", secret),
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
    let token: TokenAnswer = read_json(NAME, Ok(response)).await?;
    let proof = appsecret_proof(secret, &token.access_token);
    let me: Me = read_json(
        NAME,
        x.http
            .get(s.api("/me"))
            .query(&[
                ("fields", "id,first_name,last_name,name,email"),
                ("appsecret_proof", &proof),
            ])
            .bearer_auth(&token.access_token)
            .send()
            .await,
    )
    .await?;
    Ok(ProviderProfile {
        subject: me.id,
        email_verified: me.email.is_some(),
        email: me.email,
        first_name: me.first_name,
        last_name: me.last_name,
    })
}

/// Facebook's `appsecret_proof`: hex HMAC-SHA256 of the access token keyed by the app secret
/// (plain HMAC over the token bytes, unlike our length-prefixed internal MACs).
fn appsecret_proof(app_secret: &str, access_token: &str) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC-SHA256 takes keys of any length"),
    };
    mac.update(access_token.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    #[test]
    fn appsecret_proof_is_plain_hmac_sha256_hex() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            super::appsecret_proof("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
