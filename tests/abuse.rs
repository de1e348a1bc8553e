//! The bounded abuse suite (issue 14): `lightsout serve` — the binary these tests build, so
//! CI's debug profile — on loopback, attacked the ways that once held it or lost data: slowloris,
//! an idle flood under a lowered open-file limit, half-sent heads and bodies, SIGTERM under
//! attack, the store file removed, another writer on the store, a Slack request replayed after
//! a restart and to another copy, injection payloads, every rejection on the wire, odd schedule
//! files, secrets in the logs, the systemd unit's file limit.
//!
//! Each test is bounded (seconds), talks only to loopback (the AWS endpoint is a closed port:
//! passes fail fast and do not matter here), and prints its figures as `abuse: NAME = VALUE`
//! lines, also appended to `$CARGO_TARGET_TMPDIR/abuse-figures.txt`
//! (`cargo test --test suite abuse:: -- --nocapture` shows them). The tests take turns: figures such as
//! "time to close" should not measure another test's load.

use crate::support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use support::Served;

const TOKEN: &str = "abuse-token-0123456789";
const SLACK: &str = "abuse-slack-signing-secret";
const SCHEDULE: &str = "name = \"staging\"\nregion = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = []\n[rds]\ninstances = [\"db\"]\n";
/// The header and request timeouts the attacked daemons run with.
const TIMEOUT: Duration = Duration::from_secs(2);

/// One test at a time.
fn turn() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|p| p.into_inner())
}

/// Prints a figure and keeps it in `abuse-figures.txt` (started afresh by each run).
fn figure(name: &str, value: impl std::fmt::Display) {
    static FRESH: std::sync::Once = std::sync::Once::new();
    let line = format!("abuse: {name} = {value}");
    println!("{line}");
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("abuse-figures.txt");
    FRESH.call_once(|| {
        let _ = std::fs::remove_file(&path);
    });
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(f, "{line}");
    }
}

/// A schedules directory and a store path in a fresh temp dir.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("schedules")).unwrap();
    std::fs::write(dir.path().join("schedules/staging.toml"), SCHEDULE).unwrap();
    dir
}

/// `lightsout serve` on the store `dir/state.db`, with 2 s header and request timeouts, AWS on a
/// closed loopback port, and (when given) the open-file limit lowered to `nofile` first.
fn serve(dir: &Path, nofile: Option<u32>, extra: &[&str]) -> Served {
    let ulimit = nofile.map_or(String::new(), |n| format!("ulimit -n {n} && "));
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(format!("{ulimit}exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_lightsout"))
        .arg("--schedules")
        .arg(dir.join("schedules"))
        .args(["serve", "--listen", "127.0.0.1:0", "--store"])
        .arg(dir.join("state.db"))
        .args([
            "--header-timeout",
            "2s",
            "--request-timeout",
            "2s",
            "--shutdown-grace",
            "2s",
            "--max-attempts",
            "1",
            "--call-timeout",
            "2s",
            "--every",
            "1h",
            "--settle",
            "1h",
            "--rate-burst",
            "10000",
            "--rate-per-minute",
            "100000",
        ])
        .args(extra)
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("LIGHTSOUT_TOKENS", format!("alice {TOKEN}"))
        .env("LIGHTSOUT_SLACK_SIGNING_SECRET", SLACK)
        .env_remove("LIGHTSOUT_STORE")
        .env_remove("LIGHTSOUT_LOG");
    Served::start(c)
}

/// `127.0.0.1:PORT` of a served daemon.
fn addr(s: &Served) -> String {
    s.url.trim_start_matches("http://").to_string()
}

/// An answer read off the wire.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts the one error shape: the status, `application/json`, `{"error": "..."}`.
    fn assert_json_error(&self, status: u16, what: &str) {
        assert_eq!(self.status, status, "{what}: {self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{what}: {self:?}"
        );
        let v: serde_json::Value = serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {self:?}"));
        assert!(
            v["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{what}: {self:?}"
        );
    }
}

/// Parses one answer from the start of `raw`; `None` until it is complete.
fn parse(raw: &[u8]) -> Option<Answer> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let body = raw.get(end + 4..end + 4 + len)?;
    Some(Answer {
        status,
        headers,
        body: String::from_utf8_lossy(body).into_owned(),
    })
}

