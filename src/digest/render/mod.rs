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

/// An hourly price, exact, trailing zeros cut: `$0.04937`, `$0.018`, `$1.00`.
fn price(m: Money) -> String {
    let sign = if m.0 < 0 { "-" } else { "" };
    let (d, f) = (m.0.abs() / 1_000_000_000, m.0.abs() % 1_000_000_000);
    let frac = format!("{f:09}");
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

/// `Sat 28 Nov (UTC)`: a billing day, named as such.
fn billing_day(d: NaiveDate) -> String {
    format!("{} (UTC)", short_date(d))
}

/// The money headline, in one line: the day, the month against the budget, the projection
/// and whether it goes over, then what sleeping saved, then health. Slack's notification text
/// and the email subject begin with it.
fn headline(d: &Digest) -> Line {
    let mut l = Line::default();
    match &d.spend {
        Ok(s) => {
            l = l.text(format!("{}: ", billing_day(d.day)));
            l = match s.day_total {
                Some(m) => {
                    l.strong(m.to_string())
                        .text(if s.day_estimated { " (estimated)" } else { "" })
                }
                None => l.text("no cost data"),
            };
            l = l
                .text(format!(" · {} to date: ", d.day.format("%B")))
                .strong(s.month_to_date.to_string());
            if let (Ok((b, _)), Some(p)) = (&d.budget.budget, d.budget.spent_pct) {
                l = l.text(format!(
                    " of {b} ({p:.0}% at {:.0}% of the month)",
                    d.budget.month_pct
                ));
            }
            if let Ok(p) = &d.budget.projection {
                l = l.text(" · Projected: ").strong(p.month_end.to_string());
                if let Some(over) = d.budget.over_by {
                    l = l.strong(format!(", ⚠ {over} over budget"));
                }
            }
        }
        Err(why) => {
            l = l
                .strong("No cost data")
                .text(format!(": {}", first_clause(why)));
        }
    }
    // Nothing priced is no figure, not $0.00 saved.
    if !d.savings.resources.is_empty() {
        l = l
            .text(" · Saved: ")
            .strong(d.savings.month.to_string())
            .text(" this month (list prices)");
    }
    l.text(format!(" · Health: {}", verdict(d)))
}

/// The first clause of a reason, for a one-line headline.
fn first_clause(s: &str) -> String {
    s.split(": ").next().unwrap_or(s).to_string()
}

/// Slack's notification text (what a phone shows): money first, over budget said first.
pub(super) fn notification(d: &Digest) -> String {
    let mut parts = Vec::new();
    if let (Some(over), Ok(p)) = (d.budget.over_by, &d.budget.projection) {
        parts.push(format!(
            "⚠ {} over budget: projected {}, {over} over.",
            d.env, p.month_end
        ));
    }
    parts.push(format!("{}:", d.env));
    parts.push(headline(d).plain());
    if !d.failures.is_empty() {
        parts.push(format!(
            "· {} failed",
            plural(d.failures.len(), "action", "actions")
        ));
    }
    parts.join(" ")
}

fn doc(d: &Digest) -> Doc {
    let tz = d.timezone;
    let mut sections = vec![
        spend_section(d),
        budget_section(d),
        savings_section(d),
        always_on_section(d),
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
            .map(|day| day.spend)
            .collect();
        sparkline_days(&through)
    });
    Doc {
        title: format!(
            "{} — digest for {} (UTC billing day)",
            d.env,
            long_date(d.day)
        ),
        alerts: Vec::new(),
        summary: headline(d),
        sparkline,
        sections,
        footer: format!(
            "Made by lightsout at {} ({}). Money is counted in UTC billing days, as AWS bills and budgets count them; times are local.",
            local(d.generated_at, tz),
            tz.name()
        ),
    }
}

