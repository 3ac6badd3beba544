//! Each registration field's rules, good and bad values, through HTTP.

use super::{accepted, profile_after_signup, refused, with};
use crate::both;
use crate::common::*;
use chrono::{Duration, Months, NaiveDate};
use gatehouse::clock::Clock;
use gatehouse::config::EmailDomainCheck;
use serde_json::json;

/// The server's "today": the injected clock's UTC date.
fn today(app: &TestApp) -> NaiveDate {
    app.clock.now().date_naive()
}

/// The date `years` years before today (28 February for a 29 February today).
fn years_ago(app: &TestApp, years: u32) -> NaiveDate {
    today(app).checked_sub_months(Months::new(years * 12)).unwrap()
}

fn iso(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

async fn names_in_any_script_with_inner_hyphen_or_apostrophe_are_accepted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut body = with("rahim@example.com", "first_name", "রহিম");
    body["last_name"] = json!("O'Brien-Uddin");
    let me = profile_after_signup(&app, &body).await;
    assert_eq!(me["first_name"], "রহিম");
    assert_eq!(me["last_name"], "O'Brien-Uddin");
    for (i, name) in ["Mary-Jane", "O’Brien", "Abu Bakar", "José", "Nguyễn", "王小明"]
        .iter()
        .enumerate()
    {
        accepted(&app, &with(&format!("user{i}@example.com"), "last_name", *name)).await;
    }
}

async fn names_with_digits_or_symbols_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for field in ["first_name", "last_name"] {
        for name in [
            "Rahim3",
            "J@ne",
            "<b>Rahim</b>",
            "Rahim!",
            "Rahim😀",
            "-Rahim",
            "Rahim-",
            "Mary--Jane",
            "Abu  Bakar",
            "১২৩",
            "a\u{200d}b",
        ] {
            refused(
                &app,
                &with("rahim@example.com", field, name),
                field,
                "invalid_characters",
            )
            .await;
        }
    }
}

async fn names_longer_than_50_characters_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let fifty_one = "ক".repeat(51);
    refused(
        &app,
        &with("rahim@example.com", "first_name", fifty_one),
        "first_name",
        "too_long",
    )
    .await;
    accepted(&app, &with("rahim@example.com", "first_name", "ক".repeat(50))).await;
}

async fn date_of_birth_must_be_written_yyyy_mm_dd(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for raw in [
        "17/04/1998",
        "04/17/1998",
        "1998-4-17",
        "19980417",
        "1998-04-17T00:00:00Z",
        "yesterday",
    ] {
        refused(
            &app,
            &with("rahim@example.com", "date_of_birth", raw),
            "date_of_birth",
            "invalid_format",
        )
        .await;
    }
}

async fn impossible_date_of_birth_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for raw in ["2001-02-30", "2001-02-29", "1998-13-01", "1998-04-31"] {
        refused(
            &app,
            &with("rahim@example.com", "date_of_birth", raw),
            "date_of_birth",
            "invalid_date",
        )
        .await;
    }
}

async fn date_of_birth_today_or_later_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let today = today(&app);
    for date in [today, today + Duration::days(1), today + Duration::days(3650)] {
        refused(
            &app,
            &with("rahim@example.com", "date_of_birth", iso(date)),
            "date_of_birth",
            "in_future",
        )
        .await;
    }
}

async fn user_younger_than_min_age_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Turns 13 tomorrow.
    let dob = years_ago(&app, 13) + Duration::days(1);
    let problem = refused(
        &app,
        &with("rahim@example.com", "date_of_birth", iso(dob)),
        "date_of_birth",
        "too_young",
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("13"), "{problem}");
}

async fn user_turning_min_age_today_is_accepted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let dob = iso(years_ago(&app, 13));
    let me = profile_after_signup(&app, &with("rahim@example.com", "date_of_birth", dob.clone())).await;
    assert_eq!(me["date_of_birth"], dob);
}

async fn min_age_setting_is_respected(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |cfg| cfg.min_age = 18).await;
    let seventeen = iso(years_ago(&app, 18) + Duration::days(1));
    let problem = refused(
        &app,
        &with("rahim@example.com", "date_of_birth", seventeen),
        "date_of_birth",
        "too_young",
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("18"), "{problem}");
    accepted(
        &app,
        &with("rahim@example.com", "date_of_birth", iso(years_ago(&app, 18))),
    )
    .await;
}

async fn each_gender_choice_is_accepted_in_any_case(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let me = profile_after_signup(&app, &with("rahim@example.com", "gender", " Prefer_Not_To_Say ")).await;
    assert_eq!(me["gender"], "prefer_not_to_say");
    for (i, gender) in ["male", "female", "other", "FEMALE"].iter().enumerate() {
        accepted(&app, &with(&format!("user{i}@example.com"), "gender", *gender)).await;
    }
}

