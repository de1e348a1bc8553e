//! `GET /v1/environments/{env}/overview`: everything the status page shows of one environment,
//! in one answer — the detail (state, resources and their progress), the week's schedule as
//! awake stretches in the environment's zone, the recent wakes and sleeps, and the last digest's
//! spend against budget and savings.
//!
//! Instants are RFC 3339 in UTC; `timezone` and `zone_names` (the zone's abbreviation by UTC
//! offset) let a client show every one of them in the environment's zone, in one format, with
//! the same abbreviations as the command line and the digest. Money comes from the store (the
//! figures the last digest kept): this route never calls Cost Explorer, which bills each request.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Days, TimeDelta, Utc};
use serde_json::{Value, json};

use super::{ApiError, ApiState, environment, identify, view};
use crate::calendar::{local_midnight, zone_names};
use crate::digest::summary::{self, Summary};
use crate::model::Hold;
use crate::ports::Cloud;
use crate::schedule::{Why, awake_intervals, decide};
use crate::service::history::history;

/// Days the week's timeline shows, from local midnight today.
const WEEK_DAYS: u64 = 7;
/// How far back the history goes.
const HISTORY: TimeDelta = TimeDelta::days(7);
/// Audit events read for it: a week of passes and requests with room to spare.
const HISTORY_EVENTS: usize = 500;
/// Entries listed at most.
const HISTORY_ENTRIES: usize = 30;

pub(super) async fn overview<C: Cloud>(
    State(api): State<Arc<ApiState<C>>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let app = &api.service;
    let who = identify(&api, &headers).inspect_err(|e| app.count(e))?;
    let env = environment(app, &who, &name).inspect_err(|e| app.count(e))?;
    let now = app.clock.now();
    let ov = app
        .store
        .active_override(&env.name, now)
        .await
        .map_err(|e| app.count_store(e))?;
    let mut events = app
        .store
        .audit(Some(&env.name), HISTORY_EVENTS)
        .await
        .map_err(|e| app.count_store(e))?;
    // Oldest first: a request and the pass it triggered may share an instant.
    events.reverse();
    let figures = summary::load(app.store.as_ref(), &env.name, now)
        .await
        .map_err(|e| app.count_store(e))?;

    let tz = env.timezone;
    let decision = decide(env, ov.as_ref(), now);
    let today = now.with_timezone(&tz).date_naive();
    let days: Vec<Value> = (0..WEEK_DAYS)
        .filter_map(|i| {
            let d = today.checked_add_days(Days::new(i))?;
            let next = d.succ_opt()?;
            Some(json!({
                "date": d,
                "from": local_midnight(tz, d),
                "to": local_midnight(tz, next),
            }))
        })
        .collect();
    let from = local_midnight(tz, today);
    let to = today
        .checked_add_days(Days::new(WEEK_DAYS))
        .map_or(from + TimeDelta::days(7), |d| local_midnight(tz, d));
    let stretch = |(a, b): (DateTime<Utc>, DateTime<Utc>)| json!({ "from": a, "to": b });

    let mut v = view(app, env, ov.as_ref(), now, true);
    v["now"] = json!(now);
    v["timezone"] = json!(tz.name());
    v["zone_names"] = json!(zone_names(tz, now - TimeDelta::days(40), to));
    v["reason"] = json!(match &decision.why {
        Why::Override { by, reason } if reason.is_empty() => format!("woken by {by}"),
        Why::Override { by, reason } => format!("by {by}: {reason}"),
        Why::Window(w) => format!("schedule: {w}"),
        Why::OutsideWindows => "schedule".to_string(),
        Why::Holiday(d) => format!("holiday {d}"),
        Why::NoWindows => "no awake windows: awake only when woken".to_string(),
    });
    v["week"] = json!({
        "from": from,
        "to": to,
        "days": days,
        "awake": awake_intervals(env, from, to).into_iter().map(stretch).collect::<Vec<_>>(),
        "override": ov.as_ref().map(|o| json!({
            "from": o.created.max(from),
            "to": o.until.min(to),
            "hold": match o.hold { Hold::Awake => "awake", Hold::Asleep => "asleep" },
            "by": o.by,
        })),
    });
    v["history"] = json!(history(&events, now - HISTORY, HISTORY_ENTRIES));
    v["spend"] = match figures {
        Some(s) => spend(&s),
        None => json!({
            "missing": "no digest yet: the page shows the figures of the last daily digest (lightsout never asks Cost Explorer for the page: each request costs $0.01)",
        }),
    };
    Ok(axum::Json(v).into_response())
}

/// The last digest's figures, money as it is shown (`$1,234.56`).
fn spend(s: &Summary) -> Value {
    let money = |m: Option<crate::model::Money>| m.map(|m| m.to_string());
    json!({
        "day": s.day,
        "made_at": s.made_at,
        "day_total": money(s.day_total),
        "month_to_date": money(s.month_to_date),
        "spend_missing": s.spend_missing,
        "budget": money(s.budget),
        "budget_source": s.budget_source,
        "spent_pct": s.spent_pct,
        "month_pct": s.month_pct,
        "projection": money(s.projection),
        "projection_method": s.projection_method,
        "over_by": money(s.over_by),
        "saved_day": s.saved_day.to_string(),
        "saved_month": s.saved_month.to_string(),
        "always_on_day": s.always_on_day.to_string(),
    })
}
