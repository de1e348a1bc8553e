//! The combined digest for finance, in every channel's markup.

use std::collections::BTreeMap;

use super::*;
use crate::digest::figures::Combined;

fn or_none(m: Option<Money>) -> String {
    m.map_or_else(|| "—".to_string(), |m| m.to_string())
}

fn combined_doc(c: &Combined, tz: Tz) -> Doc {
    let tot = &c.total;
    let month = c.day.format("%B");
    let mut summary =
        t(format!("{month} to date, every environment: ")).strong(tot.month_to_date.to_string());
    if tot.budget.0 > 0 {
        summary = summary.text(format!(" of {}", tot.budget));
    }
    summary = summary
        .text(" · Projected: ")
        .strong(tot.projection.to_string());
    if !tot.over_budget.is_empty() {
        summary = summary.strong(format!(" · ⚠ over budget: {}", tot.over_budget.join(", ")));
    }
    summary = summary
        .text(" · Saved: ")
        .strong(tot.saved_month.to_string())
        .text(" this month (list prices)");

    let mut lines = Vec::new();
    for l in &c.lines {
        let mut line = Line::default().strong(format!("{}: ", l.env));
        match &l.problem {
            Some(why) => line = line.text(format!("no cost data: {why}")),
            None => {
                let day = if l.day == c.day {
                    String::new()
                } else {
                    format!(" (figures through {})", billing_day(l.day))
                };
                line = line.text(format!(
                    "{} {}{day} · {month} to date {}",
                    short_date(l.day),
                    or_none(l.day_total),
                    or_none(l.month_to_date)
                ));
                if let Some(b) = l.budget {
                    line = line.text(format!(" of {b}"));
                }
                line = line.text(format!(" · projected {}", or_none(l.projection)));
                if let Some(o) = l.over_by {
                    line = line.strong(format!(" ⚠ {o} over budget"));
                }
            }
        }
        line = line.text(format!(
            " · saved {} · kept costing while asleep about {}",
            l.saved_month, l.kept_costing_month
        ));
        lines.push(line);
    }
    let mut total = Line::default()
        .strong("Total: ")
        .text(format!("{} ", billing_day(c.day)))
        .strong(tot.day_total.to_string())
        .text(format!(" · {month} to date "))
        .strong(tot.month_to_date.to_string());
    if tot.budget.0 > 0 {
        total = total.text(format!(" of {} budget", tot.budget));
    }
    total = total.text(format!(
        " · projected {} · saved {} · kept costing while asleep about {}",
        tot.projection, tot.saved_month, tot.kept_costing_month
    ));
    lines.push(total);
    if let Some(run) = c.running {
        lines.push(
            t("lightsout itself cost about ")
                .strong(run.to_string())
                .text(" this month, so the net saving is ")
                .strong((tot.saved_month - run).to_string())
                .text("."),
        );
    }
    let mut by_env: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (env, what) in &tot.left_out {
        by_env.entry(env.as_str()).or_default().push(what);
    }
    for (env, what) in by_env {
        lines.push(t(format!(
            "{env} is left out of the totals of {}: it has none.",
            what.join(", ")
        )));
    }
    Doc {
        title: format!(
            "Every environment — digest for {} (UTC billing day)",
            long_date(c.day)
        ),
        alerts: Vec::new(),
        summary,
        sparkline: None,
        sections: vec![Section {
            title: "Environments".into(),
            lines,
            note: Some(
                "Cost Explorer, each environment with its own cost filter: costs no environment's filter covers (shared, untagged) are in no line. Savings are list-price estimates.".into(),
            ),
        }],
        footer: format!(
            "Made by lightsout at {} ({}). Money is counted in UTC billing days, as AWS bills and budgets count them.",
            local(c.generated_at, tz),
            tz.name()
        ),
    }
}

fn combined_notification(c: &Combined) -> String {
    let doc = combined_doc(c, chrono_tz::UTC);
    doc.summary.plain()
}

/// The combined digest as Markdown.
pub fn combined_markdown(c: &Combined, tz: Tz) -> String {
    markdown::markdown_doc(&combined_doc(c, tz))
}

/// The combined digest as plain text.
pub fn combined_text(c: &Combined, tz: Tz) -> String {
    text::text_doc(&combined_doc(c, tz))
}

/// The combined digest as a Slack payload.
pub fn combined_slack(c: &Combined, tz: Tz) -> Value {
    slack::slack_doc(&combined_doc(c, tz), &combined_notification(c))
}

/// The combined digest as an email (no chart).
pub fn combined_email(c: &Combined, tz: Tz) -> Email {
    let doc = combined_doc(c, tz);
    let tot = &c.total;
    let mut subject = format!(
        "Every environment: {} to date {}",
        c.day.format("%B"),
        tot.month_to_date
    );
    if tot.budget.0 > 0 {
        subject.push_str(&format!(" of {}", tot.budget));
    }
    if !tot.over_budget.is_empty() {
        subject = format!("⚠ over budget: {} · {subject}", tot.over_budget.join(", "));
    }
    Email {
        subject,
        html: email::html_doc(&doc, None),
        text: text::text_doc(&doc),
        chart_png: None,
        chart_cid: String::new(),
    }
}
