//! What keeps costing while the environment sleeps: from Cost Explorer's usage types of the
//! billing day, everything that does not stop when staging sleeps (NAT gateways, load
//! balancers, public IPv4 addresses, ElastiCache, database and volume storage, monthly
//! fees), over the hours it was asleep; and the resources lightsout knows it cannot stop,
//! priced from the table, when the usage types are not known.

use super::*;

/// What a usage type is, for what keeps costing while asleep; `None` for usage that stops
/// when staging sleeps (Fargate tasks, database instance hours) or follows traffic (data
/// transfer, requests), and for tax.
pub fn asleep_kind(service: &str, usage_type: &str) -> Option<&'static str> {
    let u = usage_type;
    let has = |p: &str| u.contains(p);
    if has("NatGateway") {
        return Some("NAT gateway");
    }
    if has("LoadBalancerUsage") || has("LCUUsage") {
        return Some("Load balancer");
    }
    if has("PublicIPv4") {
        return Some("Public IPv4 addresses");
    }
    if service.contains("ElastiCache") {
        return Some("ElastiCache");
    }
    if has("DataTransfer") || has("-Bytes") || has("Requests") || service == "Tax" {
        return None;
    }
    let database = ["Relational Database", "DocumentDB", "Neptune", "Redshift"]
        .iter()
        .any(|d| service.contains(d));
    if database {
        return (has("Storage") || has("Backup")).then_some("Database storage");
    }
    if has("EBS:") {
        return Some("EBS volumes");
    }
    if service.contains("Container Service") || has("Fargate") {
        return None;
    }
    Some("Other services")
}

pub(super) fn always_on(
    input: &DigestInput,
    prices: &PriceTable,
    wakes_day: &[WakeUse],
    wakes_month: i64,
    month_to_date: Option<Money>,
) -> AlwaysOn {
    let (day_start, day_end) = utc_day(input.day);
    let (month_from, _) = utc_day(month_start(input.day));
    let woken: i64 = wakes_day.iter().map(|w| w.outside_secs).sum();
    let asleep = (outside_schedule_secs(&input.config, day_start, day_end) - woken).max(0);
    let asleep_month =
        (outside_schedule_secs(&input.config, month_from, day_end) - wakes_month).max(0);
    let day_secs = (day_end - day_start).num_seconds().max(1);
    let mut out = AlwaysOn {
        asleep_secs: asleep,
        asleep_month_secs: asleep_month,
        kinds: Err(String::new()),
        day: Money::ZERO,
        month: Money::ZERO,
        month_pct: None,
        resources: Vec::new(),
        unpriced: Vec::new(),
    };
    for r in input.resources.iter().filter(|r| !r.sleeps) {
        match prices.rate(&r.size) {
            Ok(rate) => out.resources.push(AlwaysOnCost {
                resource: r.resource.clone(),
                hourly: rate.hourly(),
                while_asleep: rate.cost(asleep),
            }),
            Err(why) => out.unpriced.push((r.resource.clone(), why)),
        }
    }
    match &input.usage {
        Ok(lines) => {
            let mut kinds: BTreeMap<&str, AsleepCost> = BTreeMap::new();
            for l in lines {
                let Some(kind) = asleep_kind(&l.service, &l.usage_type) else {
                    continue;
                };
                let k = kinds.entry(kind).or_insert_with(|| AsleepCost {
                    kind: kind.to_string(),
                    usage_types: Vec::new(),
                    day_cost: Money::ZERO,
                    while_asleep: Money::ZERO,
                });
                k.day_cost = k.day_cost + l.amount;
                k.usage_types.push(l.usage_type.clone());
            }
            let mut kinds: Vec<AsleepCost> = kinds.into_values().collect();
            // Steady hourly costs: the asleep share of the day's cost.
            for k in &mut kinds {
                k.while_asleep = div_round(
                    i128::from(k.day_cost.0) * i128::from(asleep),
                    i128::from(day_secs),
                );
            }
            kinds.sort_by(|a, b| b.day_cost.cmp(&a.day_cost).then(a.kind.cmp(&b.kind)));
            let per_day: Money = kinds.iter().map(|k| k.day_cost).sum();
            out.day = kinds.iter().map(|k| k.while_asleep).sum();
            // The month at the same hourly cost: about, these costs are steady.
            out.month = div_round(
                i128::from(per_day.0) * i128::from(asleep_month),
                i128::from(day_secs),
            );
            out.month_pct = month_to_date.and_then(|m| pct(out.month, m));
            out.kinds = Ok(kinds);
        }
        Err(why) => {
            out.kinds = Err(why.clone());
            out.day = out.resources.iter().map(|r| r.while_asleep).sum();
        }
    }
    out
}
