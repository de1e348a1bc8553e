//! The running service: configuration, cloud, store and clock in one place, and one reconcile
//! pass over every environment with leases, overrides and the audit trail. The daemon, the
//! HTTP API, the Lambda and the command line all drive this; it knows nothing of HTTP.
//!
//! - [`state`]: each environment's state after a pass, and when to look again ([`Requeue`]).
//! - [`requests`]: wake and sleep requests, the rules every entry point shares.
//! - [`history`]: recent wakes and sleeps, read from the audit trail (for the status page).
//! - [`heads_up`]: the Slack heads-up before a scheduled sleep; [`links`]: signed wake links.
//!
//! A pass acts on an environment only under its lease. The lease is renewed while the pass runs
//! and checked (through the engine's [`Fence`]) before every write: a copy whose lease ran out,
//! or was taken by another copy, stops acting and says so, and a call it has in flight is
//! abandoned. The lease is renewed only while it is still held, never re-taken after it lapsed:
//! another copy may have acted in between, and this pass's plan would be stale.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::future::{BoxFuture, FutureExt};
use futures_util::{StreamExt, stream};
use tokio::sync::{Notify, watch};

use crate::clock::Clock;
use crate::engine::{self, EnvReport, Fence, Halt, Outcome};
use crate::kinds::Observation;
use crate::metrics::Metrics;
use crate::model::{
    Action, AuditEvent, Config, Environment, Outcome as Recorded, Override, Progress,
};
use crate::plan::Plan;
use crate::ports::Cloud;
use crate::store::{Store, StoreError};

pub mod follow;
pub mod heads_up;
pub mod history;
pub mod knock;
pub mod links;
mod requests;
mod state;

pub use requests::{RequestError, Slept, Woken};
pub use state::{
    EnvPass, Left, PassReport, Requeue, Snapshot, State, Unknown, settling, state_now, state_of,
};

/// How long the record of a transition's progress is kept.
const PROGRESS_KEPT: TimeDelta = TimeDelta::days(1);

fn progress_key(env: &str) -> String {
    Progress::store_key(env)
}

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

/// Everything a running lightsout shares (but HTTP: that is `crate::api::ApiState`).
pub struct Service<C> {
    /// The environments.
    pub config: Config,
    /// The cloud.
    pub cloud: C,
    /// Overrides, audit, leases.
    pub store: Arc<dyn Store>,
    /// The clock (injected, so tests drive time).
    pub clock: Arc<dyn Clock>,
    /// Wakes the daemon's loop for a pass now.
    pub trigger: Notify,
    /// The last pass per environment.
    pub last: RwLock<HashMap<String, Snapshot>>,
    /// The idle sleep to come per environment, as the last pass that read its request counts
    /// saw it (for the heads-up after the pass, and `status`).
    pub idle_ahead: RwLock<HashMap<String, crate::idle::Upcoming>>,
    /// Per environment, when this copy's pass last read the front door's request counts and the
    /// end of the last minute with requests in them (a use, for the heads-up).
    pub requests_seen: RwLock<HashMap<String, RequestsSeen>>,
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
    /// Makes and sends the daily digest (AWS only; `None` in tests of other parts).
    pub digest: Option<Arc<crate::digest::Digester>>,
    /// Where heads-ups before a sleep go (the digest's Slack webhook); `None`: none are posted.
    pub notify: Option<Arc<dyn crate::ports::Outbox>>,
    /// Signs and checks wake links (`LIGHTSOUT_LINK_SECRET`, or the Slack signing secret).
    pub links: Option<links::WakeLinks>,
}

/// When a pass read the front door's request counts, and the end of the last minute with
/// requests in them.
pub type RequestsSeen = (DateTime<Utc>, Option<DateTime<Utc>>);

