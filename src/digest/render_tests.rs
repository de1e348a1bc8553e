use super::*;
use crate::digest::figures::compute;
use crate::digest::fixtures::{date, event, sample_input, usd, utc};
use crate::digest::input::{Budget, DigestInput, Size};
use crate::digest::prices::PriceTable;
use crate::digest::render::slack::fit;

fn digest(input: &DigestInput) -> Digest {
    compute(input, PriceTable::shipped())
}

fn sample() -> Digest {
    digest(&sample_input())
}

#[test]
fn snapshot_markdown() {
    insta::assert_snapshot!("markdown", markdown(&sample()));
}

#[test]
fn snapshot_plain_text() {
    insta::assert_snapshot!("plain_text", plain_text(&sample()));
}

#[test]
fn snapshot_slack() {
    let v = slack(&sample());
    insta::assert_snapshot!("slack", serde_json::to_string_pretty(&v).unwrap());
}

#[test]
fn snapshot_email() {
    let e = email(&sample());
    insta::assert_snapshot!("email_subject", e.subject);
    insta::assert_snapshot!("email_html", e.html);
    insta::assert_snapshot!("email_text", e.text);
    assert_eq!(e.text, plain_text(&sample()));
    assert!(e.html.contains(&format!("src=\"cid:{}\"", e.chart_cid)));
    assert!(e.chart_png.is_some());
}

/// Money leads in every channel (the headline, Slack's notification text, the email subject);
/// savings come next; health last, with failed actions and failed deliveries at its top.
#[test]
fn money_leads_every_channel_and_failures_lead_the_health_section() {
    let d = sample();
    let md = markdown(&d);
    let headline = md.lines().nth(2).unwrap();
    assert!(
        headline.starts_with("Sat 28 Nov (UTC): **$8.55** (estimated) · November to date: **$"),
        "{headline}"
    );
    let at = |s: &str| md.find(s).unwrap_or_else(|| panic!("no {s:?} in\n{md}"));
    assert!(at("## Spend") < at("## Budget"));
    assert!(at("## Budget") < at("## Savings"));
    assert!(at("## Savings") < at("## Health"));
    let failed = at("⚠ Failed: aurora:app-staging-aurora StopDBCluster");
    let delivery = at("The previous digest could not be sent to slack: HTTP 500");
    assert!(at("## Health") < failed && failed < delivery, "{md}");
    let text = plain_text(&d);
    assert!(text.find("Spend\n").unwrap() < text.find("Failed").unwrap());
    let v = slack(&d);
    let note = v["text"].as_str().unwrap();
    assert!(
        note.starts_with("staging: Sat 28 Nov (UTC): $8.55 (estimated) · November to date: $"),
        "{note}"
    );
    assert!(note.ends_with("· 1 action failed"), "{note}");
    assert!(
        v["blocks"][1]["text"]["text"]
            .as_str()
            .unwrap()
            .starts_with("Sat 28 Nov (UTC): *$8.55*")
    );
    let subject = email(&d).subject;
    assert!(
        subject.starts_with("staging: Sat 28 Nov (UTC) $8.55 · November to date $"),
        "{subject}"
    );
}

