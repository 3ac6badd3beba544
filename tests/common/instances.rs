//! A second gatehouse instance on the same database, SMTP capture and clock as a [`TestApp`]:
//! what production runs behind a load balancer. Nothing may live in only one process, so a
//! token, a retry or a logout must mean the same on either instance.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use super::TestApp;
use gatehouse::{AppState, Application, Dependencies};
use std::sync::Arc;

pub struct Instance {
    pub base: String,
    pub state: AppState,
}

impl Instance {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

impl TestApp {
    /// Starts another instance with the same settings (on its own port) and serves it until
    /// the test ends.
    pub async fn second_instance(&self) -> Instance {
        let mut config = (*self.state.config).clone();
        config.bind_addr = ([127, 0, 0, 1], 0).into();
        let app = Application::build(
            config,
            Dependencies {
                clock: Arc::new(self.clock.clone()),
                resolver: self.state.resolver.clone(),
            },
        )
        .await
        .expect("the second instance starts");
        let base = format!("http://{}", app.local_addr());
        let state = app.state().clone();
        tokio::spawn(app.run_until(std::future::pending()));
        Instance { base, state }
    }
}