impl<C: Cloud> Service<C> {
    /// A new service; `instance` names this copy in leases.
    pub fn new(
        config: Config,
        cloud: C,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        instance: String,
    ) -> Service<C> {
        Service {
            config,
            cloud,
            store,
            clock,
            trigger: Notify::new(),
            last: RwLock::new(HashMap::new()),
            idle_ahead: RwLock::new(HashMap::new()),
            requests_seen: RwLock::new(HashMap::new()),
            metrics: Metrics::default(),
            instance,
            actor: "schedule".into(),
            lease: LeaseTiming::default(),
            shutdown: watch::Sender::new(false),
            digest: None,
            notify: None,
            links: None,
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

    /// One pass over every environment (at most 4 at once per account and region), with no
    /// deadline.
    pub async fn reconcile_all(&self) -> PassReport {
        self.run_pass(None).await
    }

    /// One pass over every environment that starts no environment and no action after
    /// `deadline`; what is left is deferred to the next pass, and the report names it.
    ///
    /// Environments run at most 4 at once in each account and region (its role and region:
    /// they share its API budget and its pacer), and the accounts and regions all at once:
    /// each has its own budget, so a fleet spread over them takes as long as its slowest
    /// scope, not their sum.
    pub async fn run_pass(&self, deadline: Option<tokio::time::Instant>) -> PassReport {
        // The environments by account (role) and region, in configuration order.
        let scope = |e: &Environment| (e.role_arn.clone(), e.region.clone());
        let mut scopes: Vec<Vec<&Environment>> = Vec::new();
        for e in &self.config.environments {
            match scopes.iter_mut().find(|envs| scope(envs[0]) == scope(e)) {
                Some(envs) => envs.push(e),
                None => scopes.push(vec![e]),
            }
        }
        // Boxed so this future is `Send` for any lifetime (the daemon spawns it).
        let scoped: Vec<BoxFuture<'_, Vec<(String, EnvPass)>>> = scopes
            .into_iter()
            .map(|envs| {
                let passes: Vec<BoxFuture<'_, (String, EnvPass)>> = envs
                    .into_iter()
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
                stream::iter(passes).buffer_unordered(4).collect().boxed()
            })
            .collect();
        let results: Vec<(String, EnvPass)> = futures_util::future::join_all(scoped)
            .await
            .into_iter()
            .flatten()
            .collect();
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
    /// the lease itself always runs on the real clock). A pass planned for another instant (a
    /// rehearsal: `lightsout apply --at`) is recorded in the audit trail at that instant, as its
    /// `lightsout:slept-at` tags are, so the trail, the digest's savings and the page read the
    /// rehearsal as it would have happened.
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
        let shift = at.map_or(TimeDelta::zero(), |t| t - now);
        let work = self.reconcile_leased(env, at.unwrap_or(now), shift, &fence);
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
        shift: TimeDelta,
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
        let (mut plan, observed) =
            match engine::observe_and_plan_fenced(&self.cloud, env, ov.as_ref(), at, fence).await {
                Ok(r) => r,
                Err(h) => return EnvPass::Deferred(h.to_string()),
            };
        let mut ov = ov;
        // Idle to sleep, on what was just observed (never in a rehearsal at another instant,
        // and only while the lease is held: it writes the override).
        if shift.is_zero()
            && fence.check().is_ok()
            && let Some(now_in_force) = self.idle_check(env, ov.as_ref(), &observed, at).await
        {
            ov = now_in_force;
            let decision = crate::schedule::decide(env, ov.as_ref(), at);
            plan = crate::plan::plan(env, &decision, &observed, at);
        }
        for problem in &plan.problems {
            tracing::warn!(env = %env.name, problem = %problem, "cannot observe; the environment's state is unknown");
            self.metrics
                .observation_failures
                .inc(&format!("env=\"{}\"", env.name));
        }
        let report = engine::apply(&self.cloud, env, plan, false, fence).await;
        self.record(env, &report, ov.as_ref(), at, shift).await;
        self.record_progress(env, &report, at).await;
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
        let before = self
            .last
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(env.name.clone(), snapshot.clone())
            .map(|s| s.state());
        if shift.is_zero() {
            self.follow(env, before, &snapshot, ov.as_ref()).await;
        }
        EnvPass::Reconciled(report)
    }

    /// Writes a pass's actions to the audit trail, each at the time it was made (moved by
    /// `shift` in a pass planned for another instant).
    async fn record(
        &self,
        env: &Environment,
        report: &EnvReport,
        ov: Option<&Override>,
        at: DateTime<Utc>,
        shift: TimeDelta,
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
                    at: i.at.map_or(at, |t| t + shift),
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
        if !events.is_empty()
            && let Err(e) = self.store.record(events).await
        {
            tracing::error!(env = %env.name, error = %e, "cannot write the audit trail");
            self.metrics.store_errors.inc();
        }
    }

    /// Keeps how far the environment's transition came in the store, when this pass acted or
    /// left work for the next one: a Lambda invocation that ran out of time leaves the rest to
    /// the next invocation, and `status`, the digest and the API say it is still in progress.
    /// A pass with nothing to do writes nothing.
    async fn record_progress(&self, env: &Environment, report: &EnvReport, at: DateTime<Utc>) {
        if report.items.iter().all(|i| i.outcome.is_none()) {
            return;
        }
        let progress = report.progress(at);
        let Ok(text) = serde_json::to_string(&progress) else {
            return;
        };
        let expires = self.clock.now() + PROGRESS_KEPT;
        if let Err(e) = self
            .store
            .cache_put(&progress_key(&env.name), &text, expires)
            .await
        {
            tracing::warn!(env = %env.name, error = %e, "cannot record the transition's progress");
            self.metrics.store_errors.inc();
        }
        if progress.in_progress() {
            tracing::info!(env = %env.name, progress = %progress.sentence(), "transition in progress");
        }
    }

    /// How far the environment's transition came, as the last pass that acted recorded it
    /// (`None`: no record, or it is older than a day).
    pub async fn recorded_progress(&self, env: &str) -> Option<Progress> {
        let text = self
            .store
            .cache_get(&progress_key(env), self.clock.now())
            .await
            .ok()??;
        serde_json::from_str(&text).ok()
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

    /// When to look again after `pass`: soon while anything is settling, unknown, or was left
    /// for the next pass; otherwise at the next scheduled transition or override end, or after
    /// `cadence`, whichever comes first.
    pub fn requeue(&self, pass: &PassReport, cadence: TimeDelta) -> Requeue {
        let last = self.last.read().unwrap_or_else(|p| p.into_inner());
        if !pass.deferred.is_empty() || last.values().any(|s| s.settling() || s.unknown.is_some()) {
            return Requeue::Soon;
        }
        let now = self.clock.now();
        let next = last
            .values()
            .filter_map(|s| s.report.next_change.filter(|t| *t > now))
            .fold(now + cadence, DateTime::min);
        Requeue::At(next)
    }
}
