//! The money sections: Cost Explorer's daily costs and forecast (cached in the store, so a
//! second digest for the same day asks nothing), and the budget.

use chrono::{Months, NaiveDate, TimeDelta};
use serde::Serialize;

use crate::digest::Digester;
use crate::digest::input::{Budget, DaySpend, Money, Spend};
use crate::model::Environment;

/// How long Cost Explorer answers are reused: a second digest for the same day asks nothing.
const COST_CACHE: TimeDelta = TimeDelta::hours(36);

/// How long a failed forecast is remembered.
const FORECAST_ERROR_CACHE: TimeDelta = TimeDelta::hours(6);

impl Digester {
    /// Keeps a Cost Explorer answer (or refusal) for `keep`.
    async fn cache<T: Serialize>(&self, key: &str, value: &Result<T, String>, keep: TimeDelta) {
        if let Err(e) = self.save(key, value, keep).await {
            tracing::warn!(key, error = %e, "digest: cannot cache a Cost Explorer answer");
        }
    }

    /// Daily spend from the first of the previous month to `day`: at most two pages of Cost
    /// Explorer, cached for the day.
    pub(super) async fn spend(&self, env: &Environment, day: NaiveDate) -> Result<Spend, String> {
        let (prev_month_start, cost_end) = cost_range(day, self.clock.now());
        let key = format!("ce-daily:{}:{day}", env.name);
        let days = match self.load::<Result<Vec<DaySpend>, String>>(&key).await {
            Some(c) => c,
            None => {
                let r = self
                    .billing
                    .daily_cost(env, prev_month_start, cost_end)
                    .await;
                // Only answers are kept: after a failure the next digest asks again.
                if r.is_ok() {
                    self.cache(&key, &r, COST_CACHE).await;
                }
                r
            }
        };
        days.map(|days| Spend {
            days,
            filter: env.digest.cost_filter.to_string(),
        })
    }

    /// Cost Explorer's forecast from the day after `day` to the end of its month, cached.
    pub(super) async fn forecast(
        &self,
        env: &Environment,
        day: NaiveDate,
        spend_ok: bool,
    ) -> Result<Money, String> {
        let next_month_start = crate::calendar::month_start(day) + Months::new(1);
        let tomorrow = day + TimeDelta::days(1);
        let today_utc = self.clock.now().date_naive();
        if tomorrow >= next_month_start {
            return Err(format!(
                "{day} is the month's last day: nothing is left to forecast"
            ));
        }
        if tomorrow < today_utc {
            return Err(format!(
                "{day} is in the past: Cost Explorer forecasts only from today"
            ));
        }
        if !spend_ok {
            return Err("no spend data to project from".to_string());
        }
        let key = format!("ce-forecast:{}:{day}", env.name);
        if let Some(c) = self.load::<Result<Money, String>>(&key).await {
            return c;
        }
        let r = self.billing.forecast(env, tomorrow, next_month_start).await;
        if let Err(why) = &r {
            // Expected on a new account (too little history) and against an emulator (moto
            // does not serve forecasts): the digest projects by itself and says so.
            tracing::info!(env = %env.name, %day, cause = %why, "digest: no forecast from Cost Explorer; lightsout projects the month end itself");
        }
        // An answer is kept for the day; a refusal (too little history, most often) for 6
        // hours, so a second digest soon after asks nothing and a passing error does not last
        // the day.
        let keep = if r.is_ok() {
            COST_CACHE
        } else {
            FORECAST_ERROR_CACHE
        };
        self.cache(&key, &r, keep).await;
        r
    }

    /// The budget: an AWS Budgets budget by name, or `monthly_budget`.
    pub(super) async fn budget(&self, env: &Environment) -> Budget {
        match (&env.digest.budget_name, env.monthly_budget) {
            (Some(name), _) => match self.billing.budget(env, name).await {
                Ok(amount) if amount > Money::ZERO => Budget::Aws {
                    name: name.clone(),
                    amount,
                },
                Ok(_) => Budget::Missing(format!("the AWS budget {name:?} has a limit of zero")),
                Err(e) => {
                    Budget::Missing(format!("the AWS budget {name:?} could not be read: {e}"))
                }
            },
            (None, Some(b)) if b > 0.0 => Budget::Config(Money((b * 1e9).round() as i64)),
            (None, _) => Budget::Missing(format!(
                "no monthly_budget or [digest] budget_name in {}",
                env.source.display()
            )),
        }
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
    let start = crate::calendar::month_start(day) - Months::new(1);
    let end = (day + TimeDelta::days(1)).min(now.date_naive());
    (start, end)
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
