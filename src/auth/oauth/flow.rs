//! The three steps of a social login: start (redirect to the provider), callback (verify,
//! find or create the user, hand out a one-time code) and exchange (code → tokens or MFA step).

use super::id_token::{self, IdClaims};
use super::state_cookie::{PendingLogin, TTL_SECS};
use super::{provider_unavailable, Provider};
use crate::app::AppState;
use crate::auth::mfa::challenge::{self, LoginOutcome};
use crate::auth::secrets::{random_bytes, OpaqueToken};
use crate::auth::sessions;
use crate::domain::Email;
use crate::error::{Error, Result};
use crate::http::extract::ClientInfo;
use crate::store::{NewOAuthAccount, NewOneTimeToken, NewUser, StoreError, TokenPurpose, UserRecord};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use url::Url;
use uuid::Uuid;

/// Lifetime of the code the app exchanges for tokens.
const EXCHANGE_TTL: chrono::Duration = chrono::Duration::seconds(60);

pub struct Started {
    pub authorize_url: String,
    pub cookie_value: String,
}

fn redirect_uri(state: &AppState) -> String {
    state.config.public_link("/api/auth/oauth/callback", &[])
}

/// `redirect_to` is honoured only when it shares origin and path prefix with an allow-list
/// entry: anything else would make gatehouse an open redirector carrying a login code.
fn allowed_redirect(state: &AppState, raw: &str) -> Result<Url> {
    let refused = || Error::bad_request("redirect_not_allowed", "redirect_to is not on OAUTH_REDIRECT_ALLOWLIST");
    let url = Url::parse(raw).map_err(|_| refused())?;
    let ok = state
        .config
        .oauth_redirect_allowlist
        .iter()
        .any(|a| a.origin() == url.origin() && url.path().starts_with(a.path()));
    if ok {
        Ok(url)
    } else {
        Err(refused())
    }
}

pub async fn start(state: &AppState, provider_name: &str, redirect_to: Option<&str>) -> Result<Started> {
    let provider = state.oauth.get(provider_name)?;
    let redirect_to = redirect_to.map(|r| allowed_redirect(state, r)).transpose()?;
    let discovery = provider.discovery(&state.oauth.http).await?;
    let pending = PendingLogin {
        provider: provider.settings.name.clone(),
        state: URL_SAFE_NO_PAD.encode(random_bytes::<24>()),
        nonce: URL_SAFE_NO_PAD.encode(random_bytes::<24>()),
        pkce_verifier: URL_SAFE_NO_PAD.encode(random_bytes::<32>()),
        redirect_to: redirect_to.map(String::from),
        expires_at: state.now().timestamp() + TTL_SECS,
    };
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(pending.pkce_verifier.as_bytes()));
    let mut url = Url::parse(&discovery.authorization_endpoint)
        .map_err(|e| provider_unavailable(provider_name, format!("bad authorization_endpoint: {e}")))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &provider.settings.client_id)
        .append_pair("redirect_uri", &redirect_uri(state))
        .append_pair("scope", &provider.settings.scopes.join(" "))
        .append_pair("state", &pending.state)
        .append_pair("nonce", &pending.nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    Ok(Started {
        authorize_url: url.into(),
        cookie_value: pending.seal(&state.secrets.oauth_state_key),
    })
}

/// What the provider sent back to `/api/auth/oauth/callback`.
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Verifies the callback and returns where to send the browser (with the one-time code).
pub async fn callback(state: &AppState, cookie: Option<&str>, params: CallbackParams) -> Result<Url> {
    let now = state.now();
    let pending = cookie
        .and_then(|c| PendingLogin::open(c, &state.secrets.oauth_state_key, now.timestamp()))
        .ok_or_else(|| {
            Error::bad_request(
                "invalid_oauth_state",
                "this sign-in was not started in this browser, or took too long; start again",
            )
        })?;
    let presented = params.state.unwrap_or_default();
    if !crate::auth::secrets::constant_time_eq(&presented, &pending.state) {
        return Err(Error::bad_request(
            "invalid_oauth_state",
            "the state does not match this browser's sign-in; start again",
        ));
    }
    if let Some(error) = params.error {
        let code = if error == "access_denied" {
            "oauth_access_denied"
        } else {
            "oauth_provider_error"
        };
        let detail = params.error_description.unwrap_or_default();
        return Err(Error::bad_request(
            code,
            format!("the provider ended the sign-in ({error}) {detail}")
                .trim()
                .to_string(),
        ));
    }
    let code = params
        .code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| Error::bad_request("invalid_oauth_callback", "the provider sent no code"))?;
    let provider = state.oauth.get(&pending.provider)?;
    let claims = exchange_code(state, &provider, &code, &pending).await?;
    let user = find_or_create_user(state, &provider.settings.name, &claims).await?;
    let token = OpaqueToken::generate();
    state
        .store
        .insert_one_time_token(&NewOneTimeToken {
            id: Uuid::new_v4(),
            user_id: user.id,
            purpose: TokenPurpose::OAuthExchange,
            token_hash: token.hash(),
            expires_at: now + EXCHANGE_TTL,
            created_at: now,
        })
        .await?;
    let mut target = match pending.redirect_to.as_deref() {
        Some(r) => allowed_redirect(state, r)?,
        None => state
            .config
            .oauth_success_url
            .clone()
            .ok_or_else(|| Error::Unavailable {
                code: "oauth_success_url_unset",
                message: "OAUTH_SUCCESS_URL is not set on this server".into(),
            })?,
    };
    target.query_pairs_mut().append_pair("code", token.expose());
    Ok(target)
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
}

