use super::*;
use crate::digest::fixtures::{
    date, day_spend, ecs_sleep_action, ecs_wake_action, event, sample_input, staging_env, usd, utc,
    whole_env,
};
use crate::digest::input::{DaySpend, Forecast, Spend};
use chrono::TimeDelta;

fn prices() -> &'static PriceTable {
    PriceTable::shipped()
}

/// Hourly prices of the reference environment in eu-west-1 (shipped table), worked by hand:
/// backend  2 × (0.5 vCPU × $0.04048 + 1 GB × $0.004445)   = 2 × $0.024685 = $0.04937
/// frontend 0.25 × $0.04048 + 0.5 × $0.004445              = $0.0123425
/// rds      db.t4g.micro postgres                          = $0.018
/// aurora   db.t4g.medium aurora-postgresql                = $0.081
/// together                                                = $0.1607125 an hour

#[test]
fn hourly_prices_of_the_reference_environment() {
    let d = compute(&sample_input(), prices());
    let hourly: Vec<(String, Money)> = d
        .savings
        .resources
        .iter()
        .map(|r| (r.resource.clone(), r.hourly))
        .collect();
    assert_eq!(
        hourly,
        vec![
            (
                "ecs:app-staging-cluster/backend".to_string(),
                Money::from_micros(49_370)
            ),
            (
                "ecs:app-staging-cluster/frontend".to_string(),
                Money(12_342_500)
            ),
            ("rds:app-staging-db".to_string(), Money::from_micros(18_000)),
            (
                "aurora:app-staging-aurora".to_string(),
                Money::from_micros(81_000)
            ),
        ]
    );
}

#[test]
fn money_rounds_half_away_from_zero_only_when_shown() {
    assert_eq!(Money::from_micros(1_234_564_999).to_string(), "$1,234.56");
    assert_eq!(Money::from_micros(1_234_565_000).to_string(), "$1,234.57");
    assert_eq!(Money::from_micros(-5_000).to_string(), "-$0.01");
    assert_eq!(Money::from_micros(-4_999).to_string(), "$0.00");
    // Three amounts of $0.004 each show as $0.00 but sum to $0.012, shown $0.01.
    let sum: Money = [Money::from_micros(4_000); 3].into_iter().sum();
    assert_eq!(
        (Money::from_micros(4_000).to_string(), sum.to_string()),
        ("$0.00".into(), "$0.01".into())
    );
    assert_eq!(div_round(10, 4), Money(3));
    assert_eq!(div_round(-10, 4), Money(-3));
    assert_eq!(div_round(9, 4), Money(2));
}

#[test]
fn spend_of_the_day_a_week_before_month_to_date_and_last_month() {
    let input = sample_input();
    let s = compute(&input, prices()).spend.unwrap();
    // Sat 28 Nov (dark day): 3.12 + 0.60 + (1.10 + 0.22) + 2.05 + 1.20 + 0.21 + 0.05 = $8.55.
    assert_eq!(s.day_total, Some(usd(855)));
    assert!(s.day_estimated);
    // Against the same weekday a week before, Sat 21 Nov (also dark): EC2 - Other 1.10 + 0.06,
    // total $8.39; +$0.16, +1.9 %.
    assert_eq!(s.week_before, date("2026-11-21"));
    assert_eq!(s.week_before_total, Some(usd(839)));
    assert_eq!(s.change, Some(usd(16)));
    assert!(
        (s.change_pct.unwrap() - 1.907).abs() < 0.01,
        "{:?}",
        s.change_pct
    );
    // The one service that moved: EC2 - Other, $1.16 → $1.32.
    assert_eq!(
        s.movers,
        vec![Mover {
            service: "EC2 - Other".into(),
            day: usd(132),
            week_before: usd(116),
            change: usd(16),
        }]
    );
    // The day by service, largest first, the two smallest as "Other".
    let names: Vec<&str> = s.day_by_service.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "Amazon ElastiCache",
            "Amazon Relational Database Service",
            "EC2 - Other",
            "Amazon Virtual Private Cloud",
            "Amazon Elastic Load Balancing"
        ]
    );
    assert_eq!(s.day_other, Some((2, usd(26))));
    let sum = |from: &str, to: &str| -> Money {
        let mut d = date(from);
        let mut total = Money::ZERO;
        while d <= date(to) {
            total = total + day_spend(d).total;
            d = d.succ_opt().unwrap();
        }
        total
    };
    assert_eq!(s.month_to_date, sum("2026-11-01", "2026-11-28"));
    // The same weekdays four weeks before: Sun 4 Oct – Sat 31 Oct.
    assert_eq!(
        (s.compare_from, s.compare_to, s.compare_weeks),
        (date("2026-10-04"), date("2026-10-31"), 4)
    );
    assert_eq!(s.compare_total, sum("2026-10-04", "2026-10-31"));
    assert!(s.vs_compare_pct.is_some());
    // October whole, final.
    assert_eq!(s.last_month.first, date("2026-10-01"));
    assert_eq!(s.last_month.total, sum("2026-10-01", "2026-10-31"));
    assert!(s.last_month.missing.is_empty() && !s.last_month.estimated);
    assert!(s.month_missing.is_empty() && s.month_estimated);
    // Top five by month to date, then the rest as one "Other".
    let names: Vec<&str> = s.top_services.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "Amazon Relational Database Service",
            "Amazon Elastic Container Service",
            "Amazon ElastiCache",
            "EC2 - Other",
            "Amazon Virtual Private Cloud"
        ]
    );
    let (n, other) = s.other.unwrap();
    assert_eq!(n, 4);
    let top: Money = s.top_services.iter().map(|t| t.1).sum();
    assert_eq!(top + other, s.month_to_date);
    // The tag filter leaves shared costs out, and says so.
    assert!(s.filter_note.as_ref().unwrap().contains("untagged"));
    // Fresh through the 28th; made at 06:00 UTC on the 29th, nothing else has ended.
    assert_eq!(s.freshness.newest, Some(date("2026-11-28")));
    assert!(s.freshness.no_data_yet.is_empty());
}

