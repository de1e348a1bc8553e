//! The Lambda form run as Lambda runs it: `cargo lambda watch --only-lambda-apis` (PyPI
//! `cargo-lambda`, installed into target/venv by `.ci/python-env lambda`) emulates the Lambda
//! runtime API and Function URLs, and the built `lightsout` binary, started with no argument and
//! `AWS_LAMBDA_RUNTIME_API` set exactly as provided.al2023 starts `bootstrap`, serves the
//! invocations against moto with its store in DynamoDB: a scheduled reconcile puts staging to
//! sleep, a digest event sends the digest, a Function URL wake answers 202 and starts the
//! databases, and the next scheduled reconcile brings the services back.

use crate::support;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Moto, REGION, STAGING, db_status, http, service_state};

const TOKEN: &str = "lambda-emulator-token-0123456789";
const TABLE: &str = "lightsout-lambda";

/// `LIGHTSOUT_CARGO_LAMBDA`, else the venv's `cargo-lambda`, else `cargo-lambda` on PATH.
fn cargo_lambda() -> PathBuf {
    if let Some(p) = std::env::var_os("LIGHTSOUT_CARGO_LAMBDA").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/venv/bin/cargo-lambda");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("cargo-lambda")
    }
}

/// A child process killed when dropped; its output goes to a file shown when the test fails.
struct Proc {
    child: Child,
    log: PathBuf,
}

