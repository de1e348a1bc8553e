//! An environment's recent wakes and sleeps, read from the typed audit trail: who asked for
//! what, and when the environment went to sleep or woke up — by whom, and for how long it
//! stayed that way. What the status page lists. Pure: events in, entries out.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::model::{Action, AuditEvent, Effect};

/// A pass's actions further apart than this are two transitions, not one (a wake that waits
/// for databases takes 5–15 minutes on AWS; two nights are many hours apart).
const SAME_TRANSITION: TimeDelta = TimeDelta::hours(1);

/// One line of the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// Someone asked for a wake.
    WakeRequest {
        /// When.
        at: DateTime<Utc>,
        /// Who: a token's name, `slack:NAME`, `cli:USER`.
        by: String,
        /// Why.
        reason: String,
        /// What was asked, as written (`2h`).
        asked: String,
        /// When the wake in force after the request ends.
        until: DateTime<Utc>,
        /// A longer wake was already in force and stays.
        kept: bool,
        /// A sleep request that ended it before `until`, if one did.
        ended_early: Option<DateTime<Utc>>,
    },
    /// Someone asked for a sleep.
    SleepRequest {
        /// When.
        at: DateTime<Utc>,
        /// Who.
        by: String,
        /// Why.
        reason: String,
        /// Held asleep until then (inside an awake window); `None`: back on the schedule.
        until: Option<DateTime<Utc>>,
    },
    /// Resources were put to sleep (`effect: sleep`) or woken (`effect: wake`) by a pass.
    Transition {
        /// Which way.
        effect: Effect,
        /// Its first action.
        at: DateTime<Utc>,
        /// Its last action (a wake starts databases first and services when they are ready).
        done: DateTime<Utc>,
        /// Who made it: `schedule`, `schedule (override by alice)`, `cli:bob`.
        by: String,
        /// Resources it changed.
        resources: usize,
        /// Of these, how many failed or were left undone.
        failed: usize,
        /// How long the environment stayed that way, in seconds: until the next transition the
        /// other way; `None` while it still is.
        lasted_secs: Option<i64>,
    },
}

impl Entry {
    /// When it happened (a transition: when it began).
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Entry::WakeRequest { at, .. }
            | Entry::SleepRequest { at, .. }
            | Entry::Transition { at, .. } => *at,
        }
    }
}

