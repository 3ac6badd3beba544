//! The three steps of a social login: start (redirect to the provider), callback (verify,
//! find or create the user, hand out a one-time code) and exchange (code → tokens or MFA step).

use super::state_cookie::{PendingLogin, Purpose, TTL_SECS};
use super::{CodeExchange, ProviderProfile};
use crate::auth::mfa::challenge::{self, LoginOutcome};
use crate::auth::one_time;
use crate::auth::secrets::{random_bytes, OpaqueToken};
use crate::auth::services::Services;
use crate::auth::sessions::{self, TokenPair};
use crate::client::ClientInfo;
use crate::domain::{Email, PersonName};
use crate::error::{Error, ErrorCode, Result};
use crate::store::{NewOAuthAccount, NewUser, StoreError, TokenPurpose, UserRecord};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use url::Url;
use uuid::Uuid;
pub struct Started {
    pub authorize_url: String,
    pub cookie_value: String,
}

fn redirect_uri(state: &Services) -> String {
    state.config.public_link("/api/auth/oauth/callback", &[])
}

/// `redirect_to` is honoured only when it shares origin and path prefix with an allow-list
/// entry: anything else would make gatehouse an open redirector carrying a login code. The
/// prefix ends at a path segment: `https://app.example/app` allows `/app` and `/app/settings`,
/// never `/app-admin`.
fn allowed_redirect(state: &Services, raw: &str) -> Result<Url> {
    let refused = || {
        Error::new(
            ErrorCode::RedirectNotAllowed,
            "redirect_to is not on OAUTH_REDIRECT_ALLOWLIST",
        )
    };
    let url = Url::parse(raw).map_err(|_| refused())?;
    let ok = state
        .config
        .oauth_redirect_allowlist
        .iter()
        .any(|a| a.origin() == url.origin() && path_within(url.path(), a.path()));
    if ok {
        Ok(url)
    } else {
        Err(refused())
    }
}

/// `path` is `prefix` or below it, a whole segment at a time.
fn path_within(path: &str, prefix: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => prefix.ends_with('/') || rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// Where an API caller's browser lands: the allowed `redirect_to`, else `OAUTH_SUCCESS_URL`.
pub fn landing_url(state: &Services, redirect_to: Option<&str>) -> Result<Url> {
    match redirect_to {
        Some(r) => allowed_redirect(state, r),
        None => state.config.oauth_success_url.clone().ok_or_else(|| Error::Problem {
            code: ErrorCode::OauthSuccessUrlUnset,
            message: "OAUTH_SUCCESS_URL is not set on this server".into(),
        }),
    }
}

/// `GET /api/auth/oauth/{provider}`: a sign-in that ends at the app.
pub async fn start(state: &Services, provider_name: &str, redirect_to: Option<&str>) -> Result<Started> {
    let redirect_to = redirect_to.map(|r| allowed_redirect(state, r)).transpose()?;
    begin(state, provider_name, redirect_to.map(String::from), Purpose::Api).await
}

/// A sign-in started on the hosted pages, or a link started from the account: see [`Purpose`].
pub async fn start_for(state: &Services, provider_name: &str, purpose: Purpose) -> Result<Started> {
    begin(state, provider_name, None, purpose).await
}

async fn begin(
    state: &Services,
    provider_name: &str,
    redirect_to: Option<String>,
    purpose: Purpose,
) -> Result<Started> {
    let provider = state.oauth.get(provider_name)?;
    let pending = PendingLogin {
        provider: provider.name().to_string(),
        state: URL_SAFE_NO_PAD.encode(random_bytes::<24>()),
        nonce: URL_SAFE_NO_PAD.encode(random_bytes::<24>()),
        pkce_verifier: URL_SAFE_NO_PAD.encode(random_bytes::<32>()),
        redirect_to,
        expires_at: state.now().timestamp() + TTL_SECS,
        purpose,
    };
    let url = provider
        .authorize_url(&state.oauth.http, &redirect_uri(state), &pending)
        .await?;
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

/// Where a successful callback sends the browser.
pub enum Landing {
    /// To the app with `?code=` for `POST /api/auth/oauth/exchange` (also for MFA users in
    /// cookie mode: the exchange answers with their MFA step).
    WithCode(Url),
    /// Cookie mode: to the app, with the new session's pair to set as cookies.
    SignedIn(Url, TokenPair),
    /// The hosted pages' sign-in: their session (or their MFA step), then `return_to`.
    Page(String, LoginOutcome),
    /// The provider was linked to the signed-in account; back to where the link started, with
    /// `linked=<provider>`.
    Linked(String),
}

/// Verifies the callback and decides where to send the browser.
pub async fn callback(
    state: &Services,
    cookie: Option<&str>,
    params: CallbackParams,
    client: &ClientInfo,
) -> Result<Landing> {
    let now = state.now();
    let pending = cookie
        .and_then(|c| PendingLogin::open(c, &state.secrets.oauth_state_key, now.timestamp()))
        .ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidOauthState,
                "this sign-in was not started in this browser, or took too long; start again",
            )
        })?;
    let presented = params.state.unwrap_or_default();
    if !crate::auth::secrets::constant_time_eq(&presented, &pending.state) {
        return Err(Error::new(
            ErrorCode::InvalidOauthState,
            "the state does not match this browser's sign-in; start again",
        ));
    }
    if let Some(error) = params.error {
        let code = if error == "access_denied" {
            ErrorCode::OauthAccessDenied
        } else {
            ErrorCode::OauthProviderError
        };
        let detail = params.error_description.unwrap_or_default();
        return Err(Error::new(
            code,
            format!("the provider ended the sign-in ({error}) {detail}")
                .trim()
                .to_string(),
        ));
    }
    let code = params
        .code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| Error::new(ErrorCode::InvalidOauthCallback, "the provider sent no code"))?;
    let provider = state.oauth.get(&pending.provider)?;
    let redirect_uri = redirect_uri(state);
    let profile = provider
        .profile(&CodeExchange {
            http: &state.oauth.http,
            code: &code,
            redirect_uri: &redirect_uri,
            pending: &pending,
            now: now.timestamp(),
        })
        .await?;
    match pending.purpose {
        Purpose::Api => {}
        Purpose::Page { return_to } => {
            let user = find_or_create_user(state, provider.name(), &profile).await?;
            return Ok(Landing::Page(return_to, first_factor_done(state, user, client).await?));
        }
        Purpose::Link {
            user_id,
            session_id,
            return_to,
        } => {
            super::identities::link(state, user_id, session_id, provider.name(), &profile, client).await?;
            return Ok(Landing::Linked(with_linked(&return_to, provider.name())));
        }
    }
    let user = find_or_create_user(state, provider.name(), &profile).await?;
    let mut target = landing_url(state, pending.redirect_to.as_deref())?;
    if state.config.refresh_token_cookie && !user.mfa_enabled {
        // Cookie mode (seed 001): the session starts here and its refresh token is set as a
        // cookie on the redirect; no code travels in the URL at all.
        let user = active(Some(user))?;
        let pair = sessions::start_session(state, &user, &["fed"], client).await?;
        return Ok(Landing::SignedIn(target, pair));
    }
    let token = OpaqueToken::generate();
    one_time::issue(state, user.id, TokenPurpose::OAuthExchange, token.hash(), None).await?;
    target.query_pairs_mut().append_pair("code", token.expose());
    Ok(Landing::WithCode(target))
}

