//! The `routewise` command line: `routewise serve [--config FILE] [--listen ADDR]`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use routewise_gateway::{Config, Gateway};

#[derive(Parser)]
#[command(
    name = "routewise",
    version,
    about = "A self-hosted, Foundry-compatible Responses endpoint"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the Responses API (the embedded emulator pool when no config is given).
    Serve {
        /// A routewise.toml; without it, model-router over six emulated deployments.
        #[arg(long, env = "ROUTEWISE_CONFIG")]
        config: Option<PathBuf>,
        /// Listen address (default 127.0.0.1:8080, or `server.listen` from the config).
        #[arg(long, env = "ROUTEWISE_LISTEN")]
        listen: Option<SocketAddr>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let Command::Serve { config, listen } = Cli::parse().command;
    let gateway = match config.as_deref().map(Config::from_file).transpose() {
        Ok(Some(cfg)) => Gateway::from_config(cfg).map_err(|e| e.to_string()),
        Ok(None) => Ok(Gateway::default_pool()),
        Err(e) => Err(e.to_string()),
    };
    let gateway = match gateway {
        Ok(g) => g,
        Err(e) => {
            eprintln!("routewise: {e}");
            return ExitCode::from(2);
        }
    };
    let addr = listen.unwrap_or(gateway.config().server.listen);
    let banner = routewise_gateway::banner(gateway.config(), addr);
    let running = match gateway.bind(addr).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("routewise: cannot listen on {addr}: {e}");
            return ExitCode::from(1);
        }
    };
    println!(
        "{}",
        banner.replace("{addr}", &running.local_addr().to_string())
    );
    shutdown_signal().await;
    println!("routewise: shutting down, draining in-flight requests…");
    running.shutdown().await;
    ExitCode::SUCCESS
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! { _ = tokio::signal::ctrl_c() => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
