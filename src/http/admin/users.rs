//! `/api/admin/users`: list, view, lock, unlock, change role, end sessions, remove MFA, delete.

use super::{Authorized, QueryParams, UserId, UsersRead, UsersWrite};
use crate::app::AppState;
use crate::auth::admin::accounts::{self, UserDetail, UserListQuery};
use crate::client::ClientInfo;
use crate::domain::{AccountStatus, AdminReason, Invalid, RoleName, SearchText};
use crate::error::{Error, Problem, Result};
use crate::http::extract::{Json, OptionalJson};
use crate::store::UserRecord;
use axum::extract::{FromRequest, RawQuery, Request, State};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(get_user))
        .routes(routes!(lock_user))
        .routes(routes!(unlock_user))
        .routes(routes!(change_role))
        .routes(routes!(revoke_sessions))
        .routes(routes!(reset_mfa))
        .routes(routes!(delete_user))
}

/// One account in the admin list. Password hashes, MFA secrets and tokens are never shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserSummary {
    pub id: Uuid,
    pub email: String,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub role: String,
    /// `active`, or `disabled` (locked by an admin: sign-in answers `account_disabled`).
    pub status: &'static str,
    pub email_verified: bool,
    pub mfa_enabled: bool,
    pub created_at: DateTime<Utc>,
    pub last_login: Option<DateTime<Utc>>,
}

impl From<&UserRecord> for AdminUserSummary {
    fn from(u: &UserRecord) -> Self {
        Self {
            id: u.id,
            email: u.email.clone(),
            username: u.username.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            role: u.role.clone(),
            status: AccountStatus::of(u.is_active).as_str(),
            email_verified: u.is_email_verified,
            mfa_enabled: u.mfa_enabled,
            created_at: u.created_at,
            last_login: u.last_login,
        }
    }
}

/// One account with its profile and activity.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserDetail {
    pub id: Uuid,
    pub email: String,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub gender: Option<String>,
    pub mobile: Option<String>,
    pub role: String,
    /// `active` or `disabled`.
    pub status: &'static str,
    pub email_verified: bool,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub mfa_enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_login: Option<DateTime<Utc>>,
    /// Sessions (logins) that are neither ended nor expired.
    pub live_sessions: i64,
    /// Linked social-login identities.
    pub linked_identities: i64,
    /// Registered passkeys (WebAuthn credentials).
    pub passkeys: i64,
}

