//! What an environment is: its schedule (time zone, windows, holidays), the resources it is made
//! of, the production guard, and where its digest goes. Built by `config` from a schedule file,
//! valid by construction: nothing downstream checks it again.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use chrono::{NaiveDate, TimeDelta};
use chrono_tz::Tz;

use super::Window;

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
