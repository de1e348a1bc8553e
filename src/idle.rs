//! Idle to sleep: an environment awake on a wake (and, opted in with `idle_sleep`, inside its
//! windows) goes back to sleep once its front door — the app target groups of its `[alb]`
//! rules — has had no requests for the idle window; never during an ECS deployment, never
//! before its minimum awake time.
//!
//! Pure: the caller reads the request counts (one `GetMetricData` a pass, only when
//! [`Watch::needs_counts`] says they can change the answer) and hands them in with `now`.
//! Times are instants; the only local times are the window's start and the next window start
//! a sleep inside a window holds until, both from [`crate::schedule`], exact across DST.

use chrono::{DateTime, TimeDelta, Utc};

use crate::calendar::local_label;
use crate::model::{Environment, Hold, Override, format_duration};
use crate::schedule::{USED_WITHIN_HOURS, scheduled, window_start};

/// The width of one request count: ALB metrics are per minute.
pub const MINUTE: TimeDelta = TimeDelta::minutes(1);

/// Requests through the front door in one minute (summed over its app target groups).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Minute {
    /// The minute's start.
    pub at: DateTime<Utc>,
    /// Requests in it (CloudWatch's `Sum`; a minute with no data point had none).
    pub requests: f64,
}

/// What keeps the environment awake that being idle can end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// A wake (an awake override): being idle ends it.
    Wake,
    /// An awake window (`idle_sleep`): being idle puts it to sleep until the next window
    /// start, or a wake.
    Window,
}

/// An environment whose idleness is watched at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    /// What keeps it awake.
    pub holder: Holder,
    /// Awake since then (the wake's start, the window's start).
    pub since: DateTime<Utc>,
    /// The idle window: no requests for this long puts it to sleep.
    pub after: TimeDelta,
    /// Its minimum awake time.
    pub min_awake: TimeDelta,
    /// The instant of the check.
    pub now: DateTime<Utc>,
    /// Kept awake until then by the heads-up's "Keep 1 h" (never put to sleep for being idle
    /// before it), when one was clicked.
    pub kept_until: Option<DateTime<Utc>>,
}

/// What is watched in `env` at `now`, with `ov` the override in force: `None` when idle to
/// sleep is off, it is held asleep, or nothing that idleness ends keeps it awake (a wake inside
/// a window without `idle_sleep`: the window keeps it awake anyway, and the wake is watched
/// once the window has ended).
pub fn watch(env: &Environment, ov: Option<&Override>, now: DateTime<Utc>) -> Option<Watch> {
    let cfg = env.idle?;
    let w = |holder, since, after| Watch {
        holder,
        since,
        after,
        min_awake: cfg.min_awake,
        now,
        kept_until: None,
    };
    match ov.filter(|o| o.is_active(now)) {
        Some(o) if o.hold == Hold::Awake => {
            if cfg.window_after.is_none() && window_start(env, now).is_some() {
                return None;
            }
            Some(w(Holder::Wake, o.created, cfg.wake_after))
        }
        Some(_) => None,
        None => {
            let after = cfg.window_after?;
            let start = window_start(env, now)?;
            Some(w(Holder::Window, start, after))
        }
    }
}

impl Watch {
    /// The earliest instant it may be put to sleep for being idle: after its minimum awake
    /// time and one whole idle window awake (and not before a "Keep 1 h" has run out).
    pub fn earliest(&self) -> DateTime<Utc> {
        let earliest = self.since + self.after.max(self.min_awake);
        self.kept_until.map_or(earliest, |k| k.max(earliest))
    }