#[test]
fn missing_data_is_said_plainly() {
    let mut input = sample_input();
    if let Ok(s) = &mut input.spend {
        s.days.retain(|d| d.date != date("2026-11-21"));
    }
    input.budget = Budget::Missing("no monthly_budget in schedules/staging.toml".into());
    input.forecast = Err("DataUnavailableException".into());
    input.resources[0].size = Size::Fargate {
        region: "xx-nowhere-1".into(),
        cpu_units: 512,
        memory_mib: 1024,
        arm: false,
        os: crate::digest::input::TaskOs::Linux,
        tasks: 2,
        spot_tasks: 0,
    };
    input.health.alarms = Err("CloudWatch: AccessDenied".into());
    let md = markdown(&digest(&input));
    for want in [
        "no figure for Sat 21 Nov a week before to compare with",
        "⚠ No cost data for 2026-11-21: not counted",
        "No budget: no monthly\\_budget in schedules/staging.toml.",
        "No forecast from Cost Explorer: the projection is lightsout's own.",
        "⚠ 1 resource not priced (not in the totals): ecs:app-staging-cluster/backend: no Fargate price for region xx-nowhere-1",
        "Alarms: could not be read: CloudWatch: AccessDenied",
        "1 check not read",
    ] {
        assert!(md.contains(want), "missing {want:?} in\n{md}");
    }
    assert!(!md.contains("% of budget"), "{md}");

    input.spend = Err("Cost Explorer: AccessDeniedException".into());
    input.health.services = Err("ECS: throttled".into());
    for text in [markdown(&digest(&input)), plain_text(&digest(&input))] {
        assert!(
            text.contains("No cost data: Cost Explorer: AccessDeniedException."),
            "{text}"
        );
        assert!(text.contains("No projection: no spend figures"), "{text}");
        assert!(
            text.contains("Services: could not be read: ECS: throttled"),
            "{text}"
        );
        assert!(!text.contains("Daily spend this month"), "{text}");
    }
    assert_eq!(email(&digest(&input)).chart_png, None);
    assert!(!email(&digest(&input)).html.contains("<img"));
}

#[test]
fn budget_exceeded_is_a_clear_warning() {
    let mut input = sample_input();
    input.budget = Budget::Config(usd(60_000));
    input.forecast = Ok(crate::digest::input::Forecast {
        from: date("2026-11-29"),
        amount: usd(5_000),
    });
    let d = digest(&input);
    let over = d.budget.over_by.unwrap();
    let end = d.budget.projection.as_ref().unwrap().month_end;
    let want = format!("⚠ projected {end} exceeds the $600.00 budget by {over}");
    for text in [markdown(&d), plain_text(&d), email(&d).html] {
        assert!(text.contains(&want), "missing {want:?} in\n{text}");
    }
    assert!(
        email(&d).subject.starts_with(&format!(
            "staging: ⚠ over budget by {over} (projected {end})"
        )),
        "{}",
        email(&d).subject
    );
    let note = slack(&d)["text"].as_str().unwrap().to_string();
    assert!(
        note.starts_with(&format!(
            "⚠ staging over budget: projected {end}, {over} over."
        )),
        "{note}"
    );
}

#[test]
fn text_from_outside_is_escaped_for_each_channel() {
    let mut input = sample_input();
    let mut e = event(
        utc("2026-11-28T15:00:00Z"),
        "",
        "wake for 1h",
        "<script>alert(1)</script>",
        "ok: awake until 2026-11-28 16:00:00 UTC",
    );
    e.reason = "*urgent* <!channel> & [link](http://x)".into();
    input.events.push(e);
    let d = digest(&input);
    let html = email(&d).html;
    assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"));
    let slack_text = slack(&d).to_string();
    assert!(!slack_text.contains("<!channel>") && slack_text.contains("&lt;!channel&gt;"));
    let md = markdown(&d);
    assert!(
        md.contains("\\*urgent\\*") && md.contains("\\[link\\]"),
        "{md}"
    );
}

#[test]
fn slack_respects_block_kit_limits() {
    let mut input = sample_input();
    let long = "x".repeat(180);
    input.failures = (0..200)
        .map(|i| {
            event(
                utc("2026-11-28T19:00:00Z"),
                &format!("ecs:app-staging-cluster/svc{i}"),
                "set desired count 0",
                "schedule",
                &format!("failed: {long}"),
            )
        })
        .collect();
    let v = slack(&digest(&input));
    let blocks = v["blocks"].as_array().unwrap();
    assert!(blocks.len() <= SLACK_MAX_BLOCKS);
    for b in blocks {
        if let Some(text) = b["text"]["text"].as_str() {
            assert!(text.chars().count() <= SLACK_MAX_SECTION, "{}", text.len());
        }
    }
    let health = blocks
        .iter()
        .filter_map(|b| b["text"]["text"].as_str())
        .find(|t| t.contains("Failed"))
        .unwrap();
    assert!(
        health.contains("… and ") && health.ends_with(" more"),
        "{health}"
    );
    assert!(v["text"].as_str().unwrap().contains("200 actions failed"));
}

