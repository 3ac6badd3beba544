//! The signed-in user's passkeys: list, rename, delete (never the last way to sign in). Every
//! change is audited and mailed to the owner, who must hear of a key they did not add.

use crate::audit::{self, EventKind, Outcome};
use crate::auth::services::Services;
use crate::auth::sessions::AuthUser;
use crate::client::ClientInfo;
use crate::domain::PasskeyName;
use crate::error::{Error, ErrorCode, Result};
use crate::store::{PasskeyRecord, UserRecord};
use serde_json::json;
use uuid::Uuid;

pub async fn list(state: &Services, user_id: Uuid) -> Result<Vec<PasskeyRecord>> {
    Ok(state.store.passkeys().of_user(user_id).await?)
}

fn not_found() -> Error {
    Error::new(ErrorCode::PasskeyNotFound, "no such passkey on this account")
}

async fn owner(state: &Services, caller: &AuthUser) -> Result<UserRecord> {
    state
        .store
        .users()
        .by_id(caller.user_id)
        .await?
        .ok_or_else(crate::auth::mfa::user_gone)
}

pub async fn rename(
    state: &Services,
    caller: &AuthUser,
    id: Uuid,
    name: &PasskeyName,
    client: &ClientInfo,
) -> Result<PasskeyRecord> {
    let user = owner(state, caller).await?;
    if !state.store.passkeys().rename(user.id, id, name.as_str()).await? {
        return Err(not_found());
    }
    changed(
        state,
        &user,
        EventKind::PasskeyRenamed,
        "renamed",
        name.as_str(),
        id,
        client,
    )
    .await?;
    list(state, user.id)
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(not_found)
}

/// Deletes a passkey. Removing a way in is a sensitive change: an MFA user needs the step-up.
pub async fn delete(state: &Services, caller: &AuthUser, id: Uuid, client: &ClientInfo) -> Result<()> {
    let user = owner(state, caller).await?;
    crate::auth::mfa::require_step_up(state, caller, &user)?;
    let Some(passkey) = list(state, user.id).await?.into_iter().find(|p| p.id == id) else {
        return Err(not_found());
    };
    if !state.store.passkeys().delete(user.id, id).await? {
        return Err(Error::new(
            ErrorCode::LastSignInMethod,
            "this passkey is your only way to sign in; set a password (forgot-password), link a provider or add another passkey first",
        ));
    }
    changed(
        state,
        &user,
        EventKind::PasskeyDeleted,
        "deleted",
        &passkey.name,
        id,
        client,
    )
    .await
}

/// Audits a change and mails the owner about it.
pub(super) async fn changed(
    state: &Services,
    user: &UserRecord,
    kind: EventKind,
    change: &str,
    name: &str,
    id: Uuid,
    client: &ClientInfo,
) -> Result<()> {
    audit::Event {
        kind,
        user_id: Some(user.id),
        client,
        outcome: Outcome::Success,
        details: json!({ "passkey_id": id, "name": name }),
    }
    .record(state.store.as_ref(), state.now())
    .await;
    let first = user.first_name.clone().unwrap_or_default();
    let when = crate::mail::templates::mail_time(state.now());
    let mail = state.outbox.render(
        crate::mail::templates::Template::PasskeyChanged,
        &[
            ("app", &state.config.app_name),
            ("name", &first),
            ("when", &when),
            ("change", change),
            ("passkey", name),
        ],
    );
    state.outbox.enqueue(&user.email, mail).await?;
    Ok(())
}
