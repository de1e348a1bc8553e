//! The front door's waiting page, through the real router: requests whose Host is the
//! environment's `[alb] hosts` get the page (a browser) or a 503 with Retry-After (anything
//! else); HEAD, robots.txt, favicon.ico and monitors never wake; the button needs an identity;
//! `wake_on_request = "auto"` wakes for allow-listed sources only, and a burst makes one wake.

use crate::support;

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Utc};
use lightsout::api::{ApiState, auth::Tokens, router};
use lightsout::clock::ManualClock;
use lightsout::config;
use lightsout::model::Config;
use lightsout::store::{SqliteStore, Store};
use serde_json::Value;
use support::EmptyCloud;
use tower::ServiceExt;

const ALICE: &str = "alice-token-0123456789";
const HOST: &str = "staging.example.com";
const RULE: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/s/50dc/f2f7/9683";
const TG: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup";

fn night() -> DateTime<Utc> {
    "2026-12-02T22:00:00Z".parse().unwrap()
}

fn app(mode: &str) -> (Arc<ApiState<EmptyCloud>>, Arc<SqliteStore>) {
    let src = format!(
        "name = \"staging\"\nregion = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = [\"Mon-Fri 07:00-20:00\"]\n\
         [rds]\ninstances = [\"db\"]\n\
         [alb]\nhosts = [\"{HOST}\"]\nwake_on_request = \"{mode}\"\nallow_cidrs = [\"10.8.0.0/16\"]\n\
         [[alb.rules]]\nrule = \"{RULE}\"\napp = \"{TG}/app/1\"\nwake = \"{TG}/wake/2\"\n"
    );
    let env = config::parse_str(std::path::Path::new("staging.toml"), &src).unwrap();
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let api = Arc::new(ApiState::new(
        Arc::new(lightsout::service::Service::new(
            Config {
                environments: vec![env],
            },
            EmptyCloud,
            store.clone(),
            Arc::new(ManualClock::new(night())),
            "test".into(),
        )),
        Tokens::parse(&format!("alice {ALICE}")).unwrap(),
    ));
    (api, store)
}

