//! `/api/admin/...`: user management and the audit log, for accounts whose role holds the
//! right permission (`users:read`, `users:write`, `audit:read`; see `auth::admin::access`).
//!
//! Order of checks on every route: a valid access token (401), then the permission (403), then
//! the request's values (422), then the target (404) — so a caller without the permission learns
//! nothing about ids or parameters. Query strings are parsed here by hand rather than with
//! axum's `Query`, whose rejections are plain text and stop at the first bad value: every bad
//! parameter gets its own entry in one 422.

mod audit;
mod mail;
mod users;

use crate::app::AppState;
use crate::auth::admin::access;
use crate::auth::sessions::AuthUser;
use crate::domain::{FieldError, Invalid, Paging};
use crate::error::{Error, Result};
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use std::marker::PhantomData;
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    users::router().merge(audit::router()).merge(mail::router())
}

/// A permission a route needs.
pub trait Permission: Send + Sync + 'static {
    const NAME: &'static str;
}

pub struct UsersRead;
pub struct UsersWrite;
pub struct AuditRead;

impl Permission for UsersRead {
    const NAME: &'static str = access::USERS_READ;
}
impl Permission for UsersWrite {
    const NAME: &'static str = access::USERS_WRITE;
}
impl Permission for AuditRead {
    const NAME: &'static str = access::AUDIT_READ;
}

/// The signed-in caller, whose role holds the permission `P` (401 without a valid token, 403
/// without the permission).
pub struct Authorized<P: Permission>(pub AuthUser, PhantomData<P>);

impl<P: Permission> FromRequestParts<AppState> for Authorized<P> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = AuthUser::from_request_parts(parts, state).await?;
        access::require(state, &caller, P::NAME)?;
        Ok(Self(caller, PhantomData))
    }
}

/// The `{id}` of a user route. Not a UUID: 422 naming `id` (an id that is well-formed but
/// unknown is the service's 404).
pub struct UserId(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for UserId {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let invalid = || Error::field("id", "invalid_format", "must be a user id (a UUID)");
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| invalid())?;
        Uuid::parse_str(raw.trim()).map(UserId).map_err(|_| invalid())
    }
}

/// A parsed query string: each known parameter at most once, unknown ones refused (a typo such
/// as `per-page` would otherwise be silently ignored).
pub struct QueryParams {
    pairs: Vec<(String, String)>,
    errors: Vec<FieldError>,
}

impl QueryParams {
    pub fn parse(raw: Option<&str>, known: &[&str]) -> Self {
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut errors = Vec::new();
        for (key, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            if !known.contains(&key.as_ref()) {
                errors.push(FieldError {
                    field: key.to_string(),
                    code: "unknown_parameter",
                    message: format!("is not a parameter of this endpoint (known: {})", known.join(", ")),
                });
            } else if pairs.iter().any(|(k, _)| *k == key) {
                errors.push(FieldError {
                    field: key.to_string(),
                    code: "repeated",
                    message: "must be given at most once".into(),
                });
            } else {
                pairs.push((key.into_owned(), value.into_owned()));
            }
        }
        Self { pairs, errors }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Parses an optional parameter; an empty value counts as not given.
    pub fn optional<T>(&mut self, key: &str, parse: impl FnOnce(&str) -> Result<T, Invalid>) -> Option<T> {
        let raw = self.get(key).filter(|v| !v.trim().is_empty())?.to_string();
        match parse(&raw) {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors.push(e.at(key));
                None
            }
        }
    }

    pub fn paging(&mut self) -> Paging {
        let page = self.get("page").map(str::to_string);
        let per_page = self.get("per_page").map(str::to_string);
        Paging::parse(page.as_deref(), per_page.as_deref()).unwrap_or_else(|errors| {
            self.errors.extend(errors);
            Paging::default()
        })
    }

    pub fn push(&mut self, error: FieldError) {
        self.errors.push(error);
    }

    /// Every problem found, as one 422.
    pub fn finish(self) -> Result<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(self.errors))
        }
    }
}
