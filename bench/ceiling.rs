//! The ceiling the /me figure is held against: a bare axum server on the same machine that
//! does nothing per request but verify the bearer token's EdDSA signature and claims with the
//! same crate and checks gatehouse uses (jsonwebtoken, `aud`, `iss`, the JWKS's key). It runs
//! as its own process (`bench ceiling-server`), as gatehouse does, so both get the same cores.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::Router;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use std::sync::Arc;

struct Verifier {
    key: DecodingKey,
    validation: Validation,
}

async fn verify(State(v): State<Arc<Verifier>>, headers: HeaderMap) -> (StatusCode, &'static str) {
    let token = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "));
    match token.map(|t| jsonwebtoken::decode::<serde_json::Value>(t, &v.key, &v.validation)) {
        Some(Ok(_)) => (StatusCode::OK, "{\"ok\":true}"),
        _ => (StatusCode::UNAUTHORIZED, "{\"ok\":false}"),
    }
}

/// `bench ceiling-server`: serves `GET /verify` on `CEILING_ADDR` with the first key of the
/// JWKS in `CEILING_JWKS`, for tokens of `CEILING_ISSUER` / `CEILING_AUDIENCE`.
pub fn serve() {
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} is set by the benchmark"));
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&var("CEILING_JWKS")).expect("a JWKS");
    let key = DecodingKey::from_jwk(&jwks.keys[0]).expect("an EdDSA key");
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&[var("CEILING_AUDIENCE")]);
    validation.set_issuer(&[var("CEILING_ISSUER")]);
    let state = Arc::new(Verifier { key, validation });
    let addr = var("CEILING_ADDR");
    tokio::runtime::Runtime::new().expect("a runtime").block_on(async move {
        let app = Router::new().route("/verify", get(verify)).with_state(state);
        let listener = tokio::net::TcpListener::bind(&addr).await.expect("the ceiling's port");
        axum::serve(listener, app).await.expect("the ceiling server runs");
    });
}