/// Known identity → its user; provider-verified email of an existing account → link; a
/// provider-verified email nobody has → a new verified user. An unverified email never links
/// (account takeover) and never creates an account either: that account would be marked
/// confirmed for an address nobody proved, and the real owner signing in later with a verified
/// identity would be linked into it — next to the stranger's identity (pre-account hijacking).
async fn find_or_create_user(state: &Services, provider: &str, profile: &ProviderProfile) -> Result<UserRecord> {
    let now = state.now();
    if let Some(user_id) = state.store.identities().user_of(provider, &profile.subject).await? {
        return active(state.store.users().by_id(user_id).await?);
    }
    let email = profile
        .email
        .as_deref()
        .and_then(|e| Email::parse(e).ok())
        .ok_or_else(|| {
            Error::new(
                ErrorCode::OauthEmailMissing,
                "the provider did not share a usable email address",
            )
        })?;
    let existing = state.store.users().by_email(&email.canonical()).await?;
    let links_existing = existing.is_some();
    let user = match existing {
        Some(_) if !profile.email_verified => {
            return Err(Error::new(
                ErrorCode::EmailInUseUnverified,
                "an account with this email exists, but the provider has not verified the address, so it cannot be linked; sign in with your password instead",
            ))
        }
        // Pre-account hijacking: someone may have registered this address (with a password
        // they know) without ever proving it. Linking would hand them the real owner's login.
        Some(existing) if !existing.is_email_verified => {
            return Err(Error::new(
                ErrorCode::AccountNotVerified,
                "an account with this email exists but its address was never confirmed; confirm it from the verification mail (or reset the password) first",
            ))
        }
        Some(existing) => active(Some(existing))?,
        None if !profile.email_verified => {
            return Err(Error::new(
                ErrorCode::OauthEmailUnverified,
                "the provider has not verified your email address; verify it there (for GitHub: make a verified address your primary one), or register with your email",
            ))
        }
        None => {
            let mut new_user =
                NewUser::with_confirmed_email(&email, state.config.roles.default_role().as_str(), None, now);
            // Names the provider knows prefill the profile when they pass our rules.
            new_user.first_name = valid_name(profile.first_name.as_deref());
            new_user.last_name = valid_name(profile.last_name.as_deref());
            let created = state.store.users().create(&new_user).await;
            match created {
                Ok(u) => {
                    crate::auth::welcome::send(state, &u).await?;
                    u
                }
                Err(StoreError::Duplicate(_)) => {
                    return Err(Error::new(ErrorCode::EmailInUse, "an account with this email was just created; try again"))
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    match state
        .store
        .identities()
        .link(&NewOAuthAccount {
            id: Uuid::new_v4(),
            user_id: user.id,
            provider: provider.to_string(),
            provider_user_id: profile.subject.clone(),
            email: profile.email.clone(),
            created_at: now,
        })
        .await
    {
        Ok(()) => {
            if links_existing {
                notify_linked(state, &user, provider).await?;
            }
            Ok(user)
        }
        Err(StoreError::Duplicate(_)) => Ok(user),
        Err(e) => Err(e.into()),
    }
}

/// Tells the owner that a provider identity was linked to their account (by its verified
/// address, or from the account page): from now on it signs them in, so they must hear of it
/// if it was not them.
pub(super) async fn notify_linked(state: &Services, user: &UserRecord, provider: &str) -> Result<()> {
    let name = user.first_name.clone().unwrap_or_default();
    let when = crate::mail::templates::mail_time(state.now());
    let mail = state.outbox.render(
        crate::mail::templates::Template::IdentityLinked,
        &[
            ("app", &state.config.app_name),
            ("name", &name),
            ("when", &when),
            ("provider", &super::display_name(provider)),
        ],
    );
    state.outbox.enqueue(&user.email, mail).await?;
    Ok(())
}

/// `target` (an own path or an allowed URL) with `linked=<provider>` added to its query.
fn with_linked(target: &str, provider: &str) -> String {
    let pair: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("linked", provider)
        .finish();
    let joiner = if target.contains('?') { '&' } else { '?' };
    match target.split_once('#') {
        Some((before, fragment)) => format!("{before}{joiner}{pair}#{fragment}"),
        None => format!("{target}{joiner}{pair}"),
    }
}

fn valid_name(raw: Option<&str>) -> Option<String> {
    PersonName::parse(raw?).ok().map(|n| n.as_str().to_string())
}

fn active(user: Option<UserRecord>) -> Result<UserRecord> {
    let user = user.ok_or_else(|| Error::new(ErrorCode::InvalidOauthCode, "the account no longer exists"))?;
    if !user.is_active {
        return Err(Error::new(ErrorCode::AccountDisabled, "this account is disabled"));
    }
    Ok(user)
}

/// Trades the one-time code for tokens, or for the MFA step when the user has MFA on.
pub async fn exchange(state: &Services, code: &str, client: &ClientInfo) -> Result<LoginOutcome> {
    let presented = OpaqueToken::from_presented(code);
    let record = one_time::redeem(state, TokenPurpose::OAuthExchange, &presented.hash()).await??;
    let user = active(state.store.users().by_id(record.user_id).await?)?;
    first_factor_done(state, user, client).await
}

/// The provider vouched for `user`: a session, or the MFA step when the user has MFA on.
async fn first_factor_done(state: &Services, user: UserRecord, client: &ClientInfo) -> Result<LoginOutcome> {
    let user = active(Some(user))?;
    if user.mfa_enabled {
        // The password login's challenge, recording the provider as the first factor.
        let step = challenge::begin(state, &user, TokenPurpose::MfaChallengeAfterOAuth).await?;
        return Ok(LoginOutcome::MfaRequired(step));
    }
    let pair = sessions::start_session(state, &user, &["fed"], client).await?;
    Ok(LoginOutcome::Tokens(pair))
}

#[cfg(test)]
mod tests {
    use super::{path_within, with_linked};

    #[test]
    fn linked_is_added_to_the_query() {
        assert_eq!(with_linked("/account", "github"), "/account?linked=github");
        assert_eq!(with_linked("/account#ids", "a b"), "/account?linked=a+b#ids");
        assert_eq!(
            with_linked("https://app.test/s?x=1", "corp"),
            "https://app.test/s?x=1&linked=corp"
        );
    }

    #[test]
    fn an_allowed_path_ends_at_a_segment() {
        assert!(path_within("/app", "/app"));
        assert!(path_within("/app/settings", "/app"));
        assert!(path_within("/app/settings", "/app/"));
        assert!(path_within("/anything", "/"));
        assert!(!path_within("/app-admin", "/app"));
        assert!(!path_within("/application", "/app"));
        assert!(!path_within("/ap", "/app"));
    }
}