async fn exchange_code(state: &AppState, provider: &Provider, code: &str, pending: &PendingLogin) -> Result<IdClaims> {
    let http = &state.oauth.http;
    let name = &provider.settings.name;
    let discovery = provider.discovery(http).await?;
    let response = http
        .post(&discovery.token_endpoint)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &redirect_uri(state)),
            ("client_id", &provider.settings.client_id),
            (
                "client_secret",
                secrecy::ExposeSecret::expose_secret(&provider.settings.client_secret),
            ),
            ("code_verifier", &pending.pkce_verifier),
        ])
        .send()
        .await
        .map_err(|e| provider_unavailable(name, e))?;
    if response.status().is_client_error() {
        return Err(Error::bad_request(
            "oauth_code_rejected",
            "the provider refused the sign-in code; start again",
        ));
    }
    let body: TokenResponse = response
        .error_for_status()
        .map_err(|e| provider_unavailable(name, e))?
        .json()
        .await
        .map_err(|e| provider_unavailable(name, e))?;
    let raw = body
        .id_token
        .ok_or_else(|| Error::unauthorized("invalid_id_token", "the provider sent no id_token"))?;
    let jwks: jsonwebtoken::jwk::JwkSet = http
        .get(&discovery.jwks_uri)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| provider_unavailable(name, e))?
        .json()
        .await
        .map_err(|e| provider_unavailable(name, e))?;
    id_token::verify(
        &raw,
        &jwks,
        &discovery.issuer,
        &provider.settings.client_id,
        &pending.nonce,
        state.now().timestamp(),
    )
}

/// Known identity → its user; provider-verified email of an existing account → link; otherwise
/// a new verified user. An unverified email never links (that would be an account takeover).
async fn find_or_create_user(state: &AppState, provider: &str, claims: &IdClaims) -> Result<UserRecord> {
    let now = state.now();
    if let Some(user_id) = state.store.oauth_account_user(provider, &claims.sub).await? {
        return active(state.store.user_by_id(user_id).await?);
    }
    let email = claims
        .email
        .as_deref()
        .and_then(|e| Email::parse(e).ok())
        .ok_or_else(|| {
            Error::bad_request(
                "oauth_email_missing",
                "the provider did not share a usable email address",
            )
        })?;
    let user = match state.store.user_by_email(&email.canonical()).await? {
        Some(_) if !claims.email_verified => {
            return Err(Error::conflict(
                "email_in_use_unverified",
                "an account with this email exists, but the provider has not verified the address, so it cannot be linked; sign in with your password instead",
            ))
        }
        // Pre-account hijacking: someone may have registered this address (with a password
        // they know) without ever proving it. Linking would hand them the real owner's login.
        Some(existing) if !existing.is_email_verified => {
            return Err(Error::conflict(
                "account_not_verified",
                "an account with this email exists but its address was never confirmed; confirm it from the verification mail (or reset the password) first",
            ))
        }
        Some(existing) => active(Some(existing))?,
        None => {
            let created = state
                .store
                .create_user(&NewUser::with_confirmed_email(
                    &email,
                    state.config.roles.default_role().as_str(),
                    None,
                    now,
                ))
                .await;
            match created {
                Ok(u) => u,
                Err(StoreError::Duplicate(_)) => {
                    return Err(Error::conflict("email_in_use", "an account with this email was just created; try again"))
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    match state
        .store
        .insert_oauth_account(&NewOAuthAccount {
            id: Uuid::new_v4(),
            user_id: user.id,
            provider: provider.to_string(),
            provider_user_id: claims.sub.clone(),
            email: claims.email.clone(),
            created_at: now,
        })
        .await
    {
        Ok(()) | Err(StoreError::Duplicate(_)) => Ok(user),
        Err(e) => Err(e.into()),
    }
}

fn active(user: Option<UserRecord>) -> Result<UserRecord> {
    let user = user.ok_or_else(|| Error::unauthorized("invalid_oauth_code", "the account no longer exists"))?;
    if !user.is_active {
        return Err(Error::forbidden("account_disabled", "this account is disabled"));
    }
    Ok(user)
}

/// Trades the one-time code for tokens, or for the MFA step when the user has MFA on.
pub async fn exchange(state: &AppState, code: &str, client: &ClientInfo) -> Result<LoginOutcome> {
    let now = state.now();
    let invalid = || {
        Error::unauthorized(
            "invalid_oauth_code",
            "the sign-in code is invalid, used or expired; sign in again",
        )
    };
    let presented = OpaqueToken::from_presented(code);
    let record = state
        .store
        .one_time_token_by_hash(TokenPurpose::OAuthExchange, &presented.hash())
        .await?
        .filter(|r| r.used_at.is_none() && r.revoked_at.is_none() && r.expires_at > now)
        .ok_or_else(invalid)?;
    // One conditional update: of two racing exchanges only one wins.
    if !state.store.consume_one_time_token(record.id, now).await? {
        return Err(invalid());
    }
    let user = active(state.store.user_by_id(record.user_id).await?)?;
    if user.mfa_enabled {
        // The password login's challenge, recording the provider as the first factor.
        let step = challenge::begin(state, &user, TokenPurpose::MfaChallengeAfterOAuth).await?;
        return Ok(LoginOutcome::MfaRequired(step));
    }
    let pair = sessions::start_session(state, &user, &["fed"], client).await?;
    Ok(LoginOutcome::Tokens(pair))
}
