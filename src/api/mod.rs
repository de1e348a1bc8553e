//! The HTTP API: one axum router, served by the daemon (and later, unchanged, by the Lambda).
//!
//! | route | auth | what |
//! |---|---|---|
//! | `GET /healthz` | none | liveness |
//! | `GET /metrics` | none | Prometheus counters |
//! | `GET /` | none (the page asks for a token and keeps it in the tab) | status page |
//! | `GET /v1/environments` | bearer | every environment the token may see |
//! | `GET /v1/environments/{env}` | bearer | one environment, its resources and recent audit |
//! | `POST /v1/environments/{env}/wake` | bearer, rate-limited | `{"for": "2h", "reason": "..."}` |
//! | `POST /v1/environments/{env}/sleep` | bearer, rate-limited | `{"reason": "..."}` (body optional) |
//! | `POST /v1/slack/command` | Slack signature, rate-limited | a slash command ([`slack`]) |
//!
//! Every rejection is JSON `{"error": "..."}` with the right status.

pub mod auth;
mod error;
mod page;
pub mod slack;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

pub use error::ApiError;

use crate::cloud::Cloud;
use crate::config::{Environment, format_duration, parse_duration};
use crate::report;
use crate::schedule::{Hold, Override, decide, scheduled};
use crate::service::App;
use crate::store::{AuditEvent, Put};
use auth::Identity;

/// The largest request body accepted.
pub const BODY_LIMIT: usize = 16 * 1024;

/// The router over a running service.
pub fn router<C: Cloud + 'static>(app: Arc<App<C>>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics::<C>))
        .route("/", get(|| async { Html(page::PAGE) }))
        .route("/v1/environments", get(list::<C>))
        .route("/v1/environments/{env}", get(detail::<C>))
        .route("/v1/environments/{env}/wake", post(wake::<C>))
        .route("/v1/environments/{env}/sleep", post(sleep::<C>))
        .route("/v1/slack/command", post(slack::command::<C>))
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(app)
}

async fn metrics<C: Cloud>(State(app): State<Arc<App<C>>>) -> Response {
    let last = app.last.read().unwrap_or_else(|p| p.into_inner());
    let awake = last.values().filter(|s| s.report.awake).count();
    let mut body = app.metrics.render(app.config.environments.len(), awake);
    body.push_str("# HELP lightsout_aws_requests_total AWS requests by operation, retries included.\n# TYPE lightsout_aws_requests_total counter\n");
    for (op, n) in app.cloud.requests() {
        body.push_str(&format!(
            "lightsout_aws_requests_total{{operation=\"{op}\"}} {n}\n"
        ));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// The caller's identity, from `Authorization: Bearer TOKEN`.
fn identify<C>(app: &App<C>, headers: &HeaderMap) -> Result<Identity, ApiError> {
    let value = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::Unauthorized(
            "missing Authorization header: send `Authorization: Bearer TOKEN`".into(),
        )
    })?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::Unauthorized("malformed Authorization header: expected `Bearer TOKEN`".into())
        })?;
    app.tokens
        .identify(token)
        .ok_or_else(|| ApiError::Unauthorized("unknown or revoked token".into()))
}

/// The environment `name`, if the caller may act on it.
fn environment<'a, C>(
    app: &'a App<C>,
    who: &Identity,
    name: &str,
) -> Result<&'a Environment, ApiError> {
    let env = app
        .config
        .environment(name)
        .ok_or_else(|| ApiError::NotFound(format!("no environment \"{name}\"")))?;
    if !who.may(name) {
        return Err(ApiError::Forbidden(format!(
            "token \"{}\" may not act on \"{name}\"",
            who.name
        )));
    }
    Ok(env)
}

/// Parses an optional JSON body, insisting on `Content-Type: application/json` when there is one.
fn json_body<T: for<'de> Deserialize<'de> + Default>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    required: bool,
) -> Result<T, ApiError> {
    let body = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::TooLarge(format!("request body is larger than {BODY_LIMIT} bytes"))
        }
        s => ApiError::BadRequest(format!("cannot read the body ({s})")),
    })?;
    if body.is_empty() {
        if required {
            return Err(ApiError::BadRequest(
                "empty body: send JSON like {\"for\": \"2h\", \"reason\": \"...\"}".into(),
            ));
        }
        return Ok(T::default());
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
    if !json {
        return Err(ApiError::UnsupportedMediaType(
            "send the body as JSON with `Content-Type: application/json`".into(),
        ));
    }
    serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
}

