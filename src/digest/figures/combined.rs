//! One digest for finance: every environment's line and the total.

use super::*;

/// Every environment's money in one place.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Combined {
    /// When it was made.
    pub generated_at: DateTime<Utc>,
    /// The UTC billing day most environments report on (the newest with figures).
    pub day: NaiveDate,
    /// One line per environment, in configuration order.
    pub lines: Vec<EnvLine>,
    /// The sums.
    pub total: Totals,
    /// What lightsout itself cost this month: one deployment for every environment, so one
    /// figure (`None`: it could not be priced).
    pub running: Option<Money>,
}

/// One environment's line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnvLine {
    /// The environment.
    pub env: String,
    /// The UTC billing day its figures are for.
    pub day: NaiveDate,
    /// That day's spend.
    pub day_total: Option<Money>,
    /// The billing month to date.
    pub month_to_date: Option<Money>,
    /// Its monthly budget.
    pub budget: Option<Money>,
    /// The projected month end.
    pub projection: Option<Money>,
    /// How much the projection exceeds the budget.
    pub over_by: Option<Money>,
    /// What sleeping saved this month (list prices).
    pub saved_month: Money,
    /// About what kept costing while asleep this month.
    pub kept_costing_month: Money,
    /// Why a figure is missing, when one is.
    pub problem: Option<String>,
}

/// The sums over every environment; each counts only the environments that have the figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Totals {
    /// Spend on `day`, over the environments reporting on `day`.
    pub day_total: Money,
    /// Month to date.
    pub month_to_date: Money,
    /// Budgets.
    pub budget: Money,
    /// Projections.
    pub projection: Money,
    /// Saved this month.
    pub saved_month: Money,
    /// Kept costing while asleep this month.
    pub kept_costing_month: Money,
    /// Environments over budget.
    pub over_budget: Vec<String>,
    /// Environments left out of a sum, with the figure they lack.
    pub left_out: Vec<(String, &'static str)>,
}

/// The combined figures of `digests`.
pub fn combine(digests: &[Digest], generated_at: DateTime<Utc>) -> Combined {
    // The day most environments report on; ties go to the newer day.
    let mut days: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    for d in digests {
        *days.entry(d.day).or_default() += 1;
    }
    let day = days
        .iter()
        .max_by_key(|(d, n)| (**n, **d))
        .map_or(generated_at.date_naive(), |(d, _)| *d);
    let lines: Vec<EnvLine> = digests
        .iter()
        .map(|d| {
            let s = d.spend.as_ref().ok();
            EnvLine {
                env: d.env.clone(),
                day: d.day,
                day_total: s.and_then(|s| s.day_total),
                month_to_date: s.map(|s| s.month_to_date),
                budget: d.budget.budget.as_ref().ok().map(|(b, _)| *b),
                projection: d.budget.projection.as_ref().ok().map(|p| p.month_end),
                over_by: d.budget.over_by,
                saved_month: d.savings.month,
                kept_costing_month: d.always_on.month,
                problem: d.spend.as_ref().err().cloned(),
            }
        })
        .collect();
    let mut t = Totals {
        day_total: Money::ZERO,
        month_to_date: Money::ZERO,
        budget: Money::ZERO,
        projection: Money::ZERO,
        saved_month: Money::ZERO,
        kept_costing_month: Money::ZERO,
        over_budget: Vec::new(),
        left_out: Vec::new(),
    };
    for l in &lines {
        let mut add = |sum: &mut Money, v: Option<Money>, what: &'static str| match v {
            Some(m) => *sum = *sum + m,
            None => t.left_out.push((l.env.clone(), what)),
        };
        let on_day = if l.day == day { l.day_total } else { None };
        add(&mut t.day_total, on_day, "the day's spend");
        add(&mut t.month_to_date, l.month_to_date, "the month to date");
        add(&mut t.budget, l.budget, "a budget");
        add(&mut t.projection, l.projection, "a projection");
        t.saved_month = t.saved_month + l.saved_month;
        t.kept_costing_month = t.kept_costing_month + l.kept_costing_month;
        if l.over_by.is_some() {
            t.over_budget.push(l.env.clone());
        }
    }
    Combined {
        generated_at,
        day,
        lines,
        total: t,
        running: digests
            .iter()
            .find_map(|d| d.running.as_ref().ok().map(|r| r.total)),
    }
}
