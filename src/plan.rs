//! The planner: desired state and observed state in, ordered actions with reasons out.
//!
//! Pure: no I/O, `now` is a value. The same inputs always give the same plan, and a plan made
//! from what a successful apply left behind has no actions (the apply is idempotent).
//!
//! Kind-agnostic: what every kind shares lives here — the production guard, `skip-until`, the
//! order of tiers and who waits for whom; what to do with one resource is its kind's rule
//! ([`crate::kinds`]).
//!
//! Order: going to sleep, the apps (services) first, then their capacity (Auto Scaling groups),
//! and a resource of a later tier (a database) only after those of the earlier tiers that need
//! it have slept; waking, the data tier first, and each earlier tier only once everything it
//! needs is ready (on a later pass: nothing waits inside a pass).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::calendar::local_label;
use crate::kinds::{Ctx, Deps, Kind, Observation, Observed, ResourceId, Rule, Step, Tier, skipped};
use crate::model::Environment;
use crate::schedule::Decision;

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
    /// The environment's state as each item's reason begins (`asleep until Mon 07:00 CET
    /// (schedule)`), so a reader that shows the state once can show the rest of each reason.
    pub state_reason: String,
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

    let mut items: Vec<(Observed<'_>, Item)> = obs
        .each()
        .map(|o| {
            let item = decide_one(env, decision.awake, &state_reason, obs, o, now);
            (o, item)
        })
        .collect();

    // Going to sleep, a resource of a later tier goes only after the acting resources of the
    // earlier tiers that need it; while those could not be observed, it waits.
    if !decision.awake {
        order_sleep(env, obs, &mut items);
    }

    // Apps first to sleep, data first to wake; stable within a tier.
    items.sort_by_key(|(o, _)| {
        let tier = o.kind().tier() as i32;
        if decision.awake { -tier } else { tier }
    });
    let mut items: Vec<Item> = items.into_iter().map(|(_, i)| i).collect();
    for id in &obs.missing {
        let at = env
            .named(&id.to_string())
            .unwrap_or_else(|| env.source.display().to_string());
        let account = env
            .role_arn
            .as_deref()
            .map(|r| format!(" (account of {r})"))
            .unwrap_or_default();
        items.push(Item {
            resource: id.clone(),
            verdict: Verdict::Blocked,
            reason: format!(
                "{at}: not found: there is no {} in {}{account} — check the name, the region and the account, or remove it from the schedule file",
                id.describe(),
                env.region
            ),
        });
    }
    Plan {
        env: env.name.clone(),
        awake: decision.awake,
        summary,
        state_reason,
        next_change: decision.next_change,
        items,
        problems: obs.problems(),
    }
}

/// The plan for one resource: the guard, then `skip-until`, then its kind's rule.
fn decide_one(
    env: &Environment,
    awake: bool,
    state_reason: &str,
    obs: &Observation,
    o: Observed<'_>,
    now: DateTime<Utc>,
) -> Item {
    let resource = o.id();
    let item = |verdict, reason| Item {
        resource: resource.clone(),
        verdict,
        reason,
    };
    if let Some(why) = env.guard.refusal(o.tags()) {
        return item(Verdict::Refuse, format!("refused: {why}"));
    }
    if let Some(why) = skipped(o.tags(), now, env.timezone) {
        return item(Verdict::Skip, why);
    }
    let ctx = Ctx {
        now,
        tz: env.timezone,
        awake,
        state_reason,
        named: env.named(&resource.to_string()),
        tables: &env.kinds,
        obs,
    };
    let deps = if awake {
        deps(env, obs, o)
    } else {
        Deps::Ready
    };
    match o.rule(&ctx, &deps) {
        Rule::Act(steps, why) => item(
            Verdict::Act {
                steps,
                after: Arc::default(),
            },
            why,
        ),
        Rule::InSync(why) => item(Verdict::InSync, why),
        Rule::Wait(why) => item(Verdict::Wait, why),
        Rule::Skip(why) => item(Verdict::Skip, why),
        Rule::Blocked(why) => item(Verdict::Blocked, why),
    }
}

