//! Sessions (one per login) and their refresh-token families.
//!
//! - A login creates a session and the first refresh token (256-bit random, only SHA-256 stored).
//! - Each refresh rotates: the presented token is marked used and a successor issued, atomically
//!   (one conditional UPDATE + INSERT in a transaction), so concurrent refreshes of one token never
//!   yield two live tokens.
//! - Presenting a used token again means it was copied: the whole family (session) is revoked
//!   (OAuth 2.0 Security BCP §4.14) — except within `REFRESH_REUSE_GRACE` (default 10 s) of its
//!   rotation, when the client most likely just retried (two tabs, a lost response). Then it gets
//!   the *same* new pair: the successor token is derived as HMAC(server key, presented token), and
//!   the access token is re-signed from the same claims (Ed25519 is deterministic), so nothing new
//!   is minted and no second family member comes to life.
//! - A family also has an absolute end (`SESSION_MAX_LIFETIME`), however often it is refreshed.
//! - With `SINGLE_SESSION=true` a new session ends the user's others in the same transaction
//!   that creates it ([`start_session`] is the one place every sign-in — password, token
//!   endpoint, MFA challenge, passwordless code, social login — gets its session).
//! - Logout revokes the session; access tokens name their session (`sid`), and every
//!   authenticated request checks it is still live, so a logged-out access token is refused at
//!   once on every instance.

use crate::audit::{self, EventKind, Outcome};
use crate::auth::secrets::{hmac_bytes, OpaqueToken};
use crate::auth::services::Services;
use crate::auth::tokens::{AccessClaims, AccessTokenSpec, TokenError};
use crate::client::ClientInfo;
use crate::error::{Error, ErrorCode, Result};
use crate::store::{NewRefreshToken, NewSession, RefreshTokenRecord, SessionRecord, UserRecord};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

/// What a successful login or refresh returns (RFC 6749 §5.1 field names).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub refresh_token: String,
    /// Seconds until the refresh token expires (if not rotated before).
    pub refresh_expires_in: i64,
}

/// The caller of an authenticated request.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub role: String,
    pub amr: Vec<String>,
    pub auth_time: DateTime<Utc>,
    pub claims: AccessClaims,
}

