//! The command line: `check`, `plan`, `apply`, `status`. `main` only calls [`run`].

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use futures_util::{StreamExt, stream};

use crate::aws::AwsCloud;
use crate::clock::{Clock, SystemClock};
use crate::cloud::Cloud;
use crate::config::{self, Config, Environment};
use crate::engine;
use crate::report;

/// Puts AWS staging environments to sleep on a schedule and wakes them exactly as they were.
#[derive(Debug, Parser)]
#[command(name = "lightsout", version, about)]
pub struct Cli {
    /// The schedules directory (or one schedule file).
    #[arg(
        long,
        short = 's',
        global = true,
        env = "LIGHTSOUT_SCHEDULES",
        default_value = "schedules"
    )]
    schedules: PathBuf,
    /// Log format on stderr.
    #[arg(long, global = true, env = "LIGHTSOUT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
    /// Attempts per AWS call, with adaptive retry on throttling.
    #[arg(
        long,
        global = true,
        env = "LIGHTSOUT_MAX_ATTEMPTS",
        default_value_t = 5
    )]
    max_attempts: u32,
    #[command(subcommand)]
    command: Command,
}

/// Log formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Readable lines.
    Human,
    /// One JSON object a line.
    Json,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// A readable table.
    Table,
    /// JSON.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check schedule files: report every problem with its file, line and fix.
    Check {
        /// Directory or file to check (default: --schedules).
        path: Option<PathBuf>,
    },
    /// Show what would change now (or at --at), and why. Calls only describe APIs.
    Plan {
        #[command(flatten)]
        target: Target,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Table)]
        output: Output,
    },
    /// Converge the environments on their schedule.
    Apply {
        #[command(flatten)]
        target: Target,
        /// Plan and report, but make no write call.
        #[arg(long)]
        dry_run: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Table)]
        output: Output,
    },
    /// Run the daemon: the HTTP API and status page, and the reconcile loop.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "LIGHTSOUT_LISTEN", default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// The state store: a SQLite file, or `dynamodb:TABLE` to share state between copies.
        #[arg(long, env = "LIGHTSOUT_STORE", default_value = "lightsout.db")]
        store: String,
        /// A file of API tokens, one `NAME TOKEN [ENV,ENV]` a line (or set LIGHTSOUT_TOKENS).
        #[arg(long, env = "LIGHTSOUT_TOKENS_FILE")]
        tokens_file: Option<PathBuf>,
        /// The longest time between reconcile passes.
        #[arg(long, default_value = "1m", value_parser = parse_delta)]
        every: chrono::TimeDelta,
        /// Time between passes while resources are still changing.
        #[arg(long, default_value = "15s", value_parser = parse_delta)]
        settle: chrono::TimeDelta,
        /// Run the clock from this instant instead of now (RFC 3339), to rehearse a schedule.
        #[arg(long, value_parser = parse_instant)]
        at: Option<DateTime<Utc>>,
        /// This copy's name in leases. Keep it stable per deployment (a restarted daemon then
        /// takes its own lease back at once); two running copies must never share one.
        #[arg(long, env = "LIGHTSOUT_INSTANCE")]
        instance: Option<String>,
        /// State-changing requests one identity may make at once.
        #[arg(long, default_value_t = 5)]
        rate_burst: u32,
        /// State-changing requests one identity may make per minute, sustained.
        #[arg(long, default_value_t = 10)]
        rate_per_minute: u32,
    },
    /// Run as an AWS Lambda function (chosen by itself when AWS_LAMBDA_RUNTIME_API is set).
    Lambda,
    /// Make the daily cost and health digest and send it to the environment's channels.
    Digest {
        /// Only this environment.
        #[arg(long)]
        env: Option<String>,
        /// The day to report on, a local date like 2026-11-28 (default: yesterday).
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
        /// Print the Markdown digest and send nothing.
        #[arg(long)]
        dry_run: bool,
        /// Send again to channels that already got this day's digest.
        #[arg(long)]
        force: bool,
        /// The state store (audit trail, what was sent, cached Cost Explorer answers).
        #[arg(long, env = "LIGHTSOUT_STORE", default_value = "lightsout.db")]
        store: String,
    },
    /// Show each resource's observed state, desired state and the next transition.
    Status {
        #[command(flatten)]
        target: Target,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Table)]
        output: Output,
    },
}

#[derive(Debug, clap::Args)]
struct Target {
    /// Only this environment.
    #[arg(long)]
    env: Option<String>,
    /// Evaluate the schedule as if it were this instant (RFC 3339, like 2026-12-02T22:00:00Z).
    #[arg(long, value_parser = parse_instant)]
    at: Option<DateTime<Utc>>,
}

