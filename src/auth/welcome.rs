//! The welcome mail (seed 001): sent once per account, when its address is first confirmed by
//! the verification link or code, by a password reset (which proves the address too), or at
//! sign-up through a provider that verified it. "Once" rests on the store: only the update that
//! flips `is_email_verified` reports a change, so a second confirmation sends nothing.

use crate::auth::services::Services;
use crate::error::Result;
use crate::mail::templates::Template;
use crate::store::UserRecord;

/// Queues the welcome mail for `user` unless `WELCOME_MAIL=false`.
pub async fn send(state: &Services, user: &UserRecord) -> Result<()> {
    let cfg = &state.config;
    if !cfg.welcome_mail {
        return Ok(());
    }
    let name = user.first_name.clone().unwrap_or_default();
    let mail = state.outbox.render(
        Template::Welcome,
        &[("app", &cfg.app_name), ("name", &name), ("email", &user.email)],
    );
    state.outbox.enqueue(&user.email, mail).await?;
    Ok(())
}

/// Marks the address confirmed and, if this confirmed it for the first time, welcomes the user.
pub async fn confirm_address(state: &Services, user_id: uuid::Uuid) -> Result<()> {
    if state.store.users().mark_email_verified(user_id, state.now()).await? {
        if let Some(user) = state.store.users().by_id(user_id).await? {
            send(state, &user).await?;
        }
    }
    Ok(())
}
