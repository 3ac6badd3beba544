//! id_token checks (OIDC Core 1.0 §3.1.3.7): signature against the provider's JWKS, `iss`,
//! `aud`, `exp` (against our clock, not the system's) and the `nonce` this browser was given.

use crate::error::{Error, ErrorCode, Result};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Deserializer};

/// What gatehouse reads from a verified id_token.
#[derive(Debug, Deserialize)]
pub struct IdClaims {
    pub sub: String,
    pub exp: i64,
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// Some providers send `"true"` as a string.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub email_verified: bool,
    /// OIDC Core §5.1 standard claims, used to prefill a new account's names.
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
}

pub(crate) fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Bool(b) => b,
        serde_json::Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    })
}

fn rejected(why: &str) -> Error {
    Error::new(
        ErrorCode::InvalidIdToken,
        format!("the provider's id_token was refused: {why}"),
    )
}

/// Algorithms accepted from providers: asymmetric only (an `HS256` token would be keyed by our
/// client secret, and `none` is never acceptable).
const ALLOWED: [Algorithm; 5] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::ES256,
    Algorithm::EdDSA,
];

pub fn verify(raw: &str, jwks: &JwkSet, issuer: &str, client_id: &str, nonce: &str, now: i64) -> Result<IdClaims> {
    let header = jsonwebtoken::decode_header(raw).map_err(|_| rejected("it is not a JWT"))?;
    if !ALLOWED.contains(&header.alg) {
        return Err(rejected("its signing algorithm is not accepted"));
    }
    let jwk = match &header.kid {
        Some(kid) => jwks.find(kid),
        None if jwks.keys.len() == 1 => jwks.keys.first(),
        None => None,
    }
    .ok_or_else(|| rejected("it is signed by a key the provider does not publish"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|_| rejected("the provider's key is unusable"))?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[client_id]);
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["iss", "aud", "exp", "sub"]);
    let claims = jsonwebtoken::decode::<IdClaims>(raw, &key, &validation)
        .map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::InvalidIssuer => rejected("wrong issuer"),
                ErrorKind::InvalidAudience => rejected("wrong audience"),
                ErrorKind::InvalidSignature => rejected("bad signature"),
                _ => rejected("it could not be decoded"),
            }
        })?
        .claims;
    if claims.exp <= now {
        return Err(rejected("it has expired"));
    }
    let matches = claims
        .nonce
        .as_deref()
        .is_some_and(|n| crate::auth::secrets::constant_time_eq(n, nonce));
    if !matches {
        return Err(rejected("the nonce does not match this sign-in"));
    }
    Ok(claims)
}
