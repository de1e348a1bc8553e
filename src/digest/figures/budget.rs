//! The budget: how much of it the month has used, and the projected month end.

use super::*;

pub(super) fn budget(input: &DigestInput, spend: Option<&SpendFigures>) -> BudgetFigures {
    let dim = days_in_month(input.day);
    let elapsed = input.day.day();
    let month_pct = f64::from(elapsed) * 100.0 / f64::from(dim);
    let budget = match &input.budget {
        Budget::Config(m) if m.0 > 0 => Ok((*m, "schedule file".to_string())),
        Budget::Aws { name, amount } if amount.0 > 0 => {
            Ok((*amount, format!("AWS Budgets \"{name}\"")))
        }
        Budget::Config(_) => Err("the budget in the schedule file is zero".to_string()),
        Budget::Aws { name, .. } => Err(format!("the AWS budget \"{name}\" is zero")),
        Budget::Missing(why) => Err(why.clone()),
    };
    let projection = match spend {
        None => Err(match &input.spend {
            Err(why) => format!("no spend figures: {why}"),
            Ok(_) => "no spend figures".to_string(),
        }),
        Some(s) => projection(input, s, dim),
    };
    let amount = budget.as_ref().ok().map(|b| b.0);
    let spent_pct = match (amount, spend) {
        (Some(b), Some(s)) => pct(s.month_to_date, b),
        _ => None,
    };
    let over_by = match (amount, &projection) {
        (Some(b), Ok(p)) if p.month_end > b => Some(p.month_end - b),
        _ => None,
    };
    let daily_pace = amount.map(|b| div_round(i128::from(b.0), i128::from(dim)));
    BudgetFigures {
        budget,
        spent_pct,
        month_pct,
        days: (elapsed, dim),
        projection,
        over_by,
        daily_pace,
    }
}

/// `num / den` in nano-dollars, rounded half away from zero.
pub(super) fn div_round(num: i128, den: i128) -> Money {
    if den == 0 {
        return Money::ZERO;
    }
    let q = (num.abs() + den.abs() / 2) / den.abs();
    let q = if (num < 0) != (den < 0) { -q } else { q };
    Money(i64::try_from(q).unwrap_or(i64::MAX))
}

pub(super) fn projection(
    input: &DigestInput,
    s: &SpendFigures,
    dim: u32,
) -> Result<Projection, String> {
    let left = dim - input.day.day();
    match &input.forecast {
        Ok(f) => Ok(Projection {
            month_end: s.month_to_date + *f,
            method: "Cost Explorer forecast".to_string(),
            forecast_unavailable: None,
        }),
        Err(why) => {
            let recent: Vec<Money> = (0..PROJECTION_DAYS)
                .filter_map(|back| input.day.checked_sub_days(Days::new(u64::from(back))))
                .filter_map(|d| day_total(input, d))
                .collect();
            if recent.is_empty() {
                return Err(format!(
                    "Cost Explorer could not forecast ({why}) and there is no spend in the last {PROJECTION_DAYS} days to project from"
                ));
            }
            let n = recent.len();
            let sum: Money = recent.iter().copied().sum();
            // mean × days left, one rounding: sum × left / n.
            let rest = div_round(i128::from(sum.0) * i128::from(left), n as i128);
            let days = if n == PROJECTION_DAYS as usize {
                format!("the last {PROJECTION_DAYS} days")
            } else {
                format!("the {n} days with figures of the last {PROJECTION_DAYS}")
            };
            Ok(Projection {
                month_end: s.month_to_date + rest,
                method: format!(
                    "lightsout projection: mean of {days} × {left} day{} left",
                    if left == 1 { "" } else { "s" }
                ),
                forecast_unavailable: Some(why.clone()),
            })
        }
    }
}
