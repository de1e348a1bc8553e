//! One reconcile pass: observe → plan → apply → record, for one environment or all.
//!
//! The engine is told nothing about why it runs: every pass observes what is really there and
//! converges on what the schedule says now, so a missed pass, a crash half-way or a hand-made
//! change is just another difference. Per-resource errors are isolated: one failing resource
//! never stops the others, and a resource's steps stop at its first failure, so a service is never
//! scaled down unless its original capacity was recorded first.
//!
//! Every action runs behind a [`Fence`]: its pass's deadline, its lease and shutdown. The fence is
//! checked before each resource and each step, and a call in flight is abandoned when the lease is
//! lost or lightsout shuts down. Stopping between (or during) a resource's steps never loses an
//! original: going to sleep, the count tags are written before anything is scaled down, and
//! waking, they are removed only after everything was restored.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::StreamExt;
use futures_util::future::{BoxFuture, FutureExt};
use futures_util::stream;
use serde::Serialize;
use tokio::sync::watch;

use crate::clock::{Clock, SystemClock};
use crate::kinds::{Observation, ResourceId};
use crate::model::Environment;
use crate::model::Override;
use crate::model::{Progress, Standing};
use crate::plan::{Item, Plan, Verdict, plan};
use crate::ports::Cloud;
use crate::schedule::decide;

/// Why a pass stopped acting before it was done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Halt {
    /// The pass ran out of time.
    Deadline,
    /// This copy no longer holds the environment's lease: another copy may be acting.
    LeaseLost(String),
    /// lightsout is shutting down.
    Shutdown,
}

impl fmt::Display for Halt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Halt::Deadline => f.write_str("out of time: the next pass does it"),
            Halt::LeaseLost(why) => write!(
                f,
                "lease lost ({why}): this copy stopped acting; whoever holds the lease does it"
            ),
            Halt::Shutdown => f.write_str("shutting down: the next pass does it"),
        }
    }
}

#[derive(Debug, Default)]
struct FenceState {
    /// The lease this pass acts under is held until then (`None`: no lease is needed).
    valid_until: Option<DateTime<Utc>>,
    /// Set once the pass must stop.
    halted: Option<Halt>,
}

/// What a pass may still do: checked before each resource and each step, and raced against every
/// call in flight. Holds the clock that stamps each action with the time it was made.
pub struct Fence {
    clock: Arc<dyn Clock>,
    /// No resource or step starts after it.
    deadline: Option<tokio::time::Instant>,
    /// A step starts only if the lease is still held this long after now: long enough for the
    /// call to finish or be given up (the AWS operation timeout).
    margin: TimeDelta,
    state: Mutex<FenceState>,
    halted: watch::Sender<bool>,
    shutdown: Option<watch::Receiver<bool>>,
}

impl Fence {
    /// No deadline, no lease, no shutdown: acts until done (tests, one-off CLI runs).
    pub fn open() -> Fence {
        Fence::new(Arc::new(SystemClock), None, None)
    }

    /// A fence with a deadline (no resource or step starts after it) that also halts when
    /// `shutdown` turns true.
    pub fn new(
        clock: Arc<dyn Clock>,
        deadline: Option<tokio::time::Instant>,
        shutdown: Option<watch::Receiver<bool>>,
    ) -> Fence {
        Fence {
            clock,
            deadline,
            margin: TimeDelta::zero(),
            state: Mutex::new(FenceState::default()),
            halted: watch::Sender::new(false),
            shutdown,
        }
    }

