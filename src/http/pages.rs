//! The one HTML page of the foundation: the target of the link in the verification mail.
//!
//! GET only shows a confirmation button; the token is spent by the POST it submits. Mail
//! scanners and link previewers fetch links with GET, and must not be able to use up the token.

use crate::app::AppState;
use crate::auth::secrets::OpaqueToken;
use crate::auth::verification;
use crate::http::extract::ClientInfo;
use crate::mail::templates::escape_html;
use axum::extract::{Form, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/verify-email", get(show).post(confirm))
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{title}</title><style>body{{font-family:sans-serif;max-width:32em;margin:4em auto;padding:0 1em;line-height:1.5}}\
         button{{font-size:1.1em;padding:.5em 1.2em}}</style></head><body><h1>{title}</h1>{body}</body></html>",
        title = escape_html(title)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
        ],
        html,
    )
        .into_response()
}

async fn show(Query(q): Query<TokenQuery>) -> Response {
    match q.token.filter(|t| !t.is_empty()) {
        Some(token) => page(
            StatusCode::OK,
            "Confirm your email address",
            &format!(
                "<form method=\"post\" action=\"verify-email\"><input type=\"hidden\" name=\"token\" value=\"{}\">\
                 <button type=\"submit\">Confirm my email address</button></form>",
                escape_html(&token)
            ),
        ),
        None => page(
            StatusCode::BAD_REQUEST,
            "Link incomplete",
            "<p>This link has no token. Open the link from the mail exactly as it was sent.</p>",
        ),
    }
}

async fn confirm(State(state): State<AppState>, client: ClientInfo, Form(q): Form<TokenQuery>) -> Response {
    let token = OpaqueToken::from_presented(q.token.as_deref().unwrap_or(""));
    match verification::verify_with_token(&state, &token, &client).await {
        Ok(()) => page(
            StatusCode::OK,
            "Email address confirmed",
            "<p>Thank you. You can close this page and sign in.</p>",
        ),
        Err(e) => {
            let status = e.status();
            if status.is_server_error() {
                return e.into_response();
            }
            page(
                status,
                "This link does not work",
                &format!("<p>{}</p>", escape_html(&e.to_string())),
            )
        }
    }
}
