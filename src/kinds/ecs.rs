//! ECS services and their Application Auto Scaling bounds: the `[ecs]` table, what is observed
//! of a service, its write calls, and the rules that put it to sleep and wake it.
//!
//! Memory lives on the service: before it is scaled down its desired count and bounds are
//! written as tags on it (never overwritten once there), and waking restores the bounds, then
//! the count, then removes the tags — so no failure, at any step, can lose the original.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;
use toml::de::DeTable;

use super::{Ctx, Deps, Effect, Rule, TagSelector, tags, tasks};
use crate::diag::{Reader, lookup, suggest};

/// On a sleeping ECS service: the desired count to restore.
pub const DESIRED_COUNT: &str = "lightsout:desired-count";
/// On a sleeping ECS service: its Application Auto Scaling bounds, `min=1/max=4`.
pub const AUTOSCALING: &str = "lightsout:autoscaling";

const KEYS: &[&str] = &["services", "select", "default_count", "service"];
const SELECT_KEYS: &[&str] = &["clusters", "tags"];
const SERVICE_KEYS: &[&str] = &["default_count", "depends_on"];

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

    /// Its Application Auto Scaling resource id: `service/CLUSTER/NAME`.
    pub fn scalable_id(&self) -> String {
        format!("service/{}/{}", self.cluster, self.service)
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.cluster, self.service)
    }
}

impl Serialize for ServiceName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The `[ecs]` table: which services belong to the environment, and their settings.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Services named one by one.
    pub services: Vec<ServiceName>,
    /// Services selected by tags in the given clusters.
    pub select: Vec<ClusterSelector>,
    /// Desired count for a service that is woken with no recorded count, unless its own
    /// settings say otherwise. `None`: such a service is left as it is, with a reason.
    pub default_count: Option<i32>,
    /// Per-service settings.
    pub settings: BTreeMap<ServiceName, ServiceSettings>,
}

/// ECS services selected by tag over some clusters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSelector {
    /// Clusters to look in.
    pub clusters: Clusters,
    /// Tags a service must carry.
    pub tags: TagSelector,
}

/// The clusters a tag selector looks in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clusters {
    /// Every cluster of the account and region (`clusters = "*"`), listed on each pass: a fleet,
    /// where the tags do the choosing.
    Every,
    /// These clusters (`clusters = ["a", "b"]`), never empty.
    Named(Vec<String>),
}

impl Clusters {
    /// Whether a service in `cluster` may be selected.
    pub fn covers(&self, cluster: &str) -> bool {
        match self {
            Clusters::Every => true,
            Clusters::Named(names) => names.iter().any(|c| c == cluster),
        }
    }
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

impl Selection {
    /// Whether it selects nothing.
    pub fn is_empty(&self) -> bool {
        self.services.is_empty() && self.select.is_empty()
    }

    /// The settings of a service, with the table's defaults applied.
    pub fn settings_of(&self, name: &ServiceName) -> ServiceSettings {
        let own = self.settings.get(name).cloned().unwrap_or_default();
        ServiceSettings {
            default_count: own.default_count.or(self.default_count),
            depends_on: own.depends_on,
        }
    }

