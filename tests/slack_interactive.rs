//! Slack interactivity end to end: the heads-up's buttons, signed like Slack signs them, through
//! the router and over a real socket.

use crate::support;

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Utc};
use lightsout::api::slack::SlackVerifier;
use lightsout::api::{ApiState, auth::Tokens, router};
use lightsout::clock::ManualClock;
use lightsout::model::{Action, Hold};
use lightsout::store::{SqliteStore, Store};
use serde_json::{Value, json};
use support::EmptyCloud;
use tower::ServiceExt;

const SECRET: &str = "slack-signing-secret-for-interactivity";

/// Wednesday 19:50 in Sydney (08:50 UTC): staging is awake in its window until 20:00.
fn evening() -> DateTime<Utc> {
    "2026-12-02T08:50:00Z".parse().unwrap()
}

fn app(store: Arc<dyn Store>) -> Arc<ApiState<EmptyCloud>> {
    let staging = "name = \"staging\"\nregion = \"ap-southeast-2\"\ntimezone = \"Australia/Sydney\"\nawake = [\"Mon-Fri 07:00-20:00\"]\nmax_wake = \"4h\"\n[rds]\ninstances = [\"db\"]\n";
    let cfg = lightsout::model::Config {
        environments: vec![
            lightsout::config::parse_str(std::path::Path::new("staging.toml"), staging).unwrap(),
        ],
    };
    let mut api = ApiState::new(
        Arc::new(lightsout::service::Service::new(
            cfg,
            EmptyCloud,
            store,
            Arc::new(ManualClock::new(evening())),
            "test".into(),
        )),
        Tokens::default(),
    );
    api.slack = Some(SlackVerifier::new(SECRET));
    Arc::new(api)
}

/// A `block_actions` payload as Slack sends it (the fields lightsout reads, and some it does not).
fn payload(action_id: &str, env: &str, response_url: &str) -> String {
    let p = json!({
        "type": "block_actions",
        "user": { "id": "U0CAROL", "username": "carol", "name": "carol", "team_id": "T1" },
        "api_app_id": "A1",
        "token": "legacy-verification-token-not-used",
        "container": { "type": "message", "message_ts": "1733130000.000100", "channel_id": "C1", "is_ephemeral": false },
        "trigger_id": "1.2.3",
        "team": { "id": "T1", "domain": "example" },
        "channel": { "id": "C1", "name": "staging" },
        "response_url": response_url,
        "actions": [{
            "action_id": action_id, "block_id": "lightsout_heads_up", "type": "button",
            "value": env, "text": { "type": "plain_text", "text": "Keep 1 h" }, "action_ts": "1733130001.1"
        }],
        "state": { "values": {} }
    });
    form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &p.to_string())
        .finish()
}

/// Signs `body` at `ts` with `secret`, as Slack does.
fn signed(body: &str, ts: i64, secret: &str) -> Request<Body> {
    let sig = SlackVerifier::new(secret).sign(&ts.to_string(), body.as_bytes());
    Request::post("/v1/slack/interactive")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("X-Slack-Request-Timestamp", ts.to_string())
        .header("X-Slack-Signature", sig)
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn send(api: &Arc<ApiState<EmptyCloud>>, req: Request<Body>) -> (StatusCode, Value) {
    let resp = router(api.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// `lightsout_keep` wakes for one hour through the API's rules, audited as `slack:<user id>`,
/// and says so (with the user mentioned, the rest escaped).
#[tokio::test]
async fn keep_wakes_for_an_hour_as_the_slack_user() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let api = app(store.clone());
    // A response_url off Slack's host is never called (and nothing here reaches the network).
    let body = payload(
        "lightsout_keep",
        "staging",
        "https://elsewhere.example/actions/1",
    );
    let (status, answer) = send(&api, signed(&body, evening().timestamp(), SECRET)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let text = answer["text"].as_str().unwrap();
    assert!(
        text.starts_with("<@U0CAROL> kept staging awake until Wed 20:50 AEDT"),
        "{text}"
    );
    let ov = store
        .active_override("staging", evening())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ov.hold, Hold::Awake);
    assert_eq!(ov.by, "slack:U0CAROL");
    assert_eq!(ov.until, evening() + chrono::TimeDelta::hours(1));
    let audit = store.audit(Some("staging"), 5).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].actor, "slack:U0CAROL");
    assert!(matches!(audit[0].action, Action::Wake { ref asked, .. } if asked == "1h"));
}

/// `lightsout_sleep` puts it to sleep now; inside the window that holds it asleep until the
/// next start, the same rule as the API's sleep.
#[tokio::test]
async fn sleep_now_holds_it_asleep_until_the_next_start() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let api = app(store.clone());
    let body = payload("lightsout_sleep", "staging", "");
    let (status, answer) = send(&api, signed(&body, evening().timestamp(), SECRET)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .contains("put staging to sleep until Thu 07:00 AEDT"),
        "{answer}"
    );
    let ov = store
        .active_override("staging", evening())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((ov.hold, ov.by.as_str()), (Hold::Asleep, "slack:U0CAROL"));
}

