//! Every string the hosted pages show, in one table, so a translation is one more table.
//! Templates read them as `t.<key>`; handlers with [`text`]. Messages about a refused request
//! come from the error itself (`Error`'s detail), which the API answers with too.

/// English, the default.
pub const EN: &[(&str, &str)] = &[
    ("account", "Your account"),
    ("go_to_sign_in", "Go to sign in"),
    ("form_unreadable_title", "This form could not be sent"),
    (
        "form_too_large",
        "What was typed is too long to send (forms take at most 64 KiB). Go back, shorten it and try again.",
    ),
    (
        "form_unreadable",
        "The form arrived in a shape this page does not read. Go back, reload the page and try again.",
    ),
    ("link_incomplete_title", "Link incomplete"),
    (
        "link_incomplete",
        "This link has no token. Open the link from the mail exactly as it was sent.",
    ),
    ("link_broken_title", "This link does not work"),
    ("verify_title", "Confirm your email address"),
    ("verify_intro", "One click confirms that this address is yours."),
    ("verify_button", "Confirm my email address"),
    ("verify_done_title", "Email address confirmed"),
    ("verify_done", "Thank you. You can close this page and sign in."),
    ("unlock_title", "Unlock your account"),
    (
        "unlock_intro",
        "Sign-in was paused after too many wrong passwords. If that was you, unlock it here.",
    ),
    ("unlock_button", "Unlock my account"),
    ("unlock_done_title", "Account unlocked"),
    (
        "unlock_done",
        "Sign-in works again. You can close this page and sign in.",
    ),
    ("address_change_title", "Confirm your new sign-in address"),
    (
        "address_change_intro",
        "From now on you will sign in with this address.",
    ),
    ("address_change_button", "Use this address from now on"),
    ("address_change_done_title", "Sign-in address changed"),
    (
        "address_change_done",
        "Your account signs in with this address from now on. You can close this page.",
    ),
    ("reset_title", "Choose a new password"),
    ("reset_button", "Set new password"),
    ("reset_done_title", "Password changed"),
    (
        "reset_done",
        "Your password was changed. You can close this page and sign in.",
    ),
    ("or", "or"),
    ("continue_with", "Continue with {provider}"),
    ("social_failed", "Sign-in with {provider} did not work"),
    ("link_failed", "Linking {provider} did not work"),
    ("identities", "Sign in with another account"),
    ("identities_intro", "Accounts at these providers sign you in here too."),
    ("identities_none", "No other accounts are linked."),
    ("linked_at", "Linked"),
    ("unlink", "Unlink"),
    ("link_provider", "Link {provider}"),
    ("link_password", "Current password, to link an account"),
    (
        "link_password_hint",
        "Not needed if you signed in within the last few minutes.",
    ),
    ("identity_linked", "Linked: that account now signs you in here."),
    (
        "identity_unlinked",
        "Unlinked: that account no longer signs you in here.",
    ),
    ("change_email", "Change sign-in address"),
    (
        "change_email_intro",
        "We mail a link to the new address. Until it is used, you keep signing in with the current one.",
    ),
    ("new_email", "New email address"),
    ("email_password", "Current password, to change the address"),
    (
        "email_change_sent",
        "Check the new address: we sent it a link to confirm the change.",
    ),
    ("step_up_title", "Confirm it is you"),
    (
        "step_up_intro",
        "This change needs a fresh code from your second factor. After this you can make changes for a few minutes.",
    ),
    ("step_up_done", "Confirmed. Now make the change again."),
    ("send_code", "Email me a code"),
    ("link_done_title", "Done"),
    (
        "account_deleted",
        "Your account and everything in it are deleted. We mailed you a confirmation.",
    ),
    ("account_deleted_title", "Account deleted"),
    ("delete_account", "Delete my account"),
    (
        "delete_intro",
        "This deletes your account, your sessions and your second factors for good. It cannot be undone.",
    ),
    ("delete_password", "Current password, to delete the account"),
    ("account_intro", "Manage how you sign in and what we know about you."),
    ("back_to_sign_in", "Back to sign in"),
    ("back_to_account", "Back to your account"),
    ("form_refused", "This form could not be used"),
    ("mfa_current_password", "Current password, to set up two-step sign-in"),
    ("cancel", "Cancel"),
    ("change_password", "Change password"),
    ("check_inbox", "Check your inbox"),
    ("code", "Code"),
    ("code_from_app", "Code from your authenticator app"),
    ("code_hint", "The 6-digit code from the mail"),
    ("code_sent", "We mailed you a code. It is valid for 10 minutes."),
    ("continue", "Continue"),
    ("create_account", "Create an account"),
    ("current_password", "Current password"),
    ("current_session", "This device"),
    ("date_of_birth", "Date of birth"),
    ("email", "Email address"),
    ("email_me_a_code", "Email me a code instead"),
    ("email_or_username", "Email address or username"),
    ("first_name", "First name"),
    ("forgot_password", "Forgot your password?"),
    (
        "forgot_intro",
        "Enter your email address and we will mail you a link to choose a new password.",
    ),
    (
        "forgot_sent",
        "If an account uses that address, a link to reset its password is on its way. It is valid for one hour.",
    ),
    ("gender", "Gender"),
    ("gender_female", "Female"),
    ("gender_male", "Male"),
    ("gender_other", "Other"),
    ("gender_prefer_not_to_say", "Prefer not to say"),
    ("last_name", "Last name"),
    ("last_used", "Last used"),
    (
        "mfa_intro",
        "Your account has two-step sign-in. Finish with one of your methods.",
    ),
    ("mfa_method", "Method"),
    ("mfa_method_email", "A code mailed to you"),
    ("mfa_method_recovery", "A recovery code"),
    ("mfa_method_totp", "Authenticator app"),
    ("mfa_title", "Two-step sign-in"),
    (
        "mfa_off_intro",
        "Two-step sign-in is off. Turn it on so that a stolen password is not enough to get into your account.",
    ),
    ("mfa_on_intro", "Two-step sign-in is on. Your methods:"),
    ("mfa_password_hint", "Needed if you signed in more than 10 minutes ago."),
    ("mfa_set_up_totp", "Set up an authenticator app"),
    ("mfa_set_up_email", "Also accept codes by email"),
    ("mfa_totp_title", "Set up an authenticator app"),
    (
        "mfa_totp_scan",
        "Scan this QR code with your authenticator app (Google Authenticator, Microsoft Authenticator, 1Password, …).",
    ),
    ("mfa_totp_type", "Or type this key into the app:"),
    ("mfa_email_title", "Codes by email"),
    (
        "mfa_email_sent",
        "We mailed you a 6-digit code. Enter it to turn codes by email on.",
    ),
    ("mfa_turn_off", "Turn off two-step sign-in"),
    ("mfa_disable_code", "A current code"),
    (
        "mfa_disable_hint",
        "From your authenticator app, a mailed code, or a recovery code.",
    ),
    ("mfa_disabled", "Two-step sign-in is off."),
    ("new_recovery_codes", "Make new recovery codes"),
    ("qr_alt", "QR code for your authenticator app"),
    ("turn_on", "Turn on"),
    ("recovery_codes", "Your recovery codes"),
    (
        "recovery_codes_intro",
        "Keep these codes somewhere safe. Each one signs you in once if you lose your phone. They are shown only now.",
    ),
    ("download_codes", "Download the codes"),
    ("done", "Done"),
    ("mobile", "Mobile number"),
    ("mobile_hint", "Bangladeshi mobile, e.g. 01712345678"),
    ("new_password", "New password"),
    ("no_account", "No account yet?"),
    ("optional", "optional"),
    ("password", "Password"),
    (
        "password_changed",
        "Your password is changed. Your other sessions were signed out.",
    ),
    ("password_hint", "At least 8 characters; a long phrase is best."),
    ("profile", "Profile"),
    ("profile_saved", "Your profile is saved."),
    (
        "register_intro",
        "Create your account. We will mail you a link to confirm your address.",
    ),
    (
        "register_sent",
        "We sent a link and a code to confirm your email address. You can sign in once it is confirmed.",
    ),
    ("request_code", "Mail me a code"),
    (
        "code_login_intro",
        "We will mail you a 6-digit code to sign in with, no password needed.",
    ),
    ("revoke", "Sign out"),
    ("revoke_others", "Sign out everywhere else"),
    ("save", "Save"),
    ("send_code_again", "Mail me a code"),
    ("session_revoked", "That session is signed out."),
    ("sessions", "Where you are signed in"),
    ("sessions_revoked", "Every other session is signed out."),
    ("sign_in", "Sign in"),
    ("sign_in_with", "Sign in with"),
    ("sign_out", "Sign out"),
    ("signed_in_as", "Signed in as"),
    ("signed_in_since", "Signed in"),
    ("skip_to_content", "Skip to the form"),
    ("username", "Username"),
    ("username_hint", "3–32 of a-z 0-9 . _ - ; you can sign in with it"),
    ("fix_fields", "Please correct the fields marked below."),
    ("have_account", "Already have an account?"),
    ("unknown_device", "Unknown device"),
    ("passkeys", "Passkeys"),
    (
        "passkeys_intro",
        "A passkey signs you in with your device's screen lock or a security key, no password needed.",
    ),
    ("passkeys_none", "No passkeys yet."),
    ("passkey_add", "Add a passkey"),
    (
        "passkey_add_intro",
        "Your browser will ask you to create a passkey for this site with your device's screen lock or a security key.",
    ),
    ("passkey_create", "Create the passkey"),
    ("passkey_name", "Name"),
    (
        "passkey_name_hint",
        "So you can tell your passkeys apart, like \"Work laptop\"; by default the browser and system",
    ),
    ("passkey_new_name", "New name"),
    ("passkey_password", "Current password, to add a passkey"),
    (
        "passkey_password_hint",
        "Not needed within 10 minutes of signing in",
    ),
    ("passkey_added", "The passkey is added. You can sign in with it from now on."),
    ("passkey_renamed", "The passkey is renamed."),
    ("passkey_deleted", "The passkey is removed. It no longer signs you in here."),
    ("passkey_added_at", "Added"),
    ("passkey_never_used", "never"),
    ("passkey_synced", "Synced"),
    ("rename", "Rename"),
    ("remove", "Remove"),
    ("sign_in_with_passkey", "Sign in with a passkey"),
    ("use_a_passkey", "Use a passkey instead"),
    (
        "passkey_unsupported",
        "This browser cannot use passkeys. Sign in with your password instead.",
    ),
    (
        "passkey_cancelled",
        "The passkey prompt was closed or timed out, or no passkey for this site was chosen. Try again, or sign in another way.",
    ),
    (
        "passkey_needs_script",
        "Passkeys need JavaScript in this browser. Turn it on, or sign in with your password.",
    ),
];