#[test]
fn the_same_weekdays_before_are_whole_weeks_wholly_in_the_months_before() {
    let d = |s: &str| date(s);
    // 1–7: the week before. 1–28: four weeks. 1–29 and 1–31: five weeks.
    assert_eq!(
        same_weekdays_before(d("2026-11-01"), d("2026-11-07")),
        (d("2026-10-25"), d("2026-10-31"), 1)
    );
    assert_eq!(
        same_weekdays_before(d("2026-11-01"), d("2026-11-29")),
        (d("2026-09-27"), d("2026-10-25"), 5)
    );
    assert_eq!(
        same_weekdays_before(d("2026-12-01"), d("2026-12-31")),
        (d("2026-10-27"), d("2026-11-26"), 5)
    );
    // Each day is compared with its own weekday.
    for (from, to) in [("2026-11-01", "2026-11-07"), ("2026-12-01", "2026-12-31")] {
        let (a, _, _) = same_weekdays_before(d(from), d(to));
        assert_eq!(a.weekday(), d(from).weekday());
    }
}

#[test]
fn last_month_whole_and_the_same_weekdays_with_days_missing() {
    // 31 March: February is whole (28 days); with most days missing nothing is compared.
    let mut input = sample_input();
    input.day = date("2027-03-31");
    input.spend = Ok(Spend {
        days: vec![day_spend(date("2027-02-28")), day_spend(date("2027-03-31"))],
        ..sample_spend()
    });
    let s = compute(&input, prices()).spend.unwrap();
    assert_eq!(s.last_month.first, date("2027-02-01"));
    assert_eq!(s.last_month.total, day_spend(date("2027-02-28")).total);
    assert_eq!(s.last_month.missing.len(), 27);
    assert_eq!(s.month_missing.len(), 30);
    assert_eq!(s.vs_compare_pct, None, "not comparable with days missing");
}

#[test]
fn a_missing_day_is_missing_not_zero() {
    let mut input = sample_input();
    if let Ok(s) = &mut input.spend {
        s.days.retain(|d| d.date != date("2026-11-27"));
        // A day Cost Explorer answered with no groups is no figure either.
        for d in s.days.iter_mut().filter(|d| d.date == date("2026-11-21")) {
            d.by_service.clear();
            d.total = Money::ZERO;
            d.has_data = false;
        }
    }
    let d = compute(&input, prices());
    let s = d.spend.as_ref().unwrap();
    assert_eq!(
        s.month_missing,
        vec![date("2026-11-21"), date("2026-11-27")]
    );
    assert_eq!(s.week_before_total, None);
    assert_eq!((s.change, s.change_pct), (None, None));
    let chart_27 = d
        .chart
        .days
        .iter()
        .find(|day| day.date == date("2026-11-27"))
        .unwrap();
    assert_eq!(chart_27.spend, None);
}

#[test]
fn spend_err_says_why_everywhere_it_is_needed() {
    let mut input = sample_input();
    input.spend = Err("Cost Explorer: AccessDeniedException (ce:GetCostAndUsage)".into());
    let d = compute(&input, prices());
    assert_eq!(
        d.spend,
        Err("Cost Explorer: AccessDeniedException (ce:GetCostAndUsage)".into())
    );
    assert_eq!(d.budget.spent_pct, None);
    let p = d.budget.projection.unwrap_err();
    assert!(p.contains("AccessDeniedException"), "{p}");
    assert!(!d.chart.has_data());
    // Savings do not need Cost Explorer.
    assert!(d.savings.month.0 > 0);
}

fn sample_spend() -> Spend {
    sample_input().spend.unwrap()
}

fn flat_spend(input: &mut DigestInput, per_day_cents: i64, from: &str, to: &str) {
    let mut days = Vec::new();
    let mut d = date(from);
    while d <= date(to) {
        days.push(DaySpend {
            date: d,
            total: usd(per_day_cents),
            estimated: false,
            by_service: vec![(
                "Amazon Elastic Container Service".into(),
                usd(per_day_cents),
            )],
            has_data: true,
        });
        d = d.succ_opt().unwrap();
    }
    input.spend = Ok(Spend {
        days,
        ..sample_spend()
    });
}

#[test]
fn pace_and_cost_explorer_forecast() {
    // $20 a day for 28 days of a 30-day month against $750: $560 = 74.67 % at 93.33 %.
    let mut input = sample_input();
    flat_spend(&mut input, 2000, "2026-11-01", "2026-11-28");
    input.forecast = Ok(Forecast {
        from: date("2026-11-29"),
        amount: usd(4000),
    });
    let b = compute(&input, prices()).budget;
    assert_eq!(b.budget, Ok((usd(75_000), "schedule file".to_string())));
    assert!((b.spent_pct.unwrap() - 74.666).abs() < 0.01);
    assert!((b.month_pct - 93.333).abs() < 0.01);
    assert_eq!(b.days, (28, 30));
    let p = b.projection.unwrap();
    assert_eq!(p.month_end, usd(60_000));
    assert_eq!(p.method, "Cost Explorer forecast");
    assert_eq!(p.forecast_unavailable, None);
    assert_eq!(b.over_by, None);
    // The pace to date: $750 × 28 / 30 = $700.
    assert_eq!(b.pace_to_date, Some(usd(70_000)));
}

