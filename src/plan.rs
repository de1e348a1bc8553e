//! The planner: desired state and observed state in, ordered actions with reasons out.
//!
//! Pure: no I/O, `now` is a value. The same inputs always give the same plan, and a plan made
//! from what a successful apply left behind has no actions (the apply is idempotent).
//!
//! Order: going to sleep, services first and databases after the services that need them;
//! waking, databases first, and a service only once every database it needs reports
//! `available` (on a later pass: nothing waits inside a pass).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::calendar::local_label;
use crate::kinds::{
    Bounds, DbKind, Observation, ObservedDb, ObservedService, ResourceId, Step, tags,
};
use crate::model::Environment;
use crate::schedule::Decision;

/// How long RDS keeps a stopped database stopped before starting it by itself.
const RDS_AUTO_START: TimeDelta = TimeDelta::days(7);

/// A stop takes RDS minutes, never an hour: a database found available longer than this after
/// lightsout stopped it was started by someone (or something) else.
const STOP_SETTLES: TimeDelta = TimeDelta::hours(1);

/// Past this many, the databases a service waits for are counted, not listed (each has its own
/// line in the plan): 400 services waiting for 32 databases must not print 32 names 400 times.
const LIST_AT_MOST: usize = 3;

/// What the plan does with one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Make these write calls, in order, once every resource in `after` has succeeded.
    Act {
        /// The calls.
        steps: Vec<Step>,
        /// Resources whose actions must succeed first. Shared: most databases wait for the same
        /// services, and a plan of thousands of resources must not copy that list per database.
        after: Arc<Vec<ResourceId>>,
    },
    /// Already as it should be.
    InSync,
    /// Not now: it is changing, or waits for another resource.
    Wait,
    /// Left alone on purpose (skip-until tag, replica, cluster member, ...).
    Skip,
    /// Refused by the production guard.
    Refuse,
    /// Needs a person: the plan cannot act safely.
    Blocked,
}

/// The plan for one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// The resource.
    pub resource: ResourceId,
    /// What to do.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Why, in one line.
    pub reason: String,
}

impl Item {
    /// The write calls of this item.
    pub fn steps(&self) -> &[Step] {
        match &self.verdict {
            Verdict::Act { steps, .. } => steps,
            _ => &[],
        }
    }
}

/// The plan for one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The environment.
    pub env: String,
    /// Whether it should be awake.
    pub awake: bool,
    /// The schedule's decision, for people.
    pub summary: String,
    /// When the decision next changes.
    pub next_change: Option<DateTime<Utc>>,
    /// One item a resource, services before databases when sleeping, databases first when waking.
    pub items: Vec<Item>,
    /// Problems that are not about one resource (observation failures).
    pub problems: Vec<String>,
}

impl Plan {
    /// How many write calls the plan makes.
    pub fn write_count(&self) -> usize {
        self.items.iter().map(|i| i.steps().len()).sum()
    }
}

