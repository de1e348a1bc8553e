//! The audit trail: what was done or asked, to what, why, by whom, and how it went.
//!
//! Events are typed and stored as JSON, so the digest reads what an action *did* (its
//! [`Effect`]) and when a wake ended — never a message parsed back. Rows written before the
//! trail was typed (plain text) are read by [`AuditEvent::from_legacy`], the one place that
//! still reads text; it can go once such rows have aged out of every store (90 days).

use std::fmt;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::kinds::Effect;

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When it happened (an action: when its calls were made).
    pub at: DateTime<Utc>,
    /// The environment.
    pub env: String,
    /// The resource (`ecs:cluster/service`, `rds:id`), or empty for a request about the whole
    /// environment.
    pub resource: String,
    /// What was done or asked.
    pub action: Action,
    /// Why.
    pub reason: String,
    /// Who: a token's name, `slack:NAME`, `cli:USER`, `schedule` for the reconcile loop.
    pub actor: String,
    /// How it went.
    pub outcome: Outcome,
}

/// What an audit event records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// Write calls on one resource.
    Steps {
        /// What they did to its sleep, if anything (tags alone do nothing).
        effect: Option<Effect>,
        /// The calls made, for people (`set desired count 0`).
        steps: Vec<String>,
        /// Calls planned but not made (the action failed or was stopped before them).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        not_made: Vec<String>,
    },
    /// A wake request.
    Wake {
        /// How long was asked for, as written (`2h`).
        asked: String,
        /// When the wake in force after the request ends.
        until: DateTime<Utc>,
        /// A longer wake was already in force and stays.
        kept: bool,
    },
    /// A sleep request, or an idle sleep (actor `idle`).
    Sleep {
        /// Held asleep until then (inside an awake window); `None`: back on the schedule.
        until: Option<DateTime<Utc>>,
        /// Put to sleep for being idle: since when, and the idle window. `None`: asked for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        idle: Option<Idle>,
    },
}

/// What made an idle sleep: no requests through the front door since `quiet_since`, for at
/// least the idle window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Idle {
    /// The last request ended then (or the environment woke then, with none since).
    pub quiet_since: DateTime<Utc>,
    /// The idle window, as written in the schedule file (`45m`).
    pub after: String,
}

impl Action {
    /// What it did to its resource's sleep: a step's effect; requests have none (they act
    /// through the passes that follow them).
    pub fn effect(&self) -> Option<Effect> {
        match self {
            Action::Steps { effect, .. } => *effect,
            _ => None,
        }
    }
}

impl Action {
    /// Every call of an action, made or not, for people.
    pub fn planned_steps(&self) -> Vec<&str> {
        match self {
            Action::Steps {
                steps, not_made, ..
            } => steps.iter().chain(not_made).map(String::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

impl fmt::Display for Action {
    /// `set desired count 0; untag ...`, `wake for 2h`, `sleep`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Steps {
                steps, not_made, ..
            } => match (steps.is_empty(), not_made.is_empty()) {
                (_, true) => f.write_str(&steps.join("; ")),
                (true, false) => write!(f, "not made: {}", not_made.join("; ")),
                (false, false) => {
                    write!(f, "{}; not made: {}", steps.join("; "), not_made.join("; "))
                }
            },
            Action::Wake { asked, .. } => write!(f, "wake for {asked}"),
            Action::Sleep { idle: None, .. } => f.write_str("sleep"),
            Action::Sleep { idle: Some(i), .. } => write!(f, "sleep (idle for {})", i.after),
        }
    }
}

/// How an audited action or request went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", content = "detail", rename_all = "snake_case")]
pub enum Outcome {
    /// Done.
    Ok,
    /// A call failed; the calls before it were made.
    Failed(String),
    /// Not attempted: something it waits for failed.
    NotRun(String),
    /// Some calls were made, then the pass stopped (out of time, lease lost, shutdown).
    Partial(String),
}

impl Outcome {
    /// Whether it went as asked.
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok)
    }
}

impl fmt::Display for Outcome {
    /// `ok`, `failed: ...`, `not run: ...`, `partial: ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Ok => f.write_str("ok"),
            Outcome::Failed(e) => write!(f, "failed: {e}"),
            Outcome::NotRun(e) => write!(f, "not run: {e}"),
            Outcome::Partial(e) => write!(f, "partial: {e}"),
        }
    }
}

