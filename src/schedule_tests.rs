use super::*;
use crate::config::parse_str;
use chrono::{TimeDelta, TimeZone};
use proptest::prelude::*;
use std::path::Path;

/// An environment in `tz` with these windows and holidays.
fn env(tz: &str, windows: &[&str], holidays: &[&str]) -> Environment {
    let src = format!(
        "region = \"eu-west-1\"\ntimezone = \"{tz}\"\nawake = {windows:?}\nholidays = {holidays:?}\n[rds]\ninstances = [\"db\"]\n"
    );
    parse_str(Path::new("test.toml"), &src).unwrap_or_else(|e| panic!("{e}"))
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[test]
fn weekday_window_is_awake_inside_and_names_the_next_change() {
    let e = env("Europe/Berlin", &["Mon-Fri 07:00-20:00"], &[]);
    // Wednesday 2026-12-02 12:00 CET = 11:00 UTC.
    let d = scheduled(&e, utc("2026-12-02T11:00:00Z"));
    assert!(d.awake);
    assert_eq!(d.why, Why::Window("Mon-Fri 07:00-20:00".into()));
    assert_eq!(d.next_change, Some(utc("2026-12-02T19:00:00Z")));
    // Friday 21:00 CET: asleep until Monday 07:00 CET.
    let d = scheduled(&e, utc("2026-12-04T20:00:00Z"));
    assert!(!d.awake);
    assert_eq!(d.why, Why::OutsideWindows);
    assert_eq!(d.next_change, Some(utc("2026-12-07T06:00:00Z")));
    assert_eq!(
        d.describe(e.timezone, utc("2026-12-04T20:00:00Z")),
        "asleep until Mon 07:00 CET (schedule)"
    );
}

#[test]
fn window_boundaries_are_start_inclusive_end_exclusive() {
    let e = env("UTC", &["Mon-Fri 07:00-20:00"], &[]);
    assert!(scheduled(&e, utc("2026-12-02T07:00:00Z")).awake);
    assert!(!scheduled(&e, utc("2026-12-02T06:59:59Z")).awake);
    assert!(!scheduled(&e, utc("2026-12-02T20:00:00Z")).awake);
}

#[test]
fn midnight_crossing_window_runs_into_the_next_day() {
    let e = env("UTC", &["Fri 18:00-02:00"], &[]);
    // Saturday 01:00 belongs to Friday's window.
    let d = scheduled(&e, utc("2026-12-05T01:00:00Z"));
    assert!(d.awake);
    assert_eq!(d.next_change, Some(utc("2026-12-05T02:00:00Z")));
    assert!(!scheduled(&e, utc("2026-12-05T02:00:00Z")).awake);
    // Friday before the window: next change is Friday 18:00.
    let d = scheduled(&e, utc("2026-12-04T10:00:00Z"));
    assert_eq!(d.next_change, Some(utc("2026-12-04T18:00:00Z")));
}

#[test]
fn touching_windows_merge_into_one_awake_stretch() {
    let e = env("UTC", &["Fri 18:00-24:00", "Sat 00:00-03:00"], &[]);
    let d = scheduled(&e, utc("2026-12-04T19:00:00Z"));
    assert_eq!(d.next_change, Some(utc("2026-12-05T03:00:00Z")));
}

#[test]
fn holiday_sleeps_all_day_and_cuts_a_window_crossing_into_it() {
    let e = env(
        "UTC",
        &["daily 07:00-20:00", "Thu 22:00-02:00"],
        &["2026-12-25"],
    );
    // Christmas (a Friday) at noon: asleep, because of the holiday.
    let d = scheduled(&e, utc("2026-12-25T12:00:00Z"));
    assert!(!d.awake);
    assert_eq!(d.why, Why::Holiday("2026-12-25".parse().unwrap()));
    assert_eq!(d.next_change, Some(utc("2026-12-26T07:00:00Z")));
    // Thursday's late window stops at the holiday's midnight.
    let d = scheduled(&e, utc("2026-12-24T23:00:00Z"));
    assert!(d.awake);
    assert_eq!(d.next_change, Some(utc("2026-12-25T00:00:00Z")));
}

#[test]
fn holiday_ranges_and_leap_day() {
    let e = env("UTC", &["daily 09:00-17:00"], &["2028-02-28..2028-03-01"]);
    for day in ["2028-02-28", "2028-02-29", "2028-03-01"] {
        let d = scheduled(&e, utc(&format!("{day}T12:00:00Z")));
        assert!(!d.awake, "{day} is a holiday");
        assert_eq!(d.next_change, Some(utc("2028-03-02T09:00:00Z")));
    }
    let e = env("UTC", &["daily 09:00-17:00"], &["2028-02-29"]);
    assert!(!scheduled(&e, utc("2028-02-29T12:00:00Z")).awake);
    assert!(scheduled(&e, utc("2028-03-01T12:00:00Z")).awake);
    assert!(scheduled(&e, utc("2028-02-28T12:00:00Z")).awake);
}

#[test]
fn berlin_spring_forward_window_starting_in_the_gap_starts_at_the_transition() {
    // 2026-03-29 02:00 CET jumps to 03:00 CEST (01:00 UTC); 02:30 does not exist.
    let e = env("Europe/Berlin", &["Sun 02:30-06:00"], &[]);
    let d = scheduled(&e, utc("2026-03-28T12:00:00Z"));
    assert_eq!(d.next_change, Some(utc("2026-03-29T01:00:00Z")));
    let d = scheduled(&e, utc("2026-03-29T01:00:00Z"));
    assert!(d.awake);
    // 06:00 CEST = 04:00 UTC.
    assert_eq!(d.next_change, Some(utc("2026-03-29T04:00:00Z")));
}

#[test]
fn berlin_fall_back_hour_is_not_woken_twice() {
    // 2026-10-25 03:00 CEST falls back to 02:00 CET (01:00 UTC); 02:30 happens twice.
    let e = env("Europe/Berlin", &["Sat 22:00-02:30"], &[]);
    let d = scheduled(&e, utc("2026-10-24T21:00:00Z"));
    assert!(d.awake);
    // Ends at the first 02:30 (CEST, 00:30 UTC) ...
    assert_eq!(d.next_change, Some(utc("2026-10-25T00:30:00Z")));
    // ... and the second 02:30 (CET, 01:30 UTC) is still asleep, with the next wake a week on.
    let d = scheduled(&e, utc("2026-10-25T01:30:00Z"));
    assert!(!d.awake);
    assert_eq!(d.next_change, Some(utc("2026-10-31T21:00:00Z")));
}

#[test]
fn new_york_fall_back_window_inside_the_repeated_hour_starts_once() {
    // 2026-11-01 02:00 EDT falls back to 01:00 EST; 01:30 happens at 05:30 and 06:30 UTC.
    let e = env("America/New_York", &["Sun 01:30-05:00"], &[]);
    let d = scheduled(&e, utc("2026-11-01T05:00:00Z"));
    assert!(!d.awake);
    assert_eq!(d.next_change, Some(utc("2026-11-01T05:30:00Z")));
    // Awake through the repeated hour, one stretch until 05:00 EST (10:00 UTC).
    for t in [
        "2026-11-01T05:30:00Z",
        "2026-11-01T06:00:00Z",
        "2026-11-01T06:30:00Z",
    ] {
        let d = scheduled(&e, utc(t));
        assert!(d.awake, "{t}");
        assert_eq!(d.next_change, Some(utc("2026-11-01T10:00:00Z")));
    }
}

#[test]
fn new_york_spring_forward_shortens_the_night_not_the_day() {
    // 2026-03-08 02:00 EST jumps to 03:00 EDT.
    let e = env("America/New_York", &["daily 07:00-20:00"], &[]);
    let d = scheduled(&e, utc("2026-03-08T02:00:00Z")); // Sat 21:00 EST
    assert_eq!(d.next_change, Some(utc("2026-03-08T11:00:00Z"))); // Sun 07:00 EDT
}

#[test]
fn sydney_transitions_in_both_directions() {
    // 2026-04-05 03:00 AEDT falls back to 02:00 AEST; 2026-10-04 02:00 AEST jumps to 03:00 AEDT.
    let e = env("Australia/Sydney", &["Sun 02:30-04:00"], &[]);
    let d = scheduled(&e, utc("2026-04-04T12:00:00Z"));
    // First 02:30 is AEDT (+11): 15:30 UTC the day before.
    assert_eq!(d.next_change, Some(utc("2026-04-04T15:30:00Z")));
    let d = scheduled(&e, utc("2026-04-04T15:30:00Z"));
    // 04:00 AEST (+10) = 18:00 UTC: one stretch through the repeated hour.
    assert_eq!(d.next_change, Some(utc("2026-04-04T18:00:00Z")));
    let d = scheduled(&e, utc("2026-10-03T12:00:00Z"));
    // 02:30 does not exist on 2026-10-04: starts at 03:00 AEDT = 16:00 UTC.
    assert_eq!(d.next_change, Some(utc("2026-10-03T16:00:00Z")));
}

#[test]
fn no_windows_sleeps_until_woken() {
    let e = env("UTC", &[], &[]);
    let d = scheduled(&e, utc("2026-12-02T11:00:00Z"));
    assert!(!d.awake);
    assert_eq!(d.why, Why::NoWindows);
    assert_eq!(d.next_change, None);
}

#[test]
fn override_holds_until_it_ends_then_the_schedule_takes_over() {
    let e = env("UTC", &["Mon-Fri 07:00-20:00"], &[]);
    let ov = Override {
        env: "test".into(),
        hold: Hold::Awake,
        created: utc("2026-12-02T21:30:00Z"),
        until: utc("2026-12-02T23:30:00Z"),
        by: "alice".into(),
        reason: "hotfix".into(),
    };
    let d = decide(&e, Some(&ov), utc("2026-12-02T22:00:00Z"));
    assert!(d.awake);
    assert_eq!(d.next_change, Some(ov.until));
    assert_eq!(
        d.describe(e.timezone, utc("2026-12-02T22:00:00Z")),
        "awake until Wed 23:30 UTC (override by alice: hotfix)"
    );
    // An override that ends inside a window: the change is at the window's end.
    let early = Override {
        until: utc("2026-12-03T08:00:00Z"),
        ..ov.clone()
    };
    let d = decide(&e, Some(&early), utc("2026-12-02T22:00:00Z"));
    assert_eq!(d.next_change, Some(utc("2026-12-03T20:00:00Z")));
    // Expired: the schedule alone.
    assert!(!decide(&e, Some(&ov), utc("2026-12-02T23:30:00Z")).awake);
}

fn zone() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "Europe/Berlin",
        "America/New_York",
        "Australia/Sydney",
        "Australia/Lord_Howe",
        "UTC",
        "Asia/Kolkata",
    ])
}

