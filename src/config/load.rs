//! Reading settings: every variable, its default, and the message naming what it must be.

use super::load_lists::{parse_networks, parse_origins, parse_retention_days, rate_limits, url_list};
use super::providers::{oauth_app, oidc_providers, FACEBOOK_DEFAULTS, GITHUB_DEFAULTS};
use super::*;

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Reads settings through `lookup` (the environment in production, a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut r = Reader {
            lookup: &lookup,
            problems: Vec::new(),
        };
        let d = Config::default();
        let bind_addr = r.parse(
            "BIND_ADDR",
            d.bind_addr,
            "an address and port such as 127.0.0.1:8080",
            |v| v.parse::<SocketAddr>().ok(),
        );
        let public_url = r.parse(
            "PUBLIC_URL",
            default_public_url(bind_addr),
            "an absolute http(s) URL such as https://auth.example.com",
            |v| {
                Url::parse(v)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            },
        );
        let database_url = r.parse(
            "DATABASE_URL",
            d.database_url.expose_secret().to_string(),
            "sqlite://path/to/file.db or postgres://user:pass@host/db",
            |v| {
                (v.starts_with("sqlite:") || v.starts_with("postgres://") || v.starts_with("postgresql://"))
                    .then(|| v.to_string())
            },
        );
        let database_direct_url = r.optional(
            "DATABASE_DIRECT_URL",
            "postgres://user:pass@host/db, the same database as DATABASE_URL without the pooler",
            |v| (v.starts_with("postgres://") || v.starts_with("postgresql://")).then(|| v.to_string()),
        );
        if database_direct_url.is_some() && !database_url.starts_with("postgres") {
            r.problems.push(
                "DATABASE_DIRECT_URL is only for PostgreSQL: unset it, or set DATABASE_URL to the pooled postgres:// URL".into(),
            );
        }
        let smtp_url = r.optional(
            "SMTP_URL",
            "smtp://user:pass@host:587, smtps://host:465 or smtp://127.0.0.1:2525?tls=none",
            |v| crate::mail::smtp::SmtpSettings::parse(v).ok().map(|_| v.to_string()),
        );
        let redis_url = r.optional("REDIS_URL", "redis://host:6379 or rediss://host:6380", |v| {
            (v.starts_with("redis://") || v.starts_with("rediss://") || v.starts_with("redis+unix://"))
                .then(|| v.to_string())
        });
        let mail_from = r.parse(
            "MAIL_FROM",
            d.mail_from.clone(),
            "a mailbox such as \"Acme <no-reply@acme.com>\"",
            |v| v.parse::<lettre::message::Mailbox>().ok().map(|_| v.to_string()),
        );
        let mail = super::mail::mail_delivery(&mut r, smtp_url.is_some());
        let roles = Roles::from_settings(
            r.raw("ROLES").as_deref(),
            r.raw("ROLE_PERMISSIONS").as_deref(),
            r.raw("DEFAULT_ROLE").as_deref(),
        )
        .unwrap_or_else(|problems| {
            r.problems.extend(problems);
            Roles::default()
        });
        let mut config = Config {
            database_url: SecretString::from(database_url),
            database_direct_url: database_direct_url.map(SecretString::from),
            database_max_connections: r.parse(
                "DATABASE_MAX_CONNECTIONS",
                d.database_max_connections,
                "a whole number from 1 to 1000",
                |v| v.parse().ok().filter(|n| (1..=1000).contains(n)),
            ),
            redis_url: redis_url.map(SecretString::from),
            bind_addr,
            public_url,
            smtp_url: smtp_url.map(SecretString::from),
            mail,
            mail_from,
            app_name: r.parse("APP_NAME", d.app_name.clone(), "a short name shown in mails", |v| {
                (!v.trim().is_empty() && v.len() <= 64).then(|| v.trim().to_string())
            }),
            access_token_ttl: r.duration(
                "ACCESS_TOKEN_TTL",
                d.access_token_ttl,
                Duration::seconds(30),
                Duration::days(1),
            ),
            refresh_token_ttl: r.duration(
                "REFRESH_TOKEN_TTL",
                d.refresh_token_ttl,
                Duration::minutes(5),
                Duration::days(365),
            ),
            session_max_lifetime: r.duration(
                "SESSION_MAX_LIFETIME",
                d.session_max_lifetime,
                Duration::minutes(5),
                Duration::days(365),
            ),
            refresh_reuse_grace: r.duration(
                "REFRESH_REUSE_GRACE",
                d.refresh_reuse_grace,
                Duration::zero(),
                Duration::minutes(2),
            ),
            jwt_audience: r.parse("JWT_AUDIENCE", d.jwt_audience.clone(), "a non-empty string", |v| {
                (!v.trim().is_empty()).then(|| v.trim().to_string())
            }),
            min_age: r.parse("MIN_AGE", d.min_age, "a whole number of years from 0 to 120", |v| {
                v.parse().ok().filter(|n| *n <= 120)
            }),
            email_domain_check: r.parse("EMAIL_DOMAIN_CHECK", d.email_domain_check, "off or dns", |v| {
                match v.to_ascii_lowercase().as_str() {
                    "off" => Some(EmailDomainCheck::Off),
                    "dns" => Some(EmailDomainCheck::Dns),
                    _ => None,
                }
            }),
            password_require_composition: r.bool("PASSWORD_REQUIRE_COMPOSITION", d.password_require_composition),
            password_min_strength: r.parse(
                "PASSWORD_MIN_STRENGTH",
                d.password_min_strength,
                "a zxcvbn score from 0 to 4",
                |v| v.parse().ok().filter(|n| *n <= 4),
            ),
            verification_link_ttl: r.duration(
                "VERIFICATION_LINK_TTL",
                d.verification_link_ttl,
                Duration::minutes(5),
                Duration::days(7),
            ),
            verification_code_ttl: r.duration(
                "VERIFICATION_CODE_TTL",
                d.verification_code_ttl,
                Duration::minutes(1),
                Duration::hours(24),
            ),
            max_code_attempts: r.parse(
                "MAX_CODE_ATTEMPTS",
                d.max_code_attempts,
                "a whole number from 1 to 20",
                |v| v.parse().ok().filter(|n| (1..=20).contains(n)),
            ),
            password_hash_concurrency: r.parse(
                "PASSWORD_HASH_CONCURRENCY",
                d.password_hash_concurrency,
                "a whole number from 1 to 256",
                |v| v.parse().ok().filter(|n| (1..=256).contains(n)),
            ),
            log_format: r.parse("LOG_FORMAT", d.log_format, "pretty or json", |v| {
                match v.to_ascii_lowercase().as_str() {
                    "pretty" | "text" => Some(LogFormat::Pretty),
                    "json" => Some(LogFormat::Json),
                    _ => None,
                }
            }),
            reset_token_ttl: r.duration(
                "RESET_TOKEN_TTL",
                d.reset_token_ttl,
                Duration::minutes(1),
                Duration::hours(24),
            ),
            password_history: r.parse(
                "PASSWORD_HISTORY",
                d.password_history,
                "a whole number from 0 to 24 (0 turns the check off)",
                |v| v.parse().ok().filter(|n| *n <= 24),
            ),
            verify_email_url: r.optional_url("VERIFY_EMAIL_URL"),
            reset_password_url: r.optional_url("RESET_PASSWORD_URL"),
            confirm_email_change_url: r.optional_url("CONFIRM_EMAIL_CHANGE_URL"),
            roles,
            mfa_step_up_window: r.duration(
                "MFA_STEP_UP_WINDOW",
                d.mfa_step_up_window,
                Duration::minutes(1),
                Duration::hours(24),
            ),
            cors_allowed_origins: r.parse(
                "CORS_ALLOWED_ORIGINS",
                Vec::new(),
                "a comma-separated list of origins such as https://app.example.com,http://localhost:3000 (scheme, host and port only)",
                parse_origins,
            ),
            oidc_providers: oidc_providers(&mut r),
            oauth_success_url: r.optional_url("OAUTH_SUCCESS_URL"),
            oauth_redirect_allowlist: url_list(&mut r, "OAUTH_REDIRECT_ALLOWLIST"),
            rate_limits: rate_limits(&mut r, &d.rate_limits),
            trusted_proxies: r.parse(
                "TRUSTED_PROXIES",
                Vec::new(),
                "a comma-separated list of IP addresses or CIDR ranges, such as 10.0.0.0/8,127.0.0.1",
                parse_networks,
            ),
            lockout: crate::auth::lockout::LockoutSettings {
                threshold: r.parse(
                    "LOCKOUT_THRESHOLD",
                    d.lockout.threshold,
                    "a whole number of failed sign-ins from 1 to 100",
                    |v| v.parse().ok().filter(|n| (1..=100).contains(n)),
                ),
                account_threshold: r.parse(
                    "LOCKOUT_ACCOUNT_THRESHOLD",
                    d.lockout.account_threshold,
                    "a whole number of failed sign-ins from 1 to 10000",
                    |v| v.parse().ok().filter(|n| (1..=10_000).contains(n)),
                ),
                duration: r.duration(
                    "LOCKOUT_DURATION",
                    d.lockout.duration,
                    Duration::minutes(1),
                    Duration::days(1),
                ),
            },
            redis_key_prefix: r.parse(
                "REDIS_KEY_PREFIX",
                d.redis_key_prefix.clone(),
                "a short prefix of letters, digits and : _ - (such as gatehouse:)",
                |v| {
                    (v.len() <= 64
                        && v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-')))
                    .then(|| v.to_string())
                },
            ),
            github: oauth_app(&mut r, &GITHUB_DEFAULTS),
            facebook: oauth_app(&mut r, &FACEBOOK_DEFAULTS),
            refresh_token_cookie: r.bool("REFRESH_TOKEN_COOKIE", d.refresh_token_cookie),
            audit_retention: r.parse(
                "AUDIT_RETENTION_DAYS",
                d.audit_retention,
                "a whole number of days from 1 to 36500, or 0 or off to keep audit events forever",
                parse_retention_days,
            ),
            audit_export_path: r.raw("AUDIT_EXPORT_PATH").map(std::path::PathBuf::from),
            single_session: r.bool("SINGLE_SESSION", d.single_session),
            new_device_alerts: r.bool("NEW_DEVICE_ALERTS", d.new_device_alerts),
            welcome_mail: r.bool("WELCOME_MAIL", d.welcome_mail),
            auth_cache: r.bool("AUTH_CACHE", d.auth_cache),
            mail_log_only: r.bool("MAIL_LOG_ONLY", d.mail_log_only),
            key_encryption_key: r
                .optional(
                    "KEY_ENCRYPTION_KEY",
                    "32 random bytes in base64 (make one with: openssl rand -base64 32)",
                    |v| crate::auth::key_encryption::parse_key(v).map(|_| v.to_string()),
                )
                .map(SecretString::from),
            key_encryption_key_previous: r
                .optional(
                    "KEY_ENCRYPTION_KEY_PREVIOUS",
                    "the earlier KEY_ENCRYPTION_KEY (32 bytes in base64)",
                    |v| crate::auth::key_encryption::parse_key(v).map(|_| v.to_string()),
                )
                .map(SecretString::from),
            http_header_timeout: r.duration(
                "HTTP_HEADER_TIMEOUT",
                d.http_header_timeout,
                Duration::seconds(1),
                Duration::minutes(5),
            ),
            http_request_timeout: r.duration(
                "HTTP_REQUEST_TIMEOUT",
                d.http_request_timeout,
                Duration::seconds(1),
                Duration::minutes(10),
            ),
            metrics_token: r
                .optional("METRICS_TOKEN", "at least 16 characters without spaces", |v| {
                    (v.len() >= 16 && !v.contains(char::is_whitespace)).then(|| v.to_string())
                })
                .map(SecretString::from),
            error_reporting: super::error_reporting::error_reporting(&mut r),
            ui: super::ui::UiSettings::default(),
            passkeys: super::passkeys::PasskeySettings::from_public_url(&d.public_url, &d.app_name),
        };
        config.ui = super::ui::ui_settings(&mut r, &config.cors_allowed_origins);
        config.passkeys = super::passkeys::passkey_settings(&mut r, &config.public_url, &config.app_name);
        if config.refresh_token_cookie && !config.cookies_are_secure() && !config.is_loopback() {
            r.problems.push(
                "REFRESH_TOKEN_COOKIE=true needs an https PUBLIC_URL (a refresh token must not travel in clear text); plain http is accepted only for localhost".into(),
            );
        }
        if config.mail_providers().is_empty() && !config.is_loopback() && !config.mail_log_only {
            r.problems.push(format!(
                "no mail provider is set and PUBLIC_URL ({}) is not this machine: mails would be written to the log, reset links and codes included, instead of reaching users. Set SMTP_URL (smtp://user:pass@host:587) or MAIL_PROVIDERS (ses, sendgrid) with their settings, or MAIL_LOG_ONLY=true for a development deployment",
                config.public_url
            ));
        }
        for builtin in ["github", "facebook"] {
            if config.oidc_providers.iter().any(|p| p.name == builtin) {
                r.problems.push(format!(
                    "OIDC_PROVIDERS must not list {builtin}: it is built in (not OpenID Connect); set {}_CLIENT_ID and {}_CLIENT_SECRET instead",
                    builtin.to_ascii_uppercase(),
                    builtin.to_ascii_uppercase()
                ));
            }
        }
        if config.refresh_token_ttl > config.session_max_lifetime {
            r.problems.push(format!(
                "REFRESH_TOKEN_TTL ({}s) must not be longer than SESSION_MAX_LIFETIME ({}s)",
                config.refresh_token_ttl.num_seconds(),
                config.session_max_lifetime.num_seconds()
            ));
        }
        if r.problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError(r.problems))
        }
    }
}

