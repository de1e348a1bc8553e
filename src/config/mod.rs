//! Schedule files: `schedules/*.toml`, one environment per file, read into typed [`Environment`]s.
//!
//! Loading never stops at the first problem: [`load`] reads every file and returns every problem
//! it finds as a [`Diagnostic`] that names the file, line and column, what is wrong and the fix.
//! What comes out of a successful load is valid by construction, so the schedule engine and the
//! planner never check it again.

mod diag;
mod duration;
mod ics;
mod parse;
mod window;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use parse::Parsed;

use chrono::{NaiveDate, TimeDelta};
use chrono_tz::Tz;

pub use diag::{Diagnostic, Diagnostics};
pub use duration::{format_duration, parse_duration};
pub use ics::{IcsError, parse_ics};
pub use window::{DAY_NAMES, Window, WindowError};

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
    /// Monthly budget in USD, for the digest.
    pub monthly_budget: Option<f64>,
    /// The ECS services it is made of.
    pub ecs: EcsSelection,
    /// The RDS instances and Aurora clusters it is made of.
    pub rds: RdsSelection,
    /// The production guard.
    pub guard: Guard,
    /// How many resources are acted on at once.
    pub concurrency: usize,
    /// The daily digest: when, what it covers, where it goes.
    pub digest: DigestConfig,
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
        }
    }
}

/// An ECS service by cluster and service name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceName {
    /// Cluster name.
    pub cluster: String,
    /// Service name.
    pub service: String,
}

impl ServiceName {
    /// Parses `cluster/service`.
    pub fn parse(s: &str) -> Result<ServiceName, String> {
        let valid = |p: &str| {
            !p.is_empty()
                && p.len() <= 255
                && p.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        };
        match s.split_once('/') {
            Some((c, n)) if valid(c) && valid(n) => Ok(ServiceName {
                cluster: c.to_string(),
                service: n.to_string(),
            }),
            _ => Err(format!(
                "\"{s}\" is not a service name: write \"cluster/service\", like \"app-staging-cluster/backend\" (letters, digits, - and _)"
            )),
        }
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.cluster, self.service)
    }
}

/// Tags that must all be present, with these exact values.
pub type TagSelector = BTreeMap<String, String>;

/// Which ECS services belong to the environment.
#[derive(Debug, Clone, Default)]
pub struct EcsSelection {
    /// Services named one by one.
    pub services: Vec<ServiceName>,
    /// Services selected by tags in the given clusters.
    pub select: Vec<EcsTagSelector>,
    /// Desired count for a service that is woken with no recorded count, unless its own
    /// settings say otherwise. `None`: such a service is left as it is, with a reason.
    pub default_count: Option<i32>,
    /// Per-service settings.
    pub settings: BTreeMap<ServiceName, ServiceSettings>,
}

/// ECS services selected by tag over some clusters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsTagSelector {
    /// Clusters to look in.
    pub clusters: Vec<String>,
    /// Tags a service must carry.
    pub tags: TagSelector,
}

/// Settings for one ECS service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceSettings {
    /// Desired count when it is woken with no recorded count.
    pub default_count: Option<i32>,
    /// Databases (RDS instance or Aurora cluster identifiers) that must be available before it
    /// is scaled up. `None`: every database of the environment.
    pub depends_on: Option<Vec<String>>,
}

/// Which databases belong to the environment.
#[derive(Debug, Clone, Default)]
pub struct RdsSelection {
    /// RDS DB instance identifiers.
    pub instances: Vec<String>,
    /// Aurora DB cluster identifiers.
    pub clusters: Vec<String>,
    /// Instances and clusters selected by tags.
    pub select: Vec<TagSelector>,
}

impl Environment {
    /// `schedules/staging.toml:12:5` for a resource named one by one in the schedule file, or
    /// `None` when a tag selector picked it up.
    pub fn named(&self, resource: &str) -> Option<String> {
        self.named_at
            .get(resource)
            .map(|(line, col)| format!("{}:{line}:{col}", self.source.display()))
    }

    /// The settings of a service, with the environment's defaults applied.
    pub fn service_settings(&self, name: &ServiceName) -> ServiceSettings {
        let own = self.ecs.settings.get(name).cloned().unwrap_or_default();
        ServiceSettings {
            default_count: own.default_count.or(self.ecs.default_count),
            depends_on: own.depends_on,
        }
    }
}

/// A tag that marks a resource as production: its key (compared without regard to case) and
/// the values that count (likewise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductionTag {
    /// Tag key.
    pub key: String,
    /// Values that mark production.
    pub values: Vec<String>,
}

/// The production guard: resources it matches are never acted on.
///
/// The built-in rule (`Environment` or `env` equal to `production` or `prod`) is always in force;
/// configuration can only add to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guard {
    /// Tags that mark production: the built-in ones and any the configuration adds.
    pub production_tags: Vec<ProductionTag>,
    /// Tags every resource must carry to be acted on (empty: no such requirement).
    pub require_tags: TagSelector,
}

