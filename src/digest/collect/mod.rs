//! Gathers a [`DigestInput`] through the ports, section by section, each failing on its own:
//! the money ([`spend`]: Cost Explorer, at most 3 requests, cached by what was asked; and the
//! budget), the resources and what they cost an hour ([`resources`]) at which
//! prices ([`prices`]: AWS's Price List, kept a week, over the shipped table), the whole audit trail of
//! the month, and health ([`health`]).

mod health;
mod prices;
mod resources;
pub(crate) mod spend;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use super::Digester;
use super::input::DigestInput;
use crate::model::{AuditEvent, Environment, Override};
use crate::schedule;

impl Digester {
    /// Everything the digest of `env` made now is made from. `day` is the UTC billing day to
    /// report on; `None` is the most recent one Cost Explorer has cost data for (at most the
    /// last ended UTC day). `write: false` (a dry run) reads the store's cache but writes
    /// nothing.
    pub async fn gather(
        &self,
        env: &Environment,
        day: Option<NaiveDate>,
        write: bool,
    ) -> DigestInput {
        let now = self.clock.now();
        let last_ended = spend::last_ended_day(now);
        let asked = day.unwrap_or(last_ended).min(last_ended);
        let mut requests = spend::Requests::new();
        let spend = self.spend(env, asked, &mut requests, write).await;
        // Without a day asked for, the most recent day with cost data.
        let day = match (day, &spend) {
            (Some(d), _) => d,
            (None, Ok(s)) => s
                .days
                .iter()
                .rev()
                .find(|d| d.has_data && d.date <= asked)
                .map_or(asked, |d| d.date),
            (None, Err(_)) => asked,
        };
        let forecast = self
            .forecast(env, day, spend.is_ok(), &mut requests, write)
            .await;
        let usage = self.usage(env, day, &mut requests, write).await;
        let budget = self.budget(env).await;

        // The environment as it is now. Only what lightsout manages: never production (the
        // guard's refusals), and Aurora members through their cluster.
        let mut observed = self.inspect.observe(env).await;
        observed.retain_managed(&env.guard);
        let names: Vec<_> = observed.services.iter().map(|s| s.name.clone()).collect();
        let details = self.inspect.services(env, &names, now).await;
        let resources = self.resources(env, &observed).await;
        let prices = self.prices(env, &resources, write).await;

        let since_last = self
            .last_digest(env)
            .await
            .unwrap_or(now - TimeDelta::days(1));
        let trail_from = trail_start(day);
        let (events, failures) = self.audit_trail(env, trail_from, since_last).await;

        let decision = schedule::decide(env, self.active_override(env).await.as_ref(), now);
        let health = self
            .health(env, &observed, &details, since_last, !decision.awake)
            .await;
        let edition = now.with_timezone(&env.timezone).date_naive();
        DigestInput {
            config: env.clone(),
            day,
            edition,
            generated_at: now,
            spend,
            usage,
            budget,
            forecast,
            resources,
            prices,
            events,
            trail_from,
            health,
            failures,
            delivery_problems: self.previous_problems(env, edition).await,
            cost_explorer_requests: requests.made,
            running: self.running(env, day, now).await,
        }
    }

    /// Every audit event since `from`, oldest first (all pages of it), and the actions that
    /// failed since the previous digest.
    async fn audit_trail(
        &self,
        env: &Environment,
        from: DateTime<Utc>,
        since_last: DateTime<Utc>,
    ) -> (Vec<AuditEvent>, Vec<AuditEvent>) {
        match self.store.audit_since(&env.name, from).await {
            Ok(ev) => {
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
        }
    }

    async fn active_override(&self, env: &Environment) -> Option<Override> {
        self.store
            .active_override(&env.name, self.clock.now())
            .await
            .ok()
            .flatten()
    }
}

/// Where the audit trail is read from for the digest of billing day `day`: 40 days before its
/// month began, so a resource asleep since before the month has its sleep in the trail.
pub fn trail_start(day: NaiveDate) -> DateTime<Utc> {
    (crate::calendar::month_start(day) - TimeDelta::days(40))
        .and_time(chrono::NaiveTime::MIN)
        .and_utc()
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
