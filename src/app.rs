//! Wiring: builds the shared state from a [`Config`], and the [`Application`] that `main` and the
//! tests both run (so tests exercise exactly what production serves).

use crate::auth::keys::KeySet;
use crate::auth::password::PasswordHasher;
use crate::auth::services::{ServerSecrets, Services};
use crate::auth::tokens::TokenIssuer;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, EmailDomainCheck};
use crate::dns::{DomainResolver, SystemResolver};
use crate::mail::worker::OutboxWorker;
use crate::mail::{Mailer, Outbox};
use anyhow::Context;
use axum::Router;
use secrecy::ExposeSecret;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The router's state: the [`Services`] the rules use, plus what only the running server
/// needs (the audit-retention job it schedules). It derefs to `Services`, so a handler passes
/// `&state` where a rule asks for `&Services`. One `Arc`: axum clones the state for every
/// extractor of every request, and cloning a dozen `Arc`s each time was a tenth of `/me`.
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

pub struct AppParts {
    pub services: Services,
    /// `AUDIT_RETENTION_DAYS` / `AUDIT_EXPORT_PATH`: run at start and hourly by the
    /// [`Application`]; `sweep()` runs one now.
    pub audit_retention: crate::audit::retention::AuditRetention,
    /// `SENTRY_DSN`: this application's Sentry client; `None` reports nothing.
    pub error_reporter: Option<crate::telemetry::error_reporting::ErrorReporter>,
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

impl std::ops::Deref for AppParts {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.services
    }
}

/// What tests (or an embedding program) may replace.
pub struct Dependencies {
    pub clock: Arc<dyn Clock>,
    /// `None` uses the system resolver when `EMAIL_DOMAIN_CHECK=dns`.
    pub resolver: Option<Arc<dyn DomainResolver>>,
}

impl Default for Dependencies {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            resolver: None,
        }
    }
}

impl AppState {
    /// Connects to the database, applies migrations and loads keys and secrets.
    pub async fn build(config: Config, deps: Dependencies) -> anyhow::Result<(Self, Arc<dyn Mailer>)> {
        let store = crate::store::connect(config.database_url.expose_secret(), config.database_max_connections)
            .await
            .context("could not open the database named by DATABASE_URL")?;
        store
            .migrate_via(config.migration_url())
            .await
            .context(if config.database_direct_url.is_some() {
                "could not apply database migrations over DATABASE_DIRECT_URL"
            } else {
                "could not apply database migrations"
            })?;
        let clock = deps.clock;
        let kek = Arc::new(crate::auth::key_encryption::KeyEncryption::from_config(&config)?);
        if !kek.is_enabled() && !config.is_loopback() {
            tracing::warn!(
                "KEY_ENCRYPTION_KEY is unset: the token signing keys and server secrets are stored in clear in the database, so anyone with a copy of it (a backup, a dump) can sign access tokens and open TOTP secrets. Set KEY_ENCRYPTION_KEY (openssl rand -base64 32) from your secret manager; the next start seals them."
            );
        }
        let keys = KeySet::load_or_create(store.clone(), clock.clone(), kek.clone(), config.access_token_ttl).await?;
        let tokens = TokenIssuer::new(keys, config.issuer(), config.jwt_audience.clone(), config.auth_cache);
        let now = clock.now();
        let refresh_successor_key =
            crate::auth::secrets::server_secret(store.as_ref(), &kek, "refresh_successor_key", now).await?;
        let code_hash_key = crate::auth::secrets::server_secret(store.as_ref(), &kek, "code_hash_key", now).await?;
        let oauth_state_key = crate::auth::secrets::server_secret(store.as_ref(), &kek, "oauth_state_key", now).await?;
        let rate_limit_key = crate::auth::secrets::server_secret(store.as_ref(), &kek, "rate_limit_key", now).await?;
        let metrics = Arc::new(crate::metrics::Metrics::new());
        let limits = crate::ratelimit::RateLimiter::new(
            metrics.clone(),
            config.rate_limits.clone(),
            config.redis_url.as_ref().map(|u| u.expose_secret()),
            &config.redis_key_prefix,
            clock.clone(),
            rate_limit_key.clone(),
        )
        .await?;
        let csrf_key = crate::auth::secrets::server_secret(store.as_ref(), &kek, "csrf_key", now).await?;
        let oauth = crate::auth::oauth::Providers::new(&config)?;
        oauth.prefetch_discovery();
        let resolver = match config.email_domain_check {
            EmailDomainCheck::Off => None,
            EmailDomainCheck::Dns => Some(match deps.resolver {
                Some(r) => r,
                None => Arc::new(SystemResolver::new()?) as Arc<dyn DomainResolver>,
            }),
        };
        let providers = Arc::new(crate::mail::providers_from_config(
            &config,
            clock.clone(),
            metrics.clone(),
        )?);
        let templates = crate::mail::templates_from_config(&config)?;
        let mailer: Arc<dyn Mailer> = providers.clone();
        let audit_retention = crate::audit::retention::AuditRetention::new(
            store.clone(),
            clock.clone(),
            metrics.clone(),
            config.audit_retention,
            config.audit_export_path.clone(),
        )
        .forgetting_login_failures_after(config.lockout.duration);
        audit_retention.check_export_path()?;
        let error_reporter = config
            .error_reporting
            .as_ref()
            .and_then(crate::telemetry::error_reporting::ErrorReporter::new);
        let services = Services {
            metrics,
            hasher: PasswordHasher::new(config.password_hash_concurrency)?,
            outbox: Outbox::new(store.clone(), clock.clone(), templates).with_providers(providers),
            config: Arc::new(config),
            store,
            clock,
            tokens,
            resolver,
            secrets: Arc::new(ServerSecrets {
                refresh_successor_key,
                code_hash_key,
                oauth_state_key,
                rate_limit_key,
                csrf_key,
            }),
            oauth,
            limits: Arc::new(limits),
        };
        Ok((
            AppState(Arc::new(AppParts {
                services,
                audit_retention,
                error_reporter,
            })),
            mailer,
        ))
    }
}