/// Plans one environment.
pub fn plan(env: &Environment, decision: &Decision, obs: &Observation, now: DateTime<Utc>) -> Plan {
    let summary = decision.describe(env.timezone, now);
    let until = decision
        .next_change
        .map(|t| format!(" until {}", local_label(t, env.timezone, now)))
        .unwrap_or_default();
    let state_reason = if decision.awake {
        format!("awake{until} ({})", decision.why)
    } else {
        format!("asleep{until} ({})", decision.why)
    };
    let selected_clusters: BTreeSet<&str> = obs
        .databases
        .iter()
        .filter(|d| d.kind == DbKind::Cluster)
        .map(|d| d.id.as_str())
        .collect();
    let ctx = Ctx {
        env,
        now,
        state_reason: &state_reason,
        selected_clusters: &selected_clusters,
    };

    let mut services: Vec<Item> = obs
        .services
        .iter()
        .map(|s| ctx.service(s, decision.awake, obs))
        .collect();
    let mut databases: Vec<Item> = obs
        .databases
        .iter()
        .map(|d| ctx.database(d, decision.awake))
        .collect();

    // Going to sleep, a database stops only after the services that need it have slept.
    if !decision.awake {
        let ecs_unknown = !obs.ecs_errors.is_empty();
        // The acting services every database waits for (no depends_on), once; and those that
        // name their databases, by database.
        let mut every: Vec<ResourceId> = Vec::new();
        let mut by_db: BTreeMap<String, Vec<ResourceId>> = BTreeMap::new();
        for s in services
            .iter()
            .filter(|s| matches!(s.verdict, Verdict::Act { .. }))
        {
            let ResourceId::EcsService(name) = &s.resource else {
                continue;
            };
            match &env.service_settings(name).depends_on {
                None => every.push(s.resource.clone()),
                Some(deps) => {
                    for d in deps {
                        by_db.entry(d.clone()).or_default().push(s.resource.clone());
                    }
                }
            }
        }
        let every = Arc::new(every);
        for item in &mut databases {
            let (ResourceId::DbInstance(id) | ResourceId::DbCluster(id)) = &item.resource else {
                continue;
            };
            if let Verdict::Act { after, .. } = &mut item.verdict {
                if ecs_unknown {
                    item.verdict = Verdict::Wait;
                    item.reason =
                        "waiting: the services could not be observed, so they may still use it"
                            .into();
                    continue;
                }
                *after = match by_db.get(id.as_str()) {
                    Some(own) => Arc::new(every.iter().chain(own).cloned().collect()),
                    None => every.clone(),
                };
            }
        }
    }

    let mut items = Vec::new();
    if decision.awake {
        items.append(&mut databases);
        items.append(&mut services);
    } else {
        items.append(&mut services);
        items.append(&mut databases);
    }
    for id in &obs.missing {
        let at = env
            .named(&id.to_string())
            .unwrap_or_else(|| env.source.display().to_string());
        let what = match id {
            ResourceId::EcsService(n) => {
                format!("ECS service {} in cluster {}", n.service, n.cluster)
            }
            ResourceId::DbInstance(x) => format!("RDS DB instance {x}"),
            ResourceId::DbCluster(x) => format!("Aurora DB cluster {x}"),
        };
        let account = env
            .role_arn
            .as_deref()
            .map(|r| format!(" (account of {r})"))
            .unwrap_or_default();
        items.push(Item {
            resource: id.clone(),
            verdict: Verdict::Blocked,
            reason: format!(
                "{at}: not found: there is no {what} in {}{account} — check the name, the region and the account, or remove it from the schedule file",
                env.region
            ),
        });
    }
    Plan {
        env: env.name.clone(),
        awake: decision.awake,
        summary,
        next_change: decision.next_change,
        items,
        problems: obs.errors(),
    }
}

struct Ctx<'a> {
    env: &'a Environment,
    now: DateTime<Utc>,
    state_reason: &'a str,
    selected_clusters: &'a BTreeSet<&'a str>,
}