/// Reads one answer from `s` (at most `within`); `None` when the server closed without one.
fn read_answer(s: &mut TcpStream, within: Duration) -> Option<Answer> {
    let deadline = Instant::now() + within;
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(a) = parse(&raw) {
            return Some(a);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no answer within {within:?}: {raw:?}");
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return None,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return None,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("read: {e}"),
        }
    }
}

/// Sends `request` on a new connection and reads the answer.
fn exchange(addr: &str, request: &[u8]) -> Answer {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(request).unwrap();
    read_answer(&mut s, Duration::from_secs(10)).expect("an answer")
}

/// How long until the server closes `s` (reading and discarding), or `None` if it is still open
/// after `limit`.
fn closed_within(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(start.elapsed());
        if left.is_zero() {
            return None;
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return Some(start.elapsed()),
        }
    }
}

/// A GET on a new connection with a timeout: its status (0 when it failed) and how long it took.
fn get(url: &str, timeout: Duration) -> (u16, Duration) {
    let start = Instant::now();
    let status = agent(timeout)
        .get(url)
        .call()
        .map_or(0, |r| r.status().as_u16());
    (status, start.elapsed())
}

/// A wake with the token: its status.
fn wake(url: &str, reason: &str) -> u16 {
    support::http(
        "POST",
        &format!("{url}/v1/environments/staging/wake"),
        TOKEN,
        &serde_json::json!({"for": "1h", "reason": reason}).to_string(),
    )
    .0
}

/// An agent that gives up after `timeout`.
fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

