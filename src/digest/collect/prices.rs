//! The prices a digest uses: AWS's Price List (through the [`Pricing`] port) for exactly the
//! prices the environment's resources need, each kept in the store for a week, laid over the
//! shipped table ([`PriceTable::with_price_list`]). What the Price List did not give — it could
//! not be asked, or has no such product — keeps the shipped price, and the digest says why.
//!
//! A second digest within the week asks the Price List nothing: every answer is in the store,
//! "no such product" included. A failure to ask is not kept, so the next digest asks again; a
//! dry run reads what is kept but keeps nothing.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::digest::Digester;
use crate::digest::input::{Money, PriceItem, ResourceCost};
use crate::digest::prices::PriceTable;
use crate::model::Environment;
use crate::ports::Pricing;
use crate::store::Store;

/// How long a Price List answer is kept: AWS changes list prices rarely, and says when.
const KEEP: TimeDelta = TimeDelta::days(7);

/// One Price List answer as kept in the store.
#[derive(Debug, Serialize, Deserialize)]
struct Kept {
    /// The price per unit, or none.
    price: Option<Money>,
    /// Why there is none.
    why: Option<String>,
    /// The day the Price List was asked.
    fetched: NaiveDate,
}

/// The store key of an item's price: its region, then what was asked.
fn key(item: &PriceItem) -> String {
    let what = serde_json::to_string(item).unwrap_or_else(|_| item.to_string());
    format!("price-list:v1:{}:{what}", item.region())
}

impl Digester {
    /// The prices to price `resources` with: AWS's Price List over the shipped table;
    /// `write: false` (a dry run) keeps no answer in the store.
    pub(super) async fn prices(
        &self,
        env: &Environment,
        resources: &[ResourceCost],
        write: bool,
    ) -> PriceTable {
        price_table(
            &*self.pricing,
            &*self.store,
            write.then_some(&*self.store),
            self.clock.now(),
            env,
            resources,
        )
        .await
    }
}

