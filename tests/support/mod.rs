//! Test support: a real `moto_server` per test on a free loopback port, with AWS's paging limits
//! made strict (`moto_strict.py`), seeded with the reference environment (`seed.py`), and the
//! request recorder to count API calls by operation.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecs::config::Credentials;

/// The region the reference environment lives in.
pub const REGION: &str = "eu-west-1";

/// A running moto server, killed when dropped.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    _dir: tempfile::TempDir,
}

fn support_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support")
}

/// The Python that runs moto and the seed scripts: `LIGHTSOUT_PYTHON` if set (`.ci/run` sets
/// it), else the project's venv `target/venv/bin/python3` (made by `.ci/python-env`) if it
/// exists, else `python3` on PATH.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("LIGHTSOUT_PYTHON").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/venv/bin/python3");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

impl Moto {
    /// Starts moto on a free port and waits until it answers.
    pub fn start() -> Moto {
        let dir = tempfile::tempdir().expect("temp dir");
        for _attempt in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            let child = Command::new(python())
                .arg(support_dir().join("moto_strict.py"))
                .arg(port.to_string())
                .env("MOTO_RECORDER_FILEPATH", dir.path().join("recording.jsonl"))
                .current_dir(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    let py = python();
                    panic!(
                        "{}: {e}: run .ci/python-env (makes target/venv)",
                        py.display()
                    )
                });
            let mut moto = Moto {
                child,
                endpoint: format!("http://127.0.0.1:{port}"),
                _dir: tempfile::tempdir().expect("temp dir"),
            };
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if ureq::get(format!("{}/moto-api/", moto.endpoint))
                    .call()
                    .is_ok()
                {
                    moto._dir = dir;
                    return moto;
                }
                if let Ok(Some(_)) = moto.child.try_wait() {
                    break; // port taken or moto missing: try another port
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        panic!(
            "moto_server did not start: is `moto[server]` installed for {}? Run .ci/python-env (or .ci/run)",
            python().display()
        );
    }

    /// Seeds the reference environment (see `seed.py`).
    pub fn seed(&self) {
        let status = Command::new(python())
            .arg(support_dir().join("seed.py"))
            .arg(&self.endpoint)
            .arg(REGION)
            .stdout(Stdio::null())
            .status()
            .expect("run seed.py");
        assert!(status.success(), "seeding failed");
    }

    /// Queues Cost Explorer daily costs from the first of last month to the day before `today`
    /// (see `seed_costs.py`).
    pub fn seed_costs(&self, today: &str) {
        let status = Command::new(python())
            .arg(support_dir().join("seed_costs.py"))
            .args([self.endpoint.as_str(), today])
            .stdout(Stdio::null())
            .status()
            .expect("run seed_costs.py");
        assert!(status.success(), "seeding costs failed");
    }

    /// Seeds the reference environment in another account (through `role_arn`) and region.
    pub fn seed_account(&self, region: &str, role_arn: &str) {
        let status = Command::new(python())
            .arg(support_dir().join("seed.py"))
            .args([self.endpoint.as_str(), region, role_arn])
            .stdout(Stdio::null())
            .status()
            .expect("run seed.py");
        assert!(status.success(), "seeding {role_arn} failed");
    }

    /// Runs a Python snippet with `boto3` clients `ecs`, `aas`, `rds` bound to this moto.
    pub fn python(&self, code: &str) {
        let script = format!(
            "import boto3\nkw = dict(endpoint_url='{}', region_name='{REGION}', aws_access_key_id='t', aws_secret_access_key='t')\necs = boto3.client('ecs', **kw)\naas = boto3.client('application-autoscaling', **kw)\nrds = boto3.client('rds', **kw)\n{code}\n",
            self.endpoint
        );
        let status = Command::new(python())
            .arg("-c")
            .arg(script)
            .status()
            .expect("python3 (see .ci/python-env)");
        assert!(status.success(), "python snippet failed: {code}");
    }

