//! Rendering a page: the templates (compiled into the binary), the branding every page shows,
//! and the headers every page gets (a CSP with no inline script or style, no caching).

use crate::app::AppState;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::{context, Environment, Value};
use std::sync::OnceLock;

pub const STYLESHEET_PATH: &str = "/ui/gatehouse.css";
/// The one script of the hosted pages: the passkey ceremonies (WebAuthn is a browser API).
pub const SCRIPT_PATH: &str = "/ui/passkeys.js";

/// Every template, by name. `.html` names are auto-escaped by minijinja.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("macros.html", include_str!("templates/macros.html")),
    ("login.html", include_str!("templates/login.html")),
    ("mfa.html", include_str!("templates/mfa.html")),
    ("code.html", include_str!("templates/code.html")),
    ("register.html", include_str!("templates/register.html")),
    ("forgot.html", include_str!("templates/forgot.html")),
    ("message.html", include_str!("templates/message.html")),
    ("account.html", include_str!("templates/account.html")),
    ("mfa_enrol.html", include_str!("templates/mfa_enrol.html")),
    ("recovery_codes.html", include_str!("templates/recovery_codes.html")),
    ("step_up.html", include_str!("templates/step_up.html")),
    ("link.html", include_str!("templates/link.html")),
    ("reset.html", include_str!("templates/reset.html")),
    ("passkey_add.html", include_str!("templates/passkey_add.html")),
];

const STYLESHEET: &str = include_str!("templates/gatehouse.css");
const SCRIPT: &str = include_str!("templates/passkeys.js");

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        for (name, source) in TEMPLATES {
            // The templates are compiled into the binary; one that does not parse fails the
            // unit test that renders every page, long before a release.
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "a hosted-page template does not parse");
            }
        }
        env
    })
}

/// The CSP of every hosted page: nothing inline, forms post to this server only (and the
/// redirect after one may go to an allowed `return_to` origin), never framed. A page with the
/// passkey script may load it, and it may call this server, and nothing else; every other page
/// runs no script at all.
fn content_security_policy(state: &AppState, with_script: bool) -> String {
    let mut form_action = String::from("'self'");
    for origin in &state.config.ui.return_to_origins {
        form_action.push(' ');
        form_action.push_str(origin);
    }
    let logo = match state.config.ui.logo_url.as_deref() {
        Some(url) if url.starts_with("https://") => url::Url::parse(url)
            .map(|u| format!(" {}", u.origin().ascii_serialization()))
            .unwrap_or_default(),
        _ => String::new(),
    };
    let script = if with_script {
        "script-src 'self'; connect-src 'self'; "
    } else {
        ""
    };
    format!(
        "default-src 'none'; {script}style-src 'self'; img-src 'self' data:{logo}; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    )
}

/// Renders `template` with `ctx` plus what every page shows (branding, strings).
pub fn page(state: &AppState, status: StatusCode, template: &str, ctx: Value) -> Response {
    let ui = &state.config.ui;
    let full = context! {
        app_name => ui.app_name.clone(),
        logo_url => ui.logo_url.clone(),
        stylesheet => STYLESHEET_PATH,
        passkey_script => SCRIPT_PATH,
        t => super::strings::table(),
        ..ctx
    };
    let html = environment().get_template(template).and_then(|t| t.render(full));
    match html {
        Ok(html) => {
            let with_script = html.contains(&script_tag());
            let mut response = (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
            if let Ok(csp) = HeaderValue::from_str(&content_security_policy(state, with_script)) {
                response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, csp);
            }
            // Under `no-referrer` a browser sends `Origin: null` with a form's POST, and the
            // form check needs the real one; other sites still learn nothing.
            response
                .headers_mut()
                .insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
            response
        }
        Err(e) => crate::error::Error::Internal(anyhow::anyhow!("rendering {template}: {e:#}")).into_response(),
    }
}

/// The stylesheet, with the accent colour of `UI_ACCENT_COLOR`.
pub async fn stylesheet(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    let css = STYLESHEET.replace("#1f5fbf", &state.config.ui.accent_color);
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        css,
    )
        .into_response()
}

/// How a page loads the passkey script, as the templates write it (minijinja escapes `/`).
fn script_tag() -> String {
    format!("<script src=\"{}\" defer></script>", SCRIPT_PATH.replace('/', "&#x2f;"))
}

/// The passkey script. It changes only with the binary, so browsers may keep it an hour.
pub async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SCRIPT,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every page renders with the values its handler gives it: a template error is caught
    /// here, not by the first user.
    #[test]
    fn every_page_renders() {
        let base = context! { app_name => "Acme", stylesheet => STYLESHEET_PATH, passkey_script => SCRIPT_PATH, t => super::super::strings::table(), csrf => "tok", return_to => "/account" };
        let pages = [
            (
                "login.html",
                context! { identifier => "rahim", error => "wrong", ..base.clone() },
            ),
            (
                "mfa.html",
                context! { methods => "totp,email", method_list => vec!["totp", "email"], ..base.clone() },
            ),
            (
                "code.html",
                context! { email => "a@b.co", sent => true, ..base.clone() },
            ),
            (
                "register.html",
                context! { form => context!{ gender => "male" }, fields => context!{ email => "is not valid" }, ..base.clone() },
            ),
            ("forgot.html", context! { email => "", ..base.clone() }),
            (
                "message.html",
                context! { title => "Done", message => "ok", link => "/login", link_text => "back", ..base.clone() },
            ),
            (
                "account.html",
                context! { profile => context!{ email => "a@b.co", gender => "male", has_password => true }, sessions => vec![context!{ id => "1", device => "Firefox on Linux", current => true }], identities => vec![context!{ id => "2", label => "GitHub", email => "a@b.co", linked_at => "2026-01-01 10:00 UTC" }], providers => vec![context!{ name => "corp", label => "Corp" }], section => "profile", error => "bad", ..base.clone() },
            ),
            (
                "login.html",
                context! { providers => vec![context!{ name => "github", label => "GitHub" }], ..base.clone() },
            ),
            (
                "step_up.html",
                context! { method_list => vec!["totp", "recovery"], ..base.clone() },
            ),
            (
                "link.html",
                context! { title => "Confirm", intro => "One click", button => "Go", action => "verify-email", token => "abc", ..base.clone() },
            ),
            (
                "passkey_add.html",
                context! { ceremony_id => "c", options => "{\"publicKey\":{}}", ..base.clone() },
            ),
            (
                "reset.html",
                context! { token => "abc", fields => context!{ new_password => "is too short" }, ..base.clone() },
            ),
        ];
        for (name, ctx) in pages {
            let html = environment()
                .get_template(name)
                .and_then(|t| t.render(ctx))
                .unwrap_or_else(|e| panic!("{name}: {e:#}"));
            assert!(html.contains("<h1>"), "{name} has a heading");
            // Only the passkey script, from this server: nothing inline.
            let scripts = html.matches("<script").count();
            let external = html.matches(&script_tag()).count();
            assert_eq!(scripts, external, "{name} has an inline script");
        }
    }

    #[test]
    fn values_are_escaped() {
        let ctx =
            context! { app_name => "A", t => super::super::strings::table(), identifier => "\"><script>x</script>" };
        let html = environment()
            .get_template("login.html")
            .and_then(|t| t.render(ctx))
            .unwrap_or_default();
        assert!(html.contains("&quot;&gt;&lt;script&gt;"), "{html}");
    }
}
