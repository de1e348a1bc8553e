//! EC2 instances: the `[ec2]` table, what is observed of an instance, its write calls, and the
//! rules that stop and start it (tier: compute — after the apps and their capacity going to
//! sleep, before them waking).
//!
//! Like a database, an instance keeps a `lightsout:slept-at` tag while asleep, written before
//! the stop, so one started by hand while asleep is recognised and stopped again. Instances
//! lightsout must not stop are left alone with the reason: a member of an Auto Scaling group
//! (the group would replace it: schedule the group under `[asg]`), a spot instance (stopping
//! one can lose it), and an instance-store-backed instance (stopping loses its disks).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use toml::de::DeTable;

use super::{Ctx, Effect, Rule, TagSelector, tags};
use crate::calendar::local_label;
use crate::diag::{Reader, lookup};

const KEYS: &[&str] = &["instances", "select", "hibernate"];

/// The tag AWS puts on an Auto Scaling group's instances.
pub const ASG_TAG: &str = "aws:autoscaling:groupName";

/// A stop takes minutes: an instance found running longer than this after lightsout stopped it
/// was started by someone else.
const STOP_SETTLES: TimeDelta = TimeDelta::hours(1);

/// The `[ec2]` table: which instances belong to the environment.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Instance ids.
    pub instances: Vec<String>,
    /// Instances selected by tags.
    pub select: Vec<TagSelector>,
    /// Hibernate instead of stopping, where the instance was launched with hibernation.
    pub hibernate: bool,
}

impl Selection {
    /// Whether it selects nothing.
    pub fn is_empty(&self) -> bool {
        self.instances.is_empty() && self.select.is_empty()
    }

    /// Reads `[ec2]`.
    pub fn parse(rd: &mut Reader<'_, '_>, t: &DeTable<'_>) -> Selection {
        rd.check_keys(t, KEYS, "[ec2]");
        let (instances, select) = super::ids_and_selectors(
            rd,
            t,
            "ec2",
            "instances",
            "ec2",
            |id| {
                let hex = id.strip_prefix("i-").unwrap_or("");
                let ok = matches!(hex.len(), 8 | 17)
                    && hex
                        .bytes()
                        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase());
                (!ok).then(|| {
                    (
                        format!("\"{id}\" is not an EC2 instance id"),
                        "write the id, like \"i-0123456789abcdef0\" (i- and 17 lowercase hex digits), or select instances by tags with [[ec2.select]]".to_string(),
                    )
                })
            },
        );
        let mut hibernate = false;
        if let Some(v) = lookup(t, "hibernate") {
            match v.get_ref() {
                toml::de::DeValue::Boolean(b) => hibernate = *b,
                _ => rd.err(
                    v.span(),
                    "`hibernate` must be true or false",
                    Some("write hibernate = true".to_string()),
                ),
            }
        }
        Selection {
            instances,
            select,
            hibernate,
        }
    }
}

/// An instance's state, as EC2 reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceState {
    /// `running`.
    Running,
    /// `stopped`.
    Stopped,
    /// `terminated` or `shutting-down`: gone, or going.
    Gone(String),
    /// Anything else (`pending`, `stopping`), as EC2 says it.
    Other(String),
}

impl InstanceState {
    /// Reads EC2's state name.
    pub fn parse(s: &str) -> InstanceState {
        match s {
            "running" => InstanceState::Running,
            "stopped" => InstanceState::Stopped,
            "terminated" | "shutting-down" => InstanceState::Gone(s.to_string()),
            other => InstanceState::Other(other.to_string()),
        }
    }
}

impl fmt::Display for InstanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstanceState::Running => f.write_str("running"),
            InstanceState::Stopped => f.write_str("stopped"),
            InstanceState::Gone(s) | InstanceState::Other(s) => f.write_str(s),
        }
    }
}

/// An EC2 instance as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedInstance {
    /// Instance id.
    pub id: String,
    /// Its state.
    pub state: InstanceState,
    /// Instance type, like `t3.micro`.
    pub instance_type: String,
    /// `spot` or `scheduled` (`None`: on demand).
    pub lifecycle: Option<String>,
    /// `ebs` or `instance-store`.
    pub root_device_type: String,
    /// Launched with hibernation configured.
    pub hibernation: bool,
    /// Its tags (`aws:autoscaling:groupName` on a group's member).
    pub tags: BTreeMap<String, String>,
}

impl ObservedInstance {
    /// `running (t3.micro)`.
    pub fn describe(&self) -> String {
        format!("{} ({})", self.state, self.instance_type)
    }

    /// Stopped by lightsout.
    pub fn slept(&self) -> bool {
        self.state == InstanceState::Stopped && self.tags.contains_key(tags::SLEPT_AT)
    }

    /// Why lightsout must not stop it, if it must not.
    pub fn cannot_stop(&self) -> Option<(String, String)> {
        if let Some(group) = self.tags.get(ASG_TAG) {
            return Some((
                format!(
                    "member of Auto Scaling group {group}: the group would replace a stopped instance"
                ),
                format!("schedule the group instead: [asg] groups = [\"{group}\"]"),
            ));
        }
        if let Some(l) = &self.lifecycle {
            return Some((
                format!("a {l} instance: stopping it can lose it to the spot market"),
                "remove it from the schedule file".into(),
            ));
        }
        if self.root_device_type == "instance-store" {
            return Some((
                "instance-store-backed: stopping it would lose its disks (it can only be terminated)".into(),
                "remove it from the schedule file".into(),
            ));
        }
        None
    }
}

