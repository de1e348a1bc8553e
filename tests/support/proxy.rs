//! A fault-injecting HTTP proxy in front of moto: per operation (and optionally per target named
//! in the request body), answer with AWS throttling in the protocol's own error shape, a 5xx, a
//! connection cut mid-response, added latency, or hold the request until released — always, a
//! number of times, or for a share of requests. Everything else is forwarded to moto unchanged.
//!
//! A held request is forwarded when [`FaultProxy::release`] is called, unless its client has
//! given up by then (closed the connection): like a request stuck in a network, it then never
//! arrives. [`FaultProxy::forwarded_after_hold`] counts those that did arrive.
//!
//! With [`FaultProxy::limit`], the proxy also throttles like AWS: a token bucket per account,
//! region and action category (see [`category`] for the figures and their sources), answering a
//! request that finds its bucket empty with the protocol's own throttling error, and optionally
//! a background load that spends part of every bucket's refill (another tool in the account).
//! It counts the TCP connections it accepts, so connection reuse is a number.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;

/// What to do to a matching request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// AWS throttling: `ThrottlingException` (JSON protocols) or `Throttling` (query protocol).
    Throttle,
    /// An AWS error with this status and code, in the protocol's shape.
    Error(u16, &'static str),
    /// HTTP 503 with no AWS error body.
    ServiceUnavailable,
    /// Headers sent, then the body cut short.
    Drop,
    /// Forward, but only after this delay.
    Delay(Duration),
    /// Hold until [`FaultProxy::release`], then forward (if the client is still there).
    Hold,
}

/// When a fault applies.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Operation name (`UpdateService`, `StopDBInstance`), or `*` for every operation.
    pub operation: String,
    /// Text the request body must contain (a service or database name), if any.
    pub target: Option<String>,
    /// What to do.
    pub fault: Fault,
    /// How many more times it applies (`None`: no limit).
    pub times: Option<usize>,
    /// The share of matching requests it applies to, 0.0 to 1.0.
    pub share: f64,
}

impl Rule {
    /// Always, on every matching request.
    pub fn always(operation: &str, fault: Fault) -> Rule {
        Rule {
            operation: operation.into(),
            target: None,
            fault,
            times: None,
            share: 1.0,
        }
    }

    /// The first `n` matching requests.
    pub fn times(operation: &str, n: usize, fault: Fault) -> Rule {
        Rule {
            times: Some(n),
            ..Rule::always(operation, fault)
        }
    }

    /// A share of matching requests.
    pub fn share(operation: &str, share: f64, fault: Fault) -> Rule {
        Rule {
            share,
            ..Rule::always(operation, fault)
        }
    }

    /// Only requests whose body mentions `target`.
    pub fn on(mut self, target: &str) -> Rule {
        self.target = Some(target.into());
        self
    }
}

struct State {
    upstream: String,
    rules: Mutex<Vec<Rule>>,
    injected: Mutex<BTreeMap<String, usize>>,
    seed: Mutex<u64>,
    agent: ureq::Agent,
    release: tokio::sync::watch::Sender<bool>,
    held: std::sync::atomic::AtomicUsize,
    /// Held requests whose client is still connected (their handler not yet dropped).
    holding: Arc<std::sync::atomic::AtomicUsize>,
    forwarded_after_hold: Arc<Mutex<Vec<String>>>,
    limits: Mutex<Option<RateModel>>,
    connections: Arc<std::sync::atomic::AtomicUsize>,
}

/// How the rate model is set up.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Every bucket's burst and refill times this (1.0: AWS's figures; smaller for a test
    /// that must finish in seconds).
    pub scale: f64,
    /// The share of every bucket's refill that another tool in the account spends, 0.0 to 1.0.
    pub background: f64,
}

impl Limits {
    /// AWS's figures, no one else in the account.
    pub fn published() -> Limits {
        Limits {
            scale: 1.0,
            background: 0.0,
        }
    }
}

/// A token bucket as AWS describes it: it holds at most `burst` tokens, gains `refill` a second,
/// and a request that finds less than one token is refused. Time is seconds from any start.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    pub burst: f64,
    pub refill: f64,
    tokens: f64,
    at: f64,
}

impl TokenBucket {
    /// A full bucket at time `at`.
    pub fn new(burst: f64, refill: f64, at: f64) -> TokenBucket {
        TokenBucket {
            burst,
            refill,
            tokens: burst,
            at,
        }
    }

