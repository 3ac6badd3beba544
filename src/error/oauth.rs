//! The OAuth 2.0 token endpoint's error shape (RFC 6749 §5.2).

use super::Error;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

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
            Error::Problem { code, message }
                if matches!(code.status(), StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) =>
            {
                OAuthError::InvalidGrant {
                    code: code.as_str(),
                    description: message,
                }
            }
            e @ Error::AccountLocked { .. } => OAuthError::InvalidGrant {
                code: "account_locked",
                description: e.detail(),
            },
            e @ Error::Validation(_) => OAuthError::InvalidRequest {
                code: "validation_failed",
                description: e.detail(),
            },
            Error::Problem { code, message } if code.status() == StatusCode::BAD_REQUEST => {
                OAuthError::InvalidRequest {
                    code: code.as_str(),
                    description: message,
                }
            }
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
