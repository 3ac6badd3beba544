//! Passkeys on the hosted pages, driven as the page script drives them: the software
//! authenticator answers the options the pages hand out, and the filled forms are posted.

use crate::both;
use crate::common::*;
use crate::hosted_support::{Browser, Page};
use crate::mfa_support::{step_up, totp_now, totp_user};
use crate::passkey_support::*;
use serde_json::Value;

const EMAIL: &str = "rahim@example.com";

fn unescape(html: &str) -> String {
    html.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn attribute(page: &Page, name: &str) -> String {
    let re = regex::Regex::new(&format!(r#"{name}="([^"]*)""#)).unwrap();
    let found = re
        .captures(&page.html)
        .unwrap_or_else(|| panic!("no {name} on the page: {}", page.html));
    unescape(&found[1])
}

/// Adds a passkey from the account page of a signed-in `browser`, as the script would.
async fn add_passkey(browser: &Browser<'_>, authenticator: &mut Authenticator, name: &str) -> Page {
    let (_, account) = browser.open("/account").await;
    let csrf = account.csrf();
    let step = browser.post("/account/passkeys/add", &[("csrf", &csrf)]).await;
    assert_eq!(step.status, 200, "{}", step.html);
    let options: Value = serde_json::from_str(&attribute(&step, "data-options")).unwrap();
    let credential = authenticator.create(&options);
    browser
        .post(
            "/account/passkeys/create",
            &[
                ("csrf", &step.csrf()),
                ("ceremony_id", &attribute(&step, "data-ceremony")),
                ("credential", &credential.to_string()),
                ("name", name),
            ],
        )
        .await
}

async fn a_passkey_is_added_used_renamed_and_removed_on_the_pages(backend: Backend) {
    let app = passkey_app(backend).await;
    app.register_verified(EMAIL).await;
    let browser = Browser::new(&app);
    assert_eq!(browser.sign_in(EMAIL, PASSWORD, None).await.status, 303);
    let (_, account) = browser.open("/account").await;
    assert!(account.html.contains("No passkeys yet."), "{}", account.html);

    let mut authenticator = Authenticator::new();
    let added = add_passkey(&browser, &mut authenticator, "Phone").await;
    assert_eq!(added.status, 200, "{}", added.html);
    assert!(added.html.contains("The passkey is added."), "{}", added.html);
    assert!(added.html.contains("<strong>Phone</strong>"), "{}", added.html);
    assert!(app.mail_to(EMAIL, 1).await.subject.contains("passkey was added"));

    // Another browser, signed out: "Sign in with a passkey".
    let other = Browser::new(&app);
    let login = other.get("/login").await;
    assert!(login.html.contains("Sign in with a passkey"), "{}", login.html);
    let (ceremony, options) = login_start(&app, None).await;
    let credential = authenticator.get(&options, 0);
    let signed_in = other
        .post(
            "/login/passkey",
            &[
                ("csrf", &login.csrf()),
                ("return_to", "/account"),
                ("ceremony_id", &ceremony),
                ("credential", &credential.to_string()),
            ],
        )
        .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.html);
    assert_eq!(signed_in.location.as_deref(), Some("/account"));
    let (_, account) = other.open("/account").await;
    assert!(account.html.contains(EMAIL), "{}", account.html);

    let id = attribute(&account, r#"name="passkey_id" value"#);
    let csrf = account.csrf();
    let renamed = other
        .post(
            "/account/passkeys/rename",
            &[("csrf", &csrf), ("passkey_id", &id), ("name", "Work phone")],
        )
        .await;
    assert!(renamed.html.contains("The passkey is renamed."), "{}", renamed.html);
    assert!(renamed.html.contains("<strong>Work phone</strong>"));
    let blank = other
        .post(
            "/account/passkeys/rename",
            &[("csrf", &csrf), ("passkey_id", &id), ("name", " ")],
        )
        .await;
    assert_eq!(blank.status, 422);
    assert!(blank.html.contains("The name is required"), "{}", blank.html);

    let removed = other
        .post("/account/passkeys/delete", &[("csrf", &csrf), ("passkey_id", &id)])
        .await;
    assert!(removed.html.contains("The passkey is removed."), "{}", removed.html);
    assert!(removed.html.contains("No passkeys yet."));
}

async fn the_passkey_forms_refuse_what_the_api_refuses(backend: Backend) {
    let app = passkey_app(backend).await;
    app.register_verified(EMAIL).await;
    let browser = Browser::new(&app);
    assert_eq!(browser.sign_in(EMAIL, PASSWORD, None).await.status, 303);
    let mut authenticator = Authenticator::new();
    add_passkey(&browser, &mut authenticator, "Laptop").await;

    let other = Browser::new(&app);
    let login = other.get("/login").await;
    let csrf = login.csrf();
    // The script did not run: no answer to read.
    let page = other.post("/login/passkey", &[("csrf", &csrf)]).await;
    assert_eq!(page.status, 400);
    assert!(page.html.contains("Passkeys need JavaScript"), "{}", page.html);
    // An answer made for another site.
    authenticator.origin = "https://evil.example".into();
    let (ceremony, options) = login_start(&app, None).await;
    let credential = authenticator.get(&options, 0).to_string();
    let form = [
        ("csrf", csrf.as_str()),
        ("ceremony_id", &ceremony),
        ("credential", &credential),
    ];
    let page = other.post("/login/passkey", &form).await;
    assert_eq!(page.status, 400);
    assert!(page.html.contains("PASSKEY_ORIGINS"), "{}", page.html);
    // Without the form's token (another site posting it).
    let page = Browser::new(&app).post("/login/passkey", &form[1..]).await;
    assert_eq!(page.status, 403, "{}", page.html);
    assert!(other.get("/account").await.location.is_some(), "still signed out");

    // The script is served from here, and the pages allow only scripts from here.
    let r = app.client.get(app.url("/ui/passkeys.js")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(r.text().await.unwrap().contains("navigator.credentials.get"));
    let r = app.client.get(app.url("/login")).send().await.unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
}

async fn an_mfa_account_uses_its_passkey_for_the_mfa_step_and_the_step_up(backend: Backend) {
    let app = passkey_app(backend).await;
    let mfa = totp_user(&app).await;
    let stepped = step_up(&app, &mfa.tokens.access, "totp", &totp_now(&app, &mfa.secret)).await;
    let tokens = Tokens::from(stepped.json::<Value>().await.unwrap());
    let mut authenticator = Authenticator::new();
    assert_eq!(register_passkey(&app, &tokens, &mut authenticator).await.status(), 201);

    let browser = Browser::new(&app);
    let step = browser.sign_in(EMAIL, PASSWORD, Some("/account")).await;
    assert_eq!(step.status, 200, "{}", step.html);
    assert!(step.html.contains("Use a passkey instead"), "{}", step.html);
    let csrf = step.csrf();
    let r = browser
        .client
        .post(app.url("/login/mfa/passkey/options"))
        .header("origin", PUBLIC_URL)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let started: Value = r.json().await.unwrap();
    let credential = authenticator.get(&started["options"], 0).to_string();
    let ceremony = started["ceremony_id"].as_str().unwrap();
    let methods = attribute(&step, r#"name="methods" value"#);
    let done = browser
        .post(
            "/login/mfa/passkey",
            &[
                ("csrf", csrf.as_str()),
                ("return_to", "/account"),
                ("methods", &methods),
                ("ceremony_id", ceremony),
                ("credential", &credential),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.html);
    assert_eq!(done.location.as_deref(), Some("/account"));

    // Later, a change that needs the second factor again: the step-up form offers the passkey.
    app.advance(chrono::Duration::minutes(11));
    let (_, account) = browser.open("/account").await;
    let csrf = account.csrf();
    let asked = browser.post("/account/mfa/recovery-codes", &[("csrf", &csrf)]).await;
    assert_eq!(asked.status, 403, "{}", asked.html);
    let options: Value = serde_json::from_str(&attribute(&asked, "data-options")).unwrap();
    let credential = authenticator.get(&options, 0).to_string();
    let confirmed = browser
        .post(
            "/account/step-up/passkey",
            &[
                ("csrf", &csrf),
                ("ceremony_id", &attribute(&asked, "data-ceremony")),
                ("credential", &credential),
            ],
        )
        .await;
    assert_eq!(confirmed.status, 303, "{}", confirmed.html);
    assert_eq!(confirmed.location.as_deref(), Some("/account?done=step_up"));
    let again = browser.post("/account/mfa/recovery-codes", &[("csrf", &csrf)]).await;
    assert_eq!(again.status, 200, "{}", again.html);

    // A stale or foreign MFA page gets JSON it can show, not a page.
    let r = Browser::new(&app)
        .client
        .post(app.url("/login/mfa/passkey/options"))
        .header("origin", PUBLIC_URL)
        .form(&[("csrf", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

both!(
    an_mfa_account_uses_its_passkey_for_the_mfa_step_and_the_step_up,
    a_passkey_is_added_used_renamed_and_removed_on_the_pages,
    the_passkey_forms_refuse_what_the_api_refuses,
);
