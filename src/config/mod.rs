//! Schedule files: `schedules/*.toml`, one environment per file, read into typed
//! [`Environment`]s (the nouns live in [`crate::model`]; this module only parses).
//!
//! Loading never stops at the first problem: [`load`] reads every file and returns every problem
//! it finds as a [`Diagnostic`] that names the file, line and column, what is wrong and the fix.
//! What comes out of a successful load is valid by construction, so the schedule engine and the
//! planner never check it again.

mod digest;
mod files;
mod follow;
mod ics;
mod parse;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use parse::Parsed;

pub use crate::diag::{Diagnostic, Diagnostics};
use crate::model::{Config, Environment};
pub use files::MAX_FILE;
pub use ics::{IcsError, parse_ics};

/// Parses one environment from TOML text, as if read from `file` (which only names it in
/// diagnostics, and anchors a relative `holiday_calendar`).
pub fn parse_str(file: &Path, src: &str) -> Result<Environment, Diagnostics> {
    let mut diags = Vec::new();
    match parse::parse_environment(file, src, &mut diags) {
        Some(Parsed { env: Some(env), .. }) if diags.is_empty() => Ok(env),
        _ => {
            let mut d = Diagnostics(diags);
            d.sort();
            Err(d)
        }
    }
}

/// Reads every `*.toml` file of a directory (or one file) and checks them together. Names
/// starting with `.` (editor lock and backup files) are not schedule files; every other
/// `*.toml` entry is, and one that cannot be read as a regular file inside the directory —
/// a dangling symlink, a loop, a FIFO, a file over [`MAX_FILE`], not UTF-8 — is an error
/// naming it, never skipped.
pub fn load(path: &Path) -> Result<Config, Diagnostics> {
    let mut diags = Vec::new();
    let (root, files) = match schedule_files(path) {
        Ok(f) => f,
        Err(d) => return Err(Diagnostics(vec![d])),
    };
    let mut parsed = Vec::new();
    for file in files {
        match files::read_text(&file, &root) {
            Ok(src) => {
                if let Some(p) = parse::parse_environment(&file, &src, &mut diags) {
                    parsed.push((file.clone(), p, src));
                }
            }
            Err(e) => diags.push(Diagnostic {
                file: file.clone(),
                line: e.line,
                column: e.column,
                message: e.message,
                help: None,
            }),
        }
    }
    cross_check(&parsed, &mut diags);
    let mut diags = Diagnostics(diags);
    if diags.is_empty() {
        Ok(Config {
            environments: parsed.into_iter().filter_map(|(_, p, _)| p.env).collect(),
        })
    } else {
        diags.sort();
        Err(diags)
    }
}

/// The schedules directory and the schedule files in it (or the one file given, and its
/// directory).
fn schedule_files(path: &Path) -> Result<(PathBuf, Vec<PathBuf>), Diagnostic> {
    let whole = |message: String, help: Option<String>| Diagnostic {
        file: path.to_path_buf(),
        line: 0,
        column: 0,
        message,
        help,
    };
    let meta = std::fs::metadata(path).map_err(|e| {
        whole(
            format!("cannot read: {e}"),
            Some("pass the schedules directory or a schedule file, like `lightsout check schedules/`".into()),
        )
    })?;
    if meta.is_file() {
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        return Ok((dir, vec![path.to_path_buf()]));
    }
    if !meta.is_dir() {
        return Err(whole(
            "not a regular file or a directory: refused without reading it".into(),
            Some("pass the schedules directory or a schedule file, like `lightsout check schedules/`".into()),
        ));
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| whole(format!("cannot list the directory: {e}"), None))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "toml")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(whole(
            "no schedule files (*.toml) here".into(),
            Some("add one environment per file, like schedules/staging.toml".into()),
        ));
    }
    Ok((path.to_path_buf(), files))
}