    /// The stretch of time whose request counts decide (`from`, `to`), or `None` when they
    /// cannot change the answer (too early, or a deployment under way): no call is made then.
    pub fn needs_counts(&self, deploying: &[String]) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        self.reads(deploying, None)
    }

    /// [`Watch::needs_counts`] for an environment with a heads-up (`heads_up`, its lead): the
    /// counts are read from the lead before the earliest idle sleep (so the heads-up can be
    /// posted before it), and over the last hour at least (so requests in the last hour count
    /// as use); still one call a pass, never during a deployment.
    pub fn reads(
        &self,
        deploying: &[String],
        heads_up: Option<TimeDelta>,
    ) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let lead = heads_up.unwrap_or_default();
        let back = match heads_up {
            Some(_) => self.after.max(TimeDelta::hours(USED_WITHIN_HOURS)),
            None => self.after,
        };
        (self.now >= self.earliest() - lead && deploying.is_empty())
            .then(|| (self.now - back, self.now))
    }

    /// The minutes ending inside the idle window only (the counts may reach further back, for
    /// use).
    fn window(&self, minutes: &[Minute]) -> Vec<Minute> {
        let from = self.now - self.after;
        minutes
            .iter()
            .filter(|m| m.at + MINUTE >= from)
            .copied()
            .collect()
    }
}

/// What being idle comes to at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It stays awake, and why (for logs and `plan`).
    Stay(String),
    /// It goes to sleep.
    Sleep(IdleSleep),
}

/// An idle sleep: what it ends and how long it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdleSleep {
    /// The wake it ends (`true`), or only the window (`false`).
    pub ends_wake: bool,
    /// Inside a window (with `idle_sleep`), held asleep until then: the next window start.
    pub hold_until: Option<DateTime<Utc>>,
    /// No requests since then.
    pub quiet_since: DateTime<Utc>,
    /// The idle window, as written (`45m`).
    pub after: String,
    /// Why, for people: `no requests through the front door for 45m (since 19:02 AEDT)`.
    pub reason: String,
}

/// Decides at `w.now` from the request counts of the idle window (`minutes`; a minute left out
/// had no requests) and the services with a deployment under way (`deploying`).
pub fn decide(env: &Environment, w: &Watch, minutes: &[Minute], deploying: &[String]) -> Verdict {
    let minutes = &w.window(minutes)[..];
    let now = w.now;
    let tz = env.timezone;
    if now < w.earliest() {
        return Verdict::Stay(format!(
            "awake for {} only: an idle sleep comes no sooner than {}",
            format_duration(now - w.since),
            local_label(w.earliest(), tz, now)
        ));
    }
    if let Some(first) = deploying.first() {
        return Verdict::Stay(format!(
            "a deployment of {first} is under way: never put to sleep in the middle of one"
        ));
    }
    let quiet_since = quiet_since(w, minutes);
    if now - quiet_since < w.after {
        return Verdict::Stay(format!(
            "{} request{} in the last {} (the last ending {})",
            total(minutes),
            if total(minutes) == 1 { "" } else { "s" },
            format_duration(w.after),
            local_label(quiet_since, tz, now)
        ));
    }
    let plain = scheduled(env, now);
    let hold_until =
        (plain.awake && env.idle.is_some_and(|c| c.window_after.is_some())).then(|| {
            plain
                .next_change
                .and_then(|end| scheduled(env, end).next_change)
                .unwrap_or(now + TimeDelta::days(7))
        });
    let after = format_duration(w.after);
    Verdict::Sleep(IdleSleep {
        ends_wake: w.holder == Holder::Wake,
        hold_until,
        quiet_since,
        reason: format!(
            "no requests through the front door for {after} (since {})",
            local_label(quiet_since, tz, now)
        ),
        after,
    })
}

/// When the front door went quiet: the end of the last minute with requests, or the start of
/// the stretch awake when there were none.
fn quiet_since(w: &Watch, minutes: &[Minute]) -> DateTime<Utc> {
    let last_request = minutes
        .iter()
        .filter(|m| m.requests > 0.0)
        .map(|m| m.at + MINUTE)
        .max();
    last_request.map_or(w.since, |t| t.max(w.since))
}

/// When the idle sleep is due if no request comes from now on (for a heads-up before it): the
/// idle window after the front door went quiet, and never before [`Watch::earliest`].
pub fn due(w: &Watch, minutes: &[Minute]) -> DateTime<Utc> {
    (quiet_since(w, &w.window(minutes)) + w.after).max(w.earliest())
}