    /// Reads `[ecs]`; `data` are the identifiers `depends_on` may name.
    pub fn parse(rd: &mut Reader<'_, '_>, t: &DeTable<'_>, data: &BTreeSet<&str>) -> Selection {
        rd.check_keys(t, KEYS, "[ecs]");
        let mut sel = Selection::default();
        if let Some(v) = lookup(t, "services") {
            for (s, span) in rd.strings(v, "ecs.services") {
                match ServiceName::parse(s) {
                    Ok(n) if sel.services.contains(&n) => rd.err(
                        span,
                        format!("\"{s}\" is listed twice"),
                        Some("remove one of them".to_string()),
                    ),
                    Ok(n) => {
                        rd.named.push((format!("ecs:{n}"), span));
                        sel.services.push(n);
                    }
                    Err(e) => rd.err(span, e, None),
                }
            }
        }
        if let Some(v) = lookup(t, "select") {
            for item in rd.array(v, "ecs.select").unwrap_or_default() {
                let Some(st) = rd.table(item, "ecs.select") else {
                    continue;
                };
                rd.check_keys(st, SELECT_KEYS, "[[ecs.select]]");
                let clusters = match lookup(st, "clusters") {
                    Some(cv) if rd.string_quiet(cv) == Some("*") => Clusters::Every,
                    Some(cv) if rd.string_quiet(cv).is_some() => {
                        let c = rd.string_quiet(cv).unwrap_or_default();
                        rd.err(
                            cv.span(),
                            format!("`clusters` must be a list, or \"*\" for every cluster, not the string \"{c}\""),
                            Some(format!("write clusters = [\"{c}\"], or clusters = \"*\" to look in every cluster of the account and region")),
                        );
                        continue;
                    }
                    Some(cv) => {
                        let names: Vec<String> = rd
                            .strings(cv, "clusters")
                            .into_iter()
                            .map(|(c, _)| c.to_string())
                            .collect();
                        if names.is_empty() {
                            rd.err(
                                item.span(),
                                "`clusters` is empty",
                                Some("name the clusters to look in, or write clusters = \"*\" for every cluster of the account and region".to_string()),
                            );
                            continue;
                        }
                        Clusters::Named(names)
                    }
                    None => {
                        rd.err(
                            item.span(),
                            "[[ecs.select]] needs `clusters`",
                            Some("add clusters = [\"app-staging-cluster\"], or clusters = \"*\" for every cluster of the account and region".to_string()),
                        );
                        continue;
                    }
                };
                match lookup(st, "tags") {
                    Some(tv) => {
                        if let Some(tags) = rd.tags(tv, "tags") {
                            let set: Option<BTreeSet<&String>> = match &clusters {
                                Clusters::Every => None,
                                Clusters::Named(names) => Some(names.iter().collect()),
                            };
                            rd.selectors
                                .push((format!("ecs {set:?} {tags:?}"), item.span()));
                            sel.select.push(ClusterSelector { clusters, tags });
                        }
                    }
                    None => rd.err(
                        item.span(),
                        "[[ecs.select]] needs `tags`",
                        Some("add tags = { Environment = \"staging\" }".to_string()),
                    ),
                }
            }
        }
        if let Some(v) = lookup(t, "default_count") {
            sel.default_count = rd.integer(v, "default_count", 0..10_001).map(|n| n as i32);
        }
        if let Some(v) = lookup(t, "service") {
            let Some(st) = rd.table(v, "ecs.service") else {
                return sel;
            };
            for (k, sv) in st.iter() {
                let name = match ServiceName::parse(k.get_ref()) {
                    Ok(n) => n,
                    Err(e) => {
                        rd.err(k.span(), e, None);
                        continue;
                    }
                };
                let selected = sel.services.contains(&name)
                    || sel.select.iter().any(|s| s.clusters.covers(&name.cluster));
                if !selected {
                    rd.err(
                        k.span(),
                        format!("settings for \"{name}\", which this environment does not select"),
                        Some("add it to ecs.services, or fix the name".to_string()),
                    );
                }
                let Some(svt) = rd.table(sv, &format!("ecs.service.\"{name}\"")) else {
                    continue;
                };
                rd.check_keys(svt, SERVICE_KEYS, &format!("[ecs.service.\"{name}\"]"));
                let mut settings = ServiceSettings::default();
                if let Some(dv) = lookup(svt, "default_count") {
                    settings.default_count =
                        rd.integer(dv, "default_count", 0..10_001).map(|n| n as i32);
                }
                if let Some(dv) = lookup(svt, "depends_on") {
                    let mut deps = Vec::new();
                    for (d, span) in rd.strings(dv, "depends_on") {
                        if data.contains(d) {
                            deps.push(d.to_string());
                        } else {
                            let help = match suggest(d, data.iter().copied()) {
                                Some(s) => format!("did you mean \"{s}\"?"),
                                None if data.is_empty() => {
                                    "name the database under [rds] instances or clusters first"
                                        .to_string()
                                }
                                None => format!(
                                    "databases of this environment: {}",
                                    data.iter().copied().collect::<Vec<_>>().join(", ")
                                ),
                            };
                            rd.err(
                                span,
                                format!("\"{name}\" depends on unknown database \"{d}\""),
                                help,
                            );
                        }
                    }
                    settings.depends_on = Some(deps);
                }
                sel.settings.insert(name, settings);
            }
        }
        sel
    }
}

/// Application Auto Scaling capacity bounds of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Bounds {
    /// Minimum capacity.
    pub min: i32,
    /// Maximum capacity.
    pub max: i32,
}