impl AuditEvent {
    /// Reads a row written before the audit trail was typed, from its text columns. The action
    /// text was steps joined by `; ` (`set desired count 0`, `StopDBInstance`), `wake for 2h`
    /// or `sleep`; the outcome `ok`, `ok: awake until 2026-11-28 23:00:00 UTC`, `failed: ...`.
    pub fn from_legacy(
        at: DateTime<Utc>,
        env: String,
        resource: String,
        action: &str,
        reason: String,
        actor: String,
        outcome: &str,
    ) -> AuditEvent {
        let until = legacy_until(outcome);
        let action = if resource.is_empty() && action.starts_with("wake for ") {
            Action::Wake {
                asked: action.trim_start_matches("wake for ").to_string(),
                until: until.unwrap_or(at),
                kept: outcome.contains("already in force"),
            }
        } else if resource.is_empty() && action == "sleep" {
            Action::Sleep { until, idle: None }
        } else {
            let steps: Vec<String> = action
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            Action::Steps {
                effect: legacy_effect(&steps),
                steps,
                not_made: Vec::new(),
            }
        };
        let outcome = if outcome == "ok" || outcome.starts_with("ok:") {
            Outcome::Ok
        } else if let Some(e) = outcome.strip_prefix("not run: ") {
            Outcome::NotRun(e.to_string())
        } else if let Some(e) = outcome.strip_prefix("partial: ") {
            Outcome::Partial(e.to_string())
        } else {
            Outcome::Failed(
                outcome
                    .strip_prefix("failed: ")
                    .unwrap_or(outcome)
                    .to_string(),
            )
        };
        AuditEvent {
            at,
            env,
            resource,
            action,
            reason,
            actor,
            outcome,
        }
    }
}

/// The effect of legacy step texts: the last that stopped or started something.
fn legacy_effect(steps: &[String]) -> Option<Effect> {
    let mut out = None;
    for step in steps {
        if let Some(n) = step.strip_prefix("set desired count ") {
            match n.trim().parse::<i64>() {
                Ok(0) => out = Some(Effect::Sleep),
                Ok(n) if n > 0 => out = Some(Effect::Wake),
                _ => {}
            }
        } else if step == "StopDBInstance" || step == "StopDBCluster" {
            out = Some(Effect::Sleep);
        } else if step == "StartDBInstance" || step == "StartDBCluster" {
            out = Some(Effect::Wake);
        }
    }
    out
}

/// The `until` of a legacy request outcome: `ok: awake until 2026-11-28 23:00:00 UTC`.
fn legacy_until(outcome: &str) -> Option<DateTime<Utc>> {
    let rest = outcome.split_once("until ")?.1;
    let text = rest.split(" UTC").next()?.trim();
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows written before the trail was typed read as the typed events they were.
    #[test]
    fn legacy_rows_read_as_typed_events() {
        let at: DateTime<Utc> = "2026-11-20T21:00:00Z".parse().unwrap();
        let e = AuditEvent::from_legacy(
            at,
            "staging".into(),
            "ecs:app/backend".into(),
            "tag lightsout:desired-count=2; set autoscaling min 0 / max 0; set desired count 0",
            "asleep".into(),
            "schedule".into(),
            "ok",
        );
        assert_eq!(e.action.effect(), Some(Effect::Sleep));
        assert!(e.outcome.is_ok());
        let e = AuditEvent::from_legacy(
            at,
            "staging".into(),
            "rds:db".into(),
            "StartDBInstance; untag lightsout:slept-at",
            String::new(),
            "schedule".into(),
            "failed: StartDBInstance failed: InvalidDBInstanceState: no",
        );
        assert_eq!(e.action.effect(), Some(Effect::Wake));
        assert_eq!(
            e.outcome,
            Outcome::Failed("StartDBInstance failed: InvalidDBInstanceState: no".into())
        );
        let e = AuditEvent::from_legacy(
            at,
            "staging".into(),
            String::new(),
            "wake for 2h",
            "hotfix".into(),
            "alice".into(),
            "ok: awake until 2026-11-20 23:00:00 UTC",
        );
        assert_eq!(
            e.action,
            Action::Wake {
                asked: "2h".into(),
                until: "2026-11-20T23:00:00Z".parse().unwrap(),
                kept: false
            }
        );
        assert_eq!(e.action.to_string(), "wake for 2h");
        let e = AuditEvent::from_legacy(
            at,
            "staging".into(),
            String::new(),
            "sleep",
            String::new(),
            "bob".into(),
            "ok: back on the schedule",
        );
        assert_eq!(
            e.action,
            Action::Sleep {
                until: None,
                idle: None
            }
        );
    }

    /// Typed events survive JSON, the form both stores keep them in.
    #[test]
    fn events_round_trip_through_json() {
        let e = AuditEvent {
            at: "2026-11-20T21:00:00Z".parse().unwrap(),
            env: "staging".into(),
            resource: "rds:db".into(),
            action: Action::Steps {
                effect: Some(Effect::Sleep),
                steps: vec!["tag lightsout:slept-at=x".into()],
                not_made: vec!["StopDBInstance".into()],
            },
            reason: "asleep".into(),
            actor: "schedule".into(),
            outcome: Outcome::Partial("lease lost".into()),
        };
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<AuditEvent>(&text).unwrap(), e);
    }
}
