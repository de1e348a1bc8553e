//! The schedule engine: is an environment meant to be awake at an instant, why, and when does
//! that next change?
//!
//! Pure: it takes `now` as a value and does no I/O. Windows are local wall-clock times in the
//! environment's time zone, turned into instants day by day:
//!
//! - a local time inside a spring-forward gap means the first valid instant after the gap (the
//!   transition itself);
//! - a local time that occurs twice in a fall-back hour means its first occurrence, so each window
//!   starts once and ends once, and the repeated hour is never slept or woken twice;
//! - a window starting on a holiday does not happen, and no instant of a holiday is awake (a
//!   window from the day before that crosses midnight ends at the holiday's start).

use std::fmt;

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

use crate::calendar::{local_instant, local_label};
use crate::model::{Environment, Hold, Override, Window};

/// How far ahead the engine looks for the next transition before saying there is none.
const HORIZON_DAYS: u64 = 400;

/// Why an environment is in the state it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// Inside an awake window.
    Window(String),
    /// Outside every awake window.
    OutsideWindows,
    /// The local date is a holiday.
    Holiday(NaiveDate),
    /// It has no awake windows at all.
    NoWindows,
    /// An override holds it.
    Override {
        /// Who asked.
        by: String,
        /// Why.
        reason: String,
    },
}

/// The engine's answer for one environment at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether it should be awake.
    pub awake: bool,
    /// Why.
    pub why: Why,
    /// When that next changes, if it does within the horizon.
    pub next_change: Option<DateTime<Utc>>,
}

impl Decision {
    /// One line for people: `asleep until Mon 07:00 CET (schedule)`.
    pub fn describe(&self, tz: Tz, now: DateTime<Utc>) -> String {
        let state = if self.awake { "awake" } else { "asleep" };
        let when = match self.next_change {
            Some(t) => format!(" until {}", local_label(t, tz, now)),
            None => String::new(),
        };
        let why = match &self.why {
            Why::Window(w) => format!("schedule: \"{w}\""),
            Why::OutsideWindows => "schedule".to_string(),
            Why::Holiday(d) => format!("holiday {d}"),
            Why::NoWindows => "no awake windows; wakes only on request".to_string(),
            Why::Override { by, reason } if reason.is_empty() => format!("override by {by}"),
            Why::Override { by, reason } => format!("override by {by}: {reason}"),
        };
        format!("{state}{when} ({why})")
    }
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::Window(w) => write!(f, "window \"{w}\""),
            Why::OutsideWindows => f.write_str("outside the awake windows"),
            Why::Holiday(d) => write!(f, "holiday {d}"),
            Why::NoWindows => f.write_str("no awake windows"),
            Why::Override { by, .. } => write!(f, "override by {by}"),
        }
    }
}

/// Decides whether `env` should be awake at `now`, given an override that may apply.
pub fn decide(env: &Environment, overrides: Option<&Override>, now: DateTime<Utc>) -> Decision {
    let Some(ov) = overrides.filter(|o| o.is_active(now)) else {
        return scheduled(env, now);
    };
    let awake = ov.hold == Hold::Awake;
    let after = scheduled(env, ov.until);
    let next_change = if after.awake != awake {
        Some(ov.until)
    } else {
        after.next_change
    };
    Decision {
        awake,
        why: Why::Override {
            by: ov.by.clone(),
            reason: ov.reason.clone(),
        },
        next_change,
    }
}

/// The scheduled sleep a heads-up in Slack is due for at `now`, if one is: `env` has
/// `heads_up` set, is awake now, its next change is a sleep the *schedule* makes (an awake
/// window ending — not a wake running out, not an idle sleep), that sleep is at most `heads_up`
/// away, and the environment was used at or after an hour before `now` (`last_used`: the newest
/// wake, sleep or hand-made action in its audit trail). Instants throughout, so a heads-up
/// keeps its lead across a DST change. The caller posts at most once per sleep instant.
pub fn heads_up_due(
    env: &Environment,
    overrides: Option<&Override>,
    now: DateTime<Utc>,
    last_used: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    let lead = env.heads_up?;
    let d = decide(env, overrides, now);
    let sleeps_at = d.next_change.filter(|_| d.awake)?;
    let by_schedule = scheduled(env, sleeps_at - chrono::TimeDelta::seconds(1)).awake
        && !scheduled(env, sleeps_at).awake;
    let near = now < sleeps_at && sleeps_at - now <= lead;
    let used = last_used
        .is_some_and(|u| u <= now && now - u <= chrono::TimeDelta::hours(USED_WITHIN_HOURS));
    (by_schedule && near && used).then_some(sleeps_at)
}

/// How recent a use makes a heads-up worth sending.
pub const USED_WITHIN_HOURS: i64 = 1;

/// When a heads-up could next fall due for `env` (the next scheduled sleep less its lead), if
/// after `now`: the daemon looks again then, so the heads-up is not late by a whole cadence.
pub fn heads_up_from(
    env: &Environment,
    overrides: Option<&Override>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let lead = env.heads_up?;
    let d = decide(env, overrides, now);
    let at = d.next_change.filter(|_| d.awake)? - lead;
    (at > now).then_some(at)
}

