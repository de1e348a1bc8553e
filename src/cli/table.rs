//! The command line's tables: plans, pass reports and status, readable in a terminal.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::calendar::local_label;
use crate::engine::{EnvReport, Outcome};
use crate::kinds::{Observation, Step};
use crate::model::Environment;
use crate::model::Override;
use crate::plan::{Plan, Verdict};
use crate::service::{State, state_of};
use crate::store::LeaseHolder;

/// Lays out rows in columns under a header, two spaces apart; the last column is not padded.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let cols = header.len();
    let mut width = vec![0; cols];
    for row in
        std::iter::once(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>()).chain(rows)
    {
        for (i, cell) in row.iter().enumerate().take(cols) {
            width[i] = width[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &[String]| {
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                let _ = write!(out, "{cell:<w$}  ", w = width[i]);
            }
        }
        out.push('\n');
    };
    line(
        &mut out,
        &header.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
    );
    for row in rows {
        line(&mut out, row);
    }
    out
}

fn verdict_label(v: &Verdict) -> String {
    match v {
        Verdict::Act { steps, .. } => steps
            .iter()
            .map(Step::label)
            .collect::<Vec<_>>()
            .join(" → "),
        Verdict::InSync => "-".into(),
        Verdict::Wait => "wait".into(),
        Verdict::Skip => "skip".into(),
        Verdict::Refuse => "REFUSED".into(),
        Verdict::Blocked => "BLOCKED".into(),
    }
}

/// A plan as a table.
pub fn plan(p: &Plan) -> String {
    let mut out = format!("{}: {}\n", p.env, p.summary);
    let rows: Vec<Vec<String>> = p
        .items
        .iter()
        .map(|i| {
            vec![
                i.resource.to_string(),
                verdict_label(&i.verdict),
                i.reason.clone(),
            ]
        })
        .collect();
    out.push_str(&table(&["RESOURCE", "ACTION", "REASON"], &rows));
    for problem in &p.problems {
        let _ = writeln!(out, "problem: {problem}");
    }
    let blocked = p
        .items
        .iter()
        .filter(|i| i.verdict == Verdict::Blocked)
        .count();
    let _ = writeln!(
        out,
        "{} planned{}",
        plural(p.write_count(), "write call"),
        attention(blocked, p.problems.len())
    );
    out
}

/// Whether a plan needs a person: a resource it cannot act on, or something not observed.
pub fn needs_attention(p: &Plan) -> bool {
    !p.problems.is_empty() || p.items.iter().any(|i| i.verdict == Verdict::Blocked)
}

