//! Diagnostics: what is wrong in a schedule file, where, and how to fix it.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

use std::collections::BTreeMap;

/// One problem found in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file the problem is in.
    pub file: PathBuf,
    /// 1-based line of the problem (0 when the problem is about the file as a whole).
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when we can tell.
    pub help: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)?;
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )?;
        }
        if let Some(help) = &self.help {
            write!(f, " — {help}")?;
        }
        Ok(())
    }
}

/// All the problems found while loading a configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Sorts the problems by file, line and column, so they read top to bottom.
    pub fn sort(&mut self) {
        self.0
            .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{d}")?;
        }
        let n = self.0.len();
        write!(f, "{n} error{}", if n == 1 { "" } else { "s" })
    }
}

impl std::error::Error for Diagnostics {}

/// Turns byte offsets of one source text into lines and columns, and collects diagnostics.
pub(crate) struct Reporter<'a> {
    file: &'a Path,
    src: &'a str,
    /// Byte offset where each line starts.
    line_starts: Vec<usize>,
    /// Where the diagnostics go.
    pub(crate) out: &'a mut Vec<Diagnostic>,
}

impl<'a> Reporter<'a> {
    pub(crate) fn new(file: &'a Path, src: &'a str, out: &'a mut Vec<Diagnostic>) -> Self {
        let line_starts = std::iter::once(0)
            .chain(src.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Reporter {
            file,
            src,
            line_starts,
            out,
        }
    }

    /// The file being reported on.
    pub(crate) fn file(&self) -> &Path {
        self.file
    }

    /// 1-based line and character column of a byte offset.
    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.src.len());
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line.saturating_sub(1)];
        let column = self
            .src
            .get(start..offset)
            .map_or(1, |s| s.chars().count() + 1);
        (line, column)
    }

    /// Records a problem at a byte range of the source.
    pub(crate) fn error(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        help: Option<String>,
    ) {
        let (line, column) = self.position(span.start);
        self.out.push(Diagnostic {
            file: self.file.to_path_buf(),
            line,
            column,
            message: message.into(),
            help,
        });
    }

    /// Byte span of a part of a string value: `value_span` is the span of the whole TOML string
    /// (quotes included) and `part` a byte range inside its contents. Falls back to the whole
    /// value when the source spells the string with escapes, so offsets would not line up.
    pub(crate) fn inner_span(
        &self,
        value_span: Range<usize>,
        contents: &str,
        part: Range<usize>,
    ) -> Range<usize> {
        let raw = self.src.get(value_span.clone()).unwrap_or("");
        let quote = raw.chars().next().map_or(0, char::len_utf8);
        let inner = raw
            .get(quote..raw.len().saturating_sub(quote))
            .unwrap_or("");
        if inner == contents {
            let base = value_span.start + quote;
            base + part.start..base + part.end
        } else {
            value_span
        }
    }
}

/// A TOML value with its byte span in the source.
pub type Val<'i> = toml::Spanned<toml::de::DeValue<'i>>;

/// The value of `key` in a table, if it is there.
pub fn lookup<'t, 'i>(t: &'t DeTable<'i>, key: &str) -> Option<&'t Val<'i>> {
    t.iter().find(|(k, _)| k.get_ref() == key).map(|(_, v)| v)
}

/// Reads a schedule file's TOML tree with spans: every getter reports what is wrong (with the
/// line, column and fix) and returns `None` rather than stopping. Each resource kind reads its
/// own table with it; it also collects where resources and tag selectors were written, for the
/// checks across files.
pub struct Reader<'r, 'a> {
    /// Where problems go.
    pub(crate) r: &'r mut Reporter<'a>,
    /// Resources named one by one, as `ecs:cluster/service`, `rds:id`, `aurora:id`, and where.
    pub named: Vec<(String, Range<usize>)>,
    /// Tag selectors, in a canonical text form, and where.
    pub selectors: Vec<(String, Range<usize>)>,
}

impl<'r, 'a> Reader<'r, 'a> {
    /// A reader reporting to `r`.
    pub(crate) fn new(r: &'r mut Reporter<'a>) -> Reader<'r, 'a> {
        Reader {
            r,
            named: Vec::new(),
            selectors: Vec::new(),
        }
    }

    /// Reports a problem at a span.
    pub fn err(
        &mut self,
        span: Range<usize>,
        msg: impl Into<String>,
        help: impl Into<Option<String>>,
    ) {
        self.r.error(span, msg, help.into());
    }

