//! Passkeys (WebAuthn, issue 18): registering one on a signed-in account, signing in with it
//! (usernameless or after the name is typed), and managing them.
//!
//! Decisions recorded here:
//! - **The ceremonies are webauthn-rs's** (`webauthn-rs-core`): it parses the CBOR and COSE,
//!   checks origin, RP ID hash, challenge, flags, signature, counter and the `none` and
//!   `packed` attestation formats. Its core is used rather than its wrapper because the
//!   wrapper fixes resident keys to "discouraged" and user verification to "required"; here a
//!   resident (discoverable) key and user verification are both *preferred*, so security keys
//!   without a PIN still work, and only a verified use counts as two factors.
//! - **A ceremony** is a start and a finish. The start stores webauthn-rs's challenge state
//!   under the SHA-256 of a random `ceremony_id` handed to the client (5 minutes); the finish
//!   takes (deletes) it first, so every challenge is answered at most once.
//! - **Factors.** A sign-in with user verification (PIN, fingerprint, face) is two factors:
//!   `amr: ["webauthn", "mfa"]`, and no further MFA step. Without it, the key is one factor:
//!   `amr: ["webauthn"]`, and an MFA account still has to pass its second factor.
//! - **Clones.** An authenticator with a counter must report a higher one every time. A counter
//!   that did not move forward is refused (`passkey_clone_suspected`) and audited: someone may
//!   hold a copy of the key.
//! - **No enumeration.** Starting a sign-in with a typed name answers the same shape whether or
//!   not the account exists or has passkeys: for an unknown one, a credential id derived from
//!   the name with a server key, so it is stable too.

mod assertion;
mod ceremony;
pub mod login;
pub mod manage;
pub mod register;
pub mod second_factor;

pub use ceremony::{Started, CEREMONY_TTL};

use crate::auth::services::Services;
use crate::error::{Error, ErrorCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use webauthn_rs_core::error::WebauthnError;
use webauthn_rs_core::WebauthnCore;

/// The relying party from the settings. Cheap: it only hashes the RP ID.
fn relying_party(state: &Services) -> WebauthnCore {
    let p = &state.config.passkeys;
    WebauthnCore::new_unsafe_experts_only(
        &p.rp_name,
        &p.rp_id,
        p.origins.clone(),
        CEREMONY_TTL.to_std().unwrap_or_default(),
        Some(false),
        Some(false),
    )
}

/// A credential id as stored and as browsers name it: base64url without padding.
fn credential_id_text(raw: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(raw)
}

/// What webauthn-rs refused, as the code a client can act on.
fn refused(e: WebauthnError) -> Error {
    use WebauthnError as W;
    let (code, message) = match e {
        W::InvalidRPOrigin => (
            ErrorCode::PasskeyOriginMismatch,
            "the passkey answered for a page whose origin is not in PASSKEY_ORIGINS",
        ),
        W::InvalidRPIDHash => (
            ErrorCode::PasskeyRpIdMismatch,
            "the passkey answered for another relying party (RP ID) than this server's PASSKEY_RP_ID",
        ),
        W::MismatchedChallenge => (
            ErrorCode::PasskeyChallengeMismatch,
            "the passkey signed another challenge than this ceremony's: start again",
        ),
        W::UserNotPresent => (
            ErrorCode::PasskeyUserNotPresent,
            "the authenticator did not confirm that someone was present: touch it when asked",
        ),
        W::CredentialPossibleCompromise => (
            ErrorCode::PasskeyCloneSuspected,
            "this passkey's signature counter went backwards, which a copied key would do: it was refused; sign in another way and check your passkeys",
        ),
        W::AuthenticationFailure | W::AttestationStatementSigInvalid => (
            ErrorCode::PasskeySignatureInvalid,
            "the passkey's signature does not verify",
        ),
        W::CredentialExcludedFromRequest | W::CredentialAlteredAlgFromRequest | W::CredentialInsecureCryptography => (
            ErrorCode::PasskeyRejected,
            "this authenticator's credential cannot be accepted (already registered, or an algorithm this server does not allow)",
        ),
        W::InvalidClientDataType => (
            ErrorCode::PasskeyResponseInvalid,
            "the answer is for the other ceremony (create vs get): send navigator.credentials.create()'s answer to register and .get()'s to sign in",
        ),
        other => {
            tracing::info!(error = %other, "passkey answer refused");
            (
                ErrorCode::PasskeyResponseInvalid,
                "the passkey answer could not be read or checked: send the PublicKeyCredential from the browser as JSON (base64url binary fields)",
            )
        }
    };
    Error::new(code, message)
}

/// For a failed ceremony step that is the server's own fault (it never is the client's).
fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(anyhow::anyhow!("webauthn: {e}"))
}