/// The history in `events` from `since`, newest first, at most `limit` entries. `events` are
/// sorted by instant; those at the same instant (a request and the pass it triggered, on a
/// stopped clock) keep their order, which should be the order they were recorded in.
pub fn history(events: &[AuditEvent], since: DateTime<Utc>, limit: usize) -> Vec<Entry> {
    let mut events: Vec<&AuditEvent> = events.iter().collect();
    events.sort_by_key(|e| e.at);
    let sleeps: Vec<DateTime<Utc>> = events
        .iter()
        .filter(|e| e.resource.is_empty() && matches!(e.action, Action::Sleep { .. }))
        .map(|e| e.at)
        .collect();
    let mut out: Vec<Entry> = Vec::new();
    for e in &events {
        match &e.action {
            Action::Wake { asked, until, kept } if e.resource.is_empty() => {
                out.push(Entry::WakeRequest {
                    at: e.at,
                    by: e.actor.clone(),
                    reason: e.reason.clone(),
                    asked: asked.clone(),
                    until: *until,
                    kept: *kept,
                    ended_early: sleeps.iter().copied().find(|s| *s >= e.at && s < until),
                });
            }
            Action::Sleep { until, .. } if e.resource.is_empty() => {
                out.push(Entry::SleepRequest {
                    at: e.at,
                    by: e.actor.clone(),
                    reason: e.reason.clone(),
                    until: *until,
                });
            }
            Action::Steps {
                effect: Some(effect),
                ..
            } => {
                let failed = usize::from(!e.outcome.is_ok());
                // The transition this action belongs to: the last one, if it goes the same
                // way and is recent; a request in between does not split it.
                let last = out
                    .iter_mut()
                    .rev()
                    .find(|x| matches!(x, Entry::Transition { .. }));
                match last {
                    Some(Entry::Transition {
                        effect: eff,
                        done,
                        resources,
                        failed: f,
                        ..
                    }) if eff == effect && e.at - *done <= SAME_TRANSITION => {
                        *done = e.at;
                        *resources += 1;
                        *f += failed;
                    }
                    _ => out.push(Entry::Transition {
                        effect: *effect,
                        at: e.at,
                        done: e.at,
                        by: e.actor.clone(),
                        resources: 1,
                        failed,
                        lasted_secs: None,
                    }),
                }
            }
            _ => {}
        }
    }
    // How long each transition's state lasted: until the next transition the other way.
    let marks: Vec<(Effect, DateTime<Utc>)> = out
        .iter()
        .filter_map(|x| match x {
            Entry::Transition { effect, at, .. } => Some((*effect, *at)),
            _ => None,
        })
        .collect();
    for x in &mut out {
        if let Entry::Transition {
            effect,
            at,
            lasted_secs,
            ..
        } = x
        {
            *lasted_secs = marks
                .iter()
                .find(|(e, t)| e != effect && t > at)
                .map(|(_, t)| (*t - *at).num_seconds());
        }
    }
    out.retain(|x| x.at() >= since);
    out.reverse();
    out.truncate(limit);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Outcome;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn step(at: &str, resource: &str, effect: Effect, actor: &str) -> AuditEvent {
        AuditEvent {
            at: utc(at),
            env: "staging".into(),
            resource: resource.into(),
            action: Action::Steps {
                effect: Some(effect),
                steps: vec!["call".into()],
                not_made: Vec::new(),
            },
            reason: String::new(),
            actor: actor.into(),
            outcome: Outcome::Ok,
        }
    }

    fn request(at: &str, action: Action, actor: &str) -> AuditEvent {
        AuditEvent {
            at: utc(at),
            env: "staging".into(),
            resource: String::new(),
            action,
            reason: "hotfix".into(),
            actor: actor.into(),
            outcome: Outcome::Ok,
        }
    }

    /// A night, a morning whose services wake after their databases, and a wake request at
    /// night ended early by a sleep: one entry each, newest first, each transition with how long
    /// its state lasted.
    #[test]
    fn passes_group_into_transitions_and_requests_keep_who_and_how_long() {
        let events = vec![
            step(
                "2026-11-30T19:00:00Z",
                "ecs:c/backend",
                Effect::Sleep,
                "schedule",
            ),
            step("2026-11-30T19:00:01Z", "rds:db", Effect::Sleep, "schedule"),
            step("2026-12-01T06:00:00Z", "rds:db", Effect::Wake, "schedule"),
            step(
                "2026-12-01T06:12:00Z",
                "ecs:c/backend",
                Effect::Wake,
                "schedule",
            ),
            step(
                "2026-12-01T19:00:00Z",
                "ecs:c/backend",
                Effect::Sleep,
                "schedule",
            ),
            request(
                "2026-12-01T21:00:00Z",
                Action::Wake {
                    asked: "2h".into(),
                    until: utc("2026-12-01T23:00:00Z"),
                    kept: false,
                },
                "alice",
            ),
            step(
                "2026-12-01T21:00:02Z",
                "ecs:c/backend",
                Effect::Wake,
                "schedule (override by alice)",
            ),
            request(
                "2026-12-01T21:30:00Z",
                Action::Sleep {
                    until: None,
                    idle: None,
                },
                "bob",
            ),
            step(
                "2026-12-01T21:30:01Z",
                "ecs:c/backend",
                Effect::Sleep,
                "schedule",
            ),
        ];
        let h = history(&events, utc("2026-11-30T00:00:00Z"), 20);
        assert_eq!(h.len(), 7, "{h:#?}");
        assert!(matches!(
            &h[0],
            Entry::Transition { effect: Effect::Sleep, by, lasted_secs: None, .. } if by == "schedule"
        ));
        assert!(matches!(&h[1], Entry::SleepRequest { by, until: None, .. } if by == "bob"));
        assert!(matches!(
            &h[2],
            Entry::Transition { effect: Effect::Wake, lasted_secs: Some(l), .. } if *l == 30 * 60 - 1
        ));
        assert!(matches!(
            &h[3],
            Entry::WakeRequest { by, asked, ended_early: Some(t), .. }
                if by == "alice" && asked == "2h" && *t == utc("2026-12-01T21:30:00Z")
        ));
        assert!(matches!(
            &h[5],
            Entry::Transition { effect: Effect::Wake, resources: 2, done, lasted_secs: Some(l), .. }
                if *done == utc("2026-12-01T06:12:00Z") && *l == 13 * 3600
        ));
        assert!(matches!(
            &h[6],
            Entry::Transition { effect: Effect::Sleep, resources: 2, lasted_secs: Some(l), .. } if *l == 11 * 3600
        ));
        // Only what happened since `since`, and at most `limit`.
        assert_eq!(history(&events, utc("2026-12-01T20:00:00Z"), 20).len(), 4);
        assert_eq!(history(&events, utc("2026-11-30T00:00:00Z"), 2).len(), 2);
    }
}
