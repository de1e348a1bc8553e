//! The command line as typed: flags and subcommands (clap). [`super::run`] turns them into
//! actions; nothing here talks to AWS or the store.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};

use crate::aws::CallLimits;

/// Puts AWS staging environments to sleep on a schedule and wakes them exactly as they were.
#[derive(Debug, Parser)]
#[command(name = "lightsout", version, about, after_help = TOP_HELP)]
pub struct Cli {
    /// The schedules directory (or one schedule file).
    #[arg(
        long,
        short = 's',
        global = true,
        env = "LIGHTSOUT_SCHEDULES",
        default_value = "schedules",
        help_heading = "Global options"
    )]
    pub schedules: PathBuf,
    /// Log format on stderr (the level: LIGHTSOUT_LOG=debug).
    #[arg(long, global = true, env = "LIGHTSOUT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human, help_heading = "Global options")]
    pub log_format: LogFormat,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Log formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Readable lines (coloured on a terminal, unless NO_COLOR is set).
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

/// How lightsout talks to AWS.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "AWS calls")]
pub struct AwsArgs {
    /// Attempts per AWS call, with adaptive retry on throttling.
    #[arg(long, env = "LIGHTSOUT_MAX_ATTEMPTS", default_value_t = 5)]
    pub max_attempts: u32,
    /// The longest one attempt of an AWS call may take.
    #[arg(long, env = "LIGHTSOUT_ATTEMPT_TIMEOUT", default_value = "5s", value_parser = parse_std)]
    pub attempt_timeout: Duration,
    /// The longest one AWS call may take, retries included.
    #[arg(long, env = "LIGHTSOUT_CALL_TIMEOUT", default_value = "20s", value_parser = parse_std)]
    pub call_timeout: Duration,
    /// Client-side pacing: `on` spends each API category (ECS "Service modify", RDS, …) at
    /// the burst and rate AWS publishes for it and slows down on a throttling answer; a share
    /// such as `50%` leaves the rest to other tools in the account; `off` sends as fast as
    /// `concurrency` allows.
    #[arg(long, env = "LIGHTSOUT_PACE", default_value = "on", value_parser = crate::aws::Pace::parse)]
    pub pace: crate::aws::Pace,
}

impl AwsArgs {
    /// The limits every AWS client is built with.
    pub fn limits(&self) -> CallLimits {
        CallLimits {
            max_attempts: self.max_attempts.max(1),
            attempt_timeout: self.attempt_timeout,
            call_timeout: self.call_timeout.max(self.attempt_timeout),
            pace: self.pace,
            ..CallLimits::default()
        }
    }
}

/// The state store.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "State store")]
pub struct StoreArgs {
    /// The state store (overrides, audit trail, leases): a SQLite file, or `dynamodb:TABLE` to
    /// share it between copies. Every command and the daemon must use the same one.
    #[arg(long, env = "LIGHTSOUT_STORE", default_value = "lightsout.db")]
    pub store: String,
}

/// The HTTP server's limits (`serve`).
#[derive(Debug, Clone, clap::Args)]
pub struct HttpArgs {
    /// The longest a client may take to send a request's head (request line and headers),
    /// counted from when the server is ready for it: slow and idle connections are closed
    /// after it.
    #[arg(long, env = "LIGHTSOUT_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_secs)]
    pub header_timeout: Duration,
    /// The longest a request's body may take to arrive once its head has (408 after it), and an
    /// answer may wait for a client that does not read it.
    #[arg(long, env = "LIGHTSOUT_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_secs)]
    pub request_timeout: Duration,
    /// The most connections held at once; lowered to fit the open-file limit (less 64 for the
    /// store, AWS calls and logs). Past it the connection idle the longest is closed.
    #[arg(long, env = "LIGHTSOUT_MAX_CONNECTIONS", default_value_t = 512)]
    pub max_connections: usize,
    /// How long SIGTERM waits for requests already being handled (idle connections and requests
    /// still arriving are closed at once).
    #[arg(long, env = "LIGHTSOUT_SHUTDOWN_GRACE", default_value = "5s", value_parser = parse_std)]
    pub shutdown_grace: Duration,
}

