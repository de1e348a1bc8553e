//! The front door's waiting page: requests whose `Host` is one of an environment's
//! `[alb] hosts` reached lightsout through the wake target group (the environment sleeps, or is
//! waking and not yet healthy), and are answered here before any other route.
//!
//! - A browser (`Accept: text/html`) gets a small page: the environment's name, what is asleep
//!   and a "Wake for 1 h" button; after a wake, progress per resource from
//!   `/.lightsout/status`, and a reload onto the app as soon as that address stops answering as
//!   lightsout (the rule flipped back).
//! - Anything else gets `503` with `Retry-After` and JSON saying it is asleep and how to wake it.
//! - `HEAD`, `/robots.txt`, `/favicon.ico` and known monitors never wake anything.
//! - `POST /.lightsout/wake` wakes it for an hour, for an identity: an API token
//!   (`Authorization: Bearer`), a signed wake link from Slack (`?lightsout_wake=`, which the page
//!   passes on; audited as `request:slack-link`; an expired or forged one is refused and the page
//!   says why), or the `x-amzn-oidc-data` header an ALB `authenticate-oidc` action adds, once
//!   its ES256 signature verifies for `[alb] oidc_signer` (`super::oidc`); with `wake_on_request = "auto"`, any request from `allow_cidrs` wakes it.
//!   A burst makes one wake ([`crate::service::knock`]); the audit says `request:<source>`.

use std::net::IpAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::ApiState;
use crate::kinds::alb::WakeOnRequest;
use crate::model::Environment;
use crate::ports::Cloud;
use crate::service::knock::Knocked;
use crate::service::links::LinkRefused;

/// Seconds a client is told to wait before asking again.
const RETRY_AFTER: &str = "120";

/// User agents of uptime monitors and crawlers: they never wake anything.
const MONITORS: &[&str] = &[
    "elb-healthchecker",
    "uptimerobot",
    "pingdom",
    "statuscake",
    "datadog",
    "newrelic",
    "googlebot",
    "bingbot",
    "bot",
    "crawler",
    "spider",
    "curl/",
    "wget/",
    "python-requests",
    "go-http-client",
];

/// Answers requests to an environment's front door; passes every other request on.
pub(super) async fn gate<C: Cloud + 'static>(
    State(api): State<Arc<ApiState<C>>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(env) = environment_of(&api, req.headers()) else {
        return next.run(req).await;
    };
    let link = wake_link(req.uri().query());
    door(
        &api,
        env,
        req.method(),
        req.uri().path(),
        link.as_deref(),
        req.headers(),
    )
    .await
}

/// The signed wake link in a query (`?lightsout_wake=...`), if there is one.
fn wake_link(query: Option<&str>) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == crate::service::links::PARAM)
        .map(|(_, v)| v.into_owned())
}

/// What a signed wake link says: `None` without one or without a link secret; the reason when
/// it is not an identity.
fn check_link<C>(
    api: &ApiState<C>,
    env: &Environment,
    link: Option<&str>,
) -> Option<Result<(), LinkRefused>> {
    let links = api.service.links.as_ref()?;
    Some(links.check(link?, &env.name, api.service.clock.now()))
}

/// The environment whose `[alb] hosts` has this request's `Host` (without its port).
fn environment_of<'a, C>(api: &'a ApiState<C>, headers: &HeaderMap) -> Option<&'a Environment> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let host = host.rsplit_once(':').map_or(host, |(h, p)| {
        if p.bytes().all(|c| c.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    let host = host.to_ascii_lowercase();
    api.service
        .config
        .environments
        .iter()
        .find(|e| e.kinds.alb.hosts.contains(&host))
}

/// The client's address as the load balancer saw it: the last `X-Forwarded-For` entry (the one
/// the ALB appended; those before it are the client's own word).
fn source(headers: &HeaderMap) -> Option<IpAddr> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()?
        .trim()
        .parse()
        .ok()
}

