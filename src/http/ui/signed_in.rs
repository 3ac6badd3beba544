//! The forms of a signed-in user: [`SignedInForm`] gives a handler the user, the parsed form and
//! the cookies only once the page session is live and the form's CSRF token and origin check
//! out; otherwise the answer is sign-in (or the session's renewal) or a page saying the form
//! could not be used, never JSON.

use super::forms::check_session_form;
use super::render::page;
use super::session::page_user;
use super::signin::shown;
use super::strings::text;
use super::PageForm;
use crate::app::AppState;
use crate::auth::sessions::AuthUser;
use crate::error::Error;
use axum::extract::{FromRequest, Request};
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use minijinja::context;
use serde::de::DeserializeOwned;

/// The account page, where a signed-in form's refusal points back to.
pub(super) const HERE: &str = "/account";

/// A posted form that carries its CSRF token.
pub(super) trait CsrfForm {
    fn csrf(&self) -> Option<&str>;
}

/// Implements [`CsrfForm`] for forms whose token is the field `csrf`.
macro_rules! csrf_form {
    ($($form:ty),+ $(,)?) => {
        $(impl $crate::http::ui::signed_in::CsrfForm for $form {
            fn csrf(&self) -> Option<&str> {
                self.csrf.as_deref()
            }
        })+
    };
}
pub(super) use csrf_form;

pub(super) struct SignedInForm<T> {
    pub user: AuthUser,
    pub form: T,
    pub jar: CookieJar,
}

impl<T: DeserializeOwned + CsrfForm + Send> FromRequest<AppState> for SignedInForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let jar = CookieJar::from_headers(req.headers());
        let headers = req.headers().clone();
        let PageForm(form) = PageForm::<T>::from_request(req, state).await?;
        let user = page_user(state, &jar, HERE).await?;
        check_session_form(state, &headers, user.session_id, form.csrf()).map_err(|e| form_refused(state, e))?;
        Ok(Self { user, form, jar })
    }
}

/// A signed-in form that failed its CSRF or origin check: a page saying so, not JSON.
pub(super) fn form_refused(state: &AppState, e: Error) -> Response {
    page(
        state,
        e.status(),
        "message.html",
        context! {
            title => text("form_refused"),
            message => shown(&e),
            link => HERE,
            link_text => text("back_to_account"),
        },
    )
}
