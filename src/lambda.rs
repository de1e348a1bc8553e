//! The Lambda entry point: one handler for both kinds of event.
//!
//! - An EventBridge Scheduler event `{"action": "reconcile"}` runs one pass over every
//!   environment; `{"action": "digest"}` makes and sends the daily digest of every environment
//!   (for the day before, local time; a day already sent is not sent again).
//! - A Lambda Function URL request (payload 2.0) is served by the same axum router as the
//!   daemon, through `lambda_http`'s adapter; a wake or sleep that was accepted is followed by a
//!   pass before the response, since no loop runs between invocations.
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
use crate::cloud::Cloud;
use crate::service::App;

/// Serves Lambda invocations until the runtime stops.
pub async fn run<C: Cloud + 'static>(app: Arc<App<C>>) -> Result<(), Error> {
    let router = api::router(app.clone());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let (app, router) = (app.clone(), router.clone());
        async move { handle(&app, router, event).await }
    }))
    .await
}

/// Handles one invocation.
pub async fn handle<C: Cloud + 'static>(
    app: &App<C>,
    router: Router,
    event: LambdaEvent<Value>,
) -> Result<Value, Error> {
    let (payload, context) = event.into_parts();
    if let Some(action) = payload.get("action") {
        return match action.as_str() {
            Some("reconcile") => {
                let reports = app.reconcile_all_until(deadline(&context)).await;
                let failed: Vec<&str> = reports
                    .iter()
                    .filter(|r| r.failed())
                    .map(|r| r.env.as_str())
                    .collect();
                let calls: usize = reports.iter().map(|r| r.calls_made()).sum();
                tracing::info!(
                    environments = reports.len(),
                    calls,
                    failed = failed.len(),
                    "scheduled pass done"
                );
                Ok(
                    json!({ "action": "reconcile", "environments": reports.len(), "write_calls": calls, "failed": failed }),
                )
            }
            Some("digest") => {
                let digester = app
                    .digest
                    .as_ref()
                    .ok_or("the digest is not configured in this copy")?;
                let reports = digester.run_all(Default::default()).await;
                for r in &reports {
                    tracing::info!(summary = %crate::report::digest(r), "digest");
                }
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
    let stop_by = deadline(&context);
    let changing = matches!(&request, LambdaRequest::ApiGatewayV2(r) if r.request_context.http.method == lambda_http::http::Method::POST);
    let mut adapter = Adapter::from(router);
    let response = adapter.call(LambdaEvent::new(request, context)).await?;
    let response = serde_json::to_value(response)?;
    if changing && response.get("statusCode").and_then(Value::as_u64) == Some(202) {
        let reports = app.reconcile_all_until(stop_by).await;
        tracing::info!(
            environments = reports.len(),
            "pass after a wake or sleep request"
        );
    }
    Ok(response)
}

/// Time kept back before the invocation's deadline: an action started before it finishes its
/// few calls well within it.
const DEADLINE_MARGIN: std::time::Duration = std::time::Duration::from_secs(3);

/// The instant after which a pass starts nothing new: the invocation's deadline less a margin.
/// `None` when the context has no deadline (tests, local runs).
fn deadline(context: &lambda_runtime::Context) -> Option<tokio::time::Instant> {
    if context.deadline == 0 {
        return None;
    }
    let now_ms = crate::clock::Clock::now(&crate::clock::SystemClock)
        .timestamp_millis()
        .max(0) as u64;
    let left = std::time::Duration::from_millis(context.deadline.saturating_sub(now_ms));
    Some(tokio::time::Instant::now() + left.saturating_sub(DEADLINE_MARGIN))
}