/// A bound, ready-to-run server plus its mail worker.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    worker: OutboxWorker,
}

impl Application {
    pub async fn build(config: Config, deps: Dependencies) -> anyhow::Result<Self> {
        let bind = config.bind_addr;
        let (state, mailer) = AppState::build(config, deps).await?;
        let listener = TcpListener::bind(bind)
            .await
            .with_context(|| format!("could not listen on BIND_ADDR={bind}; is another program using it?"))?;
        let worker = OutboxWorker::new(
            state.store.clone(),
            state.clock.clone(),
            mailer,
            state.outbox.wake_handle(),
        )
        .with_heartbeat(state.outbox.heartbeat());
        let router = crate::http::router(state.clone());
        Ok(Self {
            listener,
            router,
            state,
            worker,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| ([127, 0, 0, 1], 0).into())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn outbox_worker(&self) -> OutboxWorker {
        self.worker.clone()
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests and the mail being sent.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let retention = tokio::spawn(self.state.audit_retention.clone().run(stop_rx.clone()));
        let key_refresh = tokio::spawn(refresh_keys(self.state.tokens.keys().clone(), stop_rx.clone()));
        let feed = self
            .state
            .config
            .auth_cache
            .then(|| tokio::spawn(self.state.store.clone().follow_changes(stop_rx.clone())));
        let worker = tokio::spawn(self.worker.run(stop_rx));
        serve(
            self.listener,
            self.router,
            to_std(self.state.config.http_header_timeout),
            shutdown,
        )
        .await;
        let _ = stop_tx.send(true);
        let _ = worker.await;
        let _ = retention.await;
        let _ = key_refresh.await;
        if let Some(feed) = feed {
            let _ = feed.await;
        }
        if let Some(reporter) = self.state.error_reporter.clone() {
            // Reports still queued leave before the process does.
            let _ = tokio::task::spawn_blocking(move || reporter.flush(std::time::Duration::from_secs(5))).await;
        }
        Ok(())
    }
}

/// Re-reads the signing keys every [`crate::auth::keys::REFRESH_EVERY`] until shutdown, so a
/// key rotated on one instance (or by `gatehouse keys rotate`) signs everywhere within a minute.
async fn refresh_keys(keys: KeySet, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(crate::auth::keys::REFRESH_EVERY);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(e) = keys.reload().await {
                    tracing::warn!(error = %format!("{e:#}"), "could not reload the signing keys; still using the ones loaded");
                }
            }
            _ = stop.changed() => return,
        }
    }
}

fn to_std(d: chrono::Duration) -> std::time::Duration {
    d.to_std().unwrap_or(std::time::Duration::from_secs(10))
}

/// The accept loop: HTTP/1 and HTTP/2 with a header-read timeout (a connection whose request
/// headers do not arrive in time is closed), and graceful shutdown that lets in-flight
/// requests finish. The request timeout itself is a middleware (`http::middleware`).
async fn serve(
    listener: TcpListener,
    router: Router,
    header_timeout: std::time::Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    use axum::extract::ConnectInfo;
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::server::graceful::GracefulShutdown;
    use tower::ServiceExt;

    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: pause instead of spinning.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.as_mut() => break,
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: axum::http::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(req)
        });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down: finishing in-flight requests");
    graceful.shutdown().await;
}