impl Bounds {
    /// As written in the `lightsout:autoscaling` tag.
    pub fn to_tag(self) -> String {
        format!("min={}/max={}", self.min, self.max)
    }

    /// Reads a `lightsout:autoscaling` tag value.
    pub fn from_tag(s: &str) -> Option<Bounds> {
        let (min, max) = s.trim().split_once('/')?;
        let min = min.strip_prefix("min=")?.parse().ok()?;
        let max = max.strip_prefix("max=")?.parse().ok()?;
        (0 <= min && min <= max).then_some(Bounds { min, max })
    }
}

impl fmt::Display for Bounds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "min {} / max {}", self.min, self.max)
    }
}

/// A service's Application Auto Scaling target, as far as it could be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scalable {
    /// It has none.
    #[default]
    None,
    /// Its bounds.
    Some(Bounds),
    /// The targets could not be read: acting could lose its bounds.
    Unknown,
}

impl Scalable {
    /// The bounds, if known and there.
    pub fn bounds(self) -> Option<Bounds> {
        match self {
            Scalable::Some(b) => Some(b),
            _ => None,
        }
    }
}

/// An ECS service's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceStatus {
    /// `ACTIVE`.
    Active,
    /// Anything else (`DRAINING`, `INACTIVE`), as ECS says it.
    Other(String),
}

impl ServiceStatus {
    /// Reads ECS's status text (a missing one is `ACTIVE`).
    pub fn parse(s: Option<&str>) -> ServiceStatus {
        match s {
            None | Some("ACTIVE") => ServiceStatus::Active,
            Some(other) => ServiceStatus::Other(other.to_string()),
        }
    }
}

impl From<&str> for ServiceStatus {
    fn from(s: &str) -> ServiceStatus {
        ServiceStatus::parse(Some(s))
    }
}

impl fmt::Display for ServiceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceStatus::Active => f.write_str("ACTIVE"),
            ServiceStatus::Other(s) => f.write_str(s),
        }
    }
}

/// An ECS service as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedService {
    /// Cluster and service name.
    pub name: ServiceName,
    /// Service ARN.
    pub arn: String,
    /// `ACTIVE`, `DRAINING` or `INACTIVE`.
    pub status: ServiceStatus,
    /// Desired task count.
    pub desired: i32,
    /// Running task count.
    pub running: i32,
    /// The service's tags.
    pub tags: BTreeMap<String, String>,
    /// A deployment is under way (more than one deployment, or a rollout in progress): an
    /// idle environment is not put to sleep in the middle of it.
    pub deploying: bool,
    /// Its Application Auto Scaling target.
    pub scalable: Scalable,
}

impl ObservedService {
    /// Put to sleep by lightsout: at 0 tasks with its recorded count on it.
    pub fn slept(&self) -> bool {
        self.desired == 0 && self.tags.contains_key(DESIRED_COUNT)
    }

    /// `1/2 tasks, autoscaling 1-4, sleeping (recorded 2)`.
    pub fn describe(&self) -> String {
        let mut d = format!("{}/{} tasks", self.running, self.desired);
        if let Some(b) = self.scalable.bounds() {
            d.push_str(&format!(", autoscaling {}-{}", b.min, b.max));
        }
        if let Some(c) = self.tags.get(DESIRED_COUNT) {
            d.push_str(&format!(", sleeping (recorded {c})"));
        }
        d
    }
}

/// One ECS or Application Auto Scaling write call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum Step {
    /// ECS `TagResource` on a service.
    TagService {
        /// Service ARN.
        arn: String,
        /// Tags to set.
        tags: BTreeMap<String, String>,
    },
    /// ECS `UntagResource` on a service.
    UntagService {
        /// Service ARN.
        arn: String,
        /// Tag keys to remove.
        keys: Vec<String>,
    },
    /// Application Auto Scaling `RegisterScalableTarget` with new bounds.
    SetBounds {
        /// The service.
        service: ServiceName,
        /// New bounds.
        bounds: Bounds,
    },
    /// ECS `UpdateService` with a new desired count.
    SetDesiredCount {
        /// The service.
        service: ServiceName,
        /// New desired count.
        count: i32,
    },
}

