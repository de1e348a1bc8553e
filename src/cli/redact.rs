//! The log writer: stderr, with AWS credentials taken out of every line.
//!
//! The AWS SDK logs the identity it resolved at debug level (the `Credentials` debug form shows
//! the access key id; the secret it redacts itself), and at trace the signed request (the key id
//! in `Credential=`, the session token in `x-amz-security-token`). A filter on the SDK's targets
//! would silence useful lines and still depend on where the SDK logs next release; this writer
//! sees every line, whatever its target, level or format (human or JSON), and replaces those
//! values with `** redacted **`.

use std::borrow::Cow;
use std::io::Write;

/// Makes a [`Redacted`] writer per log event.
#[derive(Debug, Clone, Copy, Default)]
pub struct RedactedStderr;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RedactedStderr {
    type Writer = Redacted;

    fn make_writer(&'a self) -> Redacted {
        Redacted(Vec::new())
    }
}

/// One event's text, redacted and written to stderr when dropped (the formatter writes an event
/// in one piece, so a value is never split between two writes).
#[derive(Debug)]
pub struct Redacted(Vec<u8>);

impl Write for Redacted {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.0).into_owned();
        self.0.clear();
        std::io::stderr().write_all(redact(&text).as_bytes())
    }
}

impl Drop for Redacted {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

const REDACTED: &str = "** redacted **";

/// The prefixes of AWS access key ids (long-term `AKIA`, temporary `ASIA`, ...).
const KEY_ID_PREFIXES: &[&str] = &[
    "AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AIPA", "ANPA", "ANVA", "AROA", "APKA",
];

/// `text` with AWS credentials replaced: the value after `access_key_id:` (in any quoting),
/// after `Credential=` up to its `/`, after `x-amz-security-token` (any case), and anything
/// shaped like an access key id.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    for (marker, ends) in [
        ("access_key_id", &['"', '\\', ',', ' ', '}'][..]),
        ("Credential=", &['/', '"', '\\', ',', ' ', '&'][..]),
        (
            "x-amz-security-token",
            &['"', '\\', ',', ' ', '&', '\n', '}'][..],
        ),
        (
            "X-Amz-Security-Token",
            &['"', '\\', ',', ' ', '&', '\n', '}'][..],
        ),
    ] {
        if out.contains(marker) {
            out = Cow::Owned(after_marker(&out, marker, ends));
        }
    }
    if KEY_ID_PREFIXES.iter().any(|p| out.contains(p)) {
        out = Cow::Owned(key_ids(&out));
    }
    out
}

/// Replaces the value that follows each `marker` (past separators, quotes and a `Some(`) up to
/// one of `ends`.
fn after_marker(text: &str, marker: &str, ends: &[char]) -> String {
    let lead = |s: &str| {
        s.find(|c: char| !matches!(c, ':' | '=' | ' ' | '"' | '\\' | '\''))
            .unwrap_or(s.len())
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(marker) {
        let (head, tail) = rest.split_at(i + marker.len());
        out.push_str(head);
        let (sep, mut value) = tail.split_at(lead(tail));
        out.push_str(sep);
        if let Some(inner) = value.strip_prefix("Some(") {
            let (sep, v) = inner.split_at(lead(inner));
            out.push_str("Some(");
            out.push_str(sep);
            value = v;
        }
        let len = value.find(ends).unwrap_or(value.len());
        if len > 0 {
            out.push_str(REDACTED);
        }
        rest = &value[len..];
    }
    out.push_str(rest);
    out
}

/// Replaces every run shaped like an access key id: a known prefix and 16 more of `A-Z0-9`.
fn key_ids(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i + 20 <= bytes.len() {
        let word_start = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        let candidate = &bytes[i..i + 20];
        let shaped = word_start
            && KEY_ID_PREFIXES
                .iter()
                .any(|p| candidate.starts_with(p.as_bytes()))
            && candidate
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            && bytes.get(i + 20).is_none_or(|b| !b.is_ascii_alphanumeric());
        if shaped {
            out.push_str(&text[copied..i]);
            out.push_str(REDACTED);
            i += 20;
            copied = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SDK's debug and trace forms, human and JSON, lose the key id and session token and
    /// keep everything else.
    #[test]
    fn credentials_are_redacted_in_every_form() {
        let cases = [
            (
                r#"Credentials { provider_name: "EnvironmentVariable", access_key_id: "AKIDNOTSHAPED123", secret_access_key: "** redacted **" }"#,
                r#"Credentials { provider_name: "EnvironmentVariable", access_key_id: "** redacted **", secret_access_key: "** redacted **" }"#,
            ),
            (
                r#"{"fields":{"endpoint_params":"Credentials { access_key_id: \"AKIDNOTSHAPED123\", x: 1 }"}}"#,
                r#"{"fields":{"endpoint_params":"Credentials { access_key_id: \"** redacted **\", x: 1 }"}}"#,
            ),
            (
                "authorization: AWS4-HMAC-SHA256 Credential=AKIDNOTSHAPED123/20261204/eu-west-1/rds/aws4_request, SignedHeaders=host",
                "authorization: AWS4-HMAC-SHA256 Credential=** redacted **/20261204/eu-west-1/rds/aws4_request, SignedHeaders=host",
            ),
            (
                r#""x-amz-security-token": "FwoGZXIvYXdzEtoken", "host": "x""#,
                r#""x-amz-security-token": "** redacted **", "host": "x""#,
            ),
            (
                "X-Amz-Security-Token=FwoGZXIvYXdz%2Ftoken&X-Amz-Date=1",
                "X-Amz-Security-Token=** redacted **&X-Amz-Date=1",
            ),
            (
                "key AKIAIOSFODNN7EXAMPLE and ASIAIOSFODNN7EXAMPLE, not AKIAshort",
                "key ** redacted ** and ** redacted **, not AKIAshort",
            ),
            ("nothing to hide here", "nothing to hide here"),
        ];
        for (given, want) in cases {
            assert_eq!(redact(given), want, "{given}");
        }
    }
}
