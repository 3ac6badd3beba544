//! One error type for everything a request can fail with, turned into an RFC 9457
//! `application/problem+json` answer in exactly one place.
//!
//! Variants name what the client sees, not what went wrong inside: a database outage and a bug
//! are both `Internal`, whose cause is never shown to the client but is logged once, with its
//! whole chain, by [`crate::http::middleware::log_internal_errors`] (the response carries it in
//! its extensions, so handlers never log and return the same error twice).

use crate::domain::FieldError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::sync::Arc;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// Unknown account and wrong password look the same (no enumeration).
    #[error("the email address or username, or the password, is not correct")]
    InvalidCredentials,
    #[error("{message}")]
    Unauthorized { code: &'static str, message: String },
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// A field's value is valid but taken (a username): `409` with the field error's code as the
    /// problem code and the field error in `errors`, so a form can show it next to the field.
    #[error("{}: {}", .0.field, .0.message)]
    FieldConflict(FieldError),
    #[error("the request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    /// Over the body limit: RFC 9110 §15.5.14 (413 Content Too Large).
    #[error("the request body is too large")]
    PayloadTooLarge,
    #[error("this method is not allowed on this path; see /docs")]
    MethodNotAllowed,
    #[error("too many requests")]
    /// `what` says what was counted, e.g. "registrations from your network".
    RateLimited { retry_after_secs: u64, what: &'static str },
    /// Too many failed sign-ins: `429` (with `Retry-After`, code `account_locked`) until the lock
    /// ends or the unlock link from the mail is used. 429 rather than 423: to a client it is the
    /// same "too many attempts, wait this long" as a rate limit (Auth0 answers its brute-force
    /// block the same way), and the code tells the two apart.
    #[error("sign-in to this account is paused after too many failed attempts")]
    AccountLocked { retry_after_secs: u64 },
    #[error("{message}")]
    Unavailable { code: &'static str, message: String },
    /// The request (body included) took longer than `HTTP_REQUEST_TIMEOUT`.
    #[error("the request took too long to arrive or to answer; send it again")]
    RequestTimeout,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Error {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unauthorized {
            code,
            message: message.into(),
        }
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::Forbidden {
            code,
            message: message.into(),
        }
    }
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::NotFound {
            code,
            message: message.into(),
        }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }
    pub fn field(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError {
            field: field.to_string(),
            code,
            message: message.into(),
        }])
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Error::InvalidCredentials | Error::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Error::Forbidden { .. } => StatusCode::FORBIDDEN,
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::Conflict { .. } | Error::FieldConflict(_) => StatusCode::CONFLICT,
            Error::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::AccountLocked { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Error::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable, machine-readable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Validation(_) => "validation_failed",
            Error::InvalidCredentials => "invalid_credentials",
            Error::UnsupportedMediaType => "unsupported_media_type",
            Error::PayloadTooLarge => "body_too_large",
            Error::MethodNotAllowed => "method_not_allowed",
            Error::RateLimited { .. } => "rate_limited",
            Error::AccountLocked { .. } => "account_locked",
            Error::RequestTimeout => "request_timeout",
            Error::Internal(_) => "internal_error",
            Error::FieldConflict(e) => e.code,
            Error::BadRequest { code, .. }
            | Error::Unauthorized { code, .. }
            | Error::Forbidden { code, .. }
            | Error::NotFound { code, .. }
            | Error::Conflict { code, .. }
            | Error::Unavailable { code, .. } => code,
        }
    }

    fn detail(&self) -> String {
        match self {
            Error::Validation(errors) => errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
            Error::RateLimited { retry_after_secs, what } => {
                format!("too many {what}; try again in {retry_after_secs} seconds (Retry-After)")
            }
            Error::AccountLocked { retry_after_secs } => format!(
                "sign-in to this account is paused after too many failed attempts; try again in {} minutes, or use the unlock link we mailed to the account's owner",
                retry_after_secs.div_ceil(60)
            ),
            Error::Internal(_) => "something went wrong on our side; it has been logged, please try again".into(),
            other => other.to_string(),
        }
    }
}