/// Checks across files: unique names, no resource in two environments.
fn cross_check(parsed: &[(PathBuf, Parsed, String)], diags: &mut Vec<Diagnostic>) {
    let mut names: HashMap<&str, &Path> = HashMap::new();
    let mut owners: HashMap<String, (&str, &Path)> = HashMap::new();
    let mut selectors: HashMap<String, (&str, &Path)> = HashMap::new();
    for (file, p, src) in parsed {
        let mut rep = crate::diag::Reporter::new(file, src, diags);
        if let Some(first) = names.get(p.name.as_str()) {
            rep.error(
                p.spans.name.clone(),
                format!(
                    "environment name \"{}\" is already used by {}",
                    p.name,
                    first.display()
                ),
                Some("give each environment its own `name`".into()),
            );
        } else {
            names.insert(&p.name, file);
        }
        for (key, span) in &p.spans.resources {
            let scoped = format!("{}|{key}", p.scope);
            match owners.get(&scoped) {
                Some((owner, other)) if *other != file.as_path() => rep.error(
                    span.clone(),
                    format!(
                        "{key} is also selected by environment \"{owner}\" ({})",
                        other.display()
                    ),
                    Some(
                        "a resource belongs to one environment: remove it from one of them".into(),
                    ),
                ),
                Some(_) => {}
                None => {
                    owners.insert(scoped, (&p.name, file));
                }
            }
        }
        for (key, span) in &p.spans.selectors {
            let key = &format!("{}|{key}", p.scope);
            match selectors.get(key) {
                Some((owner, other)) if *other != file.as_path() => rep.error(
                    span.clone(),
                    format!(
                        "the same tag selector is used by environment \"{owner}\" ({})",
                        other.display()
                    ),
                    Some("a resource belongs to one environment: make the selectors differ".into()),
                ),
                Some(_) => {}
                None => {
                    selectors.insert(key.clone(), (&p.name, file));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Channel, CostFilter};
    use chrono::NaiveDate;
    use std::collections::BTreeMap;

    /// Holidays come from the list and from an iCalendar file next to the schedule file.
    #[test]
    fn holiday_calendar_is_read_relative_to_the_schedule_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("hol.ics"),
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20270101\nEND:VEVENT\nEND:VCALENDAR\n",
        )
        .unwrap();
        let file = dir.path().join("staging.toml");
        std::fs::write(
            &file,
            "region = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = []\nholidays = [2026-12-25]\nholiday_calendar = \"hol.ics\"\n[rds]\ninstances = [\"db\"]\n",
        )
        .unwrap();
        let cfg = load(&file).unwrap();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(
            cfg.environments[0].holidays,
            vec![
                (d("2026-12-25"), d("2026-12-25")),
                (d("2027-01-01"), d("2027-01-01"))
            ]
        );
        assert_eq!(cfg.environments[0].name, "staging");
    }

    /// The built-in production rule holds whatever the configuration adds.
    #[test]
    fn guard_cannot_be_loosened() {
        let env = parse_str(
            Path::new("s.toml"),
            "region = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = []\n[rds]\ninstances = [\"db\"]\n[guard]\nproduction_tags = [\"Stage=live\"]\n",
        )
        .unwrap();
        let tags = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
        assert!(env.guard.refusal(&tags("Environment", "PROD")).is_some());
        assert!(env.guard.refusal(&tags("Stage", "live")).is_some());
        assert!(env.guard.refusal(&tags("Environment", "staging")).is_none());
        let e = parse_str(Path::new("s.toml"), "region = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = []\n[rds]\ninstances = [\"db\"]\n[guard]\nenabled = false\n").unwrap_err();
        assert!(
            e.to_string().contains("unknown key `enabled` in [guard]"),
            "{e}"
        );
    }

    /// A name that is not a string is one problem, reported once.
    #[test]
    fn non_string_name_is_reported_once() {
        let e = parse_str(Path::new("s.toml"), "name = 3\nregion = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = []\n[rds]\ninstances = [\"db\"]\n").unwrap_err();
        assert_eq!(e.0.len(), 1, "{e}");
        assert!(e.0[0].message.contains("`name` must be a string"), "{e}");
    }

    const BASE: &str = "region = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = []\n[rds]\ninstances = [\"db\"]\n[guard]\nrequire_tags = [\"Environment=staging\"]\n";

    /// The `[digest]` table: defaults, and every mistake named with its line and fix.
    #[test]
    fn digest_table_defaults_and_mistakes() {
        let env = parse_str(Path::new("s.toml"), BASE).unwrap();
        let d = &env.digest;
        assert_eq!(d.at, chrono::NaiveTime::from_hms_opt(8, 30, 0).unwrap());
        assert_eq!(d.channels, vec![Channel::Stdout]);
        assert_eq!(d.alarm_prefix, "s-");
        // Without cost_tag, the required tag selects the costs.
        assert_eq!(
            d.cost_filter,
            CostFilter::Tag("Environment".into(), "staging".into())
        );

        let env = parse_str(
            Path::new("s.toml"),
            &format!("{BASE}[digest]\nat = \"07:45\"\ncost_account = \"123456789012\"\nchannels = [\"email\", \"sns\", \"slack\"]\nemail_from = \"lightsout@example.com\"\nemail_to = [\"leads@example.com\"]\nsns_topic_arn = \"arn:aws:sns:eu-west-1:123456789012:digest\"\nhealth_urls = [\"https://staging.example.com/api/v1/utils/health-check/\"]\n"),
        )
        .unwrap();
        assert_eq!(
            env.digest.cost_filter,
            CostFilter::Account("123456789012".into())
        );
        assert_eq!(env.digest.channels.len(), 3);
        assert_eq!(
            env.digest.at,
            chrono::NaiveTime::from_hms_opt(7, 45, 0).unwrap()
        );

        let e = parse_str(
            Path::new("s.toml"),
            &format!("{BASE}[digest]\nat = \"8.30\"\nslack_webhook_url = \"https://hooks.slack.com/services/T/B/x\"\nchannels = [\"slak\", \"email\"]\ncost_tag = \"staging\"\nhealth_urls = [\"staging.example.com\"]\nemail_to = [\"leads\"]\nbudget = 3\n"),
        )
        .unwrap_err()
        .to_string();
        for want in [
            "s.toml:10",
            "\"8.30\" is not a time of day",
            "`slack_webhook_url` looks like a secret",
            "LIGHTSOUT_SLACK_WEBHOOK_URL",
            "unknown channel \"slak\"",
            "did you mean \"slack\"?",
            "\"staging\" is not a tag",
            "\"staging.example.com\" is not an http(s) URL",
            "\"leads\" is not an email address",
            "the email channel needs `email_from` and `email_to`",
            "unknown key `budget` in [digest]",
        ] {
            assert!(e.contains(want), "missing {want:?} in:\n{e}");
        }
        // The secret's value is never repeated in the error.
        assert!(!e.contains("hooks.slack.com"), "{e}");
    }
}
