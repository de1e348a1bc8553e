//! The HTTP API: one axum router, served by the daemon (`lightsout serve`) and, unchanged, by
//! the Lambda through its Function URL.
//!
//! | route | auth | what |
//! |---|---|---|
//! | `GET /healthz` | none | liveness, and whether the store can be used (503 when not) |
//! | `GET /metrics` | none | Prometheus counters |
//! | `GET /` | none (the page asks for a token and keeps it in the tab) | status page (`page.rs`) |
//! | `GET /page.js`, `GET /page.css` | none | the page's script and stylesheet |
//! | `GET /v1/environments` | bearer | every environment the token may see |
//! | `GET /v1/environments/{env}` | bearer | one environment, its resources and recent audit |
//! | `GET /v1/environments/{env}/overview` | bearer | what the page shows: the detail, the week's schedule, recent wakes and sleeps, the last digest's figures (`overview.rs`) |
//! | `POST /v1/environments/{env}/wake` | bearer, rate-limited | `{"for": "2h", "reason": "..."}` |
//! | `POST /v1/environments/{env}/sleep` | bearer, rate-limited | `{"reason": "..."}` (body optional) |
//! | `POST /v1/slack/command` | Slack signature, rate-limited | a slash command ([`slack`]) |
//! | `POST /v1/slack/interactive` | Slack signature, rate-limited | the heads-up's buttons, Keep 1 h and Sleep now ([`slack_actions`]) |
//! | any path, `Host` in an environment's `[alb] hosts` | none; waking needs a token or OIDC identity (or `allow_cidrs` with `"auto"`) | the front door: waiting page or `503` JSON; `GET /.lightsout/status`, `POST /.lightsout/wake` (`knock.rs`) |
//!
//! Every rejection is JSON `{"error": "..."}` with the right status, the framework's own too;
//! requests are authenticated on their headers before their body is read ([`guard`]).

pub mod auth;
mod error;
pub mod guard;
mod knock;
pub mod oidc;
mod overview;
mod page;
pub mod slack;
pub mod slack_actions;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

pub use error::ApiError;
pub use guard::HttpLimits;

use crate::model::Override;
use crate::model::{Environment, format_duration};
use crate::ports::Cloud;
use crate::schedule::decide;
use crate::service::{Service, state_now};
use auth::Identity;

/// The largest request body accepted.
pub const BODY_LIMIT: usize = 16 * 1024;

/// What the HTTP side holds beside the service: who may call it and how often, and the Slack
/// verifier.
pub struct ApiState<C> {
    /// The running service.
    pub service: Arc<Service<C>>,
    /// API tokens.
    pub tokens: auth::Tokens,
    /// Per-identity limit on state-changing requests.
    pub limiter: auth::RateLimiter,
    /// Verifies the Slack slash command, when a signing secret is configured.
    pub slack: Option<slack::SlackVerifier>,
    /// Timeouts and caps of the HTTP server (the router applies the request timeout).
    pub http: HttpLimits,
    /// Where a Slack interaction's `response_url` may point (Slack's host; a fake in tests).
    pub slack_responses: String,
    /// Verifies the ALB's signed OIDC header (`x-amzn-oidc-data`), its keys cached by kid.
    pub oidc: oidc::OidcKeys,
}

impl<C> ApiState<C> {
    /// The API over `service`, for the holders of `tokens`, with the default rate limit (5 at
    /// once, 10 a minute) and no Slack command.
    pub fn new(service: Arc<Service<C>>, tokens: auth::Tokens) -> ApiState<C> {
        ApiState {
            service,
            tokens,
            limiter: auth::RateLimiter::new(5, 10),
            slack: None,
            http: HttpLimits::default(),
            slack_responses: slack_actions::SLACK_RESPONSES.to_string(),
            oidc: oidc::OidcKeys::default(),
        }
    }
}

/// The service's own fields and methods read through the API state (`api.store`,
/// `api.snapshot(..)`): the state is the service plus what HTTP needs.
impl<C> std::ops::Deref for ApiState<C> {
    type Target = Service<C>;
    fn deref(&self) -> &Service<C> {
        &self.service
    }
}

