//! Every setting gatehouse reads, in one typed struct.
//!
//! `Config::default()` is the embedded mode a newcomer gets from `cargo run --release`: loopback
//! only, SQLite file in the working directory, in-memory limits, and a mailer that writes mail to
//! the log. Environment variables (and a `.env` file, loaded by `main`) override it. Problems are
//! collected, not reported one at a time: start-up stops with every bad setting named at once.
//! Secrets are `SecretString`, so `Debug` on the whole struct is safe to log at start.

use crate::domain::Roles;
use chrono::Duration;
use secrecy::{ExposeSecret, SecretString};
use std::net::SocketAddr;
use url::Url;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailDomainCheck {
    /// Accept any syntactically valid domain (works offline; the default).
    Off,
    /// Require the domain to have MX, A or AAAA records.
    Dns,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: SecretString,
    pub database_max_connections: u32,
    pub redis_url: Option<SecretString>,
    pub bind_addr: SocketAddr,
    pub public_url: Url,
    pub smtp_url: Option<SecretString>,
    pub mail_from: String,
    pub app_name: String,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// Absolute lifetime of a login (refresh family), however often it is refreshed.
    pub session_max_lifetime: Duration,
    /// How long a just-rotated refresh token may be presented again and get the same new pair.
    pub refresh_reuse_grace: Duration,
    pub jwt_audience: String,
    pub min_age: u32,
    pub email_domain_check: EmailDomainCheck,
    pub password_require_composition: bool,
    pub password_min_strength: u8,
    pub verification_link_ttl: Duration,
    pub verification_code_ttl: Duration,
    /// Wrong guesses allowed on one emailed code before it is destroyed.
    pub max_code_attempts: u32,
    /// Argon2 hashes allowed to run at once (each holds ~19 MiB).
    pub password_hash_concurrency: usize,
    pub log_format: LogFormat,
    /// Lifetime of a password-reset link.
    pub reset_token_ttl: Duration,
    /// How many recent passwords (the current one included) a new password must differ from.
    pub password_history: u32,
    /// Where the links in mails point. Unset: gatehouse's own pages under `PUBLIC_URL`.
    /// Set them to a front end's pages (e.g. `https://app.example.com/verify`) which read the
    /// `token` query parameter and call the API.
    pub verify_email_url: Option<Url>,
    pub reset_password_url: Option<Url>,
    /// `ROLES`, `ROLE_PERMISSIONS`, `DEFAULT_ROLE`: the roles users can have and what each may do.
    pub roles: Roles,
    /// How recent an MFA user's second factor must be for sensitive changes (step-up).
    pub mfa_step_up_window: Duration,
    /// `CORS_ALLOWED_ORIGINS`: browser origins (e.g. a Next.js front end) allowed to call the
    /// API from JavaScript. Empty (the default): no cross-origin access at all.
    pub cors_allowed_origins: Vec<String>,
    /// `OIDC_PROVIDERS` (names) and `OIDC_<NAME>_ISSUER`, `_CLIENT_ID`, `_CLIENT_SECRET`,
    /// `_SCOPES`: the OpenID Connect providers offered for social login.
    pub oidc_providers: Vec<OidcProviderSettings>,
    /// Where a finished social login sends the browser, with `?code=` for `/api/auth/oauth/exchange`.
    pub oauth_success_url: Option<Url>,
    /// `redirect_to` values honoured at `/api/auth/oauth/{provider}` (origin + path prefix).
    pub oauth_redirect_allowlist: Vec<Url>,
    /// `RATE_LIMIT_LOGIN`, `_REGISTER`, `_PASSWORD_RESET`, `_EMAIL`, `_PER_IP` (`5/minute`, `off`).
    pub rate_limits: crate::ratelimit::RateLimitSettings,
    /// `TRUSTED_PROXIES`: addresses or CIDR ranges of the reverse proxies in front of gatehouse.
    /// Only a request from one of them may name the client in `X-Forwarded-For`; otherwise the
    /// socket's peer is the client (so nobody can dodge a rate limit by sending the header).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `LOCKOUT_THRESHOLD`, `LOCKOUT_ACCOUNT_THRESHOLD`, `LOCKOUT_DURATION`.
    pub lockout: crate::auth::lockout::LockoutSettings,
    /// `REDIS_KEY_PREFIX`: prepended to every Redis key, so several deployments can share one Redis.
    pub redis_key_prefix: String,
    /// `GITHUB_CLIENT_ID`, `_CLIENT_SECRET`, `_SCOPES`, `GITHUB_URL`, `GITHUB_API_URL`: sign-in
    /// with a GitHub OAuth App (OAuth 2.0, not OIDC). `None`: GitHub is not offered.
    pub github: Option<OAuthAppSettings>,
    /// `FACEBOOK_CLIENT_ID` (the app id), `_CLIENT_SECRET`, `_SCOPES`, `FACEBOOK_URL`,
    /// `FACEBOOK_GRAPH_URL`: Facebook Login. `None`: Facebook is not offered.
    pub facebook: Option<OAuthAppSettings>,
    /// `REFRESH_TOKEN_COOKIE`: hand browsers the refresh token as an HttpOnly cookie (with a
    /// CSRF token to echo in `X-CSRF-Token`) instead of in the JSON body. Off by default.
    pub refresh_token_cookie: bool,
    // --- issue 5: admin API, audit retention, single session, metrics ---
    /// `AUDIT_RETENTION_DAYS`: audit events older than this are removed by the retention job.
    /// `None` (`0` or `off`) keeps them forever.
    pub audit_retention: Option<Duration>,
    /// `AUDIT_EXPORT_PATH`: a file that events are appended to (JSON Lines, fsynced) before the
    /// retention job deletes them. Unset: old events are deleted without a copy.
    pub audit_export_path: Option<std::path::PathBuf>,
    /// `SINGLE_SESSION`: each successful sign-in ends the user's other sessions (seeds 001, 004).
    pub single_session: bool,
    /// `METRICS_TOKEN`: when set, `/metrics` needs `Authorization: Bearer <token>`. Unset, it is
    /// open, so it must only be reachable from the internal network.
    pub metrics_token: Option<SecretString>,
}