/// The schedule alone: windows and holidays, no override.
pub fn scheduled(env: &Environment, now: DateTime<Utc>) -> Decision {
    let cal = Calendar { env };
    let today = now.with_timezone(&env.timezone).date_naive();
    let containing = cal
        .occurrences_starting(today.pred_opt().unwrap_or(today), today)
        .into_iter()
        .filter(|o| o.start <= now && now < o.end)
        .max_by_key(|o| o.end);
    if let Some(occ) = containing {
        return Decision {
            awake: true,
            why: Why::Window(occ.window.text.clone()),
            next_change: cal.end_of_chain(occ.end),
        };
    }
    let why = if env.windows.is_empty() {
        Why::NoWindows
    } else if cal.is_holiday(today) {
        Why::Holiday(today)
    } else {
        Why::OutsideWindows
    };
    Decision {
        awake: false,
        why,
        next_change: cal.next_start_after(now, today),
    }
}

/// When the window `env` is in at `now` began (the earliest, when occurrences overlap across
/// midnight); `None` outside every window. Exact across DST like [`scheduled`].
pub fn window_start(env: &Environment, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let cal = Calendar { env };
    let today = now.with_timezone(&env.timezone).date_naive();
    cal.occurrences_starting(today.pred_opt().unwrap_or(today), today)
        .into_iter()
        .filter(|o| o.start <= now && now < o.end)
        .map(|o| o.start)
        .min()
}

/// The stretches of `[from, to)` the schedule alone (windows and holidays, no override) keeps
/// `env` awake, in order, each clipped to `[from, to)`: what the status page draws as the week.
/// Stepped from one scheduled change to the next, so it is exact across DST like [`scheduled`].
pub fn awake_intervals(
    env: &Environment,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut out: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    let mut t = from;
    // Each step reaches the next change; a week has a few dozen at most. The bound only
    // guards against a schedule that would never move on.
    for _ in 0..10_000 {
        if t >= to {
            break;
        }
        let d = scheduled(env, t);
        let next = match d.next_change {
            Some(n) if n > t => n.min(to),
            _ => to,
        };
        if d.awake {
            match out.last_mut() {
                Some(last) if last.1 == t => last.1 = next,
                _ => out.push((t, next)),
            }
        }
        t = next;
    }
    out
}

/// One occurrence of a window, as instants.
#[derive(Debug, Clone, Copy)]
struct Occurrence<'w> {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    window: &'w Window,
}

struct Calendar<'e> {
    env: &'e Environment,
}

impl<'e> Calendar<'e> {
    fn is_holiday(&self, d: NaiveDate) -> bool {
        self.env.holidays.iter().any(|(a, b)| *a <= d && d <= *b)
    }

    /// Occurrences of every window that start on local dates `from..=to`, holidays applied.
    fn occurrences_starting(&self, from: NaiveDate, to: NaiveDate) -> Vec<Occurrence<'e>> {
        let tz = self.env.timezone;
        let mut out = Vec::new();
        let mut day = from;
        while day <= to {
            if !self.is_holiday(day) {
                for w in &self.env.windows {
                    if !w.starts_on(day.weekday()) {
                        continue;
                    }
                    let start = resolve(tz, day, w.start);
                    let end_day = if w.crosses_midnight() {
                        day + Days::new(1)
                    } else {
                        day
                    };
                    let mut end = resolve(tz, end_day, w.end);
                    if end_day != day && self.is_holiday(end_day) {
                        end = resolve(tz, end_day, 0);
                    }
                    if start < end {
                        out.push(Occurrence {
                            start,
                            end,
                            window: w,
                        });
                    }
                }
            }
            match day.succ_opt() {
                Some(d) => day = d,
                None => break,
            }
        }
        out
    }

    /// Follows windows that overlap or touch the one ending at `end`, to where staying awake stops.
    fn end_of_chain(&self, mut end: DateTime<Utc>) -> Option<DateTime<Utc>> {
        for _ in 0..HORIZON_DAYS * 2 {
            let day = end.with_timezone(&self.env.timezone).date_naive();
            let later = self
                .occurrences_starting(day.pred_opt()?, day)
                .into_iter()
                .filter(|o| o.start <= end && o.end > end)
                .map(|o| o.end)
                .max();
            match later {
                Some(e) => end = e,
                None => return Some(end),
            }
        }
        None
    }

    /// The first window start after `now`, looking from local date `today` on.
    fn next_start_after(&self, now: DateTime<Utc>, today: NaiveDate) -> Option<DateTime<Utc>> {
        if self.env.windows.is_empty() {
            return None;
        }
        let mut day = today;
        for _ in 0..HORIZON_DAYS {
            let first = self
                .occurrences_starting(day, day)
                .into_iter()
                .map(|o| o.start)
                .filter(|s| *s > now)
                .min();
            if first.is_some() {
                return first;
            }
            day = day.succ_opt()?;
        }
        None
    }
}

/// The instant of a local date and minute of day (1440 = the next midnight), resolved as the
/// module documentation says.
fn resolve(tz: Tz, date: NaiveDate, minute: u16) -> DateTime<Utc> {
    let (date, minute) = if minute >= 1440 {
        (date.succ_opt().unwrap_or(date), 0)
    } else {
        (date, minute)
    };
    local_instant(
        tz,
        date.and_time(
            NaiveTime::from_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0)
                .unwrap_or(NaiveTime::MIN),
        ),
    )
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "schedule_heads_up_tests.rs"]
mod heads_up_tests;