/// The router over a running service, behind the [`guard`] layers.
pub fn router<C: Cloud + 'static>(api: Arc<ApiState<C>>) -> Router {
    Router::new()
        .route("/healthz", get(healthz::<C>))
        .route("/metrics", get(metrics::<C>))
        .route("/", get(|| async { Html(page::PAGE) }))
        .route(
            "/page.js",
            get(|| async { asset("text/javascript; charset=utf-8", page::SCRIPT) }),
        )
        .route(
            "/page.css",
            get(|| async { asset("text/css; charset=utf-8", page::STYLE) }),
        )
        .route("/v1/environments", get(list::<C>))
        .route("/v1/environments/{env}", get(detail::<C>))
        .route(
            "/v1/environments/{env}/overview",
            get(overview::overview::<C>),
        )
        .route("/v1/environments/{env}/wake", post(wake::<C>))
        .route("/v1/environments/{env}/sleep", post(sleep::<C>))
        .route("/v1/slack/command", post(slack::command::<C>))
        .route(
            "/v1/slack/interactive",
            post(slack_actions::interactive::<C>),
        )
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        // Requests to an environment's front door ([alb] hosts) never reach the routes above.
        .layer(axum::middleware::from_fn_with_state(
            api.clone(),
            knock::gate::<C>,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // Layers run last-added first: shape and headers, then the head's checks, then the body.
        .layer(from_fn_with_state(api.clone(), guard::read_body::<C>))
        .layer(from_fn_with_state(api.clone(), guard::admit::<C>))
        .layer(from_fn_with_state(api.clone(), guard::one_shape::<C>))
        .with_state(api)
}

/// `GET /healthz`: `ok`, or 503 when the store cannot be used (its file removed, unreadable).
async fn healthz<C: Cloud>(State(api): State<Arc<ApiState<C>>>) -> Response {
    match api.service.store.health().await {
        Ok(()) => "ok\n".into_response(),
        Err(e) => ApiError::Unhealthy(e.to_string()).into_response(),
    }
}

/// One of the page's files; revalidated on every load, so an upgrade shows at once.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn metrics<C: Cloud>(State(api): State<Arc<ApiState<C>>>) -> Response {
    let app = &api.service;
    let last = app.last.read().unwrap_or_else(|p| p.into_inner());
    let awake = last.values().filter(|s| s.report.awake).count();
    let unknown =
        app.config.environments.len() - last.values().filter(|s| s.unknown.is_none()).count();
    let mut body = app
        .metrics
        .render(app.config.environments.len(), awake, unknown);
    body.push_str("# HELP lightsout_aws_requests_total AWS requests by operation, retries included.\n# TYPE lightsout_aws_requests_total counter\n");
    for (op, n) in app.cloud.requests() {
        body.push_str(&format!(
            "lightsout_aws_requests_total{{operation=\"{op}\"}} {n}\n"
        ));
    }
    body.push_str("# HELP lightsout_aws_throttled_total AWS throttling answers by operation (each retried).\n# TYPE lightsout_aws_throttled_total counter\n");
    for (op, n) in app.cloud.throttled() {
        body.push_str(&format!(
            "lightsout_aws_throttled_total{{operation=\"{op}\"}} {n}\n"
        ));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// The caller's identity, from `Authorization: Bearer TOKEN`.
fn identify<C>(api: &ApiState<C>, headers: &HeaderMap) -> Result<Identity, ApiError> {
    let value = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::Unauthorized(
            "missing Authorization header: send `Authorization: Bearer TOKEN`".into(),
        )
    })?;
    let token = value.to_str().ok().and_then(auth::bearer).ok_or_else(|| {
        ApiError::Unauthorized("malformed Authorization header: expected `Bearer TOKEN`".into())
    })?;
    api.tokens
        .identify(token)
        .ok_or_else(|| ApiError::Unauthorized("unknown or revoked token".into()))
}

/// The environment `name`, if the caller may act on it. One the token may not see is the same
/// 404 as one that does not exist: a scoped token cannot learn the other names.
fn environment<'a, C>(
    app: &'a Service<C>,
    who: &Identity,
    name: &str,
) -> Result<&'a Environment, ApiError> {
    app.config
        .environment(name)
        .filter(|_| who.may(name))
        .ok_or_else(|| ApiError::NotFound(format!("no environment \"{name}\"")))
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
    app: &Service<C>,
    env: &Environment,
    ov: Option<&Override>,
    now: DateTime<Utc>,
    resources: bool,
) -> Value {
    let decision = decide(env, ov, now);
    let snap = app.snapshot(&env.name);
    let mut v = json!({
        "name": env.name,
        // A request accepted since the last pass shows at once: `waking`, `going to sleep`.
        "state": state_now(snap.as_ref(), decision.awake).as_str(),
        "unknown": match &snap {
            None => json!({ "reason": "no pass has run yet", "since": Value::Null }),
            Some(s) => json!(s.unknown),
        },
        "awake": decision.awake,
        "why": decision.describe(env.timezone, now),
        "next_change": decision.next_change,
        "override": ov,
        "observed_at": snap.as_ref().map(|s| s.at),
        "max_wake": format_duration(env.max_wake),
        // When idle to sleep ends it if no request comes, as the last pass that read the front
        // door's counts saw it (from the lead before its earliest idle sleep on).
        "idle": crate::idle::watch(env, ov, now)
            .and(app.idle_ahead(&env.name))
            .filter(|u| u.due > now)
            .map(|u| json!({
                "sleeps_at": u.due,
                "quiet_since": u.quiet_since,
                "sentence": u.sentence(env, now),
            })),
        // A transition the last pass left unfinished (out of time): how far it came.
        "progress": snap
            .as_ref()
            .filter(|s| s.report.awake == decision.awake)
            .map(|s| s.report.progress(s.at))
            .filter(crate::model::Progress::in_progress)
            .map(|p| p.sentence()),
    });
    if resources {
        v["resources"] = snap.map_or(Value::Array(Vec::new()), |s| {
            s.report
                .items
                .iter()
                .map(|i| {
                    json!({
                        "resource": i.item.resource.to_string(),
                        "observed": s.observed.describe(&i.item.resource),
                        "progress": s.observed.each().find(|o| o.id() == i.item.resource).map(|o| o.progress()),
                        "verdict": i.item.verdict,
                        "outcome": i.outcome,
                        "reason": i.item.reason,
                        // The reason without the environment's state it starts with.
                        "detail": i
                            .item
                            .reason
                            .strip_prefix(s.report.state_reason.as_str())
                            .and_then(|r| r.strip_prefix("; "))
                            .unwrap_or(&i.item.reason),
                    })
                })
                .collect()
        });
    }
    v
}