/// `1 thing`, `2 things`.
fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// `; attention needed: 1 resource blocked, 2 problems` — empty when there is nothing.
fn attention(blocked_or_failed: usize, problems: usize) -> String {
    let mut parts = Vec::new();
    if blocked_or_failed > 0 {
        parts.push(plural(blocked_or_failed, "resource"));
    }
    if problems > 0 {
        parts.push(plural(problems, "problem"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("; attention needed: {}", parts.join(", "))
    }
}

/// A pass report as a table.
pub fn pass(r: &EnvReport) -> String {
    let mut out = if r.problems.is_empty() {
        format!("{}: {}\n", r.env, r.summary)
    } else {
        format!(
            "{}: unknown — could not observe it (see the problems below); schedule: {}\n",
            r.env, r.summary
        )
    };
    let rows: Vec<Vec<String>> = r
        .items
        .iter()
        .map(|i| {
            let result = match &i.outcome {
                None => match i.item.verdict {
                    Verdict::Blocked => "BLOCKED".into(),
                    _ => "-".into(),
                },
                Some(Outcome::Done) => "done".into(),
                Some(Outcome::DryRun) => "dry run".into(),
                Some(Outcome::Failed(e)) => format!("FAILED: {e}"),
                Some(Outcome::NotRun(e)) => format!("NOT RUN: {e}"),
                Some(Outcome::Deferred(why)) => format!("deferred: {why}"),
            };
            vec![
                i.item.resource.to_string(),
                verdict_label(&i.item.verdict),
                result,
                i.item.reason.clone(),
            ]
        })
        .collect();
    out.push_str(&table(&["RESOURCE", "ACTION", "RESULT", "REASON"], &rows));
    for problem in &r.problems {
        let _ = writeln!(out, "problem: {problem}");
    }
    // The same counts as the exit status (EnvReport::failed).
    let deferred = if r.deferred() > 0 {
        format!(
            ", {} left for the next pass",
            plural(r.deferred(), "resource")
        )
    } else {
        String::new()
    };
    let problems = if r.problems.is_empty() {
        String::new()
    } else {
        format!(", {} (see above)", plural(r.problems.len(), "problem"))
    };
    let _ = writeln!(
        out,
        "{} made, {} failed{problems}{deferred}{}",
        plural(r.calls_made(), "write call"),
        plural(r.failures(), "resource"),
        if r.failed() { ": attention needed" } else { "" }
    );
    out
}

/// One environment's status: state, schedule, override, who acts, and each resource.
#[derive(Debug, Clone)]
pub struct StatusRow {
    /// The environment's name.
    pub env: String,
    /// Its time zone (times are shown in it).
    pub tz: chrono_tz::Tz,
    /// Awake, waking, asleep, going to sleep, unknown.
    pub state: State,
    /// What the plan would do now.
    pub plan: Plan,
    /// What was observed.
    pub observed: Observation,
    /// The active override.
    pub over: Option<Override>,
    /// The copy holding its lease (acting on it now), and until when.
    pub lease: Option<LeaseHolder>,
    /// When this was looked at.
    pub now: DateTime<Utc>,
    /// How far a transition under way has come (`None`: none is under way).
    pub progress: Option<crate::model::Progress>,
    /// When idle to sleep puts it to sleep if no request comes (`None`: not watched).
    pub idle: Option<(String, crate::idle::Upcoming)>,
}

impl StatusRow {
    /// A status row from a plan made at `now`.
    pub fn new(
        env: &Environment,
        plan: Plan,
        observed: Observation,
        over: Option<Override>,
        lease: Option<LeaseHolder>,
        now: DateTime<Utc>,
    ) -> StatusRow {
        StatusRow {
            env: env.name.clone(),
            tz: env.timezone,
            state: state_of(&plan, &observed),
            plan,
            observed,
            over,
            lease,
            now,
            progress: None,
            idle: None,
        }
    }

    /// With the idle sleep to come (`up`), said in `env`'s zone.
    pub fn with_idle(mut self, env: &Environment, up: Option<crate::idle::Upcoming>) -> StatusRow {
        self.idle = up.map(|u| (u.sentence(env, self.now), u));
        self
    }

    /// Says how far the transition has come when one is under way: the counts from this
    /// observation, and "continues in the next run" when the last pass that acted (`recorded`)
    /// stopped before the end and resources are still left.
    pub fn with_progress(mut self, recorded: Option<&crate::model::Progress>) -> StatusRow {
        if matches!(self.state, State::Waking | State::GoingToSleep) {
            let mut p = crate::engine::EnvReport::planned(self.plan.clone()).progress(self.now);
            let (done, total) = p.done_of();
            p.continues =
                done < total && recorded.is_some_and(|r| r.continues && r.waking == p.waking);
            self.progress = Some(p);
        }
        self
    }

    /// As a table with a header.
    pub fn table(&self) -> String {
        let p = &self.plan;
        let mut out = match self.state {
            State::Unknown => format!(
                "{}: unknown — could not observe it: {}\n  schedule: {}\n",
                p.env,
                p.problems.join("; "),
                p.summary
            ),
            state => format!("{}: {state} — {}\n", p.env, p.summary),
        };
        if let Some(progress) = &self.progress {
            let _ = writeln!(out, "  progress: {}", progress.sentence());
        }
        if let Some((sentence, _)) = &self.idle {
            let _ = writeln!(out, "  idle: {sentence}");
        }
        if let Some(l) = &self.lease {
            let _ = writeln!(
                out,
                "  acting now: {} holds its lease until {}",
                l.holder,
                local_label(l.until, self.tz, self.now)
            );
        }
        let rows: Vec<Vec<String>> = p
            .items
            .iter()
            .map(|i| {
                let desired = match i.verdict {
                    Verdict::InSync => "as it should be".to_string(),
                    Verdict::Act { .. } => if p.awake { "awake" } else { "asleep" }.to_string(),
                    Verdict::Wait => "waiting".into(),
                    Verdict::Skip => "skipped".into(),
                    Verdict::Refuse => "refused".into(),
                    Verdict::Blocked => "BLOCKED".into(),
                };
                vec![
                    i.resource.to_string(),
                    self.observed.describe(&i.resource),
                    desired,
                    i.reason.clone(),
                ]
            })
            .collect();
        out.push_str(&table(
            &["RESOURCE", "OBSERVED", "DESIRED", "REASON"],
            &rows,
        ));
        if self.state != State::Unknown {
            for problem in &p.problems {
                let _ = writeln!(out, "problem: {problem}");
            }
        }
        if let Some(t) = p.next_change {
            let _ = writeln!(
                out,
                "next change: {} ({})",
                local_label(t, self.tz, self.now),
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            );
        }
        out
    }

    /// As JSON.
    pub fn json(&self) -> serde_json::Value {
        let p = &self.plan;
        serde_json::json!({
            "env": p.env,
            "state": self.state,
            "awake": p.awake,
            "summary": p.summary,
            "next_change": p.next_change,
            "override": self.over,
            "unknown": (self.state == State::Unknown).then(|| serde_json::json!({
                "reason": p.problems.join("; "),
                "since": self.now,
            })),
            "lease": self.lease,
            "idle": self.idle.as_ref().map(|(sentence, u)| serde_json::json!({
                "sleeps_at": u.due,
                "quiet_since": u.quiet_since,
                "sentence": sentence,
            })),
            "progress": self.progress.as_ref().map(|p| serde_json::json!({
                "sentence": p.sentence(),
                "counts": p,
            })),
            "resources": p.items.iter().map(|i| serde_json::json!({
                "resource": i.resource.to_string(),
                "observed": self.observed.describe(&i.resource),
                "plan": i,
            })).collect::<Vec<_>>(),
            "problems": p.problems,
        })
    }
}
