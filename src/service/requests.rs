//! Wake and sleep requests: the rules every entry point shares (the API, Slack, the command
//! line) — the longest wake, the reason's length, the later end winning, a sleep inside a
//! window holding until the next start — and what each answers.

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};

use super::Service;
use crate::model::{
    Action, AuditEvent, Environment, Hold, Outcome as Recorded, Override, format_duration,
    parse_duration,
};
use crate::ports::Cloud;
use crate::schedule::scheduled;
use crate::store::{Put, StoreError};

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

impl<C: Cloud> Service<C> {
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
                idle: None,
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

    /// The instant `env` should be ready, estimated from the last pass: each tier that must
    /// start waits for the one before it (a stopped database about 10 minutes, a paused Redshift
    /// cluster 15, an Auto Scaling group's instances 5, an instance 2, services 2 more: see
    /// [`crate::kinds::Kind::start_time`]); still settling with nothing down, the services'
    /// 2 minutes.
    pub fn expected_ready(&self, env: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let snap = self.snapshot(env)?;
        Some(ready_after(&snap.observed, snap.settling(), now))
    }

    /// Records a request in the audit trail; a failure here is logged, not returned: the
    /// override itself was written.
    pub(super) async fn audit(&self, event: AuditEvent) {
        if let Err(e) = self.store.record(vec![event]).await {
            tracing::error!(error = %e, "cannot write the audit trail");
            self.metrics.store_errors.inc();
        }
    }
}

/// When what `observed` shows is ready, waking at `now` ([`expected_ready`]).
///
/// [`expected_ready`]: Service::expected_ready
fn ready_after(
    observed: &crate::kinds::Observation,
    settling: bool,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let wait = observed.time_to_wake();
    if wait > TimeDelta::zero() {
        now + wait
    } else if settling {
        now + crate::kinds::Kind::Ecs.start_time()
    } else {
        now
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::{Observation, asg};

    #[test]
    fn ready_after_adds_the_tiers_and_falls_back_to_the_services_while_settling() {
        let now: DateTime<Utc> = "2026-12-03T06:00:00Z".parse().unwrap();
        let nothing = Observation::default();
        assert_eq!(ready_after(&nothing, false, now), now);
        assert_eq!(
            ready_after(&nothing, true, now),
            now + TimeDelta::minutes(2)
        );
        // An Auto Scaling group asleep (its capacity recorded on it): 5 minutes, settling or not.
        let asleep = Observation {
            groups: vec![asg::ObservedGroup {
                name: "capacity".into(),
                min: 0,
                max: 0,
                desired: 0,
                in_service: 0,
                instances: 0,
                protected: 0,
                protects_new: true,
                instance_types: vec![],
                launch: asg::Launch::Unknown,
                status: None,
                tags: [(asg::DESIRED_COUNT.to_string(), "2".to_string())].into(),
            }],
            ..Default::default()
        };
        for settling in [false, true] {
            assert_eq!(
                ready_after(&asleep, settling, now),
                now + TimeDelta::minutes(5)
            );
        }
    }
}
