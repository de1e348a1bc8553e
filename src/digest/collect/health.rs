//! Health: services (running vs desired, stuck deployments, failed tasks), Auto Scaling groups
//! and instances, databases, the services' target groups, CloudWatch alarms, and the HTTP
//! checks — each part on its own.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::digest::Digester;
use crate::digest::input::{DbHealth, FailedTask, Health, MachineHealth, Probe, ServiceHealth};
use crate::kinds::{Kind, Observation, Tier};
use crate::model::Environment;
use crate::ports::ServiceDetail;

impl Digester {
    /// The environment's health now; `asleep` when it is meant to be.
    pub(super) async fn health(
        &self,
        env: &Environment,
        observed: &Observation,
        details: &Result<Vec<ServiceDetail>, String>,
        since_last: DateTime<Utc>,
        asleep: bool,
    ) -> Health {
        let services = match details {
            Err(e) => Err(e.clone()),
            Ok(d) => {
                let mut out: Vec<ServiceHealth> = Vec::new();
                for detail in d {
                    let mut h = detail.health.clone();
                    let seen = observed
                        .services
                        .iter()
                        .find(|s| s.name.to_string() == h.name);
                    h.asleep = seen.is_some_and(crate::kinds::ObservedService::slept);
                    if let Some(name) = seen.map(|s| s.name.clone()) {
                        match self.inspect.failed_tasks(env, &name, since_last).await {
                            Ok(t) => h.failed_tasks = t,
                            Err(e) => h.failed_tasks.push(FailedTask {
                                task: "?".into(),
                                stopped_at: None,
                                reason: format!("stopped tasks could not be read: {e}"),
                            }),
                        }
                    }
                    out.push(h);
                }
                Ok(out)
            }
        };
        // Every Auto Scaling group and instance (the capacity and compute tiers, whatever the
        // kind), when the schedule file selects any.
        let machine_tier = |t: Tier| matches!(t, Tier::Capacity | Tier::Compute);
        let machine_kinds: Vec<Kind> = Kind::ALL
            .into_iter()
            .filter(|k| machine_tier(k.tier()))
            .collect();
        let instances = machine_kinds
            .iter()
            .any(|k| env.kinds.selects(*k))
            .then(|| {
                if machine_kinds.iter().any(|k| observed.failed(*k)) {
                    return Err(observed
                        .errors
                        .iter()
                        .filter(|(k, _)| machine_kinds.contains(k))
                        .map(|(_, e)| e.as_str())
                        .collect::<Vec<_>>()
                        .join("; "));
                }
                // Not an instance lightsout leaves alone (an Auto Scaling group's member: its
                // group reports it).
                Ok(observed
                    .each()
                    .filter(|o| machine_tier(o.kind().tier()) && o.is_dependency())
                    .map(|o| MachineHealth {
                        resource: o.id().to_string(),
                        status: o.status(),
                        in_service: o.in_service(),
                        ready: o.not_ready().is_none(),
                        asleep: o.slept(),
                        held_up: o.held_up(),
                    })
                    .collect())
            });
        // Every resource of the data tier, whatever its kind (RDS, Aurora, a cache).
        let data_kinds: Vec<Kind> = Kind::ALL
            .into_iter()
            .filter(|k| k.tier() == Tier::Data)
            .collect();
        let databases = if !data_kinds.iter().any(|k| observed.failed(*k)) {
            Ok(observed
                .each()
                .filter(|o| o.kind().tier() == Tier::Data && o.is_dependency())
                .map(|o| DbHealth {
                    resource: o.id().to_string(),
                    status: o.status(),
                    asleep: o.slept(),
                })
                .collect())
        } else {
            Err(observed
                .errors
                .iter()
                .filter(|(k, _)| data_kinds.contains(k))
                .map(|(_, e)| e.as_str())
                .collect::<Vec<_>>()
                .join("; "))
        };
        let target_groups = match details {
            Err(e) => Err(e.clone()),
            Ok(d) => {
                let mut arns: Vec<String> =
                    d.iter().flat_map(|s| s.target_groups.clone()).collect();
                arns.sort();
                arns.dedup();
                self.inspect.target_groups(env, &arns).await
            }
        };
        let alarms = self.inspect.alarms(env, &env.digest.alarm_prefix).await;
        let probes = probe_all(&env.digest.health_urls, self.probe_timeout).await;
        Health {
            asleep,
            services,
            instances,
            databases,
            target_groups,
            alarms,
            probes,
        }
    }
}

/// Probes every URL at once, each with `timeout`.
async fn probe_all(urls: &[String], timeout: Duration) -> Vec<Probe> {
    let probes = urls.iter().map(|url| {
        let url = url.clone();
        async move {
            let u = url.clone();
            let result = tokio::task::spawn_blocking(move || probe(&u, timeout))
                .await
                .unwrap_or_else(|e| Err(format!("probe failed: {e}")));
            Probe { url, result }
        }
    });
    futures_util::future::join_all(probes).await
}

/// `GET url`: its status and latency, or why there was no answer.
fn probe(url: &str, timeout: Duration) -> Result<(u16, u64), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let start = std::time::Instant::now();
    match agent.get(url).call() {
        Ok(r) => Ok((r.status().as_u16(), start.elapsed().as_millis() as u64)),
        Err(ureq::Error::Timeout(_)) => {
            Err(format!("no answer within {} s", timeout.as_secs_f64()))
        }
        Err(e) => Err(e.to_string()),
    }
}
