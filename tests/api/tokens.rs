//! Access tokens as a relying service sees them (header, claims, signature checked against the
//! published JWKS), their expiry on the injected clock, and strict verification: every forged or
//! misused token is refused with 401 `invalid_token` and a `WWW-Authenticate` challenge.
//!
//! Forgeries that carry a valid signature are signed with gatehouse's own private key (read
//! from the store) and copy the claims of a real token, so the one thing wrong with each is the
//! thing under test; were that check skipped, the token would be accepted.

use crate::both;
use crate::common::*;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::Duration;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Value};

const AUDIENCE: &str = "gatehouse";

/// The JSON of one dot-separated part of a JWT (0 = header, 1 = claims).
fn part(token: &str, index: usize) -> Value {
    let segment = token.split('.').nth(index).expect("a JWT has three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// gatehouse's active signing key: its `kid` and private key, as stored.
async fn our_key(app: &TestApp) -> (String, EncodingKey) {
    let keys = app.state.store.keys().signing_keys().await.unwrap();
    let key = keys.iter().find(|k| k.retired_at.is_none()).expect("an active key");
    let der = STANDARD.decode(&key.private_key).unwrap();
    (key.kid.clone(), EncodingKey::from_ed_der(&der))
}

/// A key gatehouse has never seen.
fn attacker_key() -> EncodingKey {
    let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
    EncodingKey::from_ed_der(pkcs8.as_ref())
}

fn sign(alg: Algorithm, kid: Option<&str>, typ: Option<&str>, claims: &Value, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_string);
    header.typ = typ.map(str::to_string);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

async fn jwks(app: &TestApp) -> Value {
    let r = app.get("/.well-known/jwks.json").await;
    assert_eq!(r.status(), 200);
    // Public and shared by every instance: relying services may cache it briefly.
    assert_eq!(r.headers()["cache-control"], "public, max-age=300");
    r.json().await.unwrap()
}

/// Asserts that `/api/auth/me` refuses `token` with 401 `code` and a Bearer challenge.
async fn refused(app: &TestApp, token: &str, code: &str) {
    let r = app.me(token).await;
    let challenge = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    expect_problem(r, 401, code).await;
    assert!(challenge.starts_with("Bearer "), "WWW-Authenticate: {challenge:?}");
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "WWW-Authenticate: {challenge:?}"
    );
}

async fn access_token_header_names_eddsa_at_jwt_and_a_published_kid(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;

    let header = part(&tokens.access, 0);
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["typ"], "at+jwt");
    let kid = header["kid"].as_str().expect("kid");
    let jwks = jwks(&app).await;
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap_or_else(|| panic!("kid {kid} not in {jwks}"));
    assert_eq!((&jwk["kty"], &jwk["crv"]), (&json!("OKP"), &json!("Ed25519")));
    assert_eq!((&jwk["alg"], &jwk["use"]), (&json!("EdDSA"), &json!("sig")));
    assert!(jwk.get("d").is_none(), "the private key must not be published: {jwk}");
}

async fn access_token_signature_verifies_with_the_published_key(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;
    let jwks = jwks(&app).await;
    let kid = part(&tokens.access, 0)["kid"].clone();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap();
    let key = DecodingKey::from_ed_components(jwk["x"].as_str().unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&[AUDIENCE]);
    validation.set_issuer(&[PUBLIC_URL]);

    let data = jsonwebtoken::decode::<Value>(&tokens.access, &key, &validation).expect("verifies");
    assert_eq!(data.claims["aud"], AUDIENCE);

    // The check is real: the same token with another signature does not verify.
    let (head, _) = tokens.access.rsplit_once('.').unwrap();
    let other = format!("{head}.{}", URL_SAFE_NO_PAD.encode([7u8; 64]));
    assert!(jsonwebtoken::decode::<Value>(&other, &key, &validation).is_err());
}