impl Proc {
    fn start(mut command: Command, log: PathBuf) -> Proc {
        let out = std::fs::File::create(&log).expect("log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("start {command:?}: {e}"));
        Proc { child, log }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Invokes the function through the emulator's Invoke API: status and answer.
fn invoke(port: u16, event: &Value) -> (u16, Value) {
    let url = format!("http://127.0.0.1:{port}/2015-03-31/functions/_/invocations");
    let (status, body) = http("POST", &url, "", &event.to_string());
    let answer = serde_json::from_str(&body).unwrap_or_else(|_| json!({ "raw": body }));
    (status, answer)
}

#[test]
fn the_lambda_binary_under_the_runtime_emulator_reconciles_digests_and_wakes() {
    let cl = cargo_lambda();
    let version = Command::new(&cl).args(["lambda", "--version"]).output();
    assert!(
        version.as_ref().is_ok_and(|o| o.status.success()),
        "needs cargo-lambda (the Lambda runtime emulator, `{}`): run .ci/python-env lambda \
         (installs PyPI cargo-lambda into target/venv), or .ci/run; or set LIGHTSOUT_CARGO_LAMBDA. \
         ({version:?})",
        cl.display()
    );

    let moto = Moto::start();
    moto.seed();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sdk = rt.block_on(moto.sdk_config());
    let (ecs, rds) = (
        aws_sdk_ecs::Client::new(&sdk),
        aws_sdk_rds::Client::new(&sdk),
    );
    rt.block_on(lightsout::aws::DynamoStore::create_table(
        &aws_sdk_dynamodb::Client::new(&sdk),
        TABLE,
    ))
    .expect("create the DynamoDB table");

    // The reference environment with no awake window (it sleeps until woken), and a digest.
    let schedule = STAGING.replace("awake = [\"Mon-Fri 07:00-20:00\"]", "awake = []")
        + "\n[digest]\nchannels = [\"stdout\"]\n";
    assert!(schedule.contains("awake = []"));
    let dir = support::schedules(&schedule);
    let logs = tempfile::tempdir().unwrap();

    // The emulator: Lambda runtime API under /.rt, Invoke API, Function URLs under /lambda-url/_/.
    let port = free_port();
    let mut watch = Command::new(&cl);
    watch
        .args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1"])
        .args(["-P", &port.to_string()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1");
    let emulator = Proc::start(watch, logs.path().join("watch.log"));
    let up = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < up,
            "cargo lambda watch did not listen on {port} within 60 s:\n{}",
            emulator.output()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // The function: the binary the tests built, started as Lambda starts `bootstrap`.
    let mut function = Command::new(env!("CARGO_BIN_EXE_lightsout"));
    function
        .env(
            "AWS_LAMBDA_RUNTIME_API",
            format!("http://127.0.0.1:{port}/.rt"),
        )
        .env("AWS_LAMBDA_FUNCTION_NAME", "_")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "emulated")
        .env("LIGHTSOUT_STORE", format!("dynamodb:{TABLE}"))
        .env("LIGHTSOUT_SCHEDULES", dir.path())
        .env("LIGHTSOUT_TOKENS", format!("alice {TOKEN}"))
        .env("LIGHTSOUT_MAX_ATTEMPTS", "2")
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("NO_COLOR");
    let lambda = Proc::start(function, logs.path().join("lambda.log"));
    let context = |what: &str, answer: &Value| {
        format!(
            "{what}: {answer}\n--- function log:\n{}\n--- emulator log:\n{}",
            lambda.output(),
            emulator.output()
        )
    };

    // 1. The scheduled reconcile: staging is put to sleep, production is not touched.
    let event: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/events/scheduler-reconcile.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let (status, answer) = invoke(port, &event);
    assert_eq!(status, 200, "{}", context("reconcile", &answer));
    assert_eq!(
        answer["action"],
        "reconcile",
        "{}",
        context("reconcile", &answer)
    );
    assert_eq!(
        answer["environments"],
        1,
        "{}",
        context("reconcile", &answer)
    );
    assert!(
        answer["write_calls"].as_u64().is_some_and(|n| n > 0),
        "the pass made no write call: {}",
        context("reconcile", &answer)
    );
    assert_eq!(
        answer["failed"],
        json!([]),
        "{}",
        context("reconcile", &answer)
    );
    assert_eq!(
        answer["deferred"],
        json!([]),
        "{}",
        context("reconcile", &answer)
    );
    // cargo-lambda sends the relative `Lambda-Runtime-Deadline-Ms: 600000` rather than an epoch
    // instant; lightsout says so and acts within its fallback budget instead of doing nothing.
    if let Some(note) = answer.get("deadline_note") {
        assert!(
            note.as_str().unwrap().contains("not an epoch instant"),
            "{note}"
        );
    }
    rt.block_on(async {
        assert_eq!(
            service_state(&ecs, "app-staging-cluster", "backend")
                .await
                .0,
            0
        );
        assert_eq!(
            service_state(&ecs, "app-staging-cluster", "frontend")
                .await
                .0,
            0
        );
        assert_eq!(db_status(&rds, "app-staging-db").await, "stopped");
        assert_eq!(
            service_state(&ecs, "app-production-cluster", "api").await.0,
            3
        );
        assert_eq!(db_status(&rds, "app-production-db").await, "available");
    });

    // 2. The daily digest event: made and sent to stdout.
    let (status, answer) = invoke(port, &json!({ "action": "digest" }));
    assert_eq!(status, 200, "{}", context("digest", &answer));
    assert_eq!(answer["action"], "digest", "{}", context("digest", &answer));
    let report = &answer["reports"][0];
    assert_eq!(report["env"], "staging", "{}", context("digest", &answer));
    assert_eq!(
        report["sent"],
        json!([["stdout", { "Ok": null }]]),
        "{}",
        context("digest", &answer)
    );

    // 3. A wake through the Function URL: 202, and the pass after it starts the databases.
    let url = format!("http://127.0.0.1:{port}/lambda-url/_/v1/environments/staging/wake");
    let (status, body) = http(
        "POST",
        &url,
        TOKEN,
        r#"{"for": "1h", "reason": "lambda emulator test"}"#,
    );
    assert_eq!(status, 202, "{}", context("wake", &json!(body)));
    rt.block_on(async {
        assert_eq!(db_status(&rds, "app-staging-db").await, "available");
    });
    let (status, body) = http(
        "GET",
        &format!("http://127.0.0.1:{port}/lambda-url/_/v1/environments/staging"),
        TOKEN,
        "",
    );
    assert_eq!(status, 200, "{}", context("status", &json!(body)));
    assert!(
        body.contains("alice"),
        "{}",
        context("status", &json!(body))
    );

    // 4. The next scheduled reconcile restores the services from their tags.
    let (status, answer) = invoke(port, &event);
    assert_eq!(status, 200, "{}", context("reconcile after wake", &answer));
    assert_eq!(
        answer["failed"],
        json!([]),
        "{}",
        context("reconcile after wake", &answer)
    );
    rt.block_on(async {
        assert_eq!(
            service_state(&ecs, "app-staging-cluster", "backend")
                .await
                .0,
            2
        );
        assert_eq!(
            service_state(&ecs, "app-staging-cluster", "frontend")
                .await
                .0,
            1
        );
        assert_eq!(
            service_state(&ecs, "app-production-cluster", "api").await.0,
            3
        );
    });
}