fn spend_section(d: &Digest) -> Section {
    let tz = d.timezone;
    let mut lines = Vec::new();
    let note;
    match &d.spend {
        Err(why) => {
            lines.push(t(format!("No cost data: {why}.")));
            note = None;
        }
        Ok(s) => {
            let mut l = t(format!("{}: ", billing_day(d.day)));
            match s.day_total {
                Some(m) => {
                    l = l.strong(m.to_string());
                    if s.day_estimated {
                        l = l.text(" (estimated)");
                    }
                    l = match (s.change, s.week_before_total) {
                        (Some(c), Some(p)) => {
                            let pct = s
                                .change_pct
                                .map(|p| format!(", {p:+.1}%"))
                                .unwrap_or_default();
                            l.text(format!(
                                "; {} a week before: {p} ({}{pct})",
                                short_date(s.week_before),
                                signed(c)
                            ))
                        }
                        _ => l.text(format!(
                            "; no figure for {} a week before to compare with",
                            short_date(s.week_before)
                        )),
                    };
                }
                None => l = l.text("no cost data for this day"),
            }
            lines.push(l);
            if !s.day_by_service.is_empty() {
                let mut parts: Vec<String> = s
                    .day_by_service
                    .iter()
                    .map(|(n, m)| format!("{n} {m}"))
                    .collect();
                if let Some((n, m)) = s.day_other {
                    parts.push(format!("Other ({n}) {m}"));
                }
                lines.push(t(format!(
                    "By service on {}: {}",
                    d.day.format("%-d %b"),
                    parts.join(" · ")
                )));
            }
            if !s.movers.is_empty() {
                let parts: Vec<String> = s
                    .movers
                    .iter()
                    .map(|m| {
                        format!(
                            "{} {} ({} → {})",
                            m.service,
                            signed(m.change),
                            m.week_before,
                            m.day
                        )
                    })
                    .collect();
                lines.push(t(format!(
                    "Moved most since {}: {}",
                    short_date(s.week_before),
                    parts.join(" · ")
                )));
            }
            let first = month_start(d.day);
            let mut l = t(format!(
                "{} to date ({}–{} {}): ",
                d.day.format("%B"),
                first.day(),
                d.day.day(),
                d.day.format("%b")
            ))
            .strong(s.month_to_date.to_string());
            if s.month_estimated {
                l = l.text(" (some days estimated)");
            }
            l = l.text(format!(
                "; the same weekdays {} weeks before ({}–{}): {}",
                s.compare_weeks,
                s.compare_from.format("%-d %b"),
                s.compare_to.format("%-d %b"),
                s.compare_total
            ));
            if let Some(p) = s.vs_compare_pct {
                l = l.text(format!(" ({p:+.1}%)"));
            }
            if !s.compare_missing.is_empty() {
                // A partial sum is said as such, and not compared.
                l = l.text(format!(
                    " (no figures for {}, so not compared)",
                    dates(&s.compare_missing)
                ));
            }
            lines.push(l);
            let lm = &s.last_month;
            if lm.missing.len() < crate::calendar::days_in_month(lm.first) as usize {
                let mut l = t(format!("{}, the whole month: ", lm.first.format("%B")))
                    .strong(lm.total.to_string());
                l = l.text(if lm.estimated {
                    " (estimated: its bill is not final yet)"
                } else {
                    " (final)"
                });
                if !lm.missing.is_empty() {
                    l = l.text(format!(
                        "; no figures for {}, not counted",
                        dates(&lm.missing)
                    ));
                }
                lines.push(l);
            }
            if !s.month_missing.is_empty() {
                lines.push(t(format!(
                    "⚠ No cost data for {}: not counted in the month to date.",
                    dates(&s.month_missing)
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
            let f = &s.freshness;
            let mut fresh = match f.newest {
                Some(n) => format!("Cost Explorer figures through {}", billing_day(n)),
                None => "No Cost Explorer figures".to_string(),
            };
            if !f.no_data_yet.is_empty() {
                fresh.push_str(&format!(
                    "; nothing yet for {} (a day's figures usually arrive within 24 hours)",
                    f.no_data_yet
                        .iter()
                        .map(|d| d.format("%-d %b").to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            fresh.push_str(&if f.requests == 0 {
                format!(
                    "; from the store's cache, asked at {}.",
                    local(f.asked_at, tz)
                )
            } else {
                format!(
                    "; asked at {} ({}).",
                    local(f.asked_at, tz),
                    plural(f.requests, "request", "requests")
                )
            });
            lines.push(t(fresh));
            let mut n = format!(
                "Cost Explorer, {}, unblended cost; days are UTC billing days.",
                s.filter
            );
            if let Some(f) = &s.filter_note {
                n.push(' ');
                n.push_str(f);
            }
            note = Some(n);
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
                    .strong(format!("{p:.0}% spent"))
                    .text(" at ")
                    .strong(format!("{:.0}% of the month", b.month_pct))
                    .text(format!(" (day {} of {})", b.days.0, b.days.1));
            }
            if let (Some(pace), Ok(s)) = (b.pace_to_date, &d.spend) {
                let diff = s.month_to_date - pace;
                l = l.text(format!(
                    "; the pace to date is {pace}, so {} {}",
                    Money(diff.0.abs()),
                    if diff.0 > 0 { "over it" } else { "under it" }
                ));
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
            // Why Cost Explorer gave none is in the log: a new account's "not enough
            // history", or an emulator that does not serve forecasts. The reader needs only
            // to know whose projection this is.
            if p.forecast_unavailable.is_some() {
                lines.push(t(
                    "No forecast from Cost Explorer: the projection is lightsout's own.",
                ));
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
            t("Saved about ")
                .strong(s.day.to_string())
                .text(format!(" on {} and ", billing_day(d.day)))
                .strong(s.month.to_string())
                .text(format!(
                    " this month (1–{} {}), at list prices.",
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
    let mut note = s.method.clone();
    match &d.running {
        Ok(r) => {
            let mut l = t("lightsout itself cost about ")
                .strong(r.total.to_string())
                .text(" this month");
            if !s.resources.is_empty() {
                l = l
                    .text(", so the net saving is ")
                    .strong((s.month - r.total).to_string());
            }
            let mut parts: Vec<_> = r.lines.iter().filter(|p| p.cost.cents() != 0).collect();
            parts.sort_by_key(|p| std::cmp::Reverse(p.cost));
            let parts: Vec<String> = parts
                .iter()
                .map(|p| format!("{} {}", p.what, p.cost))
                .collect();
            let parts = if parts.is_empty() {
                "each part under a cent".to_string()
            } else {
                parts.join(", ")
            };
            lines.push(l.text(format!(" ({parts}).")));
            note = format!("{note} lightsout's own cost: {}.", r.basis);
        }
        Err(why) => lines.push(t(format!(
            "What lightsout itself cost this month is not known: {why}."
        ))),
    }
    Section {
        title: "Savings (list-price estimates)".into(),
        lines,
        note: Some(note),
    }
}

/// What kept costing while asleep: from the usage types when known, else the resources
/// lightsout knows it cannot stop.
fn always_on_section(d: &Digest) -> Section {
    let a = &d.always_on;
    let mut lines = Vec::new();
    let mut note = None;
    match &a.kinds {
        Ok(kinds) if !kinds.is_empty() && a.asleep_secs > 0 => {
            let parts: Vec<String> = kinds
                .iter()
                .filter(|k| k.while_asleep.cents() != 0)
                .map(|k| format!("{} {}", k.kind, k.while_asleep))
                .collect();
            lines.push(
                t(format!(
                    "While asleep ({} of {}), {} still cost about ",
                    hours(a.asleep_secs),
                    billing_day(d.day),
                    d.env
                ))
                .strong(a.day.to_string())
                .text(if parts.is_empty() {
                    ".".to_string()
                } else {
                    format!(": {}.", parts.join(" · "))
                }),
            );
            let mut l = t("This month: about ")
                .strong(a.month.to_string())
                .text(format!(" over {} asleep", hours(a.asleep_month_secs)));
            if let Some(p) = a.month_pct {
                l = l.text(format!(", {p:.0}% of the month to date"));
            }
            lines.push(l.text("."));
            note = Some("From Cost Explorer's usage types of the day: what does not stop when staging sleeps (NAT gateways, load balancers, public IPv4 addresses, ElastiCache, storage, monthly fees), its share of the day over the hours asleep; the month at the day's hourly cost.".to_string());
        }
        Ok(_) if a.asleep_secs == 0 => {}
        Ok(_) => lines.push(t(format!(
            "Nothing that keeps costing while asleep on {}.",
            billing_day(d.day)
        ))),
        Err(why) => {
            if !a.resources.is_empty() {
                lines.push(t("Kept costing ").strong(a.day.to_string()).text(format!(
                    " while asleep on {} ({} asleep): AWS cannot stop these.",
                    billing_day(d.day),
                    hours(a.asleep_secs)
                )));
            }
            if !why.is_empty() {
                note = Some(format!(
                    "The day's usage types are not known ({why}); only what lightsout knows it cannot stop is shown."
                ));
            }
        }
    }
    for r in &a.resources {
        lines.push(t(format!(
            "{}: {}/h, {} while asleep (AWS cannot stop it)",
            r.resource,
            price(r.hourly),
            r.while_asleep
        )));
    }
    for (r, why) in &a.unpriced {
        lines.push(t(format!("{r}: always on, not priced: {why}")));
    }
    Section {
        title: "Keeps costing while asleep".into(),
        lines,
        note,
    }
}

fn wakes_section(d: &Digest) -> Section {
    let tz = d.timezone;
    let mut lines = Vec::new();
    if d.wakes.is_empty() {
        lines.push(t(format!("No wake requests on {}.", billing_day(d.day))));
    }
    for w in &d.wakes {
        let end = w.ended_early.or(w.until);
        let when = match end {
            // The weekday too: a UTC billing day spans two local dates east or west of UTC.
            Some(e) => format!(
                "{}–{}",
                w.at.with_timezone(&tz).format("%a %H:%M"),
                hm(e, tz)
            ),
            None => w.at.with_timezone(&tz).format("%a %H:%M %Z").to_string(),
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
    let tz = d.timezone;
    let mut lines = Vec::new();
    if let Some(p) = &d.progress {
        // A transition a pass could not finish (a Lambda out of time): not asleep or awake yet.
        let sentence = p.sentence();
        let mut first = sentence.chars();
        let sentence: String = first
            .next()
            .map(|c| c.to_uppercase().chain(first).collect())
            .unwrap_or_default();
        lines.push(
            Line::default()
                .strong("⏳ Still in progress: ")
                .text(format!("{sentence}.")),
        );
    }
    for f in &d.failures {
        let what = if f.resource.is_empty() {
            d.env.clone()
        } else {
            f.resource.clone()
        };
        lines.push(
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
        lines.push(t(format!("⚠ The previous digest could not be sent to {p}")));
    }
    lines.extend(d.health.sections.iter().map(health_line));
    Section {
        title: format!("Health: {}", verdict(d)),
        lines,
        note: None,
    }
}

mod combined;
mod email;
mod markdown;
mod slack;
mod text;

pub use combined::{combined_email, combined_markdown, combined_slack, combined_text};
pub use email::email;
pub use markdown::markdown;
pub use slack::slack;
pub use text::plain_text;

#[cfg(test)]
#[path = "../render_tests.rs"]
mod tests;
