//! The running service: configuration, cloud, store and clock in one place, and one reconcile
//! pass over every environment with leases, overrides and the audit trail. The daemon, the
//! HTTP API, the Lambda and the command line all drive this.
//!
//! A pass acts on an environment only under its lease. The lease is renewed while the pass runs
//! and checked (through the engine's [`Fence`]) before every write: a copy whose lease ran out,
//! or was taken by another copy, stops acting and says so, and a call it has in flight is
//! abandoned. The lease is renewed only while it is still held, never re-taken after it lapsed:
//! another copy may have acted in between, and this pass's plan would be stale.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use futures_util::future::{BoxFuture, FutureExt};
use futures_util::{StreamExt, stream};
use serde::Serialize;
use tokio::sync::{Notify, watch};

use crate::api::auth::{RateLimiter, Tokens};
use crate::clock::Clock;
use crate::engine::{self, EnvReport, Fence, Halt, Outcome};
use crate::kinds::Observation;
use crate::metrics::Metrics;
use crate::model::{Action, AuditEvent, Outcome as Recorded};
use crate::model::{Config, Environment, format_duration, parse_duration};
use crate::model::{Hold, Override};
use crate::plan::{Plan, Verdict};
use crate::ports::Cloud;
use crate::schedule::scheduled;
use crate::store::{Put, Store, StoreError};

/// How a pass holds an environment's lease.
#[derive(Debug, Clone, Copy)]
pub struct LeaseTiming {
    /// How long a lease lasts from its last renewal before another copy may take it.
    pub ttl: TimeDelta,
    /// How often a running pass renews it (wall-clock time).
    pub renew_every: Duration,
    /// A write starts only while at least this much of the lease is left: more than one AWS
    /// call can take (its operation timeout), so a call started under the lease ends under it.
    pub margin: TimeDelta,
}

impl Default for LeaseTiming {
    fn default() -> Self {
        LeaseTiming {
            ttl: TimeDelta::minutes(5),
            renew_every: Duration::from_secs(30),
            margin: TimeDelta::seconds(30),
        }
    }
}

/// An environment's state as people see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Meant to be awake, and everything is.
    Awake,
    /// Meant to be awake; something is still starting.
    Waking,
    /// Meant to be asleep, and everything is.
    Asleep,
    /// Meant to be asleep; something is still going down.
    GoingToSleep,
    /// What is there could not be observed: see the reason.
    Unknown,
}

impl State {
    /// `awake`, `waking`, `asleep`, `going to sleep`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Awake => "awake",
            State::Waking => "waking",
            State::Asleep => "asleep",
            State::GoingToSleep => "going to sleep",
            State::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an environment's state is not known, and since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unknown {
    /// What could not be observed, and why.
    pub reason: String,
    /// Since when passes have failed to observe it.
    pub since: DateTime<Utc>,
}

/// The last pass's view of one environment.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// When it was taken.
    pub at: DateTime<Utc>,
    /// What it planned and what came of it.
    pub report: EnvReport,
    /// What it observed.
    #[serde(skip)]
    pub observed: Observation,
    /// Set while observation fails.
    pub unknown: Option<Unknown>,
}

impl Snapshot {
    /// Whether something was still changing after the pass: a resource waiting, an action made
    /// (its effect is seen by the next pass), or (awake) a service whose tasks are not all
    /// running yet. The daemon looks again soon while this holds.
    pub fn settling(&self) -> bool {
        settling(&self.report, &self.observed)
    }

    /// `awake`, `waking`, `asleep`, `going to sleep` or `unknown`.
    pub fn state(&self) -> State {
        if self.unknown.is_some() {
            return State::Unknown;
        }
        match (self.report.awake, self.settling()) {
            (true, false) => State::Awake,
            (true, true) => State::Waking,
            (false, false) => State::Asleep,
            (false, true) => State::GoingToSleep,
        }
    }
}

