//! Plain text: SNS and the email's text part.

use super::*;

/// The digest as plain text (SNS, the email's text part).
pub fn plain_text(d: &Digest) -> String {
    text_doc(&doc(d))
}

/// A digest in words as plain text.
pub(super) fn text_doc(doc: &Doc) -> String {
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
