//! The money sections: Cost Explorer's daily costs, the billing day's usage types and the
//! forecast, and the budget.
//!
//! Cost Explorer bills every request ($0.01), so a digest makes at most [`CE_REQUESTS`], and
//! answers are kept in the store, keyed by exactly what was asked (environment, filter,
//! granularity, grouping, range):
//! - a day Cost Explorer no longer estimates is final: it is kept for a year, per billing
//!   month, and never asked again;
//! - a whole answer is kept for [`ANSWER_KEEP`] (Cost Explorer refreshes a few times a day), so
//!   the same digest made again asks nothing; an answer with a day that had no data yet is
//!   kept only [`GAPPY_ANSWER_KEEP`], so a digest made later asks again;
//! - a different question (the day has moved on, another range) is never answered from
//!   another's cache.
//!
//! With `write: false` (`--dry-run`) the cache is read but nothing is written.

use std::collections::BTreeMap;

use chrono::{DateTime, Months, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::digest::Digester;
use crate::digest::input::{Budget, DaySpend, Forecast, Money, Spend, UsageCost};
use crate::model::{CostFilter, Environment};

/// Cost Explorer requests one digest may make ($0.01 each).
pub const CE_REQUESTS: usize = 3;

/// How long a whole answer is reused.
pub const ANSWER_KEEP: TimeDelta = TimeDelta::hours(6);

/// How long an answer with a day that had no data yet is reused.
pub const GAPPY_ANSWER_KEEP: TimeDelta = TimeDelta::hours(1);

/// How long final days are kept.
const FINAL_KEEP: TimeDelta = TimeDelta::days(400);

/// Requests left to this digest.
#[derive(Debug)]
pub(crate) struct Requests {
    left: usize,
    /// Made so far.
    pub made: usize,
}

impl Requests {
    pub(crate) fn new() -> Requests {
        Requests {
            left: CE_REQUESTS,
            made: 0,
        }
    }

    fn spend(&mut self, n: usize) {
        self.left = self.left.saturating_sub(n);
        self.made += n;
    }
}

/// An answer as kept in the cache.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Kept<T> {
    asked_at: DateTime<Utc>,
    answer: T,
}

/// The part of every cache key that says whose costs and how they were filtered.
fn scope(env: &Environment) -> String {
    let filter = match &env.digest.cost_filter {
        CostFilter::Tag(k, v) => format!("tag={k}={v}"),
        CostFilter::Account(a) => format!("account={a}"),
        CostFilter::None => "all".to_string(),
    };
    format!("ce:v2:{}:{filter}", env.name)
}

fn final_key(env: &Environment, month: NaiveDate) -> String {
    format!(
        "{}:final:DAILY:SERVICE:{}",
        scope(env),
        month.format("%Y-%m")
    )
}

impl Digester {
    /// Keeps `value` for `keep`, unless this is a dry run.
    async fn keep<T: Serialize>(&self, write: bool, key: &str, value: &T, keep: TimeDelta) {
        if !write {
            return;
        }
        if let Err(e) = self.save(key, value, keep).await {
            tracing::warn!(key, error = %e, "digest: cannot cache a Cost Explorer answer");
        }
    }

    /// Daily spend from the first of the previous month to `day` (a UTC billing day) inclusive.
    pub(crate) async fn spend(
        &self,
        env: &Environment,
        day: NaiveDate,
        requests: &mut Requests,
        write: bool,
    ) -> Result<Spend, String> {
        let now = self.clock.now();
        let (start, end) = cost_range(day);
        let answer_key = format!("{}:DAILY:SERVICE:{start}:{end}", scope(env));
        let spend = |days: Vec<DaySpend>, asked_at, made| Spend {
            days,
            filter: env.digest.cost_filter.clone(),
            asked_at,
            requests: made,
        };
        if let Some(k) = self.load::<Kept<Vec<DaySpend>>>(&answer_key).await {
            return Ok(spend(k.answer, k.asked_at, 0));
        }
        // Final days already kept, by date.
        let mut kept: BTreeMap<NaiveDate, DaySpend> = BTreeMap::new();
        let months = [start, crate::calendar::month_start(day)];
        for m in months {
            if let Some(days) = self.load::<Vec<DaySpend>>(&final_key(env, m)).await {
                kept.extend(days.into_iter().map(|d| (d.date, d)));
            }
        }
        let first_needed = crate::calendar::days(start, end).find(|d| !kept.contains_key(d));
        let mut days: Vec<DaySpend> = Vec::new();
        let mut made = 0;
        if let Some(from) = first_needed {
            let pages = requests.left.min(2);
            if pages == 0 {
                return Err("no Cost Explorer requests left to this digest".into());
            }
            let answer = self.billing.daily_cost(env, from, end, pages).await;
            // A refused query still cost the pages it made; an error is never kept.
            let answer = match answer {
                Ok(a) => {
                    requests.spend(a.requests);
                    made = a.requests;
                    a.days
                }
                Err(e) => {
                    requests.spend(pages);
                    return Err(e);
                }
            };
            days.extend(kept.range(..from).map(|(_, d)| d.clone()));
            days.extend(answer);
            // Newly final days join their month's kept days.
            for m in months {
                let month_end = m + Months::new(1);
                let finals: Vec<DaySpend> = days
                    .iter()
                    .filter(|d| d.date >= m && d.date < month_end && d.has_data && !d.estimated)
                    .cloned()
                    .collect();
                let before = kept.range(m..month_end).count();
                if finals.len() > before {
                    self.keep(write, &final_key(env, m), &finals, FINAL_KEEP)
                        .await;
                }
            }
        } else {
            days.extend(kept.into_values().filter(|d| d.date < end));
        }
        let complete = crate::calendar::days(start, end)
            .all(|d| days.iter().any(|s| s.date == d && s.has_data));
        let keep = if complete {
            ANSWER_KEEP
        } else {
            GAPPY_ANSWER_KEEP
        };
        let kept = Kept {
            asked_at: now,
            answer: days,
        };
        self.keep(write, &answer_key, &kept, keep).await;
        Ok(spend(kept.answer, now, made))
    }

