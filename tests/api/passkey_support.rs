//! A software authenticator for the passkey tests: real P-256 key pairs, real CBOR
//! `attestationObject`s and `authenticatorData`, real ECDSA signatures over
//! `authenticatorData ‖ SHA-256(clientDataJSON)`, answering the server's options as a browser's
//! `navigator.credentials.create()` / `.get()` would. Every field a test wants to get wrong
//! (origin, RP ID, counter, signature, user verification) is a knob.

use crate::common::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ciborium::Value as Cbor;
use p256::ecdsa::{signature::Signer, Signature, SigningKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const ORIGIN: &str = "http://localhost:8080";
pub const RP_ID: &str = "localhost";

/// An app whose passkeys belong to [`RP_ID`] and may be used from [`ORIGIN`], as a browser
/// page at `http://localhost:8080` would use them.
pub async fn passkey_app(backend: Backend) -> TestApp {
    TestApp::spawn_configured(backend, |c| {
        c.passkeys.rp_id = RP_ID.into();
        c.passkeys.origins = vec![url::Url::parse(ORIGIN).unwrap()];
    })
    .await
}

pub struct SoftKey {
    pub id: Vec<u8>,
    key: SigningKey,
    pub user_handle: Vec<u8>,
    /// The next assertion reports this plus one (0 stays 0: an authenticator without counter).
    pub counter: u32,
}

pub struct Authenticator {
    pub origin: String,
    pub rp_id: String,
    /// Whether the user is verified (PIN, biometrics): the UV flag.
    pub verifies_user: bool,
    /// `packed` self-attestation instead of `none`.
    pub packed: bool,
    pub keys: Vec<SoftKey>,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("base64url")
}

fn cbor(value: &Cbor) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).unwrap();
    out
}

impl Authenticator {
    pub fn new() -> Self {
        Self {
            origin: ORIGIN.into(),
            rp_id: RP_ID.into(),
            verifies_user: true,
            packed: false,
            keys: Vec::new(),
        }
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "type": kind,
            "challenge": challenge,
            "origin": self.origin,
            "crossOrigin": false,
        }))
        .unwrap()
    }

    fn flags(&self, attested: bool) -> u8 {
        let mut flags = 0x01; // user present
        if self.verifies_user {
            flags |= 0x04;
        }
        if attested {
            flags |= 0x40;
        }
        flags
    }

    /// `navigator.credentials.create()` for a `…/register/start` answer's `options`.
    pub fn create(&mut self, options: &Value) -> Value {
        let o = &options["publicKey"];
        let challenge = o["challenge"].as_str().unwrap();
        let user_handle = unb64(o["user"]["id"].as_str().unwrap());
        let key = loop {
            let bytes: [u8; 32] = rand::random();
            if let Ok(k) = SigningKey::from_bytes(&bytes.into()) {
                break k;
            }
        };
        let id: Vec<u8> = rand::random::<[u8; 16]>().to_vec();
        let point = key.verifying_key().to_encoded_point(false);
        let cose = Cbor::Map(vec![
            (Cbor::from(1), Cbor::from(2)),
            (Cbor::from(3), Cbor::from(-7)),
            (Cbor::from(-1), Cbor::from(1)),
            (Cbor::from(-2), Cbor::Bytes(point.x().unwrap().to_vec())),
            (Cbor::from(-3), Cbor::Bytes(point.y().unwrap().to_vec())),
        ]);
        let mut auth_data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        auth_data.push(self.flags(true));
        auth_data.extend_from_slice(&0u32.to_be_bytes());
        auth_data.extend_from_slice(&[0u8; 16]); // AAGUID
        auth_data.extend_from_slice(&(id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&id);
        auth_data.extend_from_slice(&cbor(&cose));
        let client_data = self.client_data("webauthn.create", challenge);
        let statement = if self.packed {
            let mut signed = auth_data.clone();
            signed.extend_from_slice(&Sha256::digest(&client_data));
            let sig: Signature = key.sign(&signed);
            Cbor::Map(vec![
                (Cbor::from("alg"), Cbor::from(-7)),
                (Cbor::from("sig"), Cbor::Bytes(sig.to_der().as_bytes().to_vec())),
            ])
        } else {
            Cbor::Map(Vec::new())
        };
        let attestation = Cbor::Map(vec![
            (
                Cbor::from("fmt"),
                Cbor::from(if self.packed { "packed" } else { "none" }),
            ),
            (Cbor::from("attStmt"), statement),
            (Cbor::from("authData"), Cbor::Bytes(auth_data)),
        ]);
        self.keys.push(SoftKey {
            id: id.clone(),
            key,
            user_handle,
            counter: 0,
        });
        json!({
            "id": b64(&id),
            "rawId": b64(&id),
            "type": "public-key",
            "response": {
                "attestationObject": b64(&cbor(&attestation)),
                "clientDataJSON": b64(&client_data),
                "transports": ["internal"],
            },
            "extensions": {},
        })
    }

    /// `navigator.credentials.get()` with key `which` for a `…/login/start` answer's `options`;
    /// the counter moves on by one when `counting`.
    pub fn get(&mut self, options: &Value, which: usize) -> Value {
        let challenge = options["publicKey"]["challenge"].as_str().unwrap().to_string();
        let rp_hash = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        let flags = self.flags(false);
        let client_data = self.client_data("webauthn.get", &challenge);
        let k = &mut self.keys[which];
        if k.counter > 0 {
            k.counter += 1;
        }
        let mut auth_data = rp_hash;
        auth_data.push(flags);
        auth_data.extend_from_slice(&k.counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data));
        let sig: Signature = k.key.sign(&signed);
        json!({
            "id": b64(&k.id),
            "rawId": b64(&k.id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(&client_data),
                "signature": b64(sig.to_der().as_bytes()),
                "userHandle": b64(&k.user_handle),
            },
            "extensions": {},
        })
    }
}

