//! The figures of the last digest that the status page shows: this month's spend against the
//! budget and what sleeping saved. Each digest made (not a dry run) keeps them in the store, so
//! the page shows money without ever asking Cost Explorer ($0.01 a request) itself.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::figures::Digest;
use crate::model::Money;
use crate::store::{Store, StoreError};

/// The store's cache key of an environment's last digest figures.
pub fn key(env: &str) -> String {
    format!("digest-figures:{env}")
}

/// What the status page shows of the last digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The local day the digest reported on.
    pub day: NaiveDate,
    /// When it was made.
    pub made_at: DateTime<Utc>,
    /// The day's spend, when Cost Explorer had a figure for it.
    pub day_total: Option<Money>,
    /// Spend from the first of the month through `day`, when there were figures.
    pub month_to_date: Option<Money>,
    /// Why there are no spend figures, when there are none.
    pub spend_missing: Option<String>,
    /// The monthly budget, when there is one.
    pub budget: Option<Money>,
    /// Where the budget comes from (`schedule file`, `AWS Budgets "name"`), or why there is none.
    pub budget_source: String,
    /// Share of the budget spent through `day`, percent.
    pub spent_pct: Option<f64>,
    /// Share of the month elapsed through `day`, percent.
    pub month_pct: f64,
    /// The projected month end, when there is one.
    pub projection: Option<Money>,
    /// How it was projected (`Cost Explorer forecast`, or lightsout's own method).
    pub projection_method: Option<String>,
    /// How far the projection exceeds the budget, when it does.
    pub over_by: Option<Money>,
    /// What sleeping saved on `day`.
    pub saved_day: Money,
    /// What sleeping saved from the first of the month through `day`.
    pub saved_month: Money,
    /// What the resources lightsout cannot stop cost while it slept on `day`.
    pub always_on_day: Money,
}

impl Summary {
    /// The page's figures of a digest.
    pub fn of(d: &Digest) -> Summary {
        let b = &d.budget;
        let (budget, budget_source) = match &b.budget {
            Ok((amount, source)) => (Some(*amount), source.clone()),
            Err(why) => (None, why.clone()),
        };
        let spend = d.spend.as_ref().ok();
        let projection = b.projection.as_ref().ok();
        Summary {
            day: d.day,
            made_at: d.generated_at,
            day_total: spend.and_then(|s| s.day_total),
            month_to_date: spend.map(|s| s.month_to_date),
            spend_missing: d.spend.as_ref().err().cloned(),
            budget,
            budget_source,
            spent_pct: b.spent_pct,
            month_pct: b.month_pct,
            projection: projection.map(|p| p.month_end),
            projection_method: projection.map(|p| p.method.clone()),
            over_by: b.over_by,
            saved_day: d.savings.day,
            saved_month: d.savings.month,
            always_on_day: d.always_on.day,
        }
    }
}

/// The figures of the last digest of `env` still kept at `now`, if one was made.
pub async fn load(
    store: &dyn Store,
    env: &str,
    now: DateTime<Utc>,
) -> Result<Option<Summary>, StoreError> {
    let Some(text) = store.cache_get(&key(env), now).await? else {
        return Ok(None);
    };
    // Figures kept by an older version that no longer read are as good as none.
    Ok(serde_json::from_str(&text).ok())
}
