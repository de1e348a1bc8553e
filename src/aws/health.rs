//! Inspection: what an environment's resources are (task and instance sizes, for pricing) and
//! how healthy they are (deployments, failed tasks, target groups, CloudWatch alarms) — the
//! [`Inspect`] port. Read-only, each answering `Err(why)` in words the digest can print.

use super::pace::Paced;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use futures_util::future::{BoxFuture, FutureExt};

use super::{AwsCloud, Clients, Pages, cloud_error};
use crate::kinds::{Observation, ServiceName};
use crate::model::Environment;
use crate::ports::{
    Alarm, CapacityShare, Cloud, FailedTask, Inspect, ResourceCost, ServiceDetail, ServiceHealth,
    TargetGroupHealth,
};

/// An SDK timestamp as a chrono instant (to the second).
fn instant(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), 0)
}

/// Health details of `services` (DescribeServices, by cluster, ten at a time).
pub(super) async fn services_detail(
    c: &Clients,
    services: &[ServiceName],
    now: DateTime<Utc>,
) -> Result<Vec<ServiceDetail>, String> {
    let mut by_cluster: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for s in services {
        by_cluster
            .entry(&s.cluster)
            .or_default()
            .push(s.service.clone());
    }
    let mut out = Vec::new();
    for (cluster, names) in by_cluster {
        for batch in names.chunks(10) {
            let resp = c
                .ecs
                .describe_services()
                .cluster(cluster)
                .set_services(Some(batch.to_vec()))
                .send()
                .paced(c, "ECS", "DescribeServices")
                .await
                .map_err(|e| cloud_error("DescribeServices", e).to_string())?;
            for s in resp.services() {
                let name = format!("{cluster}/{}", s.service_name().unwrap_or("?"));
                let stuck = s.deployments().iter().find_map(|d| {
                    let state = d.rollout_state().map(|r| r.as_str().to_string());
                    let reason = d.rollout_state_reason().unwrap_or("").to_string();
                    let age = d.created_at().and_then(instant).map(|t| now - t);
                    match state.as_deref() {
                        Some("FAILED") => Some(format!("deployment failed: {reason}")),
                        Some("IN_PROGRESS")
                            if age.is_some_and(|a| a > chrono::TimeDelta::minutes(30)) =>
                        {
                            Some(format!(
                                "deployment in progress for {} min: {reason}",
                                age.map_or(0, |a| a.num_minutes())
                            ))
                        }
                        _ => None,
                    }
                });
                let capacity_providers = s
                    .capacity_provider_strategy()
                    .iter()
                    .map(|p| CapacityShare {
                        provider: p.capacity_provider().to_string(),
                        base: p.base().max(0) as u32,
                        weight: p.weight().max(0) as u32,
                    })
                    .collect();
                out.push(ServiceDetail {
                    health: ServiceHealth {
                        name,
                        desired: s.desired_count(),
                        running: s.running_count(),
                        asleep: false,
                        stuck_deployment: stuck,
                        failed_tasks: Vec::new(),
                    },
                    task_definition: s.task_definition().map(String::from),
                    launch_type: s.launch_type().map(|l| l.as_str().to_string()),
                    capacity_providers,
                    target_groups: s
                        .load_balancers()
                        .iter()
                        .filter_map(|l| l.target_group_arn().map(String::from))
                        .collect(),
                });
            }
        }
    }
    Ok(out)
}

/// Tasks of `service` that stopped with a failure since `since`, newest first (at most 5).
async fn failed_tasks(
    c: &Clients,
    service: &ServiceName,
    since: DateTime<Utc>,
) -> Result<Vec<FailedTask>, String> {
    let listed = c
        .ecs
        .list_tasks()
        .cluster(&service.cluster)
        .service_name(&service.service)
        .desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped)
        .max_results(100)
        .send()
        .paced(c, "ECS", "ListTasks")
        .await
        .map_err(|e| cloud_error("ListTasks", e).to_string())?;
    let arns = listed.task_arns();
    if arns.is_empty() {
        return Ok(Vec::new());
    }
    let described = c
        .ecs
        .describe_tasks()
        .cluster(&service.cluster)
        .set_tasks(Some(arns.to_vec()))
        .send()
        .paced(c, "ECS", "DescribeTasks")
        .await
        .map_err(|e| cloud_error("DescribeTasks", e).to_string())?;
    let mut failed: Vec<FailedTask> = described
        .tasks()
        .iter()
        .filter_map(|t| {
            let stopped_at = t.stopped_at().and_then(instant);
            if stopped_at.is_some_and(|s| s < since) {
                return None;
            }
            let code = t.stop_code().map(|c| c.as_str().to_string());
            let exit = t.containers().iter().find_map(|c| {
                c.exit_code()
                    .filter(|e| *e != 0)
                    .map(|e| (c.name().unwrap_or("?").to_string(), e))
            });
            if !is_failure(code.as_deref(), exit.as_ref().map(|e| e.1)) {
                return None;
            }
            let mut reason = t.stopped_reason().unwrap_or("stopped").to_string();
            if let Some((name, code)) = exit {
                reason.push_str(&format!(" (container {name} exited {code})"));
            }
            Some(FailedTask {
                task: t
                    .task_arn()
                    .and_then(|a| a.rsplit('/').next())
                    .unwrap_or("?")
                    .to_string(),
                stopped_at,
                reason,
            })
        })
        .collect();
    failed.sort_by_key(|t| std::cmp::Reverse(t.stopped_at));
    failed.truncate(5);
    Ok(failed)
}

