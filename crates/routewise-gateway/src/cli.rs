//! The `routewise` command line: `serve`, `train` and `eval`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use routewise_strategy::learned::{self, Mode};

use routewise_auth::Secret;

use crate::config::StoreSettings;
use crate::telemetry::LogFormat;
use crate::{Config, Gateway};

/// `routewise`: a self-hosted, Foundry-compatible Responses endpoint and its router tooling.
#[derive(Debug, Parser)]
#[command(name = "routewise", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log lines as human-readable text or one JSON object per line (stderr). `RUST_LOG`
    /// filters them; by default warnings and one `routewise::access` event per request.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "ROUTEWISE_LOG_FORMAT"
    )]
    log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the Responses API (the embedded emulator pool when no config is given).
    Serve {
        /// A routewise.toml; without it, model-router over six emulated deployments.
        #[arg(long, env = "ROUTEWISE_CONFIG")]
        config: Option<PathBuf>,
        /// Listen address (default 127.0.0.1:8080, or `server.listen` from the config).
        #[arg(long, env = "ROUTEWISE_LISTEN")]
        listen: Option<SocketAddr>,
        /// Runtime threads: 1 runs everything on one thread (no cross-thread wake-ups, the
        /// lowest added latency at low load); more spread load over cores. Default: one per core.
        #[arg(long, env = "ROUTEWISE_THREADS", value_parser = clap::value_parser!(u16).range(1..))]
        threads: Option<u16>,
        /// Store responses in this Redis (`redis://host:port/db`) for retrieval and
        /// `previous_response_id`; overrides the config's `[store]` URL.
        #[arg(long, env = "ROUTEWISE_REDIS_URL", hide_env_values = true, value_parser = secret)]
        redis_url: Option<Secret>,
    },
    /// Train the local router's quality estimator on JSONL routing data.
    Train {
        /// JSONL files or directories of them.
        #[arg(long, required = true, num_args = 1..)]
        data: Vec<PathBuf>,
        /// Where to write the artifact.
        #[arg(long, required = true)]
        out: PathBuf,
        /// Item weight `n^-x` for a task family of `n` items (0 = every item alike, 1 = every
        /// family alike); families are read from `task` at training time only.
        #[arg(long, default_value_t = FAMILY_BALANCE, value_parser = balance)]
        family_balance: f64,
    },
    /// Fit on one split and report routing quality and cost on another.
    Eval {
        /// Training JSONL files or directories.
        #[arg(long, required = true, num_args = 1..)]
        train: Vec<PathBuf>,
        /// Test JSONL files or directories.
        #[arg(long, required = true, num_args = 1..)]
        test: Vec<PathBuf>,
        /// Modes to report for multi-model families.
        #[arg(long, value_enum, default_value = "all")]
        mode: ModeArg,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// Item weight `n^-x` for a task family of `n` training items (see `train`).
        #[arg(long, default_value_t = FAMILY_BALANCE, value_parser = balance)]
        family_balance: f64,
    },
}

/// The library's default (`FitConfig::family_balance`), shown in `--help`.
const FAMILY_BALANCE: f64 = 0.5;

/// A secret argument: its `Debug` (and so the `Cli`'s) never shows the value.
fn secret(s: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::from(s))
}

fn balance(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!("{s:?} is not a number from 0 to 1")),
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ModeArg {
    Balanced,
    Quality,
    Cost,
    All,
}

impl Cli {
    /// The `--log-format` asked for.
    pub fn log_format(&self) -> LogFormat {
        self.log_format
    }

    /// The tokio runtime this command wants: `serve --threads 1` gets a current-thread
    /// runtime, anything else a multi-thread one (one worker per core unless `--threads`).
    pub fn runtime(&self) -> std::io::Result<tokio::runtime::Runtime> {
        let threads = match &self.command {
            Command::Serve { threads, .. } => threads.map(usize::from),
            _ => None,
        };
        let mut builder = match threads {
            Some(1) => tokio::runtime::Builder::new_current_thread(),
            Some(n) => {
                let mut b = tokio::runtime::Builder::new_multi_thread();
                b.worker_threads(n);
                b
            }
            None => tokio::runtime::Builder::new_multi_thread(),
        };
        builder.enable_all().build()
    }