/// The body of every error answer (RFC 9457).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// URI naming the problem type; the last segment equals `code`.
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code, e.g. `invalid_credentials`, `email_not_verified`.
    pub code: String,
    /// One entry per invalid field (422), or the taken field (409 `username_taken`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<FieldError>,
    /// Present on 5xx answers so an operator can find the log line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl Problem {
    pub fn into_response_with(self, status: StatusCode) -> Response {
        let mut response = (status, axum::Json(&self)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

/// Attached to 500 answers so the logging middleware can print the cause once.
#[derive(Clone)]
pub struct InternalCause(pub Arc<anyhow::Error>);

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = self.code();
        let problem = Problem {
            type_uri: format!("urn:gatehouse:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: self.detail(),
            code: code.to_string(),
            errors: match &self {
                Error::Validation(errors) => errors.clone(),
                Error::FieldConflict(error) => vec![error.clone()],
                _ => Vec::new(),
            },
            request_id: None,
        };
        let mut response = problem.clone().into_response_with(status);
        let headers = response.headers_mut();
        match self {
            Error::InvalidCredentials => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"gatehouse\""),
                );
            }
            // RFC 6750 §3.1: no error code when the request carried no credentials at all.
            Error::Unauthorized { .. } if code == "missing_token" => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"gatehouse\""),
                );
            }
            Error::Unauthorized { .. } => {
                let value = format!("Bearer error=\"invalid_token\", error_description=\"{code}\"");
                if let Ok(v) = HeaderValue::from_str(&value) {
                    headers.insert(header::WWW_AUTHENTICATE, v);
                }
            }
            Error::RateLimited { retry_after_secs, .. } | Error::AccountLocked { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs.max(1)));
            }
            Error::Internal(cause) => {
                response.extensions_mut().insert(problem);
                response.extensions_mut().insert(InternalCause(Arc::new(cause)));
            }
            _ => {}
        }
        response
    }
}

impl From<crate::store::StoreError> for Error {
    fn from(e: crate::store::StoreError) -> Self {
        Error::Internal(anyhow::Error::new(e))
    }
}

/// The answer of the OAuth 2.0 token endpoint when it refuses a request (RFC 6749 §5.2):
/// `{"error", "error_description"}` rather than problem+json, because that is the shape OAuth
/// clients (FastAPI's `OAuth2PasswordBearer` users, the `oauth2` crate, Swagger UI) parse.
/// gatehouse adds `code`, the same stable code the JSON endpoints use (`email_not_verified`…).
///
/// Status 400, except `invalid_client` (401 with `WWW-Authenticate: Basic`, §5.2). Failures
/// that are not about the grant — rate limits, outages, bugs — stay ordinary [`Error`]s and
/// are answered (and logged) as on every other endpoint.
#[derive(Debug)]
pub enum OAuthError {
    /// `invalid_request`: a parameter is missing, repeated or malformed.
    InvalidRequest {
        code: &'static str,
        description: String,
    },
    /// `invalid_client`: client authentication failed (gatehouse has only public clients).
    InvalidClient {
        description: String,
    },
    /// `invalid_grant`: wrong credentials, unusable refresh token, account not allowed to sign in.
    InvalidGrant {
        code: &'static str,
        description: String,
    },
    /// `unsupported_grant_type`: only `password` and `refresh_token` are served.
    UnsupportedGrantType {
        description: String,
    },
    Other(Error),
}

impl OAuthError {
    pub fn invalid_request(code: &'static str, description: impl Into<String>) -> Self {
        Self::InvalidRequest {
            code,
            description: description.into(),
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str, &str) {
        match self {
            OAuthError::InvalidRequest { code, description } => {
                (StatusCode::BAD_REQUEST, "invalid_request", code, description)
            }
            OAuthError::InvalidClient { description } => (
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "invalid_client",
                description,
            ),
            OAuthError::InvalidGrant { code, description } => {
                (StatusCode::BAD_REQUEST, "invalid_grant", code, description)
            }
            OAuthError::UnsupportedGrantType { description } => (
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "unsupported_grant_type",
                description,
            ),
            OAuthError::Other(_) => (StatusCode::INTERNAL_SERVER_ERROR, "server_error", "internal_error", ""),
        }
    }
}

/// The outcome of the login and refresh services, in RFC 6749 terms.
impl From<Error> for OAuthError {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidCredentials => OAuthError::InvalidGrant {
                code: "invalid_credentials",
                description: Error::InvalidCredentials.to_string(),
            },
            // `email_not_verified`, `account_disabled` (only after a correct password), and the
            // refresh token outcomes (`invalid_refresh_token`, `refresh_token_reused`, ...).
            Error::Forbidden { code, message } | Error::Unauthorized { code, message } => OAuthError::InvalidGrant {
                code,
                description: message,
            },
            e @ Error::AccountLocked { .. } => OAuthError::InvalidGrant {
                code: "account_locked",
                description: e.detail(),
            },
            e @ Error::Validation(_) => OAuthError::InvalidRequest {
                code: "validation_failed",
                description: e.detail(),
            },
            Error::BadRequest { code, message } => OAuthError::InvalidRequest {
                code,
                description: message,
            },
            other => OAuthError::Other(other),
        }
    }
}

/// The body of an RFC 6749 §5.2 error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_grant` or `unsupported_grant_type`.
    pub error: &'static str,
    pub error_description: String,
    /// gatehouse's stable code, as on the JSON endpoints (e.g. `email_not_verified`).
    pub code: &'static str,
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        if let OAuthError::Other(e) = self {
            return e.into_response();
        }
        let (status, error, code, description) = self.parts();
        let body = OAuthErrorBody {
            error,
            error_description: description.to_string(),
            code,
        };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"gatehouse\""),
            );
        }
        response
    }
}