/// A forged, stale or replayed click is a 401 in JSON and changes nothing; an unknown action
/// or another interaction type is a 400 in JSON.
#[tokio::test]
async fn forged_stale_replayed_and_unknown_clicks_are_refused() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let api = app(store.clone());
    let now = evening().timestamp();
    let keep = payload("lightsout_keep", "staging", "");

    let (status, body) = send(&api, signed(&keep, now, "not-the-secret")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"].as_str().unwrap().contains("bad signature"),
        "{body}"
    );
    let (status, body) = send(&api, signed(&keep, now - 301, SECRET)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["error"].as_str().unwrap().contains("stale"), "{body}");
    // Signed for one body, sent with another.
    let mut tampered = signed(&keep, now, SECRET);
    *tampered.body_mut() = Body::from(payload("lightsout_keep", "staging", "https://evil"));
    let (status, _) = send(&api, tampered).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(store.audit(None, 5).await.unwrap().is_empty());

    let (status, _) = send(&api, signed(&keep, now, SECRET)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = send(&api, signed(&keep, now, SECRET)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a replay");
    assert!(
        body["error"].as_str().unwrap().contains("replayed"),
        "{body}"
    );

    let unknown = payload("lightsout_explode", "staging", "");
    let (status, body) = send(&api, signed(&unknown, now + 1, SECRET)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"].as_str().unwrap().contains("unknown action"),
        "{body}"
    );
    let other = form_urlencoded::Serializer::new(String::new())
        .append_pair(
            "payload",
            &json!({"type": "view_submission", "user": {"id": "U1"}}).to_string(),
        )
        .finish();
    let (status, body) = send(&api, signed(&other, now + 2, SECRET)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"].as_str().unwrap().contains("unsupported"),
        "{body}"
    );
    let (status, _) = send(&api, signed("text=hello", now + 3, SECRET)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let odd_user = payload("lightsout_keep", "staging", "").replace("U0CAROL", "U-1");
    let (status, body) = send(&api, signed(&odd_user, now + 4, SECRET)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"].as_str().unwrap().contains("user id"),
        "{body}"
    );
    assert_eq!(
        store.audit(None, 5).await.unwrap().len(),
        1,
        "only the one good click acted"
    );
}

/// A fake `response_url` on loopback: the first request's body.
fn response_catcher() -> (String, std::sync::mpsc::Receiver<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = s.read(&mut chunk).unwrap_or(0);
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let len = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if body.len() >= len {
                    let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
                    let _ = tx.send(body.to_string());
                    break;
                }
            }
        }
    });
    (base, rx)
}

/// Over a real socket: a signed click is answered 200 well inside Slack's 3 s (the latency is
/// printed), and the heads-up is replaced through the `response_url`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_over_a_socket_answers_fast_and_replaces_the_heads_up() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let (catcher, replaced) = response_catcher();
    let mut api = Arc::try_unwrap(app(store.clone())).ok().unwrap();
    api.slack_responses = catcher.clone();
    let api = Arc::new(api);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, router(api)).await });

    let mut latencies = Vec::new();
    let mut last = (0u16, String::new());
    for (i, action) in ["lightsout_keep", "lightsout_keep", "lightsout_keep"]
        .iter()
        .enumerate()
    {
        // The first click carries the catcher's response_url; the others none.
        let url = if i == 0 {
            format!("{catcher}actions/1")
        } else {
            String::new()
        };
        let body = payload(action, "staging", &url);
        let ts = (evening().timestamp() + i as i64).to_string();
        let sig = SlackVerifier::new(SECRET).sign(&ts, body.as_bytes());
        let target = format!("http://{addr}/v1/slack/interactive");
        let started = Instant::now();
        last = tokio::task::spawn_blocking(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(10)))
                .build()
                .into();
            let mut r = agent
                .post(&target)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("x-slack-request-timestamp", &ts)
                .header("x-slack-signature", &sig)
                .send(body)
                .unwrap();
            (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
        })
        .await
        .unwrap();
        latencies.push(started.elapsed());
        assert_eq!(last.0, 200, "{}", last.1);
    }
    let worst = latencies.iter().max().unwrap();
    println!("interactivity answers on loopback: {latencies:?} (worst {worst:?})");
    assert!(*worst < Duration::from_secs(3), "Slack waits 3 s at most");
    assert!(last.1.contains("kept staging awake"), "{}", last.1);
    let posted = replaced.recv_timeout(Duration::from_secs(10)).unwrap();
    let posted: Value = serde_json::from_str(&posted).unwrap();
    assert_eq!(posted["replace_original"], true);
    assert!(
        posted["text"]
            .as_str()
            .unwrap()
            .starts_with("<@U0CAROL> kept staging awake"),
        "{posted}"
    );
    server.abort();
}