/// One EC2 write call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum Step {
    /// `StopInstances` (hibernating when `hibernate`).
    StopInstance {
        /// Instance id.
        id: String,
        /// Hibernate rather than stop.
        hibernate: bool,
    },
    /// `StartInstances`.
    StartInstance {
        /// Instance id.
        id: String,
    },
    /// `CreateTags`.
    TagInstance {
        /// Instance id.
        id: String,
        /// Tags to set.
        tags: BTreeMap<String, String>,
    },
    /// `DeleteTags`.
    UntagInstance {
        /// Instance id.
        id: String,
        /// Tag keys to remove.
        keys: Vec<String>,
    },
}

impl Step {
    /// The AWS API operation it calls.
    pub fn operation(&self) -> &'static str {
        match self {
            Step::StopInstance { .. } => "StopInstances",
            Step::StartInstance { .. } => "StartInstances",
            Step::TagInstance { .. } => "CreateTags",
            Step::UntagInstance { .. } => "DeleteTags",
        }
    }

    /// A word or two for plan tables.
    pub fn label(&self) -> String {
        match self {
            Step::StopInstance {
                hibernate: true, ..
            } => "hibernate".into(),
            Step::StopInstance { .. } => "stop".into(),
            Step::StartInstance { .. } => "start".into(),
            Step::TagInstance { .. } => "tag slept-at".into(),
            Step::UntagInstance { .. } => "untag".into(),
        }
    }

    /// A stop puts the instance to sleep; a start wakes it.
    pub fn effect(&self) -> Option<Effect> {
        match self {
            Step::StopInstance { .. } => Some(Effect::Sleep),
            Step::StartInstance { .. } => Some(Effect::Wake),
            _ => None,
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::TagInstance { tags, .. } => write!(f, "tag {}", super::tags::list(tags)),
            Step::UntagInstance { keys, .. } => write!(f, "untag {}", keys.join(", ")),
            Step::StopInstance {
                hibernate: true, ..
            } => f.write_str("StopInstances (hibernate)"),
            Step::StopInstance { .. } => f.write_str("StopInstances"),
            Step::StartInstance { .. } => f.write_str("StartInstances"),
        }
    }
}

fn act(steps: Vec<Step>, reason: String) -> Rule {
    Rule::Act(steps.into_iter().map(super::Step::Ec2).collect(), reason)
}

/// What should be done with an instance (its guard and `skip-until` were checked already).
pub fn rule(i: &ObservedInstance, ctx: &Ctx<'_>, deps: &super::Deps) -> Rule {
    let state = ctx.state_reason;
    if let Some((why, fix)) = i.cannot_stop() {
        // Named one by one, it is a mistake in the schedule file; picked up by a selector, it is
        // left alone quietly with its reason.
        return match &ctx.named {
            Some(at) => Rule::Blocked(format!("{at}: {why} — {fix}")),
            None => Rule::Skip(why),
        };
    }
    let slept_at = i
        .tags
        .get(tags::SLEPT_AT)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    let has_slept_at = i.tags.contains_key(tags::SLEPT_AT);
    let untag = || Step::UntagInstance {
        id: i.id.clone(),
        keys: vec![tags::SLEPT_AT.into()],
    };
    match (ctx.awake, &i.state) {
        (_, InstanceState::Gone(s)) => Rule::Skip(format!("instance is {s}")),
        (false, InstanceState::Stopped) => Rule::InSync(format!("{state}; stopped")),
        (true, InstanceState::Running) if !has_slept_at => {
            Rule::InSync(format!("{state}; running"))
        }
        (true, InstanceState::Running) => act(
            vec![untag()],
            format!("{state}; running, clearing {}", tags::SLEPT_AT),
        ),
        (false, InstanceState::Running) => {
            let why = match slept_at {
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
            let hibernate = ctx.tables.ec2.hibernate && i.hibernation;
            let mut steps = Vec::new();
            if !has_slept_at {
                steps.push(Step::TagInstance {
                    id: i.id.clone(),
                    tags: BTreeMap::from([(
                        tags::SLEPT_AT.to_string(),
                        ctx.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    )]),
                });
            }
            steps.push(Step::StopInstance {
                id: i.id.clone(),
                hibernate,
            });
            let how = if hibernate { " (hibernating)" } else { "" };
            act(steps, format!("{state}; {why}{how}"))
        }
        (true, InstanceState::Stopped) => {
            match deps {
                super::Deps::Ready => {}
                super::Deps::Missing(id) => {
                    return Rule::Wait(format!("waiting for {id}, which was not found"));
                }
                super::Deps::Unknown => {
                    return Rule::Wait("waiting: the databases could not be observed".into());
                }
                super::Deps::Pending(p) => {
                    return Rule::Wait(format!(
                        "{state}; waiting for {} to be available",
                        p.join(", ")
                    ));
                }
            }
            let mut steps = vec![Step::StartInstance { id: i.id.clone() }];
            if has_slept_at {
                steps.push(untag());
            }
            act(steps, format!("{state}; starting"))
        }
        (_, s) => Rule::Wait(format!("{state}; {s}: acting once it settles")),
    }
}
