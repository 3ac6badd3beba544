//! Mail wording lives in `templates/*.txt` and `templates/*.html`, not in Rust strings. The first
//! line of a text template is `Subject: ...`. `{{name}}` placeholders are replaced; in HTML the
//! values are escaped, so a user's name can never inject markup into a mail. `MAIL_TEMPLATES_DIR`
//! replaces any of them with files of the same names ([`Templates::load`]).

use anyhow::Context;
use std::collections::HashMap;
use std::path::Path;

/// Declares the templates: each variant, its file name, and its built-in text and HTML.
macro_rules! templates {
    ($($variant:ident => $file:literal,)+) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Template {
            $($variant,)+
        }

        impl Template {
            pub const ALL: &'static [Template] = &[$(Template::$variant,)+];

            /// The file name without extension, as in `MAIL_TEMPLATES_DIR`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Template::$variant => $file,)+
                }
            }

            fn built_in(self) -> (&'static str, &'static str) {
                match self {
                    $(Template::$variant => (
                        include_str!(concat!("templates/", $file, ".txt")),
                        include_str!(concat!("templates/", $file, ".html")),
                    ),)+
                }
            }
        }
    };
}

templates! {
    VerifyEmail => "verify_email",
    AccountExists => "account_exists",
    PasswordReset => "password_reset",
    PasswordChanged => "password_changed",
    MfaCode => "mfa_code",
    MfaEnabled => "mfa_enabled",
    MfaDisabled => "mfa_disabled",
    AccountLocked => "account_locked",
    EmailChangeConfirm => "email_change_confirm",
    EmailChangeRequested => "email_change_requested",
    EmailChanged => "email_changed",
    EmailInUse => "email_in_use",
    AccountDeleted => "account_deleted",
    NewDeviceSignIn => "new_device_sign_in",
    MfaRecoveryCodes => "mfa_recovery_codes",
    MfaReset => "mfa_reset",
    IdentityLinked => "identity_linked",
    PasskeyChanged => "passkey_changed",
    Welcome => "welcome",
}

impl Template {
    /// The variables the built-in template uses: the ones an override may use.
    pub fn variables(self) -> Vec<&'static str> {
        let (text, html) = self.built_in();
        let mut vars = placeholders(text);
        vars.extend(placeholders(html));
        vars.sort_unstable();
        vars.dedup();
        vars
    }
}

/// The `{{name}}` placeholders in `src`, in order of appearance.
fn placeholders(src: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push(after[..end].trim());
        rest = &after[end + 2..];
    }
    out
}

/// The templates in use: the built-in ones, with those of `MAIL_TEMPLATES_DIR` in their place.
#[derive(Debug, Clone, Default)]
pub struct Templates {
    overrides: HashMap<Template, (String, String)>,
}

