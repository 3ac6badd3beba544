use super::*;

fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: std::collections::HashMap<String, String> =
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Config::from_lookup(|k| map.get(k).cloned())
}

#[test]
fn without_mail_providers_smtp_url_alone_decides() {
    assert!(load(&[]).unwrap().mail_providers().is_empty());
    let c = load(&[("SMTP_URL", "smtp://mail.example.com:587")]).unwrap();
    assert_eq!(c.mail_providers(), vec![MailProviderKind::Smtp]);
}

#[test]
fn ses_reads_the_aws_variables() {
    let c = load(&[
        ("MAIL_PROVIDERS", "ses, smtp"),
        ("SMTP_URL", "smtp://mail.example.com:587"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("SES_CONFIGURATION_SET", "transactional"),
    ])
    .unwrap();
    assert_eq!(c.mail_providers(), vec![MailProviderKind::Ses, MailProviderKind::Smtp]);
    let ses = c.mail.ses.clone().unwrap();
    assert_eq!(ses.endpoint.as_str(), "https://email.eu-west-1.amazonaws.com/");
    assert_eq!(ses.configuration_set.as_deref(), Some("transactional"));
    assert!(matches!(ses.credentials, AwsCredentialSource::Environment { .. }));
    assert!(
        !format!("{:?}", c.mail.ses).contains("\"secret\""),
        "the secret is not printed"
    );

    let c = load(&[
        ("MAIL_PROVIDERS", "ses"),
        ("SES_REGION", "ap-south-1"),
        ("HOME", "/home/gate"),
        ("AWS_PROFILE", "mail"),
    ])
    .unwrap();
    match c.mail.ses.unwrap().credentials {
        AwsCredentialSource::Profile { file, profile } => {
            assert_eq!(file, std::path::Path::new("/home/gate/.aws/credentials"));
            assert_eq!(profile, "mail");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn each_listed_provider_needs_its_settings() {
    let text = load(&[("MAIL_PROVIDERS", "ses,sendgrid,smtp,pigeon,ses")])
        .unwrap_err()
        .to_string();
    for needle in [
        "MAIL_PROVIDERS must be a comma-separated list of smtp, ses and sendgrid",
        "MAIL_PROVIDERS lists ses twice",
        "MAIL_PROVIDERS lists smtp but SMTP_URL is unset",
        "no region is set: set SES_REGION",
        "SENDGRID_API_KEY is unset",
    ] {
        assert!(text.contains(needle), "{needle:?} in {text}");
    }
    let text = load(&[
        ("MAIL_PROVIDERS", "ses"),
        ("SES_REGION", "Europe"),
        ("AWS_ACCESS_KEY_ID", "x"),
    ])
    .unwrap_err()
    .to_string();
    assert!(
        text.contains("SES_REGION (or AWS_REGION) must be an AWS region"),
        "{text}"
    );
    assert!(
        text.contains("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together"),
        "{text}"
    );
}

#[test]
fn an_api_provider_counts_as_real_mail_for_a_public_deployment() {
    let c = load(&[
        ("PUBLIC_URL", "https://auth.example.com"),
        ("MAIL_PROVIDERS", "sendgrid"),
        ("SENDGRID_API_KEY", "SG.key"),
        ("MAIL_PROVIDER_TIMEOUT", "5s"),
        ("MAIL_TEMPLATES_DIR", "/etc/gatehouse/mail"),
    ])
    .unwrap();
    assert_eq!(c.mail.sendgrid.unwrap().api_url.as_str(), "https://api.sendgrid.com/");
    assert_eq!(c.mail.timeout, Duration::seconds(5));
    assert_eq!(
        c.mail.templates_dir.unwrap(),
        std::path::Path::new("/etc/gatehouse/mail")
    );
    assert!(load(&[("MAIL_PROVIDER_TIMEOUT", "0s")]).is_err());
}
