//! The IAM policy (`deploy/iam/lightsout-policy.json.tpl`) allows every AWS operation the code can
//! call at run time, and nothing else; and it denies every write on resources tagged production.
//! Adding an SDK call without its permission (or a permission without a call) fails this test.

use std::collections::BTreeSet;
use std::path::Path;

/// Operations the code can call only while setting up (tests, the demo), never at run time:
/// the deploy module creates the table, so the running service needs no permission for them.
const SETUP_ONLY: &[&str] = &["dynamodb:CreateTable", "dynamodb:UpdateTimeToLive"];

/// `describe_db_instances` -> `DescribeDBInstances`.
fn action(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| match w {
            "db" => "DB".to_string(),
            w => {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            }
        })
        .collect()
}

/// The IAM action an SDK operation needs, where its name differs from the operation's.
fn iam_action(prefix: &str, operation: &str) -> String {
    match (prefix, operation) {
        ("budgets", "DescribeBudget") => "budgets:ViewBudget".into(),
        _ => format!("{prefix}:{operation}"),
    }
}

/// The IAM prefix of an SDK crate (`aws_sdk_NAME`), where it is not the crate's own name.
fn prefix_of(krate: &str) -> String {
    match krate {
        "applicationautoscaling" => "application-autoscaling",
        "costexplorer" => "ce",
        "elasticloadbalancingv2" => "elasticloadbalancing",
        "sesv2" => "ses",
        "eventbridge" => "events",
        other => other,
    }
    .to_string()
}

/// The clients of `src/aws/mod.rs`'s `Clients` (field → IAM prefix), read from the struct, so a
/// new kind's client is covered without touching this test.
fn clients() -> Vec<(String, String)> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/aws/mod.rs"))
            .unwrap();
    let body = text
        .split("pub(crate) struct Clients {")
        .nth(1)
        .and_then(|b| b.split('}').next())
        .expect("struct Clients in src/aws/mod.rs");
    body.lines()
        .filter_map(|l| {
            let (field, ty) = l.trim().strip_prefix("pub(crate) ")?.split_once(':')?;
            let krate = ty.trim().strip_prefix("aws_sdk_")?.split("::").next()?;
            Some((format!(".{}.", field.trim()), prefix_of(krate)))
        })
        .collect()
}

/// The IAM actions of every SDK call in `src/aws/`.
fn called() -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/aws");
    let mut fields = clients();
    assert!(fields.len() >= 8, "read the Clients struct: {fields:?}");
    // Clients made on the spot, and the store's.
    for (field, prefix) in [
        ("=ses.", "ses"),
        ("=sns.", "sns"),
        ("=ssm.", "ssm"),
        // The CloudWatch client handed to `health.rs::alarms` on its own (its unit tests give
        // it a mock client).
        ("=cw.", "cloudwatch"),
        ("self.client.", "dynamodb"),
        ("client.", "dynamodb"),
    ] {
        fields.push((field.to_string(), prefix.to_string()));
    }
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        // Collapse whitespace so a call chain split over lines reads `c.rds.stop_db_instance()`.
        let flat: String = text.split_whitespace().collect::<Vec<_>>().join("");
        for (field, prefix) in &fields {
            let mut rest = flat.as_str();
            while let Some(i) = rest.find(field.as_str()) {
                rest = &rest[i + field.len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if rest[name.len()..].starts_with("()") && !name.is_empty() {
                    out.insert(iam_action(prefix, &action(&name)));
                }
            }
        }
        if flat.contains("AssumeRoleProvider::builder") {
            out.insert("sts:AssumeRole".into());
        }
    }
    out
}

fn policy() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/iam/lightsout-policy.json.tpl");
    // Terraform's templatefile fills ${...}; list-valued ones stand where JSON expects an array.
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace(
            "${ecs_service_arns}",
            "[\"arn:aws:ecs:eu-west-1:123456789012:service/app-staging-cluster/*\"]",
        )
        .replace(
            "${alb_rule_arns}",
            "[\"arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/staging/*\"]",
        )
        .replace(
            "${assume_role_arns}",
            "[\"arn:aws:iam::111111111111:role/lightsout\"]",
        )
        .replace(
            "${budget_arns}",
            "[\"arn:aws:budgets::123456789012:budget/staging\"]",
        )
        .replace(
            "${ses_identity_arns}",
            "[\"arn:aws:ses:eu-west-1:123456789012:identity/example.com\"]",
        )
        .replace(
            "${sns_topic_arns}",
            "[\"arn:aws:sns:eu-west-1:123456789012:lightsout-digest\"]",
        )
        .replace(
            "${ssm_parameter_arns}",
            "[\"arn:aws:ssm:eu-west-1:123456789012:parameter/lightsout/tokens\"]",
        );
    serde_json::from_str(&text).expect("the policy template is JSON once filled")
}

fn actions(effect: &str) -> Vec<BTreeSet<String>> {
    policy()["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Effect"] == effect)
        .map(|s| {
            s["Action"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn policy_allows_exactly_the_operations_the_code_calls() {
    let called = called();
    assert!(
        called.contains("ecs:UpdateService")
            && called.contains("rds:StopDBCluster")
            && called.contains("dynamodb:PutItem"),
        "the scan finds calls: {called:?}"
    );
    let needed: BTreeSet<String> = called
        .into_iter()
        .filter(|a| !SETUP_ONLY.contains(&a.as_str()))
        .collect();
    let allowed: BTreeSet<String> = actions("Allow").into_iter().flatten().collect();
    let missing: Vec<&String> = needed.difference(&allowed).collect();
    let extra: Vec<&String> = allowed.difference(&needed).collect();
    assert!(
        missing.is_empty(),
        "called but not allowed by the policy: {missing:?}"
    );
    assert!(extra.is_empty(), "allowed but never called: {extra:?}");
}

#[test]
fn every_write_is_denied_on_production_by_both_tags() {
    let reads = ["List", "Describe", "Get", "Query"];
    let writes: BTreeSet<String> = actions("Allow")
        .into_iter()
        .flatten()
        // Writes to the environments' resources; the table, the digest's topic and identity and
        // the parameters are lightsout's own, named one by one.
        .filter(|a| {
            [
                "ecs:",
                "application-autoscaling:",
                "autoscaling:",
                "ec2:",
                "rds:",
                "redshift:",
                "elasticloadbalancing:",
            ]
            .iter()
            .any(|p| a.starts_with(p))
        })
        .filter(|a| {
            !reads
                .iter()
                .any(|r| a.split(':').nth(1).unwrap().starts_with(r))
        })
        .collect();
    let policy = policy();
    let denies: Vec<&serde_json::Value> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Effect"] == "Deny")
        .collect();
    for tag in ["aws:ResourceTag/Environment", "aws:ResourceTag/env"] {
        let deny = denies
            .iter()
            .find(|s| s["Condition"]["StringEqualsIgnoreCase"][tag].is_array())
            .unwrap_or_else(|| panic!("no deny on {tag}"));
        let denied: BTreeSet<String> = deny["Action"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        assert_eq!(denied, writes, "{tag}");
        assert_eq!(
            deny["Condition"]["StringEqualsIgnoreCase"][tag],
            serde_json::json!(["production", "prod"])
        );
    }
}
