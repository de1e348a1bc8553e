//! The digest in words, for each channel: Markdown (stdout, README), Slack Block Kit, plain
//! text (SNS, the email's text part) and HTML email with the chart inline.
//!
//! Every channel renders the same [`Doc`]: a title, alerts that come first (failed actions,
//! failed deliveries), a one-line summary, and sections of short lines. Only the markup
//! differs, and all text that comes from outside (reasons, names, AWS messages) is escaped
//! for the channel.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use super::chart::{chart_png, sparkline_days};
use super::figures::{Digest, HealthSection, Status, Verdict, month_start};
use super::input::Money;
use crate::model::{Action, Outcome};

/// Slack: at most this many blocks in a message.
pub const SLACK_MAX_BLOCKS: usize = 50;
/// Slack: at most this many characters in a section's text.
pub const SLACK_MAX_SECTION: usize = 3000;
/// Slack: at most this many characters in a header.
const SLACK_MAX_HEADER: usize = 150;
/// Missing days listed by date before "… and N more".
const MAX_DATES: usize = 5;

/// A piece of a line: plain text, or text to stress.
#[derive(Debug, Clone, PartialEq)]
enum Span {
    Text(String),
    Strong(String),
}

/// A line of words.
#[derive(Debug, Clone, Default, PartialEq)]
struct Line(Vec<Span>);

impl Line {
    fn text(mut self, s: impl Into<String>) -> Line {
        self.0.push(Span::Text(s.into()));
        self
    }
    fn strong(mut self, s: impl Into<String>) -> Line {
        self.0.push(Span::Strong(s.into()));
        self
    }
    fn plain(&self) -> String {
        self.0
            .iter()
            .map(|s| match s {
                Span::Text(t) | Span::Strong(t) => t.as_str(),
            })
            .collect()
    }
}

fn t(s: impl Into<String>) -> Line {
    Line::default().text(s)
}

/// One section: a title, its lines, and a note in small print (the method, the source).
#[derive(Debug, Clone, PartialEq)]
struct Section {
    title: String,
    lines: Vec<Line>,
    note: Option<String>,
}

/// The digest in words, before markup.
#[derive(Debug, Clone, PartialEq)]
struct Doc {
    title: String,
    alerts: Vec<Line>,
    summary: Line,
    sparkline: Option<String>,
    sections: Vec<Section>,
    footer: String,
}

/// The email to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Email {
    /// Subject line.
    pub subject: String,
    /// HTML part; shows the chart as `<img src="cid:{chart_cid}">`.
    pub html: String,
    /// Plain-text part.
    pub text: String,
    /// The chart to attach inline, if there is spend to draw.
    pub chart_png: Option<Vec<u8>>,
    /// Content-ID of the chart attachment (without angle brackets).
    pub chart_cid: String,
}

// ---------------------------------------------------------------------------------------------
// Words

fn long_date(d: NaiveDate) -> String {
    d.format("%a %-d %b %Y").to_string()
}

fn short_date(d: NaiveDate) -> String {
    d.format("%a %-d %b").to_string()
}

fn local(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .format("%a %-d %b %H:%M %Z")
        .to_string()
}

fn hm(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%H:%M %Z").to_string()
}

fn signed(m: Money) -> String {
    if m.cents() > 0 {
        format!("+{m}")
    } else {
        m.to_string()
    }
}

/// An hourly price to the micro-dollar, trailing zeros cut: `$0.04937`, `$0.018`.
fn price(m: Money) -> String {
    let sign = if m.0 < 0 { "-" } else { "" };
    let (d, f) = (m.0.abs() / 1_000_000, m.0.abs() % 1_000_000);
    let frac = format!("{f:06}");
    let frac = frac.trim_end_matches('0');
    let frac = if frac.len() < 2 {
        format!("{frac:0<2}")
    } else {
        frac.to_string()
    };
    format!("{sign}${d}.{frac}")
}

