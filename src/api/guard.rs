//! The router's outer layers: what every request meets before a handler, and what every answer
//! carries. Outermost first:
//!
//! 1. [`one_shape`]: every answer of 400 or more is the JSON `{"error": "..."}` — the
//!    framework's own rejections (405, a path segment that is not UTF-8, ...) included — and
//!    every answer carries `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY` and a
//!    `Content-Security-Policy` (a page's allows this origin's files and its inline blocks, if any,
//!    by hash; the shipped page has none).
//! 2. [`admit`]: a URI over [`MAX_URI`] is 414; the API's routes are authenticated on their
//!    headers — the bearer token for `/v1/environments...`, Slack's timestamp for the slash
//!    command — before a byte of the body is read, so a client that declares a body and never
//!    sends it is refused at once, and a path error is never answered before authentication.
//! 3. [`read_body`]: the body arrives whole within the request timeout and under
//!    [`super::BODY_LIMIT`], or the request is refused (408, 413); handlers read it from memory.
//!
//! The socket's own limits (header-read timeout, connection cap, shutdown) are the daemon's:
//! [`HttpLimits`] carries them to it.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::{ApiError, ApiState, BODY_LIMIT, identify, slack::SlackVerifier};
use crate::ports::Cloud;

/// The longest URI (path and query) the API takes.
pub const MAX_URI: usize = 8 * 1024;

/// The HTTP limits of a server: the router applies the request timeout; the daemon applies the
/// rest to its sockets.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// The longest a connection may take to send a request's head (request line and headers),
    /// counted from when the server is ready to read it: an idle keep-alive connection is closed
    /// after it too.
    pub header_timeout: Duration,
    /// The longest a request's body may take to arrive once its head has, and the longest an
    /// answer may wait for a client that does not read it.
    pub request_timeout: Duration,
    /// The most connections held at once (lowered to fit the process's open-file limit). Past
    /// it, the connection idle the longest is closed to make room; when none is idle, the new
    /// one is refused with 503.
    pub max_connections: usize,
    /// How long a shutdown waits for requests already being handled; idle connections and
    /// requests still arriving are closed at once.
    pub shutdown_grace: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 512,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// Whether `path` is one of the bearer-authenticated API routes (or under them).
fn bearer_route(path: &str) -> bool {
    path == "/v1/environments" || path.starts_with("/v1/environments/")
}

/// Refuses what can be refused on the head alone: an over-long URI, a missing or unknown bearer
/// token, a Slack request without a fresh timestamp. Nothing here reads the body.
pub(super) async fn admit<C: Cloud + 'static>(
    State(api): State<Arc<ApiState<C>>>,
    req: Request,
    next: Next,
) -> Response {
    let app = &api.service;
    let uri_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri_len > MAX_URI {
        return app
            .counted(ApiError::UriTooLong(format!(
                "the URI is {uri_len} bytes long; the API takes at most {MAX_URI}"
            )))
            .into_response();
    }
    let path = req.uri().path();
    if bearer_route(path) {
        if let Err(e) = identify(&api, req.headers()) {
            return app.counted(e).into_response();
        }
    } else if (path == "/v1/slack/command" || path == "/v1/slack/interactive")
        && req.method() == Method::POST
    {
        if api.slack.is_none() {
            return app
                .counted(ApiError::NotFound(
                    "the Slack app is not configured (set LIGHTSOUT_SLACK_SIGNING_SECRET)".into(),
                ))
                .into_response();
        }
        let ts = req
            .headers()
            .get("x-slack-request-timestamp")
            .and_then(|v| v.to_str().ok());
        let signed = req.headers().contains_key("x-slack-signature");
        let checked =
            SlackVerifier::check_timestamp(ts, app.clock.now().timestamp()).and_then(|()| {
                if signed {
                    Ok(())
                } else {
                    Err("missing X-Slack-Signature header".into())
                }
            });
        if let Err(why) = checked {
            return app
                .counted(ApiError::Unauthorized(format!(
                    "Slack request refused: {why}"
                )))
                .into_response();
        }
    }
    next.run(req).await
}

/// Reads the body into memory within the request timeout and the size limit, then hands the
/// request on with it.
pub(super) async fn read_body<C: Cloud + 'static>(
    State(api): State<Arc<ApiState<C>>>,
    req: Request,
    next: Next,
) -> Response {
    let app = &api.service;
    let too_large = || {
        app.counted(ApiError::TooLarge(format!(
            "request body is larger than {BODY_LIMIT} bytes"
        )))
        .into_response()
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
        return too_large();
    }
    let limit = api.http.request_timeout;
    let (parts, body) = req.into_parts();
    let mut stream = body.into_data_stream();
    let mut buf: Vec<u8> = Vec::new();
    let read = tokio::time::timeout(limit, async {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk
                .map_err(|e| ApiError::BadRequest(format!("cannot read the request body: {e}")))?;
            if buf.len() + chunk.len() > BODY_LIMIT {
                return Err(ApiError::TooLarge(format!(
                    "request body is larger than {BODY_LIMIT} bytes"
                )));
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(())
    })
    .await;
    match read {
        Ok(Ok(())) => {
            next.run(Request::from_parts(parts, Body::from(Bytes::from(buf))))
                .await
        }
        Ok(Err(ApiError::TooLarge(_))) => too_large(),
        Ok(Err(e)) => app.counted(e).into_response(),
        Err(_) => app
            .counted(ApiError::RequestTimeout(format!(
                "the request body did not arrive within {} s",
                limit.as_secs_f64()
            )))
            .into_response(),
    }
}

/// Puts every error answer in the one JSON shape, and the security headers on every answer.
pub(super) async fn one_shape<C: Cloud + 'static>(
    State(api): State<Arc<ApiState<C>>>,
    req: Request,
    next: Next,
) -> Response {
    let resp = next.run(req).await;
    // A page made on purpose (the front door's waiting page is a 503 for people) is left as
    // it is; the framework's own rejections are plain text or empty.
    let resp = if resp.status().as_u16() >= 400 && !is_json(&resp) && !is_html(&resp) {
        let resp = reshape(resp).await;
        api.service
            .count(&ApiError::Framework(resp.status(), String::new()));
        resp
    } else {
        resp
    };
    secure(resp).await
}

