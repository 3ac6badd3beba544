//! The signed-in user's linked provider identities, and unlinking one — never the last way to
//! sign in (an account with no password and no identity could never be entered again).

use crate::auth::services::Services;
use crate::error::{Error, ErrorCode, Result};
use crate::store::OAuthAccountRecord;
use uuid::Uuid;

pub async fn list(state: &Services, user_id: Uuid) -> Result<Vec<OAuthAccountRecord>> {
    Ok(state.store.identities().of_user(user_id).await?)
}

pub async fn unlink(state: &Services, user_id: Uuid, id: Uuid) -> Result<()> {
    if state.store.identities().unlink(user_id, id).await? {
        return Ok(());
    }
    let linked = state.store.identities().of_user(user_id).await?;
    if linked.iter().any(|a| a.id == id) {
        Err(Error::new(
            ErrorCode::LastSignInMethod,
            "this is your only way to sign in; set a password (forgot-password) or link another provider first",
        ))
    } else {
        Err(Error::new(ErrorCode::IdentityNotFound, "no such linked identity"))
    }
}