/// A plain OAuth 2.0 provider with its own profile API (GitHub, Facebook). The two base URLs are
/// settings so GitHub Enterprise Server (or a test stand-in) can be used instead.
#[derive(Debug, Clone)]
pub struct OAuthAppSettings {
    pub client_id: String,
    pub client_secret: SecretString,
    pub scopes: Vec<String>,
    /// Where the browser signs in: `https://github.com`, `https://www.facebook.com/v19.0`.
    pub web_url: Url,
    /// The API the server calls: `https://api.github.com`, `https://graph.facebook.com/v19.0`.
    pub api_url: Url,
}

impl OAuthAppSettings {
    /// `web_url` + `path`, keeping any base path (a GitHub Enterprise `/api/v3`, a Graph version).
    pub fn web(&self, path: &str) -> String {
        join(&self.web_url, path)
    }

    pub fn api(&self, path: &str) -> String {
        join(&self.api_url, path)
    }
}

fn join(base: &Url, path: &str) -> String {
    format!("{}{path}", base.as_str().trim_end_matches('/'))
}

/// One generic OpenID Connect provider (discovery at `<issuer>/.well-known/openid-configuration`).
#[derive(Debug, Clone)]
pub struct OidcProviderSettings {
    /// Lower-case name used in `/api/auth/oauth/{name}`.
    pub name: String,
    pub issuer: Url,
    pub client_id: String,
    pub client_secret: SecretString,
    pub scopes: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        let bind_addr: SocketAddr = ([127, 0, 0, 1], 8080).into();
        Self {
            database_url: SecretString::from("sqlite://gatehouse.db"),
            database_max_connections: 10,
            redis_url: None,
            bind_addr,
            public_url: default_public_url(bind_addr),
            smtp_url: None,
            mail_from: "gatehouse <no-reply@localhost>".into(),
            app_name: "gatehouse".into(),
            access_token_ttl: Duration::minutes(15),
            refresh_token_ttl: Duration::days(7),
            session_max_lifetime: Duration::days(30),
            refresh_reuse_grace: Duration::seconds(10),
            jwt_audience: "gatehouse".into(),
            min_age: 13,
            email_domain_check: EmailDomainCheck::Off,
            password_require_composition: false,
            password_min_strength: 3,
            verification_link_ttl: Duration::hours(24),
            verification_code_ttl: Duration::minutes(15),
            max_code_attempts: 5,
            password_hash_concurrency: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            log_format: LogFormat::Pretty,
            reset_token_ttl: Duration::minutes(15),
            password_history: 5,
            verify_email_url: None,
            reset_password_url: None,
            roles: Roles::default(),
            mfa_step_up_window: Duration::minutes(10),
            cors_allowed_origins: Vec::new(),
            oidc_providers: Vec::new(),
            oauth_success_url: None,
            oauth_redirect_allowlist: Vec::new(),
            rate_limits: crate::ratelimit::RateLimitSettings::default(),
            trusted_proxies: Vec::new(),
            lockout: crate::auth::lockout::LockoutSettings::default(),
            redis_key_prefix: "gatehouse:".into(),
            github: None,
            facebook: None,
            refresh_token_cookie: false,
            audit_retention: Some(Duration::days(90)),
            audit_export_path: None,
            single_session: false,
            metrics_token: None,
        }
    }
}