    /// An SDK configuration pointing at this moto, retrying at most twice.
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .retry_config(RetryConfig::standard().with_max_attempts(2))
            .load()
            .await
    }

    /// An SDK configuration pointing at `endpoint` (a proxy in front of this moto), retrying
    /// `attempts` times with short backoffs. Standard rather than adaptive retry: adaptive's
    /// client-side rate limiter slows a 30%-throttled test run to minutes without changing what
    /// it proves (the same calls either succeed or fail).
    pub async fn sdk_config_via(&self, endpoint: &str, attempts: u32) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(attempts)
                    .with_initial_backoff(Duration::from_millis(5)),
            )
            .load()
            .await
    }

    /// Starts recording requests (after seeding, so only lightsout's calls count).
    pub fn start_recording(&self) {
        ureq::post(format!(
            "{}/moto-api/recorder/reset-recording",
            self.endpoint
        ))
        .send_empty()
        .expect("reset recording");
        ureq::post(format!(
            "{}/moto-api/recorder/start-recording",
            self.endpoint
        ))
        .send_empty()
        .expect("start recording");
    }

    /// The operations recorded since [`Moto::start_recording`], in order.
    pub fn recorded_operations(&self) -> Vec<String> {
        let mut body = String::new();
        ureq::get(format!(
            "{}/moto-api/recorder/download-recording",
            self.endpoint
        ))
        .call()
        .expect("download recording")
        .into_body()
        .into_reader()
        .read_to_string(&mut body)
        .expect("recording text");
        body.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("recording line");
                let target = v["headers"].as_object().and_then(|h| {
                    h.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-target"))
                        .and_then(|(_, v)| v.as_str())
                });
                match target {
                    Some(t) => t.rsplit('.').next().unwrap_or(t).to_string(),
                    None => request_body(&v)
                        .split('&')
                        .find_map(|kv| kv.strip_prefix("Action="))
                        .unwrap_or("?")
                        .to_string(),
                }
            })
            .collect()
    }

    /// Recorded operations counted by name.
    pub fn recorded_counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for op in self.recorded_operations() {
            *counts.entry(op).or_default() += 1;
        }
        counts
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A recorded request's body as text (moto stores it base64-encoded when `body_encoded`).
fn request_body(v: &serde_json::Value) -> String {
    use base64::Engine as _;
    let raw = v["body"].as_str().unwrap_or("");
    if v["body_encoded"].as_bool() == Some(true) {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(raw)
            .unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        raw.to_string()
    }
}

/// Operations that change something.
pub fn is_write(op: &str) -> bool {
    !(op.starts_with("Describe") || op.starts_with("List") || op.starts_with("Get"))
}

/// The schedule used against the reference environment: every Team=app resource, so the
/// production ones are selected too and must be refused by the guard.
pub const STAGING: &str = r#"
name = "staging"
region = "eu-west-1"
timezone = "Europe/Berlin"
awake = ["Mon-Fri 07:00-20:00"]

[ecs]
services = ["app-staging-cluster/backend"]
[[ecs.select]]
clusters = ["app-staging-cluster", "app-production-cluster"]
tags = { Team = "app" }

[rds]
clusters = ["app-staging-aurora"]
[[rds.select]]
tags = { Team = "app" }
"#;

/// Writes `src` as `schedules/staging.toml` in a new temp dir.
pub fn schedules(src: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("staging.toml"), src).expect("write schedule");
    dir
}

