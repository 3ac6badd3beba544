//! Settings of the hosted pages (`/login`, `/register`, `/account`, …): branding, and where a
//! browser may be sent back to after signing in.

use super::load::Reader;
use super::load_lists::parse_origins;
use url::Url;

#[derive(Debug, Clone)]
pub struct UiSettings {
    /// `UI_APP_NAME`: shown in page titles and headings.
    pub app_name: String,
    /// `UI_LOGO_URL`: an https (or same-site path) image shown above the forms.
    pub logo_url: Option<String>,
    /// `UI_ACCENT_COLOR`: `#rrggbb` for buttons and links.
    pub accent_color: String,
    /// `UI_RETURN_TO_ORIGINS`: origins besides `PUBLIC_URL`'s that `return_to` may name.
    /// Unset: `CORS_ALLOWED_ORIGINS` (the front ends that already call the API).
    pub return_to_origins: Vec<String>,
}

impl Default for UiSettings {
    fn default() -> Self {
        Self {
            app_name: "gatehouse".into(),
            logo_url: None,
            accent_color: "#1f5fbf".into(),
            return_to_origins: Vec::new(),
        }
    }
}

fn is_hex_colour(v: &str) -> bool {
    v.strip_prefix('#')
        .is_some_and(|h| matches!(h.len(), 3 | 6) && h.chars().all(|c| c.is_ascii_hexdigit()))
}

pub(super) fn ui_settings(r: &mut Reader<'_>, cors_origins: &[String]) -> UiSettings {
    let d = UiSettings::default();
    let app_name = r.parse(
        "UI_APP_NAME",
        d.app_name,
        "a name of 1 to 60 characters without control characters, such as Acme",
        |v| (v.chars().count() <= 60 && !v.chars().any(char::is_control)).then(|| v.to_string()),
    );
    let logo_url = r.optional(
        "UI_LOGO_URL",
        "an https URL of an image (or a path on this server starting with /), such as https://acme.com/logo.svg",
        |v| {
            let https = Url::parse(v)
                .ok()
                .is_some_and(|u| u.scheme() == "https" && u.host().is_some());
            let local_path = v.starts_with('/') && !v.starts_with("//") && !v.contains(['"', '\'', '<', '>', '\\']);
            (https || local_path).then(|| v.to_string())
        },
    );
    let accent_color = r.parse("UI_ACCENT_COLOR", d.accent_color, "a hex colour such as #1f5fbf", |v| {
        is_hex_colour(v).then(|| v.to_ascii_lowercase())
    });
    let return_to_origins = r.parse(
        "UI_RETURN_TO_ORIGINS",
        cors_origins.to_vec(),
        "comma-separated origins such as https://app.example.com,http://localhost:3000",
        parse_origins,
    );
    UiSettings {
        app_name,
        logo_url,
        accent_color,
        return_to_origins,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use crate::config::{Config, ConfigError};

    fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|key| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
    }

    #[test]
    fn branding_is_read_and_return_to_defaults_to_the_cors_origins() {
        let c = load(&[
            ("UI_APP_NAME", "Acme ID"),
            ("UI_LOGO_URL", "https://acme.example/logo.svg"),
            ("UI_ACCENT_COLOR", "#AA3300"),
            ("CORS_ALLOWED_ORIGINS", "https://app.example.com"),
        ])
        .unwrap();
        assert_eq!(c.ui.app_name, "Acme ID");
        assert_eq!(c.ui.logo_url.as_deref(), Some("https://acme.example/logo.svg"));
        assert_eq!(c.ui.accent_color, "#aa3300");
        assert_eq!(c.ui.return_to_origins, ["https://app.example.com"]);
        let c = load(&[("UI_RETURN_TO_ORIGINS", "http://localhost:3000")]).unwrap();
        assert_eq!(c.ui.return_to_origins, ["http://localhost:3000"]);
    }

    #[test]
    fn bad_values_are_refused_with_what_they_must_be() {
        for (key, bad) in [
            ("UI_ACCENT_COLOR", "red; background:url(x)"),
            ("UI_LOGO_URL", "http://insecure.example/logo.png"),
            ("UI_LOGO_URL", "javascript:alert(1)"),
            ("UI_RETURN_TO_ORIGINS", "https://app.example.com/path"),
        ] {
            let e = load(&[(key, bad)]).expect_err(bad).to_string();
            assert!(e.contains(&format!("{key} must be")), "{key}={bad}: {e}");
        }
    }
}
