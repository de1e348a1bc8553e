//! RDS DB instances and Aurora DB clusters: the `[rds]` table, what is observed of a database,
//! its write calls, and the rules that stop and start it.
//!
//! Aurora is acted on at cluster level; read replicas and their sources cannot be stopped. A
//! database keeps a `lightsout:slept-at` tag while asleep, written before the stop, so that one
//! AWS starts by itself after 7 days stopped is recognised and stopped again.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use toml::de::DeTable;

use super::{Ctx, Effect, Rule, TagSelector, tags};
use crate::calendar::local_label;
use crate::diag::{Reader, lookup};

const KEYS: &[&str] = &["instances", "clusters", "select"];
const SELECT_KEYS: &[&str] = &["tags"];

/// How long RDS keeps a stopped database stopped before starting it by itself.
const RDS_AUTO_START: TimeDelta = TimeDelta::days(7);

/// A stop takes RDS minutes, never an hour: a database found available longer than this after
/// lightsout stopped it was started by someone (or something) else.
const STOP_SETTLES: TimeDelta = TimeDelta::hours(1);

/// The `[rds]` table: which databases belong to the environment.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// RDS DB instance identifiers.
    pub instances: Vec<String>,
    /// Aurora DB cluster identifiers.
    pub clusters: Vec<String>,
    /// Instances and clusters selected by tags.
    pub select: Vec<TagSelector>,
}

impl Selection {
    /// Whether it selects nothing.
    pub fn is_empty(&self) -> bool {
        self.instances.is_empty() && self.clusters.is_empty() && self.select.is_empty()
    }

    /// The identifiers named one by one.
    pub fn named(&self) -> impl Iterator<Item = &str> {
        self.instances
            .iter()
            .chain(&self.clusters)
            .map(String::as_str)
    }

    /// Reads `[rds]`.
    pub fn parse(rd: &mut Reader<'_, '_>, t: &DeTable<'_>) -> Selection {
        rd.check_keys(t, KEYS, "[rds]");
        let mut sel = Selection::default();
        for (key, kind, list) in [
            ("instances", "rds", &mut sel.instances),
            ("clusters", "aurora", &mut sel.clusters),
        ] {
            if let Some(v) = lookup(t, key) {
                for (id, span) in rd.strings(v, &format!("rds.{key}")) {
                    if !is_db_identifier(id) {
                        rd.err(
                            span,
                            format!("\"{id}\" is not an RDS identifier"),
                            Some("identifiers are 1 to 63 letters, digits and hyphens, starting with a letter".to_string()),
                        );
                    } else if list.iter().any(|x| x == id) {
                        rd.err(
                            span,
                            format!("\"{id}\" is listed twice"),
                            Some("remove one of them".to_string()),
                        );
                    } else {
                        list.push(id.to_string());
                        rd.named.push((format!("{kind}:{id}"), span));
                    }
                }
            }
        }
        if let Some(v) = lookup(t, "select") {
            for item in rd.array(v, "rds.select").unwrap_or_default() {
                let Some(st) = rd.table(item, "rds.select") else {
                    continue;
                };
                rd.check_keys(st, SELECT_KEYS, "[[rds.select]]");
                match lookup(st, "tags") {
                    Some(tv) => {
                        if let Some(tags) = rd.tags(tv, "tags") {
                            rd.selectors.push((format!("rds {tags:?}"), item.span()));
                            sel.select.push(tags);
                        }
                    }
                    None => rd.err(
                        item.span(),
                        "[[rds.select]] needs `tags`",
                        Some("add tags = { Environment = \"staging\" }".to_string()),
                    ),
                }
            }
        }
        sel
    }
}

fn is_db_identifier(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// Whether a database is an instance or an Aurora cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DbKind {
    /// An RDS DB instance.
    Instance,
    /// An Aurora DB cluster.
    Cluster,
}

/// A database's status, as RDS reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbStatus {
    /// `available`.
    Available,
    /// `stopped`.
    Stopped,
    /// Anything else (`stopping`, `starting`, `backing-up`, ...), as RDS says it.
    Other(String),
}

