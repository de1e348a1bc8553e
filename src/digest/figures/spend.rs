//! Spend: the billing day by service and what moved, the month to date against the same
//! weekdays before, last month's total, and how fresh Cost Explorer's figures are. Days are UTC
//! billing days, as Cost Explorer and AWS Budgets count them; the billing month is the UTC month.

use super::*;
use crate::digest::input::DaySpend;
use crate::model::CostFilter;

/// How many services move enough to be named.
pub const TOP_MOVERS: usize = 3;

/// The day's figure: `None` when Cost Explorer has no cost data for it.
pub(super) fn day_total(input: &DigestInput, d: NaiveDate) -> Option<Money> {
    day_figure(input, d).map(|s| s.total)
}

/// Cost Explorer's figure for day `d`, when it has cost data for it.
pub(super) fn day_figure(input: &DigestInput, d: NaiveDate) -> Option<&DaySpend> {
    let days = &input.spend.as_ref().ok()?.days;
    days.iter().find(|s| s.date == d && s.has_data)
}

pub(super) fn pct(part: Money, whole: Money) -> Option<f64> {
    (whole.0 != 0).then(|| part.0 as f64 * 100.0 / whole.0 as f64)
}

/// Days `[from, to]` summed: the total, the days without a figure, whether any is estimated.
fn sum_range(
    by_date: &BTreeMap<NaiveDate, &DaySpend>,
    from: NaiveDate,
    to: NaiveDate,
) -> (Money, Vec<NaiveDate>, bool) {
    let mut total = Money::ZERO;
    let mut missing = Vec::new();
    let mut estimated = false;
    for d in from.iter_days().take_while(|d| *d <= to) {
        match by_date.get(&d) {
            Some(s) => {
                total = total + s.total;
                estimated |= s.estimated;
            }
            None => missing.push(d),
        }
    }
    (total, missing, estimated)
}

/// The same weekdays as `first..=day`, whole weeks earlier and wholly before `first`: for the
/// 1st to the 28th, the four weeks before; for the 1st to the 30th, five weeks before.
pub fn same_weekdays_before(first: NaiveDate, day: NaiveDate) -> (NaiveDate, NaiveDate, u32) {
    let len = (day - first).num_days() + 1;
    let weeks = u32::try_from((len + 6) / 7).unwrap_or(1).max(1);
    let back = Days::new(u64::from(weeks) * 7);
    (first - back, day - back, weeks)
}

/// What a cost filter leaves out, in one line, when it leaves something out.
pub fn filter_note(filter: &CostFilter) -> Option<String> {
    match filter {
        CostFilter::Tag(k, v) => Some(format!(
            "Only costs tagged {k}={v}: untagged and shared costs (a shared NAT gateway or load balancer, data transfer, support, tax) are not in these figures."
        )),
        CostFilter::Account(_) | CostFilter::None => None,
    }
}

