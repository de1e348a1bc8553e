//! The command line: `check`, `plan`, `apply`, `status`, `wake`, `sleep`, `serve`, `lambda`,
//! `digest`. `main` only calls [`run`].
//!
//! - [`args`]: the flags and subcommands as typed.
//! - [`startup`]: the one composition root (schedules, AWS clients, store, clock).
//! - [`wait`]: `wake` and `sleep`, through the store or a daemon's API, and `--wait`.
//! - [`table`]: plans, pass reports and status as tables.
//!
//! Exit codes: 0 done, 1 something failed or needs attention, 2 bad input (flags, schedules).
//! `anyhow` lives here only: every error is printed once, with its causes, on one line.

pub mod args;
pub mod redact;
pub mod startup;
pub mod table;
pub mod wait;

use std::process::ExitCode;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, stream};

pub use args::{Cli, Command, LogFormat, Output};
pub use startup::{secret, secret_in};

use crate::clock::{Clock, SystemClock};
use crate::config;
use crate::engine::EnvReport;
use crate::model::{Config, Environment};
use crate::ports::Cloud;
use crate::service::{EnvPass, State};
use args::{AwsArgs, StoreArgs, Target};
use startup::Parts;

/// Runs the command line; returns the process exit code (0 ok, 1 something failed or needs
/// attention, 2 bad input).
pub async fn run(cli: Cli) -> ExitCode {
    init_logs(cli.log_format);
    let result = match &cli.command {
        Command::Check { path } => return check(path.as_deref().unwrap_or(&cli.schedules)),
        Command::Plan {
            target,
            output,
            aws,
            store,
        } => plan(&cli, target, *output, aws, store).await,
        Command::Apply {
            target,
            dry_run,
            output,
            aws,
            store,
        } => apply(&cli, target, *dry_run, *output, aws, store).await,
        Command::Status {
            target,
            output,
            aws,
            store,
        } => status(&cli, target, *output, aws, store).await,
        Command::Wake {
            env,
            duration,
            reason,
            wait,
            aws,
            store,
        } => {
            wait::request(
                &cli,
                wait::Ask::Wake {
                    env,
                    duration,
                    reason,
                },
                wait,
                aws,
                store,
            )
            .await
        }
        Command::Sleep {
            env,
            reason,
            wait,
            aws,
            store,
        } => wait::request(&cli, wait::Ask::Sleep { env, reason }, wait, aws, store).await,
        Command::Serve { .. } => serve(&cli).await.map(|()| ExitCode::SUCCESS),
        Command::Lambda { aws } => lambda(&cli, aws).await.map(|()| ExitCode::SUCCESS),
        Command::Digest {
            env,
            date,
            dry_run,
            force,
            all,
            output,
            aws,
            store,
        } => {
            let opts = crate::digest::RunOptions {
                dry_run: *dry_run,
                force: *force,
                figures: matches!(output, Output::Json),
                day: *date,
            };
            digest(&cli, env.as_deref(), *all, aws, store, opts).await
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn check(path: &std::path::Path) -> ExitCode {
    match config::load(path) {
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

/// The environments a command acts on, and the instant it plans for.
fn targets(
    cli: &Cli,
    config: &Config,
    target: &Target,
) -> anyhow::Result<(Vec<Environment>, Option<DateTime<Utc>>)> {
    let envs = match &target.env {
        None => config.environments.clone(),
        Some(name) => vec![environment(cli, config, name)?.clone()],
    };
    Ok((envs, target.at))
}

/// The environment called `name`, or an error listing the ones there are.
fn environment<'c>(cli: &Cli, config: &'c Config, name: &str) -> anyhow::Result<&'c Environment> {
    config.environment(name).ok_or_else(|| {
        let names: Vec<&str> = config
            .environments
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        anyhow::anyhow!(
            "no environment \"{name}\" in {}; environments: {}",
            cli.schedules.display(),
            names.join(", ")
        )
    })
}

async fn plan(
    cli: &Cli,
    target: &Target,
    output: Output,
    aws: &AwsArgs,
    store: &StoreArgs,
) -> anyhow::Result<ExitCode> {
    let parts = Parts::open(&cli.schedules, aws.limits(), &store.store).await?;
    let (envs, at) = targets(cli, &parts.config, target)?;
    let app = parts.app(startup::instance_name("cli-"), startup::cli_actor());
    let now = at.unwrap_or_else(|| app.clock.now());
    let planned: Vec<_> = stream::iter(envs.iter().map(|e| app.plan_env(e, now)))
        .buffered(4)
        .collect()
        .await;
    let mut plans = Vec::new();
    for p in planned {
        plans.push(p?.0);
    }
    emit(output, &plans, table::plan);
    eprintln!("{}", crate::ports::describe_requests(&app.cloud.requests()));
    let attention = plans.iter().any(table::needs_attention);
    Ok(exit(attention))
}

async fn apply(
    cli: &Cli,
    target: &Target,
    dry_run: bool,
    output: Output,
    aws: &AwsArgs,
    store: &StoreArgs,
) -> anyhow::Result<ExitCode> {
    let parts = Parts::open(&cli.schedules, aws.limits(), &store.store).await?;
    let (envs, at) = targets(cli, &parts.config, target)?;
    let app = parts.app(startup::instance_name("cli-"), startup::cli_actor());
    let now = at.unwrap_or_else(|| app.clock.now());
    let mut reports: Vec<EnvReport> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    if dry_run {
        // Nothing is written, so no lease is needed.
        for env in &envs {
            let (p, _, _) = app.plan_env(env, now).await?;
            reports.push(
                crate::engine::apply(&app.cloud, env, p, true, &crate::engine::Fence::open()).await,
            );
        }
    } else {
        let passes: Vec<(String, EnvPass)> = stream::iter(envs.iter().map(|e| {
            let app = &app;
            async move { (e.name.clone(), app.reconcile_env(e, at, None).await) }
        }))
        .buffered(4)
        .collect()
        .await;
        for (env, pass) in passes {
            match pass {
                EnvPass::Reconciled(r) => reports.push(r),
                EnvPass::Skipped(why) => notes.push(format!("{env}: not applied: {why}")),
                EnvPass::Deferred(why) => notes.push(format!("{env}: not applied: {why}")),
            }
        }
    }
    emit(output, &reports, table::pass);
    for note in &notes {
        eprintln!("{note}");
    }
    let requests = format!(
        "{}\n{}",
        crate::ports::describe_requests(&app.cloud.requests()),
        crate::ports::describe_throttled(&app.cloud.throttled())
    );
    match output {
        Output::Table => println!("{requests}"),
        Output::Json => eprintln!("{requests}"),
    }
    Ok(exit(
        reports.iter().any(EnvReport::failed) || !notes.is_empty(),
    ))
}

async fn status(
    cli: &Cli,
    target: &Target,
    output: Output,
    aws: &AwsArgs,
    store: &StoreArgs,
) -> anyhow::Result<ExitCode> {
    let parts = Parts::open(&cli.schedules, aws.limits(), &store.store).await?;
    let (envs, at) = targets(cli, &parts.config, target)?;
    let app = parts.app(startup::instance_name("cli-"), startup::cli_actor());
    let now = at.unwrap_or_else(|| app.clock.now());
    let mut rows = Vec::new();
    let planned: Vec<_> = stream::iter(envs.iter().map(|e| app.plan_env(e, now)))
        .buffered(4)
        .collect()
        .await;
    for (env, p) in envs.iter().zip(planned) {
        let (plan, observed, ov) = p?;
        let lease = app
            .store
            .lease_holder(&env.name, app.clock.now())
            .await
            .ok()
            .flatten();
        let recorded = app.recorded_progress(&env.name).await;
        let idle = app.idle_status(env, ov.as_ref(), &observed, now).await;
        rows.push(
            table::StatusRow::new(env, plan, observed, ov, lease, now)
                .with_progress(recorded.as_ref())
                .with_idle(env, idle),
        );
    }
    if output == Output::Json {
        let json: Vec<_> = rows.iter().map(table::StatusRow::json).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json).unwrap_or_default()
        );
    } else {
        for row in &rows {
            println!("{}", row.table());
        }
    }
    let attention = rows
        .iter()
        .any(|r| r.state == State::Unknown || table::needs_attention(&r.plan));
    Ok(exit(attention))
}

fn exit(attention: bool) -> ExitCode {
    if attention {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `lightsout digest`.
async fn digest(
    cli: &Cli,
    env: Option<&str>,
    all: bool,
    aws: &AwsArgs,
    store: &StoreArgs,
    opts: crate::digest::RunOptions,
) -> anyhow::Result<ExitCode> {
    let config = startup::load_config(&cli.schedules)?;
    let target = Target {
        env: env.map(String::from),
        at: None,
    };
    let (envs, _) = targets(cli, &config, &target)?;
    let now = SystemClock.now();
    // The day is checked before anything is asked or sent.
    if let Some(day) = opts.day {
        let last = crate::calendar::last_ended_day(now);
        if day > last {
            let ends = (day + chrono::TimeDelta::days(1))
                .and_time(chrono::NaiveTime::MIN)
                .and_utc();
            let local = envs
                .iter()
                .map(|e| {
                    format!(
                        "{} in {}",
                        ends.with_timezone(&e.timezone).format("%a %-d %b %H:%M %Z"),
                        e.name
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            anyhow::bail!(
                "--date {day}: that UTC billing day has not ended yet (it ends at 00:00 UTC, {local}); the latest ended one is {last}"
            );
        }
    }
    let cloud = Arc::new(crate::aws::AwsCloud::from_env(aws.limits()).await);
    let store = startup::open_store(&store.store, &cloud)?;
    let cfg = Config {
        environments: envs.clone(),
    };
    let digester = startup::digester(cfg, cloud, store, Arc::new(SystemClock)).await?;
    let json = opts.figures;
    if all {
        let r = digester.run_combined(opts).await;
        eprintln!("{r}");
        if json {
            println!("{}", serde_json::to_string_pretty(&r.combined)?);
        }
        return Ok(exit(r.failed()));
    }
    let mut failed = false;
    let mut figures = Vec::new();
    for env in &envs {
        let r = digester.run(env, opts).await;
        failed |= r.failed();
        eprintln!("{}", r);
        if let Some(f) = r.figures {
            figures.push(f);
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&figures)?);
    }
    Ok(exit(failed))
}

/// `lightsout lambda`: the Lambda runtime loop (also chosen by itself when
/// `AWS_LAMBDA_RUNTIME_API` is set).
async fn lambda(cli: &Cli, aws: &AwsArgs) -> anyhow::Result<()> {
    let store = std::env::var("LIGHTSOUT_STORE").unwrap_or_default();
    if !store.starts_with("dynamodb:") {
        anyhow::bail!("in Lambda the store must be shared: set LIGHTSOUT_STORE=dynamodb:TABLE");
    }
    let instance = format!(
        "lambda-{}",
        std::env::var("AWS_LAMBDA_LOG_STREAM_NAME").unwrap_or_default()
    );
    let api = startup::server(&cli.schedules, aws.limits(), &store, None, instance)
        .await?
        .api();
    crate::lambda::run(Arc::new(api))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// `lightsout serve`.
async fn serve(cli: &Cli) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let Command::Serve {
        listen,
        tokens_file,
        every,
        settle,
        pass_timeout,
        at,
        instance,
        rate_burst,
        rate_per_minute,
        http,
        aws,
        store,
    } = &cli.command
    else {
        anyhow::bail!("not the serve command");
    };
    let instance = instance
        .clone()
        .unwrap_or_else(|| startup::instance_name(""));
    let mut server = startup::server(
        &cli.schedules,
        aws.limits(),
        &store.store,
        tokens_file.as_deref(),
        instance,
    )
    .await?;
    let app = &mut server.service;
    let pass_timeout_delta = chrono::TimeDelta::from_std(*pass_timeout).unwrap_or_default();
    if pass_timeout_delta + app.lease.margin >= app.lease.ttl {
        anyhow::bail!(
            "--pass-timeout {} is too long: a pass must end well inside its {}-minute lease (less {} s for one AWS call); use at most {}",
            crate::model::format_duration(pass_timeout_delta),
            app.lease.ttl.num_minutes(),
            app.lease.margin.num_seconds(),
            crate::model::format_duration(
                app.lease.ttl - app.lease.margin - chrono::TimeDelta::minutes(1)
            )
        );
    }
    if let Some(at) = at {
        tracing::warn!(%at, "rehearsal: the clock runs from --at, not from now");
        app.clock = Arc::new(crate::clock::OffsetClock::starting_at(*at));
    }
    let mut api = server.api();
    api.limiter = crate::api::auth::RateLimiter::new(*rate_burst, *rate_per_minute);
    api.http = http.limits();
    let api = Arc::new(api);
    let envs = api.service.config.environments.len();
    // Before the "serving" line: a SIGTERM after it must find the handlers in place.
    let shutdown = crate::daemon::signals();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, environments = envs, store = %store.store, "serving");
    println!("lightsout serving {envs} environment(s) on http://{addr}/");
    let pace = crate::daemon::Pace {
        cadence: *every,
        settle: settle
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(15)),
        pass_timeout: *pass_timeout,
    };
    let (passes, _) = tokio::sync::watch::channel(0);
    crate::daemon::serve(api, listener, pace, shutdown, passes).await?;
    Ok(())
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

/// Logs on stderr: human lines (coloured only on a terminal, and never with `NO_COLOR`) or JSON,
/// with AWS credentials redacted whatever the level ([`redact`]).
fn init_logs(format: LogFormat) {
    use std::io::IsTerminal as _;
    use tracing_subscriber::EnvFilter;
    // tokio_cron_scheduler announces its own start-up at INFO: noise beside lightsout's lines.
    let filter = EnvFilter::try_from_env("LIGHTSOUT_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,tokio_cron_scheduler=warn"));
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(redact::RedactedStderr);
    // A second initialisation (tests calling run twice) is harmless: keep the first.
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