async fn send(
    api: &Arc<ApiState<EmptyCloud>>,
    req: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let r = router(api.clone()).oneshot(req).await.unwrap();
    let (parts, body) = r.into_parts();
    let body = to_bytes(body, 1 << 20).await.unwrap();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

fn get(path: &str) -> axum::http::request::Builder {
    Request::get(path).header(header::HOST, HOST)
}

/// A browser gets the page (name, the button); curl gets 503 JSON with Retry-After; neither
/// wakes with the default "button".
#[tokio::test]
async fn a_browser_gets_the_page_and_anything_else_a_503() {
    let (api, store) = app("button");
    let (status, headers, body) = send(
        &api,
        get("/")
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
            .header(header::USER_AGENT, "Mozilla/5.0")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers[header::RETRY_AFTER], "120");
    assert!(body.contains("<h1>staging is asleep</h1>"), "{body}");
    assert!(body.contains("Wake for 1 h"), "{body}");
    assert!(body.len() < 16 * 1024, "{} bytes", body.len());

    let (status, headers, body) = send(
        &api,
        get("/api/v1/items")
            .header(header::USER_AGENT, "curl/8.5")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers[header::RETRY_AFTER], "120");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"], "asleep");
    assert!(
        v["wake"]
            .as_str()
            .unwrap()
            .contains("/v1/environments/staging/wake")
    );
    assert!(support::wake_actors(store.as_ref()).await.is_empty());

    // Requests for lightsout's own host still reach the API.
    let r = router(api.clone())
        .oneshot(
            Request::get("/healthz")
                .header(header::HOST, "lightsout.internal")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// The button wakes for an identity only (a token; the ALB's OIDC identity only once its
/// signature verifies: tests/alb_oidc.rs), and the audit says `request:<who>`.
#[tokio::test]
async fn the_button_needs_an_identity() {
    let (api, store) = app("button");
    let post = || Request::post("/.lightsout/wake").header(header::HOST, HOST);
    let (status, _, _) = send(&api, post().body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = send(
        &api,
        post()
            .header(header::AUTHORIZATION, "Bearer not-a-token-000000")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(support::wake_actors(store.as_ref()).await.is_empty());
    // The unsigned identity header is no identity.
    let (status, _, _) = send(
        &api,
        post()
            .header("x-amzn-oidc-identity", "dev@example.com")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(support::wake_actors(store.as_ref()).await.is_empty());
    let (status, _, body) = send(
        &api,
        post()
            .header(header::AUTHORIZATION, format!("Bearer {ALICE}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(
        support::wake_actors(store.as_ref()).await,
        ["request:alice"]
    );
    // A second click while the wake is in force does not wake again.
    let (status, _, body) = send(
        &api,
        post()
            .header(header::AUTHORIZATION, format!("Bearer {ALICE}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert!(body.contains("already woken"), "{body}");
    assert_eq!(support::wake_actors(store.as_ref()).await.len(), 1);
}

/// HEAD, robots.txt, favicon.ico and monitors never wake, even from an allow-listed source.
#[tokio::test]
async fn head_robots_favicon_and_monitors_never_wake() {
    let (api, store) = app("auto");
    let from_vpn = |b: axum::http::request::Builder| {
        b.header("x-forwarded-for", "203.0.113.9, 10.8.0.5")
            .header(header::USER_AGENT, "Mozilla/5.0")
            .body(Body::empty())
            .unwrap()
    };
    let (s, _, _) = send(
        &api,
        from_vpn(Request::head("/").header(header::HOST, HOST)),
    )
    .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    let (s, _, body) = send(&api, from_vpn(get("/robots.txt"))).await;
    assert_eq!(
        (s, body.as_str()),
        (StatusCode::OK, "User-agent: *\nDisallow: /\n")
    );
    let (s, _, _) = send(&api, from_vpn(get("/favicon.ico"))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = send(
        &api,
        get("/")
            .header("x-forwarded-for", "10.8.0.5")
            .header(header::USER_AGENT, "UptimeRobot/2.0")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert!(support::wake_actors(store.as_ref()).await.is_empty());
}

/// Auto: a burst of 200 requests from the VPN makes one wake, audited as the source address;
/// 200 from elsewhere (the client's own X-Forwarded-For entries ignored) make none.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn auto_wakes_once_per_burst_and_only_for_allowed_sources() {
    let (api, store) = app("auto");
    let outside: Vec<_> = (0..200)
        .map(|i| {
            send(
                &api,
                get(&format!("/page/{i}"))
                    .header(
                        "x-forwarded-for",
                        format!("10.8.0.5, 198.51.100.{}", i % 250),
                    )
                    .header(header::USER_AGENT, "Mozilla/5.0")
                    .body(Body::empty())
                    .unwrap(),
            )
        })
        .collect();
    futures_util::future::join_all(outside).await;
    assert!(
        support::wake_actors(store.as_ref()).await.is_empty(),
        "anonymous traffic woke it"
    );

    // On worker threads, so the knocks really race for the store's conditional write.
    let burst: Vec<_> = (0..200)
        .map(|i| {
            let api = api.clone();
            tokio::spawn(async move {
                send(
                    &api,
                    get(&format!("/page/{i}"))
                        .header("x-forwarded-for", "10.8.0.5")
                        .header(header::USER_AGENT, "Mozilla/5.0")
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
            })
        })
        .collect();
    let answers = futures_util::future::join_all(burst).await;
    assert!(
        answers
            .iter()
            .all(|a| a.as_ref().unwrap().0 == StatusCode::SERVICE_UNAVAILABLE)
    );
    assert_eq!(
        support::wake_actors(store.as_ref()).await,
        ["request:10.8.0.5"]
    );
    let ov = store
        .active_override("staging", night())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ov.until - ov.created, chrono::TimeDelta::hours(1));
}

/// The Lambda as the wake target group's `lambda` target: an ALB event gets the page in the ALB
/// response shape; the button's POST (with a token) wakes it and is followed by a pass.
#[tokio::test]
async fn the_lambda_answers_its_wake_target_group() {
    let (api, store) = app("button");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/events/alb-knock.json");
    let event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let invoke = |payload: Value| {
        lightsout::lambda::handle(
            api.as_ref(),
            router(api.clone()),
            lambda_runtime::LambdaEvent::new(payload, lambda_runtime::Context::default()),
        )
    };
    let out = invoke(event.clone()).await.unwrap();
    assert_eq!(out["statusCode"], 503, "{out}");
    assert!(
        out["body"].as_str().unwrap().contains("staging is asleep"),
        "{out}"
    );
    assert_eq!(api.metrics.passes.get(), 0);

    let mut post = event;
    post["httpMethod"] = "POST".into();
    post["path"] = "/.lightsout/wake".into();
    post["headers"]["authorization"] = format!("Bearer {ALICE}").into();
    let out = invoke(post).await.unwrap();
    assert_eq!(out["statusCode"], 202, "{out}");
    assert_eq!(
        support::wake_actors(store.as_ref()).await,
        ["request:alice"]
    );
    assert_eq!(api.metrics.passes.get(), 1, "a pass follows the wake");
}