#[test]
fn fit_adds_lines_while_they_fit() {
    let lines: Vec<String> = (0..10).map(|i| format!("line {i}")).collect();
    assert_eq!(fit("*T*", &lines[..2], 100), "*T*\nline 0\nline 1");
    let out = fit("*T*", &lines, 40);
    assert!(out.chars().count() <= 40, "{out}");
    assert!(out.ends_with("more"), "{out}");
    let n: usize = out
        .rsplit("and ")
        .next()
        .unwrap()
        .trim_end_matches(" more")
        .parse()
        .unwrap();
    assert_eq!(out.lines().count() - 2 + n, 10, "{out}");
    let huge = vec!["y".repeat(5000)];
    assert!(fit("", &huge, SLACK_MAX_SECTION).chars().count() <= SLACK_MAX_SECTION);
}

#[test]
fn small_formats() {
    assert_eq!(price(Money::from_micros(49_370)), "$0.04937");
    assert_eq!(price(Money::from_micros(12_343)), "$0.012343");
    assert_eq!(price(Money::from_micros(18_000)), "$0.018");
    assert_eq!(price(Money::from_micros(1_000_000)), "$1.00");
    assert_eq!(hours(75_600), "21h");
    assert_eq!(hours(5_400), "1h 30m");
    assert_eq!(hours(1_800), "30m");
    assert_eq!(signed(usd(120)), "+$1.20");
    assert_eq!(signed(usd(-1583)), "-$15.83");
    let action = crate::model::Action::Steps {
        effect: Some(crate::model::Effect::Sleep),
        steps: vec!["tag a=b".into()],
        not_made: vec!["StopDBCluster".into()],
    };
    assert_eq!(main_steps(&action), "StopDBCluster");
}

#[test]
fn an_input_with_nothing_in_it_still_makes_a_digest() {
    let mut input = sample_input();
    input.spend = Ok(crate::digest::input::Spend {
        days: Vec::new(),
        ..input.spend.clone().unwrap()
    });
    input.budget = Budget::Missing("not configured".into());
    input.forecast = Err("no history".into());
    input.resources.clear();
    input.events.clear();
    input.failures.clear();
    input.delivery_problems.clear();
    input.health.services = Ok(vec![]);
    input.health.databases = Err("RDS: AccessDenied".into());
    input.health.target_groups = Ok(vec![]);
    input.health.alarms = Ok(vec![]);
    input.health.probes.clear();
    let d = digest(&input);
    assert!(serde_json::to_value(&d).is_ok());
    let md = markdown(&d);
    for want in [
        "No cost data: no cost data for Environment=staging since the start of last month",
        "activated as a cost-allocation tag",
        "Nothing could be priced, so no savings are shown.",
        "No wake requests on Sat 28 Nov (UTC).",
        "Alarms: none in ALARM",
        "Databases: could not be read: RDS: AccessDenied",
    ] {
        assert!(md.contains(want), "missing {want:?} in\n{md}");
    }
    assert_eq!(chart_png(&d), None);
    let v = slack(&d);
    assert!(v["blocks"].as_array().unwrap().len() <= SLACK_MAX_BLOCKS);
    assert!(!plain_text(&d).is_empty() && !email(&d).html.contains("<img"));
}

#[test]
fn the_digest_serializes_for_json_output() {
    let v = serde_json::to_value(sample()).unwrap();
    assert_eq!(v["env"], "staging");
    assert_eq!(v["timezone"], "Europe/Berlin");
    assert_eq!(v["savings"]["day"], "3.3749625");
    assert_eq!(v["budget"]["over_by"], serde_json::Value::Null);
    // Each saving carries the rate and hours behind it: the unit prices and where each comes
    // from, the task size, the tasks on demand and on Fargate Spot, the operating system.
    let backend = &v["savings"]["resources"][0];
    assert_eq!(backend["asleep_month_secs"], 409 * 3600);
    let rate = &backend["rate"];
    assert_eq!(rate["kind"], "fargate");
    assert_eq!(rate["vcpu"], "0.5");
    assert_eq!(rate["memory_gb"], "1");
    assert_eq!(rate["arch"], "x86");
    assert_eq!(rate["os"], "LINUX");
    assert_eq!(rate["tasks_on_demand"], 2);
    assert_eq!(rate["tasks_spot"], 0);
    assert_eq!(rate["on_demand"]["vcpu_hour"]["usd"], "0.04048");
    assert_eq!(rate["on_demand"]["vcpu_hour"]["source"]["from"], "shipped");
    assert_eq!(rate["on_demand"]["task_hour"], "0.024685");
    assert_eq!(v["savings"]["resources"][2]["rate"]["kind"], "database");
}

