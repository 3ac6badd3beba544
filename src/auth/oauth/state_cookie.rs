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
}

impl PendingLogin {
    pub fn seal(&self, key: &[u8]) -> String {
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default());
        let mac = URL_SAFE_NO_PAD.encode(hmac_bytes(key, &[b"oauth-state", body.as_bytes()]));
        format!("{body}.{mac}")
    }

    /// The login the cookie describes, if its signature is ours and it has not expired.
    pub fn open(raw: &str, key: &[u8], now_unix: i64) -> Option<Self> {
        let (body, mac) = raw.split_once('.')?;
        let expected = URL_SAFE_NO_PAD.encode(hmac_bytes(key, &[b"oauth-state", body.as_bytes()]));
        if !bool::from(expected.as_bytes().ct_eq(mac.as_bytes())) {
            return None;
        }
        let pending: PendingLogin = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()?;
        (pending.expires_at > now_unix).then_some(pending)
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
}
