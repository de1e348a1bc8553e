//! The front door against moto: the reference environment behind an ALB listener rule with a
//! weighted forward between the backend's target group and a wake target group. Going to sleep
//! the rule flips to the wake page before any service scales down; waking it flips back last,
//! only once the services run and the app target group has healthy targets. The order of calls
//! is read from moto's request recorder.

use crate::support;

use chrono::{DateTime, Utc};
use lightsout::aws::AwsCloud;
use lightsout::config;
use lightsout::engine::{EnvReport, reconcile};
use lightsout::model::Environment;
use support::{Moto, STAGING, is_write};

/// Wednesday 23:00 CET: asleep.
fn night() -> DateTime<Utc> {
    "2026-12-02T22:00:00Z".parse().unwrap()
}

/// Thursday 07:05 CET: awake.
fn morning() -> DateTime<Utc> {
    "2026-12-03T06:05:00Z".parse().unwrap()
}

/// The ARNs the seeding made.
struct Door {
    listener: String,
    rule: String,
    other_rule: String,
    app: String,
    wake: String,
}

/// An ALB with one listener: the rule lightsout switches (`/*`, app 1 / wake 0, tagged
/// Environment=staging), an app rule it must never touch (`/admin/*`), and one healthy target in
/// the app target group.
fn seed_door(moto: &Moto) -> Door {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("door.json");
    moto.python(&format!(
        r#"
import json
ec2 = boto3.client('ec2', **kw)
elb = boto3.client('elbv2', **kw)
vpc = ec2.describe_vpcs(Filters=[{{'Name': 'isDefault', 'Values': ['true']}}])['Vpcs'][0]['VpcId']
subnets = [s['SubnetId'] for s in ec2.describe_subnets(Filters=[{{'Name': 'vpc-id', 'Values': [vpc]}}])['Subnets']][:2]
lb = elb.create_load_balancer(Name='app-staging', Subnets=subnets, Type='application')['LoadBalancers'][0]['LoadBalancerArn']
app = elb.create_target_group(Name='app-staging-backend', Protocol='HTTP', Port=8000, VpcId=vpc, TargetType='ip')['TargetGroups'][0]['TargetGroupArn']
wake = elb.create_target_group(Name='lightsout-wake', TargetType='lambda')['TargetGroups'][0]['TargetGroupArn']
listener = elb.create_listener(LoadBalancerArn=lb, Protocol='HTTP', Port=80,
    DefaultActions=[{{'Type': 'fixed-response', 'FixedResponseConfig': {{'StatusCode': '404'}}}}])['Listeners'][0]['ListenerArn']
rule = elb.create_rule(ListenerArn=listener, Priority=10,
    Conditions=[{{'Field': 'path-pattern', 'Values': ['/*']}}],
    Actions=[{{'Type': 'forward', 'ForwardConfig': {{'TargetGroups': [
        {{'TargetGroupArn': app, 'Weight': 1}}, {{'TargetGroupArn': wake, 'Weight': 0}}]}}}}],
    Tags=[{{'Key': 'Environment', 'Value': 'staging'}}])['Rules'][0]['RuleArn']
other = elb.create_rule(ListenerArn=listener, Priority=5,
    Conditions=[{{'Field': 'path-pattern', 'Values': ['/admin/*']}}],
    Actions=[{{'Type': 'forward', 'TargetGroupArn': app}}])['Rules'][0]['RuleArn']
elb.register_targets(TargetGroupArn=app, Targets=[{{'Id': '10.0.0.10', 'Port': 8000}}])
json.dump(dict(listener=listener, rule=rule, other=other, app=app, wake=wake), open('{}', 'w'))
"#,
        out.display()
    ));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
    let s = |k: &str| v[k].as_str().unwrap().to_string();
    Door {
        listener: s("listener"),
        rule: s("rule"),
        other_rule: s("other"),
        app: s("app"),
        wake: s("wake"),
    }
}

fn env(door: &Door) -> Environment {
    let src = format!(
        "{STAGING}\n[[alb.rules]]\nrule = \"{}\"\napp = \"{}\"\nwake = \"{}\"\n",
        door.rule, door.app, door.wake
    );
    config::parse_str(std::path::Path::new("staging.toml"), &src).unwrap()
}

