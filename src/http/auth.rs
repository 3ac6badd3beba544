//! `/api/auth/*`: registration, verification, login, tokens, profile. Handlers only turn the
//! request into domain types, call one service function and shape the answer.

use crate::app::AppState;
use crate::auth::mfa::challenge::LoginOutcome;
use crate::auth::registration::{self, Registration};
use crate::auth::secrets::{NumericCode, OpaqueToken};
use crate::auth::sessions::AuthUser;
use crate::auth::{login, verification};
use crate::client::ClientInfo;
use crate::domain::{
    BdMobile, DateOfBirth, Email, FieldError, Gender, Invalid, Password, PasswordContext, PersonName, Username,
};
use crate::error::{Error, ErrorCode, Problem, Result};
use crate::http::cookies;
use crate::http::extract::Json;
use crate::http::mail_request;
use crate::ratelimit::Limit;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(verify_email))
        .routes(routes!(resend_verification))
        .routes(routes!(login_handler))
        .routes(routes!(me))
}

/// Collects field errors so one 422 lists every invalid field.
#[derive(Default)]
pub struct Fields(pub Vec<FieldError>);

impl Fields {
    pub fn take<T>(
        &mut self,
        field: &str,
        raw: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, Invalid>,
    ) -> Option<T> {
        match raw {
            None => {
                self.0.push(Invalid::new("required", "is required").at(field));
                None
            }
            Some(raw) => parse(raw).map_err(|e| self.0.push(e.at(field))).ok(),
        }
    }

    pub fn optional<T>(
        &mut self,
        field: &str,
        raw: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, Invalid>,
    ) -> Option<T> {
        match raw {
            None => None,
            Some(raw) if raw.trim().is_empty() => None,
            Some(raw) => parse(raw).map_err(|e| self.0.push(e.at(field))).ok(),
        }
    }

    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(self.0))
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "first_name": "Rahim", "last_name": "Uddin", "date_of_birth": "1998-04-17", "gender": "male",
    "email": "rahim@example.com", "mobile": "01712345678", "password": "a long unusual passphrase"
}))]
pub struct RegisterRequest {
    /// Letters of any script; single spaces, hyphens or apostrophes between them.
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// `YYYY-MM-DD`; the user must be at least `MIN_AGE` years old.
    pub date_of_birth: Option<String>,
    /// `male`, `female`, `other` or `prefer_not_to_say`.
    pub gender: Option<String>,
    pub email: Option<String>,
    /// Bangladeshi mobile: `+8801XXXXXXXXX` or `01XXXXXXXXX`; stored as E.164.
    pub mobile: Option<String>,
    /// 8–128 characters; not a common password; not containing your name or email.
    pub password: Option<String>,
    /// Optional public name (3–32 of `a-z 0-9 . _ -`), usable to sign in.
    pub username: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResponse {
    pub message: String,
}

impl RegisterRequest {
    /// `domain_error` is the verdict of the email domain check, listed with the other fields.
    pub(crate) fn parse(self, state: &AppState, domain_error: Option<FieldError>) -> Result<Registration> {
        let today = state.now().date_naive();
        let cfg = &state.config;
        let mut f = Fields::default();
        let first_name = f.take("first_name", self.first_name.as_deref(), PersonName::parse);
        let last_name = f.take("last_name", self.last_name.as_deref(), PersonName::parse);
        let date_of_birth = f.take("date_of_birth", self.date_of_birth.as_deref(), |v| {
            DateOfBirth::parse(v, today, cfg.min_age)
        });
        let gender = f.take("gender", self.gender.as_deref(), Gender::parse);
        let email = f.take("email", self.email.as_deref(), Email::parse);
        f.0.extend(domain_error);
        let mobile = f.take("mobile", self.mobile.as_deref(), BdMobile::parse);
        let username = f.optional("username", self.username.as_deref(), Username::parse);
        let rules = state.config.password_rules();
        let ctx = PasswordContext {
            email: email.as_ref(),
            first_name: first_name.as_ref().map(|n| n.as_str()),
            last_name: last_name.as_ref().map(|n| n.as_str()),
            username: username.as_ref().map(|u| u.as_str()),
            rules: &rules,
        };
        let password = f.take("password", self.password.as_deref(), |v| Password::parse(v, &ctx));
        match (first_name, last_name, date_of_birth, gender, email, mobile, password) {
            (
                Some(first_name),
                Some(last_name),
                Some(date_of_birth),
                Some(gender),
                Some(email),
                Some(mobile),
                Some(password),
            ) if f.0.is_empty() => Ok(Registration {
                email,
                password,
                first_name,
                last_name,
                date_of_birth,
                gender,
                mobile,
                username,
            }),
            _ => {
                f.finish()?;
                Err(Error::Internal(anyhow::anyhow!(
                    "registration parse lost a field without an error"
                )))
            }
        }
    }
}

/// Create an account. It stays pending until the email address is verified.
///
/// Answers the same for an address that already has an account (that owner is sent a notice
/// instead), so this endpoint cannot be used to find out who is registered.
#[utoipa::path(post, path = "/api/auth/register", tag = "registration", request_body = RegisterRequest,
    responses(
        (status = 201, description = "Accepted: a verification mail is on its way", body = MessageResponse),
        (status = 409, description = "The username is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "One entry per invalid field", body = Problem, content_type = "application/problem+json"),
    ))]
