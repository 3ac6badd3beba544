//! HTTP: one router per area, merged here with the cross-cutting layers.

pub mod admin;
pub mod auth;
pub mod client_ip;
pub mod cookies;
pub mod email_change;
pub mod extract;
pub mod mail_request;
pub mod meta;
pub mod metrics;
pub mod mfa;
pub mod middleware;
pub mod oauth;
pub mod pages;
pub mod passkeys;
pub mod password;
pub mod profile;
pub mod redoc;
pub mod refresh;
pub mod sessions;
pub mod token;
pub mod ui;

use crate::app::AppState;
use crate::error::{Error, ErrorCode};
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::IntoResponse;
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use utoipa::openapi::security::{Flow, HttpAuthScheme, HttpBuilder, OAuth2, Password, Scopes, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

#[derive(OpenApi)]
#[openapi(
    info(title = "gatehouse", description = "Authentication server: registration, email verification, login, tokens."),
    modifiers(&SecuritySchemes),
    tags(
        (name = "registration", description = "Create and confirm accounts"),
        (name = "tokens", description = "Sign in, refresh, sign out"),
        (name = "password", description = "Forgotten, reset and changed passwords"),
        (name = "mfa", description = "Two-step sign-in: TOTP apps, emailed codes, recovery codes, step-up, passwordless codes"),
        (name = "passkeys", description = "Passkeys (WebAuthn): adding one, signing in with one (usernameless or after the name), listing, renaming and deleting them"),
        (name = "profile", description = "The signed-in user"),
        (name = "sessions", description = "The signed-in user's logins"),
        (name = "operations", description = "Health, readiness, metrics and public keys"),
        (name = "admin", description = "User management and the audit log (needs users:read, users:write or audit:read)"),
    )
)]
struct ApiDoc;

/// Bearer tokens, and the OAuth 2.0 password flow that gets them.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        // What /docs "Authorize" uses: it posts the password grant to the token endpoint.
        components.add_security_scheme(
            "oauth2_password",
            SecurityScheme::OAuth2(OAuth2::with_description(
                [Flow::Password(Password::new("/api/auth/token", Scopes::new()))],
                "Sign in with your email address (or username) and password: the OAuth 2.0 password grant at POST /api/auth/token.",
            )),
        );
    }
}

/// The OpenAPI document (also what `/openapi.json` serves).
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_routes().split_for_parts().1
}

fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::router())
        .merge(refresh::router())
        .merge(password::router())
        .merge(sessions::router())
        .merge(profile::router())
        .merge(email_change::router())
        .merge(token::router())
        .merge(mfa::router())
        .merge(passkeys::router())
        .merge(oauth::router())
        .merge(meta::router())
        .merge(admin::router())
        .merge(metrics::router())
}

const DOCS_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

/// CORS from the allow-list only; with an empty list no cross-origin request is allowed.
/// Credentials are allowed because the origins are named (never `*`).
fn cors(origins: &[String]) -> tower_http::cors::CorsLayer {
    use axum::http::Method;
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    tower_http::cors::CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("x-csrf-token"),
        ])
        .expose_headers([header::RETRY_AFTER, HeaderName::from_static("x-request-id")])
        .allow_credentials(true)
        .max_age(std::time::Duration::from_secs(600))
}

pub fn router(state: AppState) -> Router {
    let (api, openapi) = api_routes().split_for_parts();
    let docs = Router::<AppState>::new()
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DOCS_CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ));
    let https = state.config.public_url.scheme() == "https";
    let request_timeout = state
        .config
        .http_request_timeout
        .to_std()
        .unwrap_or(std::time::Duration::from_secs(30));
    let request_id = HeaderName::from_static("x-request-id");
    let reporter = state.error_reporter.clone();
    let router = api
        .merge(pages::router())
        .merge(ui::router())
        .merge(docs)
        .merge(redoc::router())
        .fallback(|| async {
            Error::new(ErrorCode::NotFound, "no such endpoint; see /docs for the API").into_response()
        })
        .method_not_allowed_fallback(|| async { Error::MethodNotAllowed.into_response() })
        .layer(DefaultBodyLimit::max(64 * 1024))
        .layer(axum::middleware::from_fn(move |req, next| {
            middleware::request_timeout(request_timeout, req, next)
        }))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            client_ip::client_ip,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            middleware::panic_response,
        ))
        .layer(axum::middleware::from_fn(middleware::log_internal_errors))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track_requests,
        ))
        .layer(axum::middleware::from_fn(move |req, next| {
            middleware::security_headers(https, req, next)
        }))
        .layer(cors(&state.config.cors_allowed_origins))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        // A 5xx is logged (and reported) once, with its cause, by `log_internal_errors`.
        .layer(TraceLayer::new_for_http().on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid));
    match reporter {
        // Outermost, so the whole request — its tags, error logs and a panic — runs in its hub.
        Some(reporter) => router
            .layer(sentry::integrations::tower::SentryHttpLayer::new())
            .layer(sentry::integrations::tower::SentryLayer::new(RequestHub(reporter))),
        None => router,
    }
    .with_state(state)
}

/// Gives each request a hub of its own, made from the application's Sentry client.
#[derive(Clone)]
struct RequestHub(crate::telemetry::error_reporting::ErrorReporter);

impl<R> sentry::integrations::tower::HubProvider<std::sync::Arc<sentry::Hub>, R> for RequestHub {
    fn hub(&self, _request: &R) -> std::sync::Arc<sentry::Hub> {
        self.0.request_hub()
    }
}