impl From<UserDetail> for AdminUserDetail {
    fn from(d: UserDetail) -> Self {
        let u = d.user;
        Self {
            status: AccountStatus::of(u.is_active).as_str(),
            id: u.id,
            email: u.email,
            username: u.username,
            first_name: u.first_name,
            last_name: u.last_name,
            date_of_birth: u.date_of_birth,
            gender: u.gender,
            mobile: u.mobile,
            role: u.role,
            email_verified: u.is_email_verified,
            email_verified_at: u.email_verified_at,
            mfa_enabled: u.mfa_enabled,
            created_at: u.created_at,
            updated_at: u.updated_at,
            last_login: u.last_login,
            live_sessions: d.activity.live_sessions,
            linked_identities: d.activity.linked_identities,
            passkeys: d.activity.passkeys,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub items: Vec<AdminUserSummary>,
    /// Users matching the filters, on all pages.
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
    pub total_pages: i64,
}

const LIST_PARAMS: &[&str] = &["q", "role", "status", "page", "per_page"];

/// Lists users, newest first. Needs `users:read`.
#[utoipa::path(get, path = "/api/admin/users", tag = "admin", security(("bearer" = [])),
    params(
        ("q" = Option<String>, Query, description = "Part of the email, username or name (ignoring case)"),
        ("role" = Option<String>, Query, description = "Only users with this role"),
        ("status" = Option<String>, Query, description = "`active` or `disabled`"),
        ("page" = Option<u32>, Query, description = "From 1 (default 1)"),
        ("per_page" = Option<u32>, Query, description = "1 to 100 (default 20)"),
    ),
    responses(
        (status = 200, body = UserList),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`permission_denied`: the role lacks `users:read`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: one entry per bad parameter", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_users(
    State(state): State<AppState>,
    _caller: Authorized<UsersRead>,
    RawQuery(raw): RawQuery,
) -> Result<axum::Json<UserList>> {
    let mut params = QueryParams::parse(raw.as_deref(), LIST_PARAMS);
    let search = params.optional("q", SearchText::parse).flatten();
    let role = params.optional("role", |v| {
        RoleName::parse(v).map_err(|_| Invalid::new("invalid_format", "must be a role name such as moderator"))
    });
    let status = params.optional("status", AccountStatus::parse);
    let paging = params.paging();
    params.finish()?;
    let page = accounts::list_users(
        &state,
        &UserListQuery {
            search,
            role,
            status,
            paging,
        },
    )
    .await?;
    Ok(axum::Json(UserList {
        items: page.users.iter().map(AdminUserSummary::from).collect(),
        total: page.total,
        page: page.paging.page(),
        per_page: page.paging.per_page(),
        total_pages: page.paging.total_pages(page.total),
    }))
}

/// One user with status, sessions and linked identities. Needs `users:read`.
#[utoipa::path(get, path = "/api/admin/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user id")),
    responses(
        (status = 200, body = AdminUserDetail),
        (status = 403, description = "`permission_denied`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`user_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `id` is not a UUID", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_user(
    State(state): State<AppState>,
    _caller: Authorized<UsersRead>,
    UserId(id): UserId,
) -> Result<axum::Json<AdminUserDetail>> {
    Ok(axum::Json(accounts::user_detail(&state, id).await?.into()))
}

/// The optional body of lock and unlock.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "spam reports from several users"}))]
pub struct ReasonRequest {
    /// Kept in the audit event (at most 500 characters, one line).
    pub reason: Option<String>,
}

/// The reason of a lock or unlock; the body may be left out entirely.
pub struct OptionalReason(Option<AdminReason>);

impl<S: Send + Sync> FromRequest<S> for OptionalReason {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let OptionalJson(body) = OptionalJson::<ReasonRequest>::from_request(req, state).await?;
        match body.reason.as_deref().map(AdminReason::parse) {
            None => Ok(Self(None)),
            Some(Ok(reason)) => Ok(Self(reason)),
            Some(Err(e)) => Err(Error::Validation(vec![e.at("reason")])),
        }
    }
}

/// Locks the account: it cannot sign in (`account_disabled`) until an admin unlocks it, and
/// all its sessions end now. Needs `users:write`; you cannot lock yourself.
#[utoipa::path(post, path = "/api/admin/users/{id}/lock", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user id")),
    request_body(content = Option<ReasonRequest>, description = "Optional"),
    responses(
        (status = 200, description = "Locked (also when it already was)", body = AdminUserDetail),
        (status = 403, description = "`permission_denied`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`user_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`cannot_lock_self`, or `last_admin`: no other active account could manage users", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (`id`, `reason`)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn lock_user(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<UsersWrite>,
    UserId(id): UserId,
    client: ClientInfo,
    OptionalReason(reason): OptionalReason,
) -> Result<axum::Json<AdminUserDetail>> {
    Ok(axum::Json(
        accounts::lock(&state, &caller, id, reason, &client).await?.into(),
    ))
}

/// Unlocks the account so it can sign in again. Needs `users:write`.
#[utoipa::path(post, path = "/api/admin/users/{id}/unlock", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user id")),
    request_body(content = Option<ReasonRequest>, description = "Optional"),
    responses(
        (status = 200, description = "Active (also when it already was)", body = AdminUserDetail),
        (status = 403, description = "`permission_denied`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`user_not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn unlock_user(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<UsersWrite>,
    UserId(id): UserId,
    client: ClientInfo,
    OptionalReason(reason): OptionalReason,
) -> Result<axum::Json<AdminUserDetail>> {
    Ok(axum::Json(
        accounts::unlock(&state, &caller, id, reason, &client).await?.into(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "moderator"}))]
pub struct RoleRequest {
    /// One of the configured roles (`ROLES`).
    pub role: Option<String>,
}

/// Gives the user another role. Their sessions end (tokens carry the role): they sign in again
/// to get the new one. Needs `users:write`.
#[utoipa::path(put, path = "/api/admin/users/{id}/role", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user id")),
    request_body = RoleRequest,
    responses(
        (status = 200, body = AdminUserDetail),
        (status = 403, description = "`permission_denied`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`user_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`last_admin`: no other active account could manage users", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `role` missing or not one of `ROLES` (`unknown_role`)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn change_role(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<UsersWrite>,
    UserId(id): UserId,
    client: ClientInfo,
    Json(body): Json<RoleRequest>,
) -> Result<axum::Json<AdminUserDetail>> {
    let role = match body.role.as_deref().map(str::trim) {
        None | Some("") => return Err(Error::field("role", "required", "is required")),
        Some(raw) => RoleName::parse(raw).map_err(|_| {
            let names: Vec<&str> = state.config.roles.iter().map(|r| r.name.as_str()).collect();
            Error::field(
                "role",
                "unknown_role",
                format!("must be one of the configured roles: {}", names.join(", ")),
            )
        })?,
    };
    Ok(axum::Json(
        accounts::change_role(&state, &caller, id, &role, &client).await?.into(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionsRevoked {
    /// How many sessions were ended.
    pub sessions_revoked: u64,
}

/// Ends every session of the user: their refresh and access tokens stop working now. Needs
/// `users:write`.
#[utoipa::path(delete, path = "/api/admin/users/{id}/sessions", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user id")),
    responses(
        (status = 200, body = SessionsRevoked),
        (status = 403, description = "`permission_denied`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`user_not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn revoke_sessions(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<UsersWrite>,
    UserId(id): UserId,
    client: ClientInfo,
) -> Result<axum::Json<SessionsRevoked>> {
    let sessions_revoked = accounts::revoke_sessions(&state, &caller, id, &client).await?;
    Ok(axum::Json(SessionsRevoked { sessions_revoked }))
}

/// Removes every second factor and recovery code of the user (they lost them, or someone else
/// enrolled one), ends all their sessions and mails them. Audited as `mfa_reset`. Needs
/// `users:write`.
#[utoipa::path(delete, path = "/api/admin/users/{id}/mfa", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user id")),
    responses(
        (status = 200, body = SessionsRevoked),
        (status = 400, description = "`mfa_not_enabled`: the account has no second factor", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`permission_denied`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`user_not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn reset_mfa(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<UsersWrite>,
    UserId(id): UserId,
    client: ClientInfo,
) -> Result<axum::Json<SessionsRevoked>> {
    let sessions_revoked = accounts::reset_mfa(&state, &caller, id, &client).await?;
    Ok(axum::Json(SessionsRevoked { sessions_revoked }))
}

/// Deletes the account with its sessions, sign-in methods and settings; its audit events stay.
/// The address is told by mail. Needs `users:write`; delete your own with `DELETE /api/auth/me`.
#[utoipa::path(delete, path = "/api/admin/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user id")),
    responses(
        (status = 204, description = "The account is gone"),
        (status = 403, description = "`permission_denied`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`user_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`cannot_delete_self`, or `last_admin`: no other active account could manage users", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_user(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<UsersWrite>,
    UserId(id): UserId,
    client: ClientInfo,
) -> Result<axum::http::StatusCode> {
    accounts::delete(&state, &caller, id, &client).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