pub(super) fn spend(input: &DigestInput) -> Result<SpendFigures, String> {
    let spend = input.spend.as_ref().map_err(Clone::clone)?;
    if !spend.days.iter().any(|d| d.has_data) {
        // Nothing at all is no figure, not $0.00.
        return Err(no_cost_data(&spend.filter));
    }
    let by_date: BTreeMap<NaiveDate, &DaySpend> = spend
        .days
        .iter()
        .filter(|d| d.has_data)
        .map(|d| (d.date, d))
        .collect();
    let day = input.day;
    let today = by_date.get(&day);
    let week_before = day - Days::new(7);
    let before = by_date.get(&week_before);
    let change = match (today, before) {
        (Some(t), Some(p)) => Some(t.total - p.total),
        _ => None,
    };
    let change_pct = match (change, before) {
        (Some(c), Some(p)) => pct(c, p.total),
        _ => None,
    };

    // The month to date, and the same weekdays whole weeks before.
    let first = month_start(day);
    let (month_to_date, month_missing, month_estimated) = sum_range(&by_date, first, day);
    let (compare_from, compare_to, compare_weeks) = same_weekdays_before(first, day);
    let (compare_total, compare_missing, _) = sum_range(&by_date, compare_from, compare_to);
    let vs_compare_pct = if month_missing.is_empty() && compare_missing.is_empty() {
        pct(month_to_date - compare_total, compare_total)
    } else {
        None
    };

    // Last month, whole.
    let last_first = first
        .checked_sub_months(chrono::Months::new(1))
        .unwrap_or(first);
    let last_end = first.pred_opt().unwrap_or(first);
    let (last_total, last_missing, last_estimated) = sum_range(&by_date, last_first, last_end);
    let last_month = LastMonth {
        first: last_first,
        total: last_total,
        missing: last_missing,
        estimated: last_estimated,
    };

    // The month's services, the day's services, and what moved against a week before.
    let rank = |days: &mut dyn Iterator<Item = &DaySpend>| -> Vec<(String, Money)> {
        let mut services: BTreeMap<&str, Money> = BTreeMap::new();
        for d in days {
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
        ranked
    };
    let (top_services, other) = top(rank(&mut by_date.range(first..=day).map(|(_, d)| *d)));
    let day_services = rank(&mut today.into_iter().copied());
    let (day_by_service, day_other) = top(day_services.clone());
    let movers = match before {
        Some(b) => movers(&day_services, &rank(&mut std::iter::once(*b))),
        None => Vec::new(),
    };

    // Freshness: the newest day with figures, and the ended days after it without.
    let newest = by_date.keys().next_back().copied();
    let last_ended = crate::calendar::last_ended_day(input.generated_at);
    let no_data_yet: Vec<NaiveDate> = match newest {
        Some(n) => n
            .iter_days()
            .skip(1)
            .take_while(|d| *d <= last_ended)
            .collect(),
        None => Vec::new(),
    };
    Ok(SpendFigures {
        filter: spend.filter.to_string(),
        filter_note: filter_note(&spend.filter),
        day_total: today.map(|t| t.total),
        day_estimated: today.is_some_and(|t| t.estimated),
        week_before,
        week_before_total: before.map(|p| p.total),
        change,
        change_pct,
        day_by_service,
        day_other,
        movers,
        month_to_date,
        month_missing,
        month_estimated,
        compare_from,
        compare_to,
        compare_weeks,
        compare_total,
        compare_missing,
        vs_compare_pct,
        last_month,
        top_services,
        other,
        freshness: Freshness {
            newest,
            no_data_yet,
            asked_at: spend.asked_at,
            requests: input.cost_explorer_requests,
        },
    })
}

/// Amounts by service, largest first.
type Ranked = Vec<(String, Money)>;

/// The first [`TOP_SERVICES`], and the rest summed with how many they are.
fn top(mut ranked: Ranked) -> (Ranked, Option<(usize, Money)>) {
    let rest: Ranked = ranked.split_off(ranked.len().min(TOP_SERVICES));
    let other = (!rest.is_empty()).then(|| (rest.len(), rest.iter().map(|r| r.1).sum()));
    (ranked, other)
}

/// The services whose cost moved most between `before` and `now` (by the absolute change,
/// at least a cent), largest first.
fn movers(now: &[(String, Money)], before: &[(String, Money)]) -> Vec<Mover> {
    let mut all: BTreeMap<&str, (Money, Money)> = BTreeMap::new();
    for (n, m) in now {
        all.entry(n.as_str()).or_default().0 = *m;
    }
    for (n, m) in before {
        all.entry(n.as_str()).or_default().1 = *m;
    }
    let mut out: Vec<Mover> = all
        .into_iter()
        .map(|(service, (now, before))| Mover {
            service: service.to_string(),
            day: now,
            week_before: before,
            change: now - before,
        })
        .filter(|m| m.change.cents() != 0)
        .collect();
    out.sort_by(|a, b| {
        b.change
            .0
            .abs()
            .cmp(&a.change.0.abs())
            .then_with(|| a.service.cmp(&b.service))
    });
    out.truncate(TOP_MOVERS);
    out
}

/// No cost data at all, said as such, with the likely cause for the filter.
pub fn no_cost_data(filter: &CostFilter) -> String {
    match filter {
        CostFilter::Tag(k, v) => format!(
            "no cost data for {k}={v} since the start of last month: is `{k}` activated as a cost-allocation tag (Billing console → Cost allocation tags; a newly activated tag takes up to 24 hours to appear, and costs before it are never tagged)?"
        ),
        CostFilter::Account(a) => format!(
            "no cost data for the linked account {a} since the start of last month: is it a member of this organization, and does it have usage?"
        ),
        CostFilter::None => "no cost data for this account since the start of last month: Cost Explorer takes up to 24 hours after it is first enabled".to_string(),
    }
}