    /// Runs the parsed command.
    pub async fn run(self) -> ExitCode {
        match self.command {
            Command::Serve {
                config,
                listen,
                redis_url,
                ..
            } => serve(config, listen, redis_url).await,
            Command::Train {
                data,
                out,
                family_balance,
            } => {
                let mut cfg = learned::TrainConfig {
                    data,
                    out: Some(out.clone()),
                    ..Default::default()
                };
                cfg.fit.family_balance = family_balance;
                report(learned::train(&cfg).map(|s| {
                    format!(
                        "trained on {} items in {:.1} s; heads: {}; wrote {} ({} bytes)",
                        s.items,
                        s.seconds,
                        s.models.join(", "),
                        out.display(),
                        s.artifact_bytes
                    )
                }))
            }
            Command::Eval {
                train,
                test,
                mode,
                json,
                family_balance,
            } => {
                let modes = match mode {
                    ModeArg::Balanced => vec![Mode::Balanced],
                    ModeArg::Quality => vec![Mode::Quality],
                    ModeArg::Cost => vec![Mode::Cost],
                    ModeArg::All => Mode::ALL.to_vec(),
                };
                let mut cfg = learned::eval::EvalConfig {
                    train,
                    test,
                    modes,
                    ..Default::default()
                };
                cfg.fit.family_balance = family_balance;
                report(learned::eval::run(&cfg).map(|r| {
                    if json {
                        r.to_json().to_string()
                    } else {
                        r.to_table()
                    }
                }))
            }
        }
    }
}

