//! Stand-ins for the HTTP mail APIs, on 127.0.0.1:0, speaking the real protocols:
//!
//! - [`SesStandIn`] runs `tests/standins/ses.py`, which verifies every request's Signature
//!   Version 4 with botocore (AWS's own Python signer, not the crate that signed it), so a
//!   mistake in how gatehouse signs shows up as a 403 there.
//! - [`SendGridStandIn`] checks the bearer key and the v3 `mail/send` JSON and answers as
//!   SendGrid does: `202`, `401` with an `errors` list, `400` for a bad recipient.
//!
//! Recipients whose local part starts with `bounce` are refused by both, as an invalid or
//! suppressed address is.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tokio::io::AsyncBufReadExt;

pub const AWS_ACCESS_KEY_ID: &str = "AKIAGATEHOUSETEST";
pub const AWS_SECRET_ACCESS_KEY: &str = "stand-in/secret+key";
pub const AWS_REGION: &str = "eu-west-1";
pub const SENDGRID_KEY: &str = "SG.stand-in-key";

/// A mail as a provider received it.
#[derive(Debug, Clone)]
pub struct ApiMail {
    pub to: String,
    pub from: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub struct SesStandIn {
    base: String,
    client: reqwest::Client,
    _process: tokio::process::Child,
}

impl SesStandIn {
    pub async fn start() -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/standins/ses.py");
        let mut child = tokio::process::Command::new("python3")
            .args([script, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION])
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs tests/standins/ses.py (pip install botocore)");
        let stdout = child.stdout.take().expect("the stand-in's stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line())
            .await
            .expect("the SES stand-in starts within 20 s")
            .expect("the SES stand-in's output")
            .expect("the SES stand-in prints its port (is botocore installed? pip install botocore)");
        let port = line.strip_prefix("PORT ").expect("PORT <n>").trim().to_string();
        Self {
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
            _process: child,
        }
    }

    /// For `SES_ENDPOINT_URL`.
    pub fn url(&self) -> String {
        self.base.clone()
    }

    pub async fn messages(&self) -> Vec<ApiMail> {
        let list: Vec<Value> = self.inspect("messages").await;
        list.iter()
            .map(|m| ApiMail {
                to: m["to"][0].as_str().unwrap_or_default().to_string(),
                from: m["from"].as_str().unwrap_or_default().to_string(),
                subject: m["subject"].as_str().unwrap_or_default().to_string(),
                text: m["text"].as_str().unwrap_or_default().to_string(),
                html: m["html"].as_str().unwrap_or_default().to_string(),
            })
            .collect()
    }

    /// SendEmail requests received, whatever their answer.
    pub async fn requests(&self) -> u64 {
        let v: Value = self.inspect("requests").await;
        v["requests"].as_u64().unwrap_or_default()
    }

    /// While down, every SendEmail is answered `503 ServiceUnavailable`.
    pub async fn set_down(&self, down: bool) {
        self.client
            .post(format!("{}/_standin/mode", self.base))
            .json(&json!({ "down": down }))
            .send()
            .await
            .unwrap();
    }

    async fn inspect<T: serde::de::DeserializeOwned>(&self, what: &str) -> T {
        self.client
            .get(format!("{}/_standin/{what}", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

#[derive(Default)]
struct SendGridState {
    down: bool,
    requests: u64,
    messages: Vec<ApiMail>,
}

#[derive(Clone)]
pub struct SendGridStandIn {
    base: String,
    state: Arc<Mutex<SendGridState>>,
}

impl SendGridStandIn {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(SendGridState::default()));
        let app = Router::new()
            .route("/v3/mail/send", post(mail_send))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, state }
    }

    /// For `SENDGRID_API_URL`.
    pub fn url(&self) -> String {
        self.base.clone()
    }

    pub fn messages(&self) -> Vec<ApiMail> {
        self.state.lock().unwrap().messages.clone()
    }

    pub fn requests(&self) -> u64 {
        self.state.lock().unwrap().requests
    }

    /// While down, every request is answered `503`.
    pub fn set_down(&self, down: bool) {
        self.state.lock().unwrap().down = down;
    }
}

fn errors(status: StatusCode, message: &str, field: Option<&str>) -> axum::response::Response {
    (
        status,
        Json(json!({ "errors": [{ "message": message, "field": field, "help": null }] })),
    )
        .into_response()
}

/// The parts of SendGrid's v3 validation a client can get wrong.
fn parse_v3(body: &Value) -> Result<ApiMail, (String, &'static str)> {
    let text = |v: &Value| v.as_str().map(str::to_string);
    let to = text(&body["personalizations"][0]["to"][0]["email"]).ok_or((
        "The to array is required for all personalization objects".into(),
        "personalizations.0.to",
    ))?;
    let from = text(&body["from"]["email"]).ok_or(("The from object must be provided".into(), "from"))?;
    let subject = text(&body["subject"]).ok_or(("The subject is required".into(), "subject"))?;
    let content = body["content"].as_array().cloned().unwrap_or_default();
    let kinds: Vec<_> = content.iter().map(|c| c["type"].as_str().unwrap_or_default()).collect();
    if kinds != ["text/plain", "text/html"] {
        return Err(("text/plain must come first, then text/html".into(), "content"));
    }
    Ok(ApiMail {
        to,
        from,
        subject,
        text: text(&content[0]["value"]).unwrap_or_default(),
        html: text(&content[1]["value"]).unwrap_or_default(),
    })
}

async fn mail_send(
    State(state): State<Arc<Mutex<SendGridState>>>,
    headers: HeaderMap,
    body: String,
) -> axum::response::Response {
    let mut state = state.lock().unwrap();
    state.requests += 1;
    if state.down {
        return (StatusCode::SERVICE_UNAVAILABLE, "upstream connect error").into_response();
    }
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok());
    if bearer != Some(&format!("Bearer {SENDGRID_KEY}")) {
        return errors(
            StatusCode::UNAUTHORIZED,
            "The provided authorization grant is invalid, expired, or revoked",
            None,
        );
    }
    let Ok(body) = serde_json::from_str::<Value>(&body) else {
        return errors(StatusCode::BAD_REQUEST, "Bad Request", None);
    };
    let mail = match parse_v3(&body) {
        Ok(mail) => mail,
        Err((message, field)) => return errors(StatusCode::BAD_REQUEST, &message, Some(field)),
    };
    if mail.to.starts_with("bounce") {
        return errors(
            StatusCode::BAD_REQUEST,
            "Does not contain a valid address.",
            Some("personalizations.0.to.0.email"),
        );
    }
    state.messages.push(mail);
    StatusCode::ACCEPTED.into_response()
}