/// The rule's forward weights: (app, wake).
async fn weights(elb: &aws_sdk_elasticloadbalancingv2::Client, door: &Door) -> (i32, i32) {
    let out = elb
        .describe_rules()
        .rule_arns(&door.rule)
        .send()
        .await
        .unwrap();
    let tgs = out.rules()[0].actions()[0]
        .forward_config()
        .unwrap()
        .target_groups()
        .to_vec();
    let w = |arn: &str| {
        tgs.iter()
            .find(|t| t.target_group_arn() == Some(arn))
            .and_then(|t| t.weight())
            .unwrap()
    };
    (w(&door.app), w(&door.wake))
}

fn door_line(r: &EnvReport) -> String {
    r.items
        .iter()
        .find(|i| i.item.resource.to_string().starts_with("alb:"))
        .map(|i| format!("{:?}: {}", i.item.verdict, i.item.reason))
        .unwrap_or_else(|| panic!("no door in {r:#?}"))
}

/// The write calls recorded, in order.
fn writes(moto: &Moto) -> Vec<String> {
    moto.recorded_operations()
        .into_iter()
        .filter(|o| is_write(o))
        .collect()
}

fn position(ops: &[String], op: &str) -> usize {
    ops.iter()
        .position(|o| o == op)
        .unwrap_or_else(|| panic!("no {op} in {ops:?}"))
}

/// Sleep: ModifyRule (to the wake page) comes before the first UpdateService; waking: the rule
/// flips back only after every UpdateService and after the app target group has a healthy
/// target again; the app's own rule is never modified.
#[tokio::test]
async fn the_rule_flips_before_scale_down_and_back_after_healthy() {
    let moto = Moto::start();
    moto.seed();
    let door = seed_door(&moto);
    let env = env(&door);
    let cfg = moto.sdk_config().await;
    let cloud = AwsCloud::new(cfg.clone());
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&cfg);
    assert_eq!(weights(&elb, &door).await, (1, 0));

    // Going to sleep: one pass.
    moto.start_recording();
    let r = reconcile(&cloud, &env, None, night(), false).await;
    let sleep = writes(&moto);
    println!("sleep writes: {sleep:?}");
    assert_eq!(weights(&elb, &door).await, (0, 1), "{}", door_line(&r));
    assert!(
        position(&sleep, "ModifyRule") < position(&sleep, "UpdateService"),
        "the rule flips before any service scales down: {sleep:?}"
    );
    assert_eq!(sleep.iter().filter(|o| *o == "ModifyRule").count(), 1);
    // A second pass at night writes nothing to the rule.
    moto.start_recording();
    let r = reconcile(&cloud, &env, None, night(), false).await;
    assert!(
        !writes(&moto).contains(&"ModifyRule".to_string()),
        "{}",
        door_line(&r)
    );

    // Asleep, the tasks are gone: so are the app target group's targets.
    moto.python(&format!(
        "elb = boto3.client('elbv2', **kw)\nelb.deregister_targets(TargetGroupArn='{}', Targets=[{{'Id': '10.0.0.10', 'Port': 8000}}])",
        door.app
    ));

    // Waking: passes until the services run; the door waits for healthy targets.
    moto.start_recording();
    let mut lines = Vec::new();
    for _ in 0..4 {
        let r = reconcile(&cloud, &env, None, morning(), false).await;
        lines.push(door_line(&r));
    }
    assert_eq!(weights(&elb, &door).await, (0, 1), "{lines:#?}");
    assert!(
        lines.last().unwrap().contains("no healthy targets yet"),
        "{lines:#?}"
    );
    // ECS registers the new tasks; they pass their health checks.
    moto.python(&format!(
        "elb = boto3.client('elbv2', **kw)\nelb.register_targets(TargetGroupArn='{}', Targets=[{{'Id': '10.0.0.11', 'Port': 8000}}])",
        door.app
    ));
    let r = reconcile(&cloud, &env, None, morning(), false).await;
    lines.push(door_line(&r));
    let wake = writes(&moto);
    println!("wake writes: {wake:?}");
    println!("door, pass by pass: {lines:#?}");
    assert_eq!(weights(&elb, &door).await, (1, 0), "{lines:#?}");
    let flip = position(&wake, "ModifyRule");
    let last_scale = wake.iter().rposition(|o| o == "UpdateService").unwrap();
    assert!(last_scale < flip, "flip back after the services: {wake:?}");
    assert!(
        position(&wake, "RegisterTargets") < flip,
        "flip back after healthy: {wake:?}"
    );

    // The app's own rule still forwards to the app alone.
    let other = elb
        .describe_rules()
        .rule_arns(&door.other_rule)
        .send()
        .await
        .unwrap();
    let a = &other.rules()[0].actions()[0];
    let tgs: Vec<_> = a
        .forward_config()
        .map(|f| f.target_groups().to_vec())
        .unwrap_or_default();
    assert!(
        a.target_group_arn() == Some(door.app.as_str())
            || (tgs.len() == 1 && tgs[0].target_group_arn() == Some(door.app.as_str())),
        "{a:?}"
    );
}

