//! The router, route by route and rejection by rejection, without a socket.

use crate::support;

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Utc};
use futures_util::future::{BoxFuture, FutureExt};
use lightsout::api::{BODY_LIMIT, auth::Tokens, router};
use lightsout::clock::ManualClock;
use lightsout::config;
use lightsout::model::{Hold, Override};
use lightsout::store::{AuditEvent, LeaseHolder, Put, SqliteStore, Store, StoreError};
use serde_json::{Value, json};
use support::EmptyCloud;
use tower::ServiceExt;

const ALICE: &str = "alice-token-0123456789";
const BOB: &str = "bob-token-0123456789ab";

fn cfg() -> lightsout::model::Config {
    let staging = "name = \"staging\"\nregion = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = [\"Mon-Fri 07:00-20:00\"]\nmax_wake = \"4h\"\n[rds]\ninstances = [\"db\"]\n";
    let preview = "name = \"preview\"\nregion = \"eu-west-1\"\ntimezone = \"UTC\"\nawake = []\n[rds]\ninstances = [\"db2\"]\n";
    lightsout::model::Config {
        environments: vec![
            config::parse_str(std::path::Path::new("staging.toml"), staging).unwrap(),
            config::parse_str(std::path::Path::new("preview.toml"), preview).unwrap(),
        ],
    }
}

/// Wednesday 22:00 UTC: staging is asleep by schedule.
fn night() -> DateTime<Utc> {
    "2026-12-02T22:00:00Z".parse().unwrap()
}

fn app_with(
    store: Arc<dyn Store>,
    now: DateTime<Utc>,
) -> Arc<lightsout::api::ApiState<EmptyCloud>> {
    let tokens = Tokens::parse(&format!("alice {ALICE}\nbob {BOB} preview")).unwrap();
    Arc::new(lightsout::api::ApiState::new(
        Arc::new(lightsout::service::Service::new(
            cfg(),
            EmptyCloud,
            store,
            Arc::new(ManualClock::new(now)),
            "test".into(),
        )),
        tokens,
    ))
}

fn app() -> Arc<lightsout::api::ApiState<EmptyCloud>> {
    app_with(Arc::new(SqliteStore::in_memory().unwrap()), night())
}

struct Resp {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
    text: String,
}