/// Whether a pass's result is still changing (see [`Snapshot::settling`]). A pass that acted
/// has not yet seen the effect of its calls, so it counts as settling until a later pass finds
/// nothing to do.
pub fn settling(report: &EnvReport, observed: &Observation) -> bool {
    let acting = report
        .items
        .iter()
        .any(|i| matches!(i.item.verdict, Verdict::Wait | Verdict::Act { .. }));
    let starting = report.awake
        && report.items.iter().any(|i| {
            let crate::kinds::ResourceId::EcsService(name) = &i.item.resource else {
                return false;
            };
            matches!(i.item.verdict, Verdict::InSync | Verdict::Act { .. })
                && observed
                    .services
                    .iter()
                    .any(|s| &s.name == name && s.running < s.desired)
        });
    acting || starting
}

/// The state a plan made at one instant shows: unknown when something could not be observed.
pub fn state_of(plan: &Plan, observed: &Observation) -> State {
    if !plan.problems.is_empty() {
        return State::Unknown;
    }
    let report = EnvReport::planned(plan.clone());
    match (plan.awake, settling(&report, observed)) {
        (true, false) => State::Awake,
        (true, true) => State::Waking,
        (false, false) => State::Asleep,
        (false, true) => State::GoingToSleep,
    }
}

/// An environment a pass did not reconcile, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Left {
    /// The environment.
    pub env: String,
    /// Why it was left.
    pub why: String,
}

/// One pass over several environments.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PassReport {
    /// The environments this copy reconciled.
    pub reports: Vec<EnvReport>,
    /// Environments left for the next pass: out of time, lease lost, shutting down.
    pub deferred: Vec<Left>,
    /// Environments not reconciled by this copy: leased to another copy, or the store failed.
    pub skipped: Vec<Left>,
}

impl PassReport {
    /// Write calls made.
    pub fn calls_made(&self) -> usize {
        self.reports.iter().map(EnvReport::calls_made).sum()
    }

    /// Environments where something failed or needs a person.
    pub fn failed(&self) -> Vec<&str> {
        self.reports
            .iter()
            .filter(|r| r.failed())
            .map(|r| r.env.as_str())
            .collect()
    }
}

/// What one environment's pass came to.
#[derive(Debug, Clone)]
pub enum EnvPass {
    /// Reconciled (possibly with some actions deferred: see the report).
    Reconciled(EnvReport),
    /// Not reconciled by this copy: its lease is held by another, or the store failed.
    Skipped(String),
    /// Left for the next pass before anything was planned (out of time, shutting down, lease
    /// lost during observation).
    Deferred(String),
}

/// A wake or sleep request refused.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The request itself is wrong (a duration over the limit, a reason too long): the message
    /// says how to fix it.
    #[error("{0}")]
    Invalid(String),
    /// The store could not be written; nothing was changed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a wake did.
#[derive(Debug, Clone)]
pub struct Woken {
    /// The override in force now.
    pub current: Override,
    /// Whether a longer one was already in force (and kept).
    pub kept: bool,
    /// When the environment should be ready (an estimate from the last pass).
    pub ready: Option<DateTime<Utc>>,
}

/// What a sleep request did.
#[derive(Debug, Clone)]
pub struct Slept {
    /// The override it ended, if one was active.
    pub ended: Option<Override>,
    /// The override holding it asleep until the next scheduled start (inside an awake window).
    pub held: Option<Override>,
}

/// Everything a running lightsout shares.
pub struct App<C> {
    /// The environments.
    pub config: Config,
    /// The cloud.
    pub cloud: C,
    /// Overrides, audit, leases.
    pub store: Arc<dyn Store>,
    /// The clock (injected, so tests drive time).
    pub clock: Arc<dyn Clock>,
    /// API tokens.
    pub tokens: Tokens,
    /// Per-identity limit on state-changing requests.
    pub limiter: RateLimiter,
    /// Wakes the daemon's loop for a pass now.
    pub trigger: Notify,
    /// The last pass per environment.
    pub last: RwLock<HashMap<String, Snapshot>>,
    /// Counters for `/metrics`.
    pub metrics: Metrics,
    /// This copy's name in leases.
    pub instance: String,
    /// Who the audit trail names for the actions of a pass (`schedule` for the daemon and the
    /// Lambda, `cli:USER` for `lightsout apply`).
    pub actor: String,
    /// How passes hold leases.
    pub lease: LeaseTiming,
    /// Turned true on shutdown: passes stop between steps and abandon calls in flight.
    pub shutdown: watch::Sender<bool>,
    /// Verifies the Slack slash command, when a signing secret is configured.
    pub slack: Option<crate::api::slack::SlackVerifier>,
    /// Makes and sends the daily digest (AWS only; `None` in tests of other parts).
    pub digest: Option<Arc<crate::digest::Digester>>,
}

