//! `/api/auth/passkeys/*`: registering, signing in with and managing passkeys (WebAuthn). Rules
//! live in `auth::passkeys`.

use crate::app::AppState;
use crate::auth::mfa::challenge::LoginOutcome;
use crate::auth::passkeys::{login, manage, register, Started};
use crate::auth::sessions::AuthUser;
use crate::client::ClientInfo;
use crate::domain::{Invalid, PasskeyName, Password};
use crate::error::{Error, ErrorCode, Problem, Result};
use crate::http::auth::Fields;
use crate::http::cookies;
use crate::http::extract::{Json, OptionalJson};
use crate::store::PasskeyRecord;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register_start))
        .routes(routes!(register_finish))
        .routes(routes!(login_start))
        .routes(routes!(login_finish))
        .routes(routes!(list))
        .routes(routes!(rename, delete))
}

/// One of the user's passkeys. The key itself never leaves the authenticator; only its public
/// half is stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyView {
    pub id: Uuid,
    pub name: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Whether the passkey is synced or backed up (a password manager's, iCloud Keychain's),
    /// rather than bound to one device.
    pub backed_up: bool,
    /// Whether it may be synced at all.
    pub backup_eligible: bool,
    /// Whether the authenticator verified the user (PIN, biometrics) when it was registered.
    pub user_verified: bool,
    /// How the browser can reach it (`usb`, `nfc`, `ble`, `internal`, `hybrid`).
    pub transports: Vec<String>,
}