/// The end of the last minute with requests among `minutes`, if any had some.
pub fn last_request(minutes: &[Minute]) -> Option<DateTime<Utc>> {
    minutes
        .iter()
        .filter(|m| m.requests > 0.0)
        .map(|m| m.at + MINUTE)
        .max()
}

/// An idle sleep to come, as a pass saw it from the counts it read (kept for the heads-up
/// after the pass, and for `status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upcoming {
    /// When the pass looked.
    pub at: DateTime<Utc>,
    /// When the idle sleep comes if no request does ([`due`]).
    pub due: DateTime<Utc>,
    /// No requests since then (in all the counts read, not only the idle window's): names this
    /// idle sleep (a new request makes a new one).
    pub quiet_since: DateTime<Utc>,
    /// The end of the last minute with requests in the counts read (the last hour at least,
    /// with a heads-up), if any.
    pub last_request: Option<DateTime<Utc>>,
    /// Held off until then by a "Keep 1 h" ([`Watch::kept_until`]).
    pub kept_until: Option<DateTime<Utc>>,
}

impl Upcoming {
    /// For people, in `env`'s zone: `sleeps at 2026-12-02 21:42 AEDT if no request comes`.
    pub fn sentence(&self, env: &Environment, now: DateTime<Utc>) -> String {
        format!(
            "sleeps at {} if no request comes",
            local_label(self.due, env.timezone, now)
        )
    }

    /// What names this idle sleep for its heads-up, the same every pass while nothing changes
    /// (never `due`, which moves as late counts arrive): when the front door went quiet, and
    /// the end of a "Keep 1 h", so the sleep after a Keep gets its own heads-up.
    pub fn name(&self) -> String {
        match self.kept_until {
            Some(k) => format!("{}:{}", self.quiet_since.timestamp(), k.timestamp()),
            None => self.quiet_since.timestamp().to_string(),
        }
    }
}

/// What the counts read at `w.now` say of the idle sleep to come; `None` during a deployment
/// (no idle sleep comes in the middle of one).
pub fn upcoming(w: &Watch, minutes: &[Minute], deploying: &[String]) -> Option<Upcoming> {
    deploying.is_empty().then(|| Upcoming {
        at: w.now,
        due: due(w, minutes),
        quiet_since: quiet_since(w, minutes),
        last_request: last_request(minutes),
        kept_until: w.kept_until,
    })
}

/// When to post the heads-up before the idle sleep `up`, at `now`: the idle sleep's instant,
/// when it is at most `heads_up` away, the environment was used in the last hour (`last_used`:
/// the audit's uses and the requests counted, whichever is newer) and nothing else ends its
/// awake time first (the schedule's or the wake's own end, which has its own heads-up).
pub fn heads_up_due(
    env: &Environment,
    ov: Option<&Override>,
    up: &Upcoming,
    now: DateTime<Utc>,
    last_used: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    let lead = env.heads_up?;
    let near = now < up.due && up.due - now <= lead;
    let used =
        last_used.is_some_and(|u| u <= now && now - u <= TimeDelta::hours(USED_WITHIN_HOURS));
    let d = crate::schedule::decide(env, ov, now);
    let first = d.awake && d.next_change.is_none_or(|end| up.due < end);
    (near && used && first).then_some(up.due)
}

/// The requests counted, as a whole number (CloudWatch sums are whole for counts).
fn total(minutes: &[Minute]) -> u64 {
    minutes
        .iter()
        .map(|m| m.requests.max(0.0))
        .sum::<f64>()
        .round() as u64
}

/// Adds counts up by minute (several target groups, or several data points in one minute).
pub fn by_minute(points: impl IntoIterator<Item = Minute>) -> Vec<Minute> {
    let mut out: std::collections::BTreeMap<DateTime<Utc>, f64> = Default::default();
    for p in points {
        *out.entry(p.at).or_default() += p.requests;
    }
    out.into_iter()
        .map(|(at, requests)| Minute { at, requests })
        .collect()
}

#[cfg(test)]
#[path = "idle_tests.rs"]
mod tests;