    /// `day`'s cost by service and usage type, when a request is left for it.
    pub(crate) async fn usage(
        &self,
        env: &Environment,
        day: NaiveDate,
        requests: &mut Requests,
        write: bool,
    ) -> Result<Vec<UsageCost>, String> {
        let key = format!("{}:DAILY:SERVICE,USAGE_TYPE:{day}", scope(env));
        if let Some(k) = self.load::<Kept<Vec<UsageCost>>>(&key).await {
            return Ok(k.answer);
        }
        if requests.left == 0 {
            return Err(format!(
                "not asked: the daily figures took {} Cost Explorer requests and a digest makes at most {CE_REQUESTS}",
                requests.made
            ));
        }
        requests.spend(1);
        let r = self.billing.usage(env, day).await;
        if let Ok(lines) = &r {
            let kept = Kept {
                asked_at: self.clock.now(),
                answer: lines.clone(),
            };
            self.keep(write, &key, &kept, ANSWER_KEEP).await;
        }
        r
    }

    /// Cost Explorer's forecast from the day after `day` (or today, UTC, if later) to the end
    /// of its month.
    pub(crate) async fn forecast(
        &self,
        env: &Environment,
        day: NaiveDate,
        spend_ok: bool,
        requests: &mut Requests,
        write: bool,
    ) -> Result<Forecast, String> {
        let next_month_start = crate::calendar::month_start(day) + Months::new(1);
        let today_utc = self.clock.now().date_naive();
        let from = (day + TimeDelta::days(1)).max(today_utc);
        if from >= next_month_start {
            return Err(format!(
                "{day} is the billing month's last day with figures: nothing is left to forecast"
            ));
        }
        if !spend_ok {
            return Err("no spend data to project from".to_string());
        }
        let key = format!("{}:forecast:MONTHLY:{from}:{next_month_start}", scope(env));
        if let Some(k) = self.load::<Kept<Result<Forecast, String>>>(&key).await {
            return k.answer;
        }
        if requests.left == 0 {
            return Err(format!(
                "not asked: the daily figures took {} Cost Explorer requests and a digest makes at most {CE_REQUESTS}",
                requests.made
            ));
        }
        requests.spend(1);
        let r = self
            .billing
            .forecast(env, from, next_month_start)
            .await
            .map(|amount| Forecast { from, amount });
        // An answer or a refusal (too little history, most often) is kept, so a second digest
        // soon after asks nothing; after ANSWER_KEEP it is asked again.
        let kept = Kept {
            asked_at: self.clock.now(),
            answer: r.clone(),
        };
        self.keep(write, &key, &kept, ANSWER_KEEP).await;
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

/// The days asked of Cost Explorer for the digest of the UTC billing day `day`: from the first
/// of the previous month to the end of `day` (exclusive end).
pub(crate) fn cost_range(day: NaiveDate) -> (NaiveDate, NaiveDate) {
    let start = crate::calendar::month_start(day) - Months::new(1);
    (start, day + TimeDelta::days(1))
}

pub use crate::calendar::last_ended_day;

#[cfg(test)]
mod tests {
    use super::{cost_range, last_ended_day};
    use chrono::NaiveDate;

    #[test]
    fn the_range_reaches_back_to_the_first_of_the_previous_month() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(
            cost_range(d("2026-11-28")),
            (d("2026-10-01"), d("2026-11-29"))
        );
        // Across a year.
        assert_eq!(
            cost_range(d("2027-01-01")),
            (d("2026-12-01"), d("2027-01-02"))
        );
    }

    #[test]
    fn the_last_ended_billing_day_is_a_utc_day() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        // Sydney 08:30 on Mon 30 Nov (AEDT) is 21:30 UTC on Sun 29 Nov: Sat 28 Nov has ended.
        assert_eq!(
            last_ended_day("2026-11-29T21:30:00Z".parse().unwrap()),
            d("2026-11-28")
        );
        // Honolulu 15:00 on Mon 30 Nov (HST) is 01:00 UTC on Tue 1 Dec: Mon 30 Nov has ended.
        assert_eq!(
            last_ended_day("2026-12-01T01:00:00Z".parse().unwrap()),
            d("2026-11-30")
        );
    }
}