/// `lightsout serve` in-process against a moto, on a free loopback port, with an injected clock.
pub struct Daemon {
    /// The running service.
    pub app: std::sync::Arc<lightsout::api::ApiState<lightsout::aws::AwsCloud>>,
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    /// Completed passes (wait on it instead of on the wall clock).
    pub passes: tokio::sync::watch::Receiver<u64>,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Daemon {
    /// Serves the `STAGING` schedule against `moto`, with one token for `alice`.
    pub async fn start(
        moto: &Moto,
        clock: std::sync::Arc<lightsout::clock::ManualClock>,
        token: &str,
        settle: Duration,
    ) -> Daemon {
        let store = std::sync::Arc::new(lightsout::store::SqliteStore::in_memory().unwrap());
        Daemon::start_with(moto, clock, token, settle, STAGING, store).await
    }

    /// Serves the schedule `src` (as `staging.toml`) against `moto` over `store`, with one token
    /// for `alice`.
    pub async fn start_with(
        moto: &Moto,
        clock: std::sync::Arc<lightsout::clock::ManualClock>,
        token: &str,
        settle: Duration,
        src: &str,
        store: std::sync::Arc<dyn lightsout::store::Store>,
    ) -> Daemon {
        use std::sync::Arc;
        let cfg = lightsout::model::Config {
            environments: vec![
                lightsout::config::parse_str(Path::new("staging.toml"), src).unwrap(),
            ],
        };
        let app = Arc::new(lightsout::api::ApiState::new(
            Arc::new(lightsout::service::Service::new(
                cfg,
                lightsout::aws::AwsCloud::new(moto.sdk_config().await),
                store,
                clock,
                "test".into(),
            )),
            lightsout::api::auth::Tokens::parse(&format!("alice {token}")).unwrap(),
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (passes_tx, passes) = tokio::sync::watch::channel(0u64);
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let pace = lightsout::daemon::Pace {
            cadence: chrono::TimeDelta::hours(1),
            settle,
            pass_timeout: Duration::from_secs(60),
        };
        let shutdown = async {
            let _ = stop_rx.await;
        };
        let server = tokio::spawn(lightsout::daemon::serve(
            app.clone(),
            listener,
            pace,
            shutdown,
            passes_tx,
        ));
        Daemon {
            app,
            addr,
            passes,
            stop,
            server,
        }
    }

    /// Shuts it down gracefully and checks it stopped cleanly.
    pub async fn stop(self) {
        self.stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(30), self.server)
            .await
            .expect("graceful shutdown")
            .unwrap()
            .unwrap();
    }
}
pub mod proxy;

/// A cloud with nothing in it, for tests about the layers above it (HTTP, Lambda events).
pub struct EmptyCloud;

impl lightsout::ports::Cloud for EmptyCloud {
    async fn observe(&self, _env: &lightsout::model::Environment) -> lightsout::kinds::Observation {
        lightsout::kinds::Observation::default()
    }
    async fn execute(
        &self,
        _env: &lightsout::model::Environment,
        _step: &lightsout::kinds::Step,
    ) -> Result<(), lightsout::ports::CloudError> {
        Ok(())
    }
}

/// The `lightsout` binary with `--schedules DIR`, talking to `moto` with test credentials.
pub fn lightsout(moto: &Moto, schedules: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lightsout"));
    c.arg("--schedules")
        .arg(schedules)
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing");
    c
}

/// An ECS service's Application Auto Scaling bounds (`service/CLUSTER/NAME`), read from the API.
pub async fn bounds(aas: &aws_sdk_applicationautoscaling::Client, resource_id: &str) -> (i32, i32) {
    let out = aas
        .describe_scalable_targets()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .resource_ids(resource_id)
        .send()
        .await
        .unwrap();
    let t = &out.scalable_targets()[0];
    (t.min_capacity(), t.max_capacity())
}

/// An RDS instance's status, read from the API.
pub async fn db_status(rds: &aws_sdk_rds::Client, id: &str) -> String {
    let out = rds
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
        .unwrap();
    out.db_instances()[0]
        .db_instance_status()
        .unwrap()
        .to_string()
}

/// A service's desired count and tags, read straight from the (emulated) API.
pub async fn service_state(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    name: &str,
) -> (i32, BTreeMap<String, String>) {
    let out = ecs
        .describe_services()
        .cluster(cluster)
        .services(name)
        .include(aws_sdk_ecs::types::ServiceField::Tags)
        .send()
        .await
        .unwrap();
    let s = &out.services()[0];
    let tags = s
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
        .collect();
    (s.desired_count(), tags)
}

/// A TCP listener on loopback that accepts every connection and never answers: an AWS endpoint
/// that hangs. Connections are held open until it is dropped.
pub struct Hanging {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Hanging {
    /// Starts listening.
    pub fn start() -> Hanging {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                match listener.accept() {
                    Ok((socket, _)) => held.push(socket),
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Hanging { endpoint, stop }
    }
}

impl Drop for Hanging {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// An SDK configuration with short timeouts (attempts of `attempt`, calls of `call`), so tests
/// of hung or held calls finish quickly.
pub async fn sdk_config_timeouts(
    endpoint: &str,
    attempts: u32,
    attempt: Duration,
    call: Duration,
) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(attempts)
                .with_initial_backoff(Duration::from_millis(5)),
        )
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(attempt)
                .operation_timeout(call)
                .build(),
        )
        .load()
        .await
}

/// `lightsout serve` as a process, stopped (SIGKILL) when dropped if still running.
pub struct Served {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Its standard error, line by line, as it comes.
    pub stderr: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Served {
    /// Starts `command` (a `serve` with `--listen 127.0.0.1:0`) and reads its address from the
    /// first line it prints.
    pub fn start(mut command: Command) -> Served {
        use std::io::BufRead;
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start lightsout serve");
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                sink.lock().unwrap().push(line);
            }
        });
        let mut first = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut first)
            .expect("serve prints its address");
        let url = first
            .split("on ")
            .nth(1)
            .unwrap_or_else(|| panic!("no address in {first:?}: {:?}", lines.lock().unwrap()))
            .trim()
            .trim_end_matches('/')
            .to_string();
        Served {
            child,
            url,
            stderr: lines,
        }
    }

    /// SIGTERM; returns how long it took to exit, and its exit status.
    pub fn terminate(&mut self, within: Duration) -> (Duration, std::process::ExitStatus) {
        let start = Instant::now();
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (start.elapsed(), status);
            }
            assert!(
                start.elapsed() < within,
                "still running {within:?} after SIGTERM; log: {:?}",
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A GET or POST with a bearer token: status and body.
pub fn http(method: &str, url: &str, token: &str, body: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let req = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .unwrap();
    let mut resp = agent.run(req).expect("request");
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().unwrap_or_default())
}

/// Runs `command` and kills it if it has not ended within `limit`: its output, and how long
/// it took.
pub fn run_within(mut command: Command, limit: Duration) -> (std::process::Output, Duration) {
    let start = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    loop {
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            return (out, start.elapsed());
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "still running after {limit:?}\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Who woke `staging`, newest first: the actors of the wake events in the store's audit trail.
pub async fn wake_actors(store: &dyn lightsout::store::Store) -> Vec<String> {
    store
        .audit(Some("staging"), 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| matches!(e.action, lightsout::model::Action::Wake { .. }))
        .map(|e| e.actor)
        .collect()
}