#[test]
fn days_without_figures_before_the_forecast_are_projected_at_the_recent_mean() {
    // Sydney at 08:30 on Mon 30 Nov is 21:30 UTC on Sun 29 Nov: the 28th is the newest day with
    // figures... but say Cost Explorer had nothing for the 27th and 28th yet, so the digest
    // reports on the 26th; Cost Explorer forecasts only from today (29 Nov, UTC). The 27th and
    // 28th are projected at the mean: $20 × 2 = $40; month to date 26 × $20 = $520; forecast
    // $40 for 29–30 Nov. Projected $600.
    let mut input = sample_input();
    flat_spend(&mut input, 2000, "2026-11-01", "2026-11-26");
    input.day = date("2026-11-26");
    input.forecast = Ok(Forecast {
        from: date("2026-11-29"),
        amount: usd(4000),
    });
    let p = compute(&input, prices()).budget.projection.unwrap();
    assert_eq!(p.month_end, usd(60_000));
    assert_eq!(
        p.method,
        "Cost Explorer forecast from 29 Nov, and 2 days without figures yet at the mean of the last 7 days"
    );
}

#[test]
fn own_projection_when_cost_explorer_cannot_forecast_and_budget_exceeded() {
    // $30 a day, but 25 and 26 Nov missing: mean of the 5 days present of the last 7 = $30,
    // × 2 days left = $60; month to date 26 days × $30 = $780; projected $840 > $750 by $90.
    let mut input = sample_input();
    flat_spend(&mut input, 3000, "2026-11-01", "2026-11-28");
    if let Ok(s) = &mut input.spend {
        s.days
            .retain(|d| d.date != date("2026-11-25") && d.date != date("2026-11-26"));
    }
    input.forecast = Err("DataUnavailableException: insufficient amount of historical data".into());
    let b = compute(&input, prices()).budget;
    let p = b.projection.unwrap();
    assert_eq!(p.month_end, usd(84_000));
    assert_eq!(
        p.method,
        "lightsout projection: mean of the 5 days with figures of the last 7 × 2 days left"
    );
    assert!(p.forecast_unavailable.unwrap().contains("insufficient"));
    assert_eq!(b.over_by, Some(usd(9_000)));
    // Uneven days: (10 + 20 + 20) / 3 × 2 = 33.333… → $33.33, rounded once.
    let mut input = sample_input();
    flat_spend(&mut input, 2000, "2026-11-27", "2026-11-28");
    if let Ok(s) = &mut input.spend {
        s.days[0].total = usd(1000);
        s.days.insert(
            0,
            DaySpend {
                date: date("2026-11-22"),
                ..s.days[1].clone()
            },
        );
    }
    input.forecast = Err("not implemented".into());
    let p = compute(&input, prices()).budget.projection.unwrap();
    assert_eq!(p.month_end, usd(5000) + Money(33_333_333_333));
}

#[test]
fn own_projection_needs_some_recent_day() {
    let mut input = sample_input();
    flat_spend(&mut input, 3000, "2026-11-01", "2026-11-10");
    input.forecast = Err("not implemented".into());
    let e = compute(&input, prices()).budget.projection.unwrap_err();
    assert!(
        e.contains("not implemented") && e.contains("last 7 days"),
        "{e}"
    );
}

#[test]
fn missing_or_zero_budget_gives_no_percentages() {
    for (budget, why) in [
        (
            Budget::Missing("no monthly_budget in schedules/staging.toml".into()),
            "no monthly_budget",
        ),
        (Budget::Config(Money::ZERO), "zero"),
        (
            Budget::Aws {
                name: "staging".into(),
                amount: Money::ZERO,
            },
            "zero",
        ),
    ] {
        let mut input = sample_input();
        input.budget = budget;
        let b = compute(&input, prices()).budget;
        assert!(
            b.budget.as_ref().unwrap_err().contains(why),
            "{:?}",
            b.budget
        );
        assert_eq!((b.spent_pct, b.over_by, b.pace_to_date), (None, None, None));
        assert!(
            b.projection.is_ok(),
            "the projection does not need a budget"
        );
    }
    let mut input = sample_input();
    input.budget = Budget::Aws {
        name: "staging-monthly".into(),
        amount: usd(80_000),
    };
    let b = compute(&input, prices()).budget;
    assert_eq!(
        b.budget,
        Ok((usd(80_000), "AWS Budgets \"staging-monthly\"".to_string()))
    );
}

/// An input for savings tests: only the given events, made at `generated_at`.
fn with_events(day: &str, generated_at: &str, events: Vec<AuditEvent>) -> DigestInput {
    let mut input = sample_input();
    input.day = date(day);
    input.generated_at = utc(generated_at);
    input.events = events;
    input
}