fn default_public_url(bind: SocketAddr) -> Url {
    let host = if bind.ip().is_unspecified() {
        "localhost".to_string()
    } else {
        bind.ip().to_string()
    };
    Url::parse(&format!("http://{host}:{}", bind.port()))
        .unwrap_or_else(|_| Url::parse("http://localhost:8080").unwrap_or_else(|_| unreachable!()))
}

/// Google needs no issuer setting: this is its well-known one.
const GOOGLE_ISSUER: &str = "https://accounts.google.com";

fn oidc_providers(r: &mut Reader<'_>) -> Vec<OidcProviderSettings> {
    let names = r.raw("OIDC_PROVIDERS").unwrap_or_default();
    let mut providers = Vec::new();
    for name in names
        .split(',')
        .map(|n| n.trim().to_ascii_lowercase())
        .filter(|n| !n.is_empty())
    {
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            r.problems.push(format!(
                "OIDC_PROVIDERS must list names made of letters, digits and _ (got {name:?})"
            ));
            continue;
        }
        let key = |suffix: &str| format!("OIDC_{}_{suffix}", name.to_ascii_uppercase());
        let default_issuer = (name == "google").then(|| GOOGLE_ISSUER.to_string());
        let issuer = match r.raw(&key("ISSUER")).or(default_issuer).map(|v| Url::parse(&v)) {
            Some(Ok(u)) if matches!(u.scheme(), "http" | "https") => Some(u),
            _ => {
                r.problems.push(format!(
                    "{} must be the provider's issuer URL, such as https://accounts.google.com",
                    key("ISSUER")
                ));
                None
            }
        };
        let client_id = r.raw(&key("CLIENT_ID")).filter(|v| !v.trim().is_empty());
        if client_id.is_none() {
            r.problems.push(format!(
                "{} must be the client id from the provider's console",
                key("CLIENT_ID")
            ));
        }
        let client_secret = r.raw(&key("CLIENT_SECRET")).filter(|v| !v.trim().is_empty());
        if client_secret.is_none() {
            r.problems.push(format!(
                "{} must be the client secret from the provider's console",
                key("CLIENT_SECRET")
            ));
        }
        let scopes = r
            .raw(&key("SCOPES"))
            .unwrap_or_else(|| "openid email profile".into())
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if let (Some(issuer), Some(client_id), Some(secret)) = (issuer, client_id, client_secret) {
            providers.push(OidcProviderSettings {
                name,
                issuer,
                client_id,
                client_secret: SecretString::from(secret),
                scopes,
            });
        }
    }
    providers
}

/// The setting names and documented defaults of one built-in OAuth 2.0 provider.
struct OAuthAppDefaults {
    prefix: &'static str,
    scopes: &'static str,
    web_url: &'static str,
    /// The name of the API base URL setting after the prefix (`API_URL`, `GRAPH_URL`).
    api_setting: &'static str,
    api_url: &'static str,
}

/// `read:user` for the numeric id, `user:email` for `/user/emails` (the verified flags).
const GITHUB_DEFAULTS: OAuthAppDefaults = OAuthAppDefaults {
    prefix: "GITHUB",
    scopes: "read:user user:email",
    web_url: "https://github.com",
    api_setting: "API_URL",
    api_url: "https://api.github.com",
};