impl<C: Cloud> App<C> {
    /// A new service; `instance` names this copy in leases.
    pub fn new(
        config: Config,
        cloud: C,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        tokens: Tokens,
        instance: String,
    ) -> App<C> {
        App {
            config,
            cloud,
            store,
            clock,
            tokens,
            limiter: RateLimiter::new(5, 10),
            trigger: Notify::new(),
            last: RwLock::new(HashMap::new()),
            metrics: Metrics::default(),
            instance,
            actor: "schedule".into(),
            lease: LeaseTiming::default(),
            shutdown: watch::Sender::new(false),
            slack: None,
            digest: None,
        }
    }

    /// The last pass's view of `env`.
    pub fn snapshot(&self, env: &str) -> Option<Snapshot> {
        self.last
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(env)
            .cloned()
    }

    /// Stops every pass in flight: no step starts after this, and calls in flight are abandoned
    /// (their resources are finished by the next pass; no original is lost).
    pub fn shut_down(&self) {
        self.shutdown.send_replace(true);
    }

    /// One pass over every environment (at most 4 at once), with no deadline.
    pub async fn reconcile_all(&self) -> PassReport {
        self.run_pass(None).await
    }

    /// One pass over every environment that starts no environment and no action after
    /// `deadline`; what is left is deferred to the next pass, and the report names it.
    pub async fn run_pass(&self, deadline: Option<tokio::time::Instant>) -> PassReport {
        // Boxed so this future is `Send` for any lifetime (the daemon spawns it).
        let passes: Vec<BoxFuture<'_, (String, EnvPass)>> = self
            .config
            .environments
            .iter()
            .map(|e| {
                async move {
                    let pass = if *self.shutdown.borrow() {
                        EnvPass::Deferred(Halt::Shutdown.to_string())
                    } else if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                        EnvPass::Deferred(
                            "out of time before it started: the next pass does it".into(),
                        )
                    } else {
                        self.reconcile_env(e, None, deadline).await
                    };
                    (e.name.clone(), pass)
                }
                .boxed()
            })
            .collect();
        let results: Vec<(String, EnvPass)> =
            stream::iter(passes).buffer_unordered(4).collect().await;
        self.metrics.passes.inc();
        let mut out = PassReport::default();
        for (env, pass) in results {
            match pass {
                EnvPass::Reconciled(r) => {
                    if r.deferred() > 0 {
                        out.deferred.push(Left {
                            env: env.clone(),
                            why: format!(
                                "{} resource{} left for the next pass",
                                r.deferred(),
                                if r.deferred() == 1 { "" } else { "s" }
                            ),
                        });
                    }
                    out.reports.push(r);
                }
                EnvPass::Deferred(why) => {
                    tracing::warn!(env = %env, "deferred: {why}");
                    out.deferred.push(Left { env, why });
                }
                EnvPass::Skipped(why) => out.skipped.push(Left { env, why }),
            }
        }
        // Environment order, not completion order.
        let order = |name: &str| self.config.environments.iter().position(|e| e.name == name);
        out.reports.sort_by_key(|r| order(&r.env));
        out.deferred.sort_by_key(|l| order(&l.env));
        out.skipped.sort_by_key(|l| order(&l.env));
        out
    }

    /// One pass over one environment under its lease, planning for instant `at` (default: now;
    /// the lease itself always runs on the real clock).
    pub async fn reconcile_env(
        &self,
        env: &Environment,
        at: Option<DateTime<Utc>>,
        deadline: Option<tokio::time::Instant>,
    ) -> EnvPass {
        let now = self.clock.now();
        let until = now + self.lease.ttl;
        match self
            .store
            .acquire_lease(&env.name, &self.instance, now, until)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!(env = %env.name, "leased to another copy; skipping");
                return EnvPass::Skipped("its lease is held by another copy, which acts".into());
            }
            Err(e) => {
                tracing::error!(env = %env.name, error = %e, "cannot take the lease; skipping");
                self.metrics.store_errors.inc();
                self.mark_unknown(env, format!("the state store failed: {e}"), now);
                return EnvPass::Skipped(format!("cannot take its lease: {e}"));
            }
        }
        let fence = Fence::new(
            self.clock.clone(),
            deadline,
            Some(self.shutdown.subscribe()),
        )
        .with_lease(until, self.lease.margin);
        let work = self.reconcile_leased(env, at.unwrap_or(now), &fence);
        let keeper = self.keep_lease(env, &fence);
        tokio::pin!(work);
        let pass = tokio::select! {
            r = &mut work => r,
            () = keeper => work.await,
        };
        if let Err(e) = self.store.release_lease(&env.name, &self.instance).await {
            tracing::warn!(env = %env.name, error = %e, "cannot release the lease; it expires by itself");
        }
        pass
    }

    /// Renews the lease while the pass runs; returns only after halting the fence because the
    /// lease was lost (never while it is held).
    async fn keep_lease(&self, env: &Environment, fence: &Fence) {
        loop {
            tokio::time::sleep(self.lease.renew_every).await;
            let now = self.clock.now();
            let held_until = fence.valid_until().unwrap_or(now);
            if now >= held_until {
                // Stalled past the lease: another copy may have taken it, acted and let it go.
                let why = format!(
                    "it expired at {} before it could be renewed",
                    held_until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                );
                tracing::error!(env = %env.name, "lease lost: {why}; stopping");
                fence.halt(Halt::LeaseLost(why));
                return;
            }
            let until = now + self.lease.ttl;
            // A renewal that hangs is a failed renewal: the lease is checked again next round.
            let renewal = tokio::time::timeout(
                self.lease.renew_every,
                self.store
                    .renew_lease(&env.name, &self.instance, now, until),
            )
            .await
            .unwrap_or_else(|_| Err(StoreError("the renewal did not answer in time".into())));
            match renewal {
                Ok(true) => fence.renewed(until),
                Ok(false) => {
                    let why = "another copy holds it now".to_string();
                    tracing::error!(env = %env.name, "lease lost: {why}; stopping");
                    fence.halt(Halt::LeaseLost(why));
                    return;
                }
                Err(e) => {
                    self.metrics.store_errors.inc();
                    if self.clock.now() + self.lease.margin >= held_until {
                        let why = format!("cannot renew it: {e}");
                        tracing::error!(env = %env.name, "lease lost: {why}; stopping");
                        fence.halt(Halt::LeaseLost(why));
                        return;
                    }
                    tracing::warn!(env = %env.name, error = %e, "cannot renew the lease; trying again");
                }
            }
        }
    }

    async fn reconcile_leased(
        &self,
        env: &Environment,
        at: DateTime<Utc>,
        fence: &Fence,
    ) -> EnvPass {
        // Without knowing the override, acting on the schedule alone could put to sleep what
        // someone woke: skip the environment instead.
        let ov: Option<Override> = match self.store.active_override(&env.name, at).await {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(env = %env.name, error = %e, "cannot read the override; skipping");
                self.metrics.store_errors.inc();
                self.mark_unknown(env, format!("the state store failed: {e}"), at);
                return EnvPass::Skipped(format!("cannot read its override: {e}"));
            }
        };
        let (plan, observed) =
            match engine::observe_and_plan_fenced(&self.cloud, env, ov.as_ref(), at, fence).await {
                Ok(r) => r,
                Err(h) => return EnvPass::Deferred(h.to_string()),
            };
        for problem in &plan.problems {
            tracing::warn!(env = %env.name, problem = %problem, "cannot observe; the environment's state is unknown");
            self.metrics
                .observation_failures
                .inc(&format!("env=\"{}\"", env.name));
        }
        let report = engine::apply(&self.cloud, env, plan, false, fence).await;
        self.record(env, &report, ov.as_ref(), at).await;
        let unknown = (!report.problems.is_empty()).then(|| Unknown {
            reason: report.problems.join("; "),
            since: self
                .snapshot(&env.name)
                .and_then(|s| s.unknown)
                .map_or(at, |u| u.since),
        });
        let snapshot = Snapshot {
            at,
            report: report.clone(),
            observed,
            unknown,
        };
        self.last
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(env.name.clone(), snapshot);
        EnvPass::Reconciled(report)
    }

    /// Writes a pass's actions to the audit trail, each at the time it was made.
    async fn record(
        &self,
        env: &Environment,
        report: &EnvReport,
        ov: Option<&Override>,
        at: DateTime<Utc>,
    ) {
        let events: Vec<AuditEvent> = report
            .items
            .iter()
            .filter_map(|i| {
                let outcome = match i.outcome.as_ref()? {
                    Outcome::Done => Recorded::Ok,
                    Outcome::Failed(e) => Recorded::Failed(e.clone()),
                    Outcome::NotRun(e) => Recorded::NotRun(e.clone()),
                    // Calls made before the pass stopped are recorded; the rest is next pass's.
                    Outcome::Deferred(e) if i.calls_made > 0 => Recorded::Partial(e.clone()),
                    Outcome::Deferred(_) | Outcome::DryRun => return None,
                };
                let kind = if report.awake { "wake" } else { "sleep" };
                let result = if outcome.is_ok() { "ok" } else { "failed" };
                self.metrics
                    .actions
                    .inc(&format!("kind=\"{kind}\",outcome=\"{result}\""));
                // What was made (and so what it did), and what was planned but not made.
                let steps = i.item.steps();
                let made = i.calls_made.min(steps.len());
                let text = |s: &[crate::kinds::Step]| s.iter().map(ToString::to_string).collect();
                Some(AuditEvent {
                    at: i.at.unwrap_or(at),
                    env: env.name.clone(),
                    resource: i.item.resource.to_string(),
                    action: Action::Steps {
                        effect: steps[..made]
                            .iter()
                            .rev()
                            .find_map(crate::kinds::Step::effect),
                        steps: text(&steps[..made]),
                        not_made: text(&steps[made..]),
                    },
                    reason: i.item.reason.clone(),
                    actor: ov.map_or_else(
                        || self.actor.clone(),
                        |o| format!("{} (override by {})", self.actor, o.by),
                    ),
                    outcome,
                })
            })
            .collect();
        if !events.is_empty() {
            if let Err(e) = self.store.record(events).await {
                tracing::error!(env = %env.name, error = %e, "cannot write the audit trail");
                self.metrics.store_errors.inc();
            }
        }
    }

    /// Marks an environment's state unknown without a new observation (the store failed).
    fn mark_unknown(&self, env: &Environment, reason: String, now: DateTime<Utc>) {
        let mut last = self.last.write().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = last.get_mut(&env.name) {
            let since = s.unknown.as_ref().map_or(now, |u| u.since);
            s.unknown = Some(Unknown { reason, since });
        }
    }

    /// Observes and plans one environment at `at` with its active override, without acting
    /// and without a lease (`plan`, `status`).
    pub async fn plan_env(
        &self,
        env: &Environment,
        at: DateTime<Utc>,
    ) -> Result<(Plan, Observation, Option<Override>), StoreError> {
        let ov = self.store.active_override(&env.name, at).await?;
        let (plan, observed) = engine::observe_and_plan(&self.cloud, env, ov.as_ref(), at).await;
        Ok((plan, observed, ov))
    }

    /// When the next pass should run at the latest, given a cadence: the next scheduled
    /// transition or override end, if sooner.
    pub async fn next_pass(&self, cadence: TimeDelta) -> DateTime<Utc> {
        let now = self.clock.now();
        let mut next = now + cadence;
        for env in &self.config.environments {
            if let Some(s) = self.snapshot(&env.name) {
                if let Some(t) = s.report.next_change.filter(|t| *t > now) {
                    next = next.min(t);
                }
            }
        }
        next
    }

    /// Whether any environment was still changing after its last pass (the daemon then looks
    /// again after its settle interval).
    pub fn any_settling(&self) -> bool {
        self.last
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .any(|s| s.settling() || s.unknown.is_some())
    }

    /// Wakes `env` for `duration` on behalf of `who`: checks the duration against `max_wake`,
    /// stores the override (the later end wins), audits, and triggers a pass.
    pub async fn wake(
        &self,
        env: &Environment,
        who: &str,
        duration: &str,
        reason: &str,
    ) -> Result<Woken, RequestError> {
        let reason = check_reason(reason)?;
        let duration = parse_duration(duration).map_err(RequestError::Invalid)?;
        if duration > env.max_wake {
            return Err(RequestError::Invalid(format!(
                "{} is longer than the longest wake for {} ({}, max_wake in its schedule file); ask for {} or less",
                format_duration(duration),
                env.name,
                format_duration(env.max_wake),
                format_duration(env.max_wake)
            )));
        }
        // Whole seconds: overrides are read by people.
        let now = self.clock.now().trunc_subsecs(0);
        let ov = Override {
            env: env.name.clone(),
            hold: Hold::Awake,
            created: now,
            until: now + duration,
            by: who.to_string(),
            reason: reason.clone(),
        };
        let (current, kept) = match self.store.put_override(ov).await? {
            Put::Stored(o) => (o, false),
            Put::KeptLater(o) => (o, true),
        };
        self.audit(AuditEvent {
            at: now,
            env: env.name.clone(),
            resource: String::new(),
            action: Action::Wake {
                asked: format_duration(duration),
                until: current.until,
                kept,
            },
            reason,
            actor: who.to_string(),
            outcome: Recorded::Ok,
        })
        .await;
        tracing::info!(env = %env.name, by = %who, until = %current.until, "wake requested");
        self.trigger.notify_one();
        Ok(Woken {
            ready: self.expected_ready(&env.name, now),
            current,
            kept,
        })
    }

    /// Puts `env` to sleep on behalf of `who`: ends its override, and inside an awake window
    /// holds it asleep until the next scheduled start.
    pub async fn sleep(
        &self,
        env: &Environment,
        who: &str,
        reason: &str,
    ) -> Result<Slept, RequestError> {
        let reason = check_reason(reason)?;
        let now = self.clock.now().trunc_subsecs(0);
        let ended = self.store.clear_override(&env.name, now).await?;
        let plain = scheduled(env, now);
        let mut held = None;
        if plain.awake {
            let until = plain
                .next_change
                .and_then(|end| scheduled(env, end).next_change)
                .unwrap_or(now + TimeDelta::days(7));
            let ov = Override {
                env: env.name.clone(),
                hold: Hold::Asleep,
                created: now,
                until,
                by: who.to_string(),
                reason: reason.clone(),
            };
            held = Some(self.store.put_override(ov).await?.current().clone());
        }
        self.audit(AuditEvent {
            at: now,
            env: env.name.clone(),
            resource: String::new(),
            action: Action::Sleep {
                until: held.as_ref().map(|o| o.until),
            },
            reason,
            actor: who.to_string(),
            outcome: Recorded::Ok,
        })
        .await;
        tracing::info!(env = %env.name, by = %who, "sleep requested");
        self.trigger.notify_one();
        Ok(Slept { ended, held })
    }

    /// The instant `env` should be ready, estimated from the last pass: a stopped database takes
    /// RDS about 10 minutes to start, services about 2 more.
    pub fn expected_ready(&self, env: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let snap = self.snapshot(env)?;
        let dbs_down = snap.observed.databases.iter().any(|d| {
            d.status != crate::kinds::DbStatus::Available
                && d.member_of.is_none()
                && d.replica_of.is_none()
        });
        let services_down = snap
            .observed
            .services
            .iter()
            .any(crate::kinds::ObservedService::slept);
        Some(match (dbs_down, services_down || snap.settling()) {
            (true, _) => now + TimeDelta::minutes(12),
            (false, true) => now + TimeDelta::minutes(2),
            (false, false) => now,
        })
    }

    /// Records a request in the audit trail; a failure here is logged, not returned: the
    /// override itself was written.
    async fn audit(&self, event: AuditEvent) {
        if let Err(e) = self.store.record(vec![event]).await {
            tracing::error!(error = %e, "cannot write the audit trail");
            self.metrics.store_errors.inc();
        }
    }
}

fn check_reason(reason: &str) -> Result<String, RequestError> {
    let reason = reason.trim();
    if reason.chars().count() > 500 {
        return Err(RequestError::Invalid(
            "reason is longer than 500 characters".into(),
        ));
    }
    Ok(reason.to_string())
}
