//! The shape shared by every "mail me something" endpoint (new verification mail, reset link,
//! sign-in code): parse the address, count it against its rate limit, do the work off the
//! request, answer `202` with the same words whether or not the address has an account.
//!
//! The work runs in a task of its own so that known and unknown addresses answer in the same
//! time; the limits are counted per address submitted (existing or not; see
//! [`crate::auth::mail_limit`]), so a `429` reveals nothing either.

use super::auth::{Fields, MessageResponse};
use crate::app::AppState;
use crate::client::ClientInfo;
use crate::domain::Email;
use crate::error::Result;
use crate::ratelimit::Limit;
use axum::http::StatusCode;
use std::future::Future;

pub async fn accept<F, Fut>(
    state: &AppState,
    client: &ClientInfo,
    email: Option<&str>,
    limit: Limit,
    what: &'static str,
    message: &str,
    job: F,
) -> Result<(StatusCode, axum::Json<MessageResponse>)>
where
    F: FnOnce(AppState, Email) -> Fut,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let mut f = Fields::default();
    let email = f.take("email", email, Email::parse);
    f.finish()?;
    if let Some(email) = email {
        crate::auth::mail_limit::count_request(state, limit, &email.canonical(), client).await?;
        let work = job(state.clone(), email);
        tokio::spawn(async move {
            if let Err(e) = work.await {
                tracing::error!(error = %format!("{e:#}"), "could not queue {what}");
            }
        });
    }
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(MessageResponse {
            message: message.to_string(),
        }),
    ))
}
