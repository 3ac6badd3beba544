//! Mail wording lives in `templates/*.txt` and `templates/*.html`, not in Rust strings. The first
//! line of a text template is `Subject: ...`. `{{name}}` placeholders are replaced; in HTML the
//! values are escaped, so a user's name can never inject markup into a mail.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    VerifyEmail,
    AccountExists,
    PasswordReset,
    PasswordChanged,
    MfaCode,
    MfaEnabled,
    MfaDisabled,
    AccountLocked,
    EmailChangeConfirm,
    EmailChangeRequested,
    EmailChanged,
    EmailInUse,
    AccountDeleted,
    NewDeviceSignIn,
    MfaRecoveryCodes,
    MfaReset,
    IdentityLinked,
    Welcome,
}

impl Template {
    fn sources(self) -> (&'static str, &'static str) {
        match self {
            Template::VerifyEmail => (
                include_str!("templates/verify_email.txt"),
                include_str!("templates/verify_email.html"),
            ),
            Template::AccountExists => (
                include_str!("templates/account_exists.txt"),
                include_str!("templates/account_exists.html"),
            ),
            Template::PasswordReset => (
                include_str!("templates/password_reset.txt"),
                include_str!("templates/password_reset.html"),
            ),
            Template::PasswordChanged => (
                include_str!("templates/password_changed.txt"),
                include_str!("templates/password_changed.html"),
            ),
            Template::MfaCode => (
                include_str!("templates/mfa_code.txt"),
                include_str!("templates/mfa_code.html"),
            ),
            Template::MfaEnabled => (
                include_str!("templates/mfa_enabled.txt"),
                include_str!("templates/mfa_enabled.html"),
            ),
            Template::MfaDisabled => (
                include_str!("templates/mfa_disabled.txt"),
                include_str!("templates/mfa_disabled.html"),
            ),
            Template::AccountLocked => (
                include_str!("templates/account_locked.txt"),
                include_str!("templates/account_locked.html"),
            ),
            Template::EmailChangeConfirm => (
                include_str!("templates/email_change_confirm.txt"),
                include_str!("templates/email_change_confirm.html"),
            ),
            Template::EmailChangeRequested => (
                include_str!("templates/email_change_requested.txt"),
                include_str!("templates/email_change_requested.html"),
            ),
            Template::EmailChanged => (
                include_str!("templates/email_changed.txt"),
                include_str!("templates/email_changed.html"),
            ),
            Template::EmailInUse => (
                include_str!("templates/email_in_use.txt"),
                include_str!("templates/email_in_use.html"),
            ),
            Template::AccountDeleted => (
                include_str!("templates/account_deleted.txt"),
                include_str!("templates/account_deleted.html"),
            ),
            Template::NewDeviceSignIn => (
                include_str!("templates/new_device_sign_in.txt"),
                include_str!("templates/new_device_sign_in.html"),
            ),
            Template::MfaRecoveryCodes => (
                include_str!("templates/mfa_recovery_codes.txt"),
                include_str!("templates/mfa_recovery_codes.html"),
            ),
            Template::MfaReset => (
                include_str!("templates/mfa_reset.txt"),
                include_str!("templates/mfa_reset.html"),
            ),
            Template::IdentityLinked => (
                include_str!("templates/identity_linked.txt"),
                include_str!("templates/identity_linked.html"),
            ),
            Template::Welcome => (
                include_str!("templates/welcome.txt"),
                include_str!("templates/welcome.html"),
            ),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A moment as mails write it: `2026-12-02 14:05 UTC`.
pub fn mail_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub fn render(template: Template, vars: &[(&str, &str)]) -> Rendered {
    let (text_src, html_src) = template.sources();
    let text_full = substitute(text_src, vars, |v| v.to_string());
    let (subject, text) = match text_full.split_once('\n') {
        Some((first, rest)) if first.starts_with("Subject:") => (
            first.trim_start_matches("Subject:").trim().to_string(),
            rest.trim_start_matches('\n').to_string(),
        ),
        _ => (String::from("Message from gatehouse"), text_full.clone()),
    };
    let html = substitute(html_src, vars, escape_html);
    Rendered { subject, text, html }
}

fn substitute(src: &str, vars: &[(&str, &str)], escape: impl Fn(&str) -> String) -> String {
    let mut out = src.to_string();
    for (name, value) in vars {
        out = out.replace(&format!("{{{{{name}}}}}"), &escape(value));
    }
    out
}

pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_subject_text_and_escaped_html() {
        let r = render(
            Template::VerifyEmail,
            &[
                ("app", "gatehouse"),
                ("name", "<Rahim>"),
                ("link", "http://x/?token=a&b=c"),
                ("code", "123456"),
                ("link_hours", "24"),
                ("code_minutes", "15"),
            ],
        );
        assert!(r.subject.contains("gatehouse"));
        assert!(r.text.contains("123456") && r.text.contains("http://x/?token=a&b=c"));
        assert!(r.html.contains("&lt;Rahim&gt;") && !r.html.contains("<Rahim>"));
        assert!(!r.text.contains("{{"), "unreplaced placeholder in {}", r.text);
        assert!(!r.html.contains("{{"), "unreplaced placeholder in {}", r.html);
    }
}
