//! Following use, and telling others: idle to sleep (a wake — or, opted in, a window — ends
//! once the front door has been quiet for the idle window), transitions published to
//! EventBridge and webhooks, and alarm actions muted while an environment sleeps.
//!
//! None of it ever fails a pass: a request count that cannot be read keeps the environment
//! awake (never guessed as "no requests"), and a publish or a mute that fails is logged.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Service, Snapshot, State};
use crate::idle::{self, Minute, Verdict};
use crate::kinds::Observation;
use crate::model::{
    Action, AuditEvent, Change, Environment, Hold, Idle, Outcome as Recorded, Override, Transition,
};
use crate::ports::Cloud;

/// Who the audit trail and the events name for an idle sleep.
pub const IDLE_ACTOR: &str = "idle";

/// The store's cache key of the instant a "Keep 1 h" keeps `env` awake until.
pub(super) fn kept_key(env: &str) -> String {
    format!("{env}#kept-until")
}

/// The longest publishing (every channel) or muting may hold up the end of a pass.
const FOLLOW_TIMEOUT: Duration = Duration::from_secs(15);

impl<C: Cloud> Service<C> {
    /// Checks whether `env` has been idle long enough to sleep, at `at`, with `ov` in force and
    /// what the pass observed; when it has, ends the wake (and inside a window with
    /// `idle_sleep` holds it asleep until the next window start), audits and publishes it.
    /// Returns the override in force afterwards, or `None` when nothing changed.
    pub(super) async fn idle_check(
        &self,
        env: &Environment,
        ov: Option<&Override>,
        observed: &Observation,
        at: DateTime<Utc>,
    ) -> Option<Option<Override>> {
        self.idle_ahead
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&env.name);
        let Some(mut w) = idle::watch(env, ov, at) else {
            self.requests_for_heads_up(env, ov, observed, at).await;
            return None;
        };
        if !observed.errors.is_empty() {
            // What cannot be observed (a deployment, perhaps) is not slept on.
            return None;
        }
        let deploying: Vec<String> = observed
            .services
            .iter()
            .filter(|s| s.deploying)
            .map(|s| s.name.to_string())
            .collect();
        if w.reads(&deploying, env.heads_up).is_some() {
            // A "Keep 1 h" clicked in the heads-up holds the idle sleep off for its hour.
            w.kept_until = match self.store.cache_get(&kept_key(&env.name), at).await {
                Ok(v) => v.and_then(|v| v.parse().ok()),
                Err(e) => {
                    tracing::warn!(env = %env.name, error = %e, "cannot read whether it was kept awake; staying awake");
                    self.metrics.store_errors.inc();
                    return None;
                }
            };
        }
        let minutes = match w.reads(&deploying, env.heads_up) {
            None => {
                // Not read for idleness yet: perhaps for a scheduled sleep's heads-up.
                self.requests_for_heads_up(env, ov, observed, at).await;
                Vec::new()
            }
            Some((from, to)) => match self.cloud.request_counts(env, from, to).await {
                Ok(points) => idle::by_minute(
                    points
                        .into_iter()
                        .map(|(at, requests)| Minute { at, requests }),
                ),
                Err(e) => {
                    tracing::warn!(env = %env.name, error = %e, "cannot read the front door's request counts; staying awake");
                    return None;
                }
            },
        };
        if w.reads(&deploying, env.heads_up).is_some() {
            self.saw_requests(env, at, idle::last_request(&minutes));
        }
        if w.reads(&deploying, env.heads_up).is_some()
            && let Some(up) = idle::upcoming(&w, &minutes, &deploying)
        {
            self.idle_ahead
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(env.name.clone(), up);
        }
        let sleep = match idle::decide(env, &w, &minutes, &deploying) {
            Verdict::Stay(why) => {
                tracing::debug!(env = %env.name, "not idle: {why}");
                return None;
            }
            Verdict::Sleep(s) => s,
        };
        if sleep.ends_wake
            && let Err(e) = self.store.clear_override(&env.name, at).await
        {
            tracing::error!(env = %env.name, error = %e, "cannot end the wake of an idle environment");
            self.metrics.store_errors.inc();
            return None;
        }
        let mut held = None;
        if let Some(until) = sleep.hold_until {
            let hold = Override {
                env: env.name.clone(),
                hold: Hold::Asleep,
                created: at,
                until,
                by: IDLE_ACTOR.into(),
                reason: sleep.reason.clone(),
            };
            match self.store.put_override(hold).await {
                Ok(put) => held = Some(put.current().clone()),
                Err(e) => {
                    tracing::error!(env = %env.name, error = %e, "cannot hold an idle environment asleep");
                    self.metrics.store_errors.inc();
                    if !sleep.ends_wake {
                        // Nothing changed: the window keeps it awake.
                        return None;
                    }
                }
            }
        }
        self.audit(AuditEvent {
            at,
            env: env.name.clone(),
            resource: String::new(),
            action: Action::Sleep {
                until: held.as_ref().map(|o| o.until),
                idle: Some(Idle {
                    quiet_since: sleep.quiet_since,
                    after: sleep.after.clone(),
                }),
            },
            reason: sleep.reason.clone(),
            actor: IDLE_ACTOR.into(),
            outcome: Recorded::Ok,
        })
        .await;
        tracing::info!(env = %env.name, reason = %sleep.reason, "idle: going to sleep");
        self.metrics
            .idle_sleeps
            .inc(&format!("env=\"{}\"", env.name));
        self.publish(
            env,
            Transition {
                environment: env.name.clone(),
                transition: Change::IdleSlept,
                actor: IDLE_ACTOR.into(),
                at,
                reason: sleep.reason,
            },
        )
        .await;
        Some(held)
    }

    /// The idle sleep to come for `env`, as this copy's last pass that read its counts saw it.
    pub fn idle_ahead(&self, env: &str) -> Option<idle::Upcoming> {
        self.idle_ahead
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(env)
            .cloned()
    }

    /// When idle to sleep would put `env` to sleep if no request comes, for `status`: the
    /// front door's counts of the idle window read now (one `GetMetricData`, only while it is
    /// watched); `None` when it is not watched, during a deployment, or when what it needs
    /// cannot be read.
    pub async fn idle_status(
        &self,
        env: &Environment,
        ov: Option<&Override>,
        observed: &Observation,
        at: DateTime<Utc>,
    ) -> Option<idle::Upcoming> {
        let mut w = idle::watch(env, ov, at)?;
        if !observed.errors.is_empty() || observed.services.iter().any(|s| s.deploying) {
            return None;
        }
        w.kept_until = self
            .store
            .cache_get(&kept_key(&env.name), at)
            .await
            .ok()?
            .and_then(|v| v.parse().ok());
        let points = self
            .cloud
            .request_counts(env, at - w.after, at)
            .await
            .ok()?;
        let minutes = idle::by_minute(
            points
                .into_iter()
                .map(|(at, requests)| Minute { at, requests }),
        );
        idle::upcoming(&w, &minutes, &[])
    }

    /// Not watched for idleness, but a scheduled sleep's heads-up could be due: with idle
    /// settings (so a front door whose counts may be read), the last hour's requests are read
    /// (one `GetMetricData`, only within the heads-up's lead), so traffic counts as use.
    async fn requests_for_heads_up(
        &self,
        env: &Environment,
        ov: Option<&Override>,
        observed: &Observation,
        at: DateTime<Utc>,
    ) {
        if env.idle.is_none()
            || !observed.errors.is_empty()
            || crate::schedule::heads_up_due(env, ov, at, Some(at)).is_none()
        {
            return;
        }
        let from = at - chrono::TimeDelta::hours(crate::schedule::USED_WITHIN_HOURS);
        match self.cloud.request_counts(env, from, at).await {
            Ok(points) => {
                let minutes = idle::by_minute(
                    points
                        .into_iter()
                        .map(|(at, requests)| Minute { at, requests }),
                );
                self.saw_requests(env, at, idle::last_request(&minutes));
            }
            Err(e) => {
                tracing::warn!(env = %env.name, error = %e, "cannot read the front door's request counts for the heads-up")
            }
        }
    }

    fn saw_requests(&self, env: &Environment, at: DateTime<Utc>, last: Option<DateTime<Utc>>) {
        self.requests_seen
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(env.name.clone(), (at, last));
    }

    /// After a pass: publishes the environment's transition (its state changed since the state
    /// last published, remembered in the store — or, with no record, since this copy's last
    /// pass, or this copy's first pass acted), and mutes or unmutes its alarms
    /// (on a change, and on this copy's first pass, so a restart converges).
    pub(super) async fn follow(
        &self,
        env: &Environment,
        before: Option<State>,
        snap: &Snapshot,
        ov: Option<&Override>,
    ) {
        let state = snap.state();
        let change = match state {
            State::Asleep => Change::Asleep,
            State::GoingToSleep => Change::GoingToSleep,
            State::Waking => Change::Waking,
            State::Awake => Change::Awake,
            State::Unknown => return,
        };
        let changed = before.is_some_and(|b| b != state);
        let fallback = changed || (before.is_none() && snap.report.calls_made() > 0);
        if self.transition_is_new(env, change, snap.at, fallback).await {
            self.publish(
                env,
                Transition {
                    environment: env.name.clone(),
                    transition: change,
                    actor: ov.map_or_else(|| self.actor.clone(), |o| o.by.clone()),
                    at: snap.at,
                    reason: snap.report.summary.clone(),
                },
            )
            .await;
        }
        let enabled = match state {
            State::Asleep | State::GoingToSleep => false,
            State::Awake => true,
            State::Waking | State::Unknown => return,
        };
        let was = |s: State| match s {
            State::Asleep | State::GoingToSleep => Some(false),
            State::Awake => Some(true),
            State::Waking | State::Unknown => None,
        };
        if env.mute_alarms.is_empty() || before.and_then(was) == Some(enabled) {
            return;
        }
        // The alarms it muted are remembered in the store, so waking turns back on only those,
        // never one a person turned off; with no memory (a new store) every one is turned on:
        // better a page too many than alarms silenced for good.
        let key = format!("{}#muted-alarms", env.name);
        let remembered = match self.store.cache_get(&key, snap.at).await {
            Ok(v) => v.and_then(|v| serde_json::from_str::<Vec<String>>(&v).ok()),
            Err(e) => {
                tracing::warn!(env = %env.name, error = %e, "cannot read which alarms were muted");
                None
            }
        };
        let only = if enabled { remembered.as_deref() } else { None };
        let switch = self.cloud.alarm_actions(env, enabled, only);
        match tokio::time::timeout(FOLLOW_TIMEOUT, switch).await {
            Ok(Ok(names)) => {
                if !names.is_empty() {
                    tracing::info!(env = %env.name, alarms = names.len(), enabled, "alarm actions switched");
                }
                // Going to sleep: added to what is muted; awake: nothing is any more.
                let now_muted: Vec<String> = if enabled {
                    Vec::new()
                } else {
                    let mut all = remembered.unwrap_or_default();
                    all.extend(names);
                    all.sort();
                    all.dedup();
                    all
                };
                let value = serde_json::to_string(&now_muted).unwrap_or_else(|_| "[]".into());
                if let Err(e) = self
                    .store
                    .cache_put(&key, &value, snap.at + chrono::TimeDelta::days(400))
                    .await
                {
                    self.follow_failed(env, "alarms");
                    tracing::warn!(env = %env.name, error = %e, "cannot remember which alarms were muted");
                }
            }
            Ok(Err(e)) => {
                self.follow_failed(env, "alarms");
                tracing::warn!(env = %env.name, error = %e, enabled, "cannot switch alarm actions")
            }
            Err(_) => {
                self.follow_failed(env, "alarms");
                tracing::warn!(env = %env.name, enabled, "switching alarm actions timed out")
            }
        }
    }

    /// Whether the state `change` is a transition to publish: it differs from the state last
    /// published for `env`, remembered in the store (`<env>#published`: `awake@<instant>`), so
    /// a Lambda cold start or a new copy compares against what was published before it, not
    /// against nothing. The record moves on through a conditional write (a claim of
    /// `<env>#published:<record read>-><state>`): of two copies that read the same record and
    /// saw the same change, one publishes. With no record (a new store) or a store that cannot
    /// be read, this copy's memory decides (`fallback`), as before.
    async fn transition_is_new(
        &self,
        env: &Environment,
        change: Change,
        at: DateTime<Utc>,
        fallback: bool,
    ) -> bool {
        if !env.events.any() {
            return false;
        }
        let key = format!("{}#published", env.name);
        let record = match self.store.cache_get(&key, at).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(env = %env.name, error = %e, "cannot read the state last published");
                self.metrics.store_errors.inc();
                return fallback;
            }
        };
        let name = change.as_str();
        if record.as_deref().and_then(|r| r.split('@').next()) == Some(name) {
            return false;
        }
        let publish = record.is_some() || fallback;
        let claim = format!(
            "{}#published:{}->{name}",
            env.name,
            record.as_deref().unwrap_or("-")
        );
        match self
            .store
            .claim_once(&claim, at, at + chrono::TimeDelta::days(1))
            .await
        {
            Ok(true) => {}
            Ok(false) => return false,
            Err(e) => {
                tracing::warn!(env = %env.name, error = %e, "cannot record the state published");
                self.metrics.store_errors.inc();
                return publish;
            }
        }
        let value = format!("{name}@{}", at.to_rfc3339());
        if let Err(e) = self
            .store
            .cache_put(&key, &value, at + chrono::TimeDelta::days(400))
            .await
        {
            tracing::warn!(env = %env.name, error = %e, "cannot record the state published");
            self.metrics.store_errors.inc();
        }
        publish
    }

    /// Publishes a transition; failures are logged (never the webhook's secret), never
    /// returned.
    pub(super) async fn publish(&self, env: &Environment, t: Transition) {
        if !env.events.any() {
            return;
        }
        match tokio::time::timeout(FOLLOW_TIMEOUT, self.cloud.publish(env, &t)).await {
            Ok(failed) => {
                if !failed.is_empty() {
                    self.follow_failed(env, "events");
                }
                for e in failed {
                    tracing::warn!(env = %env.name, transition = t.transition.as_str(), error = %e, "cannot publish the transition");
                }
            }
            Err(_) => {
                self.follow_failed(env, "events");
                tracing::warn!(env = %env.name, transition = t.transition.as_str(), "publishing the transition timed out")
            }
        }
    }

    fn follow_failed(&self, env: &Environment, what: &str) {
        self.metrics
            .follow_failures
            .inc(&format!("env=\"{}\",what=\"{what}\"", env.name));
    }
}