/// `21h`, `3h 30m`, `45m`, `0m`.
fn hours(secs: i64) -> String {
    let (h, m) = (secs / 3600, secs % 3600 / 60);
    match (h, m) {
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h {m}m"),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Dates, the first few by name.
fn dates(ds: &[NaiveDate]) -> String {
    let mut out: Vec<String> = ds.iter().take(MAX_DATES).map(ToString::to_string).collect();
    if ds.len() > MAX_DATES {
        out.push(format!("… and {} more", ds.len() - MAX_DATES));
    }
    out.join(", ")
}

/// The steps of an action that say what happened (`StopDBCluster`), without the tag steps.
/// The calls of an action that change something (tag calls left out), for people.
fn main_steps(action: &Action) -> String {
    let planned = action.planned_steps();
    let steps: Vec<&str> = planned
        .iter()
        .copied()
        .filter(|s| !s.starts_with("tag ") && !s.starts_with("untag "))
        .collect();
    if steps.is_empty() {
        action.to_string()
    } else {
        steps.join("; ")
    }
}

fn verdict(d: &Digest) -> String {
    let h = &d.health;
    let mut v = match h.verdict {
        Verdict::Healthy => "healthy".to_string(),
        Verdict::Asleep => "asleep".to_string(),
        Verdict::Problems => plural(h.problems, "problem", "problems"),
    };
    if h.verdict == Verdict::Problems
        && d.health.sections.iter().any(|s| {
            s.lines
                .as_ref()
                .is_ok_and(|l| l.iter().any(|l| l.status == Status::Asleep))
        })
    {
        v.push_str(" (asleep)");
    }
    if h.unknown > 0 {
        v.push_str(&format!(
            ", {} not read",
            plural(h.unknown, "check", "checks")
        ));
    }
    v
}

fn doc(d: &Digest) -> Doc {
    let tz = d.timezone;
    let mut alerts = Vec::new();
    for f in &d.failures {
        let what = if f.resource.is_empty() {
            d.env.clone()
        } else {
            f.resource.clone()
        };
        alerts.push(
            Line::default()
                .strong(format!("⚠ Failed: {what} {}", main_steps(&f.action)))
                .text(format!(
                    " at {} ({}): {}",
                    local(f.at, tz),
                    f.actor,
                    match &f.outcome {
                        Outcome::Failed(e) | Outcome::NotRun(e) | Outcome::Partial(e) => e.clone(),
                        Outcome::Ok => "ok".to_string(),
                    }
                )),
        );
    }
    for p in &d.delivery_problems {
        alerts.push(t(format!("⚠ The previous digest could not be sent to {p}")));
    }

    // Summary.
    let mut summary = Line::default().text("Health: ").strong(verdict(d));
    if let Ok(s) = &d.spend {
        summary = summary.text(format!(" · {}: ", short_date(d.day)));
        summary = match s.day_total {
            Some(m) => summary.strong(m.to_string()).text(if s.day_estimated {
                " (estimated)"
            } else {
                ""
            }),
            None => summary.text("no data"),
        };
        summary = summary
            .text(" · Month to date: ")
            .strong(s.month_to_date.to_string());
        if let (Ok((b, _)), Some(p)) = (&d.budget.budget, d.budget.spent_pct) {
            summary = summary.text(format!(
                " of {b} ({p:.0}% at {:.0}% of the month)",
                d.budget.month_pct
            ));
        }
    }
    summary = summary
        .text(" · Saved: ")
        .strong(d.savings.day.to_string())
        .text(format!(" on {}, ", d.day.format("%-d %b")))
        .strong(d.savings.month.to_string())
        .text(" this month");

    let mut sections = vec![
        spend_section(d),
        budget_section(d),
        savings_section(d),
        wakes_section(d),
        health_section(d),
    ];
    sections.retain(|s| !s.lines.is_empty());
    let sparkline = d.chart.has_data().then(|| {
        let through: Vec<_> = d
            .chart
            .days
            .iter()
            .take(d.chart.through as usize)
            .map(|(_, m)| *m)
            .collect();
        sparkline_days(&through)
    });
    Doc {
        title: format!("{} — digest for {}", d.env, long_date(d.day)),
        alerts,
        summary,
        sparkline,
        sections,
        footer: format!(
            "Made by lightsout at {} for the local day {} ({}).",
            local(d.generated_at, tz),
            d.day,
            tz.name()
        ),
    }
}

fn spend_section(d: &Digest) -> Section {
    let mut lines = Vec::new();
    let note;
    match &d.spend {
        Err(why) => {
            lines.push(t(format!("No spend figures: {why}.")));
            note = None;
        }
        Ok(s) => {
            let mut l = t(format!("{}: ", short_date(d.day)));
            match s.day_total {
                Some(m) => {
                    l = l.strong(m.to_string());
                    if s.day_estimated {
                        l = l.text(" (estimated)");
                    }
                    l = match (s.change, s.previous_total) {
                        (Some(c), Some(p)) => {
                            let pct = s
                                .change_pct
                                .map(|p| format!(" ({p:+.1}%)"))
                                .unwrap_or_default();
                            l.text(format!(
                                ", {}{pct} on {} ({p})",
                                signed(c),
                                short_date(s.previous_day)
                            ))
                        }
                        _ => l.text(format!(
                            "; no Cost Explorer data for {} to compare with",
                            s.previous_day
                        )),
                    };
                }
                None => l = l.text(format!("no Cost Explorer data for {}", d.day)),
            }
            lines.push(l);
            let first = month_start(d.day);
            let mut l = t(format!(
                "Month to date ({}–{} {}): ",
                first.day(),
                d.day.day(),
                d.day.format("%b")
            ))
            .strong(s.month_to_date.to_string());
            if s.month_estimated {
                l = l.text(" (some days estimated)");
            }
            l = l.text(format!(
                "; same days of {} ({}–{}): {}",
                s.last_month_from.format("%B"),
                s.last_month_from.day(),
                s.last_month_to.day(),
                s.last_month
            ));
            if let Some(p) = s.vs_last_month_pct {
                l = l.text(format!(" ({p:+.1}%)"));
            }
            lines.push(l);
            if !s.month_missing.is_empty() {
                lines.push(t(format!(
                    "⚠ No Cost Explorer data for {}: not counted in the month to date.",
                    dates(&s.month_missing)
                )));
            }
            if !s.last_month_missing.is_empty() {
                lines.push(t(format!(
                    "No Cost Explorer data for {} of last month: not counted.",
                    dates(&s.last_month_missing)
                )));
            }
            if !s.top_services.is_empty() {
                let mut parts: Vec<String> = s
                    .top_services
                    .iter()
                    .map(|(n, m)| format!("{n} {m}"))
                    .collect();
                if let Some((n, m)) = s.other {
                    parts.push(format!("Other ({n}) {m}"));
                }
                lines.push(t(format!("Top services this month: {}", parts.join(" · "))));
            }
            note = Some(format!(
                "Cost Explorer, {}; Cost Explorer days are UTC days.",
                if s.filter.is_empty() {
                    "unfiltered"
                } else {
                    &s.filter
                }
            ));
        }
    }
    Section {
        title: "Spend".into(),
        lines,
        note,
    }
}

fn budget_section(d: &Digest) -> Section {
    let b = &d.budget;
    let mut lines = Vec::new();
    match &b.budget {
        Ok((amount, source)) => {
            let mut l = t(format!("{amount} a month ({source})"));
            if let Some(p) = b.spent_pct {
                l = l
                    .text(": ")
                    .strong(format!("{p:.0}% of budget"))
                    .text(" at ")
                    .strong(format!("{:.0}% of the month", b.month_pct))
                    .text(format!(" (day {} of {})", b.days.0, b.days.1));
            }
            lines.push(l.text("."));
        }
        Err(why) => lines.push(t(format!("No budget: {why}."))),
    }
    match &b.projection {
        Ok(p) => {
            let mut l = t("Projected month end: ")
                .strong(p.month_end.to_string())
                .text(format!(" ({})", p.method));
            if let (Ok((amount, _)), None) = (&b.budget, b.over_by) {
                l = l.text(format!(", {} under budget", *amount - p.month_end));
            }
            lines.push(l.text("."));
            if let Some(why) = &p.forecast_unavailable {
                lines.push(t(format!("Cost Explorer's forecast was not used: {why}.")));
            }
            if let (Ok((amount, _)), Some(over)) = (&b.budget, b.over_by) {
                lines.push(Line::default().strong(format!(
                    "⚠ projected {} exceeds the {amount} budget by {over}",
                    p.month_end
                )));
            }
        }
        Err(why) => lines.push(t(format!("No projection: {why}."))),
    }
    Section {
        title: "Budget".into(),
        lines,
        note: None,
    }
}

fn savings_section(d: &Digest) -> Section {
    let s = &d.savings;
    let mut lines = Vec::new();
    if s.resources.is_empty() {
        lines.push(t("Nothing could be priced, so no savings are shown."));
    } else {
        lines.push(
            t("Saved ")
                .strong(s.day.to_string())
                .text(format!(" on {} and ", short_date(d.day)))
                .strong(s.month.to_string())
                .text(format!(
                    " this month (1–{} {}).",
                    d.day.day(),
                    d.day.format("%b")
                )),
        );
        for r in &s.resources {
            lines.push(t(format!(
                "{}: asleep {} on {}, {} this month × {}/h = {}",
                r.resource,
                hours(r.asleep_day_secs),
                d.day.format("%-d %b"),
                hours(r.asleep_month_secs),
                price(r.hourly),
                r.saved_month
            )));
        }
    }
    if !s.unpriced.is_empty() {
        let list: Vec<String> = s
            .unpriced
            .iter()
            .map(|(r, why)| format!("{r}: {why}"))
            .collect();
        lines.push(t(format!(
            "⚠ {} not priced (not in the totals): {}",
            plural(s.unpriced.len(), "resource", "resources"),
            list.join("; ")
        )));
    }
    Section {
        title: "Savings".into(),
        lines,
        note: Some(s.method.clone()),
    }
}

fn wakes_section(d: &Digest) -> Section {
    let tz = d.timezone;
    let mut lines = Vec::new();
    if d.wakes.is_empty() {
        lines.push(t(format!("No wake requests on {}.", short_date(d.day))));
    }
    for w in &d.wakes {
        let end = w.ended_early.or(w.until);
        let when = match end {
            Some(e) => format!("{}–{}", w.at.with_timezone(&tz).format("%H:%M"), hm(e, tz)),
            None => hm(w.at, tz),
        };
        let mut l = t(format!("{when} · {} · ", w.actor));
        let reason = if w.reason.is_empty() {
            "no reason given".to_string()
        } else {
            format!("“{}”", w.reason)
        };
        l = l.text(format!("{reason} · {}", w.asked));
        if w.awake_secs > 0 || w.notes.is_empty() {
            l = l.text(format!(" ({})", {
                let mut how = format!(
                    "{} awake, {} out of hours",
                    hours(w.awake_secs),
                    hours(w.outside_secs)
                );
                if let Some(e) = w.ended_early {
                    how.push_str(&format!(", ended early by a sleep at {}", hm(e, tz)));
                }
                how
            }));
        }
        l = match &w.cost {
            Ok(m) => l.text(" · ").strong(m.to_string()),
            Err(why) => l.text(format!(" · cost unknown: {why}")),
        };
        for n in &w.notes {
            l = l.text(format!("; {n}"));
        }
        lines.push(l);
    }
    Section {
        title: "Out-of-hours use".into(),
        lines,
        note: (!d.wakes.is_empty()).then(|| {
            "Cost = time awake outside the schedule's windows × the hourly price of the environment's priced resources.".to_string()
        }),
    }
}

fn health_line(s: &HealthSection) -> Line {
    match &s.lines {
        Err(why) => t(format!("{}: could not be read: {why}", s.title)),
        Ok(lines) if lines.is_empty() => t(format!(
            "{}: {}",
            s.title,
            if s.title == "Alarms" {
                "none in ALARM"
            } else {
                "none"
            }
        )),
        Ok(lines) => {
            let parts: Vec<String> = lines
                .iter()
                .map(|l| {
                    let mark = if l.status == Status::Problem {
                        "⚠ "
                    } else {
                        ""
                    };
                    format!("{mark}{} {}", l.subject, l.text)
                })
                .collect();
            t(format!("{}: {}", s.title, parts.join("; ")))
        }
    }
}

fn health_section(d: &Digest) -> Section {
    Section {
        title: format!("Health: {}", verdict(d)),
        lines: d.health.sections.iter().map(health_line).collect(),
        note: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Markdown

fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '*' | '_' | '`' | '[' | ']' | '<' | '>' | '#' | '|'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn md_line(l: &Line) -> String {
    l.0.iter()
        .map(|s| match s {
            Span::Text(t) => md_escape(t),
            Span::Strong(t) => format!("**{}**", md_escape(t)),
        })
        .collect()
}

/// The digest as Markdown (stdout, the README sample).
pub fn markdown(d: &Digest) -> String {
    let doc = doc(d);
    let mut out = format!("# {}\n\n", md_escape(&doc.title));
    for a in &doc.alerts {
        out.push_str(&format!("> {}\n>\n", md_line(a)));
    }
    if !doc.alerts.is_empty() {
        out.truncate(out.len() - 2);
        out.push('\n');
    }
    out.push_str(&md_line(&doc.summary));
    out.push_str("\n\n");
    if let Some(s) = &doc.sparkline {
        out.push_str(&format!("Daily spend this month: `{s}`\n\n"));
    }
    for s in &doc.sections {
        out.push_str(&format!("## {}\n\n", md_escape(&s.title)));
        for l in &s.lines {
            out.push_str(&format!("- {}\n", md_line(l)));
        }
        if let Some(n) = &s.note {
            out.push_str(&format!("\n_{}_\n", md_escape(n)));
        }
        out.push('\n');
    }
    out.push_str(&format!("_{}_\n", md_escape(&doc.footer)));
    out
}

// ---------------------------------------------------------------------------------------------
// Plain text

/// The digest as plain text (SNS, the email's text part).
pub fn plain_text(d: &Digest) -> String {
    let doc = doc(d);
    let mut out = format!(
        "{}\n{}\n\n",
        doc.title,
        "=".repeat(doc.title.chars().count())
    );
    for a in &doc.alerts {
        out.push_str(&format!("{}\n", a.plain()));
    }
    if !doc.alerts.is_empty() {
        out.push('\n');
    }
    out.push_str(&format!("{}\n", doc.summary.plain()));
    if let Some(s) = &doc.sparkline {
        out.push_str(&format!("Daily spend this month: {s}\n"));
    }
    for s in &doc.sections {
        out.push_str(&format!("\n{}\n", s.title));
        for l in &s.lines {
            out.push_str(&format!("  - {}\n", l.plain()));
        }
        if let Some(n) = &s.note {
            out.push_str(&format!("  ({n})\n"));
        }
    }
    out.push_str(&format!("\n{}\n", doc.footer));
    out
}

// ---------------------------------------------------------------------------------------------
// Slack

fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn slack_line(l: &Line) -> String {
    l.0.iter()
        .map(|s| match s {
            Span::Text(t) => slack_escape(t),
            // A `*` inside would end the bold early.
            Span::Strong(t) => format!("*{}*", slack_escape(&t.replace('*', ""))),
        })
        .collect()
}

/// Text for one section block: lines are added while they fit within `max` characters, then
/// "… and N more" for the rest. A single line too long for a block is cut with "…".
fn fit(head: &str, lines: &[String], max: usize) -> String {
    let mut out = head.to_string();
    for (i, l) in lines.iter().enumerate() {
        let sep = if out.is_empty() { "" } else { "\n" };
        let rest = lines.len() - i - 1;
        let tail = if rest > 0 {
            format!("\n… and {rest} more").chars().count()
        } else {
            0
        };
        let used = out.chars().count() + sep.len();
        let room = max.saturating_sub(used + tail);
        let l = if i == 0 && l.chars().count() > room {
            truncate_chars(l, room.max(2))
        } else {
            l.clone()
        };
        if l.chars().count() > room {
            out.push_str(sep);
            out.push_str(&format!("… and {} more", lines.len() - i));
            return out;
        }
        out.push_str(sep);
        out.push_str(&l);
    }
    out
}

fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max - 1).collect();
        out.push('…');
        out
    }
}

fn fallback(d: &Digest) -> String {
    let doc = doc(d);
    let mut parts = vec![format!("{}:", doc.title)];
    if !d.failures.is_empty() {
        parts.push(format!(
            "{} failed;",
            plural(d.failures.len(), "action", "actions")
        ));
    }
    parts.push(doc.summary.plain());
    parts.join(" ")
}

/// The full Slack incoming-webhook payload: `{"text": fallback, "blocks": [...]}`, within
/// Block Kit's limits (at most 50 blocks, section text at most 3000 characters).
pub fn slack(d: &Digest) -> Value {
    let doc = doc(d);
    let section =
        |text: String| json!({"type": "section", "text": {"type": "mrkdwn", "text": text}});
    let context = |text: String| json!({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate_chars(&text, 2000)}]});
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": truncate_chars(&doc.title, SLACK_MAX_HEADER), "emoji": true}
    })];
    if !doc.alerts.is_empty() {
        let lines: Vec<String> = doc.alerts.iter().map(slack_line).collect();
        blocks.push(section(fit("", &lines, SLACK_MAX_SECTION)));
    }
    let mut summary = slack_line(&doc.summary);
    if let Some(s) = &doc.sparkline {
        summary.push_str(&format!("\nDaily spend this month: `{s}`"));
    }
    blocks.push(section(truncate_chars(&summary, SLACK_MAX_SECTION)));
    for s in &doc.sections {
        blocks.push(json!({"type": "divider"}));
        let lines: Vec<String> = s
            .lines
            .iter()
            .map(|l| format!("• {}", slack_line(l)))
            .collect();
        let head = format!("*{}*", slack_escape(&s.title));
        blocks.push(section(fit(&head, &lines, SLACK_MAX_SECTION)));
        if let Some(n) = &s.note {
            blocks.push(context(slack_escape(n)));
        }
    }
    blocks.push(context(slack_escape(&doc.footer)));
    if blocks.len() > SLACK_MAX_BLOCKS {
        let dropped = blocks.len() - (SLACK_MAX_BLOCKS - 1);
        blocks.truncate(SLACK_MAX_BLOCKS - 1);
        blocks.push(context(format!("… and {dropped} more")));
    }
    json!({"text": truncate_chars(&fallback(d), SLACK_MAX_SECTION), "blocks": blocks})
}

