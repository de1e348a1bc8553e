//! EC2 Auto Scaling groups: the `[asg]` table, what is observed of a group, its write calls, and
//! the rules that put it to sleep (0/0/0) and wake it (tier: capacity — after the ECS services
//! that run on it going to sleep, before them waking).
//!
//! Memory lives on the group, exactly as on an ECS service: before it goes to 0/0/0 its desired
//! capacity and its min/max are written as tags on it (`lightsout:desired-count`,
//! `lightsout:autoscaling`, never propagated to instances, never overwritten once there); waking
//! restores all three in one call, then removes the tags.
//!
//! Scale-in protection (an ECS capacity provider's managed termination protection sets it on
//! every instance) is reported, never fought: lightsout does not lift it. The group goes to
//! 0/0/0 and its protected instances stay until ECS releases them (once the services on them
//! are at 0, which the tier order makes sure of first).

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use toml::de::DeTable;

use super::{Bounds, Ctx, Deps, Effect, Rule, TagSelector, tags};
use crate::diag::Reader;

/// On a sleeping group: the desired capacity to restore (the ECS services' tag, reused).
pub const DESIRED_COUNT: &str = super::ecs::DESIRED_COUNT;
/// On a sleeping group: its min and max, `min=1/max=4` (the ECS services' tag, reused).
pub const BOUNDS: &str = super::ecs::AUTOSCALING;

const KEYS: &[&str] = &["groups", "select"];

/// The price table's product for EC2 instances (Linux, on demand, per instance-hour): the
/// `[rds.REGION.ec2]` tables of `src/digest/prices.toml`.
pub const EC2_PRODUCT: &str = "ec2";

/// What a group's instances are launched from, for pricing it while it has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launch {
    /// A mixed instances policy's first instance type.
    Type(String),
    /// A launch template, by id (or by name when `by_name`), and version.
    Template {
        /// Template id, or name.
        id: String,
        /// Whether `id` is the template's name.
        by_name: bool,
        /// `$Default`, `$Latest` or a number.
        version: String,
    },
    /// A launch configuration's name.
    Configuration(String),
    /// None known.
    Unknown,
}

/// The `[asg]` table: which Auto Scaling groups belong to the environment.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Group names.
    pub groups: Vec<String>,
    /// Groups selected by tags.
    pub select: Vec<TagSelector>,
}

impl Selection {
    /// Whether it selects nothing.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty() && self.select.is_empty()
    }

    /// Reads `[asg]`.
    pub fn parse(rd: &mut Reader<'_, '_>, t: &DeTable<'_>) -> Selection {
        rd.check_keys(t, KEYS, "[asg]");
        let (groups, select) = super::ids_and_selectors(rd, t, "asg", "groups", "asg", |id| {
            let ok = (1..=255).contains(&id.len())
                && id.trim() == id
                && !id.chars().any(char::is_control);
            (!ok).then(|| {
                (
                    format!("\"{id}\" is not an Auto Scaling group name"),
                    "names are 1 to 255 characters, without surrounding spaces: the group's name as the console shows it (not its ARN)".to_string(),
                )
            })
        });
        Selection { groups, select }
    }
}

/// An Auto Scaling group as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedGroup {
    /// Group name.
    pub name: String,
    /// Minimum size.
    pub min: i32,
    /// Maximum size.
    pub max: i32,
    /// Desired capacity.
    pub desired: i32,
    /// Instances in service.
    pub in_service: i32,
    /// Instances of any lifecycle state (launching, terminating, ...).
    pub instances: i32,
    /// Instances protected from scale-in.
    pub protected: i32,
    /// Whether new instances are protected from scale-in (an ECS capacity provider's managed
    /// termination protection requires it).
    pub protects_new: bool,
    /// Instance types of its instances, one per instance (for pricing).
    pub instance_types: Vec<String>,
    /// What its instances are launched from.
    pub launch: Launch,
    /// `Delete in progress`, if AWS says so.
    pub status: Option<String>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

impl ObservedGroup {
    /// Put to sleep by lightsout: at 0/0/0 with its recorded capacity on it.
    pub fn slept(&self) -> bool {
        self.desired == 0 && self.max == 0 && self.tags.contains_key(DESIRED_COUNT)
    }

    /// The capacity it runs awake: its desired capacity, or asleep the one recorded on it.
    pub fn wake_capacity(&self) -> i32 {
        match self
            .tags
            .get(DESIRED_COUNT)
            .and_then(|c| c.trim().parse().ok())
        {
            Some(n) if self.desired == 0 => n,
            _ => self.desired,
        }
    }

