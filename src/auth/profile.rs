//! Editing one's own profile (`PATCH /api/auth/me`): username and the personal fields of
//! registration, each validated by the same domain type as at registration.
//!
//! The email address and password are not edited here: changing them needs proof (a mail to the
//! new address, the current password or recent MFA), which their own flows carry. A taken
//! username is `409 username_taken`, as at registration: whoever picks a public name must learn
//! it is taken, and a username is not a contact address, so this reveals nothing login hides.

use crate::audit::{self, EventKind, Outcome};
use crate::auth::services::Services;
use crate::auth::sessions::AuthUser;
use crate::client::ClientInfo;
use crate::domain::{BdMobile, DateOfBirth, Gender, PersonName, Username};
use crate::error::{Error, ErrorCode, Result};
use crate::store::{ProfileChanges, StoreError, StoredUsername, UserRecord};
use serde_json::json;

/// A profile edit whose every field is valid; `None` leaves a field unchanged.
#[derive(Debug, Default)]
pub struct ProfileUpdate {
    /// `Some(None)` removes the username.
    pub username: Option<Option<Username>>,
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
    pub date_of_birth: Option<DateOfBirth>,
    pub gender: Option<Gender>,
    pub mobile: Option<BdMobile>,
}

impl ProfileUpdate {
    /// Names of the fields this edit touches (for the audit trail: never their values).
    fn field_names(&self) -> Vec<&'static str> {
        [
            ("username", self.username.is_some()),
            ("first_name", self.first_name.is_some()),
            ("last_name", self.last_name.is_some()),
            ("date_of_birth", self.date_of_birth.is_some()),
            ("gender", self.gender.is_some()),
            ("mobile", self.mobile.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }
}

pub fn username_taken() -> Error {
    Error::FieldConflict(crate::domain::FieldError {
        field: "username".into(),
        code: "username_taken",
        message: "this username is already taken; choose another".into(),
    })
}

pub async fn update_profile(
    state: &Services,
    user: &AuthUser,
    update: ProfileUpdate,
    client: &ClientInfo,
) -> Result<UserRecord> {
    let gone = || Error::new(ErrorCode::SessionRevoked, "this account no longer exists");
    let fields = update.field_names();
    if fields.is_empty() {
        // An empty merge patch changes nothing (RFC 7396).
        return state.store.users().by_id(user.user_id).await?.ok_or_else(gone);
    }
    let now = state.now();
    let changes = ProfileChanges {
        username: update.username.map(|u| {
            u.map(|u| StoredUsername {
                username: u.as_str().to_string(),
                canonical: u.canonical(),
            })
        }),
        first_name: update.first_name.map(|n| n.as_ref().to_string()),
        last_name: update.last_name.map(|n| n.as_ref().to_string()),
        date_of_birth: update.date_of_birth.map(|d| d.date()),
        gender: update.gender.map(|g| g.as_str().to_string()),
        mobile: update.mobile.map(|m| m.as_str().to_string()),
    };
    let record = match state.store.users().update_profile(user.user_id, &changes, now).await {
        Ok(Some(record)) => record,
        Ok(None) => return Err(gone()),
        Err(StoreError::Duplicate("username")) => return Err(username_taken()),
        Err(e) => return Err(e.into()),
    };
    audit::Event {
        kind: EventKind::ProfileUpdate,
        user_id: Some(user.user_id),
        client,
        outcome: Outcome::Success,
        details: json!({ "fields": fields }),
    }
    .record(state.store.as_ref(), now)
    .await;
    Ok(record)
}