// ---------------------------------------------------------------------------------------------
// Email

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html_line(l: &Line) -> String {
    l.0.iter()
        .map(|s| match s {
            Span::Text(t) => html_escape(t),
            Span::Strong(t) => format!("<strong>{}</strong>", html_escape(t)),
        })
        .collect()
}

const FONT: &str = "font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#222;";

/// The email: subject, HTML with the chart inline (`cid:`), a plain-text part.
pub fn email(d: &Digest) -> Email {
    let doc = doc(d);
    let chart = chart_png(d);
    let cid = format!("digest-chart-{}-{}@lightsout", d.env, d.day);
    let mut subject = format!("{}: {}", doc.title, verdict(d));
    if !d.failures.is_empty() {
        subject = format!(
            "⚠ {}: {}",
            plural(d.failures.len(), "failed action", "failed actions"),
            subject
        );
    }
    if let Ok(s) = &d.spend {
        subject.push_str(&format!(", {} month to date", s.month_to_date));
    }
    if d.budget.over_by.is_some() {
        subject.push_str(", over budget");
    }
    let mut h = format!(
        "<!DOCTYPE html>\n<html><body style=\"margin:0;padding:16px;{FONT}font-size:14px;line-height:1.45;\">\n<div style=\"max-width:640px;\">\n<h1 style=\"font-size:20px;margin:0 0 12px;\">{}</h1>\n",
        html_escape(&doc.title)
    );
    for a in &doc.alerts {
        h.push_str(&format!(
            "<p style=\"margin:0 0 8px;padding:8px 10px;background:#fdecea;border-left:4px solid #e45756;\">{}</p>\n",
            html_line(a)
        ));
    }
    h.push_str(&format!(
        "<p style=\"margin:12px 0;\">{}</p>\n",
        html_line(&doc.summary)
    ));
    if chart.is_some() {
        let first = month_start(d.day);
        let last = d.chart.days.last().map_or(d.day, |(day, _)| *day);
        let top = d
            .chart
            .days
            .iter()
            .filter_map(|(_, m)| *m)
            .max()
            .unwrap_or(Money::ZERO);
        let pace = match d.chart.daily_pace {
            Some(p) => format!(
                "; dashed line: budget pace {p} a day; <span style=\"color:#e45756;\">red</span> days are over it"
            ),
            None => "; no budget, so no pace line".to_string(),
        };
        h.push_str(&format!(
            "<p style=\"margin:12px 0 4px;font-size:12px;color:#555;\">Daily spend, {} to {} (highest day {top}){pace}; grey: no data.</p>\n\
<img src=\"cid:{cid}\" width=\"600\" height=\"200\" alt=\"Daily spend this month against the budget pace\" style=\"display:block;border:1px solid #ddd;\">\n\
<table role=\"presentation\" width=\"600\" style=\"font-size:11px;color:#777;border-collapse:collapse;\"><tr><td style=\"text-align:left;\">{}</td><td style=\"text-align:right;\">{}</td></tr></table>\n",
            first.format("%-d %b"),
            last.format("%-d %b"),
            first.format("%-d %b"),
            last.format("%-d %b"),
        ));
    }
    for s in &doc.sections {
        h.push_str(&format!(
            "<h2 style=\"font-size:16px;margin:18px 0 6px;border-bottom:1px solid #eee;\">{}</h2>\n<ul style=\"margin:0;padding-left:20px;\">\n",
            html_escape(&s.title)
        ));
        for l in &s.lines {
            h.push_str(&format!(
                "<li style=\"margin:2px 0;\">{}</li>\n",
                html_line(l)
            ));
        }
        h.push_str("</ul>\n");
        if let Some(n) = &s.note {
            h.push_str(&format!(
                "<p style=\"margin:4px 0 0;font-size:12px;color:#666;\">{}</p>\n",
                html_escape(n)
            ));
        }
    }
    h.push_str(&format!(
        "<p style=\"margin:18px 0 0;font-size:12px;color:#888;\">{}</p>\n</div>\n</body></html>\n",
        html_escape(&doc.footer)
    ));
    Email {
        subject,
        html: h,
        text: plain_text(d),
        chart_png: chart,
        chart_cid: cid,
    }
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
