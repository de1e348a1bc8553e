//! CloudWatch through the current SDK (rpcv2Cbor, which moto does not serve), over
//! aws-smithy-mocks.

use super::{alarm_actions, request_counts};
use crate::kinds::alb::{DoorRule, RuleRef};
use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::operation::disable_alarm_actions::DisableAlarmActionsOutput;
use aws_sdk_cloudwatch::operation::enable_alarm_actions::EnableAlarmActionsOutput;
use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
use aws_sdk_cloudwatch::types::{CompositeAlarm, MetricAlarm, MetricDataResult, StatusCode};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::DateTime as SmithyTime;
use chrono::{DateTime, Utc};

const ARN: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012";

fn rule(n: &str, app: &str) -> DoorRule {
    DoorRule {
        rule: RuleRef::Arn(format!(
            "{ARN}:listener-rule/app/staging/50dc6c49/f2f7dc8e/{n}"
        )),
        app: format!("{ARN}:targetgroup/{app}/73e2d6bc"),
        wake: format!("{ARN}:targetgroup/lightsout-wake/2453ed02"),
    }
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// One GetMetricData call for every app target group (a group behind two rules once), per
/// minute, Sum of RequestCount with the ALB's dimensions; the points of every group come back.
#[tokio::test]
async fn request_counts_are_one_call_for_every_app_target_group() {
    let get = mock!(Client::get_metric_data)
        .match_requests(|r| {
            let q = r.metric_data_queries();
            let stat = q[0].metric_stat().unwrap();
            let dims: Vec<(&str, &str)> = stat
                .metric()
                .unwrap()
                .dimensions()
                .iter()
                .map(|d| (d.name().unwrap(), d.value().unwrap()))
                .collect();
            q.len() == 2
                && stat.period() == Some(60)
                && stat.stat() == Some("Sum")
                && stat.metric().unwrap().namespace() == Some("AWS/ApplicationELB")
                && stat.metric().unwrap().metric_name() == Some("RequestCount")
                && dims
                    == [
                        ("TargetGroup", "targetgroup/backend/73e2d6bc"),
                        ("LoadBalancer", "app/staging/50dc6c49"),
                    ]
                && r.start_time().map(|t| t.secs()) == Some(1_764_669_600 - 2_700)
        })
        .then_output(|| {
            GetMetricDataOutput::builder()
                .metric_data_results(
                    MetricDataResult::builder()
                        .id("tg0")
                        .timestamps(SmithyTime::from_secs(1_764_669_000))
                        .values(4.0)
                        .status_code(StatusCode::Complete)
                        .build(),
                )
                .metric_data_results(
                    MetricDataResult::builder()
                        .id("tg1")
                        .timestamps(SmithyTime::from_secs(1_764_669_060))
                        .values(1.0)
                        .status_code(StatusCode::Complete)
                        .build(),
                )
                .build()
        });
    let cw = mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, [&get]);
    let rules = [
        rule("a", "backend"),
        rule("b", "frontend"),
        rule("c", "backend"),
    ];
    let now = utc("2025-12-02T10:00:00Z");
    assert_eq!(now.timestamp(), 1_764_669_600);
    let got = request_counts(&cw, &rules, now - chrono::TimeDelta::minutes(45), now)
        .await
        .unwrap();
    assert_eq!(
        got,
        vec![
            (utc("2025-12-02T09:50:00Z"), 4.0),
            (utc("2025-12-02T09:51:00Z"), 1.0)
        ]
    );
    assert_eq!(get.num_calls(), 1);
}

/// A result CloudWatch could not answer (`Forbidden`) is an error, never read as "no
/// requests" (which would put a used environment to sleep).
#[tokio::test]
async fn a_forbidden_result_is_an_error_not_zero_requests() {
    let get = mock!(Client::get_metric_data).then_output(|| {
        GetMetricDataOutput::builder()
            .metric_data_results(
                MetricDataResult::builder()
                    .id("tg0")
                    .label("RequestCount")
                    .status_code(StatusCode::Forbidden)
                    .build(),
            )
            .build()
    });
    let cw = mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, [&get]);
    let now = utc("2025-12-02T10:00:00Z");
    let e = request_counts(&cw, &[rule("a", "backend")], now, now)
        .await
        .unwrap_err();
    assert_eq!(e.operation, "GetMetricData");
    assert_eq!(e.code.as_deref(), Some("Forbidden"));
}

fn alarms_page(next: Option<&str>, alarms: &[(&str, bool)]) -> DescribeAlarmsOutput {
    let mut b = DescribeAlarmsOutput::builder().set_next_token(next.map(String::from));
    for (name, on) in alarms {
        b = b.metric_alarms(
            MetricAlarm::builder()
                .alarm_name(*name)
                .actions_enabled(*on)
                .build(),
        );
    }
    b.build()
}

/// Going to sleep: every alarm with the prefix, across pages, metric and composite, has its
/// actions disabled in one call — but only those still enabled.
#[tokio::test]
async fn muting_disables_the_prefixed_alarms_across_pages_once() {
    let first = mock!(Client::describe_alarms)
        .match_requests(|r| r.alarm_name_prefix() == Some("staging-") && r.next_token().is_none())
        .then_output(|| {
            alarms_page(
                Some("p2"),
                &[("staging-5xx", true), ("staging-off-by-hand", false)],
            )
        });
    let second = mock!(Client::describe_alarms)
        .match_requests(|r| r.next_token() == Some("p2"))
        .then_output(|| {
            DescribeAlarmsOutput::builder()
                .composite_alarms(
                    CompositeAlarm::builder()
                        .alarm_name("staging-api-down")
                        .actions_enabled(true)
                        .build(),
                )
                .build()
        });
    let disable = mock!(Client::disable_alarm_actions)
        .match_requests(|r| r.alarm_names() == ["staging-5xx", "staging-api-down"])
        .then_output(|| DisableAlarmActionsOutput::builder().build());
    let cw = mock_client!(
        aws_sdk_cloudwatch,
        RuleMode::Sequential,
        [&first, &second, &disable]
    );
    let n = alarm_actions(&cw, &["staging-".to_string()], false, None)
        .await
        .unwrap();
    assert_eq!(n, ["staging-5xx", "staging-api-down"]);
    assert_eq!(disable.num_calls(), 1);
}

/// Awake again: the alarms it muted are enabled (not one a person disabled by hand); nothing to
/// change makes no write call.
#[tokio::test]
async fn waking_enables_what_it_muted_and_nothing_to_change_writes_nothing() {
    let describe = mock!(Client::describe_alarms).then_output(|| {
        alarms_page(
            None,
            &[
                ("staging-5xx", false),
                ("staging-off-by-hand", false),
                ("staging-p99", true),
            ],
        )
    });
    let enable = mock!(Client::enable_alarm_actions)
        .match_requests(|r| r.alarm_names() == ["staging-5xx"])
        .then_output(|| EnableAlarmActionsOutput::builder().build());
    let cw = mock_client!(
        aws_sdk_cloudwatch,
        RuleMode::Sequential,
        [&describe, &enable]
    );
    let muted = ["staging-5xx".to_string()];
    assert_eq!(
        alarm_actions(&cw, &["staging-".to_string()], true, Some(&muted))
            .await
            .unwrap(),
        muted
    );
    assert_eq!(enable.num_calls(), 1);

    let all_on =
        mock!(Client::describe_alarms).then_output(|| alarms_page(None, &[("staging-5xx", true)]));
    let cw = mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, [&all_on]);
    assert!(
        alarm_actions(&cw, &["staging-".to_string()], true, None)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(all_on.num_calls(), 1);
}