/// Graph API v19.0, the version the integration was written and tested against.
const FACEBOOK_DEFAULTS: OAuthAppDefaults = OAuthAppDefaults {
    prefix: "FACEBOOK",
    scopes: "email public_profile",
    web_url: "https://www.facebook.com/v19.0",
    api_setting: "GRAPH_URL",
    api_url: "https://graph.facebook.com/v19.0",
};

/// A built-in provider is offered exactly when its client id and secret are both set.
fn oauth_app(r: &mut Reader<'_>, d: &OAuthAppDefaults) -> Option<OAuthAppSettings> {
    let key = |suffix: &str| format!("{}_{suffix}", d.prefix);
    let client_id = r.raw(&key("CLIENT_ID"));
    let client_secret = r.raw(&key("CLIENT_SECRET"));
    let url = |r: &mut Reader<'_>, name: &str, default: &str| {
        r.parse(&key(name), Url::parse(default).ok(), "an absolute http(s) URL", |v| {
            Url::parse(v)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                .map(Some)
        })
    };
    let web_url = url(r, "URL", d.web_url);
    let api_url = url(r, d.api_setting, d.api_url);
    match (client_id, client_secret) {
        (None, None) => None,
        (Some(client_id), Some(secret)) => Some(OAuthAppSettings {
            client_id,
            client_secret: SecretString::from(secret),
            scopes: r
                .raw(&key("SCOPES"))
                .unwrap_or_else(|| d.scopes.to_string())
                .split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            web_url: web_url?,
            api_url: api_url?,
        }),
        (id, _) => {
            let missing = if id.is_none() { "CLIENT_ID" } else { "CLIENT_SECRET" };
            r.problems.push(format!(
                "{} must be set too (from the provider's console) when {} is set",
                key(missing),
                key(if id.is_none() { "CLIENT_SECRET" } else { "CLIENT_ID" })
            ));
            None
        }
    }
}

fn url_list(r: &mut Reader<'_>, key: &str) -> Vec<Url> {
    let mut urls = Vec::new();
    for item in r
        .raw(key)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        match Url::parse(item) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => urls.push(u),
            _ => r.problems.push(format!(
                "{key} must be a comma-separated list of absolute http(s) URLs (got {item:?})"
            )),
        }
    }
    urls
}

fn rate_limits(r: &mut Reader<'_>, d: &crate::ratelimit::RateLimitSettings) -> crate::ratelimit::RateLimitSettings {
    let mut rate = |key: &str, default: Option<crate::ratelimit::Rate>| {
        r.parse(
            key,
            default,
            "a rate such as 5/minute, 3/hour, 100/day or 10/30s, or off",
            |v| crate::ratelimit::Rate::parse(v).ok(),
        )
    };
    crate::ratelimit::RateLimitSettings {
        login: rate("RATE_LIMIT_LOGIN", d.login),
        register: rate("RATE_LIMIT_REGISTER", d.register),
        password_reset: rate("RATE_LIMIT_PASSWORD_RESET", d.password_reset),
        email: rate("RATE_LIMIT_EMAIL", d.email),
        per_ip: rate("RATE_LIMIT_PER_IP", d.per_ip),
    }
}

/// `10.0.0.0/8, 127.0.0.1, ::1` → networks (a bare address is a one-address network).
fn parse_networks(raw: &str) -> Option<Vec<ipnet::IpNet>> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .ok()
                .or_else(|| item.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
        })
        .collect()
}

