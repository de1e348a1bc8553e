//! Transitions out, through the real adapters: an EventBridge event on moto, routed by a rule
//! on `{"source":["lightsout"]}` to an SQS queue and read back as the full envelope; a webhook
//! on a loopback receiver, its body signed with HMAC-SHA256; and failures said in words,
//! never a failed pass and never the secret.

use crate::support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use lightsout::aws::AwsCloud;
use lightsout::aws::events::{SIGNATURE_HEADER, sign};
use lightsout::model::{Change, Environment, Transition};
use lightsout::ports::Cloud;
use support::Moto;

fn env(events: &str) -> Environment {
    let src = format!(
        "name = \"staging\"\nregion = \"eu-west-1\"\ntimezone = \"Australia/Sydney\"\nawake = []\n\
         [events]\n{events}\n[ecs]\nservices = [\"app-staging-cluster/backend\"]\n"
    );
    lightsout::config::parse_str(Path::new("staging.toml"), &src).unwrap_or_else(|e| panic!("{e}"))
}

fn transition() -> Transition {
    Transition {
        environment: "staging".into(),
        transition: Change::IdleSlept,
        actor: "idle".into(),
        at: "2026-12-02T10:42:00Z".parse().unwrap(),
        reason: "no requests through the front door for 30m".into(),
    }
}

/// One request received: its headers (lower-cased names) and body.
type Received = (Vec<(String, String)>, String);

/// A loopback HTTP receiver: every request it got.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

fn receiver() -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/lightsout", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut headers = Vec::new();
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                let l = line.trim_end();
                if l.is_empty() {
                    break;
                }
                if let Some((k, v)) = l.split_once(':') {
                    headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                }
            }
            let len: usize = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .map_or(0, |(_, v)| v.parse().unwrap());
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            seen.lock()
                .unwrap()
                .push((headers, String::from_utf8(body).unwrap()));
            let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n");
        }
    });
    Receiver { url, got }
}

/// PutEvents on the default bus: a rule on the source routes it to SQS, and the envelope has
/// source `lightsout`, the transition's detail type and the detail as JSON.
#[tokio::test]
async fn a_transition_reaches_an_eventbridge_rule_on_the_default_bus() {
    let moto = Moto::start();
    moto.python(
        "import json\nev = boto3.client('events', **kw)\nsqs = boto3.client('sqs', **kw)\n\
         q = sqs.create_queue(QueueName='follow')['QueueUrl']\n\
         qa = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=['QueueArn'])['Attributes']['QueueArn']\n\
         ev.put_rule(Name='follow', EventPattern=json.dumps({'source': ['lightsout']}))\n\
         ev.put_targets(Rule='follow', Targets=[{'Id': 'q', 'Arn': qa}])",
    );
    let cfg = moto.sdk_config().await;
    let cloud = AwsCloud::new(cfg.clone());
    let failed = cloud
        .publish(&env("bus = \"default\""), &transition())
        .await;
    assert!(failed.is_empty(), "{failed:?}");

    let sqs = aws_sdk_sqs::Client::new(&cfg);
    let url = sqs
        .get_queue_url()
        .queue_name("follow")
        .send()
        .await
        .unwrap();
    let got = sqs
        .receive_message()
        .queue_url(url.queue_url().unwrap())
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    assert_eq!(got.messages().len(), 1);
    let envelope: serde_json::Value =
        serde_json::from_str(got.messages()[0].body().unwrap()).unwrap();
    assert_eq!(envelope["source"], "lightsout");
    assert_eq!(envelope["detail-type"], "Environment Idle-Slept");
    assert_eq!(
        envelope["detail"],
        serde_json::json!({
            "environment": "staging",
            "transition": "idle_slept",
            "actor": "idle",
            "at": "2026-12-02T10:42:00Z",
            "reason": "no requests through the front door for 30m",
        })
    );
    assert_eq!(cloud.requests().get("PutEvents"), Some(&1));
}

/// A bus that does not exist is a failure in words; the webhook beside it is still sent.
#[tokio::test]
async fn a_failed_publish_is_said_and_does_not_stop_the_other_channel() {
    let moto = Moto::start();
    let cloud = AwsCloud::new(moto.sdk_config().await);
    let hook = receiver();
    let e = env(&format!(
        "bus = \"no-such-bus\"\nwebhook_url = \"{}\"",
        hook.url
    ));
    let failed = cloud.publish(&e, &transition()).await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].contains("PutEvents"), "{failed:?}");
    let got = hook.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert!(
        got[0].0.iter().all(|(k, _)| k != SIGNATURE_HEADER),
        "unsigned without a secret"
    );
}

