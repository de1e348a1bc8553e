//! Markdown: stdout and the README sample.

use super::*;

pub(super) fn md_escape(s: &str) -> String {
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

pub(super) fn md_line(l: &Line) -> String {
    l.0.iter()
        .map(|s| match s {
            Span::Text(t) => md_escape(t),
            Span::Strong(t) => format!("**{}**", md_escape(t)),
        })
        .collect()
}

/// The digest as Markdown (stdout, the README sample).
pub fn markdown(d: &Digest) -> String {
    markdown_doc(&doc(d))
}

/// A digest in words as Markdown.
pub(super) fn markdown_doc(doc: &Doc) -> String {
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
