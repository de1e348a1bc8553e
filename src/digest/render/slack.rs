//! Slack Block Kit, within Slack's limits, with a sparkline.

use super::*;

pub(super) fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub(super) fn slack_line(l: &Line) -> String {
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
pub(super) fn fit(head: &str, lines: &[String], max: usize) -> String {
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

pub(super) fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max - 1).collect();
        out.push('…');
        out
    }
}

/// The full Slack incoming-webhook payload: `{"text": fallback, "blocks": [...]}`, within
/// Block Kit's limits (at most 50 blocks, section text at most 3000 characters).
pub fn slack(d: &Digest) -> Value {
    slack_doc(&doc(d), &notification(d))
}

/// A digest in words as a Slack payload, with `notification` as the text a phone shows.
pub(super) fn slack_doc(doc: &Doc, notification: &str) -> Value {
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
    json!({"text": truncate_chars(notification, SLACK_MAX_SECTION), "blocks": blocks})
}