/// Whether a stopped task failed: it could not start, or a container exited non-zero. A task
/// stopped by a scale-in, a deployment or a person with clean exits is not a failure.
fn is_failure(stop_code: Option<&str>, nonzero_exit: Option<i32>) -> bool {
    stop_code == Some("TaskFailedToStart") || nonzero_exit.is_some()
}

/// Health of the target groups `arns`.
async fn target_groups(c: &Clients, arns: &[String]) -> Result<Vec<TargetGroupHealth>, String> {
    let mut out = Vec::new();
    for arn in arns {
        let resp = c
            .elb
            .describe_target_health()
            .target_group_arn(arn)
            .send()
            .paced(c, "Elastic Load Balancing v2", "DescribeTargetHealth")
            .await
            .map_err(|e| cloud_error("DescribeTargetHealth", e).to_string())?;
        let mut tg = TargetGroupHealth {
            name: arn
                .split(":targetgroup/")
                .nth(1)
                .and_then(|r| r.split('/').next())
                .unwrap_or(arn)
                .to_string(),
            healthy: 0,
            unhealthy: Vec::new(),
        };
        for d in resp.target_health_descriptions() {
            let target = d.target().and_then(|t| t.id()).unwrap_or("?");
            let health = d.target_health();
            let state = health
                .and_then(|h| h.state())
                .map_or("unknown", |s| s.as_str());
            if state == "healthy" {
                tg.healthy += 1;
            } else {
                let reason = health
                    .and_then(|h| h.reason())
                    .map(|r| format!(": {}", r.as_str()))
                    .unwrap_or_default();
                tg.unhealthy.push(format!("{target} {state}{reason}"));
            }
        }
        out.push(tg);
    }
    Ok(out)
}

/// CloudWatch alarms in ALARM whose names start with `prefix`.
async fn alarms(cw: &aws_sdk_cloudwatch::Client, prefix: &str) -> Result<Vec<Alarm>, String> {
    let mut out = Vec::new();
    let mut pages = Pages::new();
    let mut token: Option<String> = None;
    loop {
        let resp = cw
            .describe_alarms()
            .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
            // Without AlarmTypes, only metric alarms are returned.
            .alarm_types(aws_sdk_cloudwatch::types::AlarmType::MetricAlarm)
            .alarm_types(aws_sdk_cloudwatch::types::AlarmType::CompositeAlarm)
            .set_alarm_name_prefix((!prefix.is_empty()).then(|| prefix.to_string()))
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| cloud_error("DescribeAlarms", e).to_string())?;
        // The state is checked here too: moto 5.2.6 answers the filter with every alarm.
        use aws_sdk_cloudwatch::types::StateValue;
        let metric = resp
            .metric_alarms()
            .iter()
            .filter(|a| a.state_value() == Some(&StateValue::Alarm))
            .map(|a| {
                (
                    a.alarm_name(),
                    a.state_reason(),
                    a.state_updated_timestamp(),
                )
            });
        let composite = resp
            .composite_alarms()
            .iter()
            .filter(|a| a.state_value() == Some(&StateValue::Alarm))
            .map(|a| {
                (
                    a.alarm_name(),
                    a.state_reason(),
                    a.state_updated_timestamp(),
                )
            });
        for (name, reason, since) in metric.chain(composite) {
            out.push(Alarm {
                name: name.unwrap_or("?").to_string(),
                reason: reason.unwrap_or("").to_string(),
                since: since.and_then(instant),
            });
        }
        match pages
            .next("DescribeAlarms", resp.next_token())
            .map_err(|e| e.to_string())?
        {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
}

impl Inspect for AwsCloud {
    fn observe<'a>(&'a self, env: &'a Environment) -> BoxFuture<'a, Observation> {
        Cloud::observe(self, env).boxed()
    }

    fn services<'a>(
        &'a self,
        env: &'a Environment,
        services: &'a [ServiceName],
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<ServiceDetail>, String>> {
        async move { services_detail(&*self.clients(env).await, services, now).await }.boxed()
    }

    fn priced<'a>(
        &'a self,
        env: &'a Environment,
        observed: &'a Observation,
    ) -> BoxFuture<'a, Vec<ResourceCost>> {
        async move {
            let c = self.clients(env).await;
            let now = crate::clock::Clock::now(&crate::clock::SystemClock);
            let mut out = super::ecs::priced(&c, env, &observed.services, now).await;
            out.extend(super::asg::priced(&c, env, &observed.groups).await);
            out.extend(super::ec2::priced(env, &observed.instances));
            out.extend(super::rds::priced(&c, env, &observed.databases).await);
            out.extend(super::elasticache::priced(env, &observed.caches));
            out.extend(super::redshift::priced(env, &observed.warehouses));
            out.extend(super::docdb::priced(&c, env, &observed.engine_clusters).await);
            out
        }
        .boxed()
    }

    fn failed_tasks<'a>(
        &'a self,
        env: &'a Environment,
        service: &'a ServiceName,
        since: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<FailedTask>, String>> {
        async move { failed_tasks(&*self.clients(env).await, service, since).await }.boxed()
    }

    fn target_groups<'a>(
        &'a self,
        env: &'a Environment,
        arns: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<TargetGroupHealth>, String>> {
        async move { target_groups(&*self.clients(env).await, arns).await }.boxed()
    }

    fn alarms<'a>(
        &'a self,
        env: &'a Environment,
        prefix: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Alarm>, String>> {
        async move { alarms(&self.clients(env).await.cw, prefix).await }.boxed()
    }

    fn requests(&self) -> BTreeMap<String, u64> {
        Cloud::requests(self)
    }
}