#[test]
fn savings_of_a_working_day_night_and_a_weekend_to_the_cent() {
    // The fixture: Saturday 28 Nov, asleep 00:00–10:00:30 and 13:00:30–24:00 CET
    // = 10 h 0 min 30 s + 10 h 59 min 30 s = 21 h exactly = 75,600 s.
    // Backend:  21 × $0.04937   = $1.03677
    // Frontend: 21 × $0.0123425 = $0.2591925 → $0.259193
    // RDS:      21 × $0.018     = $0.378
    // Aurora:   21 × $0.081     = $1.701
    // Total $3.374963 → shown $3.37 (= 21 h × $0.1607125 = $3.3749625, rounded per resource).
    let d = compute(&sample_input(), prices());
    let day: Vec<(i64, Money)> = d
        .savings
        .resources
        .iter()
        .map(|r| (r.asleep_day_secs, r.saved_day))
        .collect();
    assert_eq!(
        day,
        vec![
            (75_600, Money::from_micros(1_036_770)),
            (75_600, Money(259_192_500)),
            (75_600, Money::from_micros(378_000)),
            (75_600, Money::from_micros(1_701_000)),
        ]
    );
    assert_eq!(d.savings.day, Money(3_374_962_500));
    assert_eq!(d.savings.day.to_string(), "$3.37");
    // Month to date, by hand: 1 Nov 00:00 CET (asleep since before the trail) → Mon 2 Nov
    // 07:00 = 31 h; 20 working days (2–27 Nov) give 16 Monday–Thursday nights of 11 h = 176 h
    // and 3 weekends Fri 20:00 → Mon 07:00 of 59 h = 177 h; then Fri 27 Nov 20:00 → Sat 28 Nov
    // 24:00 = 28 h less alice's 3 h wake = 25 h. Total 31 + 176 + 177 + 25 = 409 h.
    // The Aurora stop on 27 Nov failed and was retried a minute later: 1 minute less for it.
    let month: Vec<i64> = d
        .savings
        .resources
        .iter()
        .map(|r| r.asleep_month_secs)
        .collect();
    assert_eq!(
        month,
        vec![409 * 3600, 409 * 3600, 409 * 3600, 409 * 3600 - 60]
    );
    // Backend 409 h × $0.04937 = $20.19233.
    assert_eq!(
        d.savings.resources[0].saved_month,
        Money::from_micros(20_192_330)
    );
    assert!(d.savings.unpriced.is_empty());
    assert!(
        d.savings.method.contains("taken 2026-12-04), eu-west-1"),
        "{}",
        d.savings.method
    );
}

/// A service on Fargate Spot saves at the Spot rates, not the on-demand ones (they were priced
/// on demand, about 3× too high), and says so in its rate; a Windows task pays its own rates and
/// licence, or is unpriced, with the reason, where the table has no Windows price.
#[test]
fn spot_and_windows_services_save_at_their_own_rates_to_the_cent() {
    let mut input = sample_input();
    let Size::Fargate { spot_tasks, .. } = &mut input.resources[0].size else {
        panic!("the backend is a Fargate service")
    };
    *spot_tasks = 2;
    let d = compute(&input, prices());
    let backend = &d.savings.resources[0];
    // eu-west-1 Spot: 2 × (0.5 × $0.01224056 + 1 × $0.0013441) = $0.01492876/h; × 409 h =
    // $6.10586284 (on demand: $20.19233, 3.3× as much).
    assert_eq!(backend.hourly, Money(14_928_760));
    assert_eq!(backend.saved_month, Money(6_105_862_840));
    assert_eq!(backend.saved_month.to_string(), "$6.11");
    let v = serde_json::to_value(&backend.rate).unwrap();
    assert_eq!(
        (v["tasks_on_demand"].as_u64(), v["tasks_spot"].as_u64()),
        (Some(0), Some(2))
    );
    assert_eq!(v["spot"]["vcpu_hour"]["usd"], "0.01224056");
    assert_eq!(v["spot"]["vcpu_hour"]["source"]["taken"], "2026-09-28");

    // The same backend as a Windows task in us-east-1: 2 × (0.5 × ($0.09148 + $0.046) + 1 ×
    // $0.01005) = $0.15758/h; in eu-west-1, where no Windows price is shipped, unpriced.
    let mut input = sample_input();
    if let Size::Fargate { os, .. } = &mut input.resources[0].size {
        *os = crate::digest::input::TaskOs::Windows("WINDOWS_SERVER_2022_CORE".into());
    }
    let d = compute(&input, prices());
    let (resource, why) = &d.savings.unpriced[0];
    assert_eq!(resource, &input.resources[0].resource);
    assert!(
        why.contains("no Fargate Windows price for region eu-west-1"),
        "{why}"
    );
    if let Size::Fargate { region, .. } = &mut input.resources[0].size {
        *region = "us-east-1".into();
    }
    let d = compute(&input, prices());
    assert_eq!(d.savings.resources[0].hourly, Money(157_580_000));
}

