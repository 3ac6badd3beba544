//! Access tokens: short-lived JWTs (RFC 9068 profile, header `typ: at+jwt`) signed with EdDSA.
//!
//! Verification is strict (OWASP ASVS V9/V51, RFC 8725): only `EdDSA` is accepted, so `alg: none`
//! and "HS256 signed with the public key" fail before any signature check; the `kid` must name one
//! of our keys; `typ` must be `at+jwt`, so a refresh token, an MFA token or an id_token (other
//! `typ`s) is never taken for an access token; `iss` and `aud` must be ours; `exp` and `nbf` are
//! compared with the injected clock (jsonwebtoken's own check would use the wall clock).
//! A valid signature alone is not enough: [`crate::auth::sessions`] also checks the `sid` is live,
//! so logout takes effect at once.
//!
//! An app sends the same access token with every request for its whole life, and the EdDSA check
//! is most of what such a request costs. So a token whose signature, issuer and audience passed is
//! remembered by the SHA-256 of its exact bytes (at most [`VERIFIED_CAPACITY`] tokens, none longer
//! than [`VERIFIED_TTL`]); the next request with the very same bytes skips the signature check.
//! Everything that can change is still checked every time: `exp` and `nbf` against the clock, and
//! that the signing key has not been retired since. A token differing in one byte hashes
//! differently and is verified from scratch, so nothing can be forged through the memo.

use crate::auth::keys::KeySet;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::sync::Arc;
use uuid::Uuid;

pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Verified tokens remembered at once: about 0.5 KiB each, so a few MiB at most.
pub const VERIFIED_CAPACITY: u64 = 10_000;
/// How long a verified token is remembered (its own `exp` is checked at every use as well).
pub const VERIFIED_TTL: std::time::Duration = std::time::Duration::from_secs(300);

/// Claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The user's id.
    pub sub: String,
    /// The session (login) this token belongs to.
    pub sid: String,
    pub role: String,
    /// What the role may do (`ROLE_PERMISSIONS`), so an app's own API can check a permission
    /// from the verified token alone instead of mapping role names itself.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// RFC 8176 authentication method references, e.g. `["pwd"]`, `["pwd", "otp"]`.
    pub amr: Vec<String>,
    /// Whether a second factor was used (seed 002's `mfa` claim).
    pub mfa: bool,
    /// When the user last actively authenticated (seconds since the epoch).
    pub auth_time: i64,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
}

impl AccessClaims {
    pub fn user_id(&self) -> Option<Uuid> {
        Uuid::parse_str(&self.sub).ok()
    }
    pub fn session_id(&self) -> Option<Uuid> {
        Uuid::parse_str(&self.sid).ok()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token is signed with an algorithm gatehouse does not accept")]
    WrongAlgorithm,
    #[error("the token is not an access token")]
    WrongType,
    #[error("the token was signed by an unknown key")]
    UnknownKey,
    #[error("the token signature is not valid")]
    BadSignature,
    #[error("the token was issued for another issuer or audience")]
    WrongAudience,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
}

#[derive(Clone)]
pub struct TokenIssuer {
    keys: KeySet,
    issuer: String,
    audience: String,
    /// Tokens whose signature passed, by SHA-256 of the token; `None` with `AUTH_CACHE=false`.
    verified: Option<moka::sync::Cache<[u8; 32], Arc<Verified>>>,
}

/// What the memo keeps of a token whose signature, issuer and audience passed.
struct Verified {
    kid: String,
    claims: AccessClaims,
}

pub struct AccessTokenSpec {
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub role: String,
    pub permissions: Vec<String>,
    pub amr: Vec<String>,
    pub auth_time: DateTime<Utc>,
    pub issued_at: DateTime<Utc>,
    pub ttl: chrono::Duration,
    pub jti: Uuid,
}

impl TokenIssuer {
    /// `remember_verified`: keep verified tokens in memory (see the module's documentation).
    pub fn new(keys: KeySet, issuer: String, audience: String, remember_verified: bool) -> Self {
        let verified = remember_verified.then(|| {
            moka::sync::Cache::builder()
                .max_capacity(VERIFIED_CAPACITY)
                .time_to_live(VERIFIED_TTL)
                .build()
        });
        Self {
            keys,
            issuer,
            audience,
            verified,
        }
    }

    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// Signs an access token. Ed25519 signatures are deterministic, so the same spec gives the
    /// same token — which lets a refresh retry inside the grace window return the very same pair.
    pub fn issue(&self, spec: &AccessTokenSpec) -> anyhow::Result<String> {
        let key = self.keys.signing_key();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.kid.clone());
        header.typ = Some(ACCESS_TOKEN_TYP.into());
        let iat = spec.issued_at.timestamp();
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: spec.user_id.to_string(),
            sid: spec.session_id.to_string(),
            role: spec.role.clone(),
            permissions: spec.permissions.clone(),
            // `mfa` is in `amr` exactly when two different factors were used (see auth::mfa).
            mfa: spec.amr.iter().any(|m| m == "mfa"),
            amr: spec.amr.clone(),
            auth_time: spec.auth_time.timestamp(),
            iat,
            nbf: iat,
            exp: iat + spec.ttl.num_seconds(),
            jti: spec.jti.to_string(),
        };
        Ok(jsonwebtoken::encode(&header, &claims, &key.encoding)?)
    }

    pub async fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<AccessClaims, TokenError> {
        let Some(memo) = &self.verified else {
            let (_, claims) = self.verify_signature(token).await?;
            return check_time(claims, now);
        };
        let digest: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        if let Some(hit) = memo.get(&digest) {
            if self.keys.knows(&hit.kid) {
                return check_time(hit.claims.clone(), now);
            }
            memo.invalidate(&digest);
        }
        let (kid, claims) = self.verify_signature(token).await?;
        memo.insert(
            digest,
            Arc::new(Verified {
                kid,
                claims: claims.clone(),
            }),
        );
        check_time(claims, now)
    }

    /// Everything about a token that cannot change with time: header, key, signature, issuer
    /// and audience. Answers the `kid` with the claims.
    async fn verify_signature(&self, token: &str) -> Result<(String, AccessClaims), TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::WrongAlgorithm);
        }
        if header.typ.as_deref().map(|t| t.to_ascii_lowercase()) != Some(ACCESS_TOKEN_TYP.into()) {
            return Err(TokenError::WrongType);
        }
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let key = self.keys.decoding_key(&kid).await.ok_or(TokenError::UnknownKey)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_audience(&[&self.audience]);
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "sub", "aud", "iss"]);
        let data = jsonwebtoken::decode::<AccessClaims>(token, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::InvalidSignature => TokenError::BadSignature,
                K::InvalidAudience | K::InvalidIssuer => TokenError::WrongAudience,
                K::InvalidAlgorithm => TokenError::WrongAlgorithm,
                _ => TokenError::Malformed,
            }
        })?;
        Ok((kid, data.claims))
    }
}

/// `exp` and `nbf` against the injected clock (5 s of leeway for `nbf`: another instance's
/// clock may run a little ahead).
fn check_time(claims: AccessClaims, now: DateTime<Utc>) -> Result<AccessClaims, TokenError> {
    let now = now.timestamp();
    if now >= claims.exp {
        return Err(TokenError::Expired);
    }
    if claims.nbf > now + 5 {
        return Err(TokenError::NotYetValid);
    }
    Ok(claims)
}
