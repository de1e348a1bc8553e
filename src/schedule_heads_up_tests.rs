//! When a heads-up before a sleep is due: in the environment's own zone, at both ends of the
//! clock (Australia/Sydney, Pacific/Honolulu) and across a DST change.

use super::*;
use crate::config::parse_str;
use chrono::TimeDelta;
use std::path::Path;

/// An environment in `tz` awake in `windows`, with a 15-minute heads-up.
fn env(tz: &str, windows: &[&str]) -> Environment {
    let src = format!(
        "region = \"eu-west-1\"\ntimezone = \"{tz}\"\nawake = {windows:?}\nheads_up = \"15m\"\n[rds]\ninstances = [\"db\"]\n"
    );
    parse_str(Path::new("test.toml"), &src).unwrap_or_else(|e| panic!("{e}"))
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn min(n: i64) -> TimeDelta {
    TimeDelta::minutes(n)
}

fn wake(until: DateTime<Utc>, created: DateTime<Utc>, hold: Hold) -> Override {
    Override {
        env: "test".into(),
        hold,
        created,
        until,
        by: "alice".into(),
        reason: String::new(),
    }
}

/// Sydney, Wednesday 2026-12-02: 20:00 AEDT is 09:00 UTC. Due from 19:45 local until the sleep,
/// only when used within the hour.
#[test]
fn sydney_heads_up_is_due_fifteen_minutes_before_a_used_environment_sleeps() {
    let e = env("Australia/Sydney", &["Mon-Fri 07:00-20:00"]);
    let sleep = utc("2026-12-02T09:00:00Z");
    let used = Some(sleep - min(50));
    assert_eq!(heads_up_due(&e, None, sleep - min(15), used), Some(sleep));
    assert_eq!(heads_up_due(&e, None, sleep - min(1), used), Some(sleep));
    assert_eq!(
        heads_up_due(&e, None, sleep - min(16), used),
        None,
        "too early"
    );
    assert_eq!(heads_up_due(&e, None, sleep, used), None, "already asleep");
    // Used 61 minutes before now: not in the last hour.
    assert_eq!(
        heads_up_due(&e, None, sleep - min(10), Some(sleep - min(71))),
        None
    );
    assert_eq!(
        heads_up_due(&e, None, sleep - min(10), None),
        None,
        "never used"
    );
    assert_eq!(
        heads_up_from(&e, None, sleep - min(120)),
        Some(sleep - min(15)),
        "the daemon looks again when it falls due"
    );
}

/// Honolulu (UTC−10, no DST): 20:00 HST Wednesday is 06:00 UTC Thursday.
#[test]
fn honolulu_heads_up_is_due_on_the_utc_next_day() {
    let e = env("Pacific/Honolulu", &["Mon-Fri 07:00-20:00"]);
    let sleep = utc("2026-12-03T06:00:00Z");
    assert_eq!(
        heads_up_due(&e, None, sleep - min(15), Some(sleep - min(20))),
        Some(sleep)
    );
    assert_eq!(
        heads_up_due(&e, None, sleep - min(16), Some(sleep - min(20))),
        None
    );
}

/// Sydney's DST starts Sunday 2026-10-04 at 02:00 (clocks go to 03:00): Saturday's 20:00 is
/// 10:00 UTC (AEST), Sunday's 09:00 UTC (AEDT), and each heads-up is 15 real minutes before. A
/// window ending inside the gap (02:30) ends at 03:00 AEDT, and its heads-up is 15 real
/// minutes before that instant (01:45 AEST on the wall clock).
#[test]
fn heads_up_keeps_its_lead_across_sydneys_dst_change() {
    let e = env("Australia/Sydney", &["Sat-Sun 07:00-20:00"]);
    for sleep in [utc("2026-10-03T10:00:00Z"), utc("2026-10-04T09:00:00Z")] {
        let used = Some(sleep - min(30));
        assert_eq!(heads_up_due(&e, None, sleep - min(15), used), Some(sleep));
        assert_eq!(heads_up_due(&e, None, sleep - min(16), used), None);
    }
    let e = env("Australia/Sydney", &["Sat 22:00-02:30"]);
    let sleep = utc("2026-10-03T16:00:00Z");
    assert!(scheduled(&e, sleep - min(1)).awake);
    let used = Some(sleep - min(30));
    assert_eq!(heads_up_due(&e, None, sleep - min(15), used), Some(sleep));
    assert_eq!(heads_up_due(&e, None, sleep - min(16), used), None);
}

/// Only a sleep the schedule makes: a wake running past the window's end is not announced (its
/// end is a wake running out), a wake ending inside the window leaves the window's end
/// announced, and an environment held asleep has nothing to announce.
#[test]
fn only_scheduled_sleeps_are_announced() {
    let e = env("Australia/Sydney", &["Mon-Fri 07:00-20:00"]);
    let sleep = utc("2026-12-02T09:00:00Z");
    let now = sleep - min(10);
    let used = Some(now - min(5));
    let past_end = wake(sleep + min(60), now - min(5), Hold::Awake);
    assert_eq!(heads_up_due(&e, Some(&past_end), now, used), None);
    assert_eq!(
        heads_up_due(
            &e,
            Some(&past_end),
            sleep + min(50),
            used.map(|u| u + min(60))
        ),
        None,
        "nor the wake's own end"
    );
    let inside = wake(sleep - min(5), now - min(5), Hold::Awake);
    assert_eq!(heads_up_due(&e, Some(&inside), now, used), Some(sleep));
    let held = wake(sleep + min(600), now - min(5), Hold::Asleep);
    assert_eq!(heads_up_due(&e, Some(&held), now, used), None);
    let mut quiet = e.clone();
    quiet.heads_up = None;
    assert_eq!(
        heads_up_due(&quiet, None, now, used),
        None,
        "not configured"
    );
}

/// `heads_up` is a duration between a minute and 12 hours; the error names the line.
#[test]
fn heads_up_outside_its_range_is_refused_with_the_fix() {
    for (value, ok) in [
        ("15m", true),
        ("12h", true),
        ("13h", false),
        ("0m", false),
        ("soon", false),
    ] {
        let src = format!(
            "region = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = []\nheads_up = \"{value}\"\n[rds]\ninstances = [\"db\"]\n"
        );
        let parsed = parse_str(Path::new("test.toml"), &src);
        assert_eq!(
            parsed.is_ok(),
            ok,
            "{value}: {:?}",
            parsed.err().map(|e| e.to_string())
        );
        if let Err(e) = parsed {
            assert!(e.to_string().contains("test.toml:4:12: heads_up"), "{e}");
        }
    }
}
