//! The pending login a browser carries between the authorize redirect and the callback.
//!
//! Login CSRF defence (RFC 6749 §10.12, OAuth 2.0 Security BCP §4.7): the `state` sent to the
//! provider must come back in the same browser that started the login. The cookie holds the
//! state, nonce and PKCE verifier, signed with a server key, so a forged or foreign cookie is
//! refused and nothing is stored server-side before the user returns.

use crate::auth::secrets::hmac_bytes;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

pub const COOKIE_NAME: &str = "gatehouse_oauth";
/// How long a user may spend at the provider.
pub const TTL_SECS: i64 = 600;

#[derive(Debug, Serialize, Deserialize)]
pub struct PendingLogin {
    pub provider: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub redirect_to: Option<String>,
    /// Unix seconds.
    pub expires_at: i64,
    /// What the sign-in is for; cookies sealed before this field existed are API sign-ins.
    #[serde(default)]
    pub purpose: Purpose,
}

/// Why the browser went to the provider, which decides where the callback sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Purpose {
    /// `GET /api/auth/oauth/{provider}`: back to the app with `?code=` (or cookie mode's session).
    #[default]
    Api,
    /// The hosted sign-in page: the page session, then `return_to` (already checked).
    Page { return_to: String },
    /// A signed-in user adding this provider to their account. `session_id` must still be live
    /// when the provider sends the browser back; `return_to` is a checked URL or own path.
    Link {
        user_id: uuid::Uuid,
        session_id: uuid::Uuid,
        return_to: String,
    },
}

impl PendingLogin {
    pub fn seal(&self, key: &[u8]) -> String {
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default());
        let mac = URL_SAFE_NO_PAD.encode(hmac_bytes(key, &[b"oauth-state", body.as_bytes()]));
        format!("{body}.{mac}")
    }

    /// The login the cookie describes, if its signature is ours and it has not expired.
    pub fn open(raw: &str, key: &[u8], now_unix: i64) -> Option<Self> {
        Self::open_any_age(raw, key).filter(|p| p.expires_at > now_unix)
    }

    /// A genuine cookie even after it expired, to learn what it was for: a refused callback is
    /// then answered in kind (a page for a page's sign-in). Never a reason to accept a callback.
    pub fn open_any_age(raw: &str, key: &[u8]) -> Option<Self> {
        let (body, mac) = raw.split_once('.')?;
        let expected = URL_SAFE_NO_PAD.encode(hmac_bytes(key, &[b"oauth-state", body.as_bytes()]));
        if !bool::from(expected.as_bytes().ct_eq(mac.as_bytes())) {
            return None;
        }
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(expires_at: i64) -> PendingLogin {
        PendingLogin {
            provider: "corp".into(),
            state: "s".into(),
            nonce: "n".into(),
            pkce_verifier: "v".into(),
            redirect_to: None,
            expires_at,
            purpose: Purpose::Api,
        }
    }

    #[test]
    fn a_sealed_login_opens_only_with_its_key_and_before_expiry() {
        let sealed = sample(100).seal(b"key");
        assert!(PendingLogin::open(&sealed, b"key", 99).is_some());
        assert!(PendingLogin::open(&sealed, b"other", 99).is_none());
        assert!(PendingLogin::open(&sealed, b"key", 100).is_none());
        let tampered = sealed.replacen('e', "f", 1);
        assert!(PendingLogin::open(&tampered, b"key", 99).is_none());
    }

    #[test]
    fn the_purpose_survives_expiry_but_not_a_foreign_key() {
        let mut pending = sample(100);
        pending.purpose = Purpose::Page {
            return_to: "/account".into(),
        };
        let sealed = pending.seal(b"key");
        let purpose_of = |key: &[u8]| PendingLogin::open_any_age(&sealed, key).map(|p| p.purpose);
        assert_eq!(purpose_of(b"key"), Some(pending.purpose.clone()));
        assert_eq!(purpose_of(b"other"), None);
        assert!(PendingLogin::open(&sealed, b"key", 200).is_none());
    }

    #[test]
    fn a_cookie_without_a_purpose_is_an_api_sign_in() {
        let body = URL_SAFE_NO_PAD.encode(
            br#"{"provider":"corp","state":"s","nonce":"n","pkce_verifier":"v","redirect_to":null,"expires_at":100}"#,
        );
        let mac = URL_SAFE_NO_PAD.encode(hmac_bytes(b"key", &[b"oauth-state", body.as_bytes()]));
        let opened = PendingLogin::open(&format!("{body}.{mac}"), b"key", 99).map(|p| p.purpose);
        assert_eq!(opened, Some(Purpose::Api));
    }
}