/// The string `key` of the default table (the key itself when it is missing, so a page never
/// fails to render over a missing translation; a unit test keeps every key used present).
pub fn text(key: &str) -> &'static str {
    EN.iter().find(|(k, _)| *k == key).map(|(_, v)| *v).unwrap_or("")
}

pub use crate::auth::oauth::display_name as provider_label;

/// `text(key)` with `{provider}` filled in.
pub fn with_provider(key: &str, provider: &str) -> String {
    text(key).replace("{provider}", &provider_label(provider))
}

/// The whole table for a template.
pub fn table() -> std::collections::BTreeMap<&'static str, &'static str> {
    EN.iter().copied().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_are_named_as_their_brands() {
        assert_eq!(provider_label("github"), "GitHub");
        assert_eq!(provider_label("corp"), "Corp");
        assert_eq!(with_provider("continue_with", "facebook"), "Continue with Facebook");
    }

    #[test]
    fn every_key_is_defined_once() {
        let mut keys: Vec<&str> = EN.iter().map(|(k, _)| *k).collect();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(before, keys.len(), "a key is defined twice");
    }

    #[test]
    fn every_key_the_templates_use_is_defined() {
        let pattern = regex::Regex::new(r"\bt\.([a-z_]+)").unwrap_or_else(|e| panic!("{e}"));
        for (name, source) in super::super::render::TEMPLATES {
            for c in pattern.captures_iter(source) {
                assert!(
                    !text(&c[1]).is_empty(),
                    "{name} uses t.{} which strings.rs lacks",
                    &c[1]
                );
            }
        }
    }
}