fn is_html(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

fn is_json(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// A framework rejection (plain text or empty) as the JSON error, keeping the headers that say
/// what to do (`WWW-Authenticate`, `Retry-After`).
async fn reshape(resp: Response) -> Response {
    let status = resp.status();
    let (parts, body) = resp.into_parts();
    let said = axum::body::to_bytes(body, 2048)
        .await
        .ok()
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .filter(|s| !s.is_empty());
    // (axum adds `Allow` to a 405 outside this layer, after it.)
    let message = match (status, said) {
        (StatusCode::METHOD_NOT_ALLOWED, _) => {
            "method not allowed on this route: the Allow header lists what it takes".to_string()
        }
        (_, Some(said)) => said,
        (_, None) => status
            .canonical_reason()
            .unwrap_or("refused")
            .to_lowercase(),
    };
    let mut fresh = ApiError::Framework(status, message).into_response();
    for name in [header::WWW_AUTHENTICATE, header::RETRY_AFTER] {
        if let Some(v) = parts.headers.get(&name) {
            fresh.headers_mut().insert(name, v.clone());
        }
    }
    fresh
}

/// The security headers; a page (HTML) gets a policy that allows only its own inline script and
/// style (by their SHA-256) and calls to this origin.
async fn secure(resp: Response) -> Response {
    let (policy, mut resp) = if is_html(&resp) {
        let (parts, body) = resp.into_parts();
        match axum::body::to_bytes(body, 1 << 20).await {
            Ok(bytes) => {
                let policy = page_policy(&String::from_utf8_lossy(&bytes));
                (policy, Response::from_parts(parts, Body::from(bytes)))
            }
            Err(_) => (
                NO_CONTENT_POLICY.to_string(),
                ApiError::Framework(StatusCode::INTERNAL_SERVER_ERROR, "page unavailable".into())
                    .into_response(),
            ),
        }
    } else {
        (NO_CONTENT_POLICY.to_string(), resp)
    };
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if let Ok(v) = HeaderValue::from_str(&policy) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    resp
}

/// For answers that are not pages: nothing may load from them, nothing may frame them.
const NO_CONTENT_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// The policy of a page: its inline `<script>` and `<style>` blocks by hash, calls to this
/// origin, no framing, no plugins, no `<base>`.
fn page_policy(html: &str) -> String {
    let hashes = |tag: &str| {
        inline_blocks(html, tag)
            .map(|b| format!(" 'sha256-{}'", base64(&Sha256::digest(b.as_bytes()))))
            .collect::<String>()
    };
    format!(
        "default-src 'none'; script-src 'self'{}; style-src 'self'{}; connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        hashes("script"),
        hashes("style")
    )
}

/// The contents of each inline `<tag ...>...</tag>` element of `html`, as the browser hashes it.
fn inline_blocks<'a>(html: &'a str, tag: &str) -> impl Iterator<Item = &'a str> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut rest = html;
    std::iter::from_fn(move || {
        loop {
            let start = rest.find(&open)?;
            let after = &rest[start + open.len()..];
            // `<scripts>` is not `<script>`.
            if !after.starts_with(['>', ' ', '\t', '\n', '\r']) {
                rest = after;
                continue;
            }
            let body_at = after.find('>')? + 1;
            let body = &after[body_at..];
            let end = body.find(&close)?;
            rest = &body[end + close.len()..];
            // `<script src="...">` loads a file (allowed by 'self'): nothing inline to hash.
            if after[..body_at].contains(" src=") {
                continue;
            }
            return Some(&body[..end]);
        }
    })
}

/// Standard base64 with padding (what CSP hashes are written in).
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CSP hashes are standard base64 with padding.
    #[test]
    fn base64_matches_the_standard_alphabet_with_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    }

    /// The page's policy names each inline script and style by the SHA-256 of its text, and
    /// allows no inline code otherwise.
    #[test]
    fn page_policy_hashes_each_inline_block() {
        let html = "<style>b{}</style><script>alert(1)</script><scripts>x</scripts><script src=\"/page.js\" defer></script><script type=\"module\">m()</script>";
        let p = page_policy(html);
        let h = |s: &str| format!("'sha256-{}'", base64(&Sha256::digest(s.as_bytes())));
        assert!(
            p.contains(&format!(
                "script-src 'self' {} {};",
                h("alert(1)"),
                h("m()")
            )),
            "{p}"
        );
        assert!(
            p.contains(&format!("style-src 'self' {};", h("b{}"))),
            "{p}"
        );
        assert!(!p.contains("unsafe"), "{p}");
        // The shipped page has no inline script or style (it loads /page.js and /page.css):
        // its policy allows this origin's files only (tests/page_browser.rs runs it in
        // Chromium under this policy).
        let page = page_policy(super::super::page::PAGE);
        assert_eq!(page.matches("'sha256-").count(), 0, "{page}");
        assert!(
            page.contains("script-src 'self'; style-src 'self';"),
            "{page}"
        );
    }
}