fn is_monitor(headers: &HeaderMap) -> bool {
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    ua.is_empty() || MONITORS.iter().any(|m| ua.contains(m))
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// Who clicked: an API token allowed on `env`, a signed wake link from Slack, or the identity
/// in the ALB's signed OIDC header (verified: `super::oidc`). The error says why there is none
/// (a link that expired, a sign-in by another load balancer).
async fn identity<C>(
    api: &ApiState<C>,
    env: &Environment,
    link: Option<&str>,
    headers: &HeaderMap,
) -> Result<String, String> {
    if let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(super::auth::bearer)
        && let Some(who) = api.tokens.identify(token)
        && who.may(&env.name)
    {
        return Ok(who.name);
    }
    match check_link(api, env, link) {
        Some(Ok(())) => return Ok("slack-link".into()),
        Some(Err(why)) => return Err(why.to_string()),
        None => {}
    }
    if let Some(data) = headers
        .get("x-amzn-oidc-data")
        .and_then(|v| v.to_str().ok())
    {
        let Some(signer) = &env.kinds.alb.oidc_signer else {
            return Err(format!(
                "the load balancer's sign-in cannot be checked: set [alb] oidc_signer for {} (the load balancer's ARN)",
                env.name
            ));
        };
        return api
            .oidc
            .verify(data, signer, api.service.clock.now())
            .await
            .map_err(|e| e.to_string());
    }
    Err("waking needs an identity: send `Authorization: Bearer TOKEN` (an API token), open a wake link from Slack, or sign in through the load balancer".to_string())
}

async fn door<C: Cloud + 'static>(
    api: &ApiState<C>,
    env: &Environment,
    method: &Method,
    path: &str,
    link: Option<&str>,
    headers: &HeaderMap,
) -> Response {
    let app = &api.service;
    let mode = env.kinds.alb.wake_on_request;
    match (method, path) {
        (&Method::HEAD, _) => return asleep_status(),
        (_, "/robots.txt") => {
            return (
                [(header::CONTENT_TYPE, "text/plain")],
                "User-agent: *\nDisallow: /\n",
            )
                .into_response();
        }
        (_, "/favicon.ico") => return StatusCode::NOT_FOUND.into_response(),
        (&Method::GET, "/.lightsout/status") => return status(api, env).await.into_response(),
        (&Method::POST, "/.lightsout/wake") => {
            if mode == WakeOnRequest::Off {
                return json_error(
                    StatusCode::FORBIDDEN,
                    &format!(
                        "{} does not wake on request (wake_on_request = \"off\"): ask with the API, Slack or `lightsout wake`",
                        env.name
                    ),
                );
            }
            let who = match identity(api, env, link, headers).await {
                Ok(who) => who,
                Err(why) => return json_error(StatusCode::UNAUTHORIZED, &why),
            };
            return match app.knock(env, &who).await {
                Ok(k) => (StatusCode::ACCEPTED, axum::Json(knocked(env, &k))).into_response(),
                Err(e) => app.request_error(e).into_response(),
            };
        }
        _ => {}
    }
    let mut woke = None;
    if mode == WakeOnRequest::Auto
        && !is_monitor(headers)
        && let Some(ip) = source(headers)
        && env.kinds.alb.allow_cidrs.iter().any(|c| c.contains(ip))
    {
        match app.knock(env, &ip.to_string()).await {
            Ok(k) => woke = Some(knocked(env, &k)),
            Err(e) => tracing::warn!(env = %env.name, "a knock could not wake it: {e}"),
        }
    }
    if wants_html(headers) && method == Method::GET {
        let mut r = (
            StatusCode::SERVICE_UNAVAILABLE,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            page(api, env, woke.is_some(), check_link(api, env, link)),
        )
            .into_response();
        retry_after(&mut r);
        return r;
    }
    let mut body = json!({
        "error": "asleep",
        "environment": env.name,
        "message": format!("{} is asleep (lightsout); this address answers again once it is awake", env.name),
        "wake": format!("POST /v1/environments/{}/wake with an API token (or lightsout wake {}, or Slack), or open this address in a browser", env.name, env.name),
        "asleep": asleep_resources(api, env),
    });
    if let Some(w) = woke {
        body["woken"] = w;
    }
    let mut r = (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
    retry_after(&mut r);
    r
}

fn retry_after(r: &mut Response) {
    r.headers_mut().insert(
        header::RETRY_AFTER,
        header::HeaderValue::from_static(RETRY_AFTER),
    );
}

fn asleep_status() -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    retry_after(&mut r);
    r
}

fn json_error(status: StatusCode, msg: &str) -> Response {
    (status, axum::Json(json!({ "error": msg }))).into_response()
}

fn knocked(env: &Environment, k: &Knocked) -> serde_json::Value {
    match k {
        Knocked::Woke(w) => json!({
            "woke": true,
            "until": w.current.until,
            "expected_ready": w.ready,
            "environment": env.name,
        }),
        Knocked::AlreadyAwake(o) => json!({
            "woke": false,
            "why": format!("already woken by {} until {}", o.by, o.until),
            "until": o.until,
        }),
        Knocked::Burst => json!({ "woke": false, "why": "another request is waking it" }),
    }
}