async fn access_token_claims_name_user_session_role_and_method(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;
    let now = app.state.now().timestamp();
    let me: Value = app.me(&tokens.access).await.json().await.unwrap();

    let c = part(&tokens.access, 1);
    assert_eq!(c["sub"], me["id"]);
    assert_eq!(c["iss"], PUBLIC_URL);
    assert_eq!(c["aud"], AUDIENCE);
    assert_eq!(c["role"], "user");
    assert_eq!(c["amr"], json!(["pwd"]));
    assert_eq!(c["mfa"], false);
    assert_eq!((c["auth_time"].as_i64(), c["iat"].as_i64()), (Some(now), Some(now)));
    assert_eq!(c["nbf"], c["iat"]);
    assert_eq!(c["exp"].as_i64(), Some(now + 15 * 60));
    uuid::Uuid::parse_str(c["jti"].as_str().unwrap()).expect("jti is a UUID");
    let sid = uuid::Uuid::parse_str(c["sid"].as_str().unwrap()).expect("sid is a UUID");
    let session = app
        .state
        .store
        .sessions()
        .by_id(sid)
        .await
        .unwrap()
        .expect("sid names a session");
    assert_eq!(session.user_id.to_string(), me["id"].as_str().unwrap());

    // A second login is a second session, with its own token id.
    let r = app.login("rahim@example.com", PASSWORD).await;
    let second = part(&Tokens::from(r.json::<Value>().await.unwrap()).access, 1);
    assert_ne!(second["sid"], c["sid"]);
    assert_ne!(second["jti"], c["jti"]);
}

async fn access_token_works_until_fifteen_minutes_have_passed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;

    app.advance(Duration::minutes(15) - Duration::seconds(1));
    assert_eq!(app.me(&tokens.access).await.status(), 200);
    app.advance(Duration::seconds(1));
    refused(&app, &tokens.access, "token_expired").await;
}

async fn unsigned_token_with_alg_none_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;
    let (kid, claims) = (part(&tokens.access, 0)["kid"].clone(), part(&tokens.access, 1));

    for alg in ["none", "None", "NONE"] {
        let header = json!({ "alg": alg, "typ": "at+jwt", "kid": kid });
        refused(&app, &format!("{}.{}.", b64(&header), b64(&claims)), "invalid_token").await;
    }
}

async fn hs256_token_keyed_with_the_public_key_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;
    let (kid, claims) = (part(&tokens.access, 0)["kid"].clone(), part(&tokens.access, 1));
    let kid = kid.as_str().unwrap();
    let jwks = jwks(&app).await;
    let x = jwks["keys"][0]["x"].as_str().unwrap().to_string();

    for secret in [URL_SAFE_NO_PAD.decode(&x).unwrap(), x.into_bytes()] {
        let key = EncodingKey::from_secret(&secret);
        let forged = sign(Algorithm::HS256, Some(kid), Some("at+jwt"), &claims, &key);
        refused(&app, &forged, "invalid_token").await;
    }
}

async fn token_with_an_unknown_or_missing_kid_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;
    let claims = part(&tokens.access, 1);
    let (_, ours) = our_key(&app).await;
    // Past the key set's reload interval, so an unknown kid makes it look in the database.
    app.advance(Duration::seconds(30));

    for (kid, key) in [
        (Some("0123456789abcdef"), &ours),
        (Some("0123456789abcdef"), &attacker_key()),
        (None, &ours),
    ] {
        let forged = sign(Algorithm::EdDSA, kid, Some("at+jwt"), &claims, key);
        refused(&app, &forged, "invalid_token").await;
    }
}

async fn token_signed_by_another_key_under_our_kid_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;
    let (kid, _) = our_key(&app).await;

    let forged = sign(
        Algorithm::EdDSA,
        Some(&kid),
        Some("at+jwt"),
        &part(&tokens.access, 1),
        &attacker_key(),
    );
    refused(&app, &forged, "invalid_token").await;
}

