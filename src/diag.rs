//! Diagnostics: what is wrong in a schedule file, where, and how to fix it.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

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