impl Default for Guard {
    fn default() -> Self {
        let values = vec!["production".to_string(), "prod".to_string()];
        Guard {
            production_tags: vec![
                ProductionTag {
                    key: "Environment".into(),
                    values: values.clone(),
                },
                ProductionTag {
                    key: "env".into(),
                    values,
                },
            ],
            require_tags: TagSelector::new(),
        }
    }
}

impl Guard {
    /// Why the guard refuses a resource with these tags, if it does.
    pub fn refusal(&self, tags: &BTreeMap<String, String>) -> Option<String> {
        for rule in &self.production_tags {
            for (k, v) in tags {
                if k.eq_ignore_ascii_case(&rule.key)
                    && rule.values.iter().any(|p| p.eq_ignore_ascii_case(v.trim()))
                {
                    return Some(format!("tagged {k}={v}: production is never touched"));
                }
            }
        }
        for (k, v) in &self.require_tags {
            if tags.get(k) != Some(v) {
                return Some(format!(
                    "lacks the required tag {k}={v} (guard.require_tags)"
                ));
            }
        }
        None
    }
}

/// Parses one environment from TOML text, as if read from `file` (which only names it in
/// diagnostics, and anchors a relative `holiday_calendar`).
pub fn parse_str(file: &Path, src: &str) -> Result<Environment, Diagnostics> {
    let mut diags = Vec::new();
    match parse::parse_environment(file, src, &mut diags) {
        Some(Parsed { env: Some(env), .. }) if diags.is_empty() => Ok(env),
        _ => {
            let mut d = Diagnostics(diags);
            d.sort();
            Err(d)
        }
    }
}

/// Reads every `*.toml` file of a directory (or one file) and checks them together.
pub fn load(path: &Path) -> Result<Config, Diagnostics> {
    let mut diags = Vec::new();
    let files = match schedule_files(path) {
        Ok(f) => f,
        Err(d) => return Err(Diagnostics(vec![d])),
    };
    let mut parsed = Vec::new();
    for file in files {
        match std::fs::read_to_string(&file) {
            Ok(src) => {
                if let Some(p) = parse::parse_environment(&file, &src, &mut diags) {
                    parsed.push((file.clone(), p, src));
                }
            }
            Err(e) => diags.push(Diagnostic {
                file: file.clone(),
                line: 0,
                column: 0,
                message: format!("cannot read the file: {e}"),
                help: None,
            }),
        }
    }
    cross_check(&parsed, &mut diags);
    let mut diags = Diagnostics(diags);
    if diags.is_empty() {
        Ok(Config {
            environments: parsed.into_iter().filter_map(|(_, p, _)| p.env).collect(),
        })
    } else {
        diags.sort();
        Err(diags)
    }
}

fn schedule_files(path: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let whole = |message: String, help: Option<String>| Diagnostic {
        file: path.to_path_buf(),
        line: 0,
        column: 0,
        message,
        help,
    };
    let meta = std::fs::metadata(path).map_err(|e| {
        whole(
            format!("cannot read: {e}"),
            Some("pass the schedules directory or a schedule file, like `lightsout check schedules/`".into()),
        )
    })?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| whole(format!("cannot list the directory: {e}"), None))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(whole(
            "no schedule files (*.toml) here".into(),
            Some("add one environment per file, like schedules/staging.toml".into()),
        ));
    }
    Ok(files)
}

