//! The digest against moto: Cost Explorer answers injected through moto's static results
//! endpoint and counted by its recorder, the email read back from moto's SES, SNS read back
//! through an SQS subscription, Slack through a local HTTP receiver, health from real ECS,
//! ELBv2 and CloudWatch calls, and HTTP probes over loopback.

use crate::support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use lightsout::aws::AwsCloud;
use lightsout::clock::ManualClock;
use lightsout::config::parse_str;
use lightsout::digest::{Digester, RunOptions};
use lightsout::model::Config;
use lightsout::store::{SqliteStore, Store};
use support::Moto;

/// 08:30 in Berlin on Sunday 29 Nov 2026: the digest reports on Saturday the 28th.
fn now() -> DateTime<Utc> {
    "2026-11-29T07:30:00Z".parse().unwrap()
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
}

/// The reference environment (the digest's fixture schedule), its costs by tag, and `digest`
/// as its `[digest]` table.
fn schedule(digest: &str) -> String {
    format!(
        "{}\n[guard]\nrequire_tags = [\"Environment=staging\"]\n\n[digest]\n{digest}\n",
        lightsout::digest::fixtures::STAGING_TOML
    )
}

/// Cost Explorer's answer for `from..to` (exclusive), one result per day, two services.
fn ce_result(from: NaiveDate, to: NaiveDate, next: Option<&str>) -> serde_json::Value {
    let mut days = Vec::new();
    let mut d = from;
    while d < to {
        let n = (d - from).num_days();
        days.push(serde_json::json!({
            "TimePeriod": {"Start": d.to_string(), "End": (d + TimeDelta::days(1)).to_string()},
            "Total": {},
            "Groups": [
                {"Keys": ["Amazon Elastic Container Service"], "Metrics": {"UnblendedCost": {"Amount": format!("{}.{:06}", 10 + n % 3, 123456), "Unit": "USD"}}},
                {"Keys": ["Amazon Relational Database Service"], "Metrics": {"UnblendedCost": {"Amount": "7.5000001", "Unit": "USD"}}}
            ],
            "Estimated": d == day()
        }));
        d += TimeDelta::days(1);
    }
    let mut r = serde_json::json!({"ResultsByTime": days, "DimensionValueAttributes": [], "GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"}]});
    if let Some(t) = next {
        r["NextPageToken"] = t.into();
    }
    r
}

fn inject_ce(moto: &Moto, results: Vec<serde_json::Value>) {
    ureq::post(format!(
        "{}/moto-api/static/ce/cost-and-usage-results",
        moto.endpoint
    ))
    .header("content-type", "application/json")
    .send(serde_json::json!({ "results": results }).to_string())
    .expect("inject Cost Explorer results");
}

async fn digester(
    moto: &Moto,
    digest: &str,
    webhook: Option<String>,
) -> (Digester, Arc<dyn Store>) {
    let env =
        parse_str(Path::new("staging.toml"), &schedule(digest)).unwrap_or_else(|e| panic!("{e}"));
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let mut d = Digester::new(
        Config {
            environments: vec![env],
        },
        Arc::new(AwsCloud::new(moto.sdk_config().await)).ports(webhook),
        store.clone(),
        Arc::new(ManualClock::new(now())),
    );
    d.backoff = vec![Duration::from_millis(20), Duration::from_millis(40)];
    d.probe_timeout = Duration::from_millis(500);
    (d, store)
}

/// A local HTTP receiver: answers each request with the next status of `statuses` (then 200)
/// and keeps the bodies.
struct Receiver {
    url: String,
    bodies: Arc<Mutex<Vec<String>>>,
}