/// The resources the last pass saw asleep, as `ecs:cluster/service`.
fn asleep_resources<C: Cloud>(api: &ApiState<C>, env: &Environment) -> Vec<String> {
    api.service
        .snapshot(&env.name)
        .map(|s| {
            s.observed
                .each()
                .filter(|o| {
                    o.slept()
                        && o.kind() != crate::kinds::Kind::Alb
                        && env.guard.refusal(o.tags()).is_none()
                })
                .map(|o| o.id().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// What the waiting page polls: the state (the override in force counted) and each resource the
/// environment manages, in a few words.
async fn status<C: Cloud>(api: &ApiState<C>, env: &Environment) -> axum::Json<serde_json::Value> {
    let app = &api.service;
    let now = app.clock.now();
    // A store that cannot be read leaves the schedule's word: the page only shows progress.
    let ov = app
        .store
        .active_override(&env.name, now)
        .await
        .ok()
        .flatten();
    let snap = app.snapshot(&env.name);
    let awake = crate::schedule::decide(env, ov.as_ref(), now).awake;
    let state = crate::service::state_now(snap.as_ref(), awake);
    let resources: Vec<serde_json::Value> = snap
        .map(|s| {
            let mut managed = s.observed.clone();
            managed.retain_managed(&env.guard);
            managed
                .each()
                .map(|o| json!({ "resource": o.id().to_string(), "now": o.describe() }))
                .collect()
        })
        .unwrap_or_default();
    axum::Json(json!({
        "lightsout": true,
        "environment": env.name,
        "state": state.as_str(),
        "resources": resources,
    }))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// What waking takes, honestly: a stopped database is the long part.
fn expected_time(asleep: &[String]) -> &'static str {
    if asleep
        .iter()
        .any(|r| r.starts_with("rds:") || r.starts_with("aurora:"))
    {
        "Waking takes 5–15 minutes: a stopped database starts first, then the services."
    } else {
        "Waking takes about 1–2 minutes: the services start and pass their health checks."
    }
}

/// The waiting page: no external assets, a few kilobytes (well inside a Lambda target's 1 MB).
fn page<C: Cloud>(
    api: &ApiState<C>,
    env: &Environment,
    woke: bool,
    link: Option<Result<(), LinkRefused>>,
) -> String {
    let asleep = asleep_resources(api, env);
    let list = if asleep.is_empty() {
        "<li>nothing reported yet</li>".to_string()
    } else {
        asleep
            .iter()
            .map(|r| format!("<li>{}</li>", escape(r)))
            .collect()
    };
    let button = match (env.kinds.alb.wake_on_request, &link) {
        (WakeOnRequest::Off, _) => "<p>Waking on request is off for this environment: ask with the API, Slack or <code>lightsout wake</code>.</p>".to_string(),
        (_, Some(Ok(()))) => "<form id=\"wake\"><p id=\"linked\">Your wake link from Slack lets you wake it.</p><input id=\"token\" type=\"hidden\" value=\"\"> <button type=\"submit\">Wake for 1 h</button></form>".to_string(),
        _ => "<form id=\"wake\"><label>API token (not needed when you signed in through the load balancer) <input id=\"token\" type=\"password\" autocomplete=\"off\"></label> <button type=\"submit\">Wake for 1 h</button></form>".to_string(),
    };
    // A link that is not an identity says why, in place of the progress message.
    let (msg, msg_class) = match (&link, woke) {
        (_, true) => ("Waking…".to_string(), ""),
        (Some(Err(why)), false) => (escape(&why.to_string()), "err"),
        _ => (String::new(), ""),
    };
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{name} is asleep</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}}#msg.err{{color:#b00}}</style></head>
<body><h1>{name} is asleep</h1>
<p>lightsout put it to sleep to save money. Asleep:</p><ul id="asleep">{list}</ul>
{button}
<p id="msg" class="{msg_class}">{msg}</p><ul id="progress"></ul>
<p><small>{expect}</small></p>
<script>
const msg = document.getElementById("msg");
async function poll() {{
  let data = null;
  try {{ const r = await fetch("/.lightsout/status", {{ cache: "no-store" }}); data = await r.json(); }} catch (e) {{ data = null; }}
  if (!data || data.lightsout !== true) {{ location.reload(); return; }}
  msg.textContent = "{name} is " + data.state + "…";
  const ul = document.getElementById("progress"); ul.textContent = "";
  for (const r of data.resources) {{ const li = document.createElement("li"); li.textContent = r.resource + ": " + r.now; ul.appendChild(li); }}
  setTimeout(poll, 5000);
}}
const form = document.getElementById("wake");
if (form) form.addEventListener("submit", async (ev) => {{
  ev.preventDefault();
  const token = document.getElementById("token").value.trim();
  const headers = token ? {{ Authorization: "Bearer " + token }} : {{}};
  const r = await fetch("/.lightsout/wake" + location.search, {{ method: "POST", headers }});
  const data = await r.json().catch(() => ({{}}));
  if (r.status !== 202) {{ msg.textContent = data.error || ("HTTP " + r.status); msg.className = "err"; return; }}
  form.remove(); msg.className = ""; msg.textContent = "Waking {name}…"; poll();
}});
{start}
</script></body></html>
"#,
        name = escape(&env.name),
        expect = expected_time(&asleep),
        start = if woke { "poll();" } else { "" },
    )
}