/// Writes the sample digest and chart into `docs/` when `LIGHTSOUT_WRITE_SAMPLES=1`
/// (`LIGHTSOUT_WRITE_SAMPLES=1 cargo test --lib digest::render::tests::write_samples`).
#[test]
fn write_samples() {
    if std::env::var("LIGHTSOUT_WRITE_SAMPLES").as_deref() != Ok("1") {
        return;
    }
    let d = sample();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("digest-sample.md"), markdown(&d)).unwrap();
    std::fs::write(dir.join("digest-chart.png"), chart_png(&d).unwrap()).unwrap();
}

/// The combined digest: each environment's line and totals that are the exact sums of the
/// lines, an environment without cost data named and left out of the sums (never counted as
/// $0.00), over budget first in every channel.
#[test]
fn the_combined_digest_sums_every_environment_exactly_and_names_what_it_leaves_out() {
    use crate::digest::figures::combine;
    let staging = sample();
    let mut qa_input = sample_input();
    qa_input.config.name = "qa".into();
    qa_input.budget = Budget::Config(usd(30_000));
    let qa = digest(&qa_input);
    let mut dev_input = sample_input();
    dev_input.config.name = "dev".into();
    dev_input.spend = Err("Cost Explorer has no data for this filter".into());
    let dev = digest(&dev_input);
    let c = combine(
        &[staging.clone(), qa.clone(), dev.clone()],
        utc("2026-11-29T07:30:00Z"),
    );
    let s = staging.spend.as_ref().unwrap();
    let q = qa.spend.as_ref().unwrap();
    assert_eq!(c.day, date("2026-11-28"));
    assert_eq!(c.total.month_to_date, s.month_to_date + q.month_to_date);
    assert_eq!(
        Some(c.total.day_total),
        s.day_total.zip(q.day_total).map(|(a, b)| a + b)
    );
    assert_eq!(
        c.total.saved_month,
        staging.savings.month + qa.savings.month + dev.savings.month
    );
    assert!(
        c.total
            .left_out
            .iter()
            .any(|(env, what)| env == "dev" && *what == "the month to date"),
        "{:?}",
        c.total.left_out
    );
    // qa's $300 budget is exceeded by the same month as staging's $750 is not.
    assert_eq!(c.total.over_budget, vec!["qa".to_string()]);
    let tz = chrono_tz::Australia::Sydney;
    let md = combined_markdown(&c, tz);
    assert!(md.contains("**staging: **"), "{md}");
    assert!(
        md.contains("**dev: **no cost data: Cost Explorer has no data"),
        "{md}"
    );
    assert!(md.contains(&c.total.month_to_date.to_string()), "{md}");
    assert!(md.contains("dev is left out of the totals"), "{md}");
    assert!(md.contains("(UTC billing day)"), "{md}");
    assert!(md.contains("AEDT"), "made at a Sydney time: {md}");
    let e = combined_email(&c, tz);
    assert!(
        e.subject.starts_with("⚠ over budget: qa · "),
        "{}",
        e.subject
    );
    let slack = combined_slack(&c, tz);
    let text = slack["text"].as_str().unwrap();
    assert!(text.contains("⚠ over budget: qa"), "{text}");
    assert!(!combined_text(&c, tz).contains("**"));
    // One deployment for every environment: its cost is said once, against the total saved.
    let run = staging.running.as_ref().unwrap().total;
    assert_eq!(c.running, Some(run));
    let said = format!(
        "lightsout itself cost about {run} this month, so the net saving is {}.",
        c.total.saved_month - run
    );
    assert!(
        combined_text(&c, tz).contains(&said),
        "{}",
        combined_text(&c, tz)
    );
}

