//! A browser without JavaScript for the hosted-page tests: forms with their CSRF token,
//! cookies kept between requests, redirects read from `Location`.

use crate::common::*;

/// A cookie-keeping client whose requests come from the pages' own origin.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub client: reqwest::Client,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub html: String,
}

impl Page {
    /// The CSRF token of the (first) form on the page.
    pub fn csrf(&self) -> String {
        let re = regex::Regex::new(r#"name="csrf" value="([^"]+)""#).unwrap();
        re.captures(&self.html)
            .unwrap_or_else(|| panic!("no form on the page: {}", self.html))[1]
            .to_string()
    }
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self { app, client }
    }

    pub async fn read(r: reqwest::Response) -> Page {
        let status = r.status().as_u16();
        assert!(status < 500, "server error {status} from {}", r.url());
        let location = r.headers().get("location").map(|v| v.to_str().unwrap().to_string());
        Page {
            status,
            location,
            html: r.text().await.unwrap(),
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        Self::read(self.client.get(self.app.url(path)).send().await.unwrap()).await
    }

    /// Follows redirects on this server, as a browser would, and returns the last page.
    pub async fn open(&self, path: &str) -> (String, Page) {
        let mut path = path.to_string();
        for _ in 0..5 {
            let page = self.get(&path).await;
            match page.location.clone() {
                Some(next) if next.starts_with('/') => path = next,
                _ => return (path, page),
            }
        }
        panic!("too many redirects from {path}");
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let r = self
            .client
            .post(self.app.url(path))
            .header("origin", PUBLIC_URL)
            .form(form)
            .send()
            .await
            .unwrap();
        Self::read(r).await
    }

    /// Signs in on /login (following the form it shows) and returns the answer to the post.
    pub async fn sign_in(&self, identifier: &str, password: &str, return_to: Option<&str>) -> Page {
        let login = self.get("/login").await;
        let csrf = login.csrf();
        let mut form = vec![
            ("csrf", csrf.as_str()),
            ("identifier", identifier),
            ("password", password),
        ];
        if let Some(r) = return_to {
            form.push(("return_to", r));
        }
        self.post("/login", &form).await
    }
}

impl Browser<'_> {
    /// Through a provider stand-in from `start` (a hosted page's link or form answer that
    /// redirects to the provider): returns gatehouse's answer to the provider's callback.
    pub async fn through_provider(&self, start: Page) -> Page {
        assert_eq!(start.status, 303, "not sent to the provider: {}", start.html);
        let authorize = start.location.expect("a redirect to the provider");
        let back = self.client.get(&authorize).send().await.unwrap();
        assert!(
            back.status().is_redirection(),
            "the stand-in answered {}",
            back.status()
        );
        let callback = url::Url::parse(back.headers()["location"].to_str().unwrap()).unwrap();
        assert_eq!(callback.path(), "/api/auth/oauth/callback");
        self.get(&format!(
            "/api/auth/oauth/callback?{}",
            callback.query().unwrap_or_default()
        ))
        .await
    }
}