impl HttpArgs {
    /// The limits the server runs with.
    pub fn limits(&self) -> crate::api::HttpLimits {
        crate::api::HttpLimits {
            header_timeout: self.header_timeout,
            request_timeout: self.request_timeout,
            max_connections: self.max_connections.max(1),
            shutdown_grace: self.shutdown_grace,
        }
    }
}

/// Which environments, at which instant.
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// Only this environment.
    #[arg(long)]
    pub env: Option<String>,
    /// Evaluate the schedule as if it were this instant (RFC 3339, like 2026-12-02T22:00:00Z).
    #[arg(long, value_parser = parse_instant)]
    pub at: Option<DateTime<Utc>>,
}

/// Waiting for an environment after a wake or sleep.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Waiting, and going through a daemon")]
pub struct WaitArgs {
    /// Wait until the environment is ready (awake, every task running; or asleep), showing
    /// progress resource by resource. Exits 0 when it is, 1 on --timeout or when a resource
    /// needs a person.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits.
    #[arg(long, default_value = "20m", value_parser = parse_delta)]
    pub timeout: chrono::TimeDelta,
    /// How often --wait looks.
    #[arg(long, default_value = "10s", value_parser = parse_std)]
    pub poll: Duration,
    /// Go through a running daemon's API at this URL (like http://127.0.0.1:8080) instead of
    /// the store; the token is read from LIGHTSOUT_TOKEN or --token-file.
    #[arg(long, env = "LIGHTSOUT_API")]
    pub api: Option<String>,
    /// A file holding the API token (for --api).
    #[arg(long, env = "LIGHTSOUT_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check schedule files: report every problem with its file, line and fix.
    ///
    /// Reads only the files: no AWS call, no store. Exits 1 when a file has a problem.
    #[command(after_help = CHECK_HELP)]
    Check {
        /// Directory or file to check (default: --schedules).
        path: Option<PathBuf>,
    },
    /// Show what would change now (or at --at), and why. Calls only describe APIs. Exits 1 when
    /// something needs attention (a resource that cannot be acted on, or could not be observed).
    #[command(after_help = PLAN_HELP)]
    Plan {
        #[command(flatten)]
        target: Target,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Table)]
        output: Output,
        #[command(flatten)]
        aws: AwsArgs,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Converge the environments on their schedule and active wakes, under their leases.
    ///
    /// Exits 1 when a resource failed or needs a person, or another copy holds the lease.
    #[command(after_help = APPLY_HELP)]
    Apply {
        #[command(flatten)]
        target: Target,
        /// Plan and report, but make no write call.
        #[arg(long)]
        dry_run: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Table)]
        output: Output,
        #[command(flatten)]
        aws: AwsArgs,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Show each resource's observed state, desired state and the next transition.
    #[command(after_help = STATUS_HELP)]
    Status {
        #[command(flatten)]
        target: Target,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Table)]
        output: Output,
        #[command(flatten)]
        aws: AwsArgs,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Wake an environment for a while: it goes back to sleep by itself when the time is up.
    #[command(after_help = WAKE_HELP)]
    Wake {
        /// The environment.
        env: String,
        /// How long: 2h, 90m, 1h30m (at most the environment's max_wake).
        #[arg(long = "for", default_value = "2h")]
        duration: String,
        /// Why, for the audit trail and the digest.
        #[arg(long, default_value = "")]
        reason: String,
        #[command(flatten)]
        wait: WaitArgs,
        #[command(flatten)]
        aws: AwsArgs,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// End a wake now; inside an awake window, sleep until the next scheduled start.
    #[command(after_help = SLEEP_HELP)]
    Sleep {
        /// The environment.
        env: String,
        /// Why, for the audit trail.
        #[arg(long, default_value = "")]
        reason: String,
        #[command(flatten)]
        wait: WaitArgs,
        #[command(flatten)]
        aws: AwsArgs,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Run the daemon: the HTTP API and status page, and the reconcile loop.
    #[command(after_help = SERVE_HELP)]
    Serve {
        /// Address to listen on.
        #[arg(long, env = "LIGHTSOUT_LISTEN", default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// A file of API tokens, one `NAME TOKEN [ENV,ENV]` a line (or set LIGHTSOUT_TOKENS).
        #[arg(long, env = "LIGHTSOUT_TOKENS_FILE")]
        tokens_file: Option<PathBuf>,
        /// The longest time between reconcile passes.
        #[arg(long, default_value = "1m", value_parser = parse_delta)]
        every: chrono::TimeDelta,
        /// Time between passes while resources are still changing.
        #[arg(long, default_value = "15s", value_parser = parse_delta)]
        settle: chrono::TimeDelta,
        /// The longest one pass may take (well inside the 5-minute lease): no environment or
        /// action starts after it.
        #[arg(long, env = "LIGHTSOUT_PASS_TIMEOUT", default_value = "2m", value_parser = parse_std)]
        pass_timeout: Duration,
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
        #[command(flatten)]
        http: HttpArgs,
        #[command(flatten)]
        aws: AwsArgs,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Run as an AWS Lambda function (chosen by itself when AWS_LAMBDA_RUNTIME_API is set).
    ///
    /// Configured by environment variables only (the Terraform module sets them).
    #[command(after_help = LAMBDA_HELP)]
    Lambda {
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Make the daily cost and health digest and send it to the environment's channels.
    ///
    /// Each digest asks Cost Explorer at most 3 times ($0.01 a request) and keeps its figures in
    /// the store for the status page.
    #[command(after_help = DIGEST_HELP)]
    Digest {
        /// Only this environment.
        #[arg(long)]
        env: Option<String>,
        /// The billing day to report on: a UTC day like 2026-11-28, as Cost Explorer and AWS
        /// Budgets count days (default: the most recent day Cost Explorer has figures for).
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
        /// Print the digest and send nothing, record nothing, cache nothing.
        #[arg(long)]
        dry_run: bool,
        /// Send again to channels that already got today's digest.
        #[arg(long)]
        force: bool,
        /// One digest for finance: every environment's line and the total, sent to the
        /// channels of the environments whose [digest] says `combined = true` (printed with
        /// --dry-run, or when none does).
        #[arg(long)]
        all: bool,
        /// `json`: the figures as JSON on standard output (every figure, with the rate and
        /// hours behind each saving); `table`: the digest as Markdown with --dry-run.
        #[arg(long, value_enum, default_value_t = Output::Table)]
        output: Output,
        #[command(flatten)]
        aws: AwsArgs,
        #[command(flatten)]
        store: StoreArgs,
    },
}

const TOP_HELP: &str = "\
Examples:
  lightsout check                          validate schedules/*.toml
  lightsout plan                           what would change now, and why
  lightsout wake staging --for 2h --wait   wake staging and wait until it is ready
  lightsout serve                          the daemon: API, status page, reconcile loop

AWS: the standard configuration (AWS_PROFILE, AWS_REGION, ...). Against an emulator, also
AWS_ENDPOINT_URL=http://127.0.0.1:5000 with any AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
Exit codes: 0 done, 1 something failed or needs a person, 2 bad input.";

const CHECK_HELP: &str = "\
Examples:
  lightsout check
  lightsout check schedules/staging.toml
  lightsout -s /etc/lightsout/schedules check";

const PLAN_HELP: &str = "\
Examples:
  lightsout plan
  lightsout plan --env staging --at 2026-12-02T22:00:00Z     as if it were that instant
  lightsout plan --output json";

const APPLY_HELP: &str = "\
Examples:
  lightsout apply --env staging --dry-run   plan and report, no write call
  lightsout apply
  lightsout apply --at 2026-12-03T06:00:00Z rehearse an instant (recorded at that instant)";

const STATUS_HELP: &str = "\
Examples:
  lightsout status
  lightsout status --env staging --output json";

const WAKE_HELP: &str = "\
Examples:
  lightsout wake staging --for 2h --reason \"hotfix #123\"
  lightsout wake staging --for 1h --wait --timeout 20m      what a CI job runs before e2e tests
  LIGHTSOUT_TOKEN=... lightsout wake staging --api http://lightsout.internal:8080";

const SLEEP_HELP: &str = "\
Examples:
  lightsout sleep staging
  lightsout sleep staging --reason \"done testing\" --wait";

const SERVE_HELP: &str = "\
Examples:
  LIGHTSOUT_TOKENS=\"alice $(openssl rand -hex 32)\" lightsout serve
  lightsout serve --listen 0.0.0.0:8080 --tokens-file /etc/lightsout/tokens --store dynamodb:lightsout

Tokens: LIGHTSOUT_TOKENS (or _FILE, _SSM, or --tokens-file), one `NAME TOKEN [ENV,ENV]` a line.
Slack: LIGHTSOUT_SLACK_SIGNING_SECRET for the slash command, LIGHTSOUT_SLACK_WEBHOOK_URL for
the digest (each also as _FILE or _SSM). The page: http://LISTEN/.";

const LAMBDA_HELP: &str = "\
Environment variables:
  LIGHTSOUT_STORE                     dynamodb:TABLE (required: copies share one store)
  LIGHTSOUT_SCHEDULES                 the schedule files in the zip (/var/task/schedules)
  LIGHTSOUT_TOKENS_SSM                an SSM SecureString of API tokens, `NAME TOKEN [ENV,ENV]`
                                      a line (or LIGHTSOUT_TOKENS, LIGHTSOUT_TOKENS_FILE)
  LIGHTSOUT_SLACK_SIGNING_SECRET_SSM  the Slack app's signing secret (or _FILE, or the value)
  LIGHTSOUT_SLACK_WEBHOOK_URL_SSM     the digest's Slack webhook (or _FILE, or the value)
  LIGHTSOUT_LOG                       log level (info; lightsout=debug,info)
  LIGHTSOUT_LOG_FORMAT                json in Lambda
  LIGHTSOUT_MAX_ATTEMPTS, LIGHTSOUT_ATTEMPT_TIMEOUT, LIGHTSOUT_CALL_TIMEOUT   AWS call limits
  AWS_LAMBDA_RUNTIME_API              set by Lambda; with it and no arguments, lightsout runs this

Events: {\"action\": \"reconcile\"} (EventBridge Scheduler, every minute), {\"action\": \"digest\"},
and Function URL requests (the HTTP API and the page).";

const DIGEST_HELP: &str = "\
Days: the digest reports on a UTC billing day, the day Cost Explorer and AWS Budgets count, and
says so; by default the most recent one Cost Explorer has figures for. East of UTC, a morning
digest reports on the day before yesterday's local date (yesterday has not ended in UTC yet).

Prices: savings are list-price estimates, priced from AWS's Price List (pricing:GetProducts, kept
a week in the store), or from the table shipped with lightsout when it cannot be asked; the method
line says which.

Examples:
  lightsout digest --dry-run                      print the digest, send nothing
  lightsout digest --env staging --date 2026-11-28
  lightsout digest --force                        send again to channels that had it
  lightsout digest --all --dry-run                every environment and the total, for finance
  lightsout digest --dry-run --output json        every figure as JSON";

fn parse_delta(s: &str) -> Result<chrono::TimeDelta, String> {
    crate::model::parse_duration(s)
}

fn parse_std(s: &str) -> Result<Duration, String> {
    let d = crate::model::parse_duration(s)?;
    d.to_std().map_err(|e| e.to_string())
}

/// A duration of at least one second (a zero timeout would refuse everything).
fn parse_secs(s: &str) -> Result<Duration, String> {
    let d = parse_std(s)?;
    if d < Duration::from_secs(1) {
        return Err("at least 1s".into());
    }
    Ok(d)
}

fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{e}: write an RFC 3339 instant, like 2026-12-02T22:00:00Z or 2026-12-02T23:00:00+01:00"))
}