/// A comparison range with a day Cost Explorer gave no figure for is a partial sum: it is
/// shown as such and not compared.
#[test]
fn a_partial_comparison_is_said_and_not_compared() {
    let mut input = sample_input();
    if let Ok(s) = &mut input.spend {
        s.days.retain(|d| d.date != date("2026-10-10"));
    }
    let md = markdown(&digest(&input));
    let line = md
        .lines()
        .find(|l| l.contains("the same weekdays"))
        .unwrap_or_else(|| panic!("{md}"));
    assert!(
        line.contains("(no figures for 2026-10-10, so not compared)"),
        "{line}"
    );
    assert!(!line.contains('%'), "{line}");
}

/// With nothing priced there is no savings figure: the headline leaves "Saved" out rather
/// than say $0.00, and the section says why.
#[test]
fn nothing_priced_is_no_savings_figure() {
    let mut input = sample_input();
    input.resources.clear();
    let md = markdown(&digest(&input));
    let headline = md.lines().nth(2).unwrap_or_default();
    assert!(headline.contains("November to date"), "{headline}");
    assert!(!headline.contains("Saved"), "{headline}");
    assert!(md.contains("Nothing could be priced"), "{md}");
}

#[test]
fn health_says_auto_scaling_groups_and_instances() {
    let mut input = sample_input();
    input.health.instances = Some(Ok(vec![
        crate::digest::input::MachineHealth {
            resource: "asg:app-staging-ecs".into(),
            status: "InService".into(),
            in_service: Some((0, 0)),
            ready: false,
            asleep: true,
            held_up: None,
        },
        crate::digest::input::MachineHealth {
            resource: "ec2:i-0bastion".into(),
            status: "running".into(),
            in_service: None,
            ready: true,
            asleep: false,
            held_up: None,
        },
    ]));
    let md = markdown(&digest(&input));
    let want = "Instances: asg:app-staging-ecs asleep; ⚠ ec2:i-0bastion running while the schedule has it asleep";
    assert!(md.contains(want), "missing {want:?} in\n{md}");
    input.health.instances = Some(Ok(vec![]));
    assert!(markdown(&digest(&input)).contains("Instances: none"));
}

/// A sleep a pass could not finish says so in every channel, and a run cost that cannot be
/// priced (a region without prices) says why instead of a figure; with no tally recorded the
/// cost is the model's, and the note says so.
#[test]
fn an_unfinished_sleep_and_the_run_cost_read_in_every_channel() {
    use crate::kinds::{ResourceId, ServiceName};
    use crate::model::{Progress, Standing};
    let mut input = sample_input();
    let ids: Vec<ResourceId> = (0..12)
        .map(|i| ResourceId::EcsService(ServiceName::parse(&format!("c/s{i}")).unwrap()))
        .chain([ResourceId::DbInstance("db".into())])
        .collect();
    input.running.progress = Some(Progress::tally(
        false,
        true,
        utc("2026-11-28T19:01:00Z"),
        ids.iter().enumerate().map(|(i, id)| {
            (
                id,
                if i < 5 {
                    Standing::Done
                } else {
                    Standing::Left
                },
            )
        }),
    ));
    input.running.tally = None;
    let d = digest(&input);
    let said = "⏳ Still in progress: Going to sleep: 5 of 12 services done, 0 of 1 databases; continues in the next run.";
    let text = plain_text(&d);
    assert!(text.contains(said), "{text}");
    assert!(markdown(&d).contains("continues in the next run"));
    assert!(
        serde_json::to_string(&slack(&d))
            .unwrap()
            .contains("continues in the next run")
    );
    assert!(email(&d).html.contains("continues in the next run"));
    assert!(text.contains("lightsout itself cost about $"), "{text}");
    assert!(text.contains("lightsout's own cost: modelled"), "{text}");

    input.running.region = "mars-north-1".into();
    let text = plain_text(&digest(&input));
    assert!(
        text.contains("What lightsout itself cost this month is not known: no prices for running lightsout in mars-north-1"),
        "{text}"
    );
}