/// The webhook gets the transition as JSON, signed with HMAC-SHA256 of the body under the
/// secret named by `webhook_secret_env`; a secret variable that is not set sends nothing (never
/// unsigned) and says so without the secret.
#[tokio::test]
async fn the_webhook_body_is_signed_and_never_sent_unsigned() {
    let cloud = AwsCloud::new(
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .load()
            .await,
    );
    let hook = receiver();
    // A variable every process has, so the test sets nothing in its environment.
    let secret = std::env::var("PATH").unwrap();
    let e = env(&format!(
        "webhook_url = \"{}\"\nwebhook_secret_env = \"PATH\"",
        hook.url
    ));
    assert!(cloud.publish(&e, &transition()).await.is_empty());
    let got = hook.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let (headers, body) = &got[0];
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header("content-type"), Some("application/json"));
    assert_eq!(
        header(SIGNATURE_HEADER),
        Some(sign(&secret, body.as_bytes()).as_str())
    );
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(json["transition"], "idle_slept");
    assert_eq!(json["environment"], "staging");

    let unset = env(&format!(
        "webhook_url = \"{}\"\nwebhook_secret_env = \"LIGHTSOUT_TEST_NEVER_SET_SECRET\"",
        hook.url
    ));
    let failed = cloud.publish(&unset, &transition()).await;
    assert_eq!(failed.len(), 1);
    assert!(failed[0].contains("never sent unsigned"), "{failed:?}");
    assert_eq!(hook.got.lock().unwrap().len(), 1, "nothing more was sent");
}

/// Real passes over the seeded reference environment at night, through the real adapters: the
/// first pass puts it to sleep (published as `going_to_sleep`, it acted), the next finds it
/// asleep (`asleep`); a third with nothing changed publishes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_publish_their_transitions_to_eventbridge() {
    let moto = Moto::start();
    moto.seed();
    moto.python(
        "import json\nev = boto3.client('events', **kw)\nsqs = boto3.client('sqs', **kw)\n\
         q = sqs.create_queue(QueueName='follow')['QueueUrl']\n\
         qa = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=['QueueArn'])['Attributes']['QueueArn']\n\
         ev.put_rule(Name='follow', EventPattern=json.dumps({'source': ['lightsout']}))\n\
         ev.put_targets(Rule='follow', Targets=[{'Id': 'q', 'Arn': qa}])",
    );
    let cfg = moto.sdk_config().await;
    let src = format!("{}\n[events]\nbus = \"default\"\n", support::STAGING);
    let env = lightsout::config::parse_str(Path::new("staging.toml"), &src).unwrap();
    // Wednesday 23:00 CET.
    let clock = Arc::new(lightsout::clock::ManualClock::new(
        "2026-12-02T22:00:00Z".parse().unwrap(),
    ));
    let service = lightsout::service::Service::new(
        lightsout::model::Config {
            environments: vec![env],
        },
        AwsCloud::new(cfg.clone()),
        Arc::new(lightsout::store::SqliteStore::in_memory().unwrap()),
        clock.clone(),
        "events-test".into(),
    );
    for minute in 0..3 {
        clock.set(
            "2026-12-02T22:00:00Z"
                .parse::<chrono::DateTime<chrono::Utc>>()
                .unwrap()
                + chrono::TimeDelta::minutes(minute),
        );
        let pass = service.reconcile_all().await;
        assert!(pass.failed().is_empty(), "{pass:?}");
    }
    let sqs = aws_sdk_sqs::Client::new(&cfg);
    let url = sqs
        .get_queue_url()
        .queue_name("follow")
        .send()
        .await
        .unwrap();
    let got = sqs
        .receive_message()
        .queue_url(url.queue_url().unwrap())
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let events: Vec<(String, String, String)> = got
        .messages()
        .iter()
        .map(|m| {
            let v: serde_json::Value = serde_json::from_str(m.body().unwrap()).unwrap();
            (
                v["detail-type"].as_str().unwrap().to_string(),
                v["detail"]["transition"].as_str().unwrap().to_string(),
                v["detail"]["actor"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            (
                "Environment Going To Sleep".to_string(),
                "going_to_sleep".to_string(),
                "schedule".to_string()
            ),
            (
                "Environment Asleep".to_string(),
                "asleep".to_string(),
                "schedule".to_string()
            ),
        ]
    );
}