impl Ctx<'_> {
    /// Reasons every resource shares: production guard and skip-until tag.
    fn excluded(&self, tags: &BTreeMap<String, String>) -> Option<(Verdict, String)> {
        if let Some(why) = self.env.guard.refusal(tags) {
            return Some((Verdict::Refuse, format!("refused: {why}")));
        }
        let raw = tags.get(tags::SKIP_UNTIL)?;
        match DateTime::parse_from_rfc3339(raw.trim()) {
            Ok(t) if self.now < t => Some((
                Verdict::Skip,
                format!(
                    "skipped until {} ({} tag)",
                    local_label(t.with_timezone(&Utc), self.env.timezone, self.now),
                    tags::SKIP_UNTIL
                ),
            )),
            Ok(_) => None,
            Err(_) => Some((
                Verdict::Skip,
                format!(
                    "skipped: {} tag \"{raw}\" is not an RFC 3339 instant (like 2026-12-01T07:00:00Z); left alone until it is fixed or removed",
                    tags::SKIP_UNTIL
                ),
            )),
        }
    }

    fn service(&self, s: &ObservedService, awake: bool, obs: &Observation) -> Item {
        let resource = ResourceId::EcsService(s.name.clone());
        let item = |verdict, reason: String| Item {
            resource: resource.clone(),
            verdict,
            reason,
        };
        if let Some((verdict, reason)) = self.excluded(&s.tags) {
            return item(verdict, reason);
        }
        if obs.scalable_unknown {
            return item(
                Verdict::Wait,
                "waiting: its autoscaling bounds could not be read, and acting without them could lose them".into(),
            );
        }
        if s.status != "ACTIVE" {
            return item(
                Verdict::Skip,
                format!("service is {}, not ACTIVE", s.status),
            );
        }
        if awake {
            self.wake_service(s, obs, item)
        } else {
            self.sleep_service(s, item)
        }
    }

    fn sleep_service(&self, s: &ObservedService, item: impl Fn(Verdict, String) -> Item) -> Item {
        let bounds_up = s.scalable.is_some_and(|b| b.min > 0 || b.max > 0);
        if s.desired == 0 && !bounds_up {
            return item(
                Verdict::InSync,
                format!("{}; {}", self.state_reason, tasks(0)),
            );
        }
        let mut record = BTreeMap::new();
        let recorded = s.tags.get(tags::DESIRED_COUNT);
        if recorded.is_none() {
            record.insert(tags::DESIRED_COUNT.to_string(), s.desired.to_string());
        }
        if let Some(b) = s
            .scalable
            .filter(|_| bounds_up && !s.tags.contains_key(tags::AUTOSCALING))
        {
            record.insert(tags::AUTOSCALING.to_string(), b.to_tag());
        }
        if !s.tags.contains_key(tags::SLEPT_AT) {
            record.insert(
                tags::SLEPT_AT.to_string(),
                self.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
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
        let what = match (recorded, s.scalable) {
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
        item(
            Verdict::Act {
                steps,
                after: Arc::default(),
            },
            format!("{}; {what}", self.state_reason),
        )
    }

    fn wake_service(
        &self,
        s: &ObservedService,
        obs: &Observation,
        item: impl Fn(Verdict, String) -> Item,
    ) -> Item {
        let recorded = s.tags.get(tags::DESIRED_COUNT);
        let settings = self.env.service_settings(&s.name);
        let target = match wake_count(s, settings.default_count) {
            Ok(t) => t,
            Err(why) => return item(Verdict::Blocked, why),
        };
        let bounds = match s.tags.get(tags::AUTOSCALING) {
            Some(raw) => match Bounds::from_tag(raw) {
                Some(b) => Some(b),
                None => {
                    return item(
                        Verdict::Blocked,
                        format!(
                            "tag {}=\"{raw}\" is not readable (expected min=N/max=M); fix or remove it",
                            tags::AUTOSCALING
                        ),
                    );
                }
            },
            None => None,
        };
        let Some((count, source)) = target else {
            if s.desired == 0 && recorded.is_none() {
                return item(
                    Verdict::Skip,
                    format!(
                        "{}; left at 0 tasks: no recorded count and no default_count in the schedule file",
                        self.state_reason
                    ),
                );
            }
            return item(
                Verdict::InSync,
                format!("{}; {}", self.state_reason, tasks(s.desired)),
            );
        };
        // Databases first: every database the service needs must be available.
        let deps: Vec<&ObservedDb> = match &settings.depends_on {
            Some(ids) => {
                let mut found = Vec::new();
                for id in ids {
                    match obs.databases.iter().find(|d| &d.id == id) {
                        Some(d) => found.push(d),
                        None => {
                            return item(
                                Verdict::Wait,
                                format!("waiting for database {id}, which was not found"),
                            );
                        }
                    }
                }
                found
            }
            None => obs
                .databases
                .iter()
                .filter(|d| d.member_of.is_none())
                .collect(),
        };
        if !obs.rds_errors.is_empty() && settings.depends_on.as_ref().is_none_or(|d| !d.is_empty())
        {
            return item(
                Verdict::Wait,
                "waiting: the databases could not be observed".into(),
            );
        }
        let pending: Vec<String> = deps
            .iter()
            .filter(|d| d.status != "available")
            .map(|d| format!("{} ({})", d.resource_id(), d.status))
            .collect();
        if !pending.is_empty() {
            let which = if pending.len() > LIST_AT_MOST {
                format!("{} databases (see their lines)", pending.len())
            } else {
                pending.join(", ")
            };
            return item(
                Verdict::Wait,
                format!("{}; waiting for {which} to be available", self.state_reason),
            );
        }
        let mut steps = Vec::new();
        let mut what = Vec::new();
        match (bounds, s.scalable) {
            (Some(b), Some(now)) if b != now => {
                steps.push(Step::SetBounds {
                    service: s.name.clone(),
                    bounds: b,
                });
                what.push(format!("autoscaling {b}"));
            }
            (Some(b), None) => what.push(format!(
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
        let ours: Vec<String> = [tags::DESIRED_COUNT, tags::AUTOSCALING, tags::SLEPT_AT]
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
            return item(
                Verdict::InSync,
                format!("{}; {}", self.state_reason, tasks(s.desired)),
            );
        }
        let what = if what.is_empty() {
            "clearing lightsout tags".to_string()
        } else {
            format!("restoring {}", what.join(", "))
        };
        item(
            Verdict::Act {
                steps,
                after: Arc::default(),
            },
            format!("{}; {what}", self.state_reason),
        )
    }

    fn database(&self, d: &ObservedDb, awake: bool) -> Item {
        let resource = d.resource_id();
        let item = |verdict, reason: String| Item {
            resource: resource.clone(),
            verdict,
            reason,
        };
        if let Some((verdict, reason)) = self.excluded(&d.tags) {
            return item(verdict, reason);
        }
        // Named one by one, a database lightsout cannot act on is a mistake in the schedule file
        // (the user believes it is scheduled): blocked, with the line and the fix. Picked up by
        // a tag selector, it is skipped quietly with its reason.
        let named = self.env.named(&resource.to_string());
        let cannot = |why: String, fix: String| match &named {
            Some(at) => item(Verdict::Blocked, format!("{at}: {why} — {fix}")),
            None => item(Verdict::Skip, why),
        };
        if let Some(cluster) = &d.member_of {
            let selected = self.selected_clusters.contains(cluster.as_str());
            let how = if selected {
                "it is acted on at cluster level"
            } else {
                "select the cluster, not its instances"
            };
            let fix = if selected {
                format!(
                    "remove the instance from the schedule file: its cluster {cluster} is scheduled already"
                )
            } else {
                format!("name the Aurora cluster instead: [rds] clusters = [\"{cluster}\"]")
            };
            return cannot(format!("member of Aurora cluster {cluster}: {how}"), fix);
        }
        if let Some(source) = &d.replica_of {
            return cannot(
                format!("read replica of {source}: RDS cannot stop read replicas"),
                "remove it from the schedule file (a read replica runs as long as it exists)"
                    .into(),
            );
        }
        if !d.replicas.is_empty() {
            return cannot(
                format!(
                    "source of read replica {}: RDS cannot stop a database that has read replicas",
                    d.replicas.join(", ")
                ),
                "remove it from the schedule file, or delete its read replicas".into(),
            );
        }
        if d.engine_mode.as_deref() == Some("serverless") {
            return cannot(
                "Aurora Serverless v1 cannot be stopped".into(),
                "remove it from the schedule file (it scales to zero by itself when paused)".into(),
            );
        }
        let slept_at = d
            .tags
            .get(tags::SLEPT_AT)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        let has_slept_at = d.tags.contains_key(tags::SLEPT_AT);
        match (awake, d.status.as_str()) {
            (false, "stopped") => item(Verdict::InSync, format!("{}; stopped", self.state_reason)),
            (true, "available") if !has_slept_at => {
                item(Verdict::InSync, format!("{}; available", self.state_reason))
            }
            (true, "available") => item(
                Verdict::Act {
                    steps: vec![Step::UntagDb {
                        arn: d.arn.clone(),
                        keys: vec![tags::SLEPT_AT.into()],
                    }],
                    after: Arc::default(),
                },
                format!(
                    "{}; available, clearing {}",
                    self.state_reason,
                    tags::SLEPT_AT
                ),
            ),
            (false, "available") => {
                let restarted =
                    slept_at.is_some_and(|t| self.now - t >= RDS_AUTO_START - TimeDelta::hours(12));
                let why = match slept_at {
                    Some(t) if restarted => format!(
                        "AWS started it again after 7 days stopped (asleep since {}); stopping again",
                        local_label(t, self.env.timezone, self.now)
                    ),
                    Some(t) if self.now - t < STOP_SETTLES => format!(
                        "the stop lightsout made at {} did not take; stopping again",
                        local_label(t, self.env.timezone, self.now)
                    ),
                    Some(t) => format!(
                        "started outside lightsout (by hand or another tool) while asleep — lightsout stopped it at {}; stopping it again",
                        local_label(t, self.env.timezone, self.now)
                    ),
                    None => "stopping".to_string(),
                };
                let mut steps = Vec::new();
                // slept-at is written before the stop (so the 7-day restart is recognised), and
                // refreshed after such a restart so it is recognised again next week.
                if slept_at.is_none() || restarted {
                    let mut t = BTreeMap::new();
                    t.insert(
                        tags::SLEPT_AT.to_string(),
                        self.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    );
                    steps.push(Step::TagDb {
                        arn: d.arn.clone(),
                        tags: t,
                    });
                }
                steps.push(Step::StopDb {
                    kind: d.kind,
                    id: d.id.clone(),
                });
                item(
                    Verdict::Act {
                        steps,
                        after: Arc::default(),
                    },
                    format!("{}; {why}", self.state_reason),
                )
            }
            (true, "stopped") => {
                let mut steps = vec![Step::StartDb {
                    kind: d.kind,
                    id: d.id.clone(),
                }];
                if d.tags.contains_key(tags::SLEPT_AT) {
                    steps.push(Step::UntagDb {
                        arn: d.arn.clone(),
                        keys: vec![tags::SLEPT_AT.into()],
                    });
                }
                item(
                    Verdict::Act {
                        steps,
                        after: Arc::default(),
                    },
                    format!("{}; starting", self.state_reason),
                )
            }
            (_, status) => item(
                Verdict::Wait,
                format!("{}; {status}: acting once it settles", self.state_reason),
            ),
        }
    }
}

/// `1 task`, `2 tasks`.
fn tasks(n: i32) -> String {
    format!("{n} task{}", if n == 1 { "" } else { "s" })
}

/// The task count a service wakes to, and where it comes from: the count recorded in its
/// `lightsout:desired-count` tag, or — with no tag and at 0 tasks — its `default_count` (from
/// [`Environment::service_settings`]). `None` when there is neither; `Err` when the tag is not a
/// task count.
pub fn wake_count(
    s: &ObservedService,
    default_count: Option<i32>,
) -> Result<Option<(i32, &'static str)>, String> {
    match s.tags.get(tags::DESIRED_COUNT) {
        Some(raw) => match raw.trim().parse::<i32>() {
            Ok(n) if n >= 0 => Ok(Some((n, "recorded"))),
            _ => Err(format!(
                "tag {}=\"{raw}\" is not a task count; set it to the count to restore, or remove it",
                tags::DESIRED_COUNT
            )),
        },
        None if s.desired == 0 => Ok(default_count
            .filter(|n| *n > 0)
            .map(|n| (n, "default_count"))),
        None => Ok(None),
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