    /// Spends a token at `at` if there is one.
    pub fn try_take(&mut self, at: f64) -> bool {
        let dt = (at - self.at).max(0.0);
        self.at = self.at.max(at);
        self.tokens = (self.tokens + dt * self.refill).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Tokens now (at the last time asked).
    pub fn tokens(&self) -> f64 {
        self.tokens
    }
}

/// The least time a bucket needs to serve `requests`: what its burst cannot serve, at its refill.
pub fn floor_secs(requests: u64, burst: f64, refill: f64) -> f64 {
    ((requests as f64 - burst).max(0.0)) / refill
}

/// AWS's bucket for an action: its category's name, burst and refill per second.
///
/// - ECS (`ecs`): the published categories, "Request throttling for the Amazon ECS API".
/// - RDS (`rds`): 300 burst, 12/s for every call, "Amazon RDS API throttling".
/// - EC2 (`ec2`): per action, "Request throttling for the Amazon EC2 API" (filtered describes 100/20,
///   StopInstances 50/5, StartInstances 5/2, CreateTags/DeleteTags 100/10).
/// - Application Auto Scaling, Auto Scaling, ELBv2, Redshift, ElastiCache publish none:
///   **assumed** reads 50/10, writes 20/5.
pub fn category(service: &str, op: &str) -> Option<(&'static str, f64, f64)> {
    let read = op.starts_with("Describe") || op.starts_with("List") || op.starts_with("Get");
    Some(match service {
        "ecs" => match op {
            "ListClusters" | "DescribeClusters" => ("ecs cluster read", 50.0, 20.0),
            "ListServices" | "DescribeServices" => ("ecs service read", 100.0, 20.0),
            "UpdateService" | "CreateService" | "DeleteService" => {
                ("ecs service modify", 50.0, 5.0)
            }
            "TagResource" | "UntagResource" => ("ecs tag modify", 20.0, 10.0),
            "ListTagsForResource" => ("ecs tag read", 50.0, 20.0),
            "DescribeTaskDefinition" => ("ecs task definition read", 50.0, 20.0),
            "DescribeTasks" | "ListTasks" => ("ecs cluster resource read", 100.0, 20.0),
            _ => return None,
        },
        "rds" => ("rds", 300.0, 12.0),
        "ec2" => match op {
            "StartInstances" => ("ec2 StartInstances", 5.0, 2.0),
            "CreateTags" | "DeleteTags" => ("ec2 tags", 100.0, 10.0),
            _ if read => ("ec2 non-mutating", 100.0, 20.0),
            _ => ("ec2 mutating", 50.0, 5.0),
        },
        "application-autoscaling" if read => ("aas read", 50.0, 10.0),
        "application-autoscaling" => ("aas modify", 20.0, 5.0),
        "autoscaling" if read => ("autoscaling read", 50.0, 10.0),
        "autoscaling" => ("autoscaling modify", 20.0, 5.0),
        "elasticloadbalancing" if read => ("elbv2 read", 50.0, 10.0),
        "elasticloadbalancing" => ("elbv2 modify", 20.0, 5.0),
        "redshift" if read => ("redshift read", 50.0, 10.0),
        "redshift" => ("redshift modify", 20.0, 5.0),
        "elasticache" if read => ("elasticache read", 50.0, 10.0),
        "elasticache" => ("elasticache modify", 20.0, 5.0),
        _ => return None,
    })
}

/// What a category's bucket served and refused.
#[derive(Debug, Clone, Default)]
pub struct Served {
    pub burst: f64,
    pub refill: f64,
    /// Requests it let through.
    pub served: u64,
    /// Requests it refused (throttled).
    pub throttled: u64,
}

impl Served {
    /// The least time the served requests need at this bucket's rate after its burst.
    pub fn floor_secs(&self) -> f64 {
        floor_secs(self.served, self.burst, self.refill)
    }
}

struct RateModel {
    limits: Limits,
    start: std::time::Instant,
    /// By (account key, region, category).
    buckets: std::collections::HashMap<(String, String, &'static str), TokenBucket>,
    /// By (account key, region, category), as the buckets.
    served: BTreeMap<(String, String, &'static str), Served>,
    throttled: BTreeMap<String, u64>,
}

impl RateModel {
    fn new(limits: Limits) -> RateModel {
        RateModel {
            limits,
            start: std::time::Instant::now(),
            buckets: Default::default(),
            served: BTreeMap::new(),
            throttled: BTreeMap::new(),
        }
    }

    /// Whether the request may go on (a token spent), else it is throttled.
    fn admit(&mut self, account: &str, region: &str, service: &str, op: &str) -> bool {
        let Some((name, burst, refill)) = category(service, op) else {
            return true;
        };
        let (burst, refill) = (
            (burst * self.limits.scale).max(1.0),
            refill * self.limits.scale * (1.0 - self.limits.background).max(0.0),
        );
        let at = self.start.elapsed().as_secs_f64();
        let ok = self
            .buckets
            .entry((account.to_string(), region.to_string(), name))
            .or_insert_with(|| TokenBucket::new(burst, refill, at))
            .try_take(at);
        let s = self
            .served
            .entry((account.to_string(), region.to_string(), name))
            .or_insert_with(|| Served {
                burst,
                refill,
                ..Served::default()
            });
        if ok {
            s.served += 1;
        } else {
            s.throttled += 1;
            *self.throttled.entry(op.to_string()).or_default() += 1;
        }
        ok
    }
}

/// The signing service and region of a request (from its SigV4 credential scope), and the key
/// that tells accounts apart (its access key id).
fn scope(headers: &HeaderMap) -> (String, String, String) {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let cred = auth
        .split("Credential=")
        .nth(1)
        .and_then(|c| c.split(',').next())
        .unwrap_or("");
    let mut parts = cred.split('/');
    let key = parts.next().unwrap_or("").to_string();
    let _date = parts.next();
    let region = parts.next().unwrap_or("").to_string();
    let service = parts.next().unwrap_or("").to_string();
    (key, region, service)
}

/// A running proxy.
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`: point the SDK here.
    pub endpoint: String,
    state: Arc<State>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` on a free loopback port; `seed` makes the shares repeatable.
    pub async fn start(upstream: &str, seed: u64) -> FaultProxy {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .new_agent();
        let state = Arc::new(State {
            upstream: upstream.trim_end_matches('/').to_string(),
            rules: Mutex::new(Vec::new()),
            injected: Mutex::new(BTreeMap::new()),
            seed: Mutex::new(seed.max(1)),
            agent,
            release: tokio::sync::watch::Sender::new(false),
            held: std::sync::atomic::AtomicUsize::new(0),
            holding: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
            forwarded_after_hold: Arc::new(Mutex::new(Vec::new())),
            limits: Mutex::new(None),
            connections: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let connections = state.connections.clone();
        let listener = axum::serve::ListenerExt::tap_io(listener, move |_io| {
            connections.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        FaultProxy { endpoint, state }
    }

    /// Adds a rule (rules are tried in order; the first that applies wins).
    pub fn add(&self, rule: Rule) {
        self.state.rules.lock().unwrap().push(rule);
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.state.rules.lock().unwrap().clear();
    }

    /// Requests held so far.
    pub fn held(&self) -> usize {
        self.state.held.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Held requests still waiting with their client connected: a client that gives up (closes
    /// the connection) takes its request out of this count.
    pub fn holding(&self) -> usize {
        self.state.holding.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Lets every held request (and every later one a `Hold` rule matches) go on.
    pub fn release(&self) {
        self.state.release.send_replace(true);
    }

    /// Held requests that were forwarded after their release (their client was still waiting),
    /// by operation.
    pub fn forwarded_after_hold(&self) -> Vec<String> {
        self.state.forwarded_after_hold.lock().unwrap().clone()
    }

    /// Throttles like AWS from now on, with full buckets (see [`category`]).
    pub fn limit(&self, limits: Limits) {
        *self.state.limits.lock().unwrap() = Some(RateModel::new(limits));
    }

    /// Full buckets again and the counts at zero (a pass that starts long after the last one),
    /// keeping the limits.
    pub fn refill(&self) {
        let mut model = self.state.limits.lock().unwrap();
        if let Some(m) = model.as_mut() {
            *m = RateModel::new(m.limits);
        }
        self.state
            .connections
            .store(0, std::sync::atomic::Ordering::SeqCst);
    }

    /// What each category's buckets served and refused since [`FaultProxy::limit`] or
    /// [`FaultProxy::refill`], summed over accounts and regions.
    pub fn served(&self) -> BTreeMap<&'static str, Served> {
        let mut out: BTreeMap<&'static str, Served> = BTreeMap::new();
        for ((_, _, name), s) in self.served_by_scope() {
            let e = out.entry(name).or_insert_with(|| Served {
                burst: s.burst,
                refill: s.refill,
                ..Served::default()
            });
            e.served += s.served;
            e.throttled += s.throttled;
        }
        out
    }

    /// What each bucket served and refused, by (access key, region, category).
    pub fn served_by_scope(&self) -> BTreeMap<(String, String, &'static str), Served> {
        self.state
            .limits
            .lock()
            .unwrap()
            .as_ref()
            .map(|m| m.served.clone())
            .unwrap_or_default()
    }

    /// Each scope's floor (by `access key|region`): its slowest bucket's requests beyond its
    /// burst at its refill, with that bucket's category.
    pub fn floors(&self) -> BTreeMap<String, (Duration, &'static str)> {
        let mut out: BTreeMap<String, (Duration, &'static str)> = BTreeMap::new();
        for ((key, region, name), s) in self.served_by_scope() {
            let f = Duration::from_secs_f64(s.floor_secs());
            let e = out
                .entry(format!("{key}|{region}"))
                .or_insert((Duration::ZERO, name));
            if f > e.0 {
                *e = (f, name);
            }
        }
        out
    }

    /// Requests the rate model throttled, by operation.
    pub fn throttled(&self) -> BTreeMap<String, u64> {
        self.state
            .limits
            .lock()
            .unwrap()
            .as_ref()
            .map(|m| m.throttled.clone())
            .unwrap_or_default()
    }

    /// The least wall time the buckets allow for what they served: each scope's (account key
    /// and region's) slowest bucket's requests beyond its burst, at its refill; the scopes
    /// have their own buckets and are served in parallel, so the slowest scope's.
    pub fn floor(&self) -> Duration {
        self.floors()
            .values()
            .map(|(f, _)| *f)
            .max()
            .unwrap_or_default()
    }

    /// TCP connections accepted (since start or [`FaultProxy::refill`]).
    pub fn connections(&self) -> usize {
        self.state
            .connections
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Faults injected so far, by operation.
    pub fn injected(&self) -> BTreeMap<String, usize> {
        self.state.injected.lock().unwrap().clone()
    }
}

/// The operation of a request: `X-Amz-Target`'s suffix (JSON protocols) or `Action=` (query).
fn operation(headers: &HeaderMap, body: &[u8]) -> (String, bool) {
    if let Some(t) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        return (t.rsplit('.').next().unwrap_or(t).to_string(), true);
    }
    let text = String::from_utf8_lossy(body);
    let op = text
        .split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .unwrap_or("?")
        .to_string();
    (op, false)
}

fn error_response(json: bool, status: u16, code: &str, message: &str) -> Response {
    let (ct, body) = if json {
        (
            "application/x-amz-json-1.1",
            format!("{{\"__type\":\"{code}\",\"message\":\"{message}\"}}"),
        )
    } else {
        (
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>"
            ),
        )
    };
    Response::builder()
        .status(status)
        .header("content-type", ct)
        .header("x-amzn-errortype", code)
        .body(Body::from(body))
        .unwrap()
}

/// AWS's throttling answer in the service's protocol: awsJson `ThrottlingException` 400 (ECS,
/// Application Auto Scaling), EC2's `RequestLimitExceeded` 503, awsQuery `Throttling` 400 (RDS,
/// Auto Scaling, ELBv2, Redshift, ElastiCache).
fn throttle_response(service: &str, json: bool) -> Response {
    if json {
        return error_response(true, 400, "ThrottlingException", "Rate exceeded");
    }
    if service == "ec2" {
        return Response::builder()
            .status(503)
            .header("content-type", "text/xml")
            .body(Body::from(
                "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>rate-model</RequestID></Response>",
            ))
            .unwrap();
    }
    let ns = match service {
        "rds" => "http://rds.amazonaws.com/doc/2014-10-31/",
        "autoscaling" => "http://autoscaling.amazonaws.com/doc/2011-01-01/",
        _ => "https://aws.amazon.com/",
    };
    Response::builder()
        .status(400)
        .header("content-type", "text/xml")
        .body(Body::from(format!(
            "<ErrorResponse xmlns=\"{ns}\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>rate-model</RequestId></ErrorResponse>"
        )))
        .unwrap()
}

async fn handle(
    axum::extract::State(state): axum::extract::State<Arc<State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (op, json) = operation(&headers, &body);
    let fault = {
        let mut rules = state.rules.lock().unwrap();
        let text = String::from_utf8_lossy(&body);
        let mut chosen = None;
        for rule in rules.iter_mut() {
            let matches = (rule.operation == "*" || rule.operation == op)
                && rule
                    .target
                    .as_ref()
                    .is_none_or(|t| text.contains(t.as_str()))
                && rule.times != Some(0);
            if !matches {
                continue;
            }
            // xorshift64: repeatable for a seed.
            let mut seed = state.seed.lock().unwrap();
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            let roll = (*seed % 10_000) as f64 / 10_000.0;
            if roll < rule.share {
                if let Some(n) = rule.times.as_mut() {
                    *n -= 1;
                }
                chosen = Some(rule.fault.clone());
                break;
            }
        }
        chosen
    };
    if let Some(f) = &fault
        && !matches!(f, Fault::Delay(_))
    {
        *state
            .injected
            .lock()
            .unwrap()
            .entry(op.clone())
            .or_default() += 1;
    }
    match fault {
        Some(Fault::Throttle) => {
            return if json {
                error_response(true, 400, "ThrottlingException", "Rate exceeded")
            } else {
                error_response(false, 400, "Throttling", "Rate exceeded")
            };
        }
        Some(Fault::Error(status, code)) => {
            return error_response(json, status, code, "injected by the fault proxy");
        }
        Some(Fault::ServiceUnavailable) => {
            return Response::builder()
                .status(StatusCode::SERVICE_UNAVAILABLE)
                .body(Body::from("upstream unavailable"))
                .unwrap();
        }
        Some(Fault::Drop) => {
            let stream = futures_util::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::other(
                    "connection cut by the fault proxy",
                ))
            });
            return Response::builder()
                .status(200)
                .header("content-length", "1000")
                .body(Body::from_stream(stream))
                .unwrap();
        }
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        Some(Fault::Hold) => {
            state.held.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            /// Takes the request out of `holding` when the handler ends or is dropped.
            struct Holding(Arc<std::sync::atomic::AtomicUsize>);
            impl Drop for Holding {
                fn drop(&mut self) {
                    self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                }
            }
            state
                .holding
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _holding = Holding(state.holding.clone());
            let mut released = state.release.subscribe();
            // If the client gives up meanwhile, the server drops this future here: the request
            // is never forwarded.
            let _ = released.wait_for(|r| *r).await;
            state.forwarded_after_hold.lock().unwrap().push(op.clone());
        }
        None => {}
    }
    let admitted = {
        let mut model = state.limits.lock().unwrap();
        match model.as_mut() {
            None => true,
            Some(m) => {
                let (account, region, service) = scope(&headers);
                m.admit(&account, &region, &service, &op)
            }
        }
    };
    if !admitted {
        return throttle_response(&scope(&headers).2, json);
    }
    forward(state, method, uri, headers, body).await
}

async fn forward(
    state: Arc<State>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let url = format!(
        "{}{}",
        state.upstream,
        uri.path_and_query().map_or("/", |p| p.as_str())
    );
    tokio::task::spawn_blocking(move || {
        let mut req = ureq::http::Request::builder()
            .method(method.as_str())
            .uri(&url);
        for (k, v) in &headers {
            if k != "host" && k != "content-length" {
                req = req.header(k.as_str(), v.as_bytes());
            }
        }
        let resp = match state.agent.run(req.body(body.to_vec()).unwrap()) {
            Ok(r) => r,
            Err(e) => {
                return Response::builder()
                    .status(502)
                    .body(Body::from(format!("proxy: {e}")))
                    .unwrap();
            }
        };
        let mut out = Response::builder().status(resp.status().as_u16());
        for (k, v) in resp.headers() {
            if k != "content-length" && k != "transfer-encoding" && k != "connection" {
                out = out.header(k.as_str(), v.as_bytes());
            }
        }
        let bytes = resp.into_body().read_to_vec().unwrap_or_default();
        out.body(Body::from(bytes)).unwrap()
    })
    .await
    .unwrap()
}