    /// `2/2 instances (min 1 / max 4)`, `0/0 instances (min 0 / max 0), sleeping (recorded 2)`.
    pub fn describe(&self) -> String {
        let mut d = format!(
            "{}/{} instances (min {} / max {})",
            self.in_service, self.desired, self.min, self.max
        );
        if self.protected > 0 {
            d.push_str(&format!(", {} protected from scale-in", self.protected));
        }
        if let Some(c) = self.tags.get(DESIRED_COUNT) {
            d.push_str(&format!(", sleeping (recorded {c})"));
        }
        d
    }

    /// Its status in a word: `InService` (all desired instances in service), `scaling`, or
    /// what AWS says (`Delete in progress`).
    pub fn status_word(&self) -> String {
        match &self.status {
            Some(s) => s.clone(),
            None if self.in_service == self.desired && self.instances == self.desired => {
                "InService".into()
            }
            None => "scaling".into(),
        }
    }
}

/// One Auto Scaling write call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum Step {
    /// `CreateOrUpdateTags` on the group (never propagated at launch).
    TagGroup {
        /// Group name.
        group: String,
        /// Tags to set.
        tags: BTreeMap<String, String>,
    },
    /// `DeleteTags` on the group.
    UntagGroup {
        /// Group name.
        group: String,
        /// Tag keys to remove.
        keys: Vec<String>,
    },
    /// `UpdateAutoScalingGroup` with a new min, max and desired capacity.
    SetCapacity {
        /// Group name.
        group: String,
        /// Minimum size.
        min: i32,
        /// Maximum size.
        max: i32,
        /// Desired capacity.
        desired: i32,
    },
}

impl Step {
    /// The AWS API operation it calls.
    pub fn operation(&self) -> &'static str {
        match self {
            Step::TagGroup { .. } => "CreateOrUpdateTags",
            Step::UntagGroup { .. } => "DeleteTags",
            Step::SetCapacity { .. } => "UpdateAutoScalingGroup",
        }
    }

    /// A word or two for plan tables.
    pub fn label(&self) -> String {
        match self {
            Step::TagGroup { .. } => "record".into(),
            Step::UntagGroup { .. } => "untag".into(),
            Step::SetCapacity {
                min, max, desired, ..
            } => format!("capacity {min}/{max}/{desired}"),
        }
    }

    /// Going to 0 desired puts the group to sleep; any more wakes it.
    pub fn effect(&self) -> Option<Effect> {
        match self {
            Step::SetCapacity { desired: 0, .. } => Some(Effect::Sleep),
            Step::SetCapacity { .. } => Some(Effect::Wake),
            _ => None,
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::TagGroup { tags, .. } => write!(f, "tag {}", super::tags::list(tags)),
            Step::UntagGroup { keys, .. } => write!(f, "untag {}", keys.join(", ")),
            Step::SetCapacity {
                min, max, desired, ..
            } => write!(f, "set min {min} / max {max} / desired {desired}"),
        }
    }
}

fn act(steps: Vec<Step>, reason: String) -> Rule {
    Rule::Act(steps.into_iter().map(super::Step::Asg).collect(), reason)
}

fn instances(n: i32) -> String {
    format!("{n} instance{}", if n == 1 { "" } else { "s" })
}

/// What should be done with a group (its guard and `skip-until` were checked already).
pub fn rule(g: &ObservedGroup, ctx: &Ctx<'_>, deps: &Deps) -> Rule {
    if let Some(status) = &g.status {
        return Rule::Skip(format!("group is {status}"));
    }
    if ctx.awake {
        wake(g, ctx, deps)
    } else {
        sleep(g, ctx)
    }
}

