//! Gathers a [`DigestInput`]: Cost Explorer (cached per day), the budget, the environment's
//! resources and their sizes, the audit trail, and health — each part failing on its own.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{Months, NaiveDate, TimeDelta};
use serde::Serialize;

use super::Digester;
use super::input::{
    Budget, DbHealth, DigestInput, Health, Money, Probe, ResourceCost, ServiceHealth, Size, Spend,
};
use crate::aws::digest as aws;
use crate::cloud::Cloud;
use crate::model::Environment;
use crate::schedule;

/// How long Cost Explorer answers are reused: a second digest for the same day asks nothing.
const COST_CACHE: TimeDelta = TimeDelta::hours(36);

/// How long a failed forecast is remembered.
const FORECAST_ERROR_CACHE: TimeDelta = TimeDelta::hours(6);

/// Audit events read for the savings: enough for a month of transitions and wakes.
const AUDIT_LIMIT: usize = 1000;

impl Digester {
    /// Keeps a Cost Explorer answer (or refusal) for `keep`.
    async fn cache<T: Serialize>(&self, key: &str, value: &Result<T, String>, keep: TimeDelta) {
        if let Err(e) = self.save(key, value, keep).await {
            tracing::warn!(key, error = %e, "digest: cannot cache a Cost Explorer answer");
        }
    }

