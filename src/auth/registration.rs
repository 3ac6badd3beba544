//! Registration (seed 000): every field validated by the domain types, account created pending
//! email verification, verification mail (link + code) queued in the outbox.
//!
//! Duplicate email — decision: registration answers `201` with the same body whether or not the
//! address is already registered, after the same Argon2 work, and the owner of an existing
//! account gets a mail saying someone tried to sign up with it. Answering `409` would let anyone
//! test which addresses have accounts, which the login, resend and reset endpoints are careful
//! not to reveal. Only a taken *username* gets `409 username_taken`: a user choosing a public
//! name must be told it is taken, and a username is not a contact address. It is checked first,
//! so a taken username answers `409` whether or not the address is registered.

use crate::audit::{self, EventKind, Outcome};
use crate::auth::services::Services;
use crate::auth::verification;
use crate::client::ClientInfo;
use crate::dns::DomainStatus;
use crate::domain::{BdMobile, DateOfBirth, Email, FieldError, Gender, Password, PersonName, Username};
use crate::error::Result;
use crate::mail::templates::Template;
use crate::store::{NewUser, StoreError};
use serde_json::json;
use uuid::Uuid;

/// A registration whose every field is valid.
pub struct Registration {
    pub email: Email,
    pub password: Password,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub date_of_birth: DateOfBirth,
    pub gender: Gender,
    pub mobile: BdMobile,
    pub username: Option<Username>,
}

/// Refuses addresses whose domain cannot receive mail (`EMAIL_DOMAIN_CHECK=dns`).
pub async fn check_email_domain(state: &Services, email: &Email) -> Option<FieldError> {
    let resolver = state.resolver.as_ref()?;
    match resolver.check(email.domain()).await {
        DomainStatus::NoMailHost => Some(FieldError {
            field: "email".into(),
            code: "domain_cannot_receive_mail",
            message: format!(
                "the domain {} has no mail server (no MX, A or AAAA records); check the address",
                email.domain()
            ),
        }),
        DomainStatus::AcceptsMail | DomainStatus::Unknown => None,
    }
}

pub async fn register(state: &Services, reg: Registration, client: &ClientInfo) -> Result<()> {
    let now = state.now();
    let password_hash = state.hasher.hash(&reg.password).await?;
    let canonical = reg.email.canonical();
    // The username is checked before the address: with a taken username the answer is the same
    // `409 username_taken` whether or not the address has an account.
    if let Some(username) = &reg.username {
        if state.store.users().by_username(&username.canonical()).await?.is_some() {
            return Err(crate::auth::profile::username_taken());
        }
    }
    if state.store.users().by_email(&canonical).await?.is_some() {
        return notify_existing_account(state, &reg.email, client).await;
    }
    let new_user = NewUser {
        id: Uuid::new_v4(),
        email: reg.email.as_str().to_string(),
        email_canonical: canonical,
        username: reg.username.as_ref().map(|u| u.as_str().to_string()),
        username_canonical: reg.username.as_ref().map(|u| u.canonical()),
        first_name: Some(reg.first_name.as_ref().to_string()),
        last_name: Some(reg.last_name.as_ref().to_string()),
        date_of_birth: Some(reg.date_of_birth.date()),
        gender: Some(reg.gender.as_str().to_string()),
        mobile: Some(reg.mobile.as_str().to_string()),
        password_hash: Some(password_hash),
        role: state.config.roles.default_role().as_str().to_string(),
        is_email_verified: false,
        created_at: now,
    };
    let user = match state.store.users().create(&new_user).await {
        Ok(user) => user,
        Err(StoreError::Duplicate("username")) => return Err(crate::auth::profile::username_taken()),
        // Lost a race with a concurrent registration of the same address.
        Err(StoreError::Duplicate(_)) => return notify_existing_account(state, &reg.email, client).await,
        Err(e) => return Err(e.into()),
    };
    verification::send_verification(state, &user).await?;
    audit::Event {
        kind: EventKind::Register,
        user_id: Some(user.id),
        client,
        outcome: Outcome::Success,
        details: json!({}),
    }
    .record(state.store.as_ref(), now)
    .await;
    Ok(())
}

async fn notify_existing_account(state: &Services, email: &Email, client: &ClientInfo) -> Result<()> {
    // Over the per-address mail cap the notice is skipped, not refused: the answer must stay the
    // `201` a new account gets.
    if crate::auth::mail_limit::count_mail_to(state, &email.canonical())
        .await
        .is_ok()
    {
        let mail = state
            .outbox
            .render(Template::AccountExists, &[("app", &state.config.app_name)]);
        state.outbox.enqueue(email.as_str(), mail).await?;
    }
    let user_id = state.store.users().by_email(&email.canonical()).await?.map(|u| u.id);
    audit::Event {
        kind: EventKind::Register,
        user_id,
        client,
        outcome: Outcome::Failure,
        details: json!({ "reason": "email_exists" }),
    }
    .record(state.store.as_ref(), state.now())
    .await;
    Ok(())
}
