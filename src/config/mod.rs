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

mod error_reporting;
mod load;
mod load_lists;
mod mail;
#[cfg(test)]
mod mail_tests;
mod passkeys;
mod providers;
mod ui;

pub use error_reporting::ErrorReporting;
pub use mail::{AwsCredentialSource, MailDelivery, MailProviderKind, SendGridSettings, SesSettings};
pub use passkeys::PasskeySettings;
pub use ui::UiSettings;
#[cfg(test)]
mod tests;

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
    /// `DATABASE_DIRECT_URL`: a PostgreSQL connection that bypasses a transaction-mode pooler
    /// (Neon's `-pooler` host, PgBouncer), for migrations. Their lock is a session advisory
    /// lock, which a pooler may take on one server connection and release on another.
    pub database_direct_url: Option<SecretString>,
    pub database_max_connections: u32,
    pub redis_url: Option<SecretString>,
    pub bind_addr: SocketAddr,
    pub public_url: Url,
    pub smtp_url: Option<SecretString>,
    /// `MAIL_PROVIDERS` and the settings of SES and SendGrid; `MAIL_PROVIDER_TIMEOUT`,
    /// `MAIL_TEMPLATES_DIR`.
    pub mail: MailDelivery,
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
    pub confirm_email_change_url: Option<Url>,
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
    /// `NEW_DEVICE_ALERTS`: mail the user when they sign in from a device (browser and system,
    /// or app) none of their earlier sessions came from.
    pub new_device_alerts: bool,
    /// `WELCOME_MAIL`: mail a welcome once, when an account's address is first confirmed (or it
    /// signs up through a provider that verified it), as seed 001 does.
    pub welcome_mail: bool,
    /// `AUTH_CACHE`: check access tokens against in-memory copies of sessions and accounts,
    /// kept current by the change feed (`row_changes`); `false` reads the database on every
    /// request.
    pub auth_cache: bool,
    /// `MAIL_LOG_ONLY`: without `SMTP_URL`, write mails (links and codes included) to the log
    /// instead of sending them. Development only: gatehouse refuses to start without `SMTP_URL`
    /// when `PUBLIC_URL` is not this machine, unless this is `true`.
    pub mail_log_only: bool,
    /// `KEY_ENCRYPTION_KEY`: 32 random bytes (base64) that seal the signing keys and server
    /// secrets in the database (`auth::key_encryption`). Unset, they are stored in clear.
    pub key_encryption_key: Option<SecretString>,
    /// `KEY_ENCRYPTION_KEY_PREVIOUS`: the key before, while changing it: values it sealed are
    /// opened and sealed again with `KEY_ENCRYPTION_KEY`.
    pub key_encryption_key_previous: Option<SecretString>,
    /// `HTTP_HEADER_TIMEOUT`: a client has this long to send a request's headers, so that slow
    /// clients (slowloris) cannot hold connections open.
    pub http_header_timeout: Duration,
    /// `HTTP_REQUEST_TIMEOUT`: a request (its body read and the answer) must be done within this;
    /// later it is answered `408 request_timeout`.
    pub http_request_timeout: Duration,
    /// `METRICS_TOKEN`: when set, `/metrics` needs `Authorization: Bearer <token>`. Unset, it is
    /// open, so it must only be reachable from the internal network.
    pub metrics_token: Option<SecretString>,
    /// `SENTRY_DSN` and its companions: where internal errors are reported. Unset: nowhere.
    pub error_reporting: Option<ErrorReporting>,
    /// The hosted pages' branding and `return_to` allow-list.
    pub ui: UiSettings,
    /// `PASSKEY_RP_ID`, `PASSKEY_RP_NAME`, `PASSKEY_ORIGINS`.
    pub passkeys: PasskeySettings,
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
            database_direct_url: None,
            database_max_connections: 10,
            redis_url: None,
            bind_addr,
            public_url: default_public_url(bind_addr),
            smtp_url: None,
            mail: MailDelivery::default(),
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
            confirm_email_change_url: None,
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
            new_device_alerts: true,
            welcome_mail: true,
            auth_cache: true,
            mail_log_only: false,
            key_encryption_key: None,
            key_encryption_key_previous: None,
            http_header_timeout: Duration::seconds(10),
            http_request_timeout: Duration::seconds(30),
            metrics_token: None,
            error_reporting: None,
            ui: UiSettings::default(),
            passkeys: PasskeySettings::from_public_url(&default_public_url(bind_addr), "gatehouse"),
        }
    }
}

pub(super) fn default_public_url(bind: SocketAddr) -> Url {
    let host = if bind.ip().is_unspecified() {
        "localhost".to_string()
    } else {
        bind.ip().to_string()
    };
    Url::parse(&format!("http://{host}:{}", bind.port()))
        .unwrap_or_else(|_| Url::parse("http://localhost:8080").unwrap_or_else(|_| unreachable!()))
}

/// Every problem found in the settings, each naming the variable and the expected form.
#[derive(Debug, thiserror::Error)]
#[error("invalid settings:\n  - {}", .0.join("\n  - "))]
pub struct ConfigError(pub Vec<String>);

impl Config {
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

    /// Where migrations run: `DATABASE_DIRECT_URL` if set, else the pool of `DATABASE_URL`.
    pub fn migration_url(&self) -> Option<&str> {
        self.database_direct_url.as_ref().map(|u| u.expose_secret())
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