/// Starts a session for a user who just authenticated with `amr` (and, with `SINGLE_SESSION`,
/// ends their other sessions). Counted as a successful sign-in in the metrics.
pub async fn start_session(
    state: &Services,
    user: &UserRecord,
    amr: &[&str],
    client: &ClientInfo,
) -> Result<TokenPair> {
    let now = state.now();
    let cfg = &state.config;
    let session = NewSession {
        id: Uuid::new_v4(),
        user_id: user.id,
        created_at: now,
        expires_at: now + cfg.session_max_lifetime,
        auth_time: now,
        amr: serde_json::to_string(amr).map_err(anyhow::Error::new)?,
        ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
    };
    let refresh = OpaqueToken::generate();
    let first = NewRefreshToken {
        id: Uuid::new_v4(),
        session_id: session.id,
        user_id: user.id,
        token_hash: refresh.hash(),
        parent_id: None,
        created_at: now,
        expires_at: (now + cfg.refresh_token_ttl).min(session.expires_at),
    };
    if cfg.single_session {
        let ended = state.store.sessions().create_sole(&session, &first, now).await?;
        if ended > 0 {
            audit::Event {
                kind: EventKind::SessionsRevoked,
                user_id: Some(user.id),
                client,
                outcome: Outcome::Success,
                details: json!({ "reason": "single_session", "sessions_revoked": ended, "kept": session.id }),
            }
            .record(state.store.as_ref(), now)
            .await;
        }
    } else {
        state.store.sessions().create(&session, &first).await?;
    }
    state.metrics.login_succeeded(amr.first().copied().unwrap_or("unknown"));
    crate::auth::devices::alert_if_new(state, user, session.id, client, &sign_in_method(amr)).await;
    let amr: Vec<String> = amr.iter().map(|s| s.to_string()).collect();
    pair(
        state,
        user,
        session.id,
        &amr,
        now,
        first.id,
        now,
        &refresh,
        first.expires_at,
    )
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn pair(
    state: &Services,
    user: &UserRecord,
    session_id: Uuid,
    amr: &[String],
    auth_time: DateTime<Utc>,
    jti: Uuid,
    issued_at: DateTime<Utc>,
    refresh: &OpaqueToken,
    refresh_expires_at: DateTime<Utc>,
) -> Result<TokenPair> {
    let ttl = state.config.access_token_ttl;
    let access_token = state.tokens.issue(&AccessTokenSpec {
        user_id: user.id,
        session_id,
        role: user.role.clone(),
        permissions: state
            .config
            .roles
            .get(&user.role)
            .map(|d| d.permissions.iter().map(|p| p.as_str().to_string()).collect())
            .unwrap_or_default(),
        amr: amr.to_vec(),
        auth_time,
        issued_at,
        ttl,
        jti,
    })?;
    let now = state.now();
    Ok(TokenPair {
        access_token,
        token_type: "Bearer",
        expires_in: seconds_left(issued_at + ttl, now),
        refresh_token: refresh.expose().to_string(),
        refresh_expires_in: seconds_left(refresh_expires_at, now),
    })
}

/// Whole seconds until `end`, rounded up: a token issued a few milliseconds ago with a 900 s
/// lifetime says 900, not 899 (and a cookie's `Max-Age` matches the refresh lifetime).
fn seconds_left(end: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    let ms = (end - now).num_milliseconds().max(0);
    (ms + 999) / 1000
}

fn successor_of(state: &Services, presented: &OpaqueToken) -> OpaqueToken {
    let bytes = hmac_bytes(
        &state.secrets.refresh_successor_key,
        &[b"refresh-successor", presented.expose().as_bytes()],
    );
    OpaqueToken::from_presented(&URL_SAFE_NO_PAD.encode(bytes))
}

fn invalid_refresh() -> Error {
    Error::new(
        ErrorCode::InvalidRefreshToken,
        "the refresh token is not valid; sign in again",
    )
}

/// Rotates a refresh token (see the module docs for the rules).
pub async fn refresh(state: &Services, presented: &OpaqueToken, client: &ClientInfo) -> Result<TokenPair> {
    let now = state.now();
    let hash = presented.hash();
    let successor = successor_of(state, presented);
    // The common case in one transaction: claim the token, touch the session, add the
    // successor. A revoked session's tokens are revoked with it and a token never outlives its
    // session, so a claim that wins is a live session's; the account comes from the copies.
    let rotated = state
        .store
        .sessions()
        .rotate_with(
            &hash,
            &crate::store::Successor {
                id: Uuid::new_v4(),
                token_hash: successor.hash(),
                expires_at: now + state.config.refresh_token_ttl,
            },
            now,
        )
        .await?;
    if let Some((_, session, next)) = rotated {
        let user = state
            .store
            .users()
            .by_id_cached(next.user_id)
            .await?
            .ok_or_else(invalid_refresh)?;
        if !user.is_active {
            return Err(Error::new(ErrorCode::AccountDisabled, "this account is disabled"));
        }
        let amr: Vec<String> = serde_json::from_str(&session.amr).unwrap_or_default();
        return pair(
            state,
            &user,
            session.id,
            &amr,
            session.auth_time,
            next.id,
            now,
            &successor,
            next.expires_at,
        );
    }
    // Lost the claim: say why (unknown, ended, expired), or this is a retry or a reuse.
    let Some(record) = state.store.sessions().refresh_token_by_hash(&hash).await? else {
        return Err(invalid_refresh());
    };
    let session = state
        .store
        .sessions()
        .by_id(record.session_id)
        .await?
        .ok_or_else(invalid_refresh)?;
    if session.revoked_at.is_some() || record.revoked_at.is_some() {
        return Err(Error::new(
            ErrorCode::SessionRevoked,
            "this session has ended; sign in again",
        ));
    }
    if session.expires_at <= now {
        return Err(Error::new(
            ErrorCode::SessionExpired,
            "this session has reached its maximum lifetime; sign in again",
        ));
    }
    let user = state
        .store
        .users()
        .by_id(record.user_id)
        .await?
        .ok_or_else(invalid_refresh)?;
    if !user.is_active {
        return Err(Error::new(ErrorCode::AccountDisabled, "this account is disabled"));
    }
    let amr: Vec<String> = serde_json::from_str(&session.amr).unwrap_or_default();
    if record.used_at.is_none() && record.expires_at <= now {
        return Err(Error::new(
            ErrorCode::RefreshTokenExpired,
            "the refresh token has expired; sign in again",
        ));
    }
    if let Some(pair) = grace_retry(state, &record, &session, &user, &amr, &successor, now).await? {
        return Ok(pair);
    }
    // A rotated token came back outside the grace window: assume theft, end the family.
    state.store.sessions().revoke(session.id, now).await?;
    audit::Event {
        kind: EventKind::RefreshTokenReuseDetected,
        user_id: Some(user.id),
        client,
        outcome: Outcome::Failure,
        details: json!({ "session_id": session.id }),
    }
    .record(state.store.as_ref(), now)
    .await;
    tracing::warn!(user_id = %user.id, session_id = %session.id, "refresh token reuse detected; session revoked");
    Err(Error::new(
        ErrorCode::RefreshTokenReused,
        "this refresh token was already used; the session has been ended for safety, sign in again",
    ))
}

async fn grace_retry(
    state: &Services,
    record: &RefreshTokenRecord,
    session: &SessionRecord,
    user: &UserRecord,
    amr: &[String],
    successor: &OpaqueToken,
    now: DateTime<Utc>,
) -> Result<Option<TokenPair>> {
    let Some(used_at) = record.used_at else { return Ok(None) };
    if record.revoked_at.is_some() || now - used_at > state.config.refresh_reuse_grace {
        return Ok(None);
    }
    let Some(next) = state.store.sessions().refresh_token_by_hash(&successor.hash()).await? else {
        return Ok(None);
    };
    if next.used_at.is_some() || next.revoked_at.is_some() || next.parent_id != Some(record.id) {
        return Ok(None);
    }
    pair(
        state,
        user,
        session.id,
        amr,
        session.auth_time,
        next.id,
        next.created_at,
        successor,
        next.expires_at,
    )
    .map(Some)
}

/// Checks a bearer access token: signature and claims, then that its session is still live.
pub async fn authenticate(state: &Services, bearer: &str) -> Result<AuthUser> {
    let now = state.now();
    let claims = state.tokens.verify(bearer, now).await.map_err(|e| match e {
        TokenError::Expired => Error::new(
            ErrorCode::AccessTokenExpired,
            "the access token has expired; refresh it",
        ),
        other => Error::new(ErrorCode::InvalidAccessToken, other.to_string()),
    })?;
    let (Some(user_id), Some(session_id)) = (claims.user_id(), claims.session_id()) else {
        return Err(Error::new(ErrorCode::InvalidAccessToken, "the token is malformed"));
    };
    let session = state.store.sessions().by_id_cached(session_id).await?;
    match session.as_deref() {
        Some(s) if s.user_id == user_id && s.revoked_at.is_none() && s.expires_at > now => Ok(AuthUser {
            user_id,
            session_id,
            role: claims.role.clone(),
            amr: claims.amr.clone(),
            auth_time: DateTime::from_timestamp(claims.auth_time, 0).unwrap_or(s.auth_time),
            claims,
        }),
        _ => Err(Error::new(
            ErrorCode::SessionRevoked,
            "this session has ended; sign in again",
        )),
    }
}

/// What ending a session that is not the caller's (or not live) answers: the same as a missing
/// one, so session ids of other users cannot be probed.
pub fn session_not_found() -> Error {
    Error::new(
        ErrorCode::SessionNotFound,
        "no live session with this id belongs to you",
    )
}

/// Ends one of the caller's own sessions (another device, or this one), audited.
pub async fn end_own(state: &Services, user: &AuthUser, id: Uuid, client: &ClientInfo) -> Result<()> {
    let now = state.now();
    match state.store.sessions().by_id(id).await? {
        Some(s) if s.user_id == user.user_id && s.revoked_at.is_none() => {
            state.store.sessions().revoke(id, now).await?;
            audit::Event {
                kind: EventKind::SessionRevoked,
                user_id: Some(user.user_id),
                client,
                outcome: Outcome::Success,
                details: json!({ "session_id": id }),
            }
            .record(state.store.as_ref(), now)
            .await;
            Ok(())
        }
        _ => Err(session_not_found()),
    }
}

/// Ends every live session of the caller except the current one ("sign out everywhere else").
pub async fn end_others(state: &Services, user: &AuthUser, client: &ClientInfo) -> Result<usize> {
    let live = state.store.sessions().live(user.user_id, state.now()).await?;
    let mut ended = 0;
    for s in live.into_iter().filter(|s| s.id != user.session_id) {
        end_own(state, user, s.id, client).await?;
        ended += 1;
    }
    Ok(ended)
}

/// Ends the caller's session and its refresh family.
pub async fn logout(state: &Services, user: &AuthUser, client: &ClientInfo) -> Result<()> {
    let now = state.now();
    state.store.sessions().revoke(user.session_id, now).await?;
    audit::Event {
        kind: EventKind::Logout,
        user_id: Some(user.user_id),
        client,
        outcome: Outcome::Success,
        details: json!({ "session_id": user.session_id }),
    }
    .record(state.store.as_ref(), now)
    .await;
    Ok(())
}

/// Logout by refresh token (for clients that only hold the refresh token, e.g. a cookie).
pub async fn logout_by_refresh(state: &Services, presented: &OpaqueToken, client: &ClientInfo) -> Result<()> {
    let now = state.now();
    let record = state
        .store
        .sessions()
        .refresh_token_by_hash(&presented.hash())
        .await?
        .ok_or_else(invalid_refresh)?;
    state.store.sessions().revoke(record.session_id, now).await?;
    audit::Event {
        kind: EventKind::Logout,
        user_id: Some(record.user_id),
        client,
        outcome: Outcome::Success,
        details: json!({ "session_id": record.session_id }),
    }
    .record(state.store.as_ref(), now)
    .await;
    Ok(())
}

/// How a sign-in was made, in words for the new-device mail.
fn sign_in_method(amr: &[&str]) -> String {
    let words: Vec<&str> = amr
        .iter()
        .filter_map(|m| match *m {
            "pwd" => Some("password"),
            "otp" => Some("authenticator app"),
            "email" => Some("code by mail"),
            "recovery" => Some("recovery code"),
            "fed" => Some("sign-in provider"),
            _ => None,
        })
        .collect();
    if words.is_empty() {
        "sign-in".into()
    } else {
        words.join(" + ")
    }
}
