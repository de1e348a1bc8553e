//! Signed wake links from Slack as the identity of the waiting page's "Wake for 1 h" button:
//! a good link wakes (audited `request:slack-link`); an expired, forged or foreign one does not,
//! and the page says why.

use crate::support;

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, TimeDelta, Utc};
use lightsout::api::{ApiState, auth::Tokens, router};
use lightsout::clock::ManualClock;
use lightsout::model::Config;
use lightsout::service::links::WakeLinks;
use lightsout::store::{SqliteStore, Store};
use support::EmptyCloud;
use tower::ServiceExt;

const HOST: &str = "staging.example.com";
const TG: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup";
const SECRET: &str = "wake-link-secret";

/// Wednesday 22:00 UTC: staging sleeps.
fn night() -> DateTime<Utc> {
    "2026-12-02T22:00:00Z".parse().unwrap()
}

fn app(mode: &str, links: bool) -> (Arc<ApiState<EmptyCloud>>, Arc<SqliteStore>) {
    let src = format!(
        "name = \"staging\"\nregion = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = [\"Mon-Fri 07:00-20:00\"]\n\
         [rds]\ninstances = [\"db\"]\n\
         [alb]\nhosts = [\"{HOST}\"]\nwake_on_request = \"{mode}\"\n\
         [[alb.rules]]\nrule = \"arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/s/1/2/3\"\napp = \"{TG}/app/1\"\nwake = \"{TG}/wake/2\"\n"
    );
    let env = lightsout::config::parse_str(std::path::Path::new("staging.toml"), &src).unwrap();
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let mut service = lightsout::service::Service::new(
        Config {
            environments: vec![env],
        },
        EmptyCloud,
        store.clone(),
        Arc::new(ManualClock::new(night())),
        "test".into(),
    );
    if links {
        service.links = Some(WakeLinks::new(SECRET));
    }
    (
        Arc::new(ApiState::new(Arc::new(service), Tokens::default())),
        store,
    )
}

async fn send(api: &Arc<ApiState<EmptyCloud>>, req: Request<Body>) -> (StatusCode, String) {
    let r = router(api.clone()).oneshot(req).await.unwrap();
    let status = r.status();
    let body = to_bytes(r.into_body(), 1 << 20).await.unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn page(token: &str) -> Request<Body> {
    Request::get(format!("/?lightsout_wake={token}"))
        .header(header::HOST, HOST)
        .header(header::ACCEPT, "text/html")
        .header(header::USER_AGENT, "Mozilla/5.0")
        .body(Body::empty())
        .unwrap()
}

fn click(token: &str) -> Request<Body> {
    Request::post(format!("/.lightsout/wake?lightsout_wake={token}"))
        .header(header::HOST, HOST)
        .header(header::USER_AGENT, "Mozilla/5.0")
        .body(Body::empty())
        .unwrap()
}

/// A good link: the page offers the button without a token, and the click wakes for an hour.
#[tokio::test]
async fn a_good_link_is_the_buttons_identity() {
    let (api, store) = app("button", true);
    let token = WakeLinks::new(SECRET).token("staging", night() + TimeDelta::hours(12));
    let (status, html) = send(&api, page(&token)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        html.contains("Your wake link from Slack lets you wake it"),
        "{html}"
    );
    assert!(
        support::wake_actors(store.as_ref()).await.is_empty(),
        "opening the page wakes nothing"
    );
    let (status, body) = send(&api, click(&token)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(
        support::wake_actors(store.as_ref()).await,
        ["request:slack-link"]
    );
    let ov = store
        .active_override("staging", night())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ov.until, night() + TimeDelta::hours(1));
}

/// Expired, forged, for another environment, or claiming more than 24 hours: no wake, and both
/// the page and the click say why.
#[tokio::test]
async fn expired_forged_and_foreign_links_do_not_wake() {
    let (api, store) = app("button", true);
    let links = WakeLinks::new(SECRET);
    let cases = [
        (
            links.token("staging", night() - TimeDelta::seconds(1)),
            "expired",
        ),
        (
            WakeLinks::new("guessed").token("staging", night() + TimeDelta::hours(1)),
            "not valid",
        ),
        (
            links.token("preview", night() + TimeDelta::hours(1)),
            "another environment",
        ),
        (
            links.token("staging", night() + TimeDelta::hours(25)),
            "longer than 24 hours",
        ),
        ("staging.1.2".to_string(), "malformed"),
    ];
    for (token, why) in &cases {
        let (_, html) = send(&api, page(token)).await;
        assert!(html.contains(why), "page for {why}: {html}");
        assert!(html.contains("class=\"err\""), "{html}");
        assert!(!html.contains("Your wake link"), "{html}");
        let (status, body) = send(&api, click(token)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{why}: {body}");
        assert!(body.contains(why), "{body}");
    }
    assert!(support::wake_actors(store.as_ref()).await.is_empty());
}

/// A link is no way around `wake_on_request = "off"`, and is ignored where no link secret is set.
#[tokio::test]
async fn links_need_a_secret_and_respect_off() {
    let token = WakeLinks::new(SECRET).token("staging", night() + TimeDelta::hours(1));
    let (api, store) = app("off", true);
    let (status, _) = send(&api, click(&token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (api, _) = app("button", false);
    let (status, body) = send(&api, click(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("needs an identity"), "{body}");
    assert!(support::wake_actors(store.as_ref()).await.is_empty());
}

/// The slash command's status answer carries a wake link to the waiting page, which works.
#[tokio::test]
async fn the_slash_commands_status_carries_a_working_link() {
    let (api, store) = app("button", true);
    let mut api = Arc::try_unwrap(api).ok().unwrap();
    api.slack = Some(lightsout::api::slack::SlackVerifier::new("slack-secret"));
    let api = Arc::new(api);
    let body = "command=%2Fstaging&user_id=U1&user_name=carol&text=status";
    let ts = night().timestamp().to_string();
    let sig = lightsout::api::slack::SlackVerifier::new("slack-secret").sign(&ts, body.as_bytes());
    let req = Request::post("/v1/slack/command")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("X-Slack-Request-Timestamp", ts)
        .header("X-Slack-Signature", sig)
        .body(Body::from(body))
        .unwrap();
    let (status, answer) = send(&api, req).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let text = answer["text"].as_str().unwrap();
    let start = text.find("<https://").unwrap() + 1;
    let url = &text[start..start + text[start..].find('|').unwrap()];
    let token = url.split("lightsout_wake=").nth(1).unwrap();
    assert!(
        url.starts_with("https://staging.example.com/?lightsout_wake=staging."),
        "{url}"
    );
    let (status, _) = send(&api, click(token)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        support::wake_actors(store.as_ref()).await,
        ["request:slack-link"]
    );
}