/// A billing day is a UTC day, 24 hours in every zone and on the days clocks change: a
/// resource asleep throughout saves 24 hours' worth, and the hours outside the schedule are
/// counted in the environment's own zone within that UTC day.
#[test]
fn billing_days_are_24_utc_hours_in_every_zone_and_across_dst() {
    let backend = "ecs:app-staging-cluster/backend";
    let zones: [(&str, &[(&str, i64)]); 3] = [
        // Berlin: Sun 29 Mar and Sun 25 Oct change the clocks (weekends, asleep all day); the
        // Mondays after run 02:00 CEST (or 01:00 CET) to the next day's: 13 h awake, 11 asleep.
        (
            "Europe/Berlin",
            &[
                ("2026-03-29", 24),
                ("2026-03-30", 11),
                ("2026-10-25", 24),
                ("2026-10-26", 11),
            ],
        ),
        // Sydney: DST ends Sun 5 Apr (Sat 4 Apr 16:00 UTC), begins Sun 4 Oct (Sat 3 Oct 16:00
        // UTC, inside the UTC day of Sat 3 Oct: asleep all of it). Sun 5 Apr (UTC) is Sun 10:00
        // AEST to Mon 10:00: awake Mon 07–10, asleep 21 h. Mon 6 Apr (UTC) is Mon 10:00 AEST to
        // Tue 10:00: awake 10–20 and 07–10, 13 h. Mon 5 Oct (UTC) is Mon 11:00 AEDT to Tue
        // 11:00: awake Mon 11–20 and Tue 07–11, 13 h; asleep 11 h.
        (
            "Australia/Sydney",
            &[
                ("2026-04-05", 21),
                ("2026-04-06", 11),
                ("2026-10-03", 24),
                ("2026-10-05", 11),
            ],
        ),
        // Honolulu, no DST, UTC-10: Mon 30 Nov (UTC) is Sun 14:00 HST to Mon 14:00: awake Mon
        // 07–14, 7 h; asleep 17 h. Tue 1 Dec (UTC) is Mon 14:00 to Tue 14:00: awake Mon 14–20 and
        // Tue 07–14, 13 h.
        (
            "Pacific/Honolulu",
            &[("2026-11-29", 24), ("2026-11-30", 17), ("2026-12-01", 11)],
        ),
    ];
    for (zone, days) in zones {
        for (day, asleep_hours) in days {
            let mid = utc(&format!("{day}T12:00:00Z"));
            let events = vec![
                event(
                    mid - TimeDelta::days(3),
                    backend,
                    &ecs_sleep_action("app-staging-cluster/backend", 2, mid),
                    "schedule",
                    "ok",
                ),
                event(
                    mid + TimeDelta::days(3),
                    backend,
                    &ecs_wake_action("app-staging-cluster/backend", 2),
                    "schedule",
                    "ok",
                ),
            ];
            let mut input = with_events(day, &format!("{day}T23:59:59Z"), events);
            input.generated_at = mid + TimeDelta::days(4);
            input.config.timezone = zone.parse().unwrap();
            input.usage = Err("not asked".into());
            let d = compute(&input, prices());
            let r = &d.savings.resources[0];
            assert_eq!(r.resource, backend);
            assert_eq!(r.asleep_day_secs, 24 * 3600, "{zone} {day}");
            // 24 × $0.04937 = $1.18488.
            assert_eq!(r.saved_day, Money::from_micros(1_184_880), "{zone} {day}");
            assert_eq!(
                d.always_on.asleep_secs,
                asleep_hours * 3600,
                "{zone} {day}: hours outside the schedule in the UTC day"
            );
        }
    }
}

#[test]
fn failed_and_unrelated_actions_do_not_count_as_sleep() {
    let backend = "ecs:app-staging-cluster/backend";
    let t = |h: u32| utc("2026-11-28T00:00:00Z") + TimeDelta::hours(i64::from(h));
    let sleep = ecs_sleep_action("app-staging-cluster/backend", 2, t(1));
    let events = vec![
        event(
            t(1),
            backend,
            &sleep,
            "schedule",
            "failed: ThrottlingException",
        ),
        event(t(2), backend, "tag lightsout:slept-at=x", "schedule", "ok"),
        event(t(3), backend, &sleep, "schedule", "ok"),
        event(t(4), backend, &sleep, "schedule", "ok"), // already asleep: still from 3
        event(
            t(5),
            backend,
            &ecs_wake_action("app-staging-cluster/backend", 2),
            "schedule",
            "ok",
        ),
        event(
            t(6),
            backend,
            &ecs_wake_action("app-staging-cluster/backend", 2),
            "schedule",
            "ok",
        ),
    ];
    let trail_from = t(0) - TimeDelta::days(40);
    let slept = sleep_intervals(&events, backend, trail_from, t(20));
    assert_eq!(slept, vec![(t(3), t(5))]);
    // Still asleep at the end: until `generated_at`.
    let slept = sleep_intervals(&events[..4], backend, trail_from, t(20));
    assert_eq!(slept, vec![(t(3), t(20))]);
    // A first event that is a wake: asleep since the trail's start (the trail is read whole
    // from there, so the sleep before it is older), never since the beginning of time.
    let slept = sleep_intervals(&events[4..], backend, trail_from, t(20));
    assert_eq!(slept, vec![(trail_from, t(5))]);
}

#[test]
fn unpriced_resources_are_listed_and_left_out_of_the_totals() {
    let mut input = sample_input();
    input.resources[1].size = Size::Unknown("no task definition size (EC2 launch type)".into());
    if let Size::Database { region, .. } = &mut input.resources[2].size {
        *region = "xx-nowhere-1".into();
    }
    let d = compute(&input, prices());
    assert_eq!(d.savings.resources.len(), 2);
    assert_eq!(d.savings.unpriced.len(), 2);
    assert_eq!(
        d.savings.unpriced[0].1,
        "no task definition size (EC2 launch type)"
    );
    assert!(d.savings.unpriced[1].1.contains("xx-nowhere-1"));
    // 21 h × ($0.04937 + $0.081) = $2.73777.
    assert_eq!(d.savings.day, Money::from_micros(2_737_770));
}

