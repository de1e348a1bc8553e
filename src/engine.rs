//! One reconcile pass: observe → plan → apply → record, for one environment or all.
//!
//! The engine is told nothing about why it runs: every pass observes what is really there and
//! converges on what the schedule says now, so a missed pass, a crash half-way or a hand-made
//! change is just another difference. Per-resource errors are isolated: one failing resource
//! never stops the others, and a resource's steps stop at its first failure, so a service is never
//! scaled down unless its original capacity was recorded first.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use futures_util::future::{BoxFuture, FutureExt};
use futures_util::stream;
use serde::Serialize;

use crate::cloud::Cloud;
use crate::config::Environment;
use crate::model::{Observation, ResourceId};
use crate::plan::{Item, Plan, Verdict, plan};
use crate::schedule::{Override, decide};

/// What happened to one resource's action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "snake_case")]
pub enum Outcome {
    /// Every step succeeded.
    Done,
    /// A step failed; the steps before it were made.
    Failed(String),
    /// Not attempted, because a resource it waits for failed.
    NotRun(String),
    /// Dry run: nothing was called.
    DryRun,
    /// Not started: the pass ran out of time (a Lambda near its deadline); the next pass does it.
    Deferred,
}

/// One resource's result in a pass.
#[derive(Debug, Clone, Serialize)]
pub struct ItemReport {
    /// The plan item.
    #[serde(flatten)]
    pub item: Item,
    /// What happened, for items that act.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// How many of its write calls were made.
    pub calls_made: usize,
}

/// One environment's pass.
#[derive(Debug, Clone, Serialize)]
pub struct EnvReport {
    /// The environment.
    pub env: String,
    /// Whether it should be awake.
    pub awake: bool,
    /// The schedule's decision, for people.
    pub summary: String,
    /// When the decision next changes.
    pub next_change: Option<DateTime<Utc>>,
    /// Per resource.
    pub items: Vec<ItemReport>,
    /// Problems not about one resource (what could not be observed).
    pub problems: Vec<String>,
}

impl EnvReport {
    /// Whether anything failed or needs a person.
    pub fn failed(&self) -> bool {
        !self.problems.is_empty()
            || self.items.iter().any(|i| {
                i.item.verdict == Verdict::Blocked
                    || matches!(i.outcome, Some(Outcome::Failed(_) | Outcome::NotRun(_)))
            })
    }

    /// How many write calls were made.
    pub fn calls_made(&self) -> usize {
        self.items.iter().map(|i| i.calls_made).sum()
    }
}

/// Observes and plans one environment at `now`.
pub async fn plan_env<C: Cloud>(
    cloud: &C,
    env: &Environment,
    ov: Option<&Override>,
    now: DateTime<Utc>,
) -> Plan {
    observe_and_plan(cloud, env, ov, now).await.0
}

/// Observes and plans one environment at `now`, keeping what was observed (for status pages).
pub async fn observe_and_plan<C: Cloud>(
    cloud: &C,
    env: &Environment,
    ov: Option<&Override>,
    now: DateTime<Utc>,
) -> (Plan, Observation) {
    let decision = decide(env, ov, now);
    let observed = cloud.observe(env).await;
    (plan(env, &decision, &observed, now), observed)
}

/// Observes, plans and applies one environment at `now`.
pub async fn reconcile<C: Cloud>(
    cloud: &C,
    env: &Environment,
    ov: Option<&Override>,
    now: DateTime<Utc>,
    dry_run: bool,
) -> EnvReport {
    let p = plan_env(cloud, env, ov, now).await;
    apply(cloud, env, p, dry_run).await
}

/// Applies a plan: actions without prerequisites first, at most `env.concurrency` at once, then
/// the actions that wait for them (databases after the services that use them).
pub async fn apply<C: Cloud>(cloud: &C, env: &Environment, p: Plan, dry_run: bool) -> EnvReport {
    apply_until(cloud, env, p, dry_run, None).await
}