/// A metric's value from `/metrics` (0 when absent or unanswered).
fn metric(url: &str, name: &str) -> u64 {
    let text = agent(Duration::from_secs(5))
        .get(format!("{url}/metrics"))
        .call()
        .map(|r| r.into_body().read_to_string().unwrap_or_default())
        .unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// The daemon's log so far.
fn log(s: &Served) -> String {
    s.stderr.lock().unwrap().join("\n")
}

/// A signed Slack slash command: the request bytes.
fn slack_request(user: &str, text: &str) -> Vec<u8> {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("command", "/staging")
        .append_pair("user_name", user)
        .append_pair("text", text)
        .finish();
    let ts = lightsout::clock::Clock::now(&lightsout::clock::SystemClock)
        .timestamp()
        .to_string();
    let sig = lightsout::api::slack::SlackVerifier::new(SLACK).sign(&ts, body.as_bytes());
    format!(
        "POST /v1/slack/command HTTP/1.1\r\nHost: l\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Slack-Request-Timestamp: {ts}\r\nX-Slack-Signature: {sig}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// 300 idle connections against a daemon whose open-file limit is 256: it holds what fits
/// (closing the connections idle the longest to make room) and `/healthz` keeps answering;
/// no "Too many open files"; SIGTERM with the flood still open exits promptly.
#[test]
fn idle_flood_under_a_low_file_limit_leaves_healthz_answering() {
    let _turn = turn();
    let dir = workdir();
    let mut d = serve(dir.path(), Some(256), &[]);
    let flood: Vec<TcpStream> = (0..300)
        .map(|_| TcpStream::connect(addr(&d)).unwrap())
        .collect();
    let mut worst = Duration::ZERO;
    let mut failed = 0;
    for _ in 0..20 {
        let (status, took) = get(&format!("{}/healthz", d.url), Duration::from_secs(5));
        worst = worst.max(took);
        if status != 200 {
            failed += 1;
        }
    }
    let peak = metric(&d.url, "lightsout_http_connections_peak");
    let evicted = metric(&d.url, "lightsout_http_connections_evicted_total");
    let cap = metric(&d.url, "lightsout_http_connections_max");
    figure("idle flood: connections opened", flood.len());
    figure("idle flood: connection cap under ulimit -n 256", cap);
    figure("idle flood: connections held at once (peak)", peak);
    figure("idle flood: idle connections closed to make room", evicted);
    figure(
        "idle flood: /healthz answered of 20",
        format!("{}", 20 - failed),
    );
    figure(
        "idle flood: slowest /healthz",
        format!("{} ms", worst.as_millis()),
    );
    assert_eq!(
        failed,
        0,
        "healthz failed under the flood; log: {}",
        log(&d)
    );
    assert!(cap > 0 && cap <= 256 - 64, "cap {cap}");
    assert!(peak <= cap + 1, "held {peak} > cap {cap}");
    assert!(evicted > 0, "made room by closing idle connections");
    assert!(!log(&d).contains("Too many open files"), "{}", log(&d));
    let (took, status) = d.terminate(Duration::from_secs(10));
    figure(
        "idle flood: exit after SIGTERM with the flood open",
        format!("{} ms", took.as_millis()),
    );
    assert!(status.success(), "{status:?}: {}", log(&d));
    drop(flood);
}

/// 40 slowloris connections (a byte every second, never finishing the head) are closed at the
/// header timeout (2 s here), not held.
#[test]
fn slowloris_is_closed_at_the_header_timeout() {
    let _turn = turn();
    let dir = workdir();
    let d = serve(dir.path(), None, &[]);
    let target = addr(&d);
    let attackers: Vec<_> = (0..40)
        .map(|_| {
            let target = target.clone();
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(&target).unwrap();
                let start = Instant::now();
                if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: l\r\nX-Slow: ")
                    .is_err()
                {
                    return Some(start.elapsed());
                }
                // A byte a second, for at most 12 s; each wait is also the look for a close.
                while start.elapsed() < Duration::from_secs(12) {
                    if closed_within(&mut s, Duration::from_secs(1)).is_some() {
                        return Some(start.elapsed());
                    }
                    if s.write_all(b"a").is_err() {
                        return Some(start.elapsed());
                    }
                }
                None
            })
        })
        .collect();
    let closed: Vec<Option<Duration>> = attackers.into_iter().map(|a| a.join().unwrap()).collect();
    let held = closed.iter().filter(|c| c.is_none()).count();
    let mut times: Vec<Duration> = closed.iter().flatten().copied().collect();
    times.sort();
    figure("slowloris: connections", closed.len());
    figure("slowloris: still held after 12 s", held);
    if let (Some(first), Some(last)) = (times.first(), times.last()) {
        figure(
            "slowloris: time to close (first, last)",
            format!("{} ms, {} ms", first.as_millis(), last.as_millis()),
        );
    }
    assert_eq!(held, 0, "slowloris connections held");
    assert!(
        times
            .last()
            .is_some_and(|t| *t < TIMEOUT + Duration::from_secs(3)),
        "{times:?}"
    );
    let (status, _) = get(&format!("{}/healthz", d.url), Duration::from_secs(5));
    assert_eq!(status, 200);
}

/// Half-sent requests: a declared body from a client without a token is refused at once (401,
/// connection closed); an authenticated body that stops is cut at the request timeout (408); half
/// a head is closed at the header timeout.
#[test]
fn half_sent_requests_are_refused_or_cut_in_bounded_time() {
    let _turn = turn();
    let dir = workdir();
    let d = serve(dir.path(), None, &[]);
    let target = addr(&d);

    let mut s = TcpStream::connect(&target).unwrap();
    let start = Instant::now();
    s.write_all(b"POST /v1/environments/staging/wake HTTP/1.1\r\nHost: l\r\nContent-Type: application/json\r\nContent-Length: 20000\r\n\r\n")
        .unwrap();
    let a = read_answer(&mut s, Duration::from_secs(5)).expect("an answer");
    let answered = start.elapsed();
    a.assert_json_error(401, "unauthenticated declared body");
    let closed = closed_within(&mut s, Duration::from_secs(5));
    figure(
        "half-sent: unauthenticated 20000-byte body, answered (401)",
        format!("{} ms", answered.as_millis()),
    );
    figure(
        "half-sent: ... and closed after",
        format!("{:?}", closed.map(|c| c.as_millis())),
    );
    // Not waited for: a server reading the body first would answer 408 at the request timeout.
    assert!(answered < TIMEOUT, "{answered:?}");
    assert!(closed.is_some(), "connection left open");

    let mut s = TcpStream::connect(&target).unwrap();
    let start = Instant::now();
    s.write_all(format!("POST /v1/environments/staging/wake HTTP/1.1\r\nHost: l\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"for\": \"1h\"").as_bytes())
        .unwrap();
    let a = read_answer(&mut s, Duration::from_secs(10)).expect("an answer");
    let cut = start.elapsed();
    a.assert_json_error(408, "stalled authenticated body");
    figure(
        "half-sent: authenticated body stalled, cut (408) after",
        format!("{} ms", cut.as_millis()),
    );
    assert!(
        cut >= TIMEOUT && cut < TIMEOUT + Duration::from_secs(2),
        "{cut:?}"
    );
    assert!(closed_within(&mut s, Duration::from_secs(5)).is_some());

    let mut s = TcpStream::connect(&target).unwrap();
    let start = Instant::now();
    s.write_all(format!("POST /v1/environments/staging/wake HTTP/1.1\r\nHost: l\r\nAuthorization: Bearer {TOKEN}\r\n").as_bytes())
        .unwrap();
    let closed = closed_within(&mut s, Duration::from_secs(10));
    figure(
        "half-sent: half a head, closed after",
        format!("{:?} ms", closed.map(|c| c.as_millis())),
    );
    assert!(
        closed.is_some_and(|c| c < TIMEOUT + Duration::from_secs(2)),
        "{:?}",
        start.elapsed()
    );
    assert!(
        agent(Duration::from_secs(10))
            .get(format!("{}/v1/environments/staging", d.url))
            .header("Authorization", &format!("Bearer {TOKEN}"))
            .call()
            .unwrap()
            .into_body()
            .read_to_string()
            .unwrap()
            .contains("\"override\":null"),
        "no half-sent wake was acted on"
    );
}

/// SIGTERM while slowloris, half-sent bodies and idle connections hold the daemon: it closes
/// them at once and exits promptly.
#[test]
fn sigterm_under_attack_exits_promptly() {
    let _turn = turn();
    let dir = workdir();
    let mut d = serve(dir.path(), None, &[]);
    let target = addr(&d);
    let mut held = Vec::new();
    for i in 0..90 {
        let mut s = TcpStream::connect(&target).unwrap();
        match i % 3 {
            0 => s.write_all(b"GET /healthz HTTP/1.1\r\nHost: l\r\nX-Slow: a").unwrap(),
            1 => s
                .write_all(format!("POST /v1/environments/staging/wake HTTP/1.1\r\nHost: l\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{").as_bytes())
                .unwrap(),
            _ => {}
        }
        held.push(s);
    }
    // The half-sent bodies are in the server's hands once it has begun reading them: a request
    // that got in line behind them answers only after they are all accepted.
    let (status, _) = get(&format!("{}/healthz", d.url), Duration::from_secs(5));
    assert_eq!(status, 200);
    let (took, status) = d.terminate(Duration::from_secs(15));
    figure(
        "SIGTERM under attack (30 slowloris, 30 half-sent bodies, 30 idle): exit after",
        format!("{} ms", took.as_millis()),
    );
    assert!(status.success(), "{status:?}: {}", log(&d));
    assert!(took < Duration::from_secs(3), "{took:?}");
    let mut closed = 0;
    for s in &mut held {
        if closed_within(s, Duration::from_secs(2)).is_some() {
            closed += 1;
        }
    }
    figure("SIGTERM under attack: connections closed", closed);
    assert_eq!(closed, held.len());
}

/// A client that pipelines requests and never reads the answers is dropped once a write has
/// made no progress for the request timeout, instead of holding its connection forever.
#[test]
fn a_client_that_never_reads_its_answers_is_dropped() {
    let _turn = turn();
    let dir = workdir();
    let d = serve(dir.path(), None, &[]);
    let before = metric(&d.url, "lightsout_http_connections");
    let mut s = TcpStream::connect(addr(&d)).unwrap();
    s.set_write_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let page = b"GET / HTTP/1.1\r\nHost: l\r\n\r\n";
    let start = Instant::now();
    // Pipelined page requests (10 KB answers each) until the server stops taking them: its
    // answers have filled both sockets' buffers.
    let mut sent = 0;
    while start.elapsed() < Duration::from_secs(20) && s.write_all(page).is_ok() {
        sent += 1;
    }
    let blocked = start.elapsed();
    let mut dropped = None;
    while start.elapsed() < blocked + TIMEOUT + Duration::from_secs(5) {
        if metric(&d.url, "lightsout_http_connections") <= before {
            dropped = Some(start.elapsed() - blocked);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    figure(
        "slow reader: pipelined requests sent before the server stopped reading",
        sent,
    );
    figure(
        "slow reader: dropped after the writes stalled",
        format!("{:?} ms", dropped.map(|d| d.as_millis())),
    );
    assert!(dropped.is_some(), "connection still held");
}

/// With every held connection busy (here the cap is 4, held by authenticated bodies still
/// arriving), a new connection gets a JSON 503 at once rather than waiting in the queue.
#[test]
fn past_the_cap_with_every_connection_busy_a_new_one_gets_503() {
    let _turn = turn();
    let dir = workdir();
    let d = serve(dir.path(), None, &["--max-connections", "4"]);
    let target = addr(&d);
    let start_busy = || {
        let mut s = TcpStream::connect(&target).unwrap();
        s.write_all(format!("POST /v1/environments/staging/wake HTTP/1.1\r\nHost: l\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{").as_bytes())
            .unwrap();
        s
    };
    let mut busy: Vec<TcpStream> = (0..4).map(|_| start_busy()).collect();
    // Bounded polling: a probe that comes before the server has read a busy connection's head
    // finds that one idle and closes it to make room; each round adds a busy one back, until
    // all four held connections are busy and the probe is refused.
    let start = Instant::now();
    let mut a = None;
    while start.elapsed() < TIMEOUT {
        let answer = exchange(
            &target,
            b"GET /healthz HTTP/1.1\r\nHost: l\r\nConnection: close\r\n\r\n",
        );
        if answer.status == 503 {
            a = Some(answer);
            break;
        }
        busy.push(start_busy());
    }
    let a = a.expect("a 503 while every connection is busy");
    a.assert_json_error(503, "over the cap");
    assert_eq!(a.header("retry-after"), Some("1"));
    figure(
        "cap of 4, all busy: a new connection gets",
        format!("{} {}", a.status, a.body),
    );
    drop(busy);
}

/// The store file removed under the running daemon: wakes answer 503 (never a 202 the next
/// restart loses), `/healthz` says the store is unhealthy, and the log says why, once, at ERROR.
#[test]
fn store_removed_under_the_daemon_refuses_wakes_and_says_so() {
    let _turn = turn();
    let dir = workdir();
    let d = serve(dir.path(), None, &[]);
    assert_eq!(wake(&d.url, "before"), 202);
    std::fs::remove_file(dir.path().join("state.db")).unwrap();
    let after: Vec<u16> = (0..5)
        .map(|i| wake(&d.url, &format!("after {i}")))
        .collect();
    let accepted = after.iter().filter(|s| **s == 202).count();
    figure(
        "store removed: wakes answered 202 after the removal",
        accepted,
    );
    figure("store removed: their statuses", format!("{after:?}"));
    assert_eq!(after, [503; 5]);
    let h = exchange(
        &addr(&d),
        b"GET /healthz HTTP/1.1\r\nHost: l\r\nConnection: close\r\n\r\n",
    );
    h.assert_json_error(503, "healthz");
    assert!(h.body.contains("state.db"), "{h:?}");
    figure(
        "store removed: /healthz",
        format!("{} {}", h.status, h.body),
    );
    let log = log(&d);
    let errors = log
        .lines()
        .filter(|l| l.contains("ERROR") && l.contains("removed"))
        .count();
    assert!(errors >= 1, "{log}");
}

/// 200 wakes while another process writes to the same SQLite file every 100 ms: every one is
/// answered 202 and every one is in the audit trail afterwards.
#[test]
fn wakes_under_store_contention_are_all_kept() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let _turn = turn();
    let dir = workdir();
    let mut d = serve(dir.path(), None, &[]);
    let stop = Arc::new(AtomicBool::new(false));
    let other = {
        let (path, stop) = (dir.path().join("state.db"), stop.clone());
        std::thread::spawn(move || {
            let conn = rusqlite::Connection::open(path).unwrap();
            conn.busy_timeout(Duration::from_secs(5)).unwrap();
            let mut writes = 0;
            while !stop.load(Ordering::Relaxed) {
                conn.execute_batch(
                    "BEGIN IMMEDIATE; INSERT INTO cache (key, value, expires) VALUES ('other', 'x', 'z')
                     ON CONFLICT (key) DO UPDATE SET value = 'y';",
                )
                .unwrap();
                std::thread::sleep(Duration::from_millis(30));
                conn.execute_batch("COMMIT").unwrap();
                writes += 1;
                std::thread::sleep(Duration::from_millis(70));
            }
            writes
        })
    };
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for i in 0..200 {
        *statuses
            .entry(wake(&d.url, &format!("contention {i}")))
            .or_default() += 1;
        // Paced so the 200 wakes meet the other writer's lock some 20 times.
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, Ordering::Relaxed);
    let writes = other.join().unwrap();
    let (_, status) = d.terminate(Duration::from_secs(10));
    assert!(status.success());
    let conn = rusqlite::Connection::open(dir.path().join("state.db")).unwrap();
    let kept: i64 = conn
        .query_row(
            "SELECT count(*) FROM audit WHERE actor = 'alice' AND reason LIKE 'contention %'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let accepted = statuses.get(&202).copied().unwrap_or(0);
    figure("contention: other writer's commits", writes);
    figure("contention: wakes sent", 200);
    figure("contention: statuses", format!("{statuses:?}"));
    let kept = usize::try_from(kept).unwrap();
    figure(
        "contention: wakes lost (202 but not in the audit trail)",
        accepted.saturating_sub(kept),
    );
    assert_eq!(accepted, 200, "{statuses:?}");
    assert_eq!(kept, 200);
}

/// A signed Slack request used once is refused when replayed to a second copy on the same store
/// and to the daemon after a restart.
#[test]
fn slack_replay_to_another_copy_and_after_a_restart_is_refused() {
    let _turn = turn();
    let dir = workdir();
    let mut first = serve(dir.path(), None, &[]);
    let second = serve(dir.path(), None, &[]);
    let request = slack_request("carol", "status");
    let a = exchange(&addr(&first), &request);
    assert_eq!(a.status, 200, "{a:?}");
    let to_copy = exchange(&addr(&second), &request);
    to_copy.assert_json_error(401, "replay to a second copy");
    assert!(to_copy.body.contains("replayed"), "{to_copy:?}");
    let (_, status) = first.terminate(Duration::from_secs(10));
    assert!(status.success());
    let restarted = serve(dir.path(), None, &[]);
    let after = exchange(&addr(&restarted), &request);
    after.assert_json_error(401, "replay after a restart");
    figure(
        "slack replay: first use, to another copy, after a restart",
        format!("{}, {}, {}", a.status, to_copy.status, after.status),
    );
}

/// What a Slack user types is echoed as text: no ping, no disguised link, in the channel.
#[test]
fn slack_injection_is_echoed_as_text() {
    let _turn = turn();
    let dir = workdir();
    let d = serve(dir.path(), None, &[]);
    let a = exchange(
        &addr(&d),
        &slack_request(
            "<!everyone>",
            "wake 1h <!channel> <https://evil.example|click> & <@U0123>",
        ),
    );
    assert_eq!(a.status, 200, "{a:?}");
    let v: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(v["response_type"], "in_channel");
    let text = v["text"].as_str().unwrap();
    let pings = ["<!everyone>", "<!channel>", "<@U0123>"]
        .iter()
        .filter(|p| text.contains(*p))
        .count();
    let links = text.matches("<http").count();
    figure("slack injection: posted text", text);
    figure("slack injection: pings, links", format!("{pings}, {links}"));
    assert_eq!((pings, links), (0, 0), "{text}");
    assert!(
        text.contains("&lt;!channel&gt;") && text.contains("&amp;"),
        "{text}"
    );
}

/// Every rejection on the wire is the JSON shape — the router's, the framework's, and hyper's
/// own answers to a request it cannot parse (431, 400) — and a path error without a token says
/// only 401.
#[test]
fn every_rejection_on_the_wire_is_json() {
    let _turn = turn();
    let dir = workdir();
    let d = serve(dir.path(), None, &[]);
    let target = addr(&d);
    let auth = format!("Authorization: Bearer {TOKEN}\r\n");
    let slack_body = format!("text={}", "x".repeat(20_000));
    let many_headers: String = (0..150).map(|i| format!("X-H{i}: v\r\n")).collect();
    let cases: Vec<(&str, u16, Vec<u8>)> = vec![
        ("405 method", 405, format!("DELETE /v1/environments/staging HTTP/1.1\r\nHost: l\r\n{auth}Connection: close\r\n\r\n").into_bytes()),
        ("405 on /healthz", 405, b"PUT /healthz HTTP/1.1\r\nHost: l\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()),
        ("401 for %FF without a token", 401, b"GET /v1/environments/%FF HTTP/1.1\r\nHost: l\r\nConnection: close\r\n\r\n".to_vec()),
        ("400 for %FF with a token", 400, format!("GET /v1/environments/%FF HTTP/1.1\r\nHost: l\r\n{auth}Connection: close\r\n\r\n").into_bytes()),
        ("413 on the Slack route", 413, format!("POST /v1/slack/command HTTP/1.1\r\nHost: l\r\nX-Slack-Request-Timestamp: {}\r\nX-Slack-Signature: v0=00\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{slack_body}", lightsout::clock::Clock::now(&lightsout::clock::SystemClock).timestamp(), slack_body.len()).into_bytes()),
        ("414 URI of 10 KB", 414, format!("GET /v1/environments/{} HTTP/1.1\r\nHost: l\r\n{auth}Connection: close\r\n\r\n", "a".repeat(10_000)).into_bytes()),
        ("431 for 150 headers (hyper's own answer)", 431, format!("GET /healthz HTTP/1.1\r\nHost: l\r\n{many_headers}\r\n").into_bytes()),
        ("414 for a 70 KB URI (hyper's own answer)", 414, format!("GET /{} HTTP/1.1\r\nHost: l\r\n\r\n", "a".repeat(70_000)).into_bytes()),
        ("400 for a request line that is not HTTP (hyper's own answer)", 400, b"HELLO THERE\r\n\r\n".to_vec()),
        ("404 route", 404, b"GET /nope HTTP/1.1\r\nHost: l\r\nConnection: close\r\n\r\n".to_vec()),
    ];
    for (what, status, request) in &cases {
        let a = exchange(&target, request);
        a.assert_json_error(*status, what);
        assert_eq!(
            a.header("x-content-type-options"),
            Some("nosniff"),
            "{what}"
        );
        figure(&format!("on the wire: {what}"), &a.body);
    }
    let page = exchange(
        &target,
        b"GET / HTTP/1.1\r\nHost: l\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert!(
        page.header("content-security-policy")
            .is_some_and(|p| p.contains("frame-ancestors 'none'") && !p.contains("unsafe")),
        "{:?}",
        page.headers
    );
}

/// `lightsout check` on odd schedule directories: each is refused within seconds, naming the
/// file, and never echoes what an odd file holds.
#[test]
fn odd_schedule_files_are_refused_by_name_within_bounds() {
    use std::os::unix::fs::symlink;
    let _turn = turn();
    let base = tempfile::tempdir().unwrap();
    let outside = base.path().join("outside.ics");
    std::fs::write(
        &outside,
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:SECRET-FROM-OUTSIDE\nEND:VEVENT\nEND:VCALENDAR\n",
    )
    .unwrap();
    let with_calendar = |cal: &str| {
        SCHEDULE.replace(
            "awake = []\n",
            &format!("awake = []\nholiday_calendar = \"{cal}\"\n"),
        )
    };
    type Setup = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Setup, &str)> = vec![
        (
            "dangling symlink",
            Box::new(|d: &Path| symlink(d.join("missing.toml"), d.join("staging.toml")).unwrap()),
            "staging.toml",
        ),
        (
            "symlink loop",
            Box::new(|d: &Path| {
                symlink(d.join("b.toml"), d.join("a.toml")).unwrap();
                symlink(d.join("a.toml"), d.join("b.toml")).unwrap();
            }),
            "a.toml",
        ),
        (
            "FIFO as holiday_calendar",
            Box::new(move |d: &Path| {
                std::fs::write(d.join("staging.toml"), with_calendar("hol.ics")).unwrap();
                let ok = Command::new("mkfifo")
                    .arg(d.join("hol.ics"))
                    .status()
                    .unwrap();
                assert!(ok.success());
            }),
            "hol.ics",
        ),
        (
            "/dev/zero as holiday_calendar",
            Box::new(move |d: &Path| {
                std::fs::write(d.join("staging.toml"), with_calendar("/dev/zero")).unwrap();
            }),
            "/dev/zero",
        ),
        (
            "symlink to /dev/zero as holiday_calendar",
            Box::new(move |d: &Path| {
                std::fs::write(d.join("staging.toml"), with_calendar("hol.ics")).unwrap();
                symlink("/dev/zero", d.join("hol.ics")).unwrap();
            }),
            "hol.ics",
        ),
        (
            "../ in holiday_calendar",
            Box::new(move |d: &Path| {
                std::fs::write(d.join("staging.toml"), with_calendar("../outside.ics")).unwrap();
            }),
            "../outside.ics",
        ),
        (
            "symlink out of the directory as holiday_calendar",
            Box::new({
                let outside = outside.clone();
                move |d: &Path| {
                    std::fs::write(d.join("staging.toml"), with_calendar("hol.ics")).unwrap();
                    symlink(&outside, d.join("hol.ics")).unwrap();
                }
            }),
            "hol.ics",
        ),
        (
            "calendar with secret-looking lines",
            Box::new(move |d: &Path| {
                std::fs::write(d.join("staging.toml"), with_calendar("hol.ics")).unwrap();
                std::fs::write(
                    d.join("hol.ics"),
                    "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:SECRET-INSIDE\nEND:VEVENT\nEND:VCALENDAR\n",
                )
                .unwrap();
            }),
            "hol.ics:3",
        ),
        (
            "schedule file of 2 MiB",
            Box::new(|d: &Path| {
                let big = format!("{SCHEDULE}# {}\n", "x".repeat(2 << 20));
                std::fs::write(d.join("staging.toml"), big).unwrap();
            }),
            "larger than",
        ),
        (
            "invalid UTF-8 on line 3",
            Box::new(|d: &Path| {
                let mut bytes = b"name = \"staging\"\nregion = \"eu-west-1\"\n# caf".to_vec();
                bytes.extend_from_slice(&[0xe9, b'\n']);
                bytes.extend_from_slice(
                    b"timezone = \"UTC\"\nawake = []\n[rds]\ninstances = [\"db\"]\n",
                );
                std::fs::write(d.join("staging.toml"), bytes).unwrap();
            }),
            "staging.toml:3:6: not UTF-8",
        ),
    ];
    for (what, setup, names) in cases {
        let dir = base.path().join(what.replace(['/', ' ', '.'], "_"));
        std::fs::create_dir(&dir).unwrap();
        setup(&dir);
        let mut c = Command::new(env!("CARGO_BIN_EXE_lightsout"));
        c.arg("check").arg(&dir);
        let (out, took) = support::run_within(c, Duration::from_secs(20));
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        figure(
            &format!("schedule files: {what}"),
            format!(
                "exit {:?} in {} ms: {}",
                out.status.code(),
                took.as_millis(),
                text.lines().next().unwrap_or("")
            ),
        );
        assert_eq!(out.status.code(), Some(1), "{what}: {text}");
        assert!(text.contains(names), "{what}: {names} not in {text}");
        assert!(!text.contains("SECRET"), "{what}: echoed content: {text}");
        assert!(took < Duration::from_secs(10), "{what}: {took:?}");
    }
}

/// The AWS access key id (and the secret and session token) never reach the logs, at debug or
/// trace, in either format.
#[test]
fn aws_credentials_never_reach_the_logs() {
    let _turn = turn();
    const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const SESSION: &str = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN0123456789";
    let dir = workdir();
    for level in ["debug", "trace"] {
        for format in ["human", "json"] {
            let mut c = Command::new(env!("CARGO_BIN_EXE_lightsout"));
            c.arg("--schedules")
                .arg(dir.path().join("schedules"))
                .args(["--log-format", format, "plan", "--max-attempts", "1"])
                .args(["--call-timeout", "2s", "--store"])
                .arg(dir.path().join("state.db"))
                .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
                .env("AWS_REGION", "eu-west-1")
                .env("AWS_ACCESS_KEY_ID", KEY_ID)
                .env("AWS_SECRET_ACCESS_KEY", SECRET)
                .env("AWS_SESSION_TOKEN", SESSION)
                .env("LIGHTSOUT_LOG", level);
            // Trace logs run to megabytes: into a file, not a pipe nobody reads until the end.
            let logs = dir.path().join(format!("{level}-{format}.log"));
            c.stdout(std::fs::File::create(dir.path().join("stdout")).unwrap())
                .stderr(std::fs::File::create(&logs).unwrap());
            let mut child = c.spawn().unwrap();
            let start = Instant::now();
            while child.try_wait().unwrap().is_none() {
                assert!(
                    start.elapsed() < Duration::from_secs(60),
                    "{level}/{format}: still running"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
            let all = std::fs::read_to_string(&logs).unwrap();
            assert!(
                all.contains("DescribeDBInstances"),
                "{level}/{format}: logs captured"
            );
            for secret in [KEY_ID, SECRET, SESSION] {
                assert!(
                    !all.contains(secret),
                    "{level}/{format}: {secret} in the logs: {}",
                    all.lines().find(|l| l.contains(secret)).unwrap_or("")
                );
            }
            figure(
                &format!("logs at {level} ({format}): bytes searched, credentials found"),
                format!("{}, 0", all.len()),
            );
        }
    }
}

/// The systemd unit raises the open-file limit well above the default connection cap (512) plus
/// what the store, AWS calls and logs need.
#[test]
fn systemd_unit_sets_a_file_limit_above_the_connection_cap() {
    let unit = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/systemd/lightsout.service");
    let text = std::fs::read_to_string(unit).unwrap();
    let limit: u64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("LimitNOFILE="))
        .expect("LimitNOFILE= in the unit")
        .trim()
        .parse()
        .expect("a number");
    figure("systemd: LimitNOFILE", limit);
    assert!(limit >= 512 + 64, "{limit}");
}