/// Every problem found in the settings, each naming the variable and the expected form.
#[derive(Debug, thiserror::Error)]
#[error("invalid settings:\n  - {}", .0.join("\n  - "))]
pub struct ConfigError(pub Vec<String>);

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
        let roles = Roles::from_settings(
            r.raw("ROLES").as_deref(),
            r.raw("ROLE_PERMISSIONS").as_deref(),
            r.raw("DEFAULT_ROLE").as_deref(),
        )
        .unwrap_or_else(|problems| {
            r.problems.extend(problems);
            Roles::default()
        });
        let config = Config {
            database_url: SecretString::from(database_url),
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
            metrics_token: r
                .optional("METRICS_TOKEN", "at least 16 characters without spaces", |v| {
                    (v.len() >= 16 && !v.contains(char::is_whitespace)).then(|| v.to_string())
                })
                .map(SecretString::from),
        };
        if config.refresh_token_cookie && !config.cookies_are_secure() && !config.is_loopback() {
            r.problems.push(
                "REFRESH_TOKEN_COOKIE=true needs an https PUBLIC_URL (a refresh token must not travel in clear text); plain http is accepted only for localhost".into(),
            );
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

    /// The password policy the settings ask for (registration, reset and change share it).
    pub fn password_rules(&self) -> crate::domain::PasswordRules {
        crate::domain::PasswordRules {
            require_composition: self.password_require_composition,
            min_strength: self.password_min_strength,
            ..crate::domain::PasswordRules::default()
        }
    }

    /// Cookies get `Secure` whenever users reach gatehouse over https.
    pub fn cookies_are_secure(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// `PUBLIC_URL` is this machine (development: `http://localhost:8080`).
    pub fn is_loopback(&self) -> bool {
        match self.public_url.host() {
            Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.database_url.expose_secret().starts_with("postgres")
    }

    /// The JWT `iss`: the public base URL without a trailing slash.
    pub fn issuer(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_string()
    }

    /// An absolute link under `PUBLIC_URL` — never built from request headers (link poisoning).
    /// The link for a mail: the front end's page if one is configured, else ours.
    pub fn mail_link(&self, front_end: Option<&Url>, path: &str, query: &[(&str, &str)]) -> String {
        match front_end {
            Some(url) => {
                let mut url = url.clone();
                url.query_pairs_mut().extend_pairs(query);
                url.to_string()
            }
            None => self.public_link(path, query),
        }
    }

    pub fn public_link(&self, path: &str, query: &[(&str, &str)]) -> String {
        let mut url = self.public_url.clone();
        let base = url.path().trim_end_matches('/').to_string();
        url.set_path(&format!("{base}{path}"));
        if !query.is_empty() {
            url.query_pairs_mut().clear().extend_pairs(query);
        }
        url.to_string()
    }
}

struct Reader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    problems: Vec<String>,
}

impl Reader<'_> {
    fn raw(&self, key: &str) -> Option<String> {
        (self.lookup)(key)
            .filter(|v| !v.trim().is_empty())
            .map(|v| v.trim().to_string())
    }

    fn parse<T>(&mut self, key: &str, default: T, expected: &str, parse: impl Fn(&str) -> Option<T>) -> T {
        match self.raw(key) {
            None => default,
            Some(v) => parse(&v).unwrap_or_else(|| {
                self.problems.push(format!("{key} must be {expected}"));
                default
            }),
        }
    }

    fn optional(&mut self, key: &str, expected: &str, parse: impl Fn(&str) -> Option<String>) -> Option<String> {
        let v = self.raw(key)?;
        match parse(&v) {
            Some(v) => Some(v),
            None => {
                self.problems.push(format!("{key} must be {expected}"));
                None
            }
        }
    }

    fn optional_url(&mut self, key: &str) -> Option<Url> {
        self.optional(
            key,
            "an absolute http(s) URL such as https://app.example.com/reset-password",
            |v| {
                Url::parse(v)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https"))
                    .map(|_| v.to_string())
            },
        )
        .and_then(|v| Url::parse(&v).ok())
    }

    fn bool(&mut self, key: &str, default: bool) -> bool {
        self.parse(key, default, "true or false", |v| {
            match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Some(true),
                "false" | "0" | "no" | "off" => Some(false),
                _ => None,
            }
        })
    }

    fn duration(&mut self, key: &str, default: Duration, min: Duration, max: Duration) -> Duration {
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

/// `https://app.example.com, http://localhost:3000` → the origins as browsers send them.
fn parse_origins(raw: &str) -> Option<Vec<String>> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|o| {
            let url = Url::parse(o).ok()?;
            let plain = matches!(url.scheme(), "http" | "https")
                && url.host().is_some()
                && url.path() == "/"
                && url.query().is_none()
                && url.username().is_empty();
            // `Url` adds a trailing slash; an Origin header never has one.
            plain.then(|| url.as_str().trim_end_matches('/').to_string())
        })
        .collect()
}

