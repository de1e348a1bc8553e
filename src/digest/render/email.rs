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
    // What the chart draws, with its figures in words; the same figures are the image's
    // alternative text, for screen readers.
    let c = &d.chart;
    let day = |date: chrono::NaiveDate| date.format("%-d %b").to_string();
    let first = c.days.first().map_or(month_start(d.day), |x| x.date);
    let last = c.days.last().map_or(d.day, |x| x.date);
    let shown = &c.days[..(c.through as usize).min(c.days.len())];
    let (to, mtd) = shown.last().map_or((d.day, Money::ZERO), |x| {
        (x.date, x.to_date.unwrap_or(Money::ZERO))
    });
    let projected = c.projection.filter(|_| to < last);
    let mut figures = vec![format!("month to date {mtd} through {}", day(to))];
    let mut key = vec!["bars: the month to date at the end of each day".to_string()];
    match (c.pace_through(c.through), c.budget) {
        (Some(pace), Some(budget)) => {
            figures.push(format!(
                "budget pace {pace} at that day, {budget} by {}",
                day(last)
            ));
            key[0].push_str(", blue at or under the budget's pace at that day, <span style=\"color:#e45756;\">red</span> above it");
        }
        _ => figures.push("no budget, so no pace line".to_string()),
    }
    if let Some(p) = projected {
        figures.push(format!("projected {p} by {}", day(last)));
    }
    if shown.iter().any(|x| x.spend.is_some() && x.estimated) {
        key.push("hatched: still estimated by AWS".to_string());
    }
    if shown.iter().any(|x| x.spend.is_none()) {
        key.push("grey stub: no data".to_string());
    }
    if c.budget.is_some() {
        key.push("solid line: the budget's pace".to_string());
    }
    if projected.is_some() {
        key.push("dashed line: the projection".to_string());
    }
    let figures = figures.join("; ");
    let sentence = |s: &str| s[..1].to_uppercase() + &s[1..];
    format!(
        "<p style=\"margin:12px 0 4px;font-size:12px;color:#555;\">{}. {}.</p>\n\
<img src=\"cid:{cid}\" width=\"{}\" height=\"{}\" alt=\"{}\" style=\"display:block;border:1px solid #ddd;\">\n",
        html_escape(&sentence(&figures)),
        sentence(&key.join("; ")),
        crate::digest::chart::WIDTH,
        crate::digest::chart::HEIGHT,
        html_escape(&format!(
            "Chart of the month, {} to {}: {figures}.",
            day(first),
            day(last)
        )),
    )
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
