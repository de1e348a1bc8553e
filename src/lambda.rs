//! The Lambda entry point: one handler for both kinds of event.
//!
//! - An EventBridge Scheduler event `{"action": "reconcile"}` runs one pass over every
//!   environment, then posts the Slack heads-ups that are due (`service::heads_up`);
//!   `{"action": "digest"}` makes and sends the daily digest of every environment
//!   (for the day before, local time; a day already sent is not sent again).
//! - A request from the front door's wake target group (an ALB `lambda` target) is served by
//!   the same router, whose front-door gate answers it with the waiting page.
//! - A Lambda Function URL request (payload 2.0) is served by the same axum router as the
//!   daemon, through `lambda_http`'s adapter; a wake or sleep that was accepted is followed by a
//!   pass before the response, since no loop runs between invocations.
//!
//! A pass that cannot finish within the invocation (thousands of services) stops starting
//! actions 3 s before the deadline and leaves the rest to the next scheduled invocation, which
//! observes, re-plans and continues: done resources are observed as done (no write), and the
//! next wave (databases after their services) starts only once the one before is all done. The
//! answer's `in_progress` and the store's progress record say how far it came.
//!
//! The app (configuration, SDK clients, store) is built once per container, in `main`, and
//! borrowed by every invocation.

use std::sync::Arc;

use axum::Router;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Service};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

use crate::api;
use crate::api::ApiState;
use crate::digest::figures::RunTally;
use crate::digest::running::count_run;
use crate::ports::Cloud;

/// Serves Lambda invocations until the runtime stops.
pub async fn run<C: Cloud + 'static>(api: Arc<ApiState<C>>) -> Result<(), Error> {
    let router = api::router(api.clone());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let (api, router) = (api.clone(), router.clone());
        async move { handle(&api, router, event).await }
    }))
    .await
}

/// Handles one invocation.
pub async fn handle<C: Cloud + 'static>(
    api: &ApiState<C>,
    router: Router,
    event: LambdaEvent<Value>,
) -> Result<Value, Error> {
    let app = &api.service;
    let (payload, context) = event.into_parts();
    if let Some(action) = payload.get("action") {
        return match action.as_str() {
            Some("reconcile") => {
                let started = std::time::Instant::now();
                let budget = Budget::of(&context);
                let pass = app.run_pass(budget.deadline).await;
                let failed = pass.failed();
                let calls = pass.calls_made();
                for left in &pass.deferred {
                    tracing::warn!(env = %left.env, why = %left.why, "deferred to the next invocation");
                }
                let done = if pass.deferred.is_empty() {
                    "scheduled pass done"
                } else {
                    "scheduled pass done, with work deferred to the next invocation"
                };
                tracing::info!(
                    environments = pass.reports.len(),
                    calls,
                    failed = failed.len(),
                    deferred = pass.deferred.len(),
                    skipped = pass.skipped.len(),
                    "{done}"
                );
                // A transition that did not finish (out of time) continues in the next
                // invocation: the pass re-plans from what it observes, so what was done is seen
                // as done and not made again, and databases still wait for their services.
                let now = app.clock.now();
                let progress: Vec<Value> = pass
                    .reports
                    .iter()
                    .filter_map(|r| {
                        let p = r.progress(now);
                        p.in_progress()
                            .then(|| json!({ "env": r.env, "progress": p.sentence(), "counts": p }))
                    })
                    .collect();
                // Heads-ups before a sleep, at the first scheduled invocation inside their lead.
                let heads_ups = app.heads_ups().await;
                let requeue = app.requeue(&pass, chrono::TimeDelta::minutes(1));
                let mut answer = json!({
                    "action": "reconcile",
                    "requeue": requeue,
                    "environments": pass.reports.len(),
                    "write_calls": calls,
                    "failed": failed,
                    "deferred": pass.deferred,
                    "skipped": pass.skipped,
                    "in_progress": progress,
                    "heads_ups": heads_ups,
                });
                if let Some(note) = budget.note {
                    answer["deadline_note"] = json!(note);
                }
                let ms = millis(started);
                count_run(&app.store, app.clock.now(), |t| {
                    t.passes += 1;
                    t.pass_ms += ms;
                    this_function(t);
                })
                .await;
                Ok(answer)
            }
            Some("digest") => {
                let digester = app
                    .digest
                    .as_ref()
                    .ok_or("the digest is not configured in this copy")?;
                let started = std::time::Instant::now();
                let mut reports = digester.run_all(Default::default()).await;
                // After the environments' own digests, so it asks Cost Explorer nothing more.
                if digester
                    .config
                    .environments
                    .iter()
                    .any(|e| e.digest.combined)
                {
                    reports.push(digester.run_combined(Default::default()).await);
                }
                for r in &reports {
                    tracing::info!(summary = %r, "digest");
                }
                let ce: usize = reports.iter().map(|r| r.cost_explorer_requests).sum();
                let ms = millis(started);
                count_run(&app.store, app.clock.now(), |t| {
                    t.digests += 1;
                    t.digest_ms += ms;
                    t.ce_requests += ce as u64;
                    this_function(t);
                })
                .await;
                let failed: Vec<String> = reports
                    .iter()
                    .flat_map(|r| {
                        r.sent.iter().filter_map(|(c, res)| {
                            res.as_ref().err().map(|e| format!("{} {c}: {e}", r.env))
                        })
                    })
                    .collect();
                if failed.is_empty() {
                    Ok(json!({ "action": "digest", "reports": reports }))
                } else {
                    // An error, so the function's error alarm fires; invoking it again sends
                    // only to the channels that failed (what was sent is recorded).
                    Err(format!("digest not delivered: {}", failed.join("; ")).into())
                }
            }
            _ => {
                Err(format!("unknown action {action}: expected \"reconcile\" or \"digest\"").into())
            }
        };
    }
    let request: LambdaRequest = serde_json::from_value(payload)
        .map_err(|e| format!("neither a scheduled action nor a Function URL request: {e}"))?;
    let stop_by = Budget::of(&context).deadline;
    // A POST accepted (a wake or sleep, from the API or the front door's button) is followed by
    // a pass. ALB events come from the wake target group (the front door).
    let changing = match &request {
        LambdaRequest::ApiGatewayV2(r) => {
            r.request_context.http.method == lambda_http::http::Method::POST
        }
        LambdaRequest::Alb(r) => r.http_method == lambda_http::http::Method::POST,
        _ => false,
    };
    let mut adapter = Adapter::from(router);
    let response = adapter.call(LambdaEvent::new(request, context)).await?;
    let response = serde_json::to_value(response)?;
    if changing && response.get("statusCode").and_then(Value::as_u64) == Some(202) {
        let pass = app.run_pass(stop_by).await;
        tracing::info!(
            environments = pass.reports.len(),
            deferred = pass.deferred.len(),
            "pass after a wake or sleep request"
        );
    }
    Ok(response)
}