impl From<PasskeyRecord> for PasskeyView {
    fn from(p: PasskeyRecord) -> Self {
        Self {
            id: p.id,
            name: p.name,
            created_at: p.created_at,
            last_used_at: p.last_used_at,
            backed_up: p.backup_state,
            backup_eligible: p.backup_eligible,
            user_verified: p.user_verified,
            transports: serde_json::from_str(&p.transports).unwrap_or_default(),
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RegisterStartRequest {
    /// Needed unless the session signed in within `MFA_STEP_UP_WINDOW`.
    pub current_password: Option<String>,
}

/// Start adding a passkey: hand `options` to `navigator.credentials.create()`. An MFA account
/// needs a recent second factor (step-up); every account the current password or a recent
/// sign-in.
#[utoipa::path(post, path = "/api/auth/passkeys/register/start", tag = "passkeys", request_body = RegisterStartRequest, security(("bearer" = [])),
    responses(
        (status = 200, description = "The ceremony and its creation options", body = Started),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`mfa_step_up_required` or `reauthentication_required`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`current_password` is wrong", body = Problem, content_type = "application/problem+json"),
    ))]
async fn register_start(
    State(state): State<AppState>,
    user: AuthUser,
    client: ClientInfo,
    OptionalJson(body): OptionalJson<RegisterStartRequest>,
) -> Result<axum::Json<Started>> {
    let password = body.current_password.as_deref().map(Password::for_verification);
    Ok(axum::Json(
        register::start(&state, &user, password.as_ref(), &client).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct FinishRequest {
    /// From the `…/start` answer.
    pub ceremony_id: Option<String>,
    /// The browser's `PublicKeyCredential` as JSON (`credential.toJSON()`), binary fields base64url.
    #[schema(value_type = Object)]
    pub credential: Option<serde_json::Value>,
    /// Registration only: a name for the new passkey (default: the browser and system).
    pub name: Option<String>,
}

pub(crate) fn parse_ceremony(raw: &str) -> std::result::Result<String, Invalid> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > 128 {
        Err(Invalid::new(
            "invalid_format",
            "must be the ceremony_id from the start answer",
        ))
    } else {
        Ok(raw.to_string())
    }
}

/// The browser's answer in `credential`, parsed, or one field error saying what is wrong.
pub(crate) fn take_credential<T: DeserializeOwned>(f: &mut Fields, raw: Option<&serde_json::Value>) -> Option<T> {
    let Some(value) = raw else {
        f.0.push(Invalid::new("required", "is required").at("credential"));
        return None;
    };
    match T::deserialize(value) {
        Ok(c) => Some(c),
        Err(e) => {
            f.0.push(
                Invalid::new(
                    "invalid_format",
                    format!("must be the browser's PublicKeyCredential as JSON ({e})"),
                )
                .at("credential"),
            );
            None
        }
    }
}

/// The checked fields of a finish: the ceremony id and the browser's answer, parsed.
fn finish_fields<T: DeserializeOwned>(
    body: &FinishRequest,
    with_name: bool,
) -> Result<(String, T, Option<PasskeyName>)> {
    let mut f = Fields::default();
    let ceremony = f.take("ceremony_id", body.ceremony_id.as_deref(), parse_ceremony);
    let credential = take_credential(&mut f, body.credential.as_ref());
    let name = if with_name {
        f.optional("name", body.name.as_deref(), PasskeyName::parse)
    } else {
        None
    };
    f.finish()?;
    match (ceremony, credential) {
        (Some(c), Some(k)) => Ok((c, k, name)),
        _ => Err(Error::field("credential", "required", "is required")),
    }
}

/// Finish adding a passkey with the browser's answer.
#[utoipa::path(post, path = "/api/auth/passkeys/register/finish", tag = "passkeys", request_body = FinishRequest, security(("bearer" = [])),
    responses(
        (status = 201, description = "The passkey is added; the owner is mailed", body = PasskeyView),
        (status = 400, description = "`passkey_challenge_invalid`, `passkey_challenge_expired`, `passkey_challenge_mismatch`, `passkey_origin_mismatch`, `passkey_rp_id_mismatch`, `passkey_user_not_present`, `passkey_response_invalid` or `passkey_rejected`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token; `passkey_signature_invalid`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`passkey_already_registered`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing or malformed", body = Problem, content_type = "application/problem+json"),
    ))]
async fn register_finish(
    State(state): State<AppState>,
    user: AuthUser,
    client: ClientInfo,
    Json(body): Json<FinishRequest>,
) -> Result<impl IntoResponse> {
    let (ceremony, credential, name) = finish_fields(&body, true)?;
    let passkey = register::finish(&state, &user, &ceremony, &credential, name, &client).await?;
    Ok((StatusCode::CREATED, axum::Json(PasskeyView::from(passkey))))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct LoginStartRequest {
    /// An address or a username; leave out for a usernameless sign-in (the authenticator
    /// offers its passkeys for this site).
    pub identifier: Option<String>,
}

/// Start signing in with a passkey: hand `options` to `navigator.credentials.get()`. The answer
/// has the same shape whether or not the account exists or has passkeys.
#[utoipa::path(post, path = "/api/auth/passkeys/login/start", tag = "passkeys", request_body = LoginStartRequest,
    responses(
        (status = 200, description = "The ceremony and its request options", body = Started),
        (status = 429, description = "`rate_limited`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn login_start(
    State(state): State<AppState>,
    client: ClientInfo,
    OptionalJson(body): OptionalJson<LoginStartRequest>,
) -> Result<axum::Json<Started>> {
    let identifier = body
        .identifier
        .as_deref()
        .map(str::trim)
        .filter(|i| !i.is_empty() && i.len() <= 320);
    Ok(axum::Json(login::start(&state, identifier, &client).await?))
}

/// Finish signing in with the browser's answer: the same answer as `/api/auth/login` (tokens
/// with `amr` holding `webauthn`, or the MFA step when the authenticator did not verify the
/// user on an MFA account).
#[utoipa::path(post, path = "/api/auth/passkeys/login/finish", tag = "passkeys", request_body = FinishRequest,
    responses(
        (status = 200, description = "Tokens, or `{mfa_required: true, mfa_token, methods}`", body = LoginOutcome),
        (status = 400, description = "`passkey_challenge_invalid`, `passkey_challenge_expired`, `passkey_challenge_mismatch`, `passkey_origin_mismatch`, `passkey_rp_id_mismatch`, `passkey_user_not_present` or `passkey_response_invalid`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`passkey_unknown` (not registered, deleted, or another account's), `passkey_signature_invalid` or `passkey_clone_suspected`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`account_disabled` or `email_not_verified`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`account_locked` or `rate_limited`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn login_finish(
    State(state): State<AppState>,
    client: ClientInfo,
    Json(body): Json<FinishRequest>,
) -> Result<axum::response::Response> {
    let (ceremony, credential, _) = finish_fields(&body, false)?;
    Ok(cookies::outcome(
        &state,
        login::finish(&state, &ceremony, &credential, &client).await?,
    ))
}

/// The signed-in user's passkeys, oldest first.
#[utoipa::path(get, path = "/api/auth/passkeys", tag = "passkeys", security(("bearer" = [])),
    responses(
        (status = 200, description = "The passkeys", body = [PasskeyView]),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list(State(state): State<AppState>, user: AuthUser) -> Result<axum::Json<Vec<PasskeyView>>> {
    let passkeys = manage::list(&state, user.user_id).await?;
    Ok(axum::Json(passkeys.into_iter().map(PasskeyView::from).collect()))
}

fn passkey_id(raw: &str) -> Result<Uuid> {
    Uuid::parse_str(raw).map_err(|_| Error::new(ErrorCode::PasskeyNotFound, "no such passkey on this account"))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RenameRequest {
    pub name: Option<String>,
}

/// Rename a passkey. The owner is mailed.
#[utoipa::path(patch, path = "/api/auth/passkeys/{id}", tag = "passkeys", request_body = RenameRequest, security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The passkey id from GET /api/auth/passkeys")),
    responses(
        (status = 200, description = "Renamed", body = PasskeyView),
        (status = 404, description = "`passkey_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`name` missing, too long or with control characters", body = Problem, content_type = "application/problem+json"),
    ))]
async fn rename(
    State(state): State<AppState>,
    user: AuthUser,
    client: ClientInfo,
    Path(id): Path<String>,
    Json(body): Json<RenameRequest>,
) -> Result<axum::Json<PasskeyView>> {
    let mut f = Fields::default();
    let name = f.take("name", body.name.as_deref(), PasskeyName::parse);
    f.finish()?;
    let id = passkey_id(&id)?;
    match name {
        Some(name) => Ok(axum::Json(
            manage::rename(&state, &user, id, &name, &client).await?.into(),
        )),
        None => Err(Error::field("name", "required", "is required")),
    }
}

/// Delete a passkey; never the account's last way to sign in. Needs the MFA step-up on an MFA
/// account. The owner is mailed.
#[utoipa::path(delete, path = "/api/auth/passkeys/{id}", tag = "passkeys", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The passkey id from GET /api/auth/passkeys")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "`mfa_step_up_required`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`passkey_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`last_sign_in_method`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    client: ClientInfo,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    manage::delete(&state, &user, passkey_id(&id)?, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
