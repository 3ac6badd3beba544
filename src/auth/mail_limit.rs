//! How often anyone may make gatehouse mail one address (OWASP ASVS V11.1.4, anti-automation).
//!
//! Two counts, so that a stranger can neither flood a mailbox nor use up its owner's allowance:
//! - per address **and client network** (`RATE_LIMIT_PASSWORD_RESET`, `RATE_LIMIT_EMAIL`):
//!   three forgot-password calls from one network block only that network;
//! - per address from anywhere (`RATE_LIMIT_MAIL_PER_ADDRESS`, looser), shared by every kind of
//!   mail a caller can trigger: links, codes, the "someone tried to register with your address"
//!   notice, MFA codes.
//!
//! Where the caller must not learn whether the address has an account, the count is taken on
//! the address submitted before anything is looked up, so a `429` tells nothing.

use crate::auth::services::Services;
use crate::client::ClientInfo;
use crate::error::Result;
use crate::ratelimit::Limit;

/// Counts one mail request for `canonical` (an address in canonical form) from `client`
/// against `limit` and against the per-address cap. `429` when either is spent.
pub async fn count_request(state: &Services, limit: Limit, canonical: &str, client: &ClientInfo) -> Result<()> {
    state
        .limits
        .check(limit, &format!("{canonical}|{}", client.limit_subject()))
        .await?;
    count_mail_to(state, canonical).await
}

/// Counts one mail to `canonical` against the per-address cap only (for mails whose request
/// was already counted some other way, such as a registration).
pub async fn count_mail_to(state: &Services, canonical: &str) -> Result<()> {
    state.limits.check(Limit::MailPerAddress, canonical).await
}
