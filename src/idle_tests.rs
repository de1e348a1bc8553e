//! Idle to sleep, decided purely: at both ends of the clock (Australia/Sydney,
//! Pacific/Honolulu) and across a DST change.

use super::*;
use crate::config::parse_str;
use std::path::Path;

const RULE: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/s/50dc/f2f7/9683";
const APP: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/backend/73e2";
const WAKE: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/wake/2453";

/// An environment in `tz` with weekday windows, a front door and the idle keys `idle`.
fn env(tz: &str, idle: &str) -> Environment {
    let src = format!(
        "region = \"eu-west-1\"\ntimezone = \"{tz}\"\nawake = [\"Mon-Fri 07:00-20:00\"]\n{idle}\n\
         [ecs]\nservices = [\"app/backend\"]\n\
         [[alb.rules]]\nrule = \"{RULE}\"\napp = \"{APP}\"\nwake = \"{WAKE}\"\n"
    );
    parse_str(Path::new("staging.toml"), &src).unwrap_or_else(|e| panic!("{e}"))
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn wake(env: &Environment, created: &str, hours: i64) -> Override {
    Override {
        env: env.name.clone(),
        hold: Hold::Awake,
        created: utc(created),
        until: utc(created) + TimeDelta::hours(hours),
        by: "alice".into(),
        reason: String::new(),
    }
}

/// Requests in the minutes starting at these instants.
fn hits(at: &[&str]) -> Vec<Minute> {
    at.iter()
        .map(|t| Minute {
            at: utc(t),
            requests: 3.0,
        })
        .collect()
}

/// The instant of the first idle sleep, checking every minute from `from` for `minutes`.
fn first_sleep(
    env: &Environment,
    ov: Option<&Override>,
    from: DateTime<Utc>,
    minutes: i64,
    requests: &[Minute],
) -> Option<(DateTime<Utc>, IdleSleep)> {
    (0..=minutes).find_map(|i| {
        let now = from + TimeDelta::minutes(i);
        let w = watch(env, ov, now)?;
        // Only the counts the adapter would read: the idle window up to now.
        let (lo, hi) = w.needs_counts(&[])?;
        let seen: Vec<Minute> = requests
            .iter()
            .filter(|m| m.at >= lo - MINUTE && m.at < hi)
            .copied()
            .collect();
        match decide(env, &w, &seen, &[]) {
            Verdict::Sleep(s) => Some((now, s)),
            Verdict::Stay(_) => None,
        }
    })
}

/// A wake in Sydney at night ends 45 minutes after its last request, and (outside the
/// windows) holds nothing: the schedule has it asleep.
#[test]
fn a_wake_in_sydney_ends_after_the_idle_window_from_its_last_request() {
    let e = env("Australia/Sydney", "idle_wake = \"45m\"");
    // Wednesday 2026-12-02 21:00 AEDT = 10:00 UTC.
    let ov = wake(&e, "2026-12-02T10:00:00Z", 4);
    let requests = hits(&["2026-12-02T10:05:00Z", "2026-12-02T10:20:00Z"]);
    let (at, s) =
        first_sleep(&e, Some(&ov), utc("2026-12-02T10:00:00Z"), 240, &requests).expect("it sleeps");
    // The last request's minute ends at 10:21; 45 minutes later.
    assert_eq!(at, utc("2026-12-02T11:06:00Z"));
    assert!(s.ends_wake);
    assert_eq!(s.hold_until, None);
    assert_eq!(s.quiet_since, utc("2026-12-02T10:21:00Z"));
    assert!(
        s.reason.contains("for 45m (since 2026-12-02 21:21 AEDT)"),
        "{}",
        s.reason
    );
    // Seen from 10:30, with those requests, it was due at the instant it happened.
    let w = watch(&e, Some(&ov), utc("2026-12-02T10:30:00Z")).unwrap();
    assert_eq!(due(&w, &requests), at);
    // With none at all, at the earliest: the idle window after the wake.
    assert_eq!(due(&w, &[]), utc("2026-12-02T10:45:00Z"));
}

/// Never before the minimum awake time, even with no request at all.
#[test]
fn a_wake_with_no_requests_lasts_its_minimum_awake_time() {
    let e = env(
        "Pacific/Honolulu",
        "idle_wake = \"10m\"\nidle_min_awake = \"25m\"",
    );
    let ov = wake(&e, "2026-12-03T08:00:00Z", 2);
    let (at, s) = first_sleep(&e, Some(&ov), utc("2026-12-03T08:00:00Z"), 120, &[]).unwrap();
    assert_eq!(at, utc("2026-12-03T08:25:00Z"));
    assert_eq!(s.quiet_since, utc("2026-12-03T08:00:00Z"));
    let w = watch(&e, Some(&ov), utc("2026-12-03T08:24:00Z")).unwrap();
    assert_eq!(
        w.needs_counts(&[]),
        None,
        "no metrics read before it may sleep"
    );
    let Verdict::Stay(why) = decide(&e, &w, &[], &[]) else {
        panic!("stays")
    };
    assert!(why.contains("no sooner than"), "{why}");
}

/// A deployment under way keeps it awake, and the counts are not even read.
#[test]
fn never_during_a_deployment() {
    let e = env("Pacific/Honolulu", "idle_wake = \"30m\"");
    let ov = wake(&e, "2026-12-03T08:00:00Z", 4);
    let w = watch(&e, Some(&ov), utc("2026-12-03T10:00:00Z")).unwrap();
    let deploying = vec!["app/backend".to_string()];
    assert_eq!(w.needs_counts(&deploying), None);
    let Verdict::Stay(why) = decide(&e, &w, &[], &deploying) else {
        panic!("stays")
    };
    assert!(why.contains("deployment of app/backend"), "{why}");
}

/// Inside a Honolulu window with `idle_sleep`, an idle environment sleeps until the next
/// window start — over a weekend, Monday 07:00 HST.
#[test]
fn inside_a_honolulu_window_idle_sleep_holds_until_the_next_start() {
    let e = env("Pacific/Honolulu", "idle_sleep = \"45m\"");
    // Friday 2026-12-04 07:00 HST = 17:00 UTC; a request at 07:10.
    let requests = hits(&["2026-12-04T17:10:00Z"]);
    let (at, s) = first_sleep(&e, None, utc("2026-12-04T17:00:00Z"), 600, &requests).unwrap();
    assert_eq!(at, utc("2026-12-04T17:56:00Z"));
    assert!(!s.ends_wake);
    // Monday 2026-12-07 07:00 HST.
    assert_eq!(s.hold_until, Some(utc("2026-12-07T17:00:00Z")));
}

/// Without `idle_sleep`, windows are never cut short; held asleep, nothing is watched.
#[test]
fn what_is_watched() {
    let wakes_only = env("Australia/Sydney", "idle_wake = \"30m\"");
    // Wednesday 12:00 AEDT, inside the window, no override.
    let noon = utc("2026-12-02T01:00:00Z");
    assert_eq!(watch(&wakes_only, None, noon), None);
    let both = env("Australia/Sydney", "idle_sleep = \"45m\"");
    let w = watch(&both, None, noon).unwrap();
    assert_eq!(w.holder, Holder::Window);
    assert_eq!(w.since, utc("2026-12-01T20:00:00Z"), "07:00 AEDT");
    let mut asleep = wake(&both, "2026-12-02T00:00:00Z", 4);
    asleep.hold = Hold::Asleep;
    assert_eq!(watch(&both, Some(&asleep), noon), None);
    let off = env("Australia/Sydney", "");
    assert_eq!(
        watch(&off, Some(&wake(&off, "2026-12-02T00:00:00Z", 4)), noon),
        None
    );
    // A wake inside the window with idle_sleep: the wake is what idleness ends.
    let w = watch(&both, Some(&wake(&both, "2026-12-02T00:30:00Z", 4)), noon).unwrap();
    assert_eq!((w.holder, w.after), (Holder::Wake, TimeDelta::minutes(45)));
    // Without idle_sleep, a wake inside the window is left to the window, and watched from the
    // window's end (20:00 AEDT = 09:00 UTC) on.
    let evening = wake(&wakes_only, "2026-12-02T08:00:00Z", 3);
    assert_eq!(
        watch(&wakes_only, Some(&evening), utc("2026-12-02T08:30:00Z")),
        None
    );
    let w = watch(&wakes_only, Some(&evening), utc("2026-12-02T09:00:00Z")).unwrap();
    assert_eq!(
        (w.holder, w.since),
        (Holder::Wake, utc("2026-12-02T08:00:00Z"))
    );
}

/// Across Sydney's spring-forward (Sunday 2026-10-04 02:00 AEST → 03:00 AEDT), the idle
/// window is 45 real minutes, not 45 minutes of the local clock (which shows 1 h 45 min).
#[test]
fn across_the_dst_change_the_idle_window_is_elapsed_time() {
    let e = env("Australia/Sydney", "idle_wake = \"45m\"");
    // Woken 01:30 AEST (15:30 UTC Saturday); the last request 01:50 AEST.
    let ov = wake(&e, "2026-10-03T15:30:00Z", 4);
    let requests = hits(&["2026-10-03T15:49:00Z"]);
    let (at, s) = first_sleep(&e, Some(&ov), utc("2026-10-03T15:30:00Z"), 240, &requests).unwrap();
    assert_eq!(at, utc("2026-10-03T16:35:00Z"));
    // 03:35 on the local clock, in summer time.
    assert!(
        s.reason.contains("since 2026-10-04 01:50 AEST"),
        "{}",
        s.reason
    );
    assert_eq!(
        at.with_timezone(&e.timezone).format("%H:%M %Z").to_string(),
        "03:35 AEDT"
    );
}

/// Idle inside the window on the Friday before the change: held asleep until Monday 07:00,
/// which is in summer time (20:00 UTC Sunday, not 21:00).
#[test]
fn a_hold_over_the_dst_weekend_ends_at_mondays_local_start() {
    let e = env("Australia/Sydney", "idle_sleep = \"45m\"");
    // Friday 2026-10-02 07:00 AEST = Thursday 21:00 UTC.
    let (at, s) = first_sleep(&e, None, utc("2026-10-01T21:00:00Z"), 120, &[]).unwrap();
    assert_eq!(at, utc("2026-10-01T21:45:00Z"));
    assert_eq!(s.hold_until, Some(utc("2026-10-04T20:00:00Z")));
}

#[test]
fn counts_add_up_by_minute() {
    let m = |t: &str, n: f64| Minute {
        at: utc(t),
        requests: n,
    };
    let got = by_minute([
        m("2026-12-02T10:01:00Z", 2.0),
        m("2026-12-02T10:00:00Z", 1.0),
        m("2026-12-02T10:01:00Z", 5.0),
    ]);
    assert_eq!(
        got,
        vec![
            m("2026-12-02T10:00:00Z", 1.0),
            m("2026-12-02T10:01:00Z", 7.0)
        ]
    );
}

/// The idle keys are checked like the rest of the file: file, line, and the fix.
#[test]
fn idle_keys_are_checked_with_file_line_and_fix() {
    let no_door = "region = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = []\nidle_sleep = \"45m\"\n[rds]\ninstances = [\"db\"]\n";
    let e = parse_str(Path::new("staging.toml"), no_door)
        .unwrap_err()
        .to_string();
    assert!(e.contains("staging.toml:4:"), "{e}");
    assert!(e.contains("needs an [alb] table"), "{e}");
    let src = |idle: &str| {
        format!(
            "region = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = []\n{idle}\n[ecs]\nservices = [\"a/b\"]\n\
             [[alb.rules]]\nrule = \"{RULE}\"\napp = \"{APP}\"\nwake = \"{WAKE}\"\n"
        )
    };
    let e = parse_str(Path::new("staging.toml"), &src("idle_wake = \"5m\""))
        .unwrap_err()
        .to_string();
    assert!(e.contains("staging.toml:4:13"), "{e}");
    assert!(e.contains("shorter than 10 minutes"), "{e}");
    let e = parse_str(Path::new("staging.toml"), &src("mute_alarms = [\"\"]"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("mute every alarm"), "{e}");
    let ok = parse_str(
        Path::new("staging.toml"),
        &src("idle_sleep = \"45m\"\nidle_wake = \"20m\"\nmute_alarms = [\"staging-\"]"),
    )
    .unwrap();
    let idle = ok.idle.unwrap();
    assert_eq!(idle.wake_after, TimeDelta::minutes(20));
    assert_eq!(idle.window_after, Some(TimeDelta::minutes(45)));
    assert_eq!(idle.min_awake, TimeDelta::minutes(15));
    assert_eq!(ok.mute_alarms, ["staging-"]);
}

/// `[events]` is checked like the rest: a bus name, an http(s) URL, and a secret named by an
/// environment variable (never the secret itself), only with a URL.
#[test]
fn events_keys_are_checked_with_file_line_and_fix() {
    let src = |events: &str| {
        format!(
            "region = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = []\n[events]\n{events}\n[rds]\ninstances = [\"db\"]\n"
        )
    };
    let err = |events: &str| {
        parse_str(Path::new("staging.toml"), &src(events))
            .unwrap_err()
            .to_string()
    };
    let e = err("bus = \"my bus\"");
    assert!(
        e.contains("staging.toml:5:7") && e.contains("bus = \"default\""),
        "{e}"
    );
    let e = err("webhook_url = \"ftp://x\"");
    assert!(e.contains("not an http(s) URL"), "{e}");
    let e = err("webhook_url = \"https://x\"\nwebhook_secret_env = \"s3cr3t-value\"");
    assert!(
        e.contains("staging.toml:6:") && e.contains("never the secret itself"),
        "{e}"
    );
    let e = err("webhook_secret_env = \"LIGHTSOUT_EVENTS_SECRET\"");
    assert!(e.contains("without `webhook_url`"), "{e}");
    let e = err("webhook_secret = \"abc\"");
    assert!(e.contains("secrets do not belong in schedule files"), "{e}");
    let ok = parse_str(
        Path::new("staging.toml"),
        &src("bus = \"default\"\nwebhook_url = \"https://ci.example.com/h\"\nwebhook_secret_env = \"LIGHTSOUT_EVENTS_SECRET\""),
    )
    .unwrap();
    assert_eq!(ok.events.bus.as_deref(), Some("default"));
    assert_eq!(
        ok.events.webhook_secret_env.as_deref(),
        Some("LIGHTSOUT_EVENTS_SECRET")
    );
}

/// The first minute from `from` (checking every minute for `minutes`) at which the heads-up
/// before the idle sleep is due, seeing only the counts a pass would read, with `audit_use` the
/// newest use in the audit; returns that minute, the idle sleep's instant and its quiet-since
/// (the claim's name), and checks that the name stays the same every minute after, up to the
/// sleep.
fn first_heads_up(
    env: &Environment,
    ov: Option<&Override>,
    from: DateTime<Utc>,
    minutes: i64,
    requests: &[Minute],
    audit_use: Option<DateTime<Utc>>,
) -> Option<(DateTime<Utc>, DateTime<Utc>, DateTime<Utc>)> {
    let seen_at = |now: DateTime<Utc>| {
        let w = watch(env, ov, now)?;
        let (lo, hi) = w.reads(&[], env.heads_up)?;
        let seen: Vec<Minute> = requests
            .iter()
            .filter(|m| m.at >= lo - MINUTE && m.at < hi)
            .copied()
            .collect();
        let up = upcoming(&w, &seen, &[])?;
        let used = audit_use.max(up.last_request);
        heads_up_due(env, ov, &up, now, used).map(|at| (now, at, up.quiet_since))
    };
    let first = (0..=minutes).find_map(|i| seen_at(from + TimeDelta::minutes(i)))?;
    let mut now = first.0;
    while now < first.1 {
        let again = seen_at(now).expect("due every minute up to the sleep");
        assert_eq!((again.1, again.2), (first.1, first.2), "at {now}");
        now += MINUTE;
    }
    Some(first)
}

/// Sydney: woken 21:00 AEDT, used 21:05 and 21:20, `idle_wake = "45m"`, `heads_up = "15m"`:
/// the idle sleep comes at 22:06 AEDT and its heads-up at 21:51, named by the quiet-since
/// (21:21) every minute up to the sleep. The requests alone are the use (no audit).
#[test]
fn sydney_heads_up_fifteen_minutes_before_the_idle_sleep() {
    let e = env(
        "Australia/Sydney",
        "idle_wake = \"45m\"\nheads_up = \"15m\"",
    );
    let ov = wake(&e, "2026-12-02T10:00:00Z", 4);
    let requests = hits(&["2026-12-02T10:05:00Z", "2026-12-02T10:20:00Z"]);
    let (at, sleeps_at, quiet) = first_heads_up(
        &e,
        Some(&ov),
        utc("2026-12-02T10:00:00Z"),
        240,
        &requests,
        None,
    )
    .unwrap();
    assert_eq!(at, utc("2026-12-02T10:51:00Z"));
    assert_eq!(sleeps_at, utc("2026-12-02T11:06:00Z"));
    assert_eq!(quiet, utc("2026-12-02T10:21:00Z"));
    let (slept, _) =
        first_sleep(&e, Some(&ov), utc("2026-12-02T10:00:00Z"), 240, &requests).unwrap();
    assert_eq!(
        slept, sleeps_at,
        "the heads-up names the instant it really sleeps"
    );
    let m = crate::service::heads_up::message(&e, sleeps_at, at, None);
    assert_eq!(
        m["text"],
        "staging sleeps at 22:06 (Australia/Sydney) — Keep 1 h or Sleep now"
    );
    // Without a use in the last hour (no requests, nothing in the audit): no heads-up.
    assert_eq!(
        first_heads_up(&e, Some(&ov), utc("2026-12-02T10:00:00Z"), 240, &[], None),
        None
    );
    // Woken for only an hour: the wake's end (22:00) comes before the idle sleep (22:06).
    let short = wake(&e, "2026-12-02T10:00:00Z", 1);
    assert_eq!(
        first_heads_up(
            &e,
            Some(&short),
            utc("2026-12-02T10:00:00Z"),
            60,
            &requests,
            None
        ),
        None
    );
}

/// Honolulu, no requests at all: the idle sleep comes at the minimum awake time (08:25 UTC,
/// 22:25 HST), the heads-up 15 minutes before — the counts are read from then, not only from
/// the earliest sleep — when the wake itself (the audit) is the use.
#[test]
fn honolulu_heads_up_before_the_minimum_awake_time_runs_out() {
    let e = env(
        "Pacific/Honolulu",
        "idle_wake = \"10m\"\nidle_min_awake = \"25m\"\nheads_up = \"15m\"",
    );
    let ov = wake(&e, "2026-12-03T08:00:00Z", 2);
    let woke = Some(utc("2026-12-03T08:00:00Z"));
    let (at, sleeps_at, quiet) =
        first_heads_up(&e, Some(&ov), utc("2026-12-03T08:00:00Z"), 120, &[], woke).unwrap();
    assert_eq!(
        (at, sleeps_at, quiet),
        (
            utc("2026-12-03T08:10:00Z"),
            utc("2026-12-03T08:25:00Z"),
            utc("2026-12-03T08:00:00Z")
        )
    );
    let w = watch(&e, Some(&ov), utc("2026-12-03T08:09:00Z")).unwrap();
    assert_eq!(
        w.reads(&[], e.heads_up),
        None,
        "nothing read before the lead"
    );
    let w = watch(&e, Some(&ov), utc("2026-12-03T08:10:00Z")).unwrap();
    assert_eq!(
        w.reads(&[], e.heads_up),
        Some((utc("2026-12-03T07:10:00Z"), utc("2026-12-03T08:10:00Z"))),
        "an hour back, for use"
    );
    assert_eq!(
        w.needs_counts(&[]),
        None,
        "without a heads-up, from the earliest only"
    );
    let m = crate::service::heads_up::message(&e, sleeps_at, at, None);
    assert_eq!(
        m["text"],
        "staging sleeps at 22:25 (Pacific/Honolulu) — Keep 1 h or Sleep now"
    );
}

/// Across Sydney's spring-forward, the heads-up is 15 real minutes before the idle sleep
/// (16:20 UTC, 03:20 AEDT, for 16:35 UTC, 03:35 AEDT).
#[test]
fn heads_up_before_an_idle_sleep_across_the_dst_change() {
    let e = env(
        "Australia/Sydney",
        "idle_wake = \"45m\"\nheads_up = \"15m\"",
    );
    let ov = wake(&e, "2026-10-03T15:30:00Z", 4);
    let requests = hits(&["2026-10-03T15:49:00Z"]);
    let (at, sleeps_at, _) = first_heads_up(
        &e,
        Some(&ov),
        utc("2026-10-03T15:30:00Z"),
        240,
        &requests,
        None,
    )
    .unwrap();
    assert_eq!(at, utc("2026-10-03T16:20:00Z"));
    assert_eq!(sleeps_at, utc("2026-10-03T16:35:00Z"));
    let m = crate::service::heads_up::message(&e, sleeps_at, at, None);
    assert_eq!(
        m["text"],
        "staging sleeps at 03:35 (Australia/Sydney) — Keep 1 h or Sleep now"
    );
}

/// "Keep 1 h" clicked at the heads-up holds the idle sleep off for the whole hour, though the
/// idle window from the click is shorter.
#[test]
fn keep_one_hour_holds_the_idle_sleep_off_for_the_hour() {
    let e = env(
        "Australia/Sydney",
        "idle_wake = \"30m\"\nheads_up = \"15m\"",
    );
    // Kept at 21:50 AEDT: a fresh wake from the click.
    let click = utc("2026-12-02T10:50:00Z");
    let ov = wake(&e, "2026-12-02T10:50:00Z", 1);
    let mut w = watch(&e, Some(&ov), click + TimeDelta::minutes(30)).unwrap();
    assert_eq!(w.since, click, "idle counts from the click");
    assert!(matches!(decide(&e, &w, &[], &[]), Verdict::Sleep(_)));
    w.kept_until = Some(click + TimeDelta::hours(1));
    assert!(matches!(decide(&e, &w, &[], &[]), Verdict::Stay(_)));
    assert_eq!(due(&w, &[]), click + TimeDelta::hours(1));
}