impl Step {
    /// The AWS API operation it calls.
    pub fn operation(&self) -> &'static str {
        match self {
            Step::TagService { .. } => "TagResource",
            Step::UntagService { .. } => "UntagResource",
            Step::SetBounds { .. } => "RegisterScalableTarget",
            Step::SetDesiredCount { .. } => "UpdateService",
        }
    }

    /// A word or two for plan tables.
    pub fn label(&self) -> String {
        match self {
            Step::TagService { .. } => "record".into(),
            Step::UntagService { .. } => "untag".into(),
            Step::SetBounds { bounds, .. } => format!("bounds {}-{}", bounds.min, bounds.max),
            Step::SetDesiredCount { count, .. } => format!("count {count}"),
        }
    }

    /// Scaling to 0 puts the service to sleep; scaling up wakes it.
    pub fn effect(&self) -> Option<Effect> {
        match self {
            Step::SetDesiredCount { count: 0, .. } => Some(Effect::Sleep),
            Step::SetDesiredCount { count, .. } if *count > 0 => Some(Effect::Wake),
            _ => None,
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::TagService { tags, .. } => write!(f, "tag {}", super::tags::list(tags)),
            Step::UntagService { keys, .. } => write!(f, "untag {}", keys.join(", ")),
            Step::SetBounds { bounds, .. } => write!(f, "set autoscaling {bounds}"),
            Step::SetDesiredCount { count, .. } => write!(f, "set desired count {count}"),
        }
    }
}

/// What should be done with a service (its guard and `skip-until` were checked already).
pub fn rule(s: &ObservedService, ctx: &Ctx<'_>, deps: &Deps) -> Rule {
    if s.scalable == Scalable::Unknown {
        return Rule::Wait(
            "waiting: its autoscaling bounds could not be read, and acting without them could lose them".into(),
        );
    }
    if let ServiceStatus::Other(status) = &s.status {
        return Rule::Skip(format!("service is {status}, not ACTIVE"));
    }
    if ctx.awake {
        wake(s, ctx, deps)
    } else {
        sleep(s, ctx)
    }
}

fn act(steps: Vec<Step>, reason: String) -> Rule {
    Rule::Act(steps.into_iter().map(super::Step::Ecs).collect(), reason)
}

fn sleep(s: &ObservedService, ctx: &Ctx<'_>) -> Rule {
    let state = ctx.state_reason;
    let bounds = s.scalable.bounds();
    let bounds_up = bounds.is_some_and(|b| b.min > 0 || b.max > 0);
    if s.desired == 0 && !bounds_up {
        return Rule::InSync(format!("{state}; {}", tasks(0)));
    }
    let mut record = BTreeMap::new();
    let recorded = s.tags.get(DESIRED_COUNT);
    if recorded.is_none() {
        record.insert(DESIRED_COUNT.to_string(), s.desired.to_string());
    }
    if let Some(b) = bounds.filter(|_| bounds_up && !s.tags.contains_key(AUTOSCALING)) {
        record.insert(AUTOSCALING.to_string(), b.to_tag());
    }
    if !s.tags.contains_key(tags::SLEPT_AT) {
        record.insert(
            tags::SLEPT_AT.to_string(),
            ctx.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        );
    }
    let mut steps = Vec::new();
    if !record.is_empty() {
        steps.push(Step::TagService {
            arn: s.arn.clone(),
            tags: record,
        });
    }
    if bounds_up {
        steps.push(Step::SetBounds {
            service: s.name.clone(),
            bounds: Bounds { min: 0, max: 0 },
        });
    }
    if s.desired != 0 {
        steps.push(Step::SetDesiredCount {
            service: s.name.clone(),
            count: 0,
        });
    }
    let what = match (recorded, bounds) {
        (Some(r), _) => format!(
            "scaled to {} while asleep: back to 0, keeping the recorded {r}",
            s.desired
        ),
        (None, Some(b)) if bounds_up => format!(
            "recording {} and autoscaling {b}, then scaling to 0",
            tasks(s.desired)
        ),
        (None, _) => format!("recording {}, then scaling to 0", tasks(s.desired)),
    };
    act(steps, format!("{state}; {what}"))
}