async fn call(
    app: &Arc<lightsout::api::ApiState<EmptyCloud>>,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<(&str, Vec<u8>)>,
) -> Resp {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = match body {
        Some((ct, bytes)) => req
            .header(header::CONTENT_TYPE, ct)
            .body(Body::from(bytes))
            .unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    let resp = router(app.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Resp {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

async fn wake(
    app: &Arc<lightsout::api::ApiState<EmptyCloud>>,
    token: &str,
    env: &str,
    body: Value,
) -> Resp {
    call(
        app,
        "POST",
        &format!("/v1/environments/{env}/wake"),
        Some(token),
        Some(("application/json", body.to_string().into_bytes())),
    )
    .await
}

/// Asserts staging has no active override at night (the request changed nothing).
async fn assert_no_override(a: &Arc<lightsout::api::ApiState<EmptyCloud>>) {
    assert!(
        a.store
            .active_override("staging", night())
            .await
            .unwrap()
            .is_none(),
        "an override was stored"
    );
}

/// Liveness needs no token.
#[tokio::test]
async fn healthz_answers_without_auth() {
    let r = call(&app(), "GET", "/healthz", None, None).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "ok\n"));
}

/// Missing, malformed and wrong tokens are 401 with a reason and a Bearer challenge.
#[tokio::test]
async fn every_auth_failure_is_401_with_a_reason() {
    let a = app();
    for (header_token, expect) in [
        (None, "missing Authorization"),
        (Some("not-a-known-token-123"), "unknown or revoked token"),
    ] {
        let r = call(&a, "GET", "/v1/environments", header_token, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(
            r.body["error"].as_str().unwrap().contains(expect),
            "{}",
            r.text
        );
        assert_eq!(
            r.headers[header::WWW_AUTHENTICATE],
            "Bearer realm=\"lightsout\""
        );
    }
    let req = Request::builder()
        .uri("/v1/environments")
        .header(header::AUTHORIZATION, "Basic abc")
        .body(Body::empty())
        .unwrap();
    let resp = router(a.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

/// A token scoped to other environments gets the same 404 as for an environment that does not
/// exist (a 403 would tell it which names exist), and sees only its own in the list.
#[tokio::test]
async fn token_for_another_environment_gets_404_like_an_unknown_one() {
    let a = app();
    let r = wake(&a, BOB, "staging", json!({"for": "1h"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(r.body["error"], "no environment \"staging\"");
    let unknown = wake(&a, BOB, "nope", json!({"for": "1h"})).await;
    assert_eq!(unknown.body["error"], "no environment \"nope\"");
    let r = call(&a, "GET", "/v1/environments/staging", Some(BOB), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = call(&a, "GET", "/v1/environments", Some(BOB), None).await;
    let names: Vec<&str> = r.body["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["preview"]);
    assert_no_override(&a).await;
}

/// The auth scheme is case-insensitive (RFC 9110): `bearer` and `BEARER` work like `Bearer`.
#[tokio::test]
async fn bearer_scheme_is_case_insensitive() {
    let a = app();
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let req = Request::builder()
            .uri("/v1/environments")
            .header(header::AUTHORIZATION, format!("{scheme} {ALICE}"))
            .body(Body::empty())
            .unwrap();
        let resp = router(a.clone()).oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{scheme}");
    }
}

/// Every rejection is the one JSON shape, the framework's own too: a method the route does not
/// take (405, with `Allow`), a path segment that is not UTF-8 (400, after authentication: without
/// a token it is 401 and says nothing about the path), an over-long URI (414).
#[tokio::test]
async fn framework_rejections_are_json_and_come_after_authentication() {
    let a = app();
    let json_error = |r: &Resp, status: StatusCode| {
        assert_eq!(r.status, status, "{}", r.text);
        assert_eq!(
            r.headers[header::CONTENT_TYPE],
            "application/json",
            "{status}: {}",
            r.text
        );
        assert!(
            r.body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{status}: {}",
            r.text
        );
    };
    let r = call(&a, "DELETE", "/v1/environments/staging", Some(ALICE), None).await;
    json_error(&r, StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.headers.contains_key(header::ALLOW));
    let r = call(&a, "PUT", "/healthz", None, None).await;
    json_error(&r, StatusCode::METHOD_NOT_ALLOWED);
    let r = call(&a, "GET", "/v1/environments/%FF", Some(ALICE), None).await;
    json_error(&r, StatusCode::BAD_REQUEST);
    let r = call(&a, "GET", "/v1/environments/%FF", None, None).await;
    json_error(&r, StatusCode::UNAUTHORIZED);
    assert!(!r.text.contains("FF"), "{}", r.text);
    let r = call(&a, "DELETE", "/v1/environments/staging", None, None).await;
    json_error(&r, StatusCode::UNAUTHORIZED);
    let long = format!("/v1/environments/{}", "a".repeat(9000));
    let r = call(&a, "GET", &long, Some(ALICE), None).await;
    json_error(&r, StatusCode::URI_TOO_LONG);
}

/// An unauthenticated request is refused on its headers: a body it declares and never sends is
/// not waited for.
#[tokio::test]
async fn unauthenticated_request_is_refused_before_its_body_is_read() {
    let a = app();
    let never = futures_util::stream::pending::<Result<axum::body::Bytes, std::io::Error>>();
    let req = Request::post("/v1/environments/staging/wake")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, "20000")
        .body(Body::from_stream(never))
        .unwrap();
    let resp = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        router(a.clone()).oneshot(req),
    )
    .await
    .expect("answered without waiting for the body")
    .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

/// An authenticated body that stops coming is cut at the request timeout with a JSON 408 that
/// closes the connection, and nothing is changed.
#[tokio::test]
async fn stalled_body_is_cut_at_the_request_timeout() {
    let a = {
        let tokens = Tokens::parse(&format!("alice {ALICE}")).unwrap();
        let mut api = lightsout::api::ApiState::new(
            Arc::new(lightsout::service::Service::new(
                cfg(),
                EmptyCloud,
                Arc::new(SqliteStore::in_memory().unwrap()),
                Arc::new(ManualClock::new(night())),
                "test".into(),
            )),
            tokens,
        );
        api.http.request_timeout = std::time::Duration::from_millis(300);
        Arc::new(api)
    };
    let first = futures_util::stream::iter([Ok::<_, std::io::Error>(
        axum::body::Bytes::from_static(b"{\"for\":"),
    )]);
    let never = futures_util::StreamExt::chain(first, futures_util::stream::pending());
    let req = Request::post("/v1/environments/staging/wake")
        .header(header::AUTHORIZATION, format!("Bearer {ALICE}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, "2000")
        .body(Body::from_stream(never))
        .unwrap();
    let resp = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        router(a.clone()).oneshot(req),
    )
    .await
    .expect("cut at the request timeout")
    .unwrap();
    assert_eq!(resp.status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(resp.headers()[header::CONNECTION], "close");
    let bytes = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert!(v["error"].as_str().unwrap().contains("0.3 s"), "{v}");
    assert_no_override(&a).await;
}

/// The page may not be framed, sniffed, or run any script but its own.
#[tokio::test]
async fn page_sends_csp_frame_and_nosniff_headers() {
    let r = call(&app(), "GET", "/", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["x-frame-options"], "DENY");
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    for want in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "connect-src 'self'",
        // The page's script and stylesheet are its own files; nothing inline is allowed.
        "script-src 'self';",
        "style-src 'self';",
    ] {
        assert!(csp.contains(want), "{want} not in {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    let api = call(&app(), "GET", "/v1/environments", Some(ALICE), None).await;
    assert_eq!(api.headers["x-content-type-options"], "nosniff");
}

/// A store whose file was removed under the running service: `/healthz` says unhealthy (503,
/// naming the file) and a wake is refused with 503 — never a 202 that the next restart loses.
#[tokio::test]
async fn removed_store_file_makes_healthz_unhealthy_and_wakes_503() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let a = app_with(Arc::new(SqliteStore::open(&path).unwrap()), night());
    let r = call(&a, "GET", "/healthz", None, None).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "ok\n"));
    std::fs::remove_file(&path).unwrap();
    let r = call(&a, "GET", "/healthz", None, None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert!(
        r.body["error"].as_str().unwrap().contains("state.db"),
        "{}",
        r.text
    );
    let r = wake(&a, ALICE, "staging", json!({"for": "1h"})).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
}

/// Unknown environments and routes are 404 with JSON.
#[tokio::test]
async fn unknown_environment_is_404() {
    let a = app();
    let r = wake(&a, ALICE, "nope", json!({"for": "1h"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["error"], "no environment \"nope\"");
    assert_eq!(
        call(&a, "GET", "/v2/else", Some(ALICE), None).await.status,
        StatusCode::NOT_FOUND
    );
}

/// A wake stores an override by the caller, audits it, and answers 202 with the override.
#[tokio::test]
async fn wake_creates_an_override_and_answers_202() {
    let a = app();
    let r = wake(
        &a,
        ALICE,
        "staging",
        json!({"for": "2h", "reason": "hotfix"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.body["override"]["by"], "alice");
    assert_eq!(r.body["override"]["until"], "2026-12-03T00:00:00Z");
    assert_eq!(r.body["override"]["reason"], "hotfix");
    let ov = a
        .store
        .active_override("staging", night())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ov.hold, Hold::Awake);
    let audit = a.store.audit(Some("staging"), 5).await.unwrap();
    assert_eq!(
        (
            audit[0].actor.as_str(),
            audit[0].action.to_string().as_str()
        ),
        ("alice", "wake for 2h")
    );
    let r = call(&a, "GET", "/v1/environments/staging", Some(ALICE), None).await;
    assert_eq!(r.body["awake"], true);
    assert!(
        r.body["why"]
            .as_str()
            .unwrap()
            .contains("override by alice: hotfix"),
        "{}",
        r.text
    );
}

/// Durations that are negative, absurd, unknown or over the limit are 400 with the reason.
#[tokio::test]
async fn bad_durations_are_400_with_the_limit() {
    let a = app();
    for (d, expect) in [
        ("-1h", "not a duration"),
        ("10y", "unknown unit"),
        ("2 fortnights", "unknown unit"),
        ("0h", "zero"),
        ("5h", "longest wake for staging (4h"),
    ] {
        let r = wake(&a, ALICE, "staging", json!({"for": d})).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{d}: {}", r.text);
        assert!(
            r.body["error"].as_str().unwrap().contains(expect),
            "{d}: {}",
            r.text
        );
    }
    assert_no_override(&a).await;
}

/// Wrong content type 415, malformed or unknown JSON 400, huge body 413; nothing changes.
#[tokio::test]
async fn malformed_requests_are_refused_with_the_right_status() {
    let a = app();
    let path = "/v1/environments/staging/wake";
    let cases: Vec<(&str, Vec<u8>, StatusCode)> = vec![
        (
            "text/plain",
            b"{\"for\":\"1h\"}".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "application/json",
            b"{\"for\":".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "application/json",
            b"{\"for\":\"1h\",\"until\":\"x\"}".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        ("application/json", b"".to_vec(), StatusCode::BAD_REQUEST),
        (
            "application/json",
            vec![b' '; BODY_LIMIT + 1],
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (ct, body, status) in cases {
        let r = call(&a, "POST", path, Some(ALICE), Some((ct, body))).await;
        assert_eq!(r.status, status, "{}", r.text);
        assert!(r.body["error"].is_string(), "{}", r.text);
    }
    assert_no_override(&a).await;
}

/// Two wakes at the same instant leave one override: the later end.
#[tokio::test]
async fn concurrent_wakes_leave_one_override_with_the_later_end() {
    let a = app();
    let (r1, r2) = tokio::join!(
        wake(&a, ALICE, "staging", json!({"for": "3h"})),
        wake(&a, ALICE, "staging", json!({"for": "1h"}))
    );
    assert_eq!(
        (r1.status, r2.status),
        (StatusCode::ACCEPTED, StatusCode::ACCEPTED)
    );
    let ov = a
        .store
        .active_override("staging", night())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ov.until,
        "2026-12-03T01:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    let r = wake(&a, ALICE, "staging", json!({"for": "1h"})).await;
    assert_eq!(
        r.body["override"]["until"], "2026-12-03T01:00:00Z",
        "a shorter wake does not cut a longer one"
    );
    assert_eq!(r.body["extended"], false);
}

/// Sleeping ends a wake early; inside a window it sleeps until the next scheduled start.
#[tokio::test]
async fn sleep_ends_a_wake_or_holds_until_the_next_start() {
    let a = app();
    wake(&a, ALICE, "staging", json!({"for": "2h"})).await;
    let r = call(
        &a,
        "POST",
        "/v1/environments/staging/sleep",
        Some(ALICE),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.body["ended"]["by"], "alice");
    assert!(r.body["override"].is_null());
    // Thursday 10:00, inside the window: asleep until Friday 07:00.
    let day = app_with(
        Arc::new(SqliteStore::in_memory().unwrap()),
        "2026-12-03T10:00:00Z".parse().unwrap(),
    );
    let r = call(
        &day,
        "POST",
        "/v1/environments/staging/sleep",
        Some(ALICE),
        Some(("application/json", b"{\"reason\":\"demo over\"}".to_vec())),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.body["override"]["hold"], "asleep");
    assert_eq!(r.body["override"]["until"], "2026-12-04T07:00:00Z");
}

/// State-changing requests are limited per identity: 429 with Retry-After.
#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let a = app();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(wake(&a, ALICE, "staging", json!({"for": "1h"})).await);
    }
    assert!(
        statuses[..5]
            .iter()
            .all(|r| r.status == StatusCode::ACCEPTED)
    );
    let last = &statuses[5];
    assert_eq!(last.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        last.headers[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    // Another identity is not affected.
    assert_eq!(
        wake(&a, BOB, "preview", json!({"for": "1h"})).await.status,
        StatusCode::ACCEPTED
    );
}

/// A store that cannot be reached fails the request with 503; it never pretends.
#[tokio::test]
async fn unavailable_store_is_503() {
    let a = app_with(Arc::new(BrokenStore), night());
    let r = wake(&a, ALICE, "staging", json!({"for": "1h"})).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert!(
        r.body["error"]
            .as_str()
            .unwrap()
            .contains("nothing was changed")
    );
    assert_eq!(
        call(&a, "GET", "/v1/environments", Some(ALICE), None)
            .await
            .status,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

/// The page has the buttons and no token in its source.
#[tokio::test]
async fn page_has_buttons_and_no_token() {
    let r = call(&app(), "GET", "/", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains("<script src=\"/page.js\""), "{}", r.text);
    assert!(!r.text.contains(ALICE) && !r.text.contains(BOB));
    let js = call(&app(), "GET", "/page.js", None, None).await;
    assert_eq!(js.status, StatusCode::OK);
    for needle in ["Wake ${x}h", "Sleep now", "sessionStorage"] {
        assert!(js.text.contains(needle), "{needle}");
    }
    assert!(!js.text.contains(ALICE) && !js.text.contains(BOB));
}

/// Refusals are counted in /metrics.
#[tokio::test]
async fn metrics_count_refusals() {
    let a = app();
    call(&a, "GET", "/v1/environments", None, None).await;
    let r = call(&a, "GET", "/metrics", None, None).await;
    assert!(
        r.text
            .contains("lightsout_api_errors_total{status=\"401\"} 1"),
        "{}",
        r.text
    );
    assert!(r.text.contains("lightsout_environments 2"), "{}", r.text);
}

/// A store whose every call fails.
struct BrokenStore;

fn down<T: Send + 'static>() -> BoxFuture<'static, Result<T, StoreError>> {
    async { Err(StoreError("connection refused".into())) }.boxed()
}

impl Store for BrokenStore {
    fn active_override(
        &self,
        _: &str,
        _: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<Override>, StoreError>> {
        down()
    }
    fn put_override(&self, _: Override) -> BoxFuture<'_, Result<Put, StoreError>> {
        down()
    }
    fn clear_override(
        &self,
        _: &str,
        _: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<Override>, StoreError>> {
        down()
    }
    fn record(&self, _: Vec<AuditEvent>) -> BoxFuture<'_, Result<(), StoreError>> {
        down()
    }
    fn audit(
        &self,
        _: Option<&str>,
        _: usize,
    ) -> BoxFuture<'_, Result<Vec<AuditEvent>, StoreError>> {
        down()
    }
    fn audit_since(
        &self,
        _: &str,
        _: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Vec<AuditEvent>, StoreError>> {
        down()
    }
    fn acquire_lease(
        &self,
        _: &str,
        _: &str,
        _: DateTime<Utc>,
        _: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<bool, StoreError>> {
        down()
    }
    fn renew_lease(
        &self,
        _: &str,
        _: &str,
        _: DateTime<Utc>,
        _: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<bool, StoreError>> {
        down()
    }
    fn lease_holder(
        &self,
        _: &str,
        _: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<LeaseHolder>, StoreError>> {
        down()
    }
    fn release_lease(&self, _: &str, _: &str) -> BoxFuture<'_, Result<(), StoreError>> {
        down()
    }
    fn cache_get(
        &self,
        _: &str,
        _: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<Option<String>, StoreError>> {
        down()
    }
    fn cache_put(
        &self,
        _: &str,
        _: &str,
        _: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        down()
    }
    fn claim_once(
        &self,
        _: &str,
        _: DateTime<Utc>,
        _: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<bool, StoreError>> {
        down()
    }
    fn health(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        down()
    }
}

mod slack {
    use super::*;
    use lightsout::api::slack::SlackVerifier;

    const SECRET: &str = "slack-signing-secret-for-tests";

    fn slack_app() -> Arc<lightsout::api::ApiState<EmptyCloud>> {
        slack_app_on(Arc::new(SqliteStore::in_memory().unwrap()))
    }

    fn slack_app_on(store: Arc<dyn Store>) -> Arc<lightsout::api::ApiState<EmptyCloud>> {
        let tokens = Tokens::parse(&format!("alice {ALICE}")).unwrap();
        let mut app = lightsout::api::ApiState::new(
            Arc::new(lightsout::service::Service::new(
                cfg(),
                EmptyCloud,
                store,
                Arc::new(ManualClock::new(night())),
                "test".into(),
            )),
            tokens,
        );
        app.slack = Some(SlackVerifier::new(SECRET));
        Arc::new(app)
    }

    async fn slash<C: lightsout::ports::Cloud + 'static>(
        app: &Arc<lightsout::api::ApiState<C>>,
        text: &str,
        ts: i64,
        tamper: bool,
    ) -> Resp {
        slash_as(app, "carol", text, ts, tamper).await
    }

    async fn slash_as<C: lightsout::ports::Cloud + 'static>(
        app: &Arc<lightsout::api::ApiState<C>>,
        user: &str,
        text: &str,
        ts: i64,
        tamper: bool,
    ) -> Resp {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("command", "/staging")
            .append_pair("user_name", user)
            .append_pair("user_id", "U1")
            .append_pair("text", text)
            .finish();
        let sig = SlackVerifier::new(SECRET).sign(&ts.to_string(), body.as_bytes());
        let sent = if tamper {
            body.replace(user, "mallory")
        } else {
            body
        };
        let req = Request::builder()
            .method("POST")
            .uri("/v1/slack/command")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("X-Slack-Request-Timestamp", ts.to_string())
            .header("X-Slack-Signature", sig)
            .body(Body::from(sent))
            .unwrap();
        let resp = router(app.clone()).oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Resp {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    /// A cloud that cannot be observed (every describe times out).
    struct BlindCloud;

    impl lightsout::ports::Cloud for BlindCloud {
        async fn observe(
            &self,
            _env: &lightsout::model::Environment,
        ) -> lightsout::kinds::Observation {
            lightsout::kinds::Observation {
                errors: vec![(
                    lightsout::kinds::Kind::Rds,
                    "rds instances: DescribeDBInstances failed: no answer in time (timed out)"
                        .into(),
                )],
                ..Default::default()
            }
        }
        async fn execute(
            &self,
            _env: &lightsout::model::Environment,
            _step: &lightsout::kinds::Step,
        ) -> Result<(), lightsout::ports::CloudError> {
            Ok(())
        }
    }

    /// While observation fails, the environment is `unknown` — never a guessed "asleep" — in
    /// the API, in Slack's answer (with the reason and since when) and in `/metrics`.
    #[tokio::test]
    async fn unknown_is_said_as_unknown_everywhere() {
        let tokens = Tokens::parse(&format!("alice {ALICE}")).unwrap();
        let mut app = lightsout::api::ApiState::new(
            Arc::new(lightsout::service::Service::new(
                cfg(),
                BlindCloud,
                Arc::new(SqliteStore::in_memory().unwrap()),
                Arc::new(ManualClock::new(night())),
                "test".into(),
            )),
            tokens,
        );
        app.slack = Some(SlackVerifier::new(SECRET));
        let a = Arc::new(app);
        a.reconcile_all().await;
        a.reconcile_all().await;
        let r = slash(&a, "status", night().timestamp(), false).await;
        let text = r.body["text"].as_str().unwrap_or_default().to_string();
        assert!(text.contains("unknown since"), "{text}");
        assert!(text.contains("DescribeDBInstances failed"), "{text}");
        let req = Request::get("/v1/environments/staging")
            .header(header::AUTHORIZATION, format!("Bearer {ALICE}"))
            .body(Body::empty())
            .unwrap();
        let resp = router(a.clone()).oneshot(req).await.unwrap();
        let bytes = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["state"], "unknown", "{v}");
        assert_eq!(v["unknown"]["since"], "2026-12-02T22:00:00Z", "{v}");
        let req = Request::get("/metrics").body(Body::empty()).unwrap();
        let resp = router(a.clone()).oneshot(req).await.unwrap();
        let bytes = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        let m = String::from_utf8_lossy(&bytes);
        assert!(
            m.contains("lightsout_observation_failures_total{env=\"staging\"} 2"),
            "{m}"
        );
    }

    /// `/staging wake 2h reason` wakes staging, says so to the channel, and audits the Slack user.
    #[tokio::test]
    async fn slash_wake_status_and_sleep() {
        let a = slack_app();
        let ts = night().timestamp();
        let r = slash(&a, "wake 2h release check", ts, false).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["response_type"], "in_channel");
        assert!(
            r.body["text"]
                .as_str()
                .unwrap()
                .starts_with("carol woke *staging* until Thu 00:00 UTC"),
            "{}",
            r.text
        );
        let ov = a
            .store
            .active_override("staging", night())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (ov.by.as_str(), ov.reason.as_str()),
            ("slack:carol", "release check")
        );
        let r = slash(&a, "status", ts + 1, false).await;
        assert_eq!(r.body["response_type"], "ephemeral");
        assert!(
            r.body["text"]
                .as_str()
                .unwrap()
                .contains("override by slack:carol"),
            "{}",
            r.text
        );
        let r = slash(&a, "wake 9h", ts + 2, false).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            r.body["text"]
                .as_str()
                .unwrap()
                .contains("longest wake for staging (4h"),
            "{}",
            r.text
        );
        let r = slash(&a, "sleep", ts + 3, false).await;
        assert!(
            r.body["text"]
                .as_str()
                .unwrap()
                .contains("carol put *staging* back on its schedule"),
            "{}",
            r.text
        );
        assert_no_override(&a).await;
    }

    /// Wrong, stale and replayed signatures are 401 and change nothing.
    #[tokio::test]
    async fn bad_stale_and_replayed_slack_requests_are_401() {
        let a = slack_app();
        let ts = night().timestamp();
        let r = slash(&a, "wake 1h", ts, true).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(
            r.body["error"].as_str().unwrap().contains("bad signature"),
            "{}",
            r.text
        );
        let r = slash(&a, "wake 1h", ts - 301, false).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(
            r.body["error"].as_str().unwrap().contains("stale"),
            "{}",
            r.text
        );
        assert_no_override(&a).await;
        assert_eq!(slash(&a, "status", ts, false).await.status, StatusCode::OK);
        let r = slash(&a, "status", ts, false).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(
            r.body["error"].as_str().unwrap().contains("replayed"),
            "{}",
            r.text
        );
    }

    /// Without a signing secret the route says so.
    #[tokio::test]
    async fn unconfigured_slack_is_404_with_the_fix() {
        let r = call(
            &app(),
            "POST",
            "/v1/slack/command",
            None,
            Some(("application/x-www-form-urlencoded", b"text=status".to_vec())),
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert!(
            r.body["error"]
                .as_str()
                .unwrap()
                .contains("LIGHTSOUT_SLACK_SIGNING_SECRET")
        );
    }

    /// A signed request is used once, whatever copy or restart sees it again: the replay is
    /// refused by a second service on the same store file, and after a restart.
    #[tokio::test]
    async fn slack_replay_is_refused_across_copies_and_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let ts = night().timestamp();
        let first = slack_app_on(Arc::new(SqliteStore::open(&path).unwrap()));
        assert_eq!(
            slash(&first, "status", ts, false).await.status,
            StatusCode::OK
        );
        let copy = slack_app_on(Arc::new(SqliteStore::open(&path).unwrap()));
        let r = slash(&copy, "status", ts, false).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
        assert!(r.text.contains("replayed"), "{}", r.text);
        drop((first, copy));
        let restarted = slack_app_on(Arc::new(SqliteStore::open(&path).unwrap()));
        let r = slash(&restarted, "status", ts, false).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
        assert!(r.text.contains("replayed"), "{}", r.text);
    }

    /// What a user typed is echoed as text: `<!channel>` is no ping and `<https://evil|click>`
    /// no disguised link, in the reason, the user name and the error messages.
    #[tokio::test]
    async fn slack_echo_escapes_mentions_links_and_ampersands() {
        let a = slack_app();
        let ts = night().timestamp();
        let r = slash_as(
            &a,
            "<!here>",
            "wake 1h <!channel> see <https://evil.example|click> & <@U123>",
            ts,
            false,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["response_type"], "in_channel");
        let text = r.body["text"].as_str().unwrap();
        for bad in ["<!", "<https", "<@", "|click>"] {
            assert!(!text.contains(bad), "{bad} in {text}");
        }
        for good in [
            "&lt;!here&gt; woke",
            "&lt;!channel&gt;",
            "&lt;https://evil.example|click&gt;",
            "&amp; &lt;@U123&gt;",
        ] {
            assert!(text.contains(good), "{good} not in {text}");
        }
        let r = slash(&a, "<!channel> now", ts + 1, false).await;
        let text = r.body["text"].as_str().unwrap();
        assert!(
            text.contains("&lt;!channel&gt;") && !text.contains("<!"),
            "{text}"
        );
        // The override keeps what was typed: escaping is for Slack's text only.
        let ov = a
            .store
            .active_override("staging", night())
            .await
            .unwrap()
            .unwrap();
        assert!(ov.reason.starts_with("<!channel>"), "{}", ov.reason);
    }

    /// A timestamp at the ends of i64 (or past them) is a stale request, not a panic, and is
    /// refused before the signature is looked at.
    #[tokio::test]
    async fn extreme_slack_timestamps_are_stale_not_a_panic() {
        let a = slack_app();
        for ts in [
            "-9223372036854775808",
            "9223372036854775807",
            "99999999999999999999",
        ] {
            let req = Request::post("/v1/slack/command")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header("X-Slack-Request-Timestamp", ts)
                .header("X-Slack-Signature", "v0=00")
                .body(Body::from("text=status"))
                .unwrap();
            let resp = router(a.clone()).oneshot(req).await.unwrap();
            assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{ts}");
        }
    }

    /// A Slack body over the limit is a JSON 413, like everywhere else.
    #[tokio::test]
    async fn oversized_slack_body_is_a_json_413() {
        let a = slack_app();
        let ts = night().timestamp().to_string();
        let body = format!("text={}", "x".repeat(20_000));
        let sig = SlackVerifier::new(SECRET).sign(&ts, body.as_bytes());
        let req = Request::post("/v1/slack/command")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("X-Slack-Request-Timestamp", ts)
            .header("X-Slack-Signature", sig)
            .body(Body::from(body))
            .unwrap();
        let resp = router(a.clone()).oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/json");
        let bytes = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert!(v["error"].as_str().unwrap().contains("16384"), "{v}");
    }
}