impl DbStatus {
    /// Reads RDS's status text.
    pub fn parse(s: &str) -> DbStatus {
        match s {
            "available" => DbStatus::Available,
            "stopped" => DbStatus::Stopped,
            other => DbStatus::Other(other.to_string()),
        }
    }
}

impl From<&str> for DbStatus {
    fn from(s: &str) -> DbStatus {
        DbStatus::parse(s)
    }
}

impl fmt::Display for DbStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbStatus::Available => f.write_str("available"),
            DbStatus::Stopped => f.write_str("stopped"),
            DbStatus::Other(s) => f.write_str(s),
        }
    }
}

/// An RDS instance or Aurora cluster as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedDb {
    /// Instance or cluster.
    pub kind: DbKind,
    /// Identifier.
    pub id: String,
    /// ARN.
    pub arn: String,
    /// Status: `available`, `stopped`, `stopping`, `starting`, ...
    pub status: DbStatus,
    /// Engine, like `postgres` or `aurora-postgresql`.
    pub engine: String,
    /// Engine mode of a cluster (`provisioned`, `serverless`), if known.
    pub engine_mode: Option<String>,
    /// For an instance: the Aurora cluster it belongs to.
    pub member_of: Option<String>,
    /// The instance or cluster this one replicates, if it is a replica.
    pub replica_of: Option<String>,
    /// Replicas of this one.
    pub replicas: Vec<String>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

impl ObservedDb {
    /// The id the planner knows it by.
    pub fn resource_id(&self) -> super::ResourceId {
        match self.kind {
            DbKind::Instance => super::ResourceId::DbInstance(self.id.clone()),
            DbKind::Cluster => super::ResourceId::DbCluster(self.id.clone()),
        }
    }

    /// `available (postgres)`.
    pub fn describe(&self) -> String {
        format!("{} ({})", self.status, self.engine)
    }

    /// Whether RDS lets lightsout stop it: not a read replica or a replica's source, not an
    /// Aurora member (its cluster is stopped instead), not Aurora Serverless v1.
    pub fn can_stop(&self) -> bool {
        self.member_of.is_none()
            && self.replica_of.is_none()
            && self.replicas.is_empty()
            && self.engine_mode.as_deref() != Some("serverless")
    }

    /// Stopped by lightsout.
    pub fn slept(&self) -> bool {
        self.status == DbStatus::Stopped && self.tags.contains_key(tags::SLEPT_AT)
    }
}

/// One RDS write call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum Step {
    /// RDS `StopDBInstance` or `StopDBCluster`.
    StopDb {
        /// Instance or cluster.
        kind: DbKind,
        /// Identifier.
        id: String,
    },
    /// RDS `StartDBInstance` or `StartDBCluster`.
    StartDb {
        /// Instance or cluster.
        kind: DbKind,
        /// Identifier.
        id: String,
    },
    /// RDS `AddTagsToResource`.
    TagDb {
        /// ARN.
        arn: String,
        /// Tags to set.
        tags: BTreeMap<String, String>,
    },
    /// RDS `RemoveTagsFromResource`.
    UntagDb {
        /// ARN.
        arn: String,
        /// Tag keys to remove.
        keys: Vec<String>,
    },
}

impl Step {
    /// The AWS API operation it calls.
    pub fn operation(&self) -> &'static str {
        match self {
            Step::StopDb {
                kind: DbKind::Instance,
                ..
            } => "StopDBInstance",
            Step::StopDb {
                kind: DbKind::Cluster,
                ..
            } => "StopDBCluster",
            Step::StartDb {
                kind: DbKind::Instance,
                ..
            } => "StartDBInstance",
            Step::StartDb {
                kind: DbKind::Cluster,
                ..
            } => "StartDBCluster",
            Step::TagDb { .. } => "AddTagsToResource",
            Step::UntagDb { .. } => "RemoveTagsFromResource",
        }
    }

    /// A word or two for plan tables.
    pub fn label(&self) -> String {
        match self {
            Step::StopDb { .. } => "stop".into(),
            Step::StartDb { .. } => "start".into(),
            Step::TagDb { .. } => "tag slept-at".into(),
            Step::UntagDb { .. } => "untag".into(),
        }
    }

    /// A stop puts the database to sleep; a start wakes it.
    pub fn effect(&self) -> Option<Effect> {
        match self {
            Step::StopDb { .. } => Some(Effect::Sleep),
            Step::StartDb { .. } => Some(Effect::Wake),
            _ => None,
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = |k: &DbKind| match k {
            DbKind::Instance => "DBInstance",
            DbKind::Cluster => "DBCluster",
        };
        match self {
            Step::TagDb { tags, .. } => write!(f, "tag {}", super::tags::list(tags)),
            Step::UntagDb { keys, .. } => write!(f, "untag {}", keys.join(", ")),
            Step::StopDb { kind: k, .. } => write!(f, "Stop{}", kind(k)),
            Step::StartDb { kind: k, .. } => write!(f, "Start{}", kind(k)),
        }
    }
}

