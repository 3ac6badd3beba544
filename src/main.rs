//! The `gatehouse` command: `serve` (the default), `migrate`, `import`, `admin` and `keys`.

/// mimalloc instead of glibc's malloc: a request allocates and frees dozens of small buffers
/// (headers, claims, JSON), and glibc's allocator was a tenth of `GET /api/auth/me`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use gatehouse::{Application, Config, Dependencies};
use secrecy::ExposeSecret;

#[derive(Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "An authentication server. Settings come from environment variables (and .env); see README.md."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Import users from a JSON Lines or CSV file, or from a PostgreSQL users table.
    ///
    /// Exit status: 0 when every row was imported or already present, 3 when some rows were
    /// refused (they are listed), 1 when nothing could be imported (`--strict`, or an error).
    Import(ImportArgs),
    /// Operator commands.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Ask a running gatehouse's /health and exit 0 if it answers 200, 1 otherwise: the
    /// container HEALTHCHECK, which needs no curl in the image. Reads only BIND_ADDR (or --url).
    Healthcheck {
        /// The health URL; default `http://<BIND_ADDR>/health` (0.0.0.0 and :: mean this machine).
        #[arg(long)]
        url: Option<String>,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Make a new signing key; every running instance signs with it within a minute. The old
    /// key is retired but stays in the JWKS until the access tokens it signed have expired.
    Rotate,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Give an account a role (e.g. the first admin). Creates the account with
    /// --password-stdin if it does not exist yet.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "admin")]
        role: String,
        /// Read the new account's password from standard input (first line).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Remove every second factor and recovery code of an account (its owner lost them, or
    /// someone else enrolled one). Ends the account's sessions, mails the owner, audited.
    ResetMfa {
        #[arg(long)]
        email: String,
    },
}