/// A verified account that signed in with its password and added one passkey.
pub struct PasskeyUser {
    pub tokens: Tokens,
    pub authenticator: Authenticator,
    pub passkey: Value,
}

pub async fn register_passkey(app: &TestApp, tokens: &Tokens, authenticator: &mut Authenticator) -> reqwest::Response {
    let started = app
        .post_json_auth("/api/auth/passkeys/register/start", &tokens.access, &json!({}))
        .await;
    assert_eq!(started.status(), 200);
    let started: Value = started.json().await.unwrap();
    let credential = authenticator.create(&started["options"]);
    app.post_json_auth(
        "/api/auth/passkeys/register/finish",
        &tokens.access,
        &json!({ "ceremony_id": started["ceremony_id"], "credential": credential, "name": "Laptop" }),
    )
    .await
}

pub async fn passkey_user(app: &TestApp, email: &str) -> PasskeyUser {
    let tokens = app.signed_in(email).await;
    let mut authenticator = Authenticator::new();
    let r = register_passkey(app, &tokens, &mut authenticator).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let passkey = r.json().await.unwrap();
    PasskeyUser {
        tokens,
        authenticator,
        passkey,
    }
}

/// `…/login/start` (with `identifier`, or usernameless): the ceremony id and options.
pub async fn login_start(app: &TestApp, identifier: Option<&str>) -> (String, Value) {
    let body = match identifier {
        Some(i) => json!({ "identifier": i }),
        None => json!({}),
    };
    let r = app.post_json("/api/auth/passkeys/login/start", &body).await;
    assert_eq!(r.status(), 200);
    let started: Value = r.json().await.unwrap();
    (
        started["ceremony_id"].as_str().unwrap().to_string(),
        started["options"].clone(),
    )
}

pub async fn login_finish(app: &TestApp, ceremony_id: &str, credential: &Value) -> reqwest::Response {
    app.post_json(
        "/api/auth/passkeys/login/finish",
        &json!({ "ceremony_id": ceremony_id, "credential": credential }),
    )
    .await
}
