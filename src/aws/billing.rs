//! Billing: Cost Explorer's daily costs and forecast, and AWS Budgets — the [`Billing`] port.
//! Read-only, each answering `Err(why)` in words the digest can print. Cost Explorer bills
//! every request ($0.01): its client makes one attempt per call, and a query follows at most
//! [`COST_PAGES`] pages.

use std::collections::BTreeMap;

use aws_sdk_costexplorer::types::{
    DateInterval, Dimension, DimensionValues, Expression, Granularity, GroupDefinition,
    GroupDefinitionType, Metric, TagValues,
};
use chrono::NaiveDate;

use futures_util::future::{BoxFuture, FutureExt};

use super::{AwsCloud, Clients, Pages, cloud_error};
use crate::model::{CostFilter, Environment, Money};
use crate::ports::{Billing, DaySpend};

/// Cost Explorer pages one query may use: with the forecast, at most 3 requests ($0.03) a digest.
pub const COST_PAGES: usize = 2;

/// Daily cost by AWS service from `start` to `end` (exclusive), Cost Explorer days (UTC).
async fn daily_cost(
    c: &Clients,
    filter: &CostFilter,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<Vec<DaySpend>, String> {
    let mut days: BTreeMap<NaiveDate, DaySpend> = BTreeMap::new();
    let mut pages = Pages::new();
    let mut token: Option<String> = None;
    for page in 1.. {
        if page > COST_PAGES {
            return Err(format!(
                "Cost Explorer's answer runs past {COST_PAGES} pages; the digest stops there to keep to 3 requests ($0.03) and shows no partial figures"
            ));
        }
        let out =
            c.ce.get_cost_and_usage()
                .time_period(interval(start, end)?)
                .granularity(Granularity::Daily)
                .metrics("UnblendedCost")
                .group_by(
                    GroupDefinition::builder()
                        .r#type(GroupDefinitionType::Dimension)
                        .key("SERVICE")
                        .build(),
                )
                .set_filter(expression(filter))
                .set_next_page_token(token.take())
                .send()
                .await
                .map_err(|e| cloud_error("GetCostAndUsage", e).to_string())?;
        for r in out.results_by_time() {
            let Some(date) = r
                .time_period()
                .and_then(|p| NaiveDate::parse_from_str(p.start(), "%Y-%m-%d").ok())
            else {
                return Err("Cost Explorer answered a result without a valid day".into());
            };
            let day = days.entry(date).or_insert_with(|| DaySpend {
                date,
                total: Money::ZERO,
                estimated: false,
                by_service: Vec::new(),
            });
            day.estimated |= r.estimated();
            for g in r.groups() {
                let name = g.keys().join(", ");
                let amount = g
                    .metrics()
                    .and_then(|m| m.get("UnblendedCost"))
                    .and_then(|m| m.amount())
                    .ok_or_else(|| {
                        format!("Cost Explorer gave no UnblendedCost for {name} on {date}")
                    })?;
                let amount = Money::parse(amount).ok_or_else(|| {
                    format!(
                        "Cost Explorer gave an unreadable amount {amount:?} for {name} on {date}"
                    )
                })?;
                day.total = day.total + amount;
                day.by_service.push((name, amount));
            }
            // Without groups (no usage that day), the total is the day's figure.
            if r.groups().is_empty()
                && let Some(a) = r
                    .total()
                    .and_then(|t| t.get("UnblendedCost"))
                    .and_then(|m| m.amount())
            {
                day.total = Money::parse(a).ok_or_else(|| {
                    format!("Cost Explorer gave an unreadable amount {a:?} on {date}")
                })?;
            }
        }
        match pages
            .next("GetCostAndUsage", out.next_page_token())
            .map_err(|e| e.to_string())?
        {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    Ok(days.into_values().collect())
}

/// Cost Explorer's forecast of the spend from `start` to `end` (exclusive).
async fn forecast(
    c: &Clients,
    filter: &CostFilter,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<Money, String> {
    let out =
        c.ce.get_cost_forecast()
            .time_period(interval(start, end)?)
            .granularity(Granularity::Monthly)
            .metric(Metric::UnblendedCost)
            .set_filter(expression(filter))
            .send()
            .await
            .map_err(|e| cloud_error("GetCostForecast", e).to_string())?;
    let amount = out
        .total()
        .and_then(|t| t.amount())
        .ok_or("Cost Explorer's forecast had no total")?;
    Money::parse(amount)
        .ok_or_else(|| format!("Cost Explorer forecast an unreadable amount {amount:?}"))
}

fn interval(start: NaiveDate, end: NaiveDate) -> Result<DateInterval, String> {
    DateInterval::builder()
        .start(start.format("%Y-%m-%d").to_string())
        .end(end.format("%Y-%m-%d").to_string())
        .build()
        .map_err(|e| e.to_string())
}

fn expression(filter: &CostFilter) -> Option<Expression> {
    match filter {
        CostFilter::Tag(k, v) => Some(
            Expression::builder()
                .tags(TagValues::builder().key(k).values(v).build())
                .build(),
        ),
        CostFilter::Account(a) => Some(
            Expression::builder()
                .dimensions(
                    DimensionValues::builder()
                        .key(Dimension::LinkedAccount)
                        .values(a)
                        .build(),
                )
                .build(),
        ),
        CostFilter::None => None,
    }
}

/// The monthly limit of the AWS Budgets budget `name` in the caller's account.
async fn budget(c: &Clients, name: &str) -> Result<Money, String> {
    let account = c
        .sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| cloud_error("GetCallerIdentity", e).to_string())?;
    let account = account
        .account()
        .ok_or("STS did not say which account this is")?;
    let out = c
        .budgets
        .describe_budget()
        .account_id(account)
        .budget_name(name)
        .send()
        .await
        .map_err(|e| cloud_error("DescribeBudget", e).to_string())?;
    let limit = out.budget().and_then(|b| b.budget_limit()).ok_or_else(|| {
        format!(
            "budget {name:?} has no fixed limit (planned or auto-adjusting budgets are not read)"
        )
    })?;
    if limit.unit() != "USD" {
        return Err(format!("budget {name:?} is in {}, not USD", limit.unit()));
    }
    Money::parse(limit.amount()).ok_or_else(|| {
        format!(
            "budget {name:?} has an unreadable limit {:?}",
            limit.amount()
        )
    })
}

impl Billing for AwsCloud {
    fn daily_cost<'a>(
        &'a self,
        env: &'a Environment,
        start: NaiveDate,
        end: NaiveDate,
    ) -> BoxFuture<'a, Result<Vec<DaySpend>, String>> {
        async move {
            let c = self.clients(env).await;
            daily_cost(&c, &env.digest.cost_filter, start, end).await
        }
        .boxed()
    }

    fn forecast<'a>(
        &'a self,
        env: &'a Environment,
        start: NaiveDate,
        end: NaiveDate,
    ) -> BoxFuture<'a, Result<Money, String>> {
        async move {
            let c = self.clients(env).await;
            forecast(&c, &env.digest.cost_filter, start, end).await
        }
        .boxed()
    }

    fn budget<'a>(
        &'a self,
        env: &'a Environment,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Money, String>> {
        async move {
            let c = self.clients(env).await;
            budget(&c, name).await
        }
        .boxed()
    }
}