fn parse_delta(s: &str) -> Result<chrono::TimeDelta, String> {
    config::parse_duration(s)
}

fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{e}: write an RFC 3339 instant, like 2026-12-02T22:00:00Z or 2026-12-02T23:00:00+01:00"))
}

/// Runs the command line; returns the process exit code (0 ok, 1 something failed, 2 bad input).
pub async fn run(cli: Cli) -> ExitCode {
    init_logs(cli.log_format);
    match cli.command {
        Command::Check { ref path } => {
            let path = path.clone().unwrap_or_else(|| cli.schedules.clone());
            match config::load(&path) {
                Ok(cfg) => {
                    for e in &cfg.environments {
                        println!(
                            "{}: ok ({}, {}, {} window{})",
                            e.source.display(),
                            e.name,
                            e.timezone,
                            e.windows.len(),
                            if e.windows.len() == 1 { "" } else { "s" }
                        );
                    }
                    ExitCode::SUCCESS
                }
                Err(diags) => {
                    eprintln!("{diags}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Plan { ref target, output } => {
            let Some((envs, now)) = targets(&cli, target) else {
                return ExitCode::from(2);
            };
            let cloud = AwsCloud::from_env(cli.max_attempts).await;
            let plans: Vec<_> =
                stream::iter(envs.iter().map(|e| engine::plan_env(&cloud, e, None, now)))
                    .buffered(4)
                    .collect()
                    .await;
            emit(output, &plans, report::plan);
            eprintln!("{}", report::requests(&cloud.requests()));
            if plans.iter().any(|p| !p.problems.is_empty()) {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Command::Apply {
            ref target,
            dry_run,
            output,
        } => {
            let Some((envs, now)) = targets(&cli, target) else {
                return ExitCode::from(2);
            };
            let cloud = AwsCloud::from_env(cli.max_attempts).await;
            let reports: Vec<_> = stream::iter(
                envs.iter()
                    .map(|e| engine::reconcile(&cloud, e, None, now, dry_run)),
            )
            .buffered(4)
            .collect()
            .await;
            emit(output, &reports, report::pass);
            let requests = report::requests(&cloud.requests());
            match output {
                Output::Table => println!("{requests}"),
                Output::Json => eprintln!("{requests}"),
            }
            if reports.iter().any(|r| r.failed()) {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Command::Serve {
            listen,
            ref store,
            ref tokens_file,
            every,
            settle,
            rate_burst,
            rate_per_minute,
            at,
            ref instance,
        } => match serve(
            &cli,
            ServeOptions {
                listen,
                store,
                tokens_file: tokens_file.as_deref(),
                every,
                settle,
                limits: (rate_burst, rate_per_minute),
                at,
                instance: instance.clone(),
            },
        )
        .await
        {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
        Command::Lambda => match lambda(&cli).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
        Command::Digest {
            ref env,
            date,
            dry_run,
            force,
            ref store,
        } => {
            let target = Target {
                env: env.clone(),
                at: None,
            };
            let Some((envs, now)) = targets(&cli, &target) else {
                return ExitCode::from(2);
            };
            let opts = crate::digest::RunOptions { dry_run, force };
            match digest(&cli, envs, now, date, store, opts).await {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Status { ref target, output } => {
            let Some((envs, now)) = targets(&cli, target) else {
                return ExitCode::from(2);
            };
            let cloud = AwsCloud::from_env(cli.max_attempts).await;
            let rows: Vec<_> = stream::iter(
                envs.iter()
                    .map(|e| engine::observe_and_plan(&cloud, e, None, now)),
            )
            .buffered(4)
            .collect()
            .await;
            if output == Output::Json {
                let json: Vec<_> = rows
                    .iter()
                    .map(|(p, obs)| {
                        serde_json::json!({
                            "env": p.env,
                            "awake": p.awake,
                            "summary": p.summary,
                            "resources": p.items.iter().map(|i| serde_json::json!({
                                "resource": i.resource.to_string(),
                                "observed": report::observed(obs, &i.resource),
                                "plan": i,
                            })).collect::<Vec<_>>(),
                            "problems": p.problems,
                        })
                    })
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json).unwrap_or_default()
                );
            } else {
                for (p, obs) in &rows {
                    println!("{}", report::status(p, obs));
                }
            }
            if rows.iter().any(|(p, _)| !p.problems.is_empty()) {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}

/// `lightsout serve`.
/// Builds the running service shared by `serve` and `lambda`: schedules, tokens, the Slack
/// secret, the store (`dynamodb:TABLE` or a SQLite path) and the AWS clients, once.
async fn build_app(
    cli: &Cli,
    store: &str,
    tokens_file: Option<&std::path::Path>,
    instance: String,
) -> anyhow::Result<crate::service::App<AwsCloud>> {
    use anyhow::Context as _;
    let cfg = config::load(&cli.schedules)
        .map_err(|d| anyhow::anyhow!("{d}\nfix the schedule files (see `lightsout check`)"))?;
    let cloud = AwsCloud::from_env(cli.max_attempts).await;
    let tokens_text = match tokens_file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the tokens file {}", path.display()))?,
        None => secret("LIGHTSOUT_TOKENS", cloud.sdk_config())
            .await?
            .unwrap_or_default(),
    };
    let tokens = crate::api::auth::Tokens::parse(&tokens_text)
        .map_err(|e| anyhow::anyhow!("API tokens: {e}"))?;
    if tokens.is_empty() {
        tracing::warn!(
            "no API tokens (LIGHTSOUT_TOKENS or --tokens-file): the API will refuse every request"
        );
    }
    let store = open_store(store, &cloud)?;
    let digest_cloud = std::sync::Arc::new(AwsCloud::new(cloud.sdk_config().clone()));
    let digester = build_digester(
        cfg.clone(),
        digest_cloud,
        store.clone(),
        std::sync::Arc::new(SystemClock),
    )
    .await?;
    let mut app = crate::service::App::new(
        cfg,
        cloud,
        store,
        std::sync::Arc::new(SystemClock),
        tokens,
        instance,
    );
    app.digest = Some(std::sync::Arc::new(digester));
    app.slack = secret("LIGHTSOUT_SLACK_SIGNING_SECRET", app.cloud.sdk_config())
        .await?
        .map(|s| crate::api::slack::SlackVerifier::new(&s));
    Ok(app)
}

/// `lightsout digest`.
async fn digest(
    cli: &Cli,
    envs: Vec<Environment>,
    now: DateTime<Utc>,
    date: Option<chrono::NaiveDate>,
    store: &str,
    opts: crate::digest::RunOptions,
) -> anyhow::Result<ExitCode> {
    // Every day is checked before anything is sent.
    let mut days = Vec::new();
    for env in &envs {
        let today = now.with_timezone(&env.timezone).date_naive();
        let day = date.unwrap_or_else(|| crate::digest::Digester::default_day(env, now));
        if day >= today {
            anyhow::bail!(
                "--date {day} has not ended yet in {} ({}); give a day before {today}",
                env.name,
                env.timezone
            );
        }
        days.push(day);
    }
    let cloud = std::sync::Arc::new(AwsCloud::from_env(cli.max_attempts).await);
    let store = open_store(store, &cloud)?;
    let cfg = Config {
        environments: envs.clone(),
    };
    let digester = build_digester(cfg, cloud, store, std::sync::Arc::new(SystemClock)).await?;
    let mut failed = false;
    for (env, day) in envs.iter().zip(days) {
        let r = digester.run(env, day, opts).await;
        failed |= r.failed();
        eprintln!("{}", report::digest(&r));
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The store named on the command line: `dynamodb:TABLE` or a SQLite file.
fn open_store(
    store: &str,
    cloud: &AwsCloud,
) -> anyhow::Result<std::sync::Arc<dyn crate::store::Store>> {
    Ok(match store.strip_prefix("dynamodb:") {
        Some(table) => std::sync::Arc::new(crate::aws::DynamoStore::from_config(
            cloud.sdk_config(),
            table,
        )),
        None => std::sync::Arc::new(crate::store::SqliteStore::open(std::path::Path::new(
            store,
        ))?),
    })
}

/// The digester, with the Slack webhook secret read once.
async fn build_digester(
    cfg: Config,
    cloud: std::sync::Arc<AwsCloud>,
    store: std::sync::Arc<dyn crate::store::Store>,
    clock: std::sync::Arc<dyn Clock>,
) -> anyhow::Result<crate::digest::Digester> {
    let webhook = secret("LIGHTSOUT_SLACK_WEBHOOK_URL", cloud.sdk_config()).await?;
    let uses_slack = cfg
        .environments
        .iter()
        .any(|e| e.digest.channels.contains(&config::Channel::Slack));
    if uses_slack && webhook.is_none() {
        tracing::warn!(
            "a digest goes to Slack but LIGHTSOUT_SLACK_WEBHOOK_URL (or _FILE, _SSM) is not set: that channel will fail"
        );
    }
    Ok(crate::digest::Digester::new(
        cfg, cloud, store, clock, webhook,
    ))
}

/// `lightsout lambda`: the Lambda runtime loop (also chosen by itself when
/// `AWS_LAMBDA_RUNTIME_API` is set).
pub async fn lambda(cli: &Cli) -> anyhow::Result<()> {
    let store = std::env::var("LIGHTSOUT_STORE").unwrap_or_default();
    if !store.starts_with("dynamodb:") {
        anyhow::bail!("in Lambda the store must be shared: set LIGHTSOUT_STORE=dynamodb:TABLE");
    }
    let instance = format!(
        "lambda-{}",
        std::env::var("AWS_LAMBDA_LOG_STREAM_NAME").unwrap_or_default()
    );
    let app = std::sync::Arc::new(build_app(cli, &store, None, instance).await?);
    crate::lambda::run(app)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// What `lightsout serve` was asked to do.
struct ServeOptions<'a> {
    listen: std::net::SocketAddr,
    store: &'a str,
    tokens_file: Option<&'a std::path::Path>,
    every: chrono::TimeDelta,
    settle: chrono::TimeDelta,
    limits: (u32, u32),
    at: Option<DateTime<Utc>>,
    instance: Option<String>,
}

async fn serve(cli: &Cli, o: ServeOptions<'_>) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let ServeOptions {
        listen,
        store,
        tokens_file,
        every,
        settle,
        limits: (burst, per_minute),
        at,
        instance,
    } = o;
    let instance = instance.unwrap_or_else(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        format!("{}-{}", host.trim(), std::process::id())
    });
    let mut app = build_app(cli, store, tokens_file, instance).await?;
    app.limiter = crate::api::auth::RateLimiter::new(burst, per_minute);
    if let Some(at) = at {
        tracing::warn!(%at, "rehearsal: the clock runs from --at, not from now");
        app.clock = std::sync::Arc::new(crate::clock::OffsetClock::starting_at(at));
    }
    let app = std::sync::Arc::new(app);
    let envs = app.config.environments.len();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, environments = envs, "serving");
    println!("lightsout serving {envs} environment(s) on http://{addr}/");
    let pace = crate::daemon::Pace {
        cadence: every,
        settle: settle
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(15)),
    };
    let (passes, _) = tokio::sync::watch::channel(0);
    crate::daemon::serve(app, listener, pace, crate::daemon::signals(), passes).await?;
    Ok(())
}

/// A secret from the environment variable `NAME`, from the file named by `NAME_FILE`, or from
/// the SSM parameter (SecureString, decrypted) named by `NAME_SSM`, read once at start-up.
/// Never logged: errors name the variable and the file or parameter, not the value.
pub async fn secret(name: &str, aws: &aws_config::SdkConfig) -> anyhow::Result<Option<String>> {
    if let Ok(v) = std::env::var(name) {
        return Ok(Some(v));
    }
    if let Ok(path) = std::env::var(format!("{name}_FILE")) {
        return std::fs::read_to_string(&path)
            .map(|s| Some(s.trim().to_string()))
            .map_err(|e| anyhow::anyhow!("cannot read {name}_FILE ({path}): {e}"));
    }
    match std::env::var(format!("{name}_SSM")) {
        Ok(parameter) => crate::aws::outbox::parameter(aws, &parameter)
            .await
            .map(|s| Some(s.trim().to_string()))
            .map_err(|e| anyhow::anyhow!("cannot read {name}_SSM (parameter {parameter}): {e}")),
        Err(_) => Ok(None),
    }
}

/// Prints results as JSON, or each as a table.
fn emit<T: serde::Serialize>(output: Output, results: &[T], table: impl Fn(&T) -> String) {
    match output {
        Output::Json => match serde_json::to_string_pretty(results) {
            Ok(json) => println!("{json}"),
            Err(e) => eprintln!("error: cannot render JSON: {e}"),
        },
        Output::Table => results.iter().for_each(|r| println!("{}", table(r))),
    }
}

/// Loads the configuration and picks the environments and instant; prints why not on failure.
fn targets(cli: &Cli, target: &Target) -> Option<(Vec<Environment>, DateTime<Utc>)> {
    let cfg: Config = match config::load(&cli.schedules) {
        Ok(c) => c,
        Err(diags) => {
            eprintln!("{diags}");
            eprintln!("fix the schedule files (see `lightsout check`) and run again");
            return None;
        }
    };
    let envs = match &target.env {
        None => cfg.environments,
        Some(name) => match cfg.environment(name) {
            Some(e) => vec![e.clone()],
            None => {
                let names: Vec<&str> = cfg.environments.iter().map(|e| e.name.as_str()).collect();
                eprintln!(
                    "error: no environment \"{name}\" in {}; environments: {}",
                    cli.schedules.display(),
                    names.join(", ")
                );
                return None;
            }
        },
    };
    Some((envs, target.at.unwrap_or_else(|| SystemClock.now())))
}

fn init_logs(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("LIGHTSOUT_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (tests calling run twice) is harmless: keep the first.
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