async fn register(
    State(state): State<AppState>,
    client: ClientInfo,
    Json(body): Json<RegisterRequest>,
) -> Result<impl IntoResponse> {
    state.limits.check(Limit::Register, &client.limit_subject()).await?;
    // Only an address that parses is looked up; a refused domain is listed with the other
    // invalid fields, so one 422 still names every field to fix.
    let domain_error = match body.email.as_deref().map(Email::parse) {
        Some(Ok(email)) => registration::check_email_domain(&state, &email).await,
        _ => None,
    };
    let registration = body.parse(&state, domain_error)?;
    registration::register(&state, registration, &client).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(MessageResponse {
            message: "Check your inbox: we sent a link and a code to confirm your email address. You can sign in once it is confirmed.".into(),
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VerifyEmailRequest {
    /// The token from the link in the mail. Or send `email` and `code` instead.
    pub token: Option<String>,
    pub email: Option<String>,
    /// The 6-digit code from the mail.
    pub code: Option<String>,
}

/// Confirm an email address with the link token or with email + 6-digit code.
#[utoipa::path(post, path = "/api/auth/verify-email", tag = "registration", request_body = VerifyEmailRequest,
    responses(
        (status = 200, description = "Email confirmed; the account can sign in", body = MessageResponse),
        (status = 400, description = "`invalid_token`, `token_used`, `token_expired`, `token_revoked`, `invalid_code` or `too_many_attempts`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Neither a token nor email + code was sent", body = Problem, content_type = "application/problem+json"),
    ))]
async fn verify_email(
    State(state): State<AppState>,
    client: ClientInfo,
    Json(body): Json<VerifyEmailRequest>,
) -> Result<axum::Json<MessageResponse>> {
    if let Some(token) = body.token.as_deref().filter(|t| !t.trim().is_empty()) {
        verification::verify_with_token(&state, &OpaqueToken::from_presented(token), &client).await?;
    } else {
        let mut f = Fields::default();
        if body.email.is_none() && body.code.is_none() {
            f.0.push(Invalid::new("required", "is required (or send email and code)").at("token"));
            return Err(Error::Validation(f.0));
        }
        let email = f.take("email", body.email.as_deref(), Email::parse);
        let code = f.take("code", body.code.as_deref(), |c| {
            NumericCode::from_presented(c)
                .ok_or_else(|| Invalid::new("invalid_format", "must be the 6-digit code from the mail"))
        });
        f.finish()?;
        if let (Some(email), Some(code)) = (email, code) {
            verification::verify_with_code(&state, &email, &code, &client).await?;
        }
    }
    Ok(axum::Json(MessageResponse {
        message: "Your email address is confirmed. You can sign in now.".into(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EmailRequest {
    pub email: Option<String>,
}

/// Send a new verification mail. Answers the same whether or not the address has an account.
#[utoipa::path(post, path = "/api/auth/resend-verification", tag = "registration", request_body = EmailRequest,
    responses(
        (status = 202, description = "If the address belongs to an unverified account, a new mail is on its way", body = MessageResponse),
        (status = 422, description = "The email is missing or malformed", body = Problem, content_type = "application/problem+json"),
    ))]
async fn resend_verification(
    State(state): State<AppState>,
    client: ClientInfo,
    Json(body): Json<EmailRequest>,
) -> Result<impl IntoResponse> {
    mail_request::accept(
        &state,
        &client,
        body.email.as_deref(),
        Limit::Email,
        "a verification mail",
        "If this address belongs to an account that is not confirmed yet, we sent a new confirmation mail.",
        |state, email| async move { verification::resend(&state, &email).await },
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"email": "rahim@example.com", "password": "a long unusual passphrase"}))]
pub struct LoginRequest {
    /// The account's email address or username (also accepted as `username` or `identifier`).
    #[serde(alias = "username", alias = "identifier")]
    pub email: Option<String>,
    pub password: Option<String>,
}

/// Sign in with email (or username) and password.
#[utoipa::path(post, path = "/api/auth/login", tag = "tokens", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in: a token pair (with `REFRESH_TOKEN_COOKIE`: the refresh token as an HttpOnly cookie and a `csrf_token` instead), or for an MFA user `{mfa_required: true, mfa_token, methods}` to finish at `/api/auth/mfa/challenge`", body = LoginOutcome),
        (status = 401, description = "`invalid_credentials`: unknown email or username, or wrong password (indistinguishable)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`email_not_verified` or `account_disabled` (only after a correct password)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`account_locked` (too many failed sign-ins; the owner was mailed an unlock link) or `rate_limited`; both with `Retry-After`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn login_handler(
    State(state): State<AppState>,
    client: ClientInfo,
    Json(body): Json<LoginRequest>,
) -> Result<axum::response::Response> {
    let mut f = Fields::default();
    let email = f.take("email", body.email.as_deref(), |v| Ok(v.to_string()));
    let password = f.take("password", body.password.as_deref(), |v| {
        Ok(Password::for_verification(v))
    });
    f.finish()?;
    match (email, password) {
        (Some(email), Some(password)) => Ok(cookies::outcome(
            &state,
            login::login(&state, &email, &password, &client).await?,
        )),
        _ => Err(Error::InvalidCredentials),
    }
}

/// The signed-in user's profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct Profile {
    pub id: uuid::Uuid,
    pub email: String,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub date_of_birth: Option<chrono::NaiveDate>,
    pub gender: Option<String>,
    pub mobile: Option<String>,
    pub role: String,
    pub is_email_verified: bool,
    pub mfa_enabled: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_login: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<crate::store::UserRecord> for Profile {
    fn from(u: crate::store::UserRecord) -> Self {
        Self {
            id: u.id,
            email: u.email,
            username: u.username,
            first_name: u.first_name,
            last_name: u.last_name,
            date_of_birth: u.date_of_birth,
            gender: u.gender,
            mobile: u.mobile,
            role: u.role,
            is_email_verified: u.is_email_verified,
            mfa_enabled: u.mfa_enabled,
            created_at: u.created_at,
            last_login: u.last_login,
        }
    }
}

/// The profile of the user the access token belongs to.
#[utoipa::path(get, path = "/api/auth/me", tag = "profile", security(("bearer" = []), ("oauth2_password" = [])),
    responses(
        (status = 200, description = "The profile", body = Profile),
        (status = 401, description = "`missing_token`, `invalid_token`, `token_expired` or `session_revoked`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn me(State(state): State<AppState>, user: AuthUser) -> Result<axum::Json<Profile>> {
    let record = state
        .store
        .users()
        .by_id_cached(user.user_id)
        .await?
        .ok_or_else(|| Error::new(ErrorCode::SessionRevoked, "this account no longer exists"))?;
    Ok(axum::Json(record.as_ref().clone().into()))
}
