//! One error type for everything a request can fail with, turned into an RFC 9457
//! `application/problem+json` answer in exactly one place.
//!
//! Variants name what the client sees, not what went wrong inside: a database outage and a bug
//! are both `Internal`, whose cause is never shown to the client but is logged once, with its
//! whole chain, by [`crate::http::middleware::log_internal_errors`] (the response carries it in
//! its extensions, so handlers never log and return the same error twice).

mod code;
mod oauth;

pub use code::ErrorCode;
pub use oauth::{OAuthError, OAuthErrorBody};

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
    /// A refusal with its own code (the code sets the status): `Error::new(ErrorCode::X, ...)`.
    #[error("{message}")]
    Problem { code: ErrorCode, message: String },
    /// Unknown account and wrong password look the same (no enumeration).
    #[error("the email address or username, or the password, is not correct")]
    InvalidCredentials,
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
    /// The request (body included) took longer than `HTTP_REQUEST_TIMEOUT`.
    #[error("the request took too long to arrive or to answer; send it again")]
    RequestTimeout,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Problem {
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
            // The taken field's code (`username_taken`) is the problem code.
            Error::FieldConflict(_) => StatusCode::CONFLICT,
            other => other.error_code().status(),
        }
    }

    /// The stable, machine-readable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            Error::FieldConflict(e) => e.code,
            other => other.error_code().as_str(),
        }
    }

    fn error_code(&self) -> ErrorCode {
        match self {
            Error::Validation(_) => ErrorCode::ValidationFailed,
            Error::InvalidCredentials => ErrorCode::InvalidCredentials,
            Error::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            Error::PayloadTooLarge => ErrorCode::BodyTooLarge,
            Error::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            Error::RateLimited { .. } => ErrorCode::RateLimited,
            Error::AccountLocked { .. } => ErrorCode::AccountLocked,
            Error::RequestTimeout => ErrorCode::RequestTimeout,
            Error::Internal(_) => ErrorCode::InternalError,
            Error::FieldConflict(_) => ErrorCode::UsernameTaken,
            Error::Problem { code, .. } => *code,
        }
    }

    pub(crate) fn detail(&self) -> String {
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
            title: self.error_code().title().to_string(),
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
            Error::Problem {
                code: ErrorCode::MissingToken,
                ..
            } => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"gatehouse\""),
                );
            }
            Error::Problem { code: c, .. } if c.status() == StatusCode::UNAUTHORIZED => {
                let value = format!("Bearer error=\"invalid_token\", error_description=\"{code}\"");
                if let Ok(v) = HeaderValue::from_str(&value) {
                    headers.insert(header::WWW_AUTHENTICATE, v);
                }
            }
            Error::RateLimited { retry_after_secs, .. } | Error::AccountLocked { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs.max(1)));
            }
            // The rest of the body is left unread, so this connection cannot carry another
            // request; saying so keeps clients from reusing it and failing their next call.
            Error::PayloadTooLarge => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
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