fn act(steps: Vec<Step>, reason: String) -> Rule {
    Rule::Act(steps.into_iter().map(super::Step::Rds).collect(), reason)
}

/// What should be done with a database (its guard and `skip-until` were checked already).
pub fn rule(d: &ObservedDb, ctx: &Ctx<'_>) -> Rule {
    let state = ctx.state_reason;
    // Named one by one, a database lightsout cannot act on is a mistake in the schedule file
    // (the user believes it is scheduled): blocked, with the line and the fix. Picked up by
    // a tag selector, it is skipped quietly with its reason.
    let cannot = |why: String, fix: String| match &ctx.named {
        Some(at) => Rule::Blocked(format!("{at}: {why} — {fix}")),
        None => Rule::Skip(why),
    };
    if let Some(cluster) = &d.member_of {
        let selected = ctx
            .obs
            .databases
            .iter()
            .any(|c| c.kind == DbKind::Cluster && &c.id == cluster);
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
            "remove it from the schedule file (a read replica runs as long as it exists)".into(),
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
    let stamp = || {
        BTreeMap::from([(
            tags::SLEPT_AT.to_string(),
            ctx.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        )])
    };
    match (ctx.awake, &d.status) {
        (false, DbStatus::Stopped) => Rule::InSync(format!("{state}; stopped")),
        (true, DbStatus::Available) if !has_slept_at => Rule::InSync(format!("{state}; available")),
        (true, DbStatus::Available) => act(
            vec![Step::UntagDb {
                arn: d.arn.clone(),
                keys: vec![tags::SLEPT_AT.into()],
            }],
            format!("{state}; available, clearing {}", tags::SLEPT_AT),
        ),
        (false, DbStatus::Available) => {
            let restarted =
                slept_at.is_some_and(|t| ctx.now - t >= RDS_AUTO_START - TimeDelta::hours(12));
            let why = match slept_at {
                Some(t) if restarted => format!(
                    "AWS started it again after 7 days stopped (asleep since {}); stopping again",
                    local_label(t, ctx.tz, ctx.now)
                ),
                Some(t) if ctx.now - t < STOP_SETTLES => format!(
                    "the stop lightsout made at {} did not take; stopping again",
                    local_label(t, ctx.tz, ctx.now)
                ),
                Some(t) => format!(
                    "started outside lightsout (by hand or another tool) while asleep — lightsout stopped it at {}; stopping it again",
                    local_label(t, ctx.tz, ctx.now)
                ),
                None => "stopping".to_string(),
            };
            let mut steps = Vec::new();
            // slept-at is written before the stop (so the 7-day restart is recognised), and
            // refreshed after such a restart so it is recognised again next week.
            if slept_at.is_none() || restarted {
                steps.push(Step::TagDb {
                    arn: d.arn.clone(),
                    tags: stamp(),
                });
            }
            steps.push(Step::StopDb {
                kind: d.kind,
                id: d.id.clone(),
            });
            act(steps, format!("{state}; {why}"))
        }
        (true, DbStatus::Stopped) => {
            let mut steps = vec![Step::StartDb {
                kind: d.kind,
                id: d.id.clone(),
            }];
            if has_slept_at {
                steps.push(Step::UntagDb {
                    arn: d.arn.clone(),
                    keys: vec![tags::SLEPT_AT.into()],
                });
            }
            act(steps, format!("{state}; starting"))
        }
        (_, status) => Rule::Wait(format!("{state}; {status}: acting once it settles")),
    }
}
