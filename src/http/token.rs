//! `POST /api/auth/token`: the OAuth 2.0 token endpoint (RFC 6749 §3.2) for the password grant
//! (§4.3) and refresh (§6), with form-encoded requests. This is what FastAPI clients built on
//! `OAuth2PasswordRequestForm` (seed 002), standard OAuth libraries and the /docs "Authorize"
//! button send. It is a second door to the same services as `/login` and `/refresh`: every
//! rule (enumeration safety, verified email, rotation and reuse detection) is theirs.
//!
//! Clients — decision: gatehouse has no client registry, so every caller is a public client
//! (§2.1). `client_id` is accepted and ignored; a client *secret* (in `client_secret` or HTTP
//! Basic) cannot be checked and is refused with `invalid_client`, except the empty secret that
//! Swagger UI sends, which is no authentication at all. `scope` is accepted and ignored: tokens
//! carry the user's role, not scopes.

use crate::app::AppState;
use crate::auth::login;
use crate::auth::mfa::challenge::LoginOutcome;
use crate::auth::secrets::OpaqueToken;
use crate::auth::sessions::{self, TokenPair};
use crate::client::ClientInfo;
use crate::domain::Password;
use crate::error::{Error, OAuthError, OAuthErrorBody};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Deserialize;
use std::collections::HashMap;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(token))
}

/// A token request, form-encoded (`application/x-www-form-urlencoded`).
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)] // Documents the form for OpenAPI; the handler reads the pairs itself.
pub struct TokenRequest {
    /// `password` or `refresh_token`.
    grant_type: String,
    /// Password grant: the account's email address or username.
    username: Option<String>,
    /// Password grant.
    password: Option<String>,
    /// Refresh grant: the refresh token from an earlier answer.
    refresh_token: Option<String>,
    /// Accepted and ignored.
    scope: Option<String>,
    /// Accepted and ignored (public clients).
    client_id: Option<String>,
}

/// The form's parameters. RFC 6749 §3.2: no parameter may be sent twice; one sent without a
/// value counts as omitted.
struct Form(HashMap<String, String>);

impl Form {
    fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Form, OAuthError> {
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(OAuthError::invalid_request(
                "unsupported_media_type",
                "send the parameters form-encoded (Content-Type: application/x-www-form-urlencoded)",
            ));
        }
        let mut params = HashMap::new();
        for (key, value) in url::form_urlencoded::parse(body) {
            if value.is_empty() {
                continue;
            }
            if params.insert(key.to_string(), value.to_string()).is_some() {
                return Err(OAuthError::invalid_request(
                    "repeated_parameter",
                    format!("the parameter {key} is sent more than once"),
                ));
            }
        }
        Ok(Form(params))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn required(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request("required", format!("the parameter {name} is required")))
    }
}

/// Refuses a client secret (there are no confidential clients to check it against).
fn check_client(headers: &HeaderMap, form: &Form) -> Result<(), OAuthError> {
    let refused = || OAuthError::InvalidClient {
        description: "gatehouse has no confidential clients: send no client secret (client_id alone is fine)".into(),
    };
    if form.get("client_secret").is_some() {
        return Err(refused());
    }
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let Some((scheme, credentials)) = value.split_once(' ') else {
        return Ok(());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(());
    }
    // RFC 6749 §2.3.1: base64 of `client_id:client_secret`, each form-encoded.
    let decoded = STANDARD
        .decode(credentials.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(refused)?;
    match decoded.split_once(':') {
        Some((_, "")) => Ok(()),
        _ => Err(refused()),
    }
}

/// Get tokens with the OAuth 2.0 password grant, or refresh them.
///
/// `grant_type=password&username=…&password=…` (username: email address or username) or
/// `grant_type=refresh_token&refresh_token=…`, form-encoded. The answer follows RFC 6749 §5.1
/// (`access_token`, `token_type`, `expires_in`, `refresh_token`) with `Cache-Control: no-store`;
/// errors follow §5.2 (`{"error": "invalid_grant", "error_description": …}`). An account whose
/// email is not verified gets `invalid_grant` (only with the right password).
#[utoipa::path(post, path = "/api/auth/token", tag = "tokens",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Tokens (RFC 6749 §5.1)", body = TokenPair),
        (status = 400, description = "`invalid_request`, `invalid_grant` or `unsupported_grant_type` (RFC 6749 §5.2)", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`: a client secret was sent", body = OAuthErrorBody),
        (status = 403, description = "`mfa_required`: the account uses MFA; the body carries `mfa_token` and `methods` for `/api/auth/mfa/challenge`"),
    ))]
async fn token(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, OAuthError> {
    let form = Form::parse(&headers, &body)?;
    check_client(&headers, &form)?;
    let pair = match form.required("grant_type")? {
        "password" => {
            let username = form.required("username")?;
            let password = Password::for_verification(form.required("password")?);
            match login::login(&state, username, &password, &client).await? {
                LoginOutcome::Tokens(pair) => pair,
                // OAuth 2.0 has no second step; answer as Auth0's MFA grant does, never with
                // tokens: the client finishes at /api/auth/mfa/challenge with the mfa_token.
                LoginOutcome::MfaRequired(step) => {
                    let mut body =
                        serde_json::to_value(&step).map_err(|e| OAuthError::Other(Error::Internal(e.into())))?;
                    body["error"] = "mfa_required".into();
                    body["error_description"] =
                        "this account uses multi-factor authentication: send the mfa_token and a code to /api/auth/mfa/challenge".into();
                    let mut response = (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
                    response
                        .headers_mut()
                        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                    return Ok(response);
                }
            }
        }
        "refresh_token" => {
            let presented = OpaqueToken::from_presented(form.required("refresh_token")?.trim());
            sessions::refresh(&state, &presented, &client).await?
        }
        other => {
            return Err(OAuthError::UnsupportedGrantType {
                description: format!("grant_type {other:?} is not supported; use password or refresh_token"),
            })
        }
    };
    let mut response = axum::Json(pair).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}
