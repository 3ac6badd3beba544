//! Every problem code gatehouse answers with, and the status each is answered with. Clients
//! switch on these codes, so they are part of the API: the README's error table lists exactly
//! these (checked by the test below), and a new code is added here first.
//!
//! Two codes are answered with two statuses, in different places, and are two entries:
//! `invalid_token` and `token_expired` are 401 for an access token on a protected endpoint and
//! 400 for a mailed link.

use axum::http::StatusCode;

macro_rules! error_codes {
    ($($variant:ident = $code:literal, $status:ident;)+) => {
        /// A problem code with its status.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($variant,)+
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The code clients switch on (`code` in the problem body, the last segment of `type`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)+
                }
            }

            pub fn status(self) -> StatusCode {
                match self {
                    $(ErrorCode::$variant => StatusCode::$status,)+
                }
            }
        }
    };
}

error_codes! {
    AccountDisabled = "account_disabled", FORBIDDEN;
    AccountLocked = "account_locked", TOO_MANY_REQUESTS;
    AccountNotVerified = "account_not_verified", CONFLICT;
    BodyTooLarge = "body_too_large", PAYLOAD_TOO_LARGE;
    CannotDeleteSelf = "cannot_delete_self", CONFLICT;
    CannotLockSelf = "cannot_lock_self", CONFLICT;
    CookieModeOff = "cookie_mode_off", NOT_FOUND;
    CsrfTokenMismatch = "csrf_token_mismatch", FORBIDDEN;
    CsrfTokenMissing = "csrf_token_missing", FORBIDDEN;
    EmailInUse = "email_in_use", CONFLICT;
    EmailInUseUnverified = "email_in_use_unverified", CONFLICT;
    EmailNotVerified = "email_not_verified", FORBIDDEN;
    EmailTaken = "email_taken", CONFLICT;
    IdentityInUse = "identity_in_use", CONFLICT;
    IdentityNotFound = "identity_not_found", NOT_FOUND;
    InternalError = "internal_error", INTERNAL_SERVER_ERROR;
    InvalidCode = "invalid_code", BAD_REQUEST;
    InvalidCredentials = "invalid_credentials", UNAUTHORIZED;
    InvalidIdToken = "invalid_id_token", UNAUTHORIZED;
    InvalidMfaToken = "invalid_mfa_token", UNAUTHORIZED;
    InvalidOauthCallback = "invalid_oauth_callback", BAD_REQUEST;
    InvalidOauthCode = "invalid_oauth_code", UNAUTHORIZED;
    InvalidOauthState = "invalid_oauth_state", BAD_REQUEST;
    InvalidRefreshToken = "invalid_refresh_token", UNAUTHORIZED;
    InvalidAccessToken = "invalid_token", UNAUTHORIZED;
    InvalidToken = "invalid_token", BAD_REQUEST;
    LastAdmin = "last_admin", CONFLICT;
    LastSignInMethod = "last_sign_in_method", CONFLICT;
    MalformedJson = "malformed_json", BAD_REQUEST;
    MethodNotAllowed = "method_not_allowed", METHOD_NOT_ALLOWED;
    MfaAlreadyEnabled = "mfa_already_enabled", CONFLICT;
    MfaMethodNotEnabled = "mfa_method_not_enabled", BAD_REQUEST;
    MfaNotEnabled = "mfa_not_enabled", BAD_REQUEST;
    MfaNotPending = "mfa_not_pending", BAD_REQUEST;
    MfaStepUpRequired = "mfa_step_up_required", FORBIDDEN;
    MissingToken = "missing_token", UNAUTHORIZED;
    NoPasswordSet = "no_password_set", BAD_REQUEST;
    NotFound = "not_found", NOT_FOUND;
    OauthAccessDenied = "oauth_access_denied", BAD_REQUEST;
    OauthCodeRejected = "oauth_code_rejected", BAD_REQUEST;
    OauthEmailMissing = "oauth_email_missing", BAD_REQUEST;
    OauthEmailUnverified = "oauth_email_unverified", BAD_REQUEST;
    OauthProviderError = "oauth_provider_error", BAD_REQUEST;
    OauthSuccessUrlUnset = "oauth_success_url_unset", SERVICE_UNAVAILABLE;
    OriginNotAllowed = "origin_not_allowed", FORBIDDEN;
    PasskeyAlreadyRegistered = "passkey_already_registered", CONFLICT;
    PasskeyChallengeExpired = "passkey_challenge_expired", BAD_REQUEST;
    PasskeyChallengeInvalid = "passkey_challenge_invalid", BAD_REQUEST;
    PasskeyChallengeMismatch = "passkey_challenge_mismatch", BAD_REQUEST;
    PasskeyCloneSuspected = "passkey_clone_suspected", UNAUTHORIZED;
    PasskeyNotFound = "passkey_not_found", NOT_FOUND;
    PasskeyOriginMismatch = "passkey_origin_mismatch", BAD_REQUEST;
    PasskeyRejected = "passkey_rejected", BAD_REQUEST;
    PasskeyResponseInvalid = "passkey_response_invalid", BAD_REQUEST;
    PasskeyRpIdMismatch = "passkey_rp_id_mismatch", BAD_REQUEST;
    PasskeySignatureInvalid = "passkey_signature_invalid", UNAUTHORIZED;
    PasskeyUnknown = "passkey_unknown", UNAUTHORIZED;
    PasskeyUserNotPresent = "passkey_user_not_present", BAD_REQUEST;
    PermissionDenied = "permission_denied", FORBIDDEN;
    ProviderNotConfigured = "provider_not_configured", NOT_FOUND;
    ProviderUnavailable = "provider_unavailable", SERVICE_UNAVAILABLE;
    RateLimited = "rate_limited", TOO_MANY_REQUESTS;
    ReauthenticationRequired = "reauthentication_required", FORBIDDEN;
    RedirectNotAllowed = "redirect_not_allowed", BAD_REQUEST;
    RefreshCookieMissing = "refresh_cookie_missing", UNAUTHORIZED;
    RefreshTokenExpired = "refresh_token_expired", UNAUTHORIZED;
    RefreshTokenReused = "refresh_token_reused", UNAUTHORIZED;
    RequestTimeout = "request_timeout", REQUEST_TIMEOUT;
    SessionExpired = "session_expired", UNAUTHORIZED;
    SessionNotFound = "session_not_found", NOT_FOUND;
    SessionRevoked = "session_revoked", UNAUTHORIZED;
    AccessTokenExpired = "token_expired", UNAUTHORIZED;
    TokenExpired = "token_expired", BAD_REQUEST;
    TokenRevoked = "token_revoked", BAD_REQUEST;
    TokenUsed = "token_used", BAD_REQUEST;
    TooManyAttempts = "too_many_attempts", UNAUTHORIZED;
    UnreadableBody = "unreadable_body", BAD_REQUEST;
    UnsupportedMediaType = "unsupported_media_type", UNSUPPORTED_MEDIA_TYPE;
    UserNotFound = "user_not_found", NOT_FOUND;
    UsernameTaken = "username_taken", CONFLICT;
    ValidationFailed = "validation_failed", UNPROCESSABLE_ENTITY;
}

