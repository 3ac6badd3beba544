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
        ("PUBLIC_URL", "https://auth.example.com"),
        ("SMTP_URL", "smtp://mail.example.com:587"),
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
    let c = load(&[
        ("PUBLIC_URL", "https://auth.example.com/base/"),
        ("MAIL_LOG_ONLY", "true"),
    ])
    .unwrap();
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

#[test]
fn a_public_deployment_without_smtp_refuses_to_start_unless_told_mail_goes_to_the_log() {
    let text = load(&[("PUBLIC_URL", "https://auth.example.com")])
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("no mail provider is set") && text.contains("SMTP_URL") && text.contains("MAIL_LOG_ONLY=true"),
        "{text}"
    );
    assert!(load(&[("PUBLIC_URL", "https://auth.example.com"), ("MAIL_LOG_ONLY", "true")]).is_ok());
    assert!(load(&[
        ("PUBLIC_URL", "https://auth.example.com"),
        ("SMTP_URL", "smtp://mail.example.com:587")
    ])
    .is_ok());
    // On this machine (development) mail in the log is the default.
    assert!(load(&[("PUBLIC_URL", "http://localhost:8080")]).is_ok());
}

#[test]
fn http_timeouts_default_and_load() {
    let c = load(&[]).unwrap();
    assert_eq!(c.http_header_timeout, Duration::seconds(10));
    assert_eq!(c.http_request_timeout, Duration::seconds(30));
    let c = load(&[("HTTP_HEADER_TIMEOUT", "5s"), ("HTTP_REQUEST_TIMEOUT", "2m")]).unwrap();
    assert_eq!(c.http_header_timeout, Duration::seconds(5));
    assert_eq!(c.http_request_timeout, Duration::minutes(2));
    assert!(load(&[("HTTP_HEADER_TIMEOUT", "0s")]).is_err());
}

#[test]
fn welcome_mail_is_on_unless_turned_off() {
    assert!(load(&[]).unwrap().welcome_mail);
    assert!(!load(&[("WELCOME_MAIL", "false")]).unwrap().welcome_mail);
    assert!(load(&[("WELCOME_MAIL", "maybe")]).is_err());
}

#[test]
fn a_direct_database_url_is_for_postgres_only() {
    let pooled = "postgres://app:pw@ep-x-pooler.neon.tech/app?sslmode=require";
    let direct = "postgres://app:pw@ep-x.neon.tech/app?sslmode=require";
    let c = load(&[("DATABASE_URL", pooled), ("DATABASE_DIRECT_URL", direct)]).unwrap();
    assert_eq!(c.migration_url(), Some(direct));
    assert_eq!(load(&[("DATABASE_URL", pooled)]).unwrap().migration_url(), None);
    let text = load(&[("DATABASE_DIRECT_URL", direct)]).unwrap_err().to_string();
    assert!(text.contains("DATABASE_DIRECT_URL is only for PostgreSQL"), "{text}");
    let text = load(&[("DATABASE_URL", pooled), ("DATABASE_DIRECT_URL", "mysql://x")])
        .unwrap_err()
        .to_string();
    assert!(text.contains("DATABASE_DIRECT_URL must be"), "{text}");
}