/// What a waking resource needs of the later tiers: all of them, or those its `depends_on`
/// names; not ready, missing, or not observed.
fn deps(env: &Environment, obs: &Observation, o: Observed<'_>) -> Deps {
    let tier = o.kind().tier();
    // What the guard refuses (production) is never woken by this environment: nothing waits
    // for it.
    let later: Vec<Observed<'_>> = obs
        .each()
        .filter(|d| {
            d.kind().tier() > tier && d.is_dependency() && env.guard.refusal(d.tags()).is_none()
        })
        .collect();
    let named = o.depends_on(&env.kinds);
    let needed: Vec<Observed<'_>> = match &named {
        Some(ids) => {
            // `depends_on` names databases; what the apps run on (capacity, compute) is
            // always needed.
            let mut found: Vec<Observed<'_>> = later
                .iter()
                .filter(|d| d.kind().tier() < Tier::Data)
                .copied()
                .collect();
            for id in ids {
                match later.iter().find(|d| d.answers_to(id)) {
                    Some(d) => found.push(*d),
                    None => return Deps::Missing(id.clone()),
                }
            }
            found
        }
        None => later,
    };
    let later_unknown = Kind::ALL.iter().any(|k| k.tier() > tier && obs.failed(*k));
    if later_unknown && named.as_ref().is_none_or(|d| !d.is_empty()) {
        return Deps::Unknown;
    }
    let pending: Vec<String> = needed.iter().filter_map(Observed::not_ready).collect();
    if pending.is_empty() {
        Deps::Ready
    } else {
        Deps::Pending(pending)
    }
}

/// Going to sleep: each acting resource of a later tier waits for the acting resources of
/// earlier tiers that need it (every one that names nothing, and those that name it).
fn order_sleep(env: &Environment, obs: &Observation, items: &mut [(Observed<'_>, Item)]) {
    // The acting resources every later one waits for (no depends_on), once per tier; and those
    // that name what they need, by name.
    let mut every: BTreeMap<u8, Vec<ResourceId>> = BTreeMap::new();
    let mut by_name: BTreeMap<(u8, String), Vec<ResourceId>> = BTreeMap::new();
    // Every acting resource, by tier: what the apps run on (capacity, compute) waits for all of
    // the earlier tiers, whatever their `depends_on` (which names databases).
    let mut acting: BTreeMap<u8, Vec<ResourceId>> = BTreeMap::new();
    for (o, item) in items.iter() {
        if !matches!(item.verdict, Verdict::Act { .. }) {
            continue;
        }
        let tier = o.kind().tier() as u8;
        acting.entry(tier).or_default().push(item.resource.clone());
        match o.depends_on(&env.kinds) {
            None => every.entry(tier).or_default().push(item.resource.clone()),
            Some(names) => {
                for n in names {
                    by_name
                        .entry((tier, n))
                        .or_default()
                        .push(item.resource.clone());
                }
            }
        }
    }
    let every: BTreeMap<u8, Arc<Vec<ResourceId>>> =
        every.into_iter().map(|(t, v)| (t, Arc::new(v))).collect();
    for (o, item) in items.iter_mut() {
        let tier = o.kind().tier();
        let Verdict::Act { after, .. } = &mut item.verdict else {
            continue;
        };
        let earlier: Vec<Kind> = Kind::ALL.into_iter().filter(|k| k.tier() < tier).collect();
        if earlier.is_empty() {
            continue;
        }
        if let Some(k) = earlier.iter().find(|k| obs.failed(**k)) {
            item.verdict = Verdict::Wait;
            item.reason = format!(
                "waiting: the {} could not be observed, so they may still use it",
                k.plural()
            );
            continue;
        }
        let tiers: std::collections::BTreeSet<u8> =
            earlier.iter().map(|k| k.tier() as u8).collect();
        if tier < Tier::Data {
            *after = Arc::new(
                tiers
                    .iter()
                    .flat_map(|t| acting.get(t).into_iter().flatten().cloned())
                    .collect(),
            );
            continue;
        }
        let mut waits: Vec<ResourceId> = Vec::new();
        let mut shared: Option<Arc<Vec<ResourceId>>> = None;
        for t in tiers {
            if let Some(all) = every.get(&t) {
                if shared.is_none() && waits.is_empty() {
                    shared = Some(all.clone());
                } else {
                    waits.extend(all.iter().cloned());
                }
            }
            let own = by_name
                .iter()
                .filter(|((bt, n), _)| *bt == t && o.answers_to(n))
                .flat_map(|(_, v)| v.iter().cloned());
            waits.extend(own);
        }
        *after = match (shared, waits.is_empty()) {
            (Some(all), true) => all,
            (Some(all), false) => Arc::new(all.iter().cloned().chain(waits).collect()),
            (None, _) => Arc::new(waits),
        };
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "plan_door_tests.rs"]
mod door_tests;