/// Milliseconds since `started`, as Lambda bills them (rounded up).
fn millis(started: std::time::Instant) -> u64 {
    u64::try_from(started.elapsed().as_micros().div_ceil(1_000)).unwrap_or(u64::MAX)
}

/// The function's memory and architecture, into the run tally (what its GB-seconds cost).
fn this_function(t: &mut RunTally) {
    if let Some(mb) = std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        t.memory_mb = mb;
    }
    t.arm = cfg!(target_arch = "aarch64");
}

/// Time kept back before the invocation's deadline: an action started before it finishes its
/// few calls well within it.
const DEADLINE_MARGIN: std::time::Duration = std::time::Duration::from_secs(3);

/// Lambda runs a function for at most 15 minutes.
const LAMBDA_MAX: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// The time budget used when the invocation's deadline cannot be believed.
const FALLBACK_BUDGET: std::time::Duration = std::time::Duration::from_secs(60);

/// How long an invocation may act.
#[derive(Debug)]
pub struct Budget {
    /// After it no environment or action starts (`None`: no deadline given, as in tests).
    pub deadline: Option<tokio::time::Instant>,
    /// Set when the runtime's deadline was not plausible and a fallback is used instead.
    pub note: Option<String>,
}

impl Budget {
    /// The invocation's deadline less a margin. `Lambda-Runtime-Deadline-Ms` is an epoch
    /// instant in milliseconds; a deadline already past when the invocation begins, or more
    /// than 15 minutes ahead, cannot be one (some runtime emulators send a relative duration):
    /// it is reported, logged, and replaced by a 60-second budget rather than obeyed silently.
    pub fn of(context: &lambda_runtime::Context) -> Budget {
        let now_ms = crate::clock::Clock::now(&crate::clock::SystemClock)
            .timestamp_millis()
            .max(0) as u64;
        Budget::at(context.deadline, now_ms)
    }

    /// [`Budget::of`] for a deadline and the current time, both in epoch milliseconds.
    pub fn at(deadline_ms: u64, now_ms: u64) -> Budget {
        if deadline_ms == 0 {
            return Budget {
                deadline: None,
                note: None,
            };
        }
        let start = tokio::time::Instant::now();
        let left = deadline_ms
            .checked_sub(now_ms)
            .map(std::time::Duration::from_millis);
        match left {
            Some(left) if left <= LAMBDA_MAX + std::time::Duration::from_secs(60) => Budget {
                deadline: Some(start + left.saturating_sub(DEADLINE_MARGIN)),
                note: None,
            },
            _ => {
                let note = format!(
                    "the invocation's deadline ({deadline_ms} ms) is not an epoch instant within 15 minutes of now ({now_ms} ms): a runtime emulator that sends a relative deadline? Using a {} s budget instead",
                    FALLBACK_BUDGET.as_secs()
                );
                tracing::warn!("{note}");
                Budget {
                    deadline: Some(start + FALLBACK_BUDGET),
                    note: Some(note),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An epoch deadline is obeyed less the margin; a relative or past one is reported and
    /// replaced by the fallback budget, never obeyed as "already out of time".
    #[tokio::test]
    async fn implausible_deadlines_are_reported_not_obeyed() {
        let now = 1_764_800_000_000u64;
        let ok = Budget::at(now + 600_000, now);
        assert!(ok.note.is_none());
        let left = ok.deadline.unwrap() - tokio::time::Instant::now();
        assert!(
            left > std::time::Duration::from_secs(590)
                && left <= std::time::Duration::from_secs(597),
            "{left:?}"
        );

        let relative = Budget::at(600_000, now);
        assert!(
            relative
                .note
                .as_deref()
                .unwrap()
                .contains("not an epoch instant")
        );
        let left = relative.deadline.unwrap() - tokio::time::Instant::now();
        assert!(left > std::time::Duration::from_secs(55), "{left:?}");

        let far = Budget::at(now + 3_600_000, now);
        assert!(far.note.is_some());
        assert!(Budget::at(0, now).deadline.is_none());
    }
}