/// An environment as the API shows it.
fn view<C: Cloud>(
    app: &App<C>,
    env: &Environment,
    ov: Option<&Override>,
    now: DateTime<Utc>,
    resources: bool,
) -> Value {
    let decision = decide(env, ov, now);
    let snap = app.snapshot(&env.name);
    let mut v = json!({
        "name": env.name,
        "state": snap.as_ref().map_or("unknown: no pass yet", |s| s.state()),
        "awake": decision.awake,
        "why": decision.describe(env.timezone, now),
        "next_change": decision.next_change,
        "override": ov,
        "observed_at": snap.as_ref().map(|s| s.at),
        "max_wake": format_duration(env.max_wake),
    });
    if resources {
        v["resources"] = snap.map_or(Value::Array(Vec::new()), |s| {
            s.report
                .items
                .iter()
                .map(|i| {
                    json!({
                        "resource": i.item.resource.to_string(),
                        "observed": report::observed(&s.observed, &i.item.resource),
                        "verdict": i.item.verdict,
                        "outcome": i.outcome,
                        "reason": i.item.reason,
                    })
                })
                .collect()
        });
    }
    v
}

async fn list<C: Cloud>(
    State(app): State<Arc<App<C>>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let who = identify(&app, &headers).inspect_err(|e| app.count(e))?;
    let now = app.clock.now();
    let mut out = Vec::new();
    for env in app.config.environments.iter().filter(|e| who.may(&e.name)) {
        let ov = app
            .store
            .active_override(&env.name, now)
            .await
            .map_err(|e| app.count_store(e))?;
        out.push(view(&app, env, ov.as_ref(), now, false));
    }
    Ok(axum::Json(json!({ "environments": out, "you": who.name })).into_response())
}

async fn detail<C: Cloud>(
    State(app): State<Arc<App<C>>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let who = identify(&app, &headers).inspect_err(|e| app.count(e))?;
    let env = environment(&app, &who, &name).inspect_err(|e| app.count(e))?;
    let now = app.clock.now();
    let ov = app
        .store
        .active_override(&env.name, now)
        .await
        .map_err(|e| app.count_store(e))?;
    let mut v = view(&app, env, ov.as_ref(), now, true);
    v["audit"] = json!(
        app.store
            .audit(Some(&env.name), 20)
            .await
            .map_err(|e| app.count_store(e))?
    );
    Ok(axum::Json(v).into_response())
}

/// `POST /v1/environments/{env}/wake` body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WakeRequest {
    /// How long: `2h`, `90m`.
    #[serde(rename = "for")]
    duration: String,
    /// Why, for the audit trail and the digest.
    #[serde(default)]
    reason: String,
}

/// `POST /v1/environments/{env}/sleep` body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SleepRequest {
    /// Why.
    #[serde(default)]
    reason: String,
}

/// Checks a state-changing request: identity, environment, rate limit.
fn admit<'a, C>(
    app: &'a App<C>,
    headers: &HeaderMap,
    name: &str,
) -> Result<(Identity, &'a Environment), ApiError> {
    let who = identify(app, headers)?;
    let env = environment(app, &who, name)?;
    app.limiter
        .take(&who.name, Instant::now())
        .map_err(ApiError::TooManyRequests)?;
    Ok((who, env))
}

fn check_reason(reason: &str) -> Result<String, ApiError> {
    let reason = reason.trim();
    if reason.chars().count() > 500 {
        return Err(ApiError::BadRequest(
            "reason is longer than 500 characters".into(),
        ));
    }
    Ok(reason.to_string())
}

/// The instant staging should be ready, estimated from the last pass: a stopped database takes
/// RDS about 10 minutes to start, services about 2 more.
fn expected_ready<C: Cloud>(app: &App<C>, env: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let snap = app.snapshot(env)?;
    let dbs_down = snap
        .observed
        .databases
        .iter()
        .any(|d| d.status != "available" && d.member_of.is_none() && d.replica_of.is_none());
    let services_down = snap
        .observed
        .services
        .iter()
        .any(crate::model::ObservedService::slept);
    Some(match (dbs_down, services_down || snap.settling()) {
        (true, _) => now + TimeDelta::minutes(12),
        (false, true) => now + TimeDelta::minutes(2),
        (false, false) => now,
    })
}

async fn wake<C: Cloud>(
    State(app): State<Arc<App<C>>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (who, env) = admit(&app, &headers, &name).inspect_err(|e| app.count(e))?;
    let req: WakeRequest = json_body(&headers, body, true).inspect_err(|e| app.count(e))?;
    let woken = do_wake(&app, env, &who.name, &req.duration, &req.reason).await?;
    let body = json!({
        "override": woken.current,
        "extended": !woken.kept,
        "expected_ready": woken.ready,
        "expected_ready_note": "estimate: about 12 minutes when databases must start, 2 when only services do",
    });
    Ok((StatusCode::ACCEPTED, axum::Json(body)).into_response())
}

async fn sleep<C: Cloud>(
    State(app): State<Arc<App<C>>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (who, env) = admit(&app, &headers, &name).inspect_err(|e| app.count(e))?;
    let req: SleepRequest = json_body(&headers, body, false).inspect_err(|e| app.count(e))?;
    let (ended, held) = do_sleep(&app, env, &who.name, &req.reason).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(json!({ "ended": ended, "override": held })),
    )
        .into_response())
}