/// Past this many, the databases a service waits for are counted, not listed (each has its own
/// line in the plan): 400 services waiting for 32 databases must not print 32 names 400 times.
const LIST_AT_MOST: usize = 3;

fn wake(s: &ObservedService, ctx: &Ctx<'_>, deps: &Deps) -> Rule {
    let state = ctx.state_reason;
    let recorded = s.tags.get(DESIRED_COUNT);
    let settings = ctx.tables.ecs.settings_of(&s.name);
    let target = match wake_count(s, settings.default_count) {
        Ok(t) => t,
        Err(why) => return Rule::Blocked(why),
    };
    let bounds = match s.tags.get(AUTOSCALING) {
        Some(raw) => match Bounds::from_tag(raw) {
            Some(b) => Some(b),
            None => {
                return Rule::Blocked(format!(
                    "tag {AUTOSCALING}=\"{raw}\" is not readable (expected min=N/max=M); fix or remove it"
                ));
            }
        },
        None => None,
    };
    let Some((count, source)) = target else {
        if s.desired == 0 && recorded.is_none() {
            return Rule::Skip(format!(
                "{state}; left at 0 tasks: no recorded count and no default_count in the schedule file"
            ));
        }
        return Rule::InSync(format!("{state}; {}", tasks(s.desired)));
    };
    // Databases first: every database the service needs must be available.
    match deps {
        Deps::Ready => {}
        Deps::Missing(id) => {
            return Rule::Wait(format!("waiting for database {id}, which was not found"));
        }
        Deps::Unknown => {
            return Rule::Wait("waiting: the databases could not be observed".into());
        }
        Deps::Pending(pending) => {
            let which = if pending.len() > LIST_AT_MOST {
                format!("{} databases (see their lines)", pending.len())
            } else {
                pending.join(", ")
            };
            return Rule::Wait(format!("{state}; waiting for {which} to be available"));
        }
    }
    let mut steps = Vec::new();
    let mut what = Vec::new();
    match (bounds, s.scalable) {
        (Some(b), Scalable::Some(now)) if b != now => {
            steps.push(Step::SetBounds {
                service: s.name.clone(),
                bounds: b,
            });
            what.push(format!("autoscaling {b}"));
        }
        (Some(b), Scalable::None) => what.push(format!(
            "recorded autoscaling {b} not restored: the scalable target is gone"
        )),
        _ => {}
    }
    if s.desired != count {
        steps.push(Step::SetDesiredCount {
            service: s.name.clone(),
            count,
        });
        what.push(format!("{} ({source})", tasks(count)));
    }
    let ours: Vec<String> = [DESIRED_COUNT, AUTOSCALING, tags::SLEPT_AT]
        .into_iter()
        .filter(|k| s.tags.contains_key(*k))
        .map(String::from)
        .collect();
    if !ours.is_empty() {
        steps.push(Step::UntagService {
            arn: s.arn.clone(),
            keys: ours,
        });
    }
    if steps.is_empty() {
        return Rule::InSync(format!("{state}; {}", tasks(s.desired)));
    }
    let what = if what.is_empty() {
        "clearing lightsout tags".to_string()
    } else {
        format!("restoring {}", what.join(", "))
    };
    act(steps, format!("{state}; {what}"))
}

/// The task count a service wakes to, and where it comes from: the count recorded in its
/// `lightsout:desired-count` tag, or — with no tag and at 0 tasks — its `default_count` (from
/// [`Selection::settings_of`]). `None` when there is neither; `Err` when the tag is not a task
/// count.
pub fn wake_count(
    s: &ObservedService,
    default_count: Option<i32>,
) -> Result<Option<(i32, &'static str)>, String> {
    match s.tags.get(DESIRED_COUNT) {
        Some(raw) => match raw.trim().parse::<i32>() {
            Ok(n) if n >= 0 => Ok(Some((n, "recorded"))),
            _ => Err(format!(
                "tag {DESIRED_COUNT}=\"{raw}\" is not a task count; set it to the count to restore, or remove it"
            )),
        },
        None if s.desired == 0 => Ok(default_count
            .filter(|n| *n > 0)
            .map(|n| (n, "default_count"))),
        None => Ok(None),
    }
}
