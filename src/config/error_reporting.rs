//! Error reporting settings: `SENTRY_DSN`, `SENTRY_ENVIRONMENT`, `SENTRY_RELEASE`. Without a
//! DSN nothing is reported and the Sentry client is never built.

use super::load::Reader;
use secrecy::SecretString;

/// Where 5xx answers, panics and error logs are reported (seed 003's Sentry).
#[derive(Debug, Clone)]
pub struct ErrorReporting {
    /// The project's DSN. Its public key lets anyone who has it send events to the project, so
    /// it is kept out of `Debug` output like other secrets.
    pub dsn: SecretString,
    /// `production`, `staging`, …: what Sentry files the events under. Unset: Sentry's default.
    pub environment: Option<String>,
    /// `gatehouse@<version>` unless `SENTRY_RELEASE` names another.
    pub release: String,
}

pub(super) fn error_reporting(r: &mut Reader<'_>) -> Option<ErrorReporting> {
    let label = |v: &str| {
        (!v.is_empty() && v.len() <= 64 && !v.contains(['/', '\n', '\r']) && v != "." && v != "..")
            .then(|| v.to_string())
    };
    let environment = r.optional(
        "SENTRY_ENVIRONMENT",
        "a name of at most 64 characters without slashes, such as production or staging",
        label,
    );
    let release = r.optional(
        "SENTRY_RELEASE",
        "a release name of at most 64 characters without slashes, such as gatehouse@1.4.0",
        label,
    );
    let Some(dsn) = r.optional(
        "SENTRY_DSN",
        "the project's DSN from Sentry (Settings → Client Keys), such as https://<public key>@o123.ingest.sentry.io/456",
        |v| v.parse::<sentry::types::Dsn>().ok().map(|_| v.to_string()),
    ) else {
        for (key, value) in [("SENTRY_ENVIRONMENT", &environment), ("SENTRY_RELEASE", &release)] {
            if value.is_some() && r.raw("SENTRY_DSN").is_none() {
                r.problems.push(format!(
                    "{key} is set but SENTRY_DSN is not, so nothing would be reported: set SENTRY_DSN too, or remove {key}"
                ));
            }
        }
        return None;
    };
    Some(ErrorReporting {
        dsn: SecretString::from(dsn),
        environment,
        release: release.unwrap_or_else(|| format!("gatehouse@{}", env!("CARGO_PKG_VERSION"))),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use crate::config::{Config, ConfigError};
    use secrecy::ExposeSecret;

    fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|key| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
    }

    const DSN: &str = "https://abc123@o1.ingest.sentry.io/42";

    #[test]
    fn nothing_is_reported_without_a_dsn() {
        assert!(load(&[]).unwrap().error_reporting.is_none());
    }

    #[test]
    fn a_dsn_turns_reporting_on_with_the_crate_version_as_release() {
        let c = load(&[("SENTRY_DSN", DSN)]).unwrap();
        let r = c.error_reporting.clone().expect("reporting is on");
        assert_eq!(r.dsn.expose_secret(), DSN);
        assert_eq!(r.release, format!("gatehouse@{}", env!("CARGO_PKG_VERSION")));
        assert_eq!(r.environment, None);
        // The DSN is a credential: it stays out of the logged configuration.
        assert!(!format!("{c:?}").contains("abc123"));
    }

    #[test]
    fn environment_and_release_are_taken() {
        let c = load(&[
            ("SENTRY_DSN", DSN),
            ("SENTRY_ENVIRONMENT", "staging"),
            ("SENTRY_RELEASE", "auth@7"),
        ])
        .unwrap();
        let r = c.error_reporting.unwrap();
        assert_eq!(r.environment.as_deref(), Some("staging"));
        assert_eq!(r.release, "auth@7");
    }

    #[test]
    fn an_invalid_dsn_is_refused_with_what_it_must_be() {
        for bad in [
            "not a dsn",
            "https://o1.ingest.sentry.io/42",
            "ftp://key@host/1",
            "https://key@host/",
        ] {
            let e = load(&[("SENTRY_DSN", bad)]).expect_err(bad).to_string();
            assert!(e.contains("SENTRY_DSN must be the project's DSN"), "{bad}: {e}");
        }
    }

    #[test]
    fn companions_without_a_dsn_are_refused() {
        let e = load(&[("SENTRY_ENVIRONMENT", "production")]).unwrap_err().to_string();
        assert!(e.contains("SENTRY_ENVIRONMENT is set but SENTRY_DSN is not"), "{e}");
        let e = load(&[("SENTRY_RELEASE", "a/b"), ("SENTRY_DSN", DSN)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("SENTRY_RELEASE must be"), "{e}");
    }
}
