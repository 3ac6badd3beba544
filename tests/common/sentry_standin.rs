//! A stand-in for Sentry's ingestion: `POST /api/<project>/envelope/` with the `X-Sentry-Auth`
//! header naming the project's public key, the body a Sentry envelope (a JSON header line,
//! then per item a JSON header line and its payload). It keeps each envelope's raw bytes, so a
//! test can check a secret appears nowhere in what left the process, and the parsed events.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::Value;
use std::sync::{Arc, Mutex};

pub const PUBLIC_KEY: &str = "d3adb33fstandin";
const PROJECT: &str = "42";

#[derive(Default)]
struct Received {
    envelopes: Vec<Vec<u8>>,
    refused: u64,
}

#[derive(Clone)]
pub struct SentryStandIn {
    addr: std::net::SocketAddr,
    received: Arc<Mutex<Received>>,
}

impl SentryStandIn {
    pub async fn start() -> Self {
        let received = Arc::new(Mutex::new(Received::default()));
        let app = Router::new()
            .route("/api/{project}/envelope/", post(envelope))
            .with_state(received.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, received }
    }

    /// For `SENTRY_DSN`.
    pub fn dsn(&self) -> String {
        format!("http://{PUBLIC_KEY}@{}/{PROJECT}", self.addr)
    }

    /// Every envelope as it arrived.
    pub fn raw(&self) -> Vec<Vec<u8>> {
        self.received.lock().unwrap().envelopes.clone()
    }

    /// Requests refused for a wrong project or key.
    pub fn refused(&self) -> u64 {
        self.received.lock().unwrap().refused
    }

    /// The `event` items of every envelope, parsed.
    pub fn events(&self) -> Vec<Value> {
        self.raw().iter().flat_map(|e| items(e, "event")).collect()
    }
}

async fn envelope(
    State(received): State<Arc<Mutex<Received>>>,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let auth = headers
        .get("x-sentry-auth")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let key_ok = auth.strip_prefix("Sentry ").is_some_and(|fields| {
        fields
            .split(',')
            .any(|f| f.trim() == format!("sentry_key={PUBLIC_KEY}"))
    });
    let mut received = received.lock().unwrap();
    if project != PROJECT || !key_ok {
        received.refused += 1;
        return StatusCode::UNAUTHORIZED;
    }
    received.envelopes.push(body.to_vec());
    StatusCode::OK
}

/// The payloads of the items of type `kind` in one envelope. An item header may give the
/// payload's `length`; without it the payload runs to the end of the line.
fn items(envelope: &[u8], kind: &str) -> Vec<Value> {
    let mut rest = match envelope.iter().position(|b| *b == b'\n') {
        Some(end) => &envelope[end + 1..],
        None => return Vec::new(),
    };
    let mut found = Vec::new();
    while !rest.is_empty() {
        let header_end = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
        let header: Value = serde_json::from_slice(&rest[..header_end]).expect("an item header is JSON");
        rest = rest.get(header_end + 1..).unwrap_or_default();
        let length = header["length"]
            .as_u64()
            .map(|l| l as usize)
            .unwrap_or_else(|| rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len()));
        let payload = &rest[..length];
        if header["type"] == kind {
            found.push(serde_json::from_slice(payload).expect("an event payload is JSON"));
        }
        rest = rest.get(length..).unwrap_or_default();
        if rest.first() == Some(&b'\n') {
            rest = &rest[1..];
        }
    }
    found
}