/// What a wake did.
pub(crate) struct Woken {
    /// The override in force now.
    pub(crate) current: Override,
    /// Whether a longer one was already in force (and kept).
    pub(crate) kept: bool,
    /// When the environment should be ready (an estimate).
    pub(crate) ready: Option<DateTime<Utc>>,
}

/// Wakes `env` for `duration` on behalf of `who`: checks the duration against `max_wake`,
/// stores the override (the later end wins), audits, and triggers a pass.
pub(crate) async fn do_wake<C: Cloud>(
    app: &App<C>,
    env: &Environment,
    who: &str,
    duration: &str,
    reason: &str,
) -> Result<Woken, ApiError> {
    let reason = check_reason(reason).inspect_err(|e| app.count(e))?;
    let duration = parse_duration(duration).map_err(|e| app.counted(ApiError::BadRequest(e)))?;
    if duration > env.max_wake {
        return Err(app.counted(ApiError::BadRequest(format!(
            "{} is longer than the longest wake for {} ({}, max_wake in its schedule file); ask for {} or less",
            format_duration(duration),
            env.name,
            format_duration(env.max_wake),
            format_duration(env.max_wake)
        ))));
    }
    // Whole seconds: overrides are read by people.
    let now = app.clock.now().trunc_subsecs(0);
    let ov = Override {
        env: env.name.clone(),
        hold: Hold::Awake,
        created: now,
        until: now + duration,
        by: who.to_string(),
        reason: reason.clone(),
    };
    let (current, kept) = match app
        .store
        .put_override(ov)
        .await
        .map_err(|e| app.count_store(e))?
    {
        Put::Stored(o) => (o, false),
        Put::KeptLater(o) => (o, true),
    };
    app.audit(AuditEvent {
        at: now,
        env: env.name.clone(),
        resource: String::new(),
        action: format!("wake for {}", format_duration(duration)),
        reason,
        actor: who.to_string(),
        outcome: if kept {
            format!("ok: a wake until {} was already in force", current.until)
        } else {
            format!("ok: awake until {}", current.until)
        },
    })
    .await;
    tracing::info!(env = %env.name, by = %who, until = %current.until, "wake requested");
    app.trigger.notify_one();
    Ok(Woken {
        ready: expected_ready(app, &env.name, now),
        current,
        kept,
    })
}

/// Puts `env` to sleep on behalf of `who`: ends its override, and inside an awake window holds it
/// asleep until the next scheduled start. Returns the ended override and the new one.
pub(crate) async fn do_sleep<C: Cloud>(
    app: &App<C>,
    env: &Environment,
    who: &str,
    reason: &str,
) -> Result<(Option<Override>, Option<Override>), ApiError> {
    let reason = check_reason(reason).inspect_err(|e| app.count(e))?;
    let now = app.clock.now().trunc_subsecs(0);
    let ended = app
        .store
        .clear_override(&env.name, now)
        .await
        .map_err(|e| app.count_store(e))?;
    let plain = scheduled(env, now);
    let mut held = None;
    if plain.awake {
        let until = plain
            .next_change
            .and_then(|end| scheduled(env, end).next_change)
            .unwrap_or(now + TimeDelta::days(7));
        let ov = Override {
            env: env.name.clone(),
            hold: Hold::Asleep,
            created: now,
            until,
            by: who.to_string(),
            reason: reason.clone(),
        };
        held = Some(
            app.store
                .put_override(ov)
                .await
                .map_err(|e| app.count_store(e))?
                .current()
                .clone(),
        );
    }
    app.audit(AuditEvent {
        at: now,
        env: env.name.clone(),
        resource: String::new(),
        action: "sleep".into(),
        reason,
        actor: who.to_string(),
        outcome: match &held {
            Some(o) => format!("ok: asleep until {}", o.until),
            None => "ok: back on the schedule".into(),
        },
    })
    .await;
    tracing::info!(env = %env.name, by = %who, "sleep requested");
    app.trigger.notify_one();
    Ok((ended, held))
}

impl<C> App<C> {
    /// Counts a refused request.
    fn count(&self, e: &ApiError) {
        self.metrics
            .api_errors
            .inc(&format!("status=\"{}\"", e.status().as_u16()));
    }

    fn counted(&self, e: ApiError) -> ApiError {
        self.count(&e);
        e
    }

    fn count_store(&self, e: crate::store::StoreError) -> ApiError {
        tracing::error!(error = %e, "store failed during a request");
        self.metrics.store_errors.inc();
        self.counted(ApiError::Unavailable(e.to_string()))
    }

    /// Records a request in the audit trail; a failure here is logged, not returned: the
    /// override itself was written.
    async fn audit(&self, event: AuditEvent) {
        if let Err(e) = self.store.record(vec![event]).await {
            tracing::error!(error = %e, "cannot write the audit trail");
            self.metrics.store_errors.inc();
        }
    }
}
