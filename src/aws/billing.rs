//! Billing: Cost Explorer's daily costs and forecast, and AWS Budgets — the [`Billing`] port.
//! Read-only, each answering `Err(why)` in words the digest can print. Cost Explorer bills
//! every request ($0.01): its client makes one attempt per call, and the caller says how many
//! pages a query may follow.

use std::collections::BTreeMap;

use aws_sdk_costexplorer::types::{
    DateInterval, Dimension, DimensionValues, Expression, Granularity, GroupDefinition,
    GroupDefinitionType, Metric, TagValues,
};
use chrono::NaiveDate;

use futures_util::future::{BoxFuture, FutureExt};

use super::{AwsCloud, Clients, Pages, cloud_error};
use crate::model::{CostFilter, Environment, Money};
use crate::ports::{Billing, DailyCost, DaySpend, UsageCost};

/// Daily cost by AWS service from `start` to `end` (exclusive), Cost Explorer days (UTC), in
/// at most `max_pages` requests.
async fn daily_cost(
    c: &Clients,
    filter: &CostFilter,
    start: NaiveDate,
    end: NaiveDate,
    max_pages: usize,
) -> Result<DailyCost, String> {
    let mut days: BTreeMap<NaiveDate, DaySpend> = BTreeMap::new();
    let mut pages = Pages::new();
    let mut token: Option<String> = None;
    let mut requests = 0;
    loop {
        if requests >= max_pages {
            return Err(format!(
                "Cost Explorer's answer runs past {max_pages} page{}; the digest stops there to keep to 3 requests ($0.03) and shows no partial figures",
                if max_pages == 1 { "" } else { "s" }
            ));
        }
        requests += 1;
        let out =
            c.ce.get_cost_and_usage()
                .time_period(interval(start, end)?)
                .granularity(Granularity::Daily)
                .metrics("UnblendedCost")
                .group_by(group("SERVICE"))
                .set_filter(expression(filter))
                .set_next_page_token(token.take())
                .send()
                .await
                .map_err(|e| cloud_error("GetCostAndUsage", e).to_string())?;
        for r in out.results_by_time() {
            let date = result_day(r)?;
            let day = days.entry(date).or_insert_with(|| DaySpend {
                date,
                total: Money::ZERO,
                estimated: false,
                by_service: Vec::new(),
                has_data: false,
            });
            day.estimated |= r.estimated();
            for g in r.groups() {
                let name = g.keys().join(", ");
                let amount = group_amount(g, &name, date)?;
                day.total = day.total + amount;
                day.by_service.push((name, amount));
                day.has_data = true;
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
    Ok(DailyCost {
        days: days.into_values().collect(),
        requests,
    })
}

/// One day's cost by service and usage type, in one request.
async fn usage(c: &Clients, filter: &CostFilter, day: NaiveDate) -> Result<Vec<UsageCost>, String> {
    let next = day.succ_opt().ok_or("no day after it")?;
    let out =
        c.ce.get_cost_and_usage()
            .time_period(interval(day, next)?)
            .granularity(Granularity::Daily)
            .metrics("UnblendedCost")
            .group_by(group("SERVICE"))
            .group_by(group("USAGE_TYPE"))
            .set_filter(expression(filter))
            .send()
            .await
            .map_err(|e| cloud_error("GetCostAndUsage", e).to_string())?;
    if out.next_page_token().is_some_and(|t| !t.is_empty()) {
        return Err(
            "the usage types run past one page of Cost Explorer's answer; not asked further, to keep to 3 requests"
                .into(),
        );
    }
    let mut lines = Vec::new();
    for r in out.results_by_time() {
        let date = result_day(r)?;
        for g in r.groups() {
            let (service, usage_type) = match g.keys() {
                [s, u, ..] => (s.clone(), u.clone()),
                [s] => (s.clone(), String::new()),
                [] => (String::new(), String::new()),
            };
            let amount = group_amount(g, &format!("{service} {usage_type}"), date)?;
            lines.push(UsageCost {
                service,
                usage_type,
                amount,
            });
        }
    }
    Ok(lines)
}

fn group(key: &str) -> GroupDefinition {
    GroupDefinition::builder()
        .r#type(GroupDefinitionType::Dimension)
        .key(key)
        .build()
}

fn result_day(r: &aws_sdk_costexplorer::types::ResultByTime) -> Result<NaiveDate, String> {
    r.time_period()
        .and_then(|p| NaiveDate::parse_from_str(p.start(), "%Y-%m-%d").ok())
        .ok_or_else(|| "Cost Explorer answered a result without a valid day".to_string())
}

fn group_amount(
    g: &aws_sdk_costexplorer::types::Group,
    name: &str,
    date: NaiveDate,
) -> Result<Money, String> {
    let amount = g
        .metrics()
        .and_then(|m| m.get("UnblendedCost"))
        .and_then(|m| m.amount())
        .ok_or_else(|| format!("Cost Explorer gave no UnblendedCost for {name} on {date}"))?;
    Money::parse(amount).ok_or_else(|| {
        format!("Cost Explorer gave an unreadable amount {amount:?} for {name} on {date}")
    })
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
        max_pages: usize,
    ) -> BoxFuture<'a, Result<DailyCost, String>> {
        async move {
            let c = self.clients(env).await;
            daily_cost(&c, &env.digest.cost_filter, start, end, max_pages).await
        }
        .boxed()
    }

    fn usage<'a>(
        &'a self,
        env: &'a Environment,
        day: NaiveDate,
    ) -> BoxFuture<'a, Result<Vec<UsageCost>, String>> {
        async move {
            let c = self.clients(env).await;
            usage(&c, &env.digest.cost_filter, day).await
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
