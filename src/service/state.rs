//! What a pass found: each environment's state as people see it ([`State`], [`Snapshot`]),
//! what a pass over several environments came to ([`PassReport`]), and when to look again
//! ([`Requeue`]) — the one place that decides whether something is still settling.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::engine::EnvReport;
use crate::kinds::Observation;
use crate::plan::{Plan, Verdict};

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

/// The state to show now, when the environment is meant to be `awake` (the schedule and the
/// override in force now): the last pass's state while that pass planned for the same, else
/// on its way there — `waking` the moment a wake is accepted, `going to sleep` the moment a
/// sleep is, before the pass that acts on it has run.
pub fn state_now(last: Option<&Snapshot>, awake: bool) -> State {
    match last {
        None => State::Unknown,
        Some(s) if s.unknown.is_some() => State::Unknown,
        Some(s) if s.report.awake == awake => s.state(),
        Some(_) if awake => State::Waking,
        Some(_) => State::GoingToSleep,
    }
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

/// When to look again after a pass: what the daemon sleeps for, what the Lambda answers.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "next", content = "at", rename_all = "snake_case")]
pub enum Requeue {
    /// Something is still changing, was left for the next pass, or could not be observed:
    /// look again soon (the settle interval).
    Soon,
    /// Nothing is changing: look again at this instant (the next scheduled change or override
    /// end, or the cadence, whichever is first).
    At(DateTime<Utc>),
}