    /// Everything the digest of `env` for the local day `day` is made from.
    pub async fn gather(&self, env: &Environment, day: NaiveDate) -> DigestInput {
        let now = self.clock.now();
        let clients = self.cloud.clients(env).await;
        let month_start = super::figures::month_start(day);
        let next_month_start = month_start + Months::new(1);
        let tomorrow = day + TimeDelta::days(1);
        let today_utc = now.date_naive();
        let (prev_month_start, cost_end) = cost_range(day, now);

        // Cost Explorer: at most two pages of daily cost and one forecast, cached for the day.
        let spend_key = format!("ce-daily:{}:{day}", env.name);
        let spend = match self
            .load::<Result<Vec<super::input::DaySpend>, String>>(&spend_key)
            .await
        {
            Some(c) => c,
            None => {
                let r = aws::daily_cost(
                    &clients,
                    &env.digest.cost_filter,
                    prev_month_start,
                    cost_end,
                )
                .await;
                // Only answers are kept: after a failure the next digest asks again.
                if r.is_ok() {
                    self.cache(&spend_key, &r, COST_CACHE).await;
                }
                r
            }
        }
        .map(|days| Spend {
            days,
            filter: env.digest.cost_filter.to_string(),
        });
        let forecast_key = format!("ce-forecast:{}:{day}", env.name);
        let forecast = if tomorrow >= next_month_start {
            Err(format!(
                "{day} is the month's last day: nothing is left to forecast"
            ))
        } else if tomorrow < today_utc {
            Err(format!(
                "{day} is in the past: Cost Explorer forecasts only from today"
            ))
        } else if spend.is_err() {
            Err("no spend data to project from".to_string())
        } else {
            match self.load::<Result<Money, String>>(&forecast_key).await {
                Some(c) => c,
                None => {
                    let r = aws::forecast(
                        &clients,
                        &env.digest.cost_filter,
                        tomorrow,
                        next_month_start,
                    )
                    .await;
                    // An answer is kept for the day; a refusal (too little history, most often)
                    // for 6 hours, so a second digest soon after asks nothing and a passing
                    // error does not last the day.
                    let keep = if r.is_ok() {
                        COST_CACHE
                    } else {
                        FORECAST_ERROR_CACHE
                    };
                    self.cache(&forecast_key, &r, keep).await;
                    r
                }
            }
        };

        let budget = match (&env.digest.budget_name, env.monthly_budget) {
            (Some(name), _) => match aws::budget(&clients, name).await {
                Ok(amount) if amount > Money::ZERO => Budget::Aws {
                    name: name.clone(),
                    amount,
                },
                Ok(_) => Budget::Missing(format!("the AWS budget {name:?} has a limit of zero")),
                Err(e) => {
                    Budget::Missing(format!("the AWS budget {name:?} could not be read: {e}"))
                }
            },
            (None, Some(b)) if b > 0.0 => Budget::Config(Money((b * 1e6).round() as i64)),
            (None, _) => Budget::Missing(format!(
                "no monthly_budget or [digest] budget_name in {}",
                env.source.display()
            )),
        };

        // The environment as it is now, and what its parts cost an hour.
        let mut observed = self.cloud.observe(env).await;
        // Only what lightsout manages: never production (the guard's refusals), and Aurora
        // members through their cluster.
        observed
            .services
            .retain(|s| env.guard.refusal(&s.tags).is_none());
        observed
            .databases
            .retain(|d| env.guard.refusal(&d.tags).is_none() && d.member_of.is_none());
        let decision = schedule::decide(env, self.active_override(env).await.as_ref(), now);
        let names: Vec<_> = observed.services.iter().map(|s| s.name.clone()).collect();
        let details = aws::services(&clients, &names, now).await;
        let db_sizes = if observed.databases.is_empty() {
            Ok(BTreeMap::new())
        } else {
            aws::db_sizes(&clients, &env.region).await
        };
        let mut resources = Vec::new();
        let mut task_sizes: BTreeMap<String, Size> = BTreeMap::new();
        for s in &observed.services {
            let id = format!("ecs:{}", s.name);
            let detail = details
                .as_ref()
                .ok()
                .and_then(|d| d.iter().find(|d| d.health.name == s.name.to_string()));
            // Awake: what it runs; asleep: what it will wake to, as the planner decides it.
            let tasks = if s.desired > 0 {
                s.desired
            } else {
                crate::kinds::ecs::wake_count(s, env.kinds.ecs.settings_of(&s.name).default_count)
                    .ok()
                    .flatten()
                    .map_or(0, |(n, _)| n)
            };
            let size = match (&details, detail) {
                (Err(e), _) => Size::Unknown(e.clone()),
                (Ok(_), None) => Size::Unknown("DescribeServices did not return it".into()),
                (Ok(_), Some(d)) if !d.fargate => Size::Unknown(
                    "not on Fargate: its cost is the EC2 instances', which lightsout does not stop"
                        .into(),
                ),
                (Ok(_), Some(d)) => match &d.task_definition {
                    None => Size::Unknown("no task definition".into()),
                    Some(td) => {
                        if !task_sizes.contains_key(td) {
                            let size = aws::task_size(&clients, &env.region, td).await;
                            task_sizes.insert(td.clone(), size);
                        }
                        match task_sizes[td].clone() {
                            Size::Fargate {
                                region,
                                cpu_units,
                                memory_mib,
                                arm,
                                ..
                            } => Size::Fargate {
                                region,
                                cpu_units,
                                memory_mib,
                                arm,
                                tasks: tasks.max(0) as u32,
                            },
                            other => other,
                        }
                    }
                },
            };
            resources.push(ResourceCost { resource: id, size });
        }
        for db in &observed.databases {
            let id = db.resource_id().to_string();
            let size = match &db_sizes {
                Err(e) => Size::Unknown(e.clone()),
                Ok(sizes) => sizes.get(&id).cloned().unwrap_or_else(|| {
                    Size::Unknown(
                        "no DB instances found for it (Aurora Serverless is not priced)".into(),
                    )
                }),
            };
            resources.push(ResourceCost { resource: id, size });
        }

        // The audit trail: the month's sleeps and wakes (and the last ones before it).
        let since_last = self
            .last_digest(env)
            .await
            .unwrap_or(now - TimeDelta::days(1));
        let from = month_start
            .and_hms_opt(0, 0, 0)
            .map_or(now, |t| t.and_utc())
            - TimeDelta::days(40);
        let (events, failures) = match self.store.audit(Some(&env.name), AUDIT_LIMIT).await {
            Ok(mut ev) => {
                ev.retain(|e| e.at >= from);
                ev.reverse();
                let failures = ev
                    .iter()
                    .filter(|e| e.at >= since_last && !e.outcome.is_ok())
                    .cloned()
                    .collect();
                (ev, failures)
            }
            Err(e) => {
                tracing::warn!(env = %env.name, error = %e, "digest: cannot read the audit trail");
                (Vec::new(), Vec::new())
            }
        };

        // Health.
        let services = match &details {
            Err(e) => Err(e.clone()),
            Ok(d) => {
                let mut out: Vec<ServiceHealth> = Vec::new();
                for detail in d {
                    let mut h = detail.health.clone();
                    let observed = observed
                        .services
                        .iter()
                        .find(|s| s.name.to_string() == h.name);
                    h.asleep = observed.is_some_and(crate::kinds::ObservedService::slept);
                    if let Some(name) = observed.map(|s| s.name.clone()) {
                        match aws::failed_tasks(&clients, &name, since_last).await {
                            Ok(t) => h.failed_tasks = t,
                            Err(e) => h.failed_tasks.push(super::input::FailedTask {
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
        let databases = if !observed.failed(crate::kinds::Kind::Rds) {
            Ok(observed
                .databases
                .iter()
                .filter(|d| d.member_of.is_none())
                .map(|d| DbHealth {
                    resource: d.resource_id().to_string(),
                    status: d.status.to_string(),
                    asleep: d.slept(),
                })
                .collect())
        } else {
            Err(observed
                .errors
                .iter()
                .filter(|(k, _)| *k == crate::kinds::Kind::Rds)
                .map(|(_, e)| e.as_str())
                .collect::<Vec<_>>()
                .join("; "))
        };
        let target_groups = match &details {
            Err(e) => Err(e.clone()),
            Ok(d) => {
                let mut arns: Vec<String> =
                    d.iter().flat_map(|s| s.target_groups.clone()).collect();
                arns.sort();
                arns.dedup();
                aws::target_groups(&clients, &arns).await
            }
        };
        let alarms = aws::alarms(&clients, &env.digest.alarm_prefix).await;
        let probes = probe_all(&env.digest.health_urls, self.probe_timeout).await;

        DigestInput {
            config: env.clone(),
            day,
            generated_at: now,
            spend,
            budget,
            forecast,
            resources,
            events,
            health: Health {
                asleep: !decision.awake,
                services,
                databases,
                target_groups,
                alarms,
                probes,
            },
            failures,
            delivery_problems: self.previous_problems(env, day).await,
        }
    }

    async fn active_override(&self, env: &Environment) -> Option<crate::model::Override> {
        self.store
            .active_override(&env.name, self.clock.now())
            .await
            .ok()
            .flatten()
    }
}

/// The days asked of Cost Explorer for the digest of `day` made at `now`: from the first of the
/// previous month to the end of `day` (exclusive end). Cost Explorer's days are UTC days, so
/// only those that have ended are asked for: east of UTC, the local "yesterday" may not have
/// ended yet in UTC, and that day then shows as no data instead of a partial figure.
pub(crate) fn cost_range(
    day: NaiveDate,
    now: chrono::DateTime<chrono::Utc>,
) -> (NaiveDate, NaiveDate) {
    let start = super::figures::month_start(day) - Months::new(1);
    let end = (day + TimeDelta::days(1)).min(now.date_naive());
    (start, end)
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

#[cfg(test)]
mod tests {
    use super::cost_range;
    use chrono::NaiveDate;

    #[test]
    fn cost_explorer_is_asked_only_for_ended_utc_days() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        // Berlin at 08:30 on the 29th: the 28th has ended in UTC.
        let (start, end) = cost_range(d("2026-11-28"), "2026-11-29T07:30:00Z".parse().unwrap());
        assert_eq!((start, end), (d("2026-10-01"), d("2026-11-29")));
        // Sydney at 07:00 on the 29th is 20:00 UTC on the 28th: the 28th is not asked for.
        let (_, end) = cost_range(d("2026-11-28"), "2026-11-28T20:00:00Z".parse().unwrap());
        assert_eq!(end, d("2026-11-28"));
        // The first of a month reaches back to the first of the previous one, across a year.
        let (start, end) = cost_range(d("2027-01-01"), "2027-01-02T07:00:00Z".parse().unwrap());
        assert_eq!((start, end), (d("2026-12-01"), d("2027-01-02")));
    }
}
