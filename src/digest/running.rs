//! What lightsout records about running itself, for the digest's "lightsout itself cost about
//! $X this month": a tally per UTC month of invocations, their duration and the Cost Explorer
//! requests made, kept in the store's cache by the Lambda handler (one read and one write per
//! invocation; EventBridge invokes one at a time, so a lost update is rare and costs one count).

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use super::Digester;
use super::figures::RunTally;
use super::input::Running;
use crate::model::{Environment, Progress};
use crate::store::Store;

/// How long a month's tally is kept: past the next month's digests.
const KEPT: TimeDelta = TimeDelta::days(70);

/// The store key of the tally of the UTC month of `day`.
pub fn tally_key(day: NaiveDate) -> String {
    format!("lightsout-run:{}", day.format("%Y-%m"))
}

/// Adds to this month's tally. A store that fails loses the count, never the invocation.
pub async fn count_run(
    store: &Arc<dyn Store>,
    now: DateTime<Utc>,
    add: impl FnOnce(&mut RunTally),
) {
    let key = tally_key(now.date_naive());
    let mut tally: RunTally = match store.cache_get(&key, now).await {
        Ok(Some(text)) => serde_json::from_str(&text).unwrap_or_default(),
        Ok(None) => RunTally::default(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the run tally; this invocation is not counted");
            return;
        }
    };
    tally.month = now.format("%Y-%m").to_string();
    add(&mut tally);
    let Ok(text) = serde_json::to_string(&tally) else {
        return;
    };
    if let Err(e) = store.cache_put(&key, &text, now + KEPT).await {
        tracing::warn!(error = %e, "cannot write the run tally; this invocation is not counted");
    }
}

impl Digester {
    /// lightsout itself: the tally of the billing month of `day`, its region and environments,
    /// and `env`'s transition progress.
    pub(super) async fn running(
        &self,
        env: &Environment,
        day: NaiveDate,
        now: DateTime<Utc>,
    ) -> Running {
        let progress = match self
            .store
            .cache_get(&Progress::store_key(&env.name), now)
            .await
        {
            Ok(Some(text)) => serde_json::from_str(&text).ok(),
            _ => None,
        };
        Running {
            tally: self.load(&tally_key(day)).await,
            // The Lambda runs in its own region; elsewhere, price it where the environment is.
            region: std::env::var("AWS_REGION").unwrap_or_default(),
            environments: self.config.environments.len() as u64,
            progress,
        }
    }
}
