//! Plain rows as the stores read and write them. Domain validation happened before a value got
//! here; these types only carry it.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRecord {
    pub id: Uuid,
    pub email: String,
    pub email_canonical: String,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub gender: Option<String>,
    pub mobile: Option<String>,
    pub password_hash: Option<String>,
    pub role: String,
    pub is_active: bool,
    pub is_email_verified: bool,
    pub mfa_enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_login: Option<DateTime<Utc>>,
    pub email_verified_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: Uuid,
    pub email: String,
    pub email_canonical: String,
    pub username: Option<String>,
    pub username_canonical: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub gender: Option<String>,
    pub mobile: Option<String>,
    pub password_hash: Option<String>,
    pub role: String,
    pub is_email_verified: bool,
    pub created_at: DateTime<Utc>,
}

impl NewUser {
    /// An account known only by a confirmed address: one the operator creates from the CLI, or
    /// one a provider vouches for at social login. Profile fields are left for the user.
    pub fn with_confirmed_email(
        email: &crate::domain::Email,
        role: &str,
        password_hash: Option<String>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: Uuid::new_v4(),
            email: email.as_str().to_string(),
            email_canonical: email.canonical(),
            username: None,
            username_canonical: None,
            first_name: None,
            last_name: None,
            date_of_birth: None,
            gender: None,
            mobile: None,
            password_hash,
            role: role.to_string(),
            is_email_verified: true,
            created_at: now,
        }
    }
}

/// What a single-use token or code is for; stored as text in `verification_tokens.purpose`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    /// The long random token in the verification link.
    EmailVerificationLink,
    /// The 6-digit code in the same mail.
    EmailVerificationCode,
    PasswordReset,
    /// A 6-digit MFA code sent by mail (enrolment, login challenge, step-up, disable).
    MfaEmailCode,
    /// A 6-digit code for passwordless sign-in by mail (`/api/auth/otp/*`).
    OtpLogin,
    /// An `mfa_token` handed out after a correct password.
    MfaChallengeAfterPassword,
    /// An `mfa_token` handed out after a correct passwordless OTP code.
    MfaChallengeAfterEmailOtp,
    /// An `mfa_token` handed out after a social login (the provider was the first factor).
    MfaChallengeAfterOAuth,
    /// An `mfa_token` handed out after a passkey without user verification (one factor).
    MfaChallengeAfterPasskey,
    /// The one-time code a finished social login hands the app (`/api/auth/oauth/exchange`).
    OAuthExchange,
    /// The link in the "sign-in was paused" mail, which lifts a failed-login lockout.
    AccountUnlock,
    /// The link mailed to a new address; its `email_changes` row names the address.
    EmailChange,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::EmailVerificationLink => "email_verification",
            TokenPurpose::EmailVerificationCode => "email_verification_code",
            TokenPurpose::PasswordReset => "password_reset",
            TokenPurpose::MfaEmailCode => "mfa_email_code",
            TokenPurpose::OtpLogin => "otp_login",
            TokenPurpose::MfaChallengeAfterPassword => "mfa_challenge_pwd",
            TokenPurpose::MfaChallengeAfterEmailOtp => "mfa_challenge_email",
            TokenPurpose::MfaChallengeAfterOAuth => "mfa_challenge_fed",
            TokenPurpose::MfaChallengeAfterPasskey => "mfa_challenge_webauthn",
            TokenPurpose::OAuthExchange => "oauth_exchange",
            TokenPurpose::AccountUnlock => "account_unlock",
            TokenPurpose::EmailChange => "email_change",
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewOneTimeToken {
    pub id: Uuid,
    pub user_id: Uuid,
    pub purpose: TokenPurpose,
    pub token_hash: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OneTimeTokenRecord {
    pub id: Uuid,
    pub user_id: Uuid,
    pub token_hash: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub attempts: i32,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: Uuid,
    pub user_id: Uuid,
    pub created_at: DateTime<Utc>,
    /// Absolute end of the login, whatever the refreshes.
    pub expires_at: DateTime<Utc>,
    pub auth_time: DateTime<Utc>,
    /// JSON array of RFC 8176 method names, e.g. `["pwd"]`.
    pub amr: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRecord {
    pub id: Uuid,
    pub user_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub auth_time: DateTime<Utc>,
    pub amr: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    pub id: Uuid,
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub token_hash: String,
    pub parent_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefreshTokenRecord {
    pub id: Uuid,
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub token_hash: String,
    pub parent_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub algorithm: String,
    /// PKCS#8 document, base64. Private: never leaves the server.
    pub private_key: String,
    /// Raw public key, base64url (the JWK `x`).
    pub public_key: String,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewMail {
    pub id: Uuid,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxMail {
    pub id: Uuid,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub created_at: DateTime<Utc>,
    pub attempts: i32,
}

/// A mail a provider refused for good (its bodies are gone; see `Outbox::mark_failed`).
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct FailedMail {
    pub id: Uuid,
    pub recipient: String,
    pub subject: String,
    pub created_at: DateTime<Utc>,
    pub failed_at: DateTime<Utc>,
    pub attempts: i32,
    /// The provider and its words, such as `sendgrid: 400 Bad Request: Does not contain a valid address.`
    pub reason: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct AuditEvent {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub event_type: String,
    pub user_id: Option<Uuid>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// `success` or `failure`.
    pub outcome: String,
    /// Small JSON object with context (never a secret).
    pub details: String,
}

/// What happened to one imported row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportOutcome {
    Inserted,
    AlreadyPresent,
    /// Another account holds this unique value (`username`).
    Conflict(&'static str),
}

/// A username as stored: as typed, and the lower-case key that keeps it unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUsername {
    pub username: String,
    pub canonical: String,
}

/// The fields a profile edit changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProfileChanges {
    /// `Some(None)` removes the username, `Some(Some(..))` sets it.
    pub username: Option<Option<StoredUsername>>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub gender: Option<String>,
    pub mobile: Option<String>,
}

// --- mfa ---

/// A second factor being enrolled (`pending`) or in use (`active`).
#[derive(Debug, Clone)]
pub struct NewMfaFactor {
    pub id: Uuid,
    pub user_id: Uuid,
    /// `totp` or `email`.
    pub method: String,
    /// The sealed TOTP key (never the plain key); `None` for email.
    pub secret: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
}

/// A user moved over from another system, with the TOTP factor they had there (inserted
/// active, in the transaction that inserts the user: an import never leaves an account that
/// had a second factor without one, even if it stops half-way).
#[derive(Debug, Clone)]
pub struct NewImportedUser {
    pub user: NewUser,
    pub active_totp: Option<NewMfaFactor>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MfaFactorRecord {
    pub id: Uuid,
    pub user_id: Uuid,
    pub method: String,
    pub secret: Option<Vec<u8>>,
    /// `pending` or `active`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub activated_at: Option<DateTime<Utc>>,
}

impl MfaFactorRecord {
    pub fn is_active(&self) -> bool {
        self.status == "active"
    }
}

/// A provider identity to link (`oauth_accounts`).
#[derive(Debug, Clone)]
pub struct NewOAuthAccount {
    pub id: Uuid,
    pub user_id: Uuid,
    pub provider: String,
    pub provider_user_id: String,
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OAuthAccountRecord {
    pub id: Uuid,
    pub provider: String,
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
}