#[test]
fn wake_cost_counts_only_the_time_outside_the_schedule() {
    // Friday 27 Nov, 19:00 CET: wake for 2 h, until 21:00 CET. The window ends at 20:00, so
    // 1 h is out of hours: 1 h × $0.1607125 = $0.1607125 → $0.160713 (half away from zero).
    let wake = |at: &str, until: &str, who: &str| {
        let mut e = event(
            utc(at),
            "",
            "wake for 2h",
            who,
            &format!("ok: awake until {until}"),
        );
        e.reason = "hotfix".into();
        e
    };
    let input = with_events(
        "2026-11-27",
        "2026-11-28T06:00:00Z",
        vec![wake(
            "2026-11-27T18:00:00Z",
            "2026-11-27 20:00:00 UTC",
            "carol",
        )],
    );
    let w = compute(&input, prices()).wakes;
    assert_eq!(w.len(), 1);
    assert_eq!((w[0].awake_secs, w[0].outside_secs), (7200, 3600));
    assert_eq!(w[0].cost, Ok(Money(160_712_500)));
    assert_eq!(w[0].until, Some(utc("2026-11-27T20:00:00Z")));
    assert_eq!(w[0].actor, "carol");

    // Cut short at 20:30 CET by a sleep request: 30 min out of hours = $0.08035625 → $0.080356.
    let mut sleep = event(
        utc("2026-11-27T19:30:00Z"),
        "",
        "sleep",
        "carol",
        "ok: back on the schedule",
    );
    sleep.reason = "done".into();
    let input = with_events(
        "2026-11-27",
        "2026-11-28T06:00:00Z",
        vec![
            wake("2026-11-27T18:00:00Z", "2026-11-27 20:00:00 UTC", "carol"),
            sleep,
        ],
    );
    let w = compute(&input, prices()).wakes;
    assert_eq!(w[0].ended_early, Some(utc("2026-11-27T19:30:00Z")));
    assert_eq!((w[0].awake_secs, w[0].outside_secs), (5400, 1800));
    assert_eq!(w[0].cost, Ok(Money(80_356_250)));
}

#[test]
fn a_wake_already_in_force_costs_nothing_more_and_other_days_are_left_out() {
    let d = compute(&sample_input(), prices());
    assert_eq!(d.wakes.len(), 2);
    // alice: 10:00–13:00 CET on a Saturday, all out of hours: 3 h × $0.1607125 = $0.4821375.
    assert_eq!(d.wakes[0].actor, "alice");
    assert_eq!(
        (d.wakes[0].awake_secs, d.wakes[0].outside_secs),
        (10_800, 10_800)
    );
    assert_eq!(d.wakes[0].cost, Ok(Money(482_137_500)));
    // bob asked inside alice's wake, which already ran to 13:00: nothing more.
    assert_eq!(d.wakes[1].actor, "bob (slack)");
    assert_eq!(
        (d.wakes[1].awake_secs, d.wakes[1].cost.clone()),
        (0, Ok(Money::ZERO))
    );
    assert_eq!(d.wakes[1].notes.len(), 1);
    // The day before has none.
    let mut input = sample_input();
    input.day = date("2026-11-27");
    assert!(compute(&input, prices()).wakes.is_empty());
}

#[test]
fn wake_with_nothing_priced_says_why() {
    let mut e = event(
        utc("2026-11-28T09:00:00Z"),
        "",
        "wake for 2h",
        "dave",
        "ok: awake until 2026-11-28 11:00:00 UTC",
    );
    e.reason = "demo".into();
    let mut input = with_events("2026-11-28", "2026-11-29T06:00:00Z", vec![e]);
    for r in &mut input.resources {
        r.size = Size::Unknown("no size".into());
    }
    let w = compute(&input, prices()).wakes;
    assert_eq!(w[0].outside_secs, 7200);
    assert!(w[0].cost.as_ref().unwrap_err().contains("could be priced"));
}

#[test]
fn outside_schedule_steps_over_windows_and_weekends() {
    let env = staging_env();
    // Fri 27 Nov 06:00 CET → Mon 30 Nov 08:00 CET: out of hours 06:00–07:00 Fri, then
    // 20:00 Fri → 07:00 Mon = 59 h: 60 h out of 74.
    let s = outside_schedule_secs(
        &env,
        utc("2026-11-27T05:00:00Z"),
        utc("2026-11-30T07:00:00Z"),
    );
    assert_eq!(s, 60 * 3600);
    assert_eq!(
        outside_schedule_secs(
            &env,
            utc("2026-11-27T10:00:00Z"),
            utc("2026-11-27T11:00:00Z")
        ),
        0
    );
}

#[test]
fn health_verdicts() {
    let d = compute(&sample_input(), prices());
    // Asleep, but a failed task and an alarm are problems.
    assert_eq!(d.health.verdict, Verdict::Problems);
    assert_eq!((d.health.problems, d.health.unknown), (2, 0));
    let services = d.health.sections[0].lines.as_ref().unwrap();
    assert_eq!(services[1].status, Status::Asleep);
    assert!(services[0].text.contains("exit code 137"));

    let mut input = sample_input();
    let h = &mut input.health;
    h.alarms = Err("CloudWatch: AccessDenied".into());
    h.target_groups = Err("ELB: throttled".into());
    if let Ok(s) = &mut h.services {
        s[0].failed_tasks.clear();
    }
    let d = compute(&input, prices());
    assert_eq!(d.health.verdict, Verdict::Asleep);
    assert_eq!((d.health.problems, d.health.unknown), (0, 2));

    let mut input = sample_input();
    let h = &mut input.health;
    h.asleep = false;
    h.alarms = Ok(vec![]);
    h.probes.clear();
    h.services = Ok(vec![crate::digest::input::ServiceHealth {
        name: "app-staging-cluster/backend".into(),
        desired: 2,
        running: 1,
        asleep: false,
        stuck_deployment: Some("deployment ecs-svc/123 has not finished after 45 min".into()),
        failed_tasks: vec![],
    }]);
    h.databases = Ok(vec![crate::digest::input::DbHealth {
        resource: "rds:app-staging-db".into(),
        status: "available".into(),
        asleep: false,
    }]);
    h.target_groups = Ok(vec![crate::digest::input::TargetGroupHealth {
        name: "tg".into(),
        healthy: 1,
        unhealthy: vec!["10.0.1.7:8000 unhealthy: Target.Timeout".into()],
    }]);
    let d = compute(&input, prices());
    assert_eq!(d.health.verdict, Verdict::Problems);
    assert_eq!(d.health.problems, 2);
    let svc = &d.health.sections[0].lines.as_ref().unwrap()[0];
    assert!(
        svc.text.contains("1 of 2") && svc.text.contains("stuck"),
        "{}",
        svc.text
    );
}

