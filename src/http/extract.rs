//! Extractors: our `Json` (whose rejections speak problem+json and name the field that failed),
//! the caller's network details, and the authenticated user.

use crate::app::AppState;
use crate::auth::sessions::{self, AuthUser};
use crate::client::ClientInfo;
use crate::domain::FieldError;
use crate::error::{Error, ErrorCode};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts};
use serde::de::DeserializeOwned;
use std::net::SocketAddr;

/// A JSON body. Unlike `axum::Json`, a bad body is answered in problem+json: 415 without a JSON
/// content type, 400 for malformed JSON, 422 naming the field whose value has the wrong type.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(Error::UnsupportedMediaType);
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        parse_json(&bytes).map(Json)
    }
}

/// A JSON body that may be left out (empty body: `T::default()`), for DELETE and for actions
/// whose body only holds optional fields. A body without a content type is still read as JSON;
/// a body with a non-JSON content type is refused (415) as by [`Json`].
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let has_type = req.headers().contains_key(header::CONTENT_TYPE);
        let (parts, body) = req.into_parts();
        let bytes = axum::body::Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(body_rejection)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(T::default()));
        }
        if has_type {
            let Json(body) =
                Json::<T>::from_request(Request::from_parts(parts, axum::body::Body::from(bytes)), state).await?;
            Ok(Self(body))
        } else {
            parse_json(&bytes).map(Self)
        }
    }
}

/// A body that could not be read, in our terms: 413 over the limit, 400 otherwise.
pub fn body_rejection(e: axum::extract::rejection::BytesRejection) -> Error {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        Error::PayloadTooLarge
    } else {
        Error::new(ErrorCode::UnreadableBody, "the request body could not be read")
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(value) => {
            de.end()
                .map_err(|_| Error::new(ErrorCode::MalformedJson, "the body has content after the JSON value"))?;
            Ok(value)
        }
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            if inner.is_data() {
                let field = if path.is_empty() || path == "." {
                    "body".to_string()
                } else {
                    path
                };
                let message = inner.to_string();
                let message = message.split(" at line ").next().unwrap_or(&message).to_string();
                Err(Error::Validation(vec![FieldError {
                    field,
                    code: "invalid_type",
                    message,
                }]))
            } else {
                Err(Error::new(
                    ErrorCode::MalformedJson,
                    format!("the body is not valid JSON: {inner}"),
                ))
            }
        }
    }
}

/// Reads the client facts the rules record (the IP resolved by the client-IP middleware).
impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // Resolved by the client-IP middleware (which honours TRUSTED_PROXIES).
        let ip = match parts.extensions.get::<super::client_ip::ClientIp>() {
            Some(super::client_ip::ClientIp(ip)) => Some(ip.to_string()),
            None => parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip().to_string()),
        };
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect());
        Ok(ClientInfo { ip, user_agent })
    }
}

/// The bearer token of the request, if any.
pub fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).ok_or_else(|| {
            Error::new(
                ErrorCode::MissingToken,
                "this endpoint needs an access token: send Authorization: Bearer <access_token>",
            )
        })?;
        sessions::authenticate(state, token).await
    }
}