/// A half-done switch (both weights up: a hand edit, or a switch cut short) is repaired by the
/// next pass: at night, to the wake page.
#[tokio::test]
async fn a_half_switched_rule_is_repaired() {
    let moto = Moto::start();
    moto.seed();
    let door = seed_door(&moto);
    moto.python(&format!(
        "elb = boto3.client('elbv2', **kw)\nelb.modify_rule(RuleArn='{}', Actions=[{{'Type': 'forward', 'ForwardConfig': {{'TargetGroups': [{{'TargetGroupArn': '{}', 'Weight': 1}}, {{'TargetGroupArn': '{}', 'Weight': 1}}]}}}}])",
        door.rule, door.app, door.wake
    ));
    let cfg = moto.sdk_config().await;
    let cloud = AwsCloud::new(cfg.clone());
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&cfg);
    let r = reconcile(&cloud, &env(&door), None, night(), false).await;
    let line = door_line(&r);
    assert!(line.contains("half-switched: app 1 / wake 1"), "{line}");
    assert_eq!(weights(&elb, &door).await, (0, 1), "{line}");
}

/// The rule named by its listener and conditions (`paths = ["/*"]`) is found on every pass and
/// switched, never the app's own `/admin/*` rule; conditions no rule has are a missing rule
/// with the listener and conditions in its name; conditions two rules have are refused with
/// both.
#[tokio::test]
async fn a_rule_is_found_by_its_listener_and_conditions() {
    let moto = Moto::start();
    moto.seed();
    let door = seed_door(&moto);
    let cfg = moto.sdk_config().await;
    let cloud = AwsCloud::new(cfg.clone());
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&cfg);
    let by = |conditions: &str| {
        let src = format!(
            "{STAGING}\n[[alb.rules]]\nlistener = \"{}\"\n{conditions}\napp = \"{}\"\nwake = \"{}\"\n",
            door.listener, door.app, door.wake
        );
        config::parse_str(std::path::Path::new("staging.toml"), &src).unwrap()
    };
    moto.start_recording();
    let r = reconcile(&cloud, &by("paths = [\"/*\"]"), None, night(), false).await;
    assert_eq!(weights(&elb, &door).await, (0, 1), "{}", door_line(&r));
    let ops = moto.recorded_operations();
    assert_eq!(
        ops.iter().filter(|o| *o == "ModifyRule").count(),
        1,
        "{ops:?}"
    );
    // The app's own rule is untouched.
    let other = elb
        .describe_rules()
        .rule_arns(&door.other_rule)
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.rules()[0].actions()[0].target_group_arn(),
        Some(door.app.as_str())
    );

    let r = reconcile(
        &cloud,
        &by("hosts = [\"nope.example.com\"]"),
        None,
        night(),
        false,
    )
    .await;
    let missing = format!("{r:?}");
    assert!(
        missing.contains("host nope.example.com"),
        "a missing rule is named by its listener and conditions: {missing}"
    );

    moto.python(&format!(
        "elb = boto3.client('elbv2', **kw)\nelb.create_rule(ListenerArn='{}', Priority=20, Conditions=[{{'Field': 'path-pattern', 'Values': ['/*']}}], Actions=[{{'Type': 'forward', 'TargetGroupArn': '{}'}}])",
        door.listener, door.app
    ));
    let r = reconcile(&cloud, &by("paths = [\"/*\"]"), None, night(), false).await;
    let both = format!("{r:?}");
    assert!(
        both.contains("2 rules match"),
        "two rules with the same conditions are refused: {both}"
    );
}

