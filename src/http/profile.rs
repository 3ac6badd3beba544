//! `PATCH /api/auth/me`: the signed-in user edits their profile; `DELETE /api/auth/me`: they
//! delete their account. (`GET /api/auth/me` is in [`super::auth`]; it and PATCH answer with
//! the same [`Profile`].)

use crate::app::AppState;
use crate::auth::account_deletion;
use crate::auth::profile::{self, ProfileUpdate};
use crate::auth::sessions::AuthUser;
use crate::client::ClientInfo;
use crate::domain::{BdMobile, DateOfBirth, Gender, Invalid, Password, PersonName, Username};
use crate::error::{Problem, Result};
use crate::http::auth::{Fields, Profile};
use crate::http::extract::{Json, OptionalJson};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(update_me, delete_me))
}

/// A JSON merge patch (RFC 7396) of the profile: a field left out stays as it is.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "rahim_uddin", "mobile": "01812345678"}))]
pub struct UpdateProfileRequest {
    /// 3–32 of `a-z A-Z 0-9 . _ -`, unique ignoring case. `null` (or `""`) removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable)]
    pub username: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub last_name: Option<Option<String>>,
    /// `YYYY-MM-DD`, at least `MIN_AGE` years ago.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub date_of_birth: Option<Option<String>>,
    /// `male`, `female`, `other` or `prefer_not_to_say`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub gender: Option<Option<String>>,
    /// Bangladeshi mobile, stored as E.164.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub mobile: Option<Option<String>>,
}

/// Tells a field sent as `null` (`Some(None)`) from one left out (`None`, via `default`).
fn present<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

impl UpdateProfileRequest {
    pub(crate) fn parse(self, state: &AppState) -> Result<ProfileUpdate> {
        let today = state.now().date_naive();
        let min_age = state.config.min_age;
        let mut f = Fields::default();
        let username = match self.username {
            None => None,
            Some(None) => Some(None),
            Some(Some(raw)) if raw.trim().is_empty() => Some(None),
            Some(Some(raw)) => f.take("username", Some(&raw), Username::parse).map(Some),
        };
        let update = ProfileUpdate {
            username,
            first_name: kept(&mut f, "first_name", self.first_name, PersonName::parse),
            last_name: kept(&mut f, "last_name", self.last_name, PersonName::parse),
            date_of_birth: kept(&mut f, "date_of_birth", self.date_of_birth, |v| {
                DateOfBirth::parse(v, today, min_age)
            }),
            gender: kept(&mut f, "gender", self.gender, Gender::parse),
            mobile: kept(&mut f, "mobile", self.mobile, BdMobile::parse),
        };
        f.finish()?;
        Ok(update)
    }
}

/// A field that may be changed but not removed (registration requires it).
fn kept<T>(
    f: &mut Fields,
    field: &str,
    raw: Option<Option<String>>,
    parse: impl FnOnce(&str) -> std::result::Result<T, Invalid>,
) -> Option<T> {
    match raw {
        None => None,
        Some(None) => {
            f.0.push(Invalid::new("required", "cannot be removed; send a new value or leave it out").at(field));
            None
        }
        Some(Some(raw)) => f.take(field, Some(&raw), parse),
    }
}

/// Change the signed-in user's username or personal details.
///
/// Send only the fields to change. Every field is validated as at registration, and one `422`
/// lists every invalid field. The email address and password have their own flows.
#[utoipa::path(patch, path = "/api/auth/me", tag = "profile", request_body = UpdateProfileRequest,
    security(("bearer" = []), ("oauth2_password" = [])),
    responses(
        (status = 200, description = "The updated profile", body = Profile),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired` or `session_revoked`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`username_taken`: another account has this username (ignoring case)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "One entry per invalid field", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_me(
    State(state): State<AppState>,
    user: AuthUser,
    client: ClientInfo,
    Json(body): Json<UpdateProfileRequest>,
) -> Result<axum::Json<Profile>> {
    let update = body.parse(&state)?;
    let record = profile::update_profile(&state, &user, update, &client).await?;
    Ok(axum::Json(record.into()))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct DeleteAccountRequest {
    /// Required unless the account signs in through a provider only.
    pub current_password: Option<String>,
}

/// Delete the signed-in user's account, with its sessions, sign-in methods and settings.
///
/// Needs the current password, a recent second factor for MFA users, and for an account
/// without a password a sign-in within `MFA_STEP_UP_WINDOW`. Every token of the account stops
/// working; the address is told by mail and can register again.
#[utoipa::path(delete, path = "/api/auth/me", tag = "profile",
    request_body(content = Option<DeleteAccountRequest>, description = "May be left out by an account without a password"),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The account is gone"),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired` or `session_revoked`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`mfa_step_up_required` or `reauthentication_required`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`last_admin`: no other active account could manage users", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`current_password` missing or `invalid_current_password`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_me(
    State(state): State<AppState>,
    user: AuthUser,
    client: ClientInfo,
    OptionalJson(body): OptionalJson<DeleteAccountRequest>,
) -> Result<StatusCode> {
    let current = body.current_password.as_deref().map(Password::for_verification);
    account_deletion::delete_own(&state, &user, current.as_ref(), &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