/// The prices to price `resources` with, asking the Price List only for what the store does
/// not hold from the past week; answers are kept in `keep` (none: a dry run).
async fn price_table(
    pricing: &dyn Pricing,
    store: &dyn Store,
    keep: Option<&dyn Store>,
    now: DateTime<Utc>,
    env: &Environment,
    resources: &[ResourceCost],
) -> PriceTable {
    let mut wanted: Vec<PriceItem> = Vec::new();
    for r in resources {
        for item in PriceTable::items(&r.size) {
            if !wanted.contains(&item) {
                wanted.push(item);
            }
        }
    }
    let (mut listed, mut unlisted, mut ask) = (Vec::new(), Vec::new(), Vec::new());
    for item in wanted {
        let kept = match store.cache_get(&key(&item), now).await {
            Ok(Some(text)) => serde_json::from_str::<Kept>(&text).ok(),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(env = %env.name, error = %e, "digest: cannot read kept prices");
                None
            }
        };
        match kept {
            Some(Kept {
                price: Some(p),
                fetched,
                ..
            }) => listed.push((item, p, fetched)),
            Some(Kept { why, .. }) => unlisted.push((
                item,
                why.unwrap_or_else(|| "the Price List gave no price".into()),
            )),
            None => ask.push(item),
        }
    }
    let mut failed = None;
    if !ask.is_empty() {
        let today = now.date_naive();
        let answer = pricing.price_list(env, &ask).await;
        for (item, result) in answer.prices {
            // A dry run (no `keep`) keeps nothing.
            if let Some(keep) = keep {
                let kept = Kept {
                    price: result.as_ref().ok().copied(),
                    why: result.as_ref().err().cloned(),
                    fetched: today,
                };
                match serde_json::to_string(&kept) {
                    Ok(text) => {
                        if let Err(e) = keep.cache_put(&key(&item), &text, now + KEEP).await {
                            tracing::warn!(env = %env.name, error = %e, "digest: cannot keep a Price List answer; the next digest asks again");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "digest: cannot encode a Price List answer")
                    }
                }
            }
            match result {
                Ok(p) => listed.push((item, p, today)),
                Err(why) => unlisted.push((item, why)),
            }
        }
        if let Some(why) = answer.failed {
            tracing::warn!(env = %env.name, error = %why, "digest: the AWS Price List could not be asked; shipped prices used");
            failed = Some(format!("the AWS Price List could not be asked: {why}"));
        }
    }
    PriceTable::shipped().with_price_list(listed, unlisted, failed)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use futures_util::future::{BoxFuture, FutureExt};

    use super::*;
    use crate::digest::fixtures::{staging_env, staging_resources, utc};
    use crate::digest::prices::PriceSource;
    use crate::ports::{PriceAnswer, Size};
    use crate::store::SqliteStore;

    /// A Price List that answers from a list (items it lacks: no such product), or is down;
    /// it keeps what it was asked.
    struct FakePriceList {
        prices: Vec<(PriceItem, Money)>,
        down: bool,
        asked: Mutex<Vec<Vec<PriceItem>>>,
    }

    impl Pricing for FakePriceList {
        fn price_list<'a>(
            &'a self,
            _env: &'a Environment,
            wanted: &'a [PriceItem],
        ) -> BoxFuture<'a, PriceAnswer> {
            self.asked.lock().unwrap().push(wanted.to_vec());
            let answer = if self.down {
                PriceAnswer {
                    prices: Vec::new(),
                    failed: Some("GetProducts failed: HTTP 503".into()),
                }
            } else {
                PriceAnswer {
                    prices: wanted
                        .iter()
                        .map(|i| {
                            let p = self.prices.iter().find(|(j, _)| j == i).map(|(_, p)| *p);
                            (
                                i.clone(),
                                p.ok_or_else(|| format!("the Price List has no product for {i}")),
                            )
                        })
                        .collect(),
                    failed: None,
                }
            };
            async move { answer }.boxed()
        }
    }

    fn item_of(size: &Size) -> Vec<PriceItem> {
        PriceTable::items(size)
    }

    /// Exactly the prices the resources need are asked, once a week: the second digest asks
    /// nothing, the Price List's prices are used and say so, and an item it has no product for
    /// keeps the shipped price with the reason — also from the store.
    #[tokio::test]
    async fn asked_once_a_week_for_what_the_resources_need() {
        let env = staging_env();
        let resources = staging_resources();
        let all: Vec<PriceItem> = {
            let mut v: Vec<PriceItem> = Vec::new();
            for r in &resources {
                for i in item_of(&r.size) {
                    if !v.contains(&i) {
                        v.push(i);
                    }
                }
            }
            v
        };
        // Fargate x86 vCPU and GB (two services share them), an RDS and an Aurora class.
        assert_eq!(all.len(), 4, "{all:?}");
        let aurora = all[3].clone();
        let fake = FakePriceList {
            prices: all[..3]
                .iter()
                .map(|i| (i.clone(), Money(50_000_000)))
                .collect(),
            down: false,
            asked: Mutex::new(Vec::new()),
        };
        let store = SqliteStore::in_memory().unwrap();
        let now = utc("2026-11-29T07:30:00Z");
        let t = price_table(&fake, &store, Some(&store), now, &env, &resources).await;
        assert_eq!(fake.asked.lock().unwrap().clone(), vec![all.clone()]);
        let backend = t.quote(&resources[0].size).unwrap();
        // 2 tasks × (0.5 vCPU + 1 GB) × $0.05.
        assert_eq!(backend.rate.hourly(), Money(150_000_000));
        assert!(backend.basis.prices().iter().all(|p| p.source
            == PriceSource::PriceList {
                fetched: now.date_naive()
            }));
        let aurora_price = t.price(&aurora).unwrap();
        assert!(
            matches!(&aurora_price.source, PriceSource::Shipped { why: Some(w), .. } if w.contains("no product")),
            "{aurora_price:?}"
        );
        assert_eq!(aurora_price.usd, Money(81_000_000));

        // Six days later: all from the store, nothing asked, the same prices and reasons.
        let later = now + TimeDelta::days(6);
        let again = price_table(&fake, &store, Some(&store), later, &env, &resources).await;
        assert_eq!(fake.asked.lock().unwrap().len(), 1);
        assert_eq!(again, t);
        // A dry run past the week asks, and keeps nothing: the next one asks again.
        let dry = now + TimeDelta::days(8);
        price_table(&fake, &store, None, dry, &env, &resources).await;
        price_table(&fake, &store, None, dry, &env, &resources).await;
        assert_eq!(fake.asked.lock().unwrap().len(), 3);
        // Past the week: asked again.
        price_table(&fake, &store, Some(&store), dry, &env, &resources).await;
        assert_eq!(fake.asked.lock().unwrap().len(), 4);
        price_table(&fake, &store, Some(&store), dry, &env, &resources).await;
        assert_eq!(fake.asked.lock().unwrap().len(), 4);
    }

    /// The Price List down: every price from the shipped table, the digest says why, and
    /// nothing is kept (the next digest asks again).
    #[tokio::test]
    async fn the_price_list_down_gives_the_shipped_table_and_why() {
        let env = staging_env();
        let resources = staging_resources();
        let fake = FakePriceList {
            prices: Vec::new(),
            down: true,
            asked: Mutex::new(Vec::new()),
        };
        let store = SqliteStore::in_memory().unwrap();
        let now = utc("2026-11-29T07:30:00Z");
        let t = price_table(&fake, &store, Some(&store), now, &env, &resources).await;
        for r in &resources {
            assert_eq!(
                t.rate(&r.size),
                PriceTable::shipped().rate(&r.size),
                "{}",
                r.resource
            );
        }
        let bases: Vec<_> = resources
            .iter()
            .map(|r| t.quote(&r.size).unwrap().basis)
            .collect();
        assert_eq!(
            t.sources(&bases),
            format!(
                "prices from lightsout's shipped table (taken {}) — the AWS Price List could not be asked: GetProducts failed: HTTP 503",
                PriceTable::shipped().taken()
            )
        );
        price_table(&fake, &store, Some(&store), now, &env, &resources).await;
        assert_eq!(fake.asked.lock().unwrap().len(), 2, "a failure is not kept");
    }
}