fn report<E: std::fmt::Display>(result: Result<String, E>) -> ExitCode {
    match result {
        Ok(text) => {
            // `println!` panics when the reader has gone (`routewise eval | head`); a closed
            // pipe is the reader's choice, not a failure.
            use std::io::Write;
            match writeln!(std::io::stdout().lock(), "{text}") {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    eprintln!("routewise: cannot write the output: {e}");
                    ExitCode::FAILURE
                }
                _ => ExitCode::SUCCESS,
            }
        }
        Err(e) => {
            eprintln!("routewise: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(
    config: Option<PathBuf>,
    listen: Option<SocketAddr>,
    redis_url: Option<Secret>,
) -> ExitCode {
    let gateway = match (
        config.as_deref().map(Config::from_file).transpose(),
        redis_url,
    ) {
        (Ok(None), None) => Ok(Gateway::default_pool()),
        (Ok(cfg), url) => {
            let mut cfg = cfg.unwrap_or_else(Config::default_pool);
            match url {
                // The message never repeats the URL: it may carry a password.
                Some(url) if redis::Client::open(url.expose()).is_err() => {
                    Err("--redis-url is not a redis:// URL such as redis://127.0.0.1:6379/0".into())
                }
                Some(url) => {
                    let mut store = StoreSettings::new(url.expose());
                    if let Some(from_file) = &cfg.store {
                        store.ttl = from_file.ttl;
                        store.key_prefix.clone_from(&from_file.key_prefix);
                    }
                    cfg.store = Some(store);
                    Gateway::from_config(cfg).map_err(|e| e.to_string())
                }
                None => Gateway::from_config(cfg).map_err(|e| e.to_string()),
            }
        }
        (Err(e), _) => Err(e.to_string()),
    };
    let gateway = match gateway {
        Ok(g) => g,
        Err(e) => {
            eprintln!("routewise: {e}");
            return ExitCode::from(2);
        }
    };
    let addr = listen.unwrap_or(gateway.config().server.listen);
    if config.is_none() && !addr.ip().is_loopback() {
        eprintln!(
            "routewise: the embedded default pool has access control off and binds loopback only; \
             {addr} is not a loopback address (use --config with access.api_keys_env to serve others)"
        );
        return ExitCode::from(2);
    }
    if let Some(why) = gateway.config().exposure_error(addr) {
        eprintln!("routewise: {why}");
        return ExitCode::from(2);
    }
    let banner = crate::banner(gateway.config(), addr);
    let running = match gateway.bind(addr).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("routewise: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "{}",
        banner.replace("{addr}", &running.local_addr().to_string())
    );
    shutdown_signal().await;
    println!("routewise: shutting down, draining in-flight requests");
    running.shutdown().await;
    ExitCode::SUCCESS
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! { _ = tokio::signal::ctrl_c() => {}, _ = term.recv() => {} }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_parses() {
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from(["routewise", "serve", "--listen", "127.0.0.1:0"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Serve {
                listen: Some(_),
                config: None,
                threads: None,
                ..
            }
        ));
        let cli =
            Cli::try_parse_from(["routewise", "serve", "--redis-url", "redis://h:1/0"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Serve { redis_url: Some(ref u), .. } if u.expose() == "redis://h:1/0"
        ));
        let cli = Cli::try_parse_from(["routewise", "serve", "--redis-url", "redis://:pw1@h:1/0"])
            .unwrap();
        assert!(!format!("{cli:?}").contains("pw1"), "{cli:?}");
        let cli = Cli::try_parse_from([
            "routewise",
            "eval",
            "--train",
            "a.jsonl",
            "--test",
            "b.jsonl",
            "--mode",
            "cost",
        ]);
        assert!(matches!(
            cli.unwrap().command,
            Command::Eval {
                mode: ModeArg::Cost,
                ..
            }
        ));
        assert!(Cli::try_parse_from(["routewise", "serve", "--listen", "nowhere"]).is_err());
        let cli = Cli::try_parse_from(["routewise", "serve", "--log-format", "json"]).unwrap();
        assert_eq!(cli.log_format(), LogFormat::Json);
        let cli = Cli::try_parse_from(["routewise", "serve"]).unwrap();
        assert_eq!(cli.log_format(), LogFormat::Text);
        assert!(Cli::try_parse_from(["routewise", "serve", "--log-format", "xml"]).is_err());
        assert!(Cli::try_parse_from(["routewise", "train"]).is_err());
        // Without `--out` a run would train and then write nothing.
        assert!(Cli::try_parse_from(["routewise", "train", "--data", "d"]).is_err());
    }

    #[test]
    fn family_balance_defaults_to_the_library_and_is_bounded() {
        assert_eq!(
            FAMILY_BALANCE,
            routewise_strategy::learned::FitConfig::default().family_balance
        );
        let train = |x: &str| {
            Cli::try_parse_from([
                "routewise",
                "train",
                "--data",
                "d",
                "--out",
                "o",
                "--family-balance",
                x,
            ])
        };
        assert!(matches!(
            train("0").unwrap().command,
            Command::Train { family_balance, .. } if family_balance == 0.0
        ));
        for bad in ["1.5", "-0.1", "half", "NaN"] {
            assert!(train(bad).is_err(), "{bad}");
        }
        let cli =
            Cli::try_parse_from(["routewise", "eval", "--train", "a", "--test", "b"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Eval { family_balance, .. } if family_balance == FAMILY_BALANCE
        ));
    }

    use tokio::runtime::RuntimeFlavor;

    fn flavor(args: &[&str]) -> RuntimeFlavor {
        let cli = Cli::try_parse_from(args).unwrap();
        cli.runtime().unwrap().handle().runtime_flavor()
    }

    #[test]
    fn serve_threads_picks_the_runtime() {
        assert_eq!(
            flavor(&["routewise", "serve", "--threads", "1"]),
            RuntimeFlavor::CurrentThread
        );
        assert_eq!(
            flavor(&["routewise", "serve", "--threads", "3"]),
            RuntimeFlavor::MultiThread
        );
        assert_eq!(flavor(&["routewise", "serve"]), RuntimeFlavor::MultiThread);
        assert!(Cli::try_parse_from(["routewise", "serve", "--threads", "0"]).is_err());
    }
}