    /// Acts only under a lease held until `valid_until`, and only while at least `margin` of it
    /// is left.
    pub fn with_lease(mut self, valid_until: DateTime<Utc>, margin: TimeDelta) -> Fence {
        self.margin = margin;
        self.lock().valid_until = Some(valid_until);
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FenceState> {
        // The state is two plain values; a panic elsewhere cannot leave it half-written.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The lease was renewed: it is now held until `valid_until`.
    pub fn renewed(&self, valid_until: DateTime<Utc>) {
        let mut s = self.lock();
        if s.valid_until.is_some() {
            s.valid_until = Some(valid_until);
        }
    }

    /// Until when the lease is held, if the pass acts under one.
    pub fn valid_until(&self) -> Option<DateTime<Utc>> {
        self.lock().valid_until
    }

    /// Stops the pass: no new step starts, and calls in flight are abandoned.
    pub fn halt(&self, why: Halt) {
        let mut s = self.lock();
        if s.halted.is_none() {
            s.halted = Some(why);
        }
        drop(s);
        self.halted.send_replace(true);
    }

    /// The time now, by the pass's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// `Err` when no new resource or step may start.
    pub fn check(&self) -> Result<(), Halt> {
        if self.shutdown.as_ref().is_some_and(|s| *s.borrow()) {
            return Err(Halt::Shutdown);
        }
        let s = self.lock();
        if let Some(h) = &s.halted {
            return Err(h.clone());
        }
        if let Some(until) = s.valid_until
            && self.clock.now() + self.margin >= until
        {
            return Err(Halt::LeaseLost(format!(
                "it ran out at {} and was not renewed in time",
                until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )));
        }
        if self
            .deadline
            .is_some_and(|d| tokio::time::Instant::now() >= d)
        {
            return Err(Halt::Deadline);
        }
        Ok(())
    }

    /// Resolves when calls in flight must be abandoned: the pass was halted (its lease lost) or
    /// lightsout is shutting down. A deadline does not abandon a call: each call is bounded by
    /// its own timeout.
    pub async fn abandoned(&self) -> Halt {
        let mut halted = self.halted.subscribe();
        let mut shutdown = self.shutdown.clone();
        let by_shutdown = async {
            match shutdown.as_mut() {
                Some(s) => {
                    let _ = s.wait_for(|s| *s).await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = halted.wait_for(|h| *h) => {}
            () = by_shutdown => return Halt::Shutdown,
        }
        self.lock().halted.clone().unwrap_or(Halt::Shutdown)
    }
}

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
    /// Not started, or stopped between its steps: the pass ran out of time, lost its lease or
    /// is shutting down (the reason says which). The next pass does the rest.
    Deferred(String),
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
    /// When its calls were made (the last one, or the one that failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
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
    /// The environment's state as each item's reason begins (see [`Plan::state_reason`]).
    pub state_reason: String,
    /// When the decision next changes.
    pub next_change: Option<DateTime<Utc>>,
    /// Per resource.
    pub items: Vec<ItemReport>,
    /// Problems not about one resource (what could not be observed).
    pub problems: Vec<String>,
}

impl EnvReport {
    /// A plan as a report of a pass that has not acted yet.
    pub fn planned(p: Plan) -> EnvReport {
        EnvReport {
            env: p.env,
            awake: p.awake,
            summary: p.summary,
            state_reason: p.state_reason,
            next_change: p.next_change,
            items: p
                .items
                .into_iter()
                .map(|item| ItemReport {
                    item,
                    outcome: None,
                    calls_made: 0,
                    at: None,
                })
                .collect(),
            problems: p.problems,
        }
    }

    /// Resources that failed or need a person.
    pub fn failures(&self) -> usize {
        self.items
            .iter()
            .filter(|i| {
                i.item.verdict == Verdict::Blocked
                    || matches!(i.outcome, Some(Outcome::Failed(_) | Outcome::NotRun(_)))
            })
            .count()
    }

    /// Resources whose action was left for the next pass.
    pub fn deferred(&self) -> usize {
        self.items
            .iter()
            .filter(|i| matches!(i.outcome, Some(Outcome::Deferred(_))))
            .count()
    }

    /// Whether anything failed or needs a person.
    pub fn failed(&self) -> bool {
        !self.problems.is_empty() || self.failures() > 0
    }

    /// How many write calls were made.
    pub fn calls_made(&self) -> usize {
        self.items.iter().map(|i| i.calls_made).sum()
    }

    /// How far the environment's transition has come after this pass (or, for a report of a
    /// plan that has not acted, before it): resources as they should be, by kind, and whether
    /// resources were left for the next pass.
    pub fn progress(&self, at: DateTime<Utc>) -> Progress {
        let items = self.items.iter().map(|i| {
            let standing = match (&i.item.verdict, &i.outcome) {
                (Verdict::InSync, _) | (Verdict::Act { .. }, Some(Outcome::Done)) => Standing::Done,
                (Verdict::Act { .. } | Verdict::Wait, _) => Standing::Left,
                (Verdict::Skip | Verdict::Refuse | Verdict::Blocked, _) => Standing::Outside,
            };
            (&i.item.resource, standing)
        });
        Progress::tally(self.awake, self.deferred() > 0, at, items)
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

/// Observes and plans one environment at `now` behind a fence: `Err` when the observation was
/// abandoned (lease lost, shutdown) or did not finish before the pass's deadline.
pub async fn observe_and_plan_fenced<C: Cloud>(
    cloud: &C,
    env: &Environment,
    ov: Option<&Override>,
    now: DateTime<Utc>,
    fence: &Fence,
) -> Result<(Plan, Observation), Halt> {
    fence.check()?;
    let observe = observe_and_plan(cloud, env, ov, now);
    let by_deadline = async {
        match fence.deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        r = observe => Ok(r),
        h = fence.abandoned() => Err(h),
        () = by_deadline => Err(Halt::Deadline),
    }
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
    apply(cloud, env, p, dry_run, &Fence::open()).await
}

/// Applies a plan behind `fence`: actions without prerequisites first, at most
/// `env.concurrency` at once, then the actions that wait for them (databases after the services
/// that use them). Once the fence closes no action or step starts, and what is left is reported
/// [`Outcome::Deferred`] for the next pass.
pub async fn apply<C: Cloud>(
    cloud: &C,
    env: &Environment,
    p: Plan,
    dry_run: bool,
    fence: &Fence,
) -> EnvReport {
    let mut results: HashMap<ResourceId, Ran> = HashMap::new();
    let mut pending: Vec<&Item> = p
        .items
        .iter()
        .filter(|i| matches!(i.verdict, Verdict::Act { .. }))
        .collect();
    let acting: HashSet<&ResourceId> = pending.iter().map(|i| &i.resource).collect();

    // In waves: an action runs once every action it waits for has a result (the door before
    // the services, the services before the databases), and not at all when one of them failed.
    while !pending.is_empty() {
        let settled = results.len();
        let mut ready = Vec::new();
        let mut later = Vec::new();
        for item in pending {
            let Verdict::Act { after, .. } = &item.verdict else {
                continue;
            };
            if after
                .iter()
                .any(|r| acting.contains(r) && !results.contains_key(r))
            {
                later.push(item);
                continue;
            }
            let blocker = after.iter().find(|r| {
                !matches!(
                    results.get(*r).map(|r| &r.outcome),
                    Some(Outcome::Done | Outcome::DryRun)
                )
            });
            match blocker.and_then(|b| results.get(b).map(|r| (b, &r.outcome))) {
                Some((_, Outcome::Deferred(why))) => {
                    let why = why.clone();
                    results.insert(
                        item.resource.clone(),
                        Ran::not_started(Outcome::Deferred(why)),
                    );
                }
                Some((b, _)) => {
                    let why = format!("not attempted: {b} did not finish going to sleep");
                    tracing::warn!(env = %env.name, resource = %item.resource, "{why}");
                    results.insert(
                        item.resource.clone(),
                        Ran::not_started(Outcome::NotRun(why)),
                    );
                }
                None if blocker.is_some() => {
                    // A prerequisite with no result at all: it was not part of this pass.
                    let why = format!(
                        "not attempted: {} did not finish going to sleep",
                        blocker.map(ToString::to_string).unwrap_or_default()
                    );
                    results.insert(
                        item.resource.clone(),
                        Ran::not_started(Outcome::NotRun(why)),
                    );
                }
                None => ready.push(item),
            }
        }
        if ready.is_empty() && results.len() == settled {
            // Nothing can run and nothing was settled: what is left waits in a cycle, which the
            // planner never makes; refuse rather than loop.
            for item in later {
                results.insert(
                    item.resource.clone(),
                    Ran::not_started(Outcome::NotRun(
                        "not attempted: it waits for itself (a cycle in the plan)".into(),
                    )),
                );
            }
            break;
        }
        results.extend(
            run_all(
                cloud,
                env,
                ready.into_iter().cloned().collect(),
                dry_run,
                fence,
            )
            .await,
        );
        pending = later;
    }

    let items = p
        .items
        .into_iter()
        .map(|item| {
            let ran = results.remove(&item.resource);
            ItemReport {
                item,
                outcome: ran.as_ref().map(|r| r.outcome.clone()),
                calls_made: ran.as_ref().map_or(0, |r| r.made),
                at: ran.and_then(|r| r.at),
            }
        })
        .collect();
    EnvReport {
        env: p.env,
        awake: p.awake,
        summary: p.summary,
        state_reason: p.state_reason,
        next_change: p.next_change,
        items,
        problems: p.problems,
    }
}

/// What came of one item.
struct Ran {
    outcome: Outcome,
    made: usize,
    at: Option<DateTime<Utc>>,
}

impl Ran {
    fn not_started(outcome: Outcome) -> Ran {
        Ran {
            outcome,
            made: 0,
            at: None,
        }
    }
}

/// Runs items at most `env.concurrency` at once. The futures are boxed so the caller's future
/// stays `Send` for any lifetime (a spawned daemon loop needs that).
async fn run_all<C: Cloud>(
    cloud: &C,
    env: &Environment,
    items: Vec<Item>,
    dry_run: bool,
    fence: &Fence,
) -> Vec<(ResourceId, Ran)> {
    let futures: Vec<BoxFuture<'_, (ResourceId, Ran)>> = items
        .into_iter()
        .map(|item| {
            async move {
                let ran = if dry_run {
                    Ran::not_started(Outcome::DryRun)
                } else {
                    run_steps(cloud, env, &item, fence).await
                };
                (item.resource, ran)
            }
            .boxed()
        })
        .collect();
    stream::iter(futures)
        .buffer_unordered(env.concurrency.max(1))
        .collect()
        .await
}

/// `1 call`, `2 calls`.
fn calls(n: usize) -> String {
    format!("{n} call{}", if n == 1 { "" } else { "s" })
}

/// Makes an item's calls in order, stopping at the first failure, and before any step the fence
/// does not allow. A call in flight is abandoned when the fence is halted.
async fn run_steps<C: Cloud>(cloud: &C, env: &Environment, item: &Item, fence: &Fence) -> Ran {
    let mut made = 0;
    let mut at = None;
    let steps = item.steps();
    for step in steps {
        if let Err(h) = fence.check() {
            let why = if made == 0 {
                h.to_string()
            } else {
                format!("{h} (stopped after {} of {})", calls(made), steps.len())
            };
            if made > 0 || matches!(h, Halt::LeaseLost(_)) {
                tracing::warn!(env = %env.name, resource = %item.resource, "{why}");
            }
            return Ran {
                outcome: Outcome::Deferred(why),
                made,
                at,
            };
        }
        let result = tokio::select! {
            biased;
            h = fence.abandoned() => {
                let why = format!(
                    "{h} (abandoned during {}, after {} of {}; that call may or may not have reached AWS)",
                    step.operation(),
                    calls(made),
                    steps.len()
                );
                tracing::warn!(env = %env.name, resource = %item.resource, "{why}");
                return Ran { outcome: Outcome::Deferred(why), made, at };
            }
            r = cloud.execute(env, step) => r,
        };
        at = Some(fence.now());
        match result {
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
                return Ran {
                    outcome: Outcome::Failed(msg),
                    made,
                    at,
                };
            }
        }
    }
    let list: Vec<String> = steps.iter().map(ToString::to_string).collect();
    tracing::info!(env = %env.name, resource = %item.resource, steps = %list.join("; "), reason = %item.reason, "applied");
    Ran {
        outcome: Outcome::Done,
        made,
        at,
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
