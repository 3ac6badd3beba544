//! The fields of a posted page form. A body that cannot be read (over the body limit, not
//! `application/x-www-form-urlencoded`) is answered with a page that says what to do, in place
//! of axum's plain-text rejection, which a browser shows as a bare line of text.

use super::render::page;
use super::strings::text;
use crate::app::AppState;
use axum::extract::{Form, FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use minijinja::context;
use serde::de::DeserializeOwned;

pub struct PageForm<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for PageForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        match Form::<T>::from_request(req, state).await {
            Ok(Form(fields)) => Ok(Self(fields)),
            Err(rejection) => Err(unreadable(state, rejection.status())),
        }
    }
}

fn unreadable(state: &AppState, status: StatusCode) -> Response {
    let too_large = status == StatusCode::PAYLOAD_TOO_LARGE;
    let mut response = page(
        state,
        status,
        "message.html",
        context! {
            title => text("form_unreadable_title"),
            message => text(if too_large { "form_too_large" } else { "form_unreadable" }),
            link => "/login",
            link_text => text("go_to_sign_in"),
        },
    );
    if too_large {
        // The unread rest of the body ends this connection (see `Error::PayloadTooLarge`).
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}