pub(super) struct Reader<'a> {
    pub(super) lookup: &'a dyn Fn(&str) -> Option<String>,
    pub(super) problems: Vec<String>,
}

impl Reader<'_> {
    pub(super) fn raw(&self, key: &str) -> Option<String> {
        (self.lookup)(key)
            .filter(|v| !v.trim().is_empty())
            .map(|v| v.trim().to_string())
    }

    pub(super) fn parse<T>(&mut self, key: &str, default: T, expected: &str, parse: impl Fn(&str) -> Option<T>) -> T {
        match self.raw(key) {
            None => default,
            Some(v) => parse(&v).unwrap_or_else(|| {
                self.problems.push(format!("{key} must be {expected}"));
                default
            }),
        }
    }

    pub(super) fn optional(
        &mut self,
        key: &str,
        expected: &str,
        parse: impl Fn(&str) -> Option<String>,
    ) -> Option<String> {
        let v = self.raw(key)?;
        match parse(&v) {
            Some(v) => Some(v),
            None => {
                self.problems.push(format!("{key} must be {expected}"));
                None
            }
        }
    }

    pub(super) fn optional_url(&mut self, key: &str) -> Option<Url> {
        self.optional_http_url(key, "https://app.example.com/reset-password")
    }

    /// An absolute http(s) URL with a host; `example` is shown in the message when it is not.
    pub(super) fn optional_http_url(&mut self, key: &str, example: &str) -> Option<Url> {
        self.optional(key, &format!("an absolute http(s) URL such as {example}"), |v| {
            Url::parse(v)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                .map(|_| v.to_string())
        })
        .and_then(|v| Url::parse(&v).ok())
    }

    pub(super) fn bool(&mut self, key: &str, default: bool) -> bool {
        self.parse(key, default, "true or false", |v| {
            match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Some(true),
                "false" | "0" | "no" | "off" => Some(false),
                _ => None,
            }
        })
    }

    pub(super) fn duration(&mut self, key: &str, default: Duration, min: Duration, max: Duration) -> Duration {
        let expected = format!(
            "a duration such as 90s, 15m, 12h or 7d (from {} to {})",
            humanize(min),
            humanize(max)
        );
        self.parse(key, default, &expected, |v| {
            parse_duration(v).filter(|d| *d >= min && *d <= max)
        })
    }
}