impl Templates {
    /// Reads `<name>.txt` and `<name>.html` of every template found in `dir`. Both files of a
    /// template must be there (every mail has both parts), the text must start with
    /// `Subject:`, and only the template's documented variables may be used, so a typo stops
    /// the start instead of mailing users a literal `{{nmae}}`. Unknown files are refused too.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let entries =
            std::fs::read_dir(dir).with_context(|| format!("MAIL_TEMPLATES_DIR={} cannot be read", dir.display()))?;
        let mut problems = Vec::new();
        for entry in entries {
            let file = entry?.file_name().to_string_lossy().into_owned();
            let known = file.rsplit_once('.').filter(|(stem, ext)| {
                matches!(*ext, "txt" | "html") && Template::ALL.iter().any(|t| t.name() == *stem)
            });
            if known.is_none() && !file.starts_with('.') {
                problems.push(format!(
                    "{file}: not a template file; the names are <template>.txt and <template>.html with <template> one of {}",
                    Template::ALL.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        let mut overrides = HashMap::new();
        for &template in Template::ALL {
            let read = |ext: &str| {
                let path = dir.join(format!("{}.{ext}", template.name()));
                match std::fs::read_to_string(&path) {
                    Ok(s) => Ok(Some(s)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(format!("{}: {e}", path.display())),
                }
            };
            let (text, html) = match (read("txt"), read("html")) {
                (Ok(None), Ok(None)) => continue,
                (Ok(Some(text)), Ok(Some(html))) => (text, html),
                (Err(e), _) | (_, Err(e)) => {
                    problems.push(e);
                    continue;
                }
                (Ok(_), Ok(_)) => {
                    problems.push(format!(
                        "{0}: give both {0}.txt and {0}.html (every mail has a text and an HTML part)",
                        template.name()
                    ));
                    continue;
                }
            };
            if !text.starts_with("Subject:") {
                problems.push(format!(
                    "{}.txt: the first line must be \"Subject: ...\"",
                    template.name()
                ));
            }
            let allowed = template.variables();
            for (ext, src) in [("txt", &text), ("html", &html)] {
                for var in placeholders(src) {
                    if !allowed.contains(&var) {
                        problems.push(format!(
                            "{}.{ext}: unknown variable {{{{{var}}}}}; this template has {}",
                            template.name(),
                            allowed
                                .iter()
                                .map(|v| format!("{{{{{v}}}}}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                    }
                }
            }
            overrides.insert(template, (text, html));
        }
        if problems.is_empty() {
            Ok(Self { overrides })
        } else {
            anyhow::bail!("MAIL_TEMPLATES_DIR={}:\n  - {}", dir.display(), problems.join("\n  - "))
        }
    }

    /// The templates replaced by files, by name (logged at start).
    pub fn overridden(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.overrides.keys().map(|t| t.name()).collect();
        names.sort_unstable();
        names
    }

    pub fn render(&self, template: Template, vars: &[(&str, &str)]) -> Rendered {
        match self.overrides.get(&template) {
            Some((text, html)) => render_sources(text, html, vars),
            None => render(template, vars),
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

/// Renders a built-in template.
pub fn render(template: Template, vars: &[(&str, &str)]) -> Rendered {
    let (text, html) = template.built_in();
    render_sources(text, html, vars)
}

fn render_sources(text_src: &str, html_src: &str, vars: &[(&str, &str)]) -> Rendered {
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

    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in files {
            std::fs::write(dir.path().join(name), body).unwrap();
        }
        dir
    }

    #[test]
    fn an_override_replaces_the_built_in_template_and_escapes_html() {
        let dir = dir_with(&[
            (
                "welcome.txt",
                "Subject: Hello from {{app}}\n\nHi {{name}}, welcome ({{email}}).",
            ),
            ("welcome.html", "<p>Hi {{name}}</p>"),
        ]);
        let templates = Templates::load(dir.path()).unwrap();
        assert_eq!(templates.overridden(), vec!["welcome"]);
        let r = templates.render(
            Template::Welcome,
            &[("app", "Acme"), ("name", "<b>"), ("email", "a@b.c")],
        );
        assert_eq!(r.subject, "Hello from Acme");
        assert_eq!(r.text, "Hi <b>, welcome (a@b.c).");
        assert_eq!(r.html, "<p>Hi &lt;b&gt;</p>");
        let built_in = templates.render(Template::PasswordChanged, &[("app", "Acme")]);
        assert!(built_in.subject.contains("Acme"), "others stay built in");
    }

    #[test]
    fn mistakes_in_overrides_stop_the_start_with_every_problem_named() {
        let dir = dir_with(&[
            ("welcome.txt", "Hi {{nmae}}"),
            ("welcome.html", "<p>{{name}}</p>"),
            ("password_reset.txt", "Subject: x\n{{link}}"),
            ("verify-email.txt", "Subject: typo in the file name"),
        ]);
        let text = Templates::load(dir.path()).unwrap_err().to_string();
        assert!(
            text.contains("welcome.txt: the first line must be \"Subject: ...\""),
            "{text}"
        );
        assert!(
            text.contains("welcome.txt: unknown variable {{nmae}}; this template has {{app}}, {{email}}, {{name}}"),
            "{text}"
        );
        assert!(
            text.contains("password_reset: give both password_reset.txt and password_reset.html"),
            "{text}"
        );
        assert!(text.contains("verify-email.txt: not a template file"), "{text}");
    }

    #[test]
    fn every_template_offers_its_variables() {
        assert_eq!(
            Template::VerifyEmail.variables(),
            ["app", "code", "code_minutes", "link", "link_hours", "name"]
        );
        assert!(Template::ALL.iter().all(|t| !t.variables().is_empty()));
    }

    #[test]
    fn the_readme_lists_every_template_with_its_variables() {
        let readme = include_str!("../../README.md");
        for &t in Template::ALL {
            let vars: Vec<String> = t.variables().iter().map(|v| format!("`{{{{{v}}}}}`")).collect();
            let row = format!("| `{}` | {} |", t.name(), vars.join(", "));
            assert!(readme.contains(&row), "README's template table lacks the row {row}");
        }
    }
}
