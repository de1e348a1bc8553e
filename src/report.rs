//! Rendering plans, pass reports and status as readable tables.

use std::fmt::Write as _;

use crate::engine::{EnvReport, Outcome};
use crate::model::{Observation, ResourceId, Step};
use crate::plan::{Plan, Verdict};

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
        Verdict::Act { steps, .. } => steps.iter().map(short).collect::<Vec<_>>().join(" → "),
        Verdict::InSync => "-".into(),
        Verdict::Wait => "wait".into(),
        Verdict::Skip => "skip".into(),
        Verdict::Refuse => "REFUSED".into(),
        Verdict::Blocked => "BLOCKED".into(),
    }
}

/// A step in a word or two; the reason column says the rest.
fn short(step: &Step) -> String {
    match step {
        Step::TagService { .. } => "record".into(),
        Step::UntagService { .. } | Step::UntagDb { .. } => "untag".into(),
        Step::SetBounds { bounds, .. } => format!("bounds {}-{}", bounds.min, bounds.max),
        Step::SetDesiredCount { count, .. } => format!("count {count}"),
        Step::StopDb { .. } => "stop".into(),
        Step::StartDb { .. } => "start".into(),
        Step::TagDb { .. } => "tag slept-at".into(),
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
    let _ = writeln!(
        out,
        "{} write call{} planned",
        p.write_count(),
        if p.write_count() == 1 { "" } else { "s" }
    );
    out
}

/// A pass report as a table.
pub fn pass(r: &EnvReport) -> String {
    let mut out = format!("{}: {}\n", r.env, r.summary);
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
                Some(Outcome::Deferred) => "deferred: out of time, next pass".into(),
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
    let failed = r
        .items
        .iter()
        .filter(|i| {
            matches!(i.outcome, Some(Outcome::Failed(_) | Outcome::NotRun(_)))
                || i.item.verdict == Verdict::Blocked
        })
        .count();
    let _ = writeln!(
        out,
        "{} write call{} made, {failed} resource{} failed",
        r.calls_made(),
        if r.calls_made() == 1 { "" } else { "s" },
        if failed == 1 { "" } else { "s" }
    );
    out
}

/// What a resource looks like now, in a few words.
pub fn observed(obs: &Observation, id: &ResourceId) -> String {
    match id {
        ResourceId::EcsService(n) => obs
            .services
            .iter()
            .find(|s| &s.name == n)
            .map(|s| {
                let mut d = format!("{}/{} tasks", s.running, s.desired);
                if let Some(b) = s.scalable {
                    let _ = write!(d, ", autoscaling {}-{}", b.min, b.max);
                }
                if let Some(c) = s.tags.get(crate::model::tags::DESIRED_COUNT) {
                    let _ = write!(d, ", sleeping (recorded {c})");
                }
                d
            })
            .unwrap_or_else(|| "not found".into()),
        ResourceId::DbInstance(x) | ResourceId::DbCluster(x) => obs
            .databases
            .iter()
            .find(|d| &d.id == x && d.resource_id() == *id)
            .map(|d| format!("{} ({})", d.status, d.engine))
            .unwrap_or_else(|| "not found".into()),
    }
}

/// Status: each resource's observed state, what the schedule wants, and the next change.
pub fn status(p: &Plan, obs: &Observation) -> String {
    let mut out = format!("{}: {}\n", p.env, p.summary);
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
                observed(obs, &i.resource),
                desired,
                i.reason.clone(),
            ]
        })
        .collect();
    out.push_str(&table(
        &["RESOURCE", "OBSERVED", "DESIRED", "REASON"],
        &rows,
    ));
    for problem in &p.problems {
        let _ = writeln!(out, "problem: {problem}");
    }
    out
}

/// `AWS requests: 16 (DescribeServices 2, ListServices 2, ...)`.
pub fn requests(counts: &std::collections::BTreeMap<String, u64>) -> String {
    let total: u64 = counts.values().sum();
    let list: Vec<String> = counts.iter().map(|(op, n)| format!("{op} {n}")).collect();
    format!("AWS requests: {total} ({})", list.join(", "))
}

/// `staging 2026-11-28: slack ok, email FAILED (...); Cost Explorer requests: 2; 412 ms`.
pub fn digest(r: &crate::digest::RunReport) -> String {
    let mut parts: Vec<String> = r
        .sent
        .iter()
        .map(|(c, res)| match res {
            Ok(()) => format!("{c} ok"),
            Err(e) => format!("{c} FAILED ({e})"),
        })
        .collect();
    if !r.already_sent.is_empty() {
        parts.push(format!(
            "already sent to {} (use --force to send again)",
            r.already_sent.join(", ")
        ));
    }
    let ce: u64 = ["GetCostAndUsage", "GetCostForecast"]
        .iter()
        .filter_map(|op| r.requests.get(*op))
        .sum();
    format!(
        "{} {}: {}; Cost Explorer requests: {ce}; {}; {} ms",
        r.env,
        r.day,
        if parts.is_empty() {
            "nothing to send".to_string()
        } else {
            parts.join(", ")
        },
        requests(&r.requests),
        r.millis
    )
}