/// An Auto Scaling group or an EC2 instance in the health section.
fn machine(
    resource: &str,
    status: &str,
    in_service: Option<(i32, i32)>,
    ready: bool,
    asleep: bool,
) -> crate::digest::input::MachineHealth {
    crate::digest::input::MachineHealth {
        resource: resource.into(),
        status: status.into(),
        in_service,
        ready,
        asleep,
        held_up: None,
    }
}

#[test]
fn health_of_auto_scaling_groups_and_instances() {
    // None in the schedule file: no section (the reference digest has none).
    let d = compute(&sample_input(), prices());
    let titles: Vec<_> = d.health.sections.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Services",
            "Databases",
            "Target groups",
            "Alarms",
            "Health checks"
        ]
    );

    // Asleep by schedule: "asleep", whether lightsout stopped it or it is simply down.
    let mut input = sample_input();
    let mut held = machine("asg:held", "scaling", Some((1, 0)), true, false);
    held.held_up = Some("1 instance protected from scale-in still running".into());
    input.health.instances = Some(Ok(vec![
        machine(
            "asg:app-staging-ecs",
            "InService",
            Some((0, 0)),
            false,
            true,
        ),
        machine("ec2:i-0bastion", "stopped", None, false, true),
        machine("ec2:i-0byhand", "stopped", None, false, false),
        machine("ec2:i-0started", "running", None, true, false),
        machine("asg:left-up", "InService", Some((2, 2)), true, false),
        held,
    ]));
    let d = compute(&input, prices());
    assert_eq!(d.health.sections[1].title, "Instances");
    let lines: Vec<_> = d.health.sections[1]
        .lines
        .as_ref()
        .unwrap()
        .iter()
        .map(|l| (l.subject.as_str(), l.status, l.text.as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            ("asg:app-staging-ecs", Status::Asleep, "asleep"),
            ("ec2:i-0bastion", Status::Asleep, "asleep (stopped)"),
            ("ec2:i-0byhand", Status::Asleep, "asleep (stopped)"),
            (
                "ec2:i-0started",
                Status::Problem,
                "running while the schedule has it asleep"
            ),
            (
                "asg:left-up",
                Status::Problem,
                "2/2 instances in service while the schedule has it asleep"
            ),
            (
                "asg:held",
                Status::Problem,
                "1 instance protected from scale-in still running"
            ),
        ]
    );
    // The reference digest's two problems, and these three.
    assert_eq!((d.health.problems, d.health.unknown), (5, 0));

    // Awake: in service against desired; stopped is a problem.
    input.health.asleep = false;
    let mut held = machine("asg:held", "scaling", Some((0, 0)), true, true);
    held.in_service = Some((1, 0));
    held.held_up = Some("1 instance protected from scale-in still running".into());
    input.health.instances = Some(Ok(vec![
        machine(
            "asg:app-staging-ecs",
            "InService",
            Some((2, 2)),
            true,
            false,
        ),
        machine("asg:scaling", "scaling", Some((1, 2)), false, false),
        machine("ec2:i-0bastion", "running", None, true, false),
        machine("ec2:i-0down", "stopped", None, false, false),
        held,
    ]));
    let d = compute(&input, prices());
    let text: Vec<_> = d.health.sections[1]
        .lines
        .as_ref()
        .unwrap()
        .iter()
        .map(|l| (l.status, l.text.as_str()))
        .collect();
    assert_eq!(
        text,
        [
            (Status::Ok, "2/2 instances in service"),
            (Status::Problem, "degraded: 1 of 2 instances in service"),
            (Status::Ok, "running"),
            (Status::Problem, "stopped while the schedule has it awake"),
            (
                Status::Problem,
                "asleep, but 1 instance protected from scale-in still running"
            ),
        ]
    );

    // Could not be read: unknown, said as such.
    input.health.instances = Some(Err("EC2: AccessDenied".into()));
    let d = compute(&input, prices());
    assert_eq!(
        d.health.sections[1].lines,
        Err("EC2: AccessDenied".to_string())
    );
    assert_eq!(d.health.unknown, 1);
}

#[test]
fn whole_env_puts_apps_to_sleep_before_databases() {
    let evs = whole_env(utc("2026-11-27T19:00:00Z"), true, "schedule");
    assert!(evs[0].resource.starts_with("ecs:") && evs[3].resource.starts_with("aurora:"));
    assert!(
        evs[3].action.to_string().ends_with("StopDBCluster"),
        "{}",
        evs[3].action
    );
}

#[test]
fn a_wake_still_in_force_is_counted_only_to_when_the_digest_was_made() {
    // Sat 28 Nov 23:00 CET, wake for 12 h (to Sun 11:00 CET); digest made Sun 07:00 CET:
    // 8 h counted, all out of hours: 8 × $0.1607125 = $1.2857.
    let e = event(
        utc("2026-11-28T22:00:00Z"),
        "",
        "wake for 12h",
        "erin",
        "ok: awake until 2026-11-29 10:00:00 UTC",
    );
    let input = with_events("2026-11-28", "2026-11-29T06:00:00Z", vec![e]);
    let w = compute(&input, prices()).wakes;
    assert_eq!((w[0].awake_secs, w[0].outside_secs), (8 * 3600, 8 * 3600));
    assert_eq!(w[0].cost, Ok(Money::from_micros(1_285_700)));
    assert!(w[0].notes[0].contains("still awake"), "{:?}", w[0].notes);
}

