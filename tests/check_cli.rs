//! `lightsout check`: every problem at once, each with file, line, column and the fix.

use std::path::Path;
use std::process::Command;

use lightsout::config;
use proptest::prelude::*;

fn check(dir: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lightsout"))
        .arg("check")
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout),
    )
}

const BROKEN: &str = r#"name = "staging"
region = "eu-west-1"
timezone = "Australia/Sidney"
awake = ["Mon-Fry 07:00-20:00", "Tue 25:00-26:00", "Wed 09:00-09:00", "Sat 10:00-14:00", "Sat 12:00-16:00"]
holidays = ["2026-02-30", "2026-12-27..2026-12-24"]
max_wake = "2 hours"
colour = "blue"

[ecs]
services = ["app-staging-cluster/backend"]

[ecs.service."app-staging-cluster/backend"]
depends_on = ["app-staging-dbb"]

[rds]
instances = ["app-staging-db"]
"#;

const OTHER: &str = r#"name = "staging"
region = "eu-west-1"
timezone = "Europe/Berlin"
awake = ["Mon-Fri 07:00-20:00"]

[ecs]
services = ["app-staging-cluster/backend"]
"#;

/// Every error in two files comes out in one run, with file:line:column and a fix.
#[test]
fn check_reports_every_error_with_file_line_column_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.toml"), BROKEN).unwrap();
    std::fs::write(dir.path().join("b.toml"), OTHER).unwrap();
    let (code, out) = check(dir.path());
    assert_eq!(code, 1, "{out}");
    let a = dir.path().join("a.toml").display().to_string();
    let b = dir.path().join("b.toml").display().to_string();
    let expect = [
        format!(
            "{a}:3:12: unknown time zone \"Australia/Sidney\" — did you mean \"Australia/Sydney\"?"
        ),
        format!(
            "{a}:4:15: unknown day \"Fry\" in window \"Mon-Fry 07:00-20:00\" — did you mean \"Fri\"?"
        ),
        format!(
            "{a}:4:38: hour 25 in \"25:00\" is out of range in window \"Tue 25:00-26:00\" — hours go from 00 to 23"
        ),
        format!(
            "{a}:4:57: window 09:00-09:00 is empty in window \"Wed 09:00-09:00\" — the end must differ from the start"
        ),
        format!(
            "{a}:4:90: window \"Sat 12:00-16:00\" overlaps \"Sat 10:00-14:00\" (both cover Sat 12:00)"
        ),
        format!("{a}:5:13: 2026-02-30 is not a date: February 2026 has 28 days (day 30)"),
        format!(
            "{a}:5:27: holiday range \"2026-12-27..2026-12-24\" ends (2026-12-24) before it starts (2026-12-27)"
        ),
        format!(
            "{a}:6:12: max_wake: \"2 hours\" has an unknown unit \"hours\": write it like \"2h\", \"90m\" or \"1h30m\""
        ),
        format!("{a}:7:1: unknown key `colour` in the environment"),
        format!(
            "{a}:13:15: \"app-staging-cluster/backend\" depends on unknown database \"app-staging-dbb\" — did you mean \"app-staging-db\"?"
        ),
        format!("{b}:1:8: environment name \"staging\" is already used by {a}"),
        format!(
            "{b}:7:13: ecs:app-staging-cluster/backend is also selected by environment \"staging\""
        ),
    ];
    for e in &expect {
        assert!(
            out.lines().any(|l| l.starts_with(e.as_str())),
            "missing line starting with\n  {e}\nin\n{out}"
        );
    }
    assert!(
        out.trim_end()
            .ends_with(&format!("{} errors", expect.len())),
        "{out}"
    );
}

/// The shipped example schedules pass `check`.
#[test]
fn shipped_schedules_pass_check() {
    let (code, out) = check(&Path::new(env!("CARGO_MANIFEST_DIR")).join("schedules"));
    assert_eq!(code, 0, "{out}");
}

/// A missing directory and a file that is not TOML are errors, not panics.
#[test]
fn unreadable_inputs_are_reported() {
    let (code, out) = check(Path::new("/nonexistent/schedules"));
    assert_eq!(code, 1);
    assert!(out.contains("/nonexistent/schedules: cannot read"), "{out}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.toml"), "region = \"eu-west-1\nawake = [").unwrap();
    let (code, out) = check(dir.path());
    assert_eq!(code, 1);
    assert!(
        out.contains("x.toml:1:20: invalid TOML: invalid basic string"),
        "{out}"
    );
    assert!(
        out.contains("x.toml:2:10: invalid TOML: unclosed array"),
        "{out}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// No input makes the parser panic: random text, and the broken file with one byte changed.
    #[test]
    fn parser_never_panics(s in "\\PC{0,200}", pos in 0usize..BROKEN.len(), byte in any::<u8>()) {
        let _ = config::parse_str(Path::new("f.toml"), &s);
        let mut bytes = BROKEN.as_bytes().to_vec();
        bytes[pos] = byte;
        let _ = config::parse_str(Path::new("f.toml"), &String::from_utf8_lossy(&bytes));
    }
}

/// The tables of the kinds added by issue 18 report their mistakes the same way: each with its
/// line, column and fix, all at once.
#[test]
fn the_new_kinds_tables_report_mistakes_with_line_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("staging.toml"),
        r#"name = "staging"
region = "eu-west-1"
timezone = "UTC"
awake = []
[asg]
grops = ["capacity"]
[ec2]
instances = ["i-0123", "i-0123456789abcdef0", "i-0123456789abcdef0"]
hibernate = "yes"
[redshift]
clusters = ["Warehouse_1"]
[docdb]
[[docdb.select]]
tag = { Team = "app" }
[neptune]
clusters = ["graph-"]
"#,
    )
    .unwrap();
    let (code, out) = check(dir.path());
    assert_eq!(code, 1, "{out}");
    let f = dir.path().join("staging.toml").display().to_string();
    for expect in [
        format!("{f}:6:1: unknown key `grops` in [asg] — did you mean `groups`?"),
        format!("{f}:8:14: \"i-0123\" is not an EC2 instance id — write the id"),
        format!("{f}:8:47: \"i-0123456789abcdef0\" is listed twice — remove one of them"),
        format!("{f}:9:13: `hibernate` must be true or false — write hibernate = true"),
        format!("{f}:11:13: \"Warehouse_1\" is not a Redshift cluster identifier"),
        format!("{f}:13:1: [[docdb.select]] needs `tags`"),
        format!("{f}:14:1: unknown key `tag` in [[docdb.select]] — did you mean `tags`?"),
        format!("{f}:16:13: \"graph-\" is not a Neptune cluster identifier"),
    ] {
        assert!(out.contains(&expect), "missing {expect:?} in:\n{out}");
    }
}
