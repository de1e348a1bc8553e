//! Spend: yesterday, the day before, month to date against last month, the top services.

use super::*;
use crate::digest::input::DaySpend;

pub(super) fn day_total(input: &DigestInput, d: NaiveDate) -> Option<Money> {
    day_figure(input, d).map(|s| s.total)
}

/// Cost Explorer's figure for day `d`, when it has one.
pub(super) fn day_figure(input: &DigestInput, d: NaiveDate) -> Option<&DaySpend> {
    let days = &input.spend.as_ref().ok()?.days;
    days.iter().find(|s| s.date == d)
}

pub(super) fn pct(part: Money, whole: Money) -> Option<f64> {
    (whole.0 != 0).then(|| part.0 as f64 * 100.0 / whole.0 as f64)
}

pub(super) fn spend(input: &DigestInput) -> Result<SpendFigures, String> {
    let spend = input.spend.as_ref().map_err(Clone::clone)?;
    if spend.days.is_empty() {
        // Nothing at all is no figure, not $0.00: the usual cause is a filter that matches nothing.
        return Err(format!(
            "Cost Explorer has no figures for the {} since the start of last month; if that is a tag, is it activated as a cost-allocation tag in the Billing console (new tags take up to 24 hours to appear)?",
            spend.filter
        ));
    }
    let by_date: BTreeMap<NaiveDate, &crate::digest::input::DaySpend> =
        spend.days.iter().map(|d| (d.date, d)).collect();
    let day = input.day;
    let previous_day = day.pred_opt().unwrap_or(day);
    let today = by_date.get(&day);
    let prev = by_date.get(&previous_day);
    let change = match (today, prev) {
        (Some(t), Some(p)) => Some(t.total - p.total),
        _ => None,
    };
    let change_pct = match (change, prev) {
        (Some(c), Some(p)) => pct(c, p.total),
        _ => None,
    };
    let sum_range = |from: NaiveDate, to: NaiveDate| {
        let mut total = Money::ZERO;
        let mut missing = Vec::new();
        let mut estimated = false;
        let mut d = from;
        while d <= to {
            match by_date.get(&d) {
                Some(s) => {
                    total = total + s.total;
                    estimated |= s.estimated;
                }
                None => missing.push(d),
            }
            d = match d.succ_opt() {
                Some(n) => n,
                None => break,
            };
        }
        (total, missing, estimated)
    };
    let first = month_start(day);
    let (month_to_date, month_missing, month_estimated) = sum_range(first, day);
    let last_first = first
        .checked_sub_months(chrono::Months::new(1))
        .unwrap_or(first);
    let last_to = last_first
        .with_day(day.day().min(days_in_month(last_first)))
        .unwrap_or(last_first);
    let (last_month, last_month_missing, _) = sum_range(last_first, last_to);
    let vs_last_month_pct = if month_missing.is_empty() && last_month_missing.is_empty() {
        pct(month_to_date - last_month, last_month)
    } else {
        None
    };
    let mut services: BTreeMap<&str, Money> = BTreeMap::new();
    for d in spend
        .days
        .iter()
        .filter(|d| first <= d.date && d.date <= day)
    {
        for (name, m) in &d.by_service {
            let e = services.entry(name.as_str()).or_default();
            *e = *e + *m;
        }
    }
    let mut ranked: Vec<(String, Money)> = services
        .into_iter()
        .map(|(n, m)| (n.to_string(), m))
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let rest: Vec<(String, Money)> = ranked.split_off(ranked.len().min(TOP_SERVICES));
    let other = (!rest.is_empty()).then(|| (rest.len(), rest.iter().map(|r| r.1).sum()));
    Ok(SpendFigures {
        filter: spend.filter.clone(),
        day_total: today.map(|t| t.total),
        day_estimated: today.is_some_and(|t| t.estimated),
        previous_day,
        previous_total: prev.map(|p| p.total),
        change,
        change_pct,
        month_to_date,
        month_missing,
        month_estimated,
        last_month_from: last_first,
        last_month_to: last_to,
        last_month,
        last_month_missing,
        vs_last_month_pct,
        top_services: ranked,
        other,
    })
}