fn sleep(g: &ObservedGroup, ctx: &Ctx<'_>) -> Rule {
    let state = ctx.state_reason;
    let protection = || {
        format!(
            "; {} protected from scale-in stay until ECS releases them (managed termination protection: lightsout reports it, never lifts it)",
            instances(g.protected)
        )
    };
    if g.min == 0 && g.max == 0 && g.desired == 0 {
        if g.instances > 0 && g.protected > 0 {
            return Rule::Wait(format!("{state}; at 0/0/0{}", protection()));
        }
        return Rule::InSync(format!("{state}; 0 instances"));
    }
    let recorded = g.tags.get(DESIRED_COUNT);
    let mut record = BTreeMap::new();
    if recorded.is_none() {
        record.insert(DESIRED_COUNT.to_string(), g.desired.to_string());
    }
    if !g.tags.contains_key(BOUNDS) {
        record.insert(
            BOUNDS.to_string(),
            Bounds {
                min: g.min,
                max: g.max,
            }
            .to_tag(),
        );
    }
    if !g.tags.contains_key(tags::SLEPT_AT) {
        record.insert(
            tags::SLEPT_AT.to_string(),
            ctx.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        );
    }
    let mut steps = Vec::new();
    if !record.is_empty() {
        steps.push(Step::TagGroup {
            group: g.name.clone(),
            tags: record,
        });
    }
    steps.push(Step::SetCapacity {
        group: g.name.clone(),
        min: 0,
        max: 0,
        desired: 0,
    });
    let what = match recorded {
        Some(r) => format!(
            "scaled to {}/{}/{} while asleep: back to 0/0/0, keeping the recorded {r}",
            g.min, g.max, g.desired
        ),
        None => format!(
            "recording {} and min {} / max {}, then scaling to 0/0/0",
            instances(g.desired),
            g.min,
            g.max
        ),
    };
    let note = if g.protected > 0 {
        protection()
    } else {
        String::new()
    };
    act(steps, format!("{state}; {what}{note}"))
}

fn wake(g: &ObservedGroup, ctx: &Ctx<'_>, deps: &Deps) -> Rule {
    let state = ctx.state_reason;
    let ours: Vec<String> = [DESIRED_COUNT, BOUNDS, tags::SLEPT_AT]
        .into_iter()
        .filter(|k| g.tags.contains_key(*k))
        .map(String::from)
        .collect();
    let Some(raw) = g.tags.get(DESIRED_COUNT) else {
        if !ours.is_empty() {
            return act(
                vec![Step::UntagGroup {
                    group: g.name.clone(),
                    keys: ours,
                }],
                format!("{state}; clearing lightsout tags"),
            );
        }
        if g.max == 0 {
            return Rule::Skip(format!(
                "{state}; left at 0/0/0: no capacity recorded on it by lightsout"
            ));
        }
        return Rule::InSync(format!("{state}; {}", instances(g.in_service)));
    };
    let desired = match raw.trim().parse::<i32>() {
        Ok(n) if n >= 0 => n,
        _ => {
            return Rule::Blocked(format!(
                "tag {DESIRED_COUNT}=\"{raw}\" is not a capacity; set it to the desired capacity to restore, or remove it"
            ));
        }
    };
    let bounds = match g.tags.get(BOUNDS).map(|b| (b, Bounds::from_tag(b))) {
        Some((_, Some(b))) => b,
        Some((raw, None)) => {
            return Rule::Blocked(format!(
                "tag {BOUNDS}=\"{raw}\" is not readable (expected min=N/max=M); fix or remove it"
            ));
        }
        // Recorded by hand without bounds: the least that holds the count.
        None => Bounds {
            min: g.min.min(desired),
            max: g.max.max(desired),
        },
    };
    if desired < bounds.min || desired > bounds.max {
        return Rule::Blocked(format!(
            "recorded capacity {desired} is outside the recorded min {} / max {}; fix the {DESIRED_COUNT} or {BOUNDS} tag",
            bounds.min, bounds.max
        ));
    }
    // The tier after (compute, data) first: what runs on the group may need it.
    match deps {
        Deps::Ready => {}
        Deps::Missing(id) => return Rule::Wait(format!("waiting for {id}, which was not found")),
        Deps::Unknown => {
            return Rule::Wait("waiting: what it depends on could not be observed".into());
        }
        Deps::Pending(p) => {
            return Rule::Wait(format!("{state}; waiting for {} to be ready", p.join(", ")));
        }
    }
    let mut steps = Vec::new();
    if (g.min, g.max, g.desired) != (bounds.min, bounds.max, desired) {
        steps.push(Step::SetCapacity {
            group: g.name.clone(),
            min: bounds.min,
            max: bounds.max,
            desired,
        });
    }
    steps.push(Step::UntagGroup {
        group: g.name.clone(),
        keys: ours,
    });
    act(
        steps,
        format!(
            "{state}; restoring {} (recorded), min {} / max {}",
            instances(desired),
            bounds.min,
            bounds.max
        ),
    )
}
