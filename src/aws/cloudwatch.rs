//! CloudWatch for idle to sleep and alarm muting: the front door's request counts (one
//! `GetMetricData` a pass), and alarm actions turned off while an environment sleeps.
//!
//! The current SDK speaks CloudWatch's rpcv2Cbor protocol, which moto does not serve: these
//! are tested over `aws-smithy-mocks`.

use std::collections::BTreeSet;

use aws_sdk_cloudwatch::types::{
    AlarmType, Dimension, Metric, MetricDataQuery, MetricStat, StatusCode,
};
use chrono::{DateTime, Utc};

use super::{Pages, cloud_error};
use crate::kinds::alb::DoorRule;
use crate::ports::CloudError;

/// `DisableAlarmActions` and `EnableAlarmActions` take at most 100 names a call.
const ALARM_BATCH: usize = 100;

/// The `LoadBalancer` and `TargetGroup` dimensions of a rule's app target group:
/// `app/staging/50dc…` from the rule's (or its listener's) ARN, `targetgroup/backend/73e2…` from
/// the group's.
fn dimensions(rule: &DoorRule) -> Option<(String, String)> {
    let lb = rule.rule.load_balancer()?;
    let tg = rule.app.rsplit_once(':')?.1;
    tg.starts_with("targetgroup/").then(|| (lb, tg.to_string()))
}

/// Requests per minute through the app target groups of `rules` from `from` to `to`
/// (`AWS/ApplicationELB` `RequestCount`, `Sum`), in one `GetMetricData` call (more only if
/// CloudWatch pages). A minute with no data point is left out: it had no requests.
pub(crate) async fn request_counts(
    cw: &aws_sdk_cloudwatch::Client,
    rules: &[DoorRule],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, f64)>, CloudError> {
    let groups: BTreeSet<(String, String)> = rules.iter().filter_map(dimensions).collect();
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let queries: Vec<MetricDataQuery> = groups
        .iter()
        .enumerate()
        .map(|(i, (lb, tg))| {
            // Dimension order as CloudWatch lists ALB metrics (and moto matches only that).
            let metric = Metric::builder()
                .namespace("AWS/ApplicationELB")
                .metric_name("RequestCount")
                .dimensions(Dimension::builder().name("TargetGroup").value(tg).build())
                .dimensions(Dimension::builder().name("LoadBalancer").value(lb).build())
                .build();
            MetricDataQuery::builder()
                .id(format!("tg{i}"))
                .metric_stat(
                    MetricStat::builder()
                        .metric(metric)
                        .period(60)
                        .stat("Sum")
                        .build(),
                )
                .return_data(true)
                .build()
        })
        .collect();
    let at = |t: DateTime<Utc>| aws_smithy_types::DateTime::from_secs(t.timestamp());
    let mut out = Vec::new();
    let mut pages = Pages::new();
    let mut token: Option<String> = None;
    loop {
        let page = cw
            .get_metric_data()
            .set_metric_data_queries(Some(queries.clone()))
            .start_time(at(from))
            .end_time(at(to))
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| cloud_error("GetMetricData", e))?;
        for r in page.metric_data_results() {
            if matches!(
                r.status_code(),
                Some(StatusCode::Forbidden | StatusCode::InternalError)
            ) {
                return Err(CloudError {
                    operation: "GetMetricData",
                    code: r.status_code().map(|s| s.as_str().to_string()),
                    message: format!(
                        "no request counts for {}",
                        r.label().unwrap_or("a target group")
                    ),
                });
            }
            for (t, v) in r.timestamps().iter().zip(r.values()) {
                if let Some(t) = DateTime::from_timestamp(t.secs(), 0) {
                    out.push((t, *v));
                }
            }
        }
        match pages.next("GetMetricData", page.next_token())? {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
}

/// Turns the actions of every alarm whose name starts with one of `prefixes` (and is one of
/// `only`, when given) off (`enabled = false`) or on, calling only for the alarms not already
/// so; returns the names of the alarms it switched.
pub(crate) async fn alarm_actions(
    cw: &aws_sdk_cloudwatch::Client,
    prefixes: &[String],
    enabled: bool,
    only: Option<&[String]>,
) -> Result<Vec<String>, CloudError> {
    let mut names: BTreeSet<String> = BTreeSet::new();
    for prefix in prefixes.iter().filter(|p| !p.is_empty()) {
        let mut pages = Pages::new();
        let mut token: Option<String> = None;
        loop {
            let page = cw
                .describe_alarms()
                .alarm_name_prefix(prefix)
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| cloud_error("DescribeAlarms", e))?;
            let metric = page
                .metric_alarms()
                .iter()
                .map(|a| (a.alarm_name(), a.actions_enabled()));
            let composite = page
                .composite_alarms()
                .iter()
                .map(|a| (a.alarm_name(), a.actions_enabled()));
            for (name, on) in metric.chain(composite) {
                if let Some(name) = name
                    && on != Some(enabled)
                    && only.is_none_or(|o| o.iter().any(|n| n == name))
                {
                    names.insert(name.to_string());
                }
            }
            match pages.next("DescribeAlarms", page.next_token())? {
                Some(t) => token = Some(t),
                None => break,
            }
        }
    }
    let names: Vec<String> = names.into_iter().collect();
    for batch in names.chunks(ALARM_BATCH) {
        if enabled {
            let _ = cw
                .enable_alarm_actions()
                .set_alarm_names(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| cloud_error("EnableAlarmActions", e))?;
        } else {
            let _ = cw
                .disable_alarm_actions()
                .set_alarm_names(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| cloud_error("DisableAlarmActions", e))?;
        }
    }
    Ok(names)
}

#[cfg(test)]
#[path = "cloudwatch_tests.rs"]
mod tests;