#[cfg(test)]
mod tests {
    use super::{alarms, is_failure};
    use aws_sdk_cloudwatch::Client;
    use aws_sdk_cloudwatch::error::ErrorMetadata;
    use aws_sdk_cloudwatch::operation::describe_alarms::{
        DescribeAlarmsError, DescribeAlarmsOutput,
    };
    use aws_sdk_cloudwatch::types::{CompositeAlarm, MetricAlarm, StateValue};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_types::DateTime;

    /// CloudWatch through the current SDK (rpcv2Cbor), over
    /// aws-smithy-mocks: alarms in ALARM with the environment's prefix, metric and composite,
    /// every page followed.
    #[tokio::test]
    async fn alarms_in_alarm_are_read_across_pages() {
        let first = mock!(Client::describe_alarms)
            .match_requests(|r| {
                r.alarm_name_prefix() == Some("staging-") && r.next_token().is_none()
            })
            .then_output(|| {
                DescribeAlarmsOutput::builder()
                    .metric_alarms(
                        MetricAlarm::builder()
                            .alarm_name("staging-5xx")
                            .state_value(StateValue::Alarm)
                            .state_reason("Threshold Crossed: 12 errors")
                            .state_updated_timestamp(DateTime::from_secs(1_764_800_000))
                            .build(),
                    )
                    .next_token("page-2")
                    .build()
            });
        let second = mock!(Client::describe_alarms)
            .match_requests(|r| r.next_token() == Some("page-2"))
            .then_output(|| {
                DescribeAlarmsOutput::builder()
                    .composite_alarms(
                        CompositeAlarm::builder()
                            .alarm_name("staging-api-down")
                            .state_value(StateValue::Alarm)
                            .state_reason("children in ALARM")
                            .build(),
                    )
                    // An answer that ignored the filter: an alarm that is OK is left out.
                    .metric_alarms(
                        MetricAlarm::builder()
                            .alarm_name("staging-latency")
                            .state_value(StateValue::Ok)
                            .build(),
                    )
                    .build()
            });
        let cw = mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, [&first, &second]);
        let got = alarms(&cw, "staging-").await.unwrap();
        let names: Vec<&str> = got.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["staging-5xx", "staging-api-down"]);
        assert!(got[0].reason.contains("12 errors"));
        assert_eq!(got[0].since.map(|t| t.timestamp()), Some(1_764_800_000));
    }

    /// A paginator that loops (the same token twice) is stopped, not followed forever.
    #[tokio::test]
    async fn a_repeated_page_token_is_refused() {
        let looping = mock!(Client::describe_alarms)
            .then_output(|| DescribeAlarmsOutput::builder().next_token("again").build());
        let cw = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&looping]);
        let e = alarms(&cw, "").await.unwrap_err();
        assert!(e.contains("page token \"again\" twice"), "{e}");
        assert_eq!(looping.num_calls(), 2);
    }

    /// An AWS refusal is said in one line with the operation and the code.
    #[tokio::test]
    async fn a_refusal_is_one_readable_line() {
        let denied = mock!(Client::describe_alarms).then_error(|| {
            DescribeAlarmsError::generic(
                ErrorMetadata::builder()
                    .code("AccessDenied")
                    .message("not authorized to perform: cloudwatch:DescribeAlarms")
                    .build(),
            )
        });
        let cw = mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, [&denied]);
        let e = alarms(&cw, "staging-").await.unwrap_err();
        assert_eq!(
            e,
            "DescribeAlarms failed: AccessDenied: not authorized to perform: cloudwatch:DescribeAlarms"
        );
    }

    #[test]
    fn which_stopped_tasks_are_failures() {
        assert!(is_failure(Some("TaskFailedToStart"), None));
        assert!(is_failure(Some("EssentialContainerExited"), Some(137)));
        assert!(!is_failure(Some("EssentialContainerExited"), None));
        assert!(!is_failure(Some("ServiceSchedulerInitiated"), None));
        assert!(is_failure(Some("ServiceSchedulerInitiated"), Some(1)));
        assert!(!is_failure(Some("UserInitiated"), None));
        assert!(!is_failure(None, None));
    }
}
