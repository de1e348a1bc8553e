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
    let pace_to_date =
        amount.map(|b| div_round(i128::from(b.0) * i128::from(elapsed), i128::from(dim)));
    BudgetFigures {
        budget,
        spent_pct,
        month_pct,
        days: (elapsed, dim),
        projection,
        over_by,
        pace_to_date,
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

/// The mean of the last [`PROJECTION_DAYS`] days with figures through `day`, and how many
/// there were; `None` when there are none.
fn recent_mean_sum(input: &DigestInput) -> Option<(Money, usize)> {
    let recent: Vec<Money> = (0..PROJECTION_DAYS)
        .filter_map(|back| input.day.checked_sub_days(Days::new(u64::from(back))))
        .filter_map(|d| day_total(input, d))
        .collect();
    (!recent.is_empty()).then(|| (recent.iter().copied().sum(), recent.len()))
}

fn days_phrase(n: usize) -> String {
    if n == PROJECTION_DAYS as usize {
        format!("the last {PROJECTION_DAYS} days")
    } else {
        format!("the {n} days with figures of the last {PROJECTION_DAYS}")
    }
}

fn s_if(n: i64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

pub(super) fn projection(
    input: &DigestInput,
    s: &SpendFigures,
    dim: u32,
) -> Result<Projection, String> {
    let left = i64::from(dim - input.day.day());
    match &input.forecast {
        Ok(f) => {
            // Days between the reported day and the forecast's first (ended days Cost
            // Explorer has no figures for yet) are projected at the recent mean.
            let gap = (f.from - input.day).num_days() - 1;
            if gap <= 0 {
                return Ok(Projection {
                    month_end: s.month_to_date + f.amount,
                    method: "Cost Explorer forecast".to_string(),
                    forecast_unavailable: None,
                });
            }
            let (sum, n) = recent_mean_sum(input).ok_or_else(|| {
                "no spend in the last days to project the days without figures from".to_string()
            })?;
            let gap_cost = div_round(i128::from(sum.0) * i128::from(gap), n as i128);
            Ok(Projection {
                month_end: s.month_to_date + gap_cost + f.amount,
                method: format!(
                    "Cost Explorer forecast from {}, and {gap} day{} without figures yet at the mean of {}",
                    f.from.format("%-d %b"),
                    s_if(gap),
                    days_phrase(n)
                ),
                forecast_unavailable: None,
            })
        }
        Err(why) => {
            let Some((sum, n)) = recent_mean_sum(input) else {
                return Err(format!(
                    "Cost Explorer could not forecast ({why}) and there is no spend in the last {PROJECTION_DAYS} days to project from"
                ));
            };
            // mean × days left, one rounding: sum × left / n.
            let rest = div_round(i128::from(sum.0) * i128::from(left), n as i128);
            Ok(Projection {
                month_end: s.month_to_date + rest,
                method: if left == 0 {
                    "the month's days all have figures".to_string()
                } else {
                    format!(
                        "lightsout projection: mean of {} × {left} day{} left",
                        days_phrase(n),
                        s_if(left)
                    )
                },
                forecast_unavailable: Some(why.clone()),
            })
        }
    }
}