    /// 1-based line and column of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        self.r.position(offset)
    }

    /// Reports keys of `table` that are not in `allowed`.
    /// A key that looks like a secret gets its own error: secrets never go in schedule files.
    pub fn check_keys(&mut self, table: &DeTable<'_>, allowed: &[&str], place: &str) {
        for (k, _) in table.iter() {
            let key = k.get_ref().as_ref();
            if allowed.contains(&key) {
                continue;
            }
            if ["webhook", "secret", "token"]
                .iter()
                .any(|w| key.contains(w))
            {
                self.err(
                    k.span(),
                    format!("`{key}` looks like a secret, and secrets do not belong in schedule files"),
                    Some("delete it, and give lightsout the secret in its environment: LIGHTSOUT_TOKENS, LIGHTSOUT_SLACK_SIGNING_SECRET or LIGHTSOUT_SLACK_WEBHOOK_URL (each also as NAME_FILE, or NAME_SSM with a SecureString parameter name)".to_string()),
                );
            } else {
                let help = match suggest(key, allowed.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("known keys here: {}", allowed.join(", ")),
                };
                self.err(k.span(), format!("unknown key `{key}` in {place}"), help);
            }
        }
    }

    pub fn string<'v>(&mut self, v: &'v Val<'_>, what: &str) -> Option<&'v str> {
        match v.get_ref() {
            DeValue::String(s) => Some(s.as_ref()),
            other => {
                self.err(
                    v.span(),
                    format!("`{what}` must be a string, not {}", other.type_str()),
                    Some(format!("quote it: {what} = \"...\"")),
                );
                None
            }
        }
    }

    /// The string in `v`, without reporting anything when it is not one.
    pub fn string_quiet<'v>(&self, v: &'v Val<'_>) -> Option<&'v str> {
        match v.get_ref() {
            DeValue::String(s) => Some(s.as_ref()),
            _ => None,
        }
    }

    pub fn array<'v, 'i>(&mut self, v: &'v Val<'i>, what: &str) -> Option<&'v [Val<'i>]> {
        match v.get_ref() {
            DeValue::Array(a) => Some(a),
            other => {
                self.err(
                    v.span(),
                    format!("`{what}` must be a list, not {}", other.type_str()),
                    Some(format!("write {what} = [\"...\", \"...\"]")),
                );
                None
            }
        }
    }

    /// A list of strings, each with its span.
    pub fn strings<'v>(&mut self, v: &'v Val<'_>, what: &str) -> Vec<(&'v str, Range<usize>)> {
        let Some(items) = self.array(v, what) else {
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|item| self.string(item, what).map(|s| (s, item.span())))
            .collect()
    }

    pub fn table<'v, 'i>(&mut self, v: &'v Val<'i>, what: &str) -> Option<&'v DeTable<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            other => {
                self.err(
                    v.span(),
                    format!("`{what}` must be a table, not {}", other.type_str()),
                    Some(format!("write it as [{what}] or {what} = {{ ... }}")),
                );
                None
            }
        }
    }

    pub fn integer(&mut self, v: &Val<'_>, what: &str, range: Range<i64>) -> Option<i64> {
        let n = match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok(),
            _ => None,
        };
        match n {
            Some(n) if range.contains(&n) => Some(n),
            _ => {
                self.err(
                    v.span(),
                    format!(
                        "`{what}` must be a whole number from {} to {}",
                        range.start,
                        range.end - 1
                    ),
                    None,
                );
                None
            }
        }
    }

    /// A `{ Key = "value" }` table of tags.
    pub fn tags(&mut self, v: &Val<'_>, what: &str) -> Option<BTreeMap<String, String>> {
        let t = self.table(v, what)?;
        let mut tags = BTreeMap::new();
        for (k, val) in t.iter() {
            if let Some(s) = self.string(val, &format!("{what}.{}", k.get_ref())) {
                tags.insert(k.get_ref().to_string(), s.to_string());
            }
        }
        if tags.is_empty() && t.is_empty() {
            self.err(
                v.span(),
                format!("`{what}` is empty: it would select everything"),
                Some(format!(
                    "name at least one tag, like {what} = {{ Environment = \"staging\" }}"
                )),
            );
            return None;
        }
        Some(tags)
    }

    /// `Key=Value` strings.
    pub fn tag_pairs(&mut self, v: &Val<'_>, what: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (s, span) in self.strings(v, what) {
            match s.split_once('=') {
                Some((k, val)) if !k.trim().is_empty() && !val.trim().is_empty() => {
                    out.push((k.trim().to_string(), val.trim().to_string()))
                }
                _ => self.err(
                    span,
                    format!("\"{s}\" is not a tag"),
                    Some("write tags as \"Key=Value\", like \"Stage=live\"".to_string()),
                ),
            }
        }
        out
    }
}

/// The closest of `candidates` to `input`, if it is close enough to be a plausible typo.
pub(crate) fn suggest<'c>(
    input: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    let lower = input.to_ascii_lowercase();
    let allowed = match lower.chars().count() {
        0..=4 => 1,
        5..=10 => 2,
        _ => 3,
    };
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, _)| *d <= allowed)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_lines_and_character_columns() {
        let mut out = Vec::new();
        let r = Reporter::new(Path::new("f.toml"), "a = 1\nbé = \"x\"\n", &mut out);
        assert_eq!(r.position(0), (1, 1));
        assert_eq!(r.position(6), (2, 1));
        // "bé" is three bytes; the `=` after it and a space is the fourth character.
        assert_eq!(r.position(10), (2, 4));
    }

    #[test]
    fn suggests_close_names_only() {
        let zones = ["Australia/Sydney", "Europe/Berlin"];
        assert_eq!(suggest("Australia/Sidney", zones), Some("Australia/Sydney"));
        assert_eq!(suggest("Mars/Olympus", zones), None);
    }
}
