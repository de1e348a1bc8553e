//! The running service: configuration, cloud, store and clock in one place, and one reconcile
//! pass over every environment with leases, overrides and the audit trail. The daemon, the
//! HTTP API and the Lambda all drive this.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::future::{BoxFuture, FutureExt};
use futures_util::{StreamExt, stream};
use serde::Serialize;
use tokio::sync::Notify;

use crate::api::auth::{RateLimiter, Tokens};
use crate::clock::Clock;
use crate::cloud::Cloud;
use crate::config::{Config, Environment};
use crate::engine::{self, EnvReport, Outcome};
use crate::metrics::Metrics;
use crate::model::Observation;
use crate::plan::Verdict;
use crate::schedule::Override;
use crate::store::{AuditEvent, Store};

/// How long a pass may hold an environment's lease before another copy may take it.
const LEASE: TimeDelta = TimeDelta::minutes(5);

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
}

impl Snapshot {
    /// Whether something was still changing after the pass: a resource waiting, or an action
    /// that did not complete.
    pub fn settling(&self) -> bool {
        self.report.items.iter().any(|i| match i.item.verdict {
            Verdict::Wait => true,
            Verdict::Act { .. } => i.outcome != Some(Outcome::Done),
            _ => false,
        })
    }

    /// `awake`, `asleep`, `waking` or `going to sleep`.
    pub fn state(&self) -> &'static str {
        match (self.report.awake, self.settling()) {
            (true, false) => "awake",
            (true, true) => "waking",
            (false, false) => "asleep",
            (false, true) => "going to sleep",
        }
    }
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

    /// One pass over every environment (at most 4 at once). Returns the reports of the
    /// environments this copy reconciled; the rest were leased to another copy or failed to
    /// read their override (and are left alone, logged, and counted).
    pub async fn reconcile_all(&self) -> Vec<EnvReport> {
        self.reconcile_all_until(None).await
    }

    /// Like [`App::reconcile_all`], but starts no environment and no action after `deadline`
    /// (a Lambda near its timeout); what is left is deferred to the next pass.
    pub async fn reconcile_all_until(
        &self,
        deadline: Option<tokio::time::Instant>,
    ) -> Vec<EnvReport> {
        // Boxed so this future is `Send` for any lifetime (the daemon spawns it).
        let passes: Vec<BoxFuture<'_, Option<EnvReport>>> = self
            .config
            .environments
            .iter()
            .map(|e| {
                async move {
                    if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                        tracing::warn!(env = %e.name, "out of time: left for the next pass");
                        return None;
                    }
                    self.reconcile_env_until(e, deadline).await
                }
                .boxed()
            })
            .collect();
        let reports: Vec<Option<EnvReport>> =
            stream::iter(passes).buffer_unordered(4).collect().await;
        self.metrics.passes.inc();
        reports.into_iter().flatten().collect()
    }

    /// One pass over one environment, under its lease.
    pub async fn reconcile_env(&self, env: &Environment) -> Option<EnvReport> {
        self.reconcile_env_until(env, None).await
    }

    async fn reconcile_env_until(
        &self,
        env: &Environment,
        deadline: Option<tokio::time::Instant>,
    ) -> Option<EnvReport> {
        let now = self.clock.now();
        match self
            .store
            .acquire_lease(&env.name, &self.instance, now, now + LEASE)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!(env = %env.name, "leased to another copy; skipping");
                return None;
            }
            Err(e) => {
                tracing::error!(env = %env.name, error = %e, "cannot take the lease; skipping");
                self.metrics.store_errors.inc();
                return None;
            }
        }
        let report = self.reconcile_leased(env, now, deadline).await;
        if let Err(e) = self.store.release_lease(&env.name, &self.instance).await {
            tracing::warn!(env = %env.name, error = %e, "cannot release the lease; it expires by itself");
        }
        report
    }

    async fn reconcile_leased(
        &self,
        env: &Environment,
        now: DateTime<Utc>,
        deadline: Option<tokio::time::Instant>,
    ) -> Option<EnvReport> {
        // Without knowing the override, acting on the schedule alone could put to sleep what
        // someone woke: skip the environment instead.
        let ov: Option<Override> = match self.store.active_override(&env.name, now).await {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(env = %env.name, error = %e, "cannot read the override; skipping");
                self.metrics.store_errors.inc();
                return None;
            }
        };
        let (plan, observed) = engine::observe_and_plan(&self.cloud, env, ov.as_ref(), now).await;
        let report = engine::apply_until(&self.cloud, env, plan, false, deadline).await;
        let events: Vec<AuditEvent> = report
            .items
            .iter()
            .filter_map(|i| {
                let outcome = match i.outcome.as_ref()? {
                    Outcome::Done => "ok".to_string(),
                    Outcome::Failed(e) => format!("failed: {e}"),
                    Outcome::NotRun(e) => format!("not run: {e}"),
                    Outcome::Deferred => return None,
                    Outcome::DryRun => return None,
                };
                let kind = if report.awake { "wake" } else { "sleep" };
                let result = if outcome == "ok" { "ok" } else { "failed" };
                self.metrics
                    .actions
                    .inc(&format!("kind=\"{kind}\",outcome=\"{result}\""));
                Some(AuditEvent {
                    at: now,
                    env: env.name.clone(),
                    resource: i.item.resource.to_string(),
                    action: i
                        .item
                        .steps()
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; "),
                    reason: i.item.reason.clone(),
                    actor: ov.as_ref().map_or_else(
                        || "schedule".to_string(),
                        |o| format!("schedule (override by {})", o.by),
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
        let snapshot = Snapshot {
            at: now,
            report: report.clone(),
            observed,
        };
        self.last
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(env.name.clone(), snapshot);
        Some(report)
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
}
