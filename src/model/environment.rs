//! What an environment is: its schedule (time zone, windows, holidays), the resources it is made
//! of, the production guard, and where its digest goes. Built by `config` from a schedule file,
//! valid by construction: nothing downstream checks it again.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use chrono::{NaiveDate, TimeDelta};
use chrono_tz::Tz;

use super::Window;
use crate::kinds::{Guard, Tables};

/// Every environment of a configuration directory.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The environments, in file-name order.
    pub environments: Vec<Environment>,
}

impl Config {
    /// The environment called `name`.
    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.name == name)
    }
}

/// One environment: when it is awake, and what it is made of.
#[derive(Debug, Clone)]
pub struct Environment {
    /// Its name, unique across the configuration (defaults to the file name).
    pub name: String,
    /// The schedule file it was read from.
    pub source: PathBuf,
    /// Where each resource named one by one is named in it: line and column, by the resource's
    /// id as written in plans (`ecs:cluster/service`, `rds:id`, `aurora:id`).
    pub named_at: BTreeMap<String, (usize, usize)>,
    /// AWS region of its resources.
    pub region: String,
    /// An IAM role to assume for its account (cross-account), if not the caller's own.
    pub role_arn: Option<String>,
    /// The external ID the role's trust policy requires, if any.
    pub external_id: Option<String>,
    /// IANA time zone its windows and holidays are in.
    pub timezone: Tz,
    /// Weekly awake windows; outside them it sleeps. May be empty (awake only when woken).
    pub windows: Vec<Window>,
    /// Inclusive date ranges, in local time, when it sleeps all day.
    pub holidays: Vec<(NaiveDate, NaiveDate)>,
    /// The longest a wake request may keep it awake.
    pub max_wake: TimeDelta,
    /// How long before a scheduled sleep Slack gets a heads-up with Keep 1 h / Sleep now
    /// buttons (`heads_up = "15m"`), when the environment was used in the last hour; `None`: never.
    pub heads_up: Option<TimeDelta>,
    /// Monthly budget in USD, for the digest.
    pub monthly_budget: Option<f64>,
    /// The resources it is made of: one table per kind (`[ecs]`, `[rds]`).
    pub kinds: Tables,
    /// The production guard.
    pub guard: Guard,
    /// How many resources are acted on at once.
    pub concurrency: usize,
    /// The daily digest: when, what it covers, where it goes.
    pub digest: DigestConfig,
    /// Idle to sleep: a wake (and, opted in, a window) ends once its front door has had no
    /// requests for a while. `None`: off.
    pub idle: Option<IdleConfig>,
    /// Where its transitions are published (`[events]`).
    pub events: EventsConfig,
    /// Alarm name prefixes whose CloudWatch alarm actions are off while it sleeps
    /// (`mute_alarms`); empty: none.
    pub mute_alarms: Vec<String>,
}

/// Idle to sleep (`idle_wake`, `idle_sleep`, `idle_min_awake` in a schedule file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleConfig {
    /// A wake ends after this long with no requests through the `[alb]` rules.
    pub wake_after: TimeDelta,
    /// Inside its windows it sleeps after this long with no requests (until the next window
    /// start or wake); `None`: windows are never cut short.
    pub window_after: Option<TimeDelta>,
    /// It is never put to sleep for being idle before it has been awake this long.
    pub min_awake: TimeDelta,
}

impl IdleConfig {
    /// The minimum awake time when `idle_min_awake` is not written.
    pub const DEFAULT_MIN_AWAKE: TimeDelta = TimeDelta::minutes(15);
}

/// The `[events]` table: where an environment's transitions are published.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventsConfig {
    /// The EventBridge bus (`default` for the account's default bus); `None`: no EventBridge.
    pub bus: Option<String>,
    /// A URL every transition is POSTed to as JSON; `None`: no webhook.
    pub webhook_url: Option<String>,
    /// The environment variable holding the webhook's secret (the body is signed with
    /// HMAC-SHA256 in `X-Lightsout-Signature`); the secret itself is never in the file.
    pub webhook_secret_env: Option<String>,
}

impl EventsConfig {
    /// Whether transitions go anywhere.
    pub fn any(&self) -> bool {
        self.bus.is_some() || self.webhook_url.is_some()
    }
}

/// The `[digest]` table of a schedule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestConfig {
    /// Local time (the environment's time zone) the daemon sends it at.
    pub at: chrono::NaiveTime,
    /// Which costs are the environment's.
    pub cost_filter: CostFilter,
    /// An AWS Budgets budget whose monthly limit is the budget (instead of `monthly_budget`).
    pub budget_name: Option<String>,
    /// HTTP health checks (GET; healthy on 2xx/3xx).
    pub health_urls: Vec<String>,
    /// CloudWatch alarms in ALARM whose name starts with this are reported.
    pub alarm_prefix: String,
    /// Where it goes.
    pub channels: Vec<Channel>,
    /// SES sender (a verified identity).
    pub email_from: Option<String>,
    /// SES recipients.
    pub email_to: Vec<String>,
    /// SNS topic for the plain-text digest.
    pub sns_topic_arn: Option<String>,
    /// These channels also get the combined digest for finance: every environment's line and
    /// the total (`combined = true`).
    pub combined: bool,
}

/// Which Cost Explorer costs belong to an environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CostFilter {
    /// A cost-allocation tag.
    Tag(String, String),
    /// A linked account.
    Account(String),
    /// No filter: the whole account's costs.
    None,
}

impl fmt::Display for CostFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CostFilter::Tag(k, v) => write!(f, "cost-allocation tag {k}={v}"),
            CostFilter::Account(a) => write!(f, "linked account {a}"),
            CostFilter::None => write!(f, "the whole account (no cost_tag or cost_account set)"),
        }
    }
}

/// A place the digest goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    /// Slack incoming webhook (`LIGHTSOUT_SLACK_WEBHOOK_URL`).
    Slack,
    /// Email through SES.
    Email,
    /// SNS topic.
    Sns,
    /// Markdown on standard output.
    Stdout,
}

impl Channel {
    /// Every channel, by its name in schedule files.
    pub const ALL: [(&'static str, Channel); 4] = [
        ("slack", Channel::Slack),
        ("email", Channel::Email),
        ("sns", Channel::Sns),
        ("stdout", Channel::Stdout),
    ];

    /// Its name in schedule files.
    pub fn name(self) -> &'static str {
        Channel::ALL
            .iter()
            .find(|(_, c)| *c == self)
            .map_or("?", |(n, _)| n)
    }
}

impl Default for DigestConfig {
    fn default() -> Self {
        DigestConfig {
            at: chrono::NaiveTime::from_hms_opt(8, 30, 0).unwrap_or_default(),
            cost_filter: CostFilter::None,
            budget_name: None,
            health_urls: Vec::new(),
            alarm_prefix: String::new(),
            channels: vec![Channel::Stdout],
            email_from: None,
            email_to: Vec::new(),
            sns_topic_arn: None,
            combined: false,
        }
    }
}

impl Environment {
    /// `schedules/staging.toml:12:5` for a resource named one by one in the schedule file, or
    /// `None` when a tag selector picked it up.
    pub fn named(&self, resource: &str) -> Option<String> {
        self.named_at
            .get(resource)
            .map(|(line, col)| format!("{}:{line}:{col}", self.source.display()))
    }
}