/// `AUDIT_RETENTION_DAYS`: `Some(None)` keeps events forever (`0`, `off`), `Some(Some(days))`.
fn parse_retention_days(raw: &str) -> Option<Option<Duration>> {
    let raw = raw.trim().to_ascii_lowercase();
    if raw == "off" || raw == "0" {
        return Some(None);
    }
    let days: i64 = raw.parse().ok().filter(|d| (1..=36_500).contains(d))?;
    Some(Some(Duration::days(days)))
}

/// Parses `90`, `90s`, `15m`, `12h`, `7d` (a bare number is seconds).
pub fn parse_duration(raw: &str) -> Option<Duration> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (digits, unit) = raw.split_at(split);
    let n: i64 = digits.parse().ok()?;
    let seconds = match unit.trim() {
        "" | "s" => n,
        "m" | "min" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    Duration::try_seconds(seconds)
}

pub fn humanize(d: Duration) -> String {
    let s = d.num_seconds();
    match s {
        0 => "0s".into(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_the_embedded_mode() {
        let c = load(&[]).unwrap();
        assert_eq!(c.bind_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url.expose_secret(), "sqlite://gatehouse.db");
        assert_eq!(c.access_token_ttl, Duration::minutes(15));
        assert_eq!(c.refresh_token_ttl, Duration::days(7));
        assert_eq!(c.min_age, 13);
        assert!(c.smtp_url.is_none());
        assert_eq!(c.public_url.as_str(), "http://127.0.0.1:8080/");
    }

    #[test]
    fn mfa_step_up_window_defaults_to_ten_minutes() {
        assert_eq!(load(&[]).unwrap().mfa_step_up_window, Duration::minutes(10));
        assert_eq!(
            load(&[("MFA_STEP_UP_WINDOW", "5m")]).unwrap().mfa_step_up_window,
            Duration::minutes(5)
        );
        assert!(load(&[("MFA_STEP_UP_WINDOW", "2s")]).is_err());
    }

    #[test]
    fn every_bad_setting_is_named() {
        let err = load(&[
            ("BIND_ADDR", "nowhere"),
            ("ACCESS_TOKEN_TTL", "15 fortnights"),
            ("MIN_AGE", "-3"),
            ("SMTP_URL", "ftp://x"),
        ])
        .unwrap_err();
        let text = err.to_string();
        for key in ["BIND_ADDR", "ACCESS_TOKEN_TTL", "MIN_AGE", "SMTP_URL"] {
            assert!(text.contains(key), "{key} missing from {text}");
        }
    }

    #[test]
    fn protection_settings_load_and_bad_ones_are_named() {
        let c = load(&[
            ("RATE_LIMIT_LOGIN", "10/minute"),
            ("RATE_LIMIT_PER_IP", "off"),
            ("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1"),
            ("LOCKOUT_DURATION", "15m"),
        ])
        .unwrap();
        assert_eq!(c.rate_limits.login, Some(crate::ratelimit::Rate::per_minute(10)));
        assert_eq!(c.rate_limits.per_ip, None);
        assert_eq!(c.rate_limits.register, Some(crate::ratelimit::Rate::per_minute(3)));
        assert_eq!(c.trusted_proxies.len(), 2);
        assert_eq!(c.lockout.duration, Duration::minutes(15));
        assert_eq!(c.lockout.threshold, 5);
        let text = load(&[
            ("RATE_LIMIT_REGISTER", "3 per minute"),
            ("TRUSTED_PROXIES", "proxy.internal"),
            ("LOCKOUT_THRESHOLD", "0"),
        ])
        .unwrap_err()
        .to_string();
        for key in ["RATE_LIMIT_REGISTER", "TRUSTED_PROXIES", "LOCKOUT_THRESHOLD"] {
            assert!(text.contains(key), "{key} missing from {text}");
        }
    }

    #[test]
    fn cors_origins_are_plain_origins() {
        let c = load(&[("CORS_ALLOWED_ORIGINS", "https://app.example.com, http://localhost:3000")]).unwrap();
        assert_eq!(
            c.cors_allowed_origins,
            vec!["https://app.example.com", "http://localhost:3000"]
        );
        assert!(load(&[("CORS_ALLOWED_ORIGINS", "https://app.example.com/login")])
            .unwrap_err()
            .to_string()
            .contains("CORS_ALLOWED_ORIGINS"));
        assert!(load(&[("CORS_ALLOWED_ORIGINS", "*")]).is_err());
    }

    #[test]
    fn oidc_providers_load_and_google_needs_no_issuer() {
        let c = load(&[
            ("OIDC_PROVIDERS", "google, Corp"),
            ("OIDC_GOOGLE_CLIENT_ID", "gid"),
            ("OIDC_GOOGLE_CLIENT_SECRET", "gsecret"),
            ("OIDC_CORP_ISSUER", "https://id.corp.example"),
            ("OIDC_CORP_CLIENT_ID", "cid"),
            ("OIDC_CORP_CLIENT_SECRET", "csecret"),
            ("OIDC_CORP_SCOPES", "openid email"),
            (
                "OAUTH_REDIRECT_ALLOWLIST",
                "https://app.example/a, https://app.example/b",
            ),
        ])
        .unwrap();
        assert_eq!(c.oidc_providers.len(), 2);
        assert_eq!(c.oidc_providers[0].issuer.as_str(), "https://accounts.google.com/");
        assert_eq!(c.oidc_providers[1].name, "corp");
        assert_eq!(c.oidc_providers[1].scopes, ["openid", "email"]);
        assert_eq!(c.oauth_redirect_allowlist.len(), 2);
        assert!(!format!("{c:?}").contains("csecret"), "client secrets must not print");
    }

    #[test]
    fn an_incomplete_oidc_provider_is_named() {
        let text = load(&[("OIDC_PROVIDERS", "corp"), ("OAUTH_REDIRECT_ALLOWLIST", "not a url")])
            .unwrap_err()
            .to_string();
        for key in [
            "OIDC_CORP_ISSUER",
            "OIDC_CORP_CLIENT_ID",
            "OIDC_CORP_CLIENT_SECRET",
            "OAUTH_REDIRECT_ALLOWLIST",
        ] {
            assert!(text.contains(key), "{key} missing from {text}");
        }
    }

    #[test]
    fn github_and_facebook_are_offered_only_with_both_credentials() {
        let c = load(&[]).unwrap();
        assert!(c.github.is_none() && c.facebook.is_none());
        let c = load(&[
            ("GITHUB_CLIENT_ID", "gh"),
            ("GITHUB_CLIENT_SECRET", "ghsecret"),
            ("GITHUB_URL", "https://git.corp.example"),
            ("GITHUB_API_URL", "https://git.corp.example/api/v3"),
            ("FACEBOOK_CLIENT_ID", "fb"),
            ("FACEBOOK_CLIENT_SECRET", "fbsecret"),
        ])
        .unwrap();
        let gh = c.github.as_ref().unwrap();
        assert_eq!(gh.scopes, ["read:user", "user:email"]);
        assert_eq!(
            gh.web("/login/oauth/authorize"),
            "https://git.corp.example/login/oauth/authorize"
        );
        assert_eq!(gh.api("/user"), "https://git.corp.example/api/v3/user");
        let fb = c.facebook.as_ref().unwrap();
        assert_eq!(fb.web("/dialog/oauth"), "https://www.facebook.com/v19.0/dialog/oauth");
        assert_eq!(fb.api("/me"), "https://graph.facebook.com/v19.0/me");
        assert!(!format!("{c:?}").contains("fbsecret"), "client secrets must not print");
        let text = load(&[("GITHUB_CLIENT_ID", "gh"), ("FACEBOOK_GRAPH_URL", "nope")])
            .unwrap_err()
            .to_string();
        assert!(text.contains("GITHUB_CLIENT_SECRET"), "{text}");
        assert!(text.contains("FACEBOOK_GRAPH_URL"), "{text}");
        let text = load(&[
            ("OIDC_PROVIDERS", "github"),
            ("OIDC_GITHUB_ISSUER", "https://github.com"),
            ("OIDC_GITHUB_CLIENT_ID", "x"),
            ("OIDC_GITHUB_CLIENT_SECRET", "y"),
        ])
        .unwrap_err()
        .to_string();
        assert!(text.contains("OIDC_PROVIDERS must not list github"), "{text}");
    }

    #[test]
    fn refresh_token_cookies_need_https_except_on_localhost() {
        assert!(!load(&[]).unwrap().refresh_token_cookie);
        assert!(load(&[("REFRESH_TOKEN_COOKIE", "true")]).unwrap().refresh_token_cookie);
        let text = load(&[
            ("REFRESH_TOKEN_COOKIE", "true"),
            ("PUBLIC_URL", "http://auth.example.com"),
        ])
        .unwrap_err()
        .to_string();
        assert!(text.contains("REFRESH_TOKEN_COOKIE"), "{text}");
        assert!(load(&[
            ("REFRESH_TOKEN_COOKIE", "true"),
            ("PUBLIC_URL", "https://auth.example.com")
        ])
        .is_ok());
    }

    #[test]
    fn audit_retention_is_days_or_off() {
        assert_eq!(load(&[]).unwrap().audit_retention, Some(Duration::days(90)));
        assert_eq!(
            load(&[("AUDIT_RETENTION_DAYS", "30")]).unwrap().audit_retention,
            Some(Duration::days(30))
        );
        assert_eq!(load(&[("AUDIT_RETENTION_DAYS", "0")]).unwrap().audit_retention, None);
        assert_eq!(load(&[("AUDIT_RETENTION_DAYS", "OFF")]).unwrap().audit_retention, None);
        for bad in ["-1", "90d", "forever", "36501"] {
            let text = load(&[("AUDIT_RETENTION_DAYS", bad)]).unwrap_err().to_string();
            assert!(
                text.contains("AUDIT_RETENTION_DAYS must be a whole number of days"),
                "{text}"
            );
        }
    }

    #[test]
    fn single_session_is_off_and_metrics_open_by_default() {
        let c = load(&[]).unwrap();
        assert!(!c.single_session);
        assert!(c.metrics_token.is_none());
        let c = load(&[("SINGLE_SESSION", "true"), ("METRICS_TOKEN", "a-long-scrape-token")]).unwrap();
        assert!(c.single_session);
        assert!(
            !format!("{c:?}").contains("a-long-scrape-token"),
            "the token must not print"
        );
        assert!(load(&[("METRICS_TOKEN", "short")]).is_err());
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("90"), Some(Duration::seconds(90)));
        assert_eq!(parse_duration("15m"), Some(Duration::minutes(15)));
        assert_eq!(parse_duration("7d"), Some(Duration::days(7)));
        assert_eq!(parse_duration("m"), None);
        assert_eq!(parse_duration("5w"), None);
    }

    #[test]
    fn links_are_built_from_public_url() {
        let c = load(&[("PUBLIC_URL", "https://auth.example.com/base/")]).unwrap();
        assert_eq!(
            c.public_link("/verify-email", &[("token", "a b")]),
            "https://auth.example.com/base/verify-email?token=a+b"
        );
    }

    #[test]
    fn a_custom_role_set_loads() {
        let c = load(&[
            ("ROLES", "analyst,reviewer"),
            ("ROLE_PERMISSIONS", "reviewer=drafts:commit"),
        ])
        .unwrap();
        assert_eq!(c.roles.default_role().as_str(), "analyst");
        assert!(c.roles.contains("reviewer"));
        assert!(!c.roles.contains("admin"));
        assert!(c.roles.allows("reviewer", "drafts:commit"));
        let c = load(&[("ROLES", "analyst,reviewer"), ("DEFAULT_ROLE", "reviewer")]).unwrap();
        assert_eq!(c.roles.default_role().as_str(), "reviewer");
        let d = load(&[]).unwrap();
        assert_eq!(d.roles.default_role().as_str(), "user");
        assert!(d.roles.allows("admin", "users:write"));
    }

    #[test]
    fn invalid_roles_stop_start_up_naming_the_setting() {
        let text = load(&[("ROLES", "Analyst,re viewer")]).unwrap_err().to_string();
        assert!(text.contains("ROLES must be"), "{text}");
        assert!(text.contains("Analyst"), "{text}");
        let text = load(&[
            ("ROLES", "analyst"),
            ("DEFAULT_ROLE", "user"),
            ("ROLE_PERMISSIONS", "admin=users:read"),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            text.contains("DEFAULT_ROLE must be one of the roles in ROLES (analyst)"),
            "{text}"
        );
        assert!(text.contains("ROLE_PERMISSIONS gives permissions to admin"), "{text}");
    }
}