impl ErrorCode {
    /// The problem's `title`: the status's reason phrase, the same for every code of a status,
    /// so the title never contradicts the status (RFC 9457 §3.1.4).
    pub fn title(self) -> &'static str {
        self.status().canonical_reason().unwrap_or("Error")
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// `(code, status)` of every row of the table under the README's "## Errors".
    fn readme_table() -> BTreeSet<(String, u16)> {
        let readme = include_str!("../../README.md");
        let section = readme
            .split("\n## Errors")
            .nth(1)
            .expect("README has an ## Errors section");
        let section = section.split("\n## ").next().unwrap_or(section);
        section
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let code = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
                let status = cells.get(2)?.parse().ok()?;
                Some((code.to_string(), status))
            })
            .collect()
    }

    #[test]
    fn the_readme_error_table_lists_exactly_these_codes() {
        let ours: BTreeSet<(String, u16)> = ErrorCode::ALL
            .iter()
            .map(|c| (c.as_str().to_string(), c.status().as_u16()))
            .collect();
        let documented = readme_table();
        let undocumented: Vec<_> = ours.difference(&documented).collect();
        let unknown: Vec<_> = documented.difference(&ours).collect();
        assert!(
            undocumented.is_empty(),
            "codes missing from the README's error table: {undocumented:?}"
        );
        assert!(
            unknown.is_empty(),
            "README lists codes (or statuses) gatehouse does not answer: {unknown:?}"
        );
    }

    #[test]
    fn a_code_names_one_status_except_the_two_documented_pairs() {
        let mut seen = std::collections::HashMap::new();
        for code in ErrorCode::ALL {
            if let Some(other) = seen.insert(code.as_str(), code.status()) {
                assert!(
                    matches!(code.as_str(), "invalid_token" | "token_expired"),
                    "{code} is answered with both {other} and {}",
                    code.status()
                );
            }
        }
    }
}