#[derive(clap::Args)]
struct ImportArgs {
    /// A `.jsonl` or `.csv` file (the format is taken from the extension unless --format says).
    #[arg(long, conflicts_with = "from_postgres", required_unless_present = "from_postgres")]
    file: Option<std::path::PathBuf>,
    #[arg(long, value_enum)]
    format: Option<ImportFormat>,
    /// Read seed 000's users table straight from this PostgreSQL database.
    #[arg(long)]
    from_postgres: Option<String>,
    /// The table to read with --from-postgres.
    #[arg(long, default_value = "users")]
    table: String,
    /// Refuse the whole import (write nothing) if any row is bad.
    #[arg(long)]
    strict: bool,
    /// Validate and count, write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Rows per transaction.
    #[arg(long, default_value_t = 1000)]
    batch_size: usize,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ImportFormat {
    Jsonl,
    Csv,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let dotenv = dotenvy::dotenv();
    if let Some(Command::Healthcheck { url }) = &cli.command {
        // Before the settings are read: a probe must not fail on a setting it does not use.
        return healthcheck(url.clone()).await;
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gatehouse cannot start: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    gatehouse::telemetry::init(config.log_format, config.error_reporting.is_some());
    if let Ok(path) = dotenv {
        tracing::info!(path = %path.display(), "read settings from .env");
    }
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => migrate(config).await,
        Command::Import(args) => return import(config, args).await,
        Command::Admin(AdminCommand::Create {
            email,
            role,
            password_stdin,
        }) => admin_create(config, &email, &role, password_stdin).await,
        Command::Admin(AdminCommand::ResetMfa { email }) => admin_reset_mfa(config, &email).await,
        Command::Keys(KeysCommand::Rotate) => keys_rotate(config).await,
        Command::Healthcheck { .. } => unreachable!("answered before the settings are read"),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "gatehouse stopped with an error");
            eprintln!("gatehouse: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn healthcheck(url: Option<String>) -> std::process::ExitCode {
    let url = url.unwrap_or_else(|| {
        let bind = std::env::var("BIND_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
        let addr: std::net::SocketAddr = bind.parse().unwrap_or_else(|_| ([127, 0, 0, 1], 8080).into());
        let host = match addr.ip() {
            ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_string(),
            ip if ip.is_unspecified() => "[::1]".to_string(),
            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
            ip => ip.to_string(),
        };
        format!("http://{host}:{}/health", addr.port())
    });
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build();
    let answer = match client {
        Ok(client) => client.get(&url).send().await,
        Err(e) => {
            eprintln!("gatehouse healthcheck: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match answer {
        Ok(r) if r.status().is_success() => {
            println!("{url}: {}", r.status());
            std::process::ExitCode::SUCCESS
        }
        Ok(r) => {
            eprintln!("gatehouse healthcheck: {url} answered {}", r.status());
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("gatehouse healthcheck: {url} did not answer: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    tracing::info!(?config, "starting gatehouse");
    let app = Application::build(config, Dependencies::default()).await?;
    if let Some(reporter) = &app.state().error_reporter {
        reporter.bind_to_process();
        tracing::info!("reporting internal errors to Sentry (SENTRY_DSN)");
    }
    tracing::info!(address = %app.local_addr(), database = app.state().store.backend(), "gatehouse is listening");
    app.run_until(shutdown_signal()).await
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    let store = gatehouse::store::connect(config.database_url.expose_secret(), 2).await?;
    store.migrate_via(config.migration_url()).await?;
    tracing::info!(database = store.backend(), "migrations applied");
    Ok(())
}

async fn admin_create(config: Config, email: &str, role: &str, password_stdin: bool) -> anyhow::Result<()> {
    use gatehouse::auth::admin::{create_admin, AdminOutcome};
    let password = if password_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        Some(line.trim_end_matches(['\r', '\n']).to_string())
    } else {
        None
    };
    let store = gatehouse::store::connect(config.database_url.expose_secret(), 2).await?;
    store.migrate_via(config.migration_url()).await?;
    let (user, outcome) = create_admin(
        store.as_ref(),
        &config,
        &gatehouse::clock::SystemClock,
        email,
        role,
        password.as_deref(),
    )
    .await?;
    match outcome {
        AdminOutcome::Created => println!("created {} ({}) with role {role}", user.email, user.id),
        AdminOutcome::RoleChanged { from } => println!("{} ({}): role {from} -> {role}", user.email, user.id),
        AdminOutcome::Unchanged => println!("{} ({}) already has role {role}", user.email, user.id),
    }
    Ok(())
}

async fn keys_rotate(config: Config) -> anyhow::Result<()> {
    use gatehouse::auth::key_encryption::KeyEncryption;
    let store = gatehouse::store::connect(config.database_url.expose_secret(), 2).await?;
    store.migrate_via(config.migration_url()).await?;
    let kek = KeyEncryption::from_config(&config)?;
    let (kid, retired) = gatehouse::auth::keys::KeySet::rotate(store.as_ref(), &kek, chrono::Utc::now()).await?;
    println!(
        "new signing key {kid}; {retired} earlier key(s) retired, still published in the JWKS for ACCESS_TOKEN_TTL ({}s) plus 5 minutes",
        config.access_token_ttl.num_seconds()
    );
    Ok(())
}

async fn admin_reset_mfa(config: Config, email: &str) -> anyhow::Result<()> {
    use gatehouse::auth::mfa::reset::{reset, ResetBy};
    let email = gatehouse::domain::Email::parse(email).map_err(|e| anyhow::anyhow!("--email {}", e.message))?;
    let store = gatehouse::store::connect(config.database_url.expose_secret(), 2).await?;
    store.migrate_via(config.migration_url()).await?;
    let user = store
        .users()
        .by_email(&email.canonical())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no account has the address {email}"))?;
    let client = gatehouse::client::ClientInfo {
        ip: None,
        user_agent: Some("gatehouse admin reset-mfa".into()),
    };
    let clock = std::sync::Arc::new(gatehouse::clock::SystemClock);
    let outbox = gatehouse::mail::Outbox::new(
        store.clone(),
        clock.clone(),
        gatehouse::mail::templates_from_config(&config)?,
    );
    let ended = reset(
        store.as_ref(),
        &outbox,
        clock.as_ref(),
        &config.app_name,
        &user,
        ResetBy::Cli,
        &client,
    )
    .await?;
    println!(
        "{} ({}): two-step sign-in removed, {ended} session(s) ended; the owner is mailed once gatehouse runs",
        user.email, user.id
    );
    Ok(())
}

async fn import(config: Config, args: ImportArgs) -> std::process::ExitCode {
    match run_import(config, args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("gatehouse import: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run_import(config: Config, args: ImportArgs) -> anyhow::Result<std::process::ExitCode> {
    use gatehouse::import::{self, source, ImportOptions};
    let rows = match (&args.file, &args.from_postgres) {
        (Some(path), _) => {
            let csv = match args.format {
                Some(ImportFormat::Csv) => true,
                Some(ImportFormat::Jsonl) => false,
                None => path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")),
            };
            if csv {
                source::read_csv(path)?
            } else {
                source::read_jsonl(path)?
            }
        }
        (None, Some(url)) => source::read_postgres(url, &args.table).await?,
        (None, None) => anyhow::bail!("say where the users come from: --file PATH or --from-postgres URL"),
    };
    let store = gatehouse::store::connect(config.database_url.expose_secret(), 4).await?;
    store.migrate_via(config.migration_url()).await?;
    let options = ImportOptions {
        strict: args.strict,
        dry_run: args.dry_run,
        batch_size: args.batch_size,
    };
    let started = std::time::Instant::now();
    let summary = import::run(store.as_ref(), &config, rows, &options, chrono::Utc::now()).await?;
    for e in &summary.errors {
        eprintln!("{e}");
    }
    let verb = if args.dry_run { "would import" } else { "imported" };
    println!(
        "{verb} {}, skipped {} (already present), failed {} in {:.1}s{}",
        summary.imported,
        summary.skipped,
        summary.failed,
        started.elapsed().as_secs_f64(),
        if summary.aborted {
            " — aborted by --strict: nothing was written"
        } else {
            ""
        }
    );
    Ok(if summary.aborted {
        std::process::ExitCode::FAILURE
    } else if summary.failed > 0 {
        std::process::ExitCode::from(3)
    } else {
        std::process::ExitCode::SUCCESS
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
