//! HTML email with the chart inline, and its subject.

use super::*;

pub(super) fn html_escape(s: &str) -> String {
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

pub(super) fn html_line(l: &Line) -> String {
    l.0.iter()
        .map(|s| match s {
            Span::Text(t) => html_escape(t),
            Span::Strong(t) => format!("<strong>{}</strong>", html_escape(t)),
        })
        .collect()
}

pub(super) const FONT: &str =
    "font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#222;";

/// The subject: money first (the day, the month to date against the budget, over budget),
/// then health.
fn subject(d: &Digest) -> String {
    let mut subject = format!("{}: ", d.env);
    if let (Some(over), Ok(p)) = (d.budget.over_by, &d.budget.projection) {
        subject.push_str(&format!(
            "⚠ over budget by {over} (projected {}) · ",
            p.month_end
        ));
    }
    match &d.spend {
        Ok(s) => {
            if let Some(m) = s.day_total {
                subject.push_str(&format!("{} {m} · ", billing_day(d.day)));
            }
            subject.push_str(&format!(
                "{} to date {}",
                d.day.format("%B"),
                s.month_to_date
            ));
            if let Ok((b, _)) = &d.budget.budget {
                subject.push_str(&format!(" of {b}"));
            }
        }
        Err(_) => subject.push_str("no cost data"),
    }
    subject.push_str(&format!(" · health: {}", verdict(d)));
    if !d.failures.is_empty() {
        subject.push_str(&format!(
            " · ⚠ {}",
            plural(d.failures.len(), "failed action", "failed actions")
        ));
    }
    subject
}

/// The email: subject, HTML with the chart inline (`cid:`), a plain-text part.
pub fn email(d: &Digest) -> Email {
    let doc = doc(d);
    let chart = chart_png(d);
    let cid = format!("digest-chart-{}-{}@lightsout", d.env, d.day);
    let caption = chart.as_ref().map(|_| chart_caption(d, &cid));
    Email {
        subject: subject(d),
        html: html_doc(&doc, caption.as_deref()),
        text: plain_text(d),
        chart_png: chart,
        chart_cid: cid,
    }
}

/// The chart with its caption, for the email's HTML.
fn chart_caption(d: &Digest, cid: &str) -> String {
    let mut h = String::new();
    let first = month_start(d.day);
    let last = d.chart.days.last().map_or(d.day, |day| day.date);
    let top = d
        .chart
        .days
        .iter()
        .filter_map(|day| day.spend)
        .max()
        .unwrap_or(Money::ZERO);
    let pace = match d.chart.pace_through(1) {
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
    h
}

/// A digest in words as the email's HTML; `chart` is the chart and its caption, when there is
/// one, placed after the headline.
pub(super) fn html_doc(doc: &Doc, chart: Option<&str>) -> String {
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
    if let Some(c) = chart {
        h.push_str(c);
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
    h
}