fn window() -> impl Strategy<Value = String> {
    (0usize..7, 0usize..7, 0u16..24, 0u16..4, 1u16..24, 0u16..4).prop_filter_map(
        "empty window",
        |(a, b, h1, q1, h2, q2)| {
            let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
            let (s, e) = (h1 * 60 + q1 * 15, h2 * 60 + q2 * 15);
            (s != e % 1440).then(|| {
                format!(
                    "{}-{} {:02}:{:02}-{:02}:{:02}",
                    days[a],
                    days[b],
                    h1,
                    q1 * 15,
                    h2,
                    q2 * 15
                )
            })
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// The state holds from `now` up to the next change, and flips exactly there.
    #[test]
    fn state_holds_until_next_change_and_flips_there(
        tz in zone(),
        w in window(),
        secs in 1_767_225_600i64..1_830_297_600, // 2026 to 2027
        holiday_offset in 0u64..30,
    ) {
        let base = Utc.timestamp_opt(secs, 0).unwrap();
        let holiday = (base.date_naive() + Days::new(holiday_offset)).to_string();
        let e = env(tz, &[&w], &[&holiday]);
        let d = scheduled(&e, base);
        if let Some(next) = d.next_change {
            prop_assert!(next > base);
            let just_before = next - TimeDelta::seconds(1);
            prop_assert_eq!(scheduled(&e, just_before).awake, d.awake);
            let mid = base + (next - base) / 2;
            prop_assert_eq!(scheduled(&e, mid).awake, d.awake);
            prop_assert_ne!(scheduled(&e, next).awake, d.awake, "no flip at {}", next);
        }
    }

    /// No instant of a holiday's local date is awake.
    #[test]
    fn holidays_are_never_awake(tz in zone(), w in window(), secs in 1_767_225_600i64..1_830_297_600) {
        let t = Utc.timestamp_opt(secs, 0).unwrap();
        let e0 = env(tz, &[&w], &[]);
        let local_day = t.with_timezone(&e0.timezone).date_naive().to_string();
        let e = env(tz, &[&w], &[&local_day]);
        prop_assert!(!scheduled(&e, t).awake);
    }

    /// An override decides the state while it is active, and nothing else changes it.
    #[test]
    fn active_override_decides(tz in zone(), w in window(), secs in 1_767_225_600i64..1_830_297_600, hours in 1i64..12, awake: bool) {
        let now = Utc.timestamp_opt(secs, 0).unwrap();
        let e = env(tz, &[&w], &[]);
        let ov = Override {
            env: "t".into(),
            hold: if awake { Hold::Awake } else { Hold::Asleep },
            created: now,
            until: now + TimeDelta::hours(hours),
            by: "p".into(),
            reason: String::new(),
        };
        let d = decide(&e, Some(&ov), now);
        prop_assert_eq!(d.awake, awake);
        if let Some(next) = d.next_change {
            prop_assert!(next >= ov.until);
            prop_assert_ne!(decide(&e, Some(&ov), next).awake, awake);
        }
    }
}

/// The week as the page draws it: one stretch per working day, clipped to the range asked for.
#[test]
fn awake_intervals_are_the_weeks_windows_clipped_to_the_range() {
    let e = env("Europe/Berlin", &["Mon-Fri 07:00-20:00"], &[]);
    // From Wednesday 2026-12-02 12:00 CET for 7 days.
    let from = utc("2026-12-02T11:00:00Z");
    let got = awake_intervals(&e, from, from + TimeDelta::days(7));
    let want: Vec<(DateTime<Utc>, DateTime<Utc>)> = [
        ("2026-12-02T11:00:00Z", "2026-12-02T19:00:00Z"),
        ("2026-12-03T06:00:00Z", "2026-12-03T19:00:00Z"),
        ("2026-12-04T06:00:00Z", "2026-12-04T19:00:00Z"),
        ("2026-12-07T06:00:00Z", "2026-12-07T19:00:00Z"),
        ("2026-12-08T06:00:00Z", "2026-12-08T19:00:00Z"),
        ("2026-12-09T06:00:00Z", "2026-12-09T11:00:00Z"),
    ]
    .iter()
    .map(|(a, b)| (utc(a), utc(b)))
    .collect();
    assert_eq!(got, want);
    assert!(awake_intervals(&env("UTC", &[], &[]), from, from + TimeDelta::days(7)).is_empty());
}

/// Across Sydney's spring-forward night (Sunday 4 October 2026, 02:00 → 03:00) a window keeps
/// its local hours: 07:00–20:00 is 13 hours on both sides, at a different UTC offset; a window
/// crossing midnight merges with the next day's into one stretch.
#[test]
fn awake_intervals_keep_local_hours_across_dst() {
    let e = env("Australia/Sydney", &["Sat-Mon 07:00-20:00"], &[]);
    let from = utc("2026-10-02T14:00:00Z"); // Sat 3 Oct 00:00 AEST
    let got = awake_intervals(&e, from, from + TimeDelta::days(3));
    assert_eq!(got.len(), 3, "{got:?}");
    // Saturday at +10:00, Sunday and Monday at +11:00.
    assert_eq!(
        got[0],
        (utc("2026-10-02T21:00:00Z"), utc("2026-10-03T10:00:00Z"))
    );
    assert_eq!(
        got[1],
        (utc("2026-10-03T20:00:00Z"), utc("2026-10-04T09:00:00Z"))
    );
    assert_eq!(
        got[2],
        (utc("2026-10-04T20:00:00Z"), utc("2026-10-05T09:00:00Z"))
    );
    let e = env(
        "Pacific/Honolulu",
        &["Fri 18:00-02:00", "Sat 02:00-04:00"],
        &["2026-12-25"],
    );
    let from = utc("2026-12-04T10:00:00Z"); // Fri 4 Dec 00:00 HST
    let got = awake_intervals(&e, from, from + TimeDelta::days(2));
    assert_eq!(
        got,
        [(utc("2026-12-05T04:00:00Z"), utc("2026-12-05T14:00:00Z"))]
    );
}
