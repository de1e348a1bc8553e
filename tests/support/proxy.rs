//! A fault-injecting HTTP proxy in front of moto: per operation (and optionally per target named
//! in the request body), answer with AWS throttling in the protocol's own error shape, a 5xx, a
//! connection cut mid-response, added latency, or hold the request until released — always, a
//! number of times, or for a share of requests. Everything else is forwarded to moto unchanged.
//!
//! A held request is forwarded when [`FaultProxy::release`] is called, unless its client has
//! given up by then (closed the connection): like a request stuck in a network, it then never
//! arrives. [`FaultProxy::forwarded_after_hold`] counts those that did arrive.

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
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
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