fn receiver(statuses: Vec<u16>) -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/services/T000/B000/secret",
        listener.local_addr().unwrap()
    );
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let kept = bodies.clone();
    std::thread::spawn(move || {
        let mut statuses = statuses.into_iter();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            kept.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&body).into_owned());
            let status = statuses.next().unwrap_or(200);
            let text = if status == 200 {
                "ok"
            } else {
                "invalid_payload"
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    Receiver { url, bodies }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_makes_at_most_three_cost_explorer_requests_and_a_second_reuses_them() {
    let moto = Moto::start();
    moto.seed();
    let from = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
    inject_ce(
        &moto,
        vec![ce_result(from, day() + TimeDelta::days(1), None)],
    );
    let (d, _) = digester(&moto, "channels = [\"stdout\"]", None).await;
    let env = d.config.environments[0].clone();
    moto.start_recording();
    let first = d.run(&env, RunOptions::default()).await;
    assert!(!first.failed(), "{first:?}");
    let recorded = moto.recorded_counts();
    let ce = |m: &std::collections::BTreeMap<String, usize>| {
        m.get("GetCostAndUsage").copied().unwrap_or(0)
            + m.get("GetCostForecast").copied().unwrap_or(0)
    };
    // The daily costs and the day's usage types; the forecast (moto does not serve it).
    assert_eq!(recorded.get("GetCostAndUsage"), Some(&2), "{recorded:?}");
    assert!(ce(&recorded) <= 3, "{recorded:?}");
    assert_eq!(first.cost_explorer_requests, ce(&recorded), "{first}");

    // The same day again (forced, so it is made again): no Cost Explorer request at all.
    moto.start_recording();
    let again = d
        .run(
            &env,
            RunOptions {
                force: true,
                ..Default::default()
            },
        )
        .await;
    assert!(!again.failed());
    assert_eq!(
        ce(&moto.recorded_counts()),
        0,
        "{:?}",
        moto.recorded_counts()
    );

    // And without --force, a day already sent is not sent twice.
    let third = d.run(&env, RunOptions::default()).await;
    assert!(third.sent.is_empty(), "{third:?}");
    assert_eq!(third.already_sent, vec!["stdout".to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cost_explorer_pages_are_followed_and_capped() {
    let moto = Moto::start();
    moto.seed();
    let from = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
    let mid = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let end = day() + TimeDelta::days(1);
    // Two pages: October, then November.
    inject_ce(
        &moto,
        vec![
            ce_result(from, mid, Some("page-2")),
            ce_result(mid, end, None),
        ],
    );
    let (d, _) = digester(&moto, "channels = [\"stdout\"]", None).await;
    let env = d.config.environments[0].clone();
    let input = d.gather(&env, None, true).await;
    let spend = input.spend.expect("spend");
    assert_eq!(spend.days.len(), 59, "Oct 1 .. Nov 28");
    assert_eq!(spend.days[0].date, from);
    assert!(spend.days.last().unwrap().estimated);
    // 10.123456 + 7.5000001, exact to the nano-dollar.
    assert_eq!(spend.days[0].total.0, 17_623_456_100);
    assert_eq!(
        spend.filter.to_string(),
        "cost-allocation tag Environment=staging"
    );

    // Three pages would cost more than the digest allows: the section says so, no partial sum.
    let moto = Moto::start();
    moto.seed();
    inject_ce(
        &moto,
        vec![
            ce_result(from, mid, Some("p2")),
            ce_result(mid, mid + TimeDelta::days(5), Some("p3")),
            ce_result(mid + TimeDelta::days(5), end, None),
        ],
    );
    let (d, _) = digester(&moto, "channels = [\"stdout\"]", None).await;
    let input = d.gather(&env, None, true).await;
    let err = input.spend.expect_err("capped");
    assert!(err.contains("2 pages"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_digest_goes_to_slack_ses_and_sns_and_is_not_sent_twice() {
    let moto = Moto::start();
    moto.seed();
    inject_ce(
        &moto,
        vec![ce_result(
            NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
            day() + TimeDelta::days(1),
            None,
        )],
    );
    moto.python(
        "ses = boto3.client('ses', **kw)\nses.verify_email_identity(EmailAddress='lightsout@example.com')\n\
         sns = boto3.client('sns', **kw)\nsqs = boto3.client('sqs', **kw)\n\
         t = sns.create_topic(Name='lightsout-digest')['TopicArn']\n\
         q = sqs.create_queue(QueueName='digest')['QueueUrl']\n\
         qa = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=['QueueArn'])['Attributes']['QueueArn']\n\
         sns.subscribe(TopicArn=t, Protocol='sqs', Endpoint=qa, Attributes={'RawMessageDelivery': 'true'})",
    );
    let slack = receiver(vec![]);
    let (d, _) = digester(
        &moto,
        r#"channels = ["slack", "email", "sns"]
email_from = "lightsout@example.com"
email_to = ["leads@example.com"]
sns_topic_arn = "arn:aws:sns:eu-west-1:123456789012:lightsout-digest""#,
        Some(slack.url.clone()),
    )
    .await;
    let env = d.config.environments[0].clone();
    let r = d.run(&env, RunOptions::default()).await;
    assert!(!r.failed(), "{r:?}");
    assert_eq!(r.sent.len(), 3);

    // Slack: one Block Kit payload.
    let bodies = slack.bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1);
    let payload: serde_json::Value = serde_json::from_str(&bodies[0]).unwrap();
    assert!(payload["text"].is_string(), "{payload}");

    // SES: the raw MIME message, with an HTML part, a text part and the chart inline.
    let data: serde_json::Value = serde_json::from_str(
        &ureq::get(format!("{}/moto-api/data.json", moto.endpoint))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap(),
    )
    .unwrap();
    let raw = serde_json::to_string(&data["ses"]).unwrap();
    assert!(
        raw.contains("leads@example.com"),
        "SES has no message: {raw:.400}"
    );
    assert!(
        raw.contains("text/html") && raw.contains("text/plain") && raw.contains("image/png"),
        "{raw:.2000}"
    );

    // SNS, read back through the SQS subscription.
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk_config().await);
    let url = sqs
        .get_queue_url()
        .queue_name("digest")
        .send()
        .await
        .unwrap();
    let got = sqs
        .receive_message()
        .queue_url(url.queue_url().unwrap())
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    assert_eq!(got.messages().len(), 1);
    assert!(got.messages()[0].body().unwrap().contains("staging"));

    // Run again the same day: nothing is sent twice.
    let again = d.run(&env, RunOptions::default()).await;
    assert!(again.sent.is_empty(), "{again:?}");
    assert_eq!(slack.bodies.lock().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_channel_is_retried_never_blocks_the_others_and_shows_the_next_day() {
    let moto = Moto::start();
    moto.seed();
    moto.python("sns = boto3.client('sns', **kw)\nsns.create_topic(Name='lightsout-digest')");
    // Slack fails twice then takes it: three attempts, delivered.
    let flaky = receiver(vec![500, 503]);
    let (d, _) = digester(
        &moto,
        r#"channels = ["slack", "sns"]
sns_topic_arn = "arn:aws:sns:eu-west-1:123456789012:lightsout-digest""#,
        Some(flaky.url.clone()),
    )
    .await;
    let env = d.config.environments[0].clone();
    let r = d.run(&env, RunOptions::default()).await;
    assert!(!r.failed(), "{r:?}");
    assert_eq!(flaky.bodies.lock().unwrap().len(), 3);

    // Slack always down: SNS still goes, Slack fails after 3 attempts, and the next day's
    // digest says so.
    let down = receiver(vec![500; 10]);
    let (mut d, _) = digester(
        &moto,
        r#"channels = ["slack", "sns"]
sns_topic_arn = "arn:aws:sns:eu-west-1:123456789012:lightsout-digest""#,
        Some(down.url.clone()),
    )
    .await;
    let r = d.run(&env, RunOptions::default()).await;
    let by: std::collections::BTreeMap<_, _> = r.sent.iter().cloned().collect();
    assert!(by["sns"].is_ok(), "{r:?}");
    let err = by["slack"].as_ref().expect_err("slack down");
    assert!(err.contains("500"), "{err}");
    assert!(
        !err.contains("secret"),
        "the webhook URL is a secret: {err}"
    );
    assert_eq!(down.bodies.lock().unwrap().len(), 3);
    // A second run the same day retries only Slack.
    let r = d.run(&env, RunOptions::default()).await;
    assert_eq!(r.already_sent, vec!["sns".to_string()]);
    assert_eq!(r.sent.len(), 1);

    // The next morning's digest says the previous one never reached Slack.
    d.clock = Arc::new(ManualClock::new(now() + TimeDelta::days(1)));
    let next = d.gather(&env, None, true).await;
    assert_eq!(
        next.delivery_problems.len(),
        1,
        "{:?}",
        next.delivery_problems
    );
    assert!(next.delivery_problems[0].contains("slack"));
}

/// Health from ECS, ELB, CloudWatch alarms and HTTP probes against moto (CloudWatch's
/// rpcv2Cbor protocol, which the current SDK speaks, is served by moto since 5.2.6; the
/// `aws::health` unit tests also cover it over aws-smithy-mocks).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_comes_from_ecs_elb_cloudwatch_and_probes() {
    let moto = Moto::start();
    moto.seed();
    // A target group with one registered target, on a service of the environment; an alarm
    // in ALARM; a failed task.
    moto.python(
        "ec2 = boto3.client('ec2', **kw)\nelb = boto3.client('elbv2', **kw)\ncw = boto3.client('cloudwatch', **kw)\n\
         vpc = ec2.describe_vpcs()['Vpcs'][0]['VpcId']\n\
         tg = elb.create_target_group(Name='staging-backend', Protocol='HTTP', Port=80, VpcId=vpc, TargetType='ip')['TargetGroups'][0]['TargetGroupArn']\n\
         elb.register_targets(TargetGroupArn=tg, Targets=[{'Id': '10.0.0.1', 'Port': 80}])\n\
         sub = ec2.describe_subnets()['Subnets'][0]['SubnetId']\n\
         sg = ec2.describe_security_groups()['SecurityGroups'][0]['GroupId']\n\
         ecs.create_service(cluster='app-staging-cluster', serviceName='api', taskDefinition='app', desiredCount=1, launchType='FARGATE', \
           networkConfiguration={'awsvpcConfiguration': {'subnets': [sub], 'securityGroups': [sg]}}, loadBalancers=[{'targetGroupArn': tg, 'containerName': 'app', 'containerPort': 80}], \
           tags=[{'key': 'Environment', 'value': 'staging'}])\n\
         cw.put_metric_alarm(AlarmName='staging-5xx', MetricName='HTTPCode_Target_5XX_Count', Namespace='AWS/ApplicationELB', Statistic='Sum', Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator='GreaterThanThreshold')\n\
         cw.set_alarm_state(AlarmName='staging-5xx', StateValue='ALARM', StateReason='Threshold Crossed: 7 5xx answers')\n\
         cw.put_metric_alarm(AlarmName='staging-latency', MetricName='TargetResponseTime', Namespace='AWS/ApplicationELB', Statistic='Average', Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator='GreaterThanThreshold')",
    );
    let ok = receiver(vec![]);
    let health_url = ok
        .url
        .replace("/services/T000/B000/secret", "/api/v1/utils/health-check/");
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap();
        drop(l);
        format!("http://{a}/api/v1/utils/health-check/")
    };
    let (d, _) = digester(
        &moto,
        &format!("channels = [\"stdout\"]\nhealth_urls = [\"{health_url}\", \"{closed}\"]"),
        None,
    )
    .await;
    let mut env = d.config.environments[0].clone();
    env.kinds
        .ecs
        .services
        .push(lightsout::kinds::ServiceName::parse("app-staging-cluster/api").unwrap());
    let input = d.gather(&env, None, true).await;
    let h = &input.health;
    let services = h.services.as_ref().expect("services");
    assert_eq!(services.len(), 3, "{services:?}");
    let backend = services
        .iter()
        .find(|s| s.name == "app-staging-cluster/backend")
        .unwrap();
    assert_eq!(backend.desired, 2);
    let tgs = h.target_groups.as_ref().expect("target groups");
    assert_eq!(tgs.len(), 1);
    assert_eq!(tgs[0].name, "staging-backend");
    assert_eq!(
        tgs[0].healthy as usize + tgs[0].unhealthy.len(),
        1,
        "{tgs:?}"
    );
    // CloudWatch's rpcv2Cbor, served by moto since 5.2.6: the alarm in ALARM, not the other.
    let alarms = h.alarms.as_ref().expect("alarms");
    assert_eq!(alarms.len(), 1, "{alarms:?}");
    assert_eq!(alarms[0].name, "staging-5xx");
    assert_eq!(alarms[0].reason, "Threshold Crossed: 7 5xx answers");
    let dbs = h.databases.as_ref().expect("databases");
    assert!(
        dbs.iter()
            .any(|d| d.resource == "rds:app-staging-db" && d.status == "available")
    );
    assert_eq!(h.probes.len(), 2);
    assert_eq!(h.probes[0].result.as_ref().map(|r| r.0), Ok(200));
    assert!(h.probes[1].result.is_err(), "{:?}", h.probes[1]);
    // Sizes for the savings: Fargate task size from the task definition (256 CPU, 512 MiB),
    // the database's instance class, the Aurora cluster's two members.
    let size = |id: &str| {
        input
            .resources
            .iter()
            .find(|r| r.resource == id)
            .map(|r| r.size.clone())
    };
    match size("ecs:app-staging-cluster/backend") {
        Some(lightsout::digest::input::Size::Fargate {
            cpu_units: 256,
            memory_mib: 512,
            tasks: 2,
            ..
        }) => {}
        other => panic!("backend size: {other:?}"),
    }
    match size("aurora:app-staging-aurora") {
        Some(lightsout::digest::input::Size::Database { classes, .. }) => {
            assert_eq!(classes.len(), 2)
        }
        other => panic!("aurora size: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_cost_data_and_budget_still_give_a_digest() {
    let moto = Moto::start();
    moto.seed();
    // No Cost Explorer results injected: moto answers an empty series; no forecast in moto;
    // an AWS budget that does not exist.
    let (d, _) = digester(
        &moto,
        "channels = [\"stdout\"]\nbudget_name = \"no-such-budget\"",
        None,
    )
    .await;
    let env = d.config.environments[0].clone();
    let input = d.gather(&env, None, true).await;
    assert!(
        input.spend.as_ref().is_ok_and(|s| s.days.is_empty()),
        "{:?}",
        input.spend
    );
    assert!(input.forecast.is_err());
    match &input.budget {
        lightsout::digest::input::Budget::Missing(why) => {
            assert!(why.contains("no-such-budget"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    let r = d.run(&env, RunOptions::default()).await;
    assert!(!r.failed(), "{r:?}");
}

/// `lightsout digest` on the binary: the Markdown digest on stdout for a real (emulated)
/// environment, a summary with the Cost Explorer request count on stderr, and clear refusals.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_digest_command_prints_markdown_and_refuses_bad_dates() {
    let moto = Moto::start();
    moto.seed();
    // The binary reads the real clock: report on yesterday (Berlin), with Cost Explorer data for
    // the month so far.
    let today = lightsout::clock::Clock::now(&lightsout::clock::SystemClock)
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive();
    let yesterday = today - TimeDelta::days(1);
    let from = (yesterday - TimeDelta::days(40)).with_day0(0).unwrap();
    inject_ce(&moto, vec![ce_result(from, today, None)]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("staging.toml"),
        schedule("channels = [\"stdout\"]"),
    )
    .unwrap();
    let run = |args: &[&str]| {
        support::lightsout(&moto, dir.path())
            .arg("digest")
            .args(args)
            .arg("--store")
            .arg(dir.path().join("state.db"))
            .output()
            .unwrap()
    };
    let out = run(&["--dry-run"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("# staging — digest for"), "{stdout}");
    for section in ["## Spend", "## Budget", "## Savings", "## Health"] {
        assert!(stdout.contains(section), "no {section}:\n{stdout}");
    }
    // One GetCostAndUsage page of daily costs, one GetCostForecast (which moto does not
    // implement: the digest projects by itself, and says so), and the day's usage types; no
    // forecast when the day reported is the last of its month.
    let last = lightsout::calendar::last_ended_day(lightsout::clock::Clock::now(
        &lightsout::clock::SystemClock,
    ));
    let want = if (last + TimeDelta::days(1)).day() == 1 {
        2
    } else {
        3
    };
    assert!(
        stderr.contains(&format!("Cost Explorer requests: {want}")),
        "{stderr}"
    );
    assert!(stdout.contains("lightsout projection"), "{stdout}");
    // The figures as JSON: every saving with its rate and hours.
    let out = run(&["--dry-run", "--output", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["env"], "staging");
    assert!(v[0]["savings"]["resources"][0]["hourly"].is_string(), "{v}");
    assert!(v[0]["spend"]["Ok"]["month_to_date"].is_string(), "{v}");

    // Every environment in one digest (`--all`): a second schedule file in Sydney, each
    // environment's line and the total, in UTC billing days.
    std::fs::write(
        dir.path().join("qa.toml"),
        "name = \"qa\"\nregion = \"eu-west-1\"\ntimezone = \"Australia/Sydney\"\nawake = [\"Mon-Fri 08:00-18:00\"]\nmonthly_budget = 100\n[ecs]\nservices = [\"app-staging-cluster/qa\"]\n[digest]\ncombined = true\nchannels = [\"stdout\"]\n",
    )
    .unwrap();
    let out = run(&["--all", "--dry-run"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.starts_with("# Every environment — digest for"),
        "{stdout}"
    );
    assert!(stdout.contains("(UTC billing day)"), "{stdout}");
    for line in ["**staging: **", "**qa: **", "**Total: **"] {
        assert!(stdout.contains(line), "no {line}:\n{stdout}");
    }
    let out = run(&["--all", "--dry-run", "--output", "json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["lines"].as_array().map(Vec::len), Some(2), "{v}");
    std::fs::remove_file(dir.path().join("qa.toml")).unwrap();

    let out = run(&["--date", &today.to_string()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("that UTC billing day has not ended yet") && stderr.contains("CET"),
        "{stderr}"
    );
    let out = run(&["--env", "prod"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no environment \"prod\""));
}

/// Secrets come from SSM Parameter Store (SecureString, decrypted) when `NAME_SSM` is set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_read_from_ssm_parameter_store() {
    let moto = Moto::start();
    moto.python(
        "ssm = boto3.client('ssm', **kw)\nssm.put_parameter(Name='/lightsout/staging/webhook', Value='https://hooks.example.com/T/B/x', Type='SecureString')",
    );
    let config = moto.sdk_config().await;
    let vars: std::collections::HashMap<&str, &str> = [
        (
            "LIGHTSOUT_DIGEST_TEST_WEBHOOK_SSM",
            "/lightsout/staging/webhook",
        ),
        ("LIGHTSOUT_DIGEST_TEST_MISSING_SSM", "/lightsout/nope"),
    ]
    .into();
    let env = |key: &str| vars.get(key).map(|v| v.to_string());
    let got = lightsout::cli::secret_in("LIGHTSOUT_DIGEST_TEST_WEBHOOK", &env, &config)
        .await
        .unwrap();
    assert_eq!(got.as_deref(), Some("https://hooks.example.com/T/B/x"));
    let err = lightsout::cli::secret_in("LIGHTSOUT_DIGEST_TEST_MISSING", &env, &config)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("LIGHTSOUT_DIGEST_TEST_MISSING_SSM") && err.contains("/lightsout/nope"),
        "{err}"
    );
    assert_eq!(
        lightsout::cli::secret_in("LIGHTSOUT_DIGEST_TEST_UNSET", &env, &config)
            .await
            .unwrap(),
        None
    );
}

/// The Lambda's scheduled `{"action": "digest"}`: sends, records, and fails (so the function's
/// error alarm fires) when a channel could not be reached; a retry sends only what failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_digest_event_sends_once_and_fails_loudly() {
    use lambda_runtime::{Context, LambdaEvent};
    let moto = Moto::start();
    moto.seed();
    // The SNS topic does not exist: that channel fails, stdout does not.
    let (d, store) = digester(
        &moto,
        r#"channels = ["stdout", "sns"]
sns_topic_arn = "arn:aws:sns:eu-west-1:123456789012:missing""#,
        None,
    )
    .await;
    let cfg = d.config.clone();
    let mut service = lightsout::service::Service::new(
        cfg,
        AwsCloud::new(moto.sdk_config().await),
        store,
        Arc::new(ManualClock::new(now())),
        "lambda-test".into(),
    );
    service.digest = Some(Arc::new(d));
    let app = Arc::new(lightsout::api::ApiState::new(
        Arc::new(service),
        lightsout::api::auth::Tokens::parse("").unwrap(),
    ));
    let event: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/events/scheduler-digest.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let invoke = || {
        lightsout::lambda::handle(
            app.as_ref(),
            lightsout::api::router(app.clone()),
            LambdaEvent::new(event.clone(), Context::default()),
        )
    };
    let err = invoke().await.unwrap_err().to_string();
    assert!(err.contains("digest not delivered: staging sns"), "{err}");
    // Invoking it again (by hand, or `lightsout digest`) does not print stdout again.
    moto.python("sns = boto3.client('sns', **kw)\nsns.create_topic(Name='missing')");
    let ok = invoke().await.unwrap();
    let report = &ok["reports"][0];
    assert_eq!(
        report["already_sent"],
        serde_json::json!(["stdout"]),
        "{ok}"
    );
    assert_eq!(report["sent"][0][0], "sns", "{ok}");
}

/// `budget_name` reads the limit of an AWS Budgets budget in the caller's account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aws_budget_is_the_budget_when_named() {
    let moto = Moto::start();
    moto.seed();
    moto.python(
        "sts = boto3.client('sts', **kw)\naccount = sts.get_caller_identity()['Account']\n\
         b = boto3.client('budgets', **kw)\n\
         b.create_budget(AccountId=account, Budget={'BudgetName': 'staging-monthly', 'BudgetLimit': {'Amount': '812.50', 'Unit': 'USD'}, 'TimeUnit': 'MONTHLY', 'BudgetType': 'COST'})",
    );
    let (d, _) = digester(&moto, "budget_name = \"staging-monthly\"", None).await;
    let env = d.config.environments[0].clone();
    let input = d.gather(&env, None, true).await;
    assert_eq!(
        input.budget,
        lightsout::digest::input::Budget::Aws {
            name: "staging-monthly".into(),
            amount: lightsout::digest::input::Money::from_cents(81_250),
        }
    );
}

/// Production, selected by a loose tag selector and refused by the guard, is not in the digest:
/// neither priced nor reported on; Aurora members are priced through their cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_digest_covers_only_what_lightsout_manages() {
    let moto = Moto::start();
    moto.seed();
    let env = parse_str(Path::new("staging.toml"), support::STAGING).unwrap();
    let d = Digester::new(
        Config {
            environments: vec![env.clone()],
        },
        Arc::new(AwsCloud::new(moto.sdk_config().await)).ports(None),
        Arc::new(SqliteStore::in_memory().unwrap()),
        Arc::new(ManualClock::new(now())),
    );
    let input = d.gather(&env, None, true).await;
    let names: Vec<&str> = input
        .resources
        .iter()
        .map(|r| r.resource.as_str())
        .collect();
    assert!(names.iter().all(|n| !n.contains("production")), "{names:?}");
    assert!(
        names.contains(&"aurora:app-staging-aurora")
            && !names.contains(&"rds:app-staging-aurora-1"),
        "{names:?}"
    );
    let services = input.health.services.unwrap();
    assert!(
        services.iter().all(|s| !s.name.contains("production")),
        "{services:?}"
    );
    let dbs = input.health.databases.unwrap();
    assert!(
        dbs.iter().all(|d| !d.resource.contains("production")),
        "{dbs:?}"
    );
}

/// Cost Explorer's answer for `from..to` (exclusive) by service, the days from `estimated` on
/// marked estimated: a working day's and a dark day's figures, as the reference environment.
fn ce_days(from: NaiveDate, to: NaiveDate, estimated: NaiveDate) -> serde_json::Value {
    let days: Vec<serde_json::Value> = from
        .iter_days()
        .take_while(|d| *d < to)
        .map(|d| {
            let s = lightsout::digest::fixtures::day_spend(d);
            serde_json::json!({
                "TimePeriod": {"Start": d.to_string(), "End": (d + TimeDelta::days(1)).to_string()},
                "Total": {},
                "Groups": s.by_service.iter().map(|(n, m)| serde_json::json!({
                    "Keys": [n], "Metrics": {"UnblendedCost": {"Amount": m.exact(), "Unit": "USD"}}
                })).collect::<Vec<_>>(),
                "Estimated": d >= estimated
            })
        })
        .collect();
    serde_json::json!({"ResultsByTime": days, "DimensionValueAttributes": [], "GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"}]})
}

/// Cost Explorer's answer for one day by service and usage type.
fn ce_usage(day: NaiveDate) -> serde_json::Value {
    let groups: Vec<serde_json::Value> = lightsout::digest::fixtures::day_usage(day)
        .iter()
        .map(|u| {
            serde_json::json!({
                "Keys": [u.service, u.usage_type],
                "Metrics": {"UnblendedCost": {"Amount": u.amount.exact(), "Unit": "USD"}}
            })
        })
        .collect();
    serde_json::json!({"ResultsByTime": [{
        "TimePeriod": {"Start": day.to_string(), "End": (day + TimeDelta::days(1)).to_string()},
        "Total": {}, "Groups": groups, "Estimated": true
    }], "DimensionValueAttributes": [], "GroupDefinitions": [
        {"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "DIMENSION", "Key": "USAGE_TYPE"}]})
}

/// A digester for `env_toml` over `moto`, at `now`.
async fn digester_for(moto: &Moto, env_toml: &str, now: &str) -> Digester {
    let env = parse_str(Path::new("staging.toml"), env_toml).unwrap_or_else(|e| panic!("{e}"));
    let mut d = Digester::new(
        Config {
            environments: vec![env],
        },
        Arc::new(AwsCloud::new(moto.sdk_config().await)).ports(None),
        Arc::new(SqliteStore::in_memory().unwrap()),
        Arc::new(ManualClock::new(now.parse().unwrap())),
    );
    d.probe_timeout = Duration::from_millis(200);
    d
}

/// The same Cost Explorer data, a Sydney digest at 08:30 on Mon 30 Nov (21:30 UTC on Sunday)
/// and a Berlin one at 08:30 the same Monday (07:30 UTC): each reports on the newest UTC
/// billing day that has ended and has figures, with the whole billing month to it — Sydney
/// never again says "no data" — in 3 Cost Explorer requests each, and a repeat makes none.
/// Run with --nocapture to see both digests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sydney_and_berlin_mornings_from_the_same_cost_explorer_data() {
    let moto = Moto::start();
    moto.seed();
    let d = |s: &str| s.parse::<NaiveDate>().unwrap();
    // The requests in the order the two digests make them: Sydney's days (to the 28th) and
    // usage types (of the 28th); Berlin's days (to the 29th) and usage types (of the 29th).
    inject_ce(
        &moto,
        vec![
            ce_days(d("2026-10-01"), d("2026-11-29"), d("2026-11-01")),
            ce_usage(d("2026-11-28")),
            ce_days(d("2026-10-01"), d("2026-11-30"), d("2026-11-01")),
            ce_usage(d("2026-11-29")),
        ],
    );
    let base = schedule("channels = [\"stdout\"]");
    let sydney_toml = base
        .replace(
            "timezone = \"Europe/Berlin\"",
            "timezone = \"Australia/Sydney\"",
        )
        .replace("region = \"eu-west-1\"", "region = \"ap-southeast-2\"");
    let sydney = digester_for(&moto, &sydney_toml, "2026-11-29T21:30:00Z").await;
    let berlin = digester_for(&moto, &base, "2026-11-30T07:30:00Z").await;
    let ce = |m: &std::collections::BTreeMap<String, usize>| {
        m.get("GetCostAndUsage").copied().unwrap_or(0)
            + m.get("GetCostForecast").copied().unwrap_or(0)
    };
    let mut shown = Vec::new();
    for (name, dg, day, month_days) in [
        ("Sydney", &sydney, "2026-11-28", 28u32),
        ("Berlin", &berlin, "2026-11-29", 29),
    ] {
        let env = dg.config.environments[0].clone();
        moto.start_recording();
        let input = dg.gather(&env, None, true).await;
        let requests = ce(&moto.recorded_counts());
        assert_eq!(requests, 3, "{name}: {:?}", moto.recorded_counts());
        assert_eq!(input.cost_explorer_requests, 3, "{name}");
        assert_eq!(input.day, d(day), "{name}");
        let digest = lightsout::digest::figures::compute(
            &input,
            lightsout::digest::prices::PriceTable::shipped(),
        );
        let s = digest.spend.as_ref().expect("figures");
        assert_eq!(
            s.day_total,
            Some(lightsout::digest::fixtures::day_spend(d(day)).total),
            "{name}"
        );
        assert!(s.month_missing.is_empty(), "{name}: {:?}", s.month_missing);
        assert_eq!(digest.budget.days.0, month_days, "{name}");
        assert!(
            digest.always_on.kinds.is_ok(),
            "{name}: {:?}",
            digest.always_on.kinds
        );
        let md = lightsout::digest::render::markdown(&digest);
        assert!(!md.contains("no cost data"), "{name}:\n{md}");
        // The same digest again: everything from the cache.
        moto.start_recording();
        let again = dg.gather(&env, None, true).await;
        assert_eq!(ce(&moto.recorded_counts()), 0, "{name}");
        assert_eq!(again.cost_explorer_requests, 0, "{name}");
        shown.push(format!(
            "===== {name} ({} requests, then 0 for the same digest again)\n{md}",
            requests
        ));
    }
    println!("{}", shown.join("\n"));
}