/// `lightsout serve` on loopback as the wake target group's `ip` target, under a bounded
/// bot-like load (no user agent, crawlers, curl, HEAD, robots.txt, favicon.ico, scanners from
/// outside the allow-list, a spoofed X-Forwarded-For, button posts without an identity): zero
/// wakes. Then browsers' page latency (printed: p50/p99), and one request from the VPN wakes it
/// once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_never_wake_it_and_the_page_is_quick() {
    let moto = Moto::start();
    moto.seed();
    let door = seed_door(&moto);
    let src = format!(
        "{STAGING}\n[alb]\nhosts = [\"127.0.0.1\"]\nwake_on_request = \"auto\"\nallow_cidrs = [\"10.8.0.0/16\"]\n\
         [[alb.rules]]\nrule = \"{}\"\napp = \"{}\"\nwake = \"{}\"\n",
        door.rule, door.app, door.wake
    );
    let store = std::sync::Arc::new(lightsout::store::SqliteStore::in_memory().unwrap());
    let clock = std::sync::Arc::new(lightsout::clock::ManualClock::new(night()));
    let mut d = support::Daemon::start_with(
        &moto,
        clock,
        "alice-token-0123456789",
        std::time::Duration::from_secs(3600),
        &src,
        store.clone(),
    )
    .await;
    d.passes.wait_for(|n| *n >= 1).await.unwrap();
    let base = format!("http://{}", d.addr);

    let bots = {
        let base = base.clone();
        tokio::task::spawn_blocking(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into();
            let mut statuses = std::collections::BTreeMap::new();
            for i in 0..600 {
                let r = match i % 10 {
                    0 => agent.get(format!("{base}/")).call(),
                    1 => agent
                        .get(format!("{base}/"))
                        .header("user-agent", "Mozilla/5.0 (compatible; Googlebot/2.1)")
                        .header("x-forwarded-for", "10.8.0.5")
                        .call(),
                    2 => agent
                        .get(format!("{base}/api/v1/items"))
                        .header("user-agent", "curl/8.5.0")
                        .call(),
                    3 => agent
                        .head(format!("{base}/"))
                        .header("user-agent", "Mozilla/5.0")
                        .header("x-forwarded-for", "10.8.0.5")
                        .call(),
                    4 => agent
                        .get(format!("{base}/robots.txt"))
                        .header("x-forwarded-for", "10.8.0.5")
                        .call(),
                    5 => agent
                        .get(format!("{base}/favicon.ico"))
                        .header("user-agent", "Mozilla/5.0")
                        .header("x-forwarded-for", "10.8.0.5")
                        .call(),
                    6 => agent
                        .get(format!("{base}/wp-login.php"))
                        .header("user-agent", "Mozilla/5.0")
                        .header("x-forwarded-for", format!("198.51.100.{}", i % 250))
                        .call(),
                    7 => agent
                        .get(format!("{base}/"))
                        .header("user-agent", "Mozilla/5.0")
                        .header("x-forwarded-for", "10.8.0.5, 203.0.113.77")
                        .call(),
                    8 => agent
                        .post(format!("{base}/.lightsout/wake"))
                        .header("user-agent", "Mozilla/5.0")
                        .send_empty(),
                    _ => agent
                        .post(format!("{base}/.lightsout/wake"))
                        .header("authorization", "Bearer guessed-token-000000")
                        .send_empty(),
                }
                .unwrap();
                *statuses.entry(r.status().as_u16()).or_insert(0) += 1;
            }
            statuses
        })
        .await
        .unwrap()
    };
    println!("bot load, answers by status: {bots:?}");
    let wakes = |store: std::sync::Arc<lightsout::store::SqliteStore>| async move {
        use lightsout::store::Store;
        store
            .audit(Some("staging"), 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| matches!(e.action, lightsout::model::Action::Wake { .. }))
            .map(|e| e.actor)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        wakes(store.clone()).await,
        Vec::<String>::new(),
        "bots woke it"
    );

    let mut ms = tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        (0..300)
            .map(|_| {
                let t = std::time::Instant::now();
                let mut r = agent
                    .get(format!("{base}/"))
                    .header("accept", "text/html")
                    .header("user-agent", "Mozilla/5.0")
                    .header("x-forwarded-for", "203.0.113.9")
                    .call()
                    .unwrap();
                let body = r.body_mut().read_to_string().unwrap();
                assert!(body.contains("staging is asleep"));
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect::<Vec<f64>>()
    })
    .await
    .unwrap();
    ms.sort_by(f64::total_cmp);
    println!(
        "waiting page on loopback, 300 GETs: p50 {:.2} ms, p99 {:.2} ms",
        ms[ms.len() / 2],
        ms[ms.len() * 99 / 100]
    );

    let addr = d.addr;
    tokio::task::spawn_blocking(move || {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent()
            .get(format!("http://{addr}/"))
            .header("user-agent", "Mozilla/5.0")
            .header("x-forwarded-for", "10.8.0.5")
            .call()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(wakes(store.clone()).await, ["request:10.8.0.5"]);
    d.stop().await;
}

/// The waiting page in headless Chromium, served by `lightsout serve` with staging asleep: it
/// names the environment and what is asleep; "Wake for 1 h" with a token wakes it (audited as
/// `request:alice`) and shows progress; once the address answers as the app again (the rule
/// flipped back), the page reloads onto it by itself. The token is never in the page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_waiting_page_wakes_and_reloads_onto_the_app_in_a_browser() {
    let browser = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists()
            && browser.join("node_modules/playwright-core").exists(),
        "needs Debian's chromium and playwright-core: run .ci/run (or apt-get install chromium; npm ci --prefix tests/browser)"
    );
    let moto = Moto::start();
    moto.seed();
    let door = seed_door(&moto);
    let src = format!(
        "{STAGING}\n[alb]\nhosts = [\"127.0.0.1\"]\n[[alb.rules]]\nrule = \"{}\"\napp = \"{}\"\nwake = \"{}\"\n",
        door.rule, door.app, door.wake
    );
    let store = std::sync::Arc::new(lightsout::store::SqliteStore::in_memory().unwrap());
    let clock = std::sync::Arc::new(lightsout::clock::ManualClock::new(night()));
    let token = "alice-token-0123456789";
    let mut d = support::Daemon::start_with(
        &moto,
        clock,
        token,
        std::time::Duration::from_secs(3600),
        &src,
        store.clone(),
    )
    .await;
    d.passes.wait_for(|n| *n >= 1).await.unwrap();
    // The first pass put it to sleep; the next one sees it asleep.
    d.app.service.reconcile_all().await;
    let shot = tempfile::tempdir().unwrap();
    let args = vec![
        browser.join("knock.mjs").display().to_string(),
        format!("http://{}/dashboard", d.addr),
        token.to_string(),
        shot.path().join("knock.png").display().to_string(),
    ];
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    println!("waiting page in Chromium: {v}");
    assert_eq!(v["status"], 503);
    assert_eq!(v["title"], "staging is asleep");
    assert!(
        v["asleep"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "ecs:app-staging-cluster/backend"),
        "{v}"
    );
    assert_eq!(v["button"], "Wake for 1 h");
    assert!(
        v["expect"]
            .as_str()
            .unwrap()
            .starts_with("Waking takes 5–15 minutes"),
        "{v}"
    );
    assert!(
        v["message"].as_str().unwrap().starts_with("staging is "),
        "{v}"
    );
    assert_eq!(v["tokenInPage"], false);
    assert_eq!(v["reloadedTo"], "the app");
    use lightsout::store::Store;
    let actors: Vec<String> = store
        .audit(Some("staging"), 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| matches!(e.action, lightsout::model::Action::Wake { .. }))
        .map(|e| e.actor)
        .collect();
    assert_eq!(actors, ["request:alice"]);
    d.stop().await;
}
