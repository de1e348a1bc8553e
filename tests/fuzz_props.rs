//! Bad input, fuzzed with proptest (`cargo fuzz` needs a nightly toolchain, which this project's
//! machines do not have): the window, duration, schedule-file and Slack command parsers never
//! panic on any input; every config `check` accepts can be run by the engine without a panic.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{TimeZone, Utc};
use lightsout::api::slack::parse_command;
use lightsout::config;
use lightsout::kinds::ServiceName;
use lightsout::kinds::{Bounds, DbKind, Observation, ObservedDb, ObservedService, Scalable, tags};
use lightsout::model::{Hold, Override};
use lightsout::model::{Window, parse_duration};
use lightsout::plan::plan;
use lightsout::schedule::decide;
use proptest::prelude::*;

/// Cases per parser property; the closing note reports the totals.
const CASES: u32 = 4000;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn window_parser_never_panics(s in "\\PC{0,40}") {
        let _ = Window::parse(&s);
    }

    #[test]
    fn window_parser_never_panics_on_near_misses(days in "[A-Za-z,\\-]{0,12}", h1 in 0u32..40, m1 in 0u32..80, h2 in 0u32..40, m2 in 0u32..80, sep in "[ :\\-]{1,2}") {
        let s = format!("{days} {h1:02}:{m1:02}{sep}{h2:02}:{m2:02}");
        if let Err(e) = Window::parse(&s) {
            prop_assert!(e.span.end <= s.len(), "span {:?} outside {s:?}", e.span);
            prop_assert!(s.is_char_boundary(e.span.start) && s.is_char_boundary(e.span.end));
        }
    }

    #[test]
    fn duration_parser_never_panics(s in "\\PC{0,30}") {
        let _ = parse_duration(&s);
    }

    #[test]
    fn slack_command_parser_never_panics(cmd in "/?\\PC{0,20}", text in "\\PC{0,80}") {
        let _ = parse_command(&cmd, &text, &["staging", "preview"]);
        let _ = parse_command(&cmd, &text, &[]);
    }

    #[test]
    fn schedule_parser_never_panics_on_toml_shaped_input(
        keys in prop::collection::vec("[a-z_]{1,12}", 0..6),
        values in prop::collection::vec(prop_oneof!["\"[^\"\\\\]{0,20}\"", "-?[0-9]{1,20}", "\\[\"[^\"]{0,20}\"\\]", "\\{ [a-z]+ = \"[a-z]*\" \\}", "20[0-9]{2}-[0-9]{2}-[0-9]{2}"], 0..6),
        table in prop::option::of(prop_oneof!["ecs", "rds", "guard", "ecs.service.\"a/b\"", "\\[ecs.select\\]"]),
    ) {
        let mut src = String::new();
        for (k, v) in keys.iter().zip(values.iter()) {
            src.push_str(&format!("{k} = {v}\n"));
        }
        if let Some(t) = table {
            src.push_str(&format!("[{t}]\n"));
            for (k, v) in keys.iter().zip(values.iter()).rev() {
                src.push_str(&format!("{k} = {v}\n"));
            }
        }
        let _ = config::parse_str(Path::new("fuzz.toml"), &src);
    }
}

fn zone() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "Australia/Sydney",
        "Asia/Kathmandu",
        "Pacific/Chatham",
    ])
}

