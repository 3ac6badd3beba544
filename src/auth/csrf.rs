//! CSRF defence for requests that authenticate with the refresh-token cookie
//! (`REFRESH_TOKEN_COOKIE=true`). A browser attaches cookies to requests other sites trigger,
//! so a cookie alone must never be enough to refresh or end a session. Two independent checks,
//! both required (OWASP CSRF Prevention Cheat Sheet):
//!
//! 1. **Origin**: the request's `Origin` (or, lacking it, the origin of `Referer`) must be
//!    `PUBLIC_URL`'s origin or one of `CORS_ALLOWED_ORIGINS`. A request with neither header is
//!    refused: browsers send `Origin` on every POST, so only non-browser clients lack it, and
//!    they have no reason to use the cookie.
//! 2. **Signed double submit**: the `X-CSRF-Token` header must equal
//!    HMAC-SHA256(server key, refresh token). The token reaches the front end in a readable
//!    cookie (and in the JSON answer); another site can neither read it nor compute it. Because
//!    it is bound to the refresh token (rather than merely equal to a second cookie), a cookie
//!    planted by a sibling subdomain cannot be used to forge a matching pair. It changes with
//!    every rotation, so the front end reads the cookie right before each request.
//!
//! Compared in constant time. Requests with a bearer token or a refresh token in the body carry
//! their own proof and are not affected.

use crate::auth::secrets::{constant_time_eq, hmac_bytes, OpaqueToken};
use crate::config::Config;
use crate::error::{Error, ErrorCode, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use url::Url;

/// The CSRF token that belongs with `refresh`.
pub fn token_for(key: &[u8], refresh: &OpaqueToken) -> String {
    URL_SAFE_NO_PAD.encode(hmac_bytes(key, &[b"csrf", refresh.expose().as_bytes()]))
}

/// What the request says about where it came from and which CSRF token it carries.
pub struct RequestProof<'a> {
    pub origin: Option<&'a str>,
    pub referer: Option<&'a str>,
    pub csrf_header: Option<&'a str>,
}

/// Refuses a cookie-authenticated request that is not provably from an allowed page.
pub fn check(config: &Config, key: &[u8], refresh: &OpaqueToken, proof: &RequestProof<'_>) -> Result<()> {
    let origin = match (proof.origin, proof.referer) {
        (Some(o), _) => Some(o.trim_end_matches('/').to_string()),
        (None, Some(r)) => Url::parse(r).ok().map(|u| u.origin().ascii_serialization()),
        (None, None) => None,
    };
    if !origin.is_some_and(|o| allowed_origin(config, &o)) {
        return Err(Error::new(
            ErrorCode::OriginNotAllowed,
            "this request did not come from a page allowed to use the session cookie (Origin must be PUBLIC_URL or one of CORS_ALLOWED_ORIGINS)",
        ));
    }
    let presented = proof.csrf_header.map(str::trim).filter(|t| !t.is_empty());
    let Some(presented) = presented else {
        return Err(Error::new(
            ErrorCode::CsrfTokenMissing,
            "send the value of the gatehouse_csrf cookie in the X-CSRF-Token header",
        ));
    };
    if !constant_time_eq(presented, &token_for(key, refresh)) {
        return Err(Error::new(
            ErrorCode::CsrfTokenMismatch,
            "the X-CSRF-Token header does not belong to this session; read the gatehouse_csrf cookie again",
        ));
    }
    Ok(())
}

pub fn allowed_origin(config: &Config, origin: &str) -> bool {
    origin == config.public_url.origin().ascii_serialization()
        || config.cors_allowed_origins.iter().any(|o| o == origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proof<'a>(origin: Option<&'a str>, referer: Option<&'a str>, csrf: Option<&'a str>) -> RequestProof<'a> {
        RequestProof {
            origin,
            referer,
            csrf_header: csrf,
        }
    }

    #[test]
    fn origin_and_token_are_both_required() {
        let config = Config {
            public_url: Url::parse("https://auth.example.com").unwrap(),
            cors_allowed_origins: vec!["http://localhost:3000".into()],
            ..Config::default()
        };
        let refresh = OpaqueToken::from_presented("r");
        let good = token_for(b"k", &refresh);
        let code = |p: RequestProof<'_>| check(&config, b"k", &refresh, &p).err().map(|e| e.code());
        assert_eq!(code(proof(Some("https://auth.example.com"), None, Some(&good))), None);
        assert_eq!(code(proof(Some("http://localhost:3000"), None, Some(&good))), None);
        assert_eq!(
            code(proof(None, Some("http://localhost:3000/app?x=1"), Some(&good))),
            None
        );
        assert_eq!(
            code(proof(Some("https://evil.example"), None, Some(&good))),
            Some("origin_not_allowed")
        );
        assert_eq!(code(proof(None, None, Some(&good))), Some("origin_not_allowed"));
        assert_eq!(
            code(proof(Some("http://localhost:3000"), None, None)),
            Some("csrf_token_missing")
        );
        let other = token_for(b"k", &OpaqueToken::from_presented("other"));
        assert_eq!(
            code(proof(Some("http://localhost:3000"), None, Some(&other))),
            Some("csrf_token_mismatch")
        );
    }
}