/// Like [`apply`], but starts no action after `deadline`: what is left is reported
/// [`Outcome::Deferred`] for the next pass. An action once started makes all its calls, and every
/// action writes its memory (tags) before it changes anything, so stopping between actions never
/// loses an original.
pub async fn apply_until<C: Cloud>(
    cloud: &C,
    env: &Environment,
    p: Plan,
    dry_run: bool,
    deadline: Option<tokio::time::Instant>,
) -> EnvReport {
    let mut results: HashMap<ResourceId, (Outcome, usize)> = HashMap::new();
    let acting: Vec<&Item> = p
        .items
        .iter()
        .filter(|i| matches!(i.verdict, Verdict::Act { .. }))
        .collect();
    let (first, second): (Vec<&Item>, Vec<&Item>) = acting
        .into_iter()
        .partition(|i| matches!(&i.verdict, Verdict::Act { after, .. } if after.is_empty()));

    results.extend(
        run_all(
            cloud,
            env,
            first.into_iter().cloned().collect(),
            dry_run,
            deadline,
        )
        .await,
    );

    let mut ready = Vec::new();
    for item in second {
        let Verdict::Act { after, .. } = &item.verdict else {
            continue;
        };
        let blocker = after
            .iter()
            .find(|r| !matches!(results.get(*r), Some((Outcome::Done | Outcome::DryRun, _))));
        let deferred =
            blocker.is_some_and(|b| matches!(results.get(b), Some((Outcome::Deferred, _))));
        match blocker {
            Some(_) if deferred => {
                results.insert(item.resource.clone(), (Outcome::Deferred, 0));
            }
            Some(b) => {
                let why = format!("not attempted: {b} did not finish going to sleep");
                tracing::warn!(env = %env.name, resource = %item.resource, "{why}");
                results.insert(item.resource.clone(), (Outcome::NotRun(why), 0));
            }
            None => ready.push(item),
        }
    }
    results.extend(
        run_all(
            cloud,
            env,
            ready.into_iter().cloned().collect(),
            dry_run,
            deadline,
        )
        .await,
    );

    let items = p
        .items
        .into_iter()
        .map(|item| {
            let (outcome, calls_made) = match results.remove(&item.resource) {
                Some((o, n)) => (Some(o), n),
                None => (None, 0),
            };
            ItemReport {
                item,
                outcome,
                calls_made,
            }
        })
        .collect();
    EnvReport {
        env: p.env,
        awake: p.awake,
        summary: p.summary,
        next_change: p.next_change,
        items,
        problems: p.problems,
    }
}

/// Runs items at most `env.concurrency` at once. The futures are boxed so the caller's future
/// stays `Send` for any lifetime (a spawned daemon loop needs that).
async fn run_all<C: Cloud>(
    cloud: &C,
    env: &Environment,
    items: Vec<Item>,
    dry_run: bool,
    deadline: Option<tokio::time::Instant>,
) -> Vec<(ResourceId, (Outcome, usize))> {
    let futures: Vec<BoxFuture<'_, (ResourceId, (Outcome, usize))>> = items
        .into_iter()
        .map(|item| {
            async move {
                let late = deadline.is_some_and(|d| tokio::time::Instant::now() >= d);
                let outcome = if dry_run {
                    (Outcome::DryRun, 0)
                } else if late {
                    (Outcome::Deferred, 0)
                } else {
                    run_steps(cloud, env, &item).await
                };
                (item.resource, outcome)
            }
            .boxed()
        })
        .collect();
    stream::iter(futures)
        .buffer_unordered(env.concurrency.max(1))
        .collect()
        .await
}

/// Makes an item's calls in order, stopping at the first failure.
async fn run_steps<C: Cloud>(cloud: &C, env: &Environment, item: &Item) -> (Outcome, usize) {
    let mut made = 0;
    for step in item.steps() {
        match cloud.execute(env, step).await {
            Ok(()) => made += 1,
            Err(e) => {
                let done = if made == 0 {
                    String::new()
                } else {
                    format!(
                        " (after {made} successful call{})",
                        if made == 1 { "" } else { "s" }
                    )
                };
                let msg = format!("{e}{done}");
                tracing::error!(env = %env.name, resource = %item.resource, step = %step, error = %e, "action failed");
                return (Outcome::Failed(msg), made);
            }
        }
    }
    let steps: Vec<String> = item.steps().iter().map(ToString::to_string).collect();
    tracing::info!(env = %env.name, resource = %item.resource, steps = %steps.join("; "), reason = %item.reason, "applied");
    (Outcome::Done, made)
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