/// Checks across files: unique names, no resource in two environments.
fn cross_check(parsed: &[(PathBuf, Parsed, String)], diags: &mut Vec<Diagnostic>) {
    let mut names: HashMap<&str, &Path> = HashMap::new();
    let mut owners: HashMap<String, (&str, &Path)> = HashMap::new();
    let mut selectors: HashMap<String, (&str, &Path)> = HashMap::new();
    for (file, p, src) in parsed {
        let mut rep = diag::Reporter::new(file, src, diags);
        if let Some(first) = names.get(p.name.as_str()) {
            rep.error(
                p.spans.name.clone(),
                format!(
                    "environment name \"{}\" is already used by {}",
                    p.name,
                    first.display()
                ),
                Some("give each environment its own `name`".into()),
            );
        } else {
            names.insert(&p.name, file);
        }
        for (key, span) in &p.spans.resources {
            let scoped = format!("{}|{key}", p.scope);
            match owners.get(&scoped) {
                Some((owner, other)) if *other != file.as_path() => rep.error(
                    span.clone(),
                    format!(
                        "{key} is also selected by environment \"{owner}\" ({})",
                        other.display()
                    ),
                    Some(
                        "a resource belongs to one environment: remove it from one of them".into(),
                    ),
                ),
                Some(_) => {}
                None => {
                    owners.insert(scoped, (&p.name, file));
                }
            }
        }
        for (key, span) in &p.spans.selectors {
            let key = &format!("{}|{key}", p.scope);
            match selectors.get(key) {
                Some((owner, other)) if *other != file.as_path() => rep.error(
                    span.clone(),
                    format!(
                        "the same tag selector is used by environment \"{owner}\" ({})",
                        other.display()
                    ),
                    Some("a resource belongs to one environment: make the selectors differ".into()),
                ),
                Some(_) => {}
                None => {
                    selectors.insert(key.clone(), (&p.name, file));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Holidays come from the list and from an iCalendar file next to the schedule file.
    #[test]
    fn holiday_calendar_is_read_relative_to_the_schedule_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("hol.ics"),
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20270101\nEND:VEVENT\nEND:VCALENDAR\n",
        )
        .unwrap();
        let file = dir.path().join("staging.toml");
        std::fs::write(
            &file,
            "region = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = []\nholidays = [2026-12-25]\nholiday_calendar = \"hol.ics\"\n[rds]\ninstances = [\"db\"]\n",
        )
        .unwrap();
        let cfg = load(&file).unwrap();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(
            cfg.environments[0].holidays,
            vec![
                (d("2026-12-25"), d("2026-12-25")),
                (d("2027-01-01"), d("2027-01-01"))
            ]
        );
        assert_eq!(cfg.environments[0].name, "staging");
    }

    /// The built-in production rule holds whatever the configuration adds.
    #[test]
    fn guard_cannot_be_loosened() {
        let env = parse_str(
            Path::new("s.toml"),
            "region = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = []\n[rds]\ninstances = [\"db\"]\n[guard]\nproduction_tags = [\"Stage=live\"]\n",
        )
        .unwrap();
        let tags = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
        assert!(env.guard.refusal(&tags("Environment", "PROD")).is_some());
        assert!(env.guard.refusal(&tags("Stage", "live")).is_some());
        assert!(env.guard.refusal(&tags("Environment", "staging")).is_none());
        let e = parse_str(Path::new("s.toml"), "region = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = []\n[rds]\ninstances = [\"db\"]\n[guard]\nenabled = false\n").unwrap_err();
        assert!(
            e.to_string().contains("unknown key `enabled` in [guard]"),
            "{e}"
        );
    }

    /// A name that is not a string is one problem, reported once.
    #[test]
    fn non_string_name_is_reported_once() {
        let e = parse_str(Path::new("s.toml"), "name = 3\nregion = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = []\n[rds]\ninstances = [\"db\"]\n").unwrap_err();
        assert_eq!(e.0.len(), 1, "{e}");
        assert!(e.0[0].message.contains("`name` must be a string"), "{e}");
    }

    const BASE: &str = "region = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = []\n[rds]\ninstances = [\"db\"]\n[guard]\nrequire_tags = [\"Environment=staging\"]\n";

    /// The `[digest]` table: defaults, and every mistake named with its line and fix.
    #[test]
    fn digest_table_defaults_and_mistakes() {
        let env = parse_str(Path::new("s.toml"), BASE).unwrap();
        let d = &env.digest;
        assert_eq!(d.at, chrono::NaiveTime::from_hms_opt(8, 30, 0).unwrap());
        assert_eq!(d.channels, vec![Channel::Stdout]);
        assert_eq!(d.alarm_prefix, "s-");
        // Without cost_tag, the required tag selects the costs.
        assert_eq!(
            d.cost_filter,
            CostFilter::Tag("Environment".into(), "staging".into())
        );

        let env = parse_str(
            Path::new("s.toml"),
            &format!("{BASE}[digest]\nat = \"07:45\"\ncost_account = \"123456789012\"\nchannels = [\"email\", \"sns\", \"slack\"]\nemail_from = \"lightsout@example.com\"\nemail_to = [\"leads@example.com\"]\nsns_topic_arn = \"arn:aws:sns:eu-west-1:123456789012:digest\"\nhealth_urls = [\"https://staging.example.com/api/v1/utils/health-check/\"]\n"),
        )
        .unwrap();
        assert_eq!(
            env.digest.cost_filter,
            CostFilter::Account("123456789012".into())
        );
        assert_eq!(env.digest.channels.len(), 3);
        assert_eq!(
            env.digest.at,
            chrono::NaiveTime::from_hms_opt(7, 45, 0).unwrap()
        );

        let e = parse_str(
            Path::new("s.toml"),
            &format!("{BASE}[digest]\nat = \"8.30\"\nslack_webhook_url = \"https://hooks.slack.com/services/T/B/x\"\nchannels = [\"slak\", \"email\"]\ncost_tag = \"staging\"\nhealth_urls = [\"staging.example.com\"]\nemail_to = [\"leads\"]\nbudget = 3\n"),
        )
        .unwrap_err()
        .to_string();
        for want in [
            "s.toml:10",
            "\"8.30\" is not a time of day",
            "`slack_webhook_url` looks like a secret",
            "LIGHTSOUT_SLACK_WEBHOOK_URL",
            "unknown channel \"slak\"",
            "did you mean \"slack\"?",
            "\"staging\" is not a tag",
            "\"staging.example.com\" is not an http(s) URL",
            "\"leads\" is not an email address",
            "the email channel needs `email_from` and `email_to`",
            "unknown key `budget` in [digest]",
        ] {
            assert!(e.contains(want), "missing {want:?} in:\n{e}");
        }
        // The secret's value is never repeated in the error.
        assert!(!e.contains("hooks.slack.com"), "{e}");
    }
}
