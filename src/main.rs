//! The `gatehouse` command: `serve` (the default) and `migrate`.

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
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let dotenv = dotenvy::dotenv();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gatehouse cannot start: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    gatehouse::telemetry::init(config.log_format);
    if let Ok(path) = dotenv {
        tracing::info!(path = %path.display(), "read settings from .env");
    }
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => migrate(config).await,
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

async fn serve(config: Config) -> anyhow::Result<()> {
    tracing::info!(?config, "starting gatehouse");
    let app = Application::build(config, Dependencies::default()).await?;
    tracing::info!(address = %app.local_addr(), database = app.state().store.backend(), "gatehouse is listening");
    app.run_until(shutdown_signal()).await
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    let store = gatehouse::store::connect(config.database_url.expose_secret(), 2).await?;
    store.migrate().await?;
    tracing::info!(database = store.backend(), "migrations applied");
    Ok(())
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