/// A resource lightsout cannot stop is not in the savings and does not make a wake cost more:
/// it keeps costing while asleep, and that is its own figure — its hourly price over the hours
/// of the day the environment slept, out-of-hours wakes not counted.
#[test]
fn what_cannot_sleep_keeps_costing_and_is_not_a_saving() {
    let mut input = sample_input();
    let redis = crate::digest::input::ResourceCost {
        resource: "elasticache:app-staging-redis".into(),
        size: crate::digest::input::Size::Database {
            region: "eu-west-1".into(),
            classes: vec!["db.t4g.micro".into()],
            engine: "postgres".into(),
            multi_az: false,
        },
        sleeps: false,
    };
    input.resources.push(redis.clone());
    let with = compute(&input, prices());
    input.resources.pop();
    let without = compute(&input, prices());
    assert_eq!(with.savings, without.savings);
    assert_eq!(with.wakes, without.wakes);
    // Saturday 28 Nov: asleep all day but for alice's out-of-hours wake (09:00–12:00 UTC).
    let a = &with.always_on;
    assert_eq!(a.asleep_secs, 21 * 3600);
    assert_eq!(a.resources.len(), 1);
    // Without the day's usage types, the day's figure is what the table prices it at.
    input.resources.push(redis.clone());
    input.usage = Err("not asked".into());
    let a = compute(&input, prices()).always_on;
    // db.t4g.micro in eu-west-1 at the shipped table's price, for 21 hours.
    let hourly = prices()
        .rate(&crate::digest::input::Size::Database {
            region: "eu-west-1".into(),
            classes: vec!["db.t4g.micro".into()],
            engine: "postgres".into(),
            multi_az: false,
        })
        .unwrap();
    assert_eq!(a.day, hourly.cost(21 * 3600));
    assert!(without.always_on.resources.is_empty());
}

/// What kept costing while asleep, from the day's usage types, by hand. Sat 28 Nov, a dark
/// day: everything that day is of kinds that do not sleep, $8.55; asleep 21 h of the UTC day's
/// 24 (alice's wake 09:00–12:00 UTC), so 7/8 of each kind.
#[test]
fn what_kept_costing_while_asleep_from_the_usage_types_to_the_cent() {
    let d = compute(&sample_input(), prices());
    let a = &d.always_on;
    let kinds: Vec<(&str, Money, Money)> = a
        .kinds
        .as_ref()
        .unwrap()
        .iter()
        .map(|k| (k.kind.as_str(), k.day_cost, k.while_asleep))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("ElastiCache", usd(312), Money(2_730_000_000)),
            ("Database storage", usd(205), Money(1_793_750_000)),
            ("Public IPv4 addresses", usd(120), Money(1_050_000_000)),
            ("NAT gateway", usd(108), Money(945_000_000)),
            ("Load balancer", usd(60), Money(525_000_000)),
            ("Other services", usd(26), Money(227_500_000)),
            ("EBS volumes", usd(24), Money(210_000_000)),
        ]
    );
    // 7/8 of $8.55 = $7.48125.
    assert_eq!(a.day, Money(7_481_250_000));
    // The month: 409 h asleep (as the savings count them) at $8.55 a day = $145.70625.
    assert_eq!(a.asleep_month_secs, 409 * 3600);
    assert_eq!(a.month, Money(145_706_250_000));
    let mtd = d.spend.as_ref().unwrap().month_to_date;
    let pct = a.month_pct.unwrap();
    assert!((pct - 145.70625 * 100.0 / mtd.dollars_f64()).abs() < 1e-9);
}

#[test]
fn usage_types_are_told_apart_by_what_sleeps() {
    for (service, usage, kind) in [
        ("EC2 - Other", "APS2-NatGateway-Hours", Some("NAT gateway")),
        ("EC2 - Other", "APS2-NatGateway-Bytes", Some("NAT gateway")),
        (
            "Amazon Elastic Load Balancing",
            "APS2-LoadBalancerUsage",
            Some("Load balancer"),
        ),
        (
            "Amazon Elastic Load Balancing",
            "APS2-LCUUsage",
            Some("Load balancer"),
        ),
        (
            "Amazon Virtual Private Cloud",
            "APS2-PublicIPv4:InUseAddress",
            Some("Public IPv4 addresses"),
        ),
        (
            "Amazon ElastiCache",
            "APS2-NodeUsage:cache.t4g.small",
            Some("ElastiCache"),
        ),
        (
            "Amazon Relational Database Service",
            "APS2-RDS:GP3-Storage",
            Some("Database storage"),
        ),
        (
            "Amazon Relational Database Service",
            "APS2-Aurora:StorageUsage",
            Some("Database storage"),
        ),
        (
            "Amazon Relational Database Service",
            "APS2-InstanceUsage:db.t4g.micro",
            None,
        ),
        (
            "Amazon Relational Database Service",
            "APS2-DataTransfer-Out-Bytes",
            None,
        ),
        (
            "EC2 - Other",
            "APS2-EBS:VolumeUsage.gp3",
            Some("EBS volumes"),
        ),
        (
            "Amazon Elastic Container Service",
            "APS2-Fargate-vCPU-Hours:perCPU",
            None,
        ),
        (
            "AWS Secrets Manager",
            "APS2-AWSSecretsManager-Secrets",
            Some("Other services"),
        ),
        ("Tax", "", None),
    ] {
        assert_eq!(asleep_kind(service, usage), kind, "{service} {usage}");
    }
}
