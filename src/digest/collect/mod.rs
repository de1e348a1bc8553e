//! Gathers a [`DigestInput`] through the ports, section by section, each failing on its own:
//! the money ([`spend`]: Cost Explorer, cached per day, and the budget), the resources and what
//! they cost an hour ([`resources`]), the audit trail, and health ([`health`]).

mod health;
mod resources;
mod spend;

use chrono::{NaiveDate, TimeDelta};

use super::Digester;
use super::input::DigestInput;
use crate::model::{AuditEvent, Environment, Override};
use crate::schedule;

/// Audit events read for the savings: enough for a month of transitions and wakes.
const AUDIT_LIMIT: usize = 1000;

impl Digester {
    /// Everything the digest of `env` for the local day `day` is made from.
    pub async fn gather(&self, env: &Environment, day: NaiveDate) -> DigestInput {
        let now = self.clock.now();
        let spend = self.spend(env, day).await;
        let forecast = self.forecast(env, day, spend.is_ok()).await;
        let budget = self.budget(env).await;

        // The environment as it is now. Only what lightsout manages: never production (the
        // guard's refusals), and Aurora members through their cluster.
        let mut observed = self.inspect.observe(env).await;
        observed.retain_managed(&env.guard);
        let names: Vec<_> = observed.services.iter().map(|s| s.name.clone()).collect();
        let details = self.inspect.services(env, &names, now).await;
        let resources = self.resources(env, &observed).await;

        let since_last = self
            .last_digest(env)
            .await
            .unwrap_or(now - TimeDelta::days(1));
        let (events, failures) = self.audit_trail(env, day, since_last).await;

        let decision = schedule::decide(env, self.active_override(env).await.as_ref(), now);
        let health = self
            .health(env, &observed, &details, since_last, !decision.awake)
            .await;
        DigestInput {
            config: env.clone(),
            day,
            generated_at: now,
            spend,
            budget,
            forecast,
            resources,
            events,
            health,
            failures,
            delivery_problems: self.previous_problems(env, day).await,
        }
    }

    /// The month's sleeps and wakes (and the last ones before it), oldest first, and the
    /// actions that failed since the previous digest.
    async fn audit_trail(
        &self,
        env: &Environment,
        day: NaiveDate,
        since_last: chrono::DateTime<chrono::Utc>,
    ) -> (Vec<AuditEvent>, Vec<AuditEvent>) {
        let now = self.clock.now();
        let from = crate::calendar::month_start(day)
            .and_hms_opt(0, 0, 0)
            .map_or(now, |t| t.and_utc())
            - TimeDelta::days(40);
        match self.store.audit(Some(&env.name), AUDIT_LIMIT).await {
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

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
