//! The hosted pages with providers and the account's riskier changes: social sign-in from
//! /login (against the GitHub stand-in), linking and unlinking a provider on /account, changing
//! the sign-in address, the step-up form, and the mailed-link pages in the pages' look.

use crate::both;
use crate::common::social::{Behaviour, GitHubEmail, Kind};
use crate::common::*;
use crate::hosted_support::{Browser, Page};
use crate::mfa_support::{totp_now, totp_user, EMAIL};
use crate::social_support;

const SOCIAL_EMAIL: &str = "social@example.com";

async fn spawn(backend: Backend) -> (TestApp, crate::common::social::SocialStandIn) {
    social_support::spawn(backend, Kind::GitHub).await
}

/// Signs in on /login with the password and opens the account page.
async fn signed_in_browser<'a>(app: &'a TestApp, email: &str) -> (Browser<'a>, Page) {
    let browser = Browser::new(app);
    let answer = browser.sign_in(email, PASSWORD, None).await;
    assert_eq!(answer.status, 303, "{}", answer.html);
    let (_, account) = browser.open("/account").await;
    assert_eq!(account.status, 200);
    (browser, account)
}

fn identity_id(account: &Page) -> String {
    let re = regex::Regex::new(r#"name="identity_id" value="([^"]+)""#).unwrap();
    re.captures(&account.html)
        .unwrap_or_else(|| panic!("no linked identity on the page: {}", account.html))[1]
        .to_string()
}

async fn the_login_page_signs_in_with_a_provider_into_the_page_session(backend: Backend) {
    let (app, _github) = spawn(backend).await;
    let browser = Browser::new(&app);
    let login = browser.get("/login?return_to=%2Faccount%3Ftab%3D1").await;
    assert!(
        login
            .html
            .contains(r#"href="/login/social/github?return_to=&#x2f;account%3Ftab%3D1""#),
        "a button per configured provider: {}",
        login.html
    );
    assert!(login.html.contains("Continue with GitHub"));

    let start = browser.get("/login/social/github?return_to=%2Faccount%3Ftab%3D1").await;
    let landed = browser.through_provider(start).await;
    assert_eq!(landed.status, 303, "{}", landed.html);
    let to = landed.location.clone().unwrap_or_default();
    assert_eq!(to, "/account?tab=1", "back at return_to, and no code in the address");
    let (_, account) = browser.open("/account").await;
    assert_eq!(account.status, 200);
    assert!(account.html.contains(SOCIAL_EMAIL), "{}", account.html);
    assert!(account.html.contains("GitHub"), "the identity is listed");
    // No password on this account: the forms do not ask for one.
    assert!(!account.html.contains(r#"name="email_password""#));
    // Its only way in: unlinking it is refused, with the reason on the page.
    let csrf = account.csrf();
    let id = identity_id(&account);
    let refused = browser
        .post("/account/identities/unlink", &[("csrf", &csrf), ("identity_id", &id)])
        .await;
    assert_eq!(refused.status, 409, "{}", refused.html);
    assert!(refused.html.contains("only way to sign in"), "{}", refused.html);
}

async fn a_refused_social_sign_in_is_a_page_not_json(backend: Backend) {
    let (app, github) = spawn(backend).await;
    github.set(Behaviour {
        authorize_error: Some("access_denied".into()),
        ..Behaviour::default()
    });
    let browser = Browser::new(&app);
    let start = browser.get("/login/social/github").await;
    let refused = browser.through_provider(start).await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.html.contains("<h1>Sign-in with GitHub did not work</h1>"),
        "{}",
        refused.html
    );
    assert!(
        refused.html.contains(r#"href="&#x2f;login?return_to=%2Faccount""#),
        "{}",
        refused.html
    );
    // A provider that is not configured: a page too.
    let unknown = browser.get("/login/social/myspace").await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.html.contains("is not offered"), "{}", unknown.html);
}

async fn an_mfa_user_signing_in_with_a_provider_passes_the_mfa_step(backend: Backend) {
    let (app, github) = spawn(backend).await;
    let user = totp_user(&app).await;
    github.set(Behaviour {
        github_emails: vec![GitHubEmail::new(EMAIL, true, true)],
        ..Behaviour::default()
    });
    let browser = Browser::new(&app);
    let start = browser.get("/login/social/github").await;
    let landed = browser.through_provider(start).await;
    assert_eq!(landed.status, 303, "{}", landed.html);
    let step_url = landed.location.clone().unwrap_or_default();
    assert!(step_url.starts_with("/login/mfa?methods="), "{step_url}");
    assert_eq!(
        browser.get("/account").await.status,
        303,
        "not signed in before the second factor"
    );
    let step = browser.get(&step_url).await;
    assert_eq!(step.status, 200);
    assert!(step.html.contains("action=\"/login/mfa\""), "{}", step.html);
    let csrf = step.csrf();
    let code = totp_now(&app, &user.secret);
    let done = browser
        .post(
            "/login/mfa",
            &[
                ("csrf", &csrf),
                ("methods", "totp,recovery"),
                ("method", "totp"),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.html);
    let (_, account) = browser.open("/account").await;
    assert!(account.html.contains(EMAIL));
    // Without a pending step, the step's page sends the browser to sign in.
    let fresh = Browser::new(&app);
    assert_eq!(fresh.get("/login/mfa").await.status, 303);
}

async fn a_provider_is_linked_and_unlinked_from_the_account_page(backend: Backend) {
    let (app, _github) = spawn(backend).await;
    app.register_verified(EMAIL).await;
    let (browser, account) = signed_in_browser(&app, EMAIL).await;
    assert!(account.html.contains("Link GitHub"), "{}", account.html);
    let csrf = account.csrf();
    // A forged form cannot start a link.
    let forged = browser
        .post(
            "/account/identities/link",
            &[("csrf", "forged"), ("provider", "github")],
        )
        .await;
    assert_eq!(forged.status, 403);

    let start = browser
        .post("/account/identities/link", &[("csrf", &csrf), ("provider", "github")])
        .await;
    let back = browser.through_provider(start).await;
    assert_eq!(back.status, 303, "{}", back.html);
    assert_eq!(back.location.as_deref(), Some("/account?linked=github"));
    let (_, account) = browser.open("/account?linked=github").await;
    assert!(
        account.html.contains("that account now signs you in here"),
        "{}",
        account.html
    );
    assert!(account.html.contains(SOCIAL_EMAIL), "the GitHub address is listed");
    assert!(!account.html.contains("Link GitHub"), "already linked");
    let mail = app.mail_to(EMAIL, 1).await;
    assert!(mail.subject.contains("GitHub sign-in was added"), "{}", mail.subject);
    assert_eq!(
        app.sql_count(
            "SELECT COUNT(*) FROM audit_events WHERE event_type = 'identity_linked' AND details LIKE $1",
            "%github%"
        )
        .await,
        1
    );

    // The GitHub account now signs in to this account, even though its address differs.
    let other = Browser::new(&app);
    let start = other.get("/login/social/github").await;
    assert_eq!(other.through_provider(start).await.status, 303);
    let (_, theirs) = other.open("/account").await;
    assert!(theirs.html.contains(EMAIL), "{}", theirs.html);

    let unlinked = browser
        .post(
            "/account/identities/unlink",
            &[("csrf", &csrf), ("identity_id", &identity_id(&account))],
        )
        .await;
    assert_eq!(unlinked.status, 200, "{}", unlinked.html);
    assert!(unlinked.html.contains("no longer signs you in"));
    assert!(unlinked.html.contains("Link GitHub"));
    assert_eq!(
        app.sql_count(
            "SELECT COUNT(*) FROM audit_events WHERE event_type = 'identity_unlinked' AND details LIKE $1",
            "%github%"
        )
        .await,
        1
    );
}

async fn a_provider_account_of_someone_else_is_never_moved(backend: Backend) {
    let (app, _github) = spawn(backend).await;
    // The GitHub account already signs in to its own gatehouse account.
    let owner = Browser::new(&app);
    let start = owner.get("/login/social/github").await;
    assert_eq!(owner.through_provider(start).await.status, 303);

    app.register_verified(EMAIL).await;
    let (browser, account) = signed_in_browser(&app, EMAIL).await;
    let start = browser
        .post(
            "/account/identities/link",
            &[("csrf", &account.csrf()), ("provider", "github")],
        )
        .await;
    let refused = browser.through_provider(start).await;
    assert_eq!(refused.status, 409, "{}", refused.html);
    assert!(
        refused.html.contains("<h1>Linking GitHub did not work</h1>"),
        "{}",
        refused.html
    );
    assert!(refused.html.contains("already signs in to another account"));
    let (_, account) = browser.open("/account").await;
    assert!(!account.html.contains(SOCIAL_EMAIL), "nothing was linked");
}

async fn linking_after_the_window_needs_the_password(backend: Backend) {
    let (app, _github) = spawn(backend).await;
    app.register_verified(EMAIL).await;
    let (browser, account) = signed_in_browser(&app, EMAIL).await;
    let csrf = account.csrf();
    app.advance(chrono::Duration::minutes(11));
    let (_, _) = browser.open("/account").await;
    let asked = browser
        .post("/account/identities/link", &[("csrf", &csrf), ("provider", "github")])
        .await;
    assert_eq!(asked.status, 403, "{}", asked.html);
    assert!(asked.html.contains("current password"), "{}", asked.html);
    let wrong = browser
        .post(
            "/account/identities/link",
            &[
                ("csrf", &csrf),
                ("provider", "github"),
                ("link_password", "not the password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.html);
    assert!(wrong.html.contains(r#"id="link_password-error""#), "{}", wrong.html);
    let start = browser
        .post(
            "/account/identities/link",
            &[("csrf", &csrf), ("provider", "github"), ("link_password", PASSWORD)],
        )
        .await;
    assert_eq!(browser.through_provider(start).await.status, 303);
}

async fn the_sign_in_address_is_changed_from_the_account_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified(EMAIL).await;
    let (browser, account) = signed_in_browser(&app, EMAIL).await;
    let csrf = account.csrf();
    let bad = browser
        .post(
            "/account/email",
            &[
                ("csrf", &csrf),
                ("new_email", "not-an-address"),
                ("email_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.html);
    assert!(bad.html.contains(r#"id="new_email-error""#), "{}", bad.html);
    assert!(bad.html.contains(r#"value="not-an-address""#), "what was typed is kept");
    let no_password = browser
        .post("/account/email", &[("csrf", &csrf), ("new_email", "new@example.com")])
        .await;
    assert_eq!(no_password.status, 422);
    assert!(
        no_password.html.contains(r#"id="email_password-error""#),
        "{}",
        no_password.html
    );

    let sent = browser
        .post(
            "/account/email",
            &[
                ("csrf", &csrf),
                ("new_email", "new@example.com"),
                ("email_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.html);
    assert!(sent.html.contains("we sent it a link"), "{}", sent.html);
    let token = link_token(&app.mail_to("new@example.com", 0).await, "/confirm-email-change");
    // The mailed link opens a page in the same look, with the app's stylesheet.
    let page = browser.get(&format!("/confirm-email-change?token={token}")).await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("gatehouse.css"), "{}", page.html);
    assert!(page.html.contains("Use this address from now on"));
    let done = browser
        .post("/confirm-email-change", &[("token", token.as_str())])
        .await;
    assert_eq!(done.status, 200, "{}", done.html);
    assert!(done.html.contains("<h1>Sign-in address changed</h1>"), "{}", done.html);
    assert_eq!(app.login("new@example.com", PASSWORD).await.status(), 200);
}

async fn a_stale_second_factor_is_renewed_on_the_step_up_form(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = totp_user(&app).await;
    let browser = Browser::new(&app);
    let step = browser.sign_in(EMAIL, PASSWORD, None).await;
    let csrf = step.csrf();
    let code = totp_now(&app, &user.secret);
    let done = browser
        .post(
            "/login/mfa",
            &[
                ("csrf", &csrf),
                ("methods", "totp,recovery"),
                ("method", "totp"),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.html);
    let (_, account) = browser.open("/account").await;
    let csrf = account.csrf();

    app.advance(chrono::Duration::minutes(11));
    let asked = browser.post("/account/mfa/recovery-codes", &[("csrf", &csrf)]).await;
    // The access cookie expired with the clock; the page renews it first.
    let asked = match asked.location.as_deref() {
        Some(to) if to.starts_with("/api/auth/ui/resume") => {
            browser.open(to).await;
            browser.post("/account/mfa/recovery-codes", &[("csrf", &csrf)]).await
        }
        _ => asked,
    };
    assert_eq!(asked.status, 403, "{}", asked.html);
    assert!(asked.html.contains("<h1>Confirm it is you</h1>"), "{}", asked.html);
    assert!(asked.html.contains("action=\"/account/step-up\""));
    let wrong = browser
        .post(
            "/account/step-up",
            &[("csrf", &csrf), ("method", "totp"), ("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status, 400, "{}", wrong.html);
    assert!(wrong.html.contains("role=\"alert\""));
    let code = totp_now(&app, &user.secret);
    let confirmed = browser
        .post(
            "/account/step-up",
            &[("csrf", &csrf), ("method", "totp"), ("code", &code)],
        )
        .await;
    assert_eq!(confirmed.status, 303, "{}", confirmed.html);
    assert_eq!(confirmed.location.as_deref(), Some("/account?done=step_up"));
    let (_, account) = browser.open("/account?done=step_up").await;
    assert!(account.html.contains("Confirmed."), "{}", account.html);
    let codes = browser.post("/account/mfa/recovery-codes", &[("csrf", &csrf)]).await;
    assert_eq!(codes.status, 200, "{}", codes.html);
    assert!(codes.html.contains("download="), "{}", codes.html);
}

async fn the_mailed_link_pages_share_the_look_and_keep_the_token_out_of_referrers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mail = app.register_pending(EMAIL).await;
    let token = verification_token(&mail);
    let r = app.get(&format!("/verify-email?token={token}")).await;
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    let html = r.text().await.unwrap();
    assert!(html.contains("gatehouse.css") && html.contains("<h1>Confirm your email address</h1>"));
    let reset = app.get("/reset-password?token=abc").await;
    let html = reset.text().await.unwrap();
    assert!(html.contains(r#"autocomplete="new-password""#), "{html}");
    // A weak new password is shown under its box, and the token stays in the form.
    app.register_verified("karim@example.com").await;
    let token = crate::password_reset::reset_mail_token(&app, "karim@example.com").await;
    let browser = Browser::new(&app);
    let weak = browser
        .post("/reset-password", &[("token", &token), ("new_password", "short")])
        .await;
    assert_eq!(weak.status, 422, "{}", weak.html);
    assert!(weak.html.contains(r#"id="new_password-error""#), "{}", weak.html);
    assert!(weak.html.contains(&format!(r#"name="token" value="{token}""#)));
}

async fn emailed_codes_are_turned_on_from_the_account_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_verified(EMAIL).await;
    let before = app.smtp.messages_to(EMAIL).len();
    let (browser, account) = signed_in_browser(&app, EMAIL).await;
    assert!(
        account.html.contains(r#"formaction="/account/mfa/email""#),
        "{}",
        account.html
    );
    let csrf = account.csrf();
    let started = browser.post("/account/mfa/email", &[("csrf", &csrf)]).await;
    assert_eq!(started.status, 200, "{}", started.html);
    assert!(
        started.html.contains("action=\"/account/mfa/email/verify\""),
        "{}",
        started.html
    );
    let code = app.mail_to(EMAIL, before).await.six_digit_code().unwrap();
    let codes = browser
        .post("/account/mfa/email/verify", &[("csrf", &csrf), ("code", &code)])
        .await;
    assert_eq!(codes.status, 200, "{}", codes.html);
    assert!(
        codes.html.contains("download="),
        "the recovery codes are shown once: {}",
        codes.html
    );
    let (_, account) = browser.open("/account").await;
    assert!(account.html.contains("A code mailed to you"), "{}", account.html);
}

both!(
    emailed_codes_are_turned_on_from_the_account_page,
    the_login_page_signs_in_with_a_provider_into_the_page_session,
    a_refused_social_sign_in_is_a_page_not_json,
    an_mfa_user_signing_in_with_a_provider_passes_the_mfa_step,
    a_provider_is_linked_and_unlinked_from_the_account_page,
    a_provider_account_of_someone_else_is_never_moved,
    linking_after_the_window_needs_the_password,
    the_sign_in_address_is_changed_from_the_account_page,
    a_stale_second_factor_is_renewed_on_the_step_up_form,
    the_mailed_link_pages_share_the_look_and_keep_the_token_out_of_referrers,
);