fn window() -> impl Strategy<Value = String> {
    let day = prop::sample::select(vec!["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]);
    (day.clone(), day, 0u16..24, 0u16..60, 0u16..25, 0u16..60).prop_map(|(a, b, h1, m1, h2, m2)| {
        let m2 = if h2 == 24 { 0 } else { m2 };
        format!("{a}-{b} {h1:02}:{m1:02}-{h2:02}:{m2:02}")
    })
}

/// A random schedule file built from valid parts (windows may still clash, which check refuses).
fn schedule() -> impl Strategy<Value = String> {
    (zone(), prop::collection::vec(window(), 0..4), prop::collection::vec((2026i32..2029, 1u32..13, 1u32..29), 0..4), 1u32..5, any::<bool>()).prop_map(
        |(tz, windows, holidays, hours, tagged)| {
            let holidays: Vec<String> = holidays.iter().map(|(y, m, d)| format!("{y}-{m:02}-{d:02}")).collect();
            let mut src = format!(
                "region = \"eu-west-1\"\ntimezone = \"{tz}\"\nawake = {windows:?}\nholidays = {holidays:?}\nmax_wake = \"{hours}h\"\n[ecs]\nservices = [\"c/a\", \"c/b\"]\n[ecs.service.\"c/b\"]\ndepends_on = [\"db\"]\n[rds]\ninstances = [\"db\"]\nclusters = [\"au\"]\n"
            );
            if tagged {
                src.push_str("[[rds.select]]\ntags = { Team = \"x\" }\n");
            }
            src
        },
    )
}

fn observation() -> impl Strategy<Value = Observation> {
    let status = prop::sample::select(vec![
        "available",
        "stopped",
        "stopping",
        "starting",
        "backing-up",
    ]);
    let tag = prop::option::of(prop_oneof!["[0-9]{1,3}", "\\PC{0,6}"]);
    let bounds_tag = prop::option::of(prop_oneof!["min=[0-9]/max=[0-9]", "\\PC{0,8}"]);
    (
        prop::collection::vec(
            (
                0i32..5,
                prop::option::of((0i32..3, 0i32..4)),
                tag,
                bounds_tag,
            ),
            2,
        ),
        prop::collection::vec(status, 2),
        any::<bool>(),
    )
        .prop_map(|(services, statuses, unknown)| {
            let names = ["c/a", "c/b"];
            Observation {
                services: services
                    .into_iter()
                    .zip(names)
                    .map(|((desired, b, count, bounds), name)| {
                        let mut t = BTreeMap::new();
                        if let Some(c) = count {
                            t.insert(tags::DESIRED_COUNT.to_string(), c);
                        }
                        if let Some(b) = bounds {
                            t.insert(tags::AUTOSCALING.to_string(), b);
                        }
                        ObservedService {
                            name: ServiceName::parse(name).unwrap(),
                            arn: name.into(),
                            status: "ACTIVE".into(),
                            desired,
                            running: desired,
                            tags: t,
                            deploying: false,
                            scalable: if unknown {
                                Scalable::Unknown
                            } else {
                                b.map_or(Scalable::None, |(min, extra)| {
                                    Scalable::Some(Bounds {
                                        min,
                                        max: min + extra,
                                    })
                                })
                            },
                        }
                    })
                    .collect(),
                databases: statuses
                    .into_iter()
                    .zip([("db", DbKind::Instance), ("au", DbKind::Cluster)])
                    .map(|(status, (id, kind))| ObservedDb {
                        kind,
                        id: id.into(),
                        arn: id.into(),
                        status: status.into(),
                        engine: "postgres".into(),
                        engine_mode: None,
                        member_of: None,
                        replica_of: None,
                        replicas: vec![],
                        tags: BTreeMap::new(),
                    })
                    .collect(),
                ..Default::default()
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Every config `check` accepts runs: decisions and plans at any instant, with any
    /// observation, never panic, and a decision's next change is in the future.
    #[test]
    fn engine_runs_every_config_check_accepts(src in schedule(), obs in observation(), secs in 1_767_225_600i64..1_861_920_000, woken: bool) {
        let Ok(env) = config::parse_str(Path::new("gen.toml"), &src) else {
            // Only clashing or empty windows may be refused: everything else generated is valid.
            let e = config::parse_str(Path::new("gen.toml"), &src).unwrap_err();
            prop_assert!(e.0.iter().all(|d| d.message.contains("overlaps") || d.message.contains("is empty")), "{e}");
            return Ok(());
        };
        let now = Utc.timestamp_opt(secs, 0).unwrap();
        let ov = woken.then(|| Override { env: env.name.clone(), hold: Hold::Awake, created: now, until: now + env.max_wake, by: "p".into(), reason: String::new() });
        let d = decide(&env, ov.as_ref(), now);
        if let Some(t) = d.next_change {
            prop_assert!(t > now);
        }
        let p = plan(&env, &d, &obs, now);
        prop_assert_eq!(p.items.len(), obs.services.len() + obs.databases.len());
    }
}