async fn gender_outside_the_choices_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for raw in ["m", "f", "woman", "unknown", "prefer not to say", "<script>"] {
        refused(
            &app,
            &with("rahim@example.com", "gender", raw),
            "gender",
            "invalid_choice",
        )
        .await;
    }
}

async fn email_is_trimmed_and_its_domain_lower_cased(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = with("rahim@example.com", "email", "  Rahim.Uddin@Example.COM \t");
    let me = profile_after_signup(&app, &body).await;
    assert_eq!(me["email"], "Rahim.Uddin@example.com");
    let mail = app.mail_to("Rahim.Uddin@example.com", 0).await;
    assert_eq!(mail.to, vec!["Rahim.Uddin@example.com".to_string()]);
}

async fn malformed_email_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for raw in [
        "rahim",
        "rahim@",
        "@example.com",
        "rahim@example",
        "rahim@@example.com",
        "rahim uddin@example.com",
        "rahim@example.com\r\nBcc: x@evil.test",
        "রহিম@example.com",
    ] {
        refused(
            &app,
            &with("rahim@example.com", "email", raw),
            "email",
            "invalid_format",
        )
        .await;
    }
}

async fn international_mobile_is_stored_as_given(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let me = profile_after_signup(&app, &with("rahim@example.com", "mobile", "+8801712345678")).await;
    assert_eq!(me["mobile"], "+8801712345678");
}

async fn local_mobile_is_stored_in_international_form(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let me = profile_after_signup(&app, &with("rahim@example.com", "mobile", "01712345678")).await;
    assert_eq!(me["mobile"], "+8801712345678");
    let me = profile_after_signup(&app, &with("karim@example.com", "mobile", "019-1234 5678")).await;
    assert_eq!(me["mobile"], "+8801912345678");
}

async fn mobile_that_is_not_bangladeshi_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for raw in [
        "01212345678",     // 012 is not a mobile operator prefix
        "01012345678",     // nor is 010
        "0171234567",      // one digit short
        "017123456789",    // one digit too many
        "+88017123456",    // short in international form
        "+447911123456",   // a UK number
        "1712345678",      // no national prefix
        "01712345678x",    // a letter
        "+880+1712345678", // a second plus
    ] {
        refused(
            &app,
            &with("rahim@example.com", "mobile", raw),
            "mobile",
            "invalid_mobile",
        )
        .await;
    }
}

async fn unknown_mail_domain_is_refused_when_dns_check_is_on(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |cfg| cfg.email_domain_check = EmailDomainCheck::Dns).await;
    let problem = refused(
        &app,
        &with("rahim@nowhere.test", "email", "rahim@nowhere.test"),
        "email",
        "domain_cannot_receive_mail",
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("nowhere.test"),
        "{problem}"
    );
    expect_problem(
        app.login("rahim@nowhere.test", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
}

async fn unknown_mail_domain_is_listed_with_the_other_invalid_fields(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |cfg| cfg.email_domain_check = EmailDomainCheck::Dns).await;
    let mut body = with("rahim@nowhere.test", "password", "short");
    body["mobile"] = json!("01212345678");
    let problem = expect_problem(app.register(&body).await, 422, "validation_failed").await;
    let mut errors = field_errors(&problem);
    errors.sort();
    assert_eq!(
        errors,
        vec![
            ("email".to_string(), "domain_cannot_receive_mail".to_string()),
            ("mobile".to_string(), "invalid_mobile".to_string()),
            ("password".to_string(), "too_short".to_string()),
        ]
    );
}

async fn known_mail_domain_is_accepted_when_dns_check_is_on(backend: Backend) {
    let app = TestApp::spawn_configured(backend, |cfg| cfg.email_domain_check = EmailDomainCheck::Dns).await;
    app.register_pending("rahim@Example.com").await;
}

async fn any_mail_domain_is_accepted_when_dns_check_is_off(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_pending("rahim@nowhere.test").await;
}

both!(
    names_in_any_script_with_inner_hyphen_or_apostrophe_are_accepted,
    names_with_digits_or_symbols_are_refused,
    names_longer_than_50_characters_are_refused,
    date_of_birth_must_be_written_yyyy_mm_dd,
    impossible_date_of_birth_is_refused,
    date_of_birth_today_or_later_is_refused,
    user_younger_than_min_age_is_refused,
    user_turning_min_age_today_is_accepted,
    min_age_setting_is_respected,
    each_gender_choice_is_accepted_in_any_case,
    gender_outside_the_choices_is_refused,
    email_is_trimmed_and_its_domain_lower_cased,
    malformed_email_is_refused,
    international_mobile_is_stored_as_given,
    local_mobile_is_stored_in_international_form,
    mobile_that_is_not_bangladeshi_is_refused,
    unknown_mail_domain_is_refused_when_dns_check_is_on,
    unknown_mail_domain_is_listed_with_the_other_invalid_fields,
    known_mail_domain_is_accepted_when_dns_check_is_on,
    any_mail_domain_is_accepted_when_dns_check_is_off,
);