async fn list<C: Cloud>(
    State(api): State<Arc<ApiState<C>>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let app = &api.service;
    let who = identify(&api, &headers).inspect_err(|e| app.count(e))?;
    let now = app.clock.now();
    let mut out = Vec::new();
    for env in app.config.environments.iter().filter(|e| who.may(&e.name)) {
        let ov = app
            .store
            .active_override(&env.name, now)
            .await
            .map_err(|e| app.count_store(e))?;
        out.push(view(app, env, ov.as_ref(), now, false));
    }
    Ok(axum::Json(json!({ "environments": out, "you": who.name })).into_response())
}

async fn detail<C: Cloud>(
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
    let mut v = view(app, env, ov.as_ref(), now, true);
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
    api: &'a ApiState<C>,
    headers: &HeaderMap,
    name: &str,
) -> Result<(Identity, &'a Environment), ApiError> {
    let who = identify(api, headers)?;
    let env = environment(&api.service, &who, name)?;
    api.limiter
        .take(&who.name, Instant::now())
        .map_err(ApiError::TooManyRequests)?;
    Ok((who, env))
}

async fn wake<C: Cloud>(
    State(api): State<Arc<ApiState<C>>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let app = &api.service;
    let (who, env) = admit(&api, &headers, &name).inspect_err(|e| app.count(e))?;
    let req: WakeRequest = json_body(&headers, body, true).inspect_err(|e| app.count(e))?;
    let woken = app
        .wake(env, &who.name, &req.duration, &req.reason)
        .await
        .map_err(|e| app.request_error(e))?;
    let body = json!({
        // What the environment shows from now on: a page can show it at once.
        "state": request_state(app, env, Some(&woken.current)),
        "override": woken.current,
        "extended": !woken.kept,
        "expected_ready": woken.ready,
        "expected_ready_note": "estimate: each tier that must start waits for the one before (databases about 10 minutes, Redshift 15, Auto Scaling groups 5, instances 2, services 2)",
    });
    Ok((StatusCode::ACCEPTED, axum::Json(body)).into_response())
}

async fn sleep<C: Cloud>(
    State(api): State<Arc<ApiState<C>>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let app = &api.service;
    let (who, env) = admit(&api, &headers, &name).inspect_err(|e| app.count(e))?;
    let req: SleepRequest = json_body(&headers, body, false).inspect_err(|e| app.count(e))?;
    let slept = app
        .sleep(env, &who.name, &req.reason)
        .await
        .map_err(|e| app.request_error(e))?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(json!({
            "state": request_state(app, env, slept.held.as_ref()),
            "ended": slept.ended,
            "override": slept.held,
        })),
    )
        .into_response())
}

/// The state of `env` right after a request was accepted, with `ov` the override in force after
/// it: where the environment is going, against what the last pass saw.
fn request_state<C: Cloud>(
    app: &Service<C>,
    env: &Environment,
    ov: Option<&Override>,
) -> &'static str {
    let awake = decide(env, ov, app.clock.now()).awake;
    state_now(app.snapshot(&env.name).as_ref(), awake).as_str()
}

impl<C> Service<C> {
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

    /// A refused wake or sleep as an API error, counted.
    pub(crate) fn request_error(&self, e: crate::service::RequestError) -> ApiError {
        match e {
            crate::service::RequestError::Invalid(m) => self.counted(ApiError::BadRequest(m)),
            crate::service::RequestError::Store(e) => self.count_store(e),
        }
    }

    fn count_store(&self, e: crate::store::StoreError) -> ApiError {
        tracing::error!(error = %e, "store failed during a request");
        self.metrics.store_errors.inc();
        self.counted(ApiError::Unavailable(e.to_string()))
    }
}