async fn token_carrying_its_own_key_in_the_header_is_refused(backend: Backend) {
    use ring::signature::{Ed25519KeyPair, KeyPair};
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;
    let (kid, _) = our_key(&app).await;
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
    let attacker = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let jwk = json!({ "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(attacker.public_key()) });

    for header in [
        json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": kid, "jwk": jwk }),
        json!({ "alg": "EdDSA", "typ": "at+jwt", "jwk": jwk }),
    ] {
        let signing_input = format!("{}.{}", b64(&header), b64(&part(&tokens.access, 1)));
        let signature = URL_SAFE_NO_PAD.encode(attacker.sign(signing_input.as_bytes()));
        refused(&app, &format!("{signing_input}.{signature}"), "invalid_token").await;
    }
}

async fn token_with_edited_claims_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;
    // Verified once, so remembered: an edited copy must still be checked from scratch.
    assert_eq!(app.me(&tokens.access).await.status(), 200);
    let mut parts = tokens.access.split('.');
    let (header, _, signature) = (parts.next().unwrap(), parts.next(), parts.next().unwrap());
    let mut claims = part(&tokens.access, 1);
    claims["role"] = json!("admin");

    refused(&app, &format!("{header}.{}.{signature}", b64(&claims)), "invalid_token").await;
    let mut bytes = tokens.access.clone().into_bytes();
    let last = bytes.len() - 2;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    refused(&app, &String::from_utf8(bytes).unwrap(), "invalid_token").await;
    assert_eq!(app.me(&tokens.access).await.status(), 200);
}

async fn token_for_another_audience_or_issuer_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;
    let (kid, key) = our_key(&app).await;
    let claims = part(&tokens.access, 1);

    for (field, value) in [
        ("aud", json!("billing")),
        ("aud", json!(["billing"])),
        ("iss", json!("http://evil.test")),
        ("iss", json!("http://gatehouse.test/")),
    ] {
        let mut forged = claims.clone();
        forged[field] = value.clone();
        let token = sign(Algorithm::EdDSA, Some(&kid), Some("at+jwt"), &forged, &key);
        refused(&app, &token, "invalid_token").await;
    }
}

async fn token_of_another_type_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;
    let (kid, key) = our_key(&app).await;
    let claims = part(&tokens.access, 1);

    for typ in [Some("JWT"), Some("refresh+jwt"), Some("mfa+jwt"), None] {
        let token = sign(Algorithm::EdDSA, Some(&kid), typ, &claims, &key);
        refused(&app, &token, "invalid_token").await;
    }
}

async fn token_not_valid_yet_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;
    let (kid, key) = our_key(&app).await;
    let mut claims = part(&tokens.access, 1);
    let later = app.state.now().timestamp() + 10 * 60;
    claims["nbf"] = json!(later);
    claims["exp"] = json!(later + 15 * 60);

    let token = sign(Algorithm::EdDSA, Some(&kid), Some("at+jwt"), &claims, &key);
    refused(&app, &token, "invalid_token").await;
}

async fn refresh_token_presented_as_bearer_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;
    refused(&app, &tokens.refresh, "invalid_token").await;
}

async fn garbage_bearer_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for garbage in ["garbage", "a.b.c", "eyJhbGciOiJFZERTQSJ9..", ".."] {
        refused(&app, garbage, "invalid_token").await;
    }
}

async fn request_without_a_bearer_token_is_missing_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.signed_in("rahim@example.com").await;

    // RFC 6750 §3.1: a request without credentials gets a challenge without an error code.
    let r = app.get("/api/auth/me").await;
    assert_eq!(r.headers()["www-authenticate"], r#"Bearer realm="gatehouse""#);
    expect_problem(r, 401, "missing_token").await;

    // Any other scheme is not a bearer token, even with a valid token in it.
    for value in ["Basic cmFoaW06cGFzcw==".to_string(), format!("Token {}", tokens.access)] {
        let r = app
            .send(app.client.get(app.url("/api/auth/me")).header("authorization", value))
            .await;
        expect_problem(r, 401, "missing_token").await;
    }
}

both!(
    access_token_header_names_eddsa_at_jwt_and_a_published_kid,
    access_token_signature_verifies_with_the_published_key,
    access_token_claims_name_user_session_role_and_method,
    access_token_works_until_fifteen_minutes_have_passed,
    unsigned_token_with_alg_none_is_refused,
    hs256_token_keyed_with_the_public_key_is_refused,
    token_with_an_unknown_or_missing_kid_is_refused,
    token_signed_by_another_key_under_our_kid_is_refused,
    token_carrying_its_own_key_in_the_header_is_refused,
    token_with_edited_claims_is_refused,
    token_for_another_audience_or_issuer_is_refused,
    token_of_another_type_is_refused,
    token_not_valid_yet_is_refused,
    refresh_token_presented_as_bearer_is_refused,
    garbage_bearer_is_refused,
    request_without_a_bearer_token_is_missing_token,
);
