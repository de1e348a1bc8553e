//! The daemon's HTTP server: hyper's HTTP/1.1 on every accepted connection, under the limits an
//! open port needs ([`HttpLimits`]; `axum::serve` sets none of them).
//!
//! - **Heads in time.** A request's head must arrive within the header timeout, counted from
//!   when the connection is ready for it (hyper's `header_read_timeout`): a slowloris client, or
//!   a keep-alive connection left idle, is closed after it. The body's own deadline is the
//!   router's (`api::guard`), which also authenticates on the head before reading any body.
//! - **Answers read in time.** A write that makes no progress for the request timeout (a client
//!   that does not read its answer) ends the connection.
//! - **A cap.** At most `max_connections` at once, lowered to the process's open-file limit less
//!   [`RESERVE`] (the store, AWS calls, logs). A new connection past the cap closes the one idle
//!   the longest (waiting for a head: new, between requests, or sending one slowly); when every
//!   held connection is busy, the new one gets a JSON 503. So an idle flood cannot starve the
//!   process of files, and `/healthz` keeps answering through one.
//! - **One error shape.** hyper answers a request it cannot parse itself (400, 414, 431) with an
//!   empty body; those answers are rewritten on their way out into the API's JSON error.
//! - **Prompt shutdown.** No connection is accepted after the stop signal; connections idle or
//!   still sending a request are closed at once (nothing of theirs was acted on); requests being
//!   handled get the shutdown grace, then everything left is dropped.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};

use crate::api::{ApiState, HttpLimits};
use crate::metrics::Connections;
use crate::ports::Cloud;

/// Files kept free for everything but connections: the store (3 for SQLite in WAL mode), AWS
/// connections, logs, the listener.
pub const RESERVE: u64 = 64;

/// The most a request head may take in memory (hyper's read buffer): past it, 431.
const MAX_HEAD: usize = 64 * 1024;

/// Serves `api`'s router on `listener` until `stop` turns true (or its sender goes away), then
/// closes every connection within the shutdown grace.
pub async fn serve_http<C: Cloud + 'static>(
    api: Arc<ApiState<C>>,
    listener: TcpListener,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let limits = api.http;
    let router = crate::api::router(api.clone());
    let stats = api.service.metrics.connections.clone();
    let nofile = open_file_limit();
    let cap = cap(limits.max_connections, nofile);
    stats.max.store(cap as u64, Ordering::Relaxed);
    tracing::info!(
        max_connections = cap,
        asked = limits.max_connections,
        open_file_limit = nofile.map_or_else(|| "unlimited".to_string(), |n| n.to_string()),
        header_timeout_s = limits.header_timeout.as_secs_f64(),
        request_timeout_s = limits.request_timeout.as_secs_f64(),
        "HTTP limits"
    );
    let held = Arc::new(Held::new(stats.clone()));
    let told = stop.clone();
    let mut tasks = JoinSet::new();
    let refusing = Arc::new(AtomicU64::new(0));
    'serving: loop {
        tokio::select! {
            biased;
            () = async { let _ = stop.wait_for(|s| *s).await; } => break,
            accepted = listener.accept() => match accepted {
                Ok((socket, _peer)) => {
                    // Past the cap, make room: close the connection idle the longest and wait
                    // until it is gone, so the files in use stay within the cap (plus this one).
                    // With none idle, refuse this one.
                    if held.len() >= cap {
                        if !held.evict_oldest_idle() {
                            stats.refused.inc();
                            refuse(socket, &refusing);
                            continue;
                        }
                        while held.len() >= cap {
                            tokio::select! {
                                () = async { let _ = stop.wait_for(|s| *s).await; } => break 'serving,
                                () = held.ended.notified() => {}
                                () = tokio::time::sleep(Duration::from_millis(100)) => {
                                    held.evict_oldest_idle();
                                }
                            }
                        }
                    }
                    let conn = held.add();
                    tasks.spawn(connection(
                        socket,
                        router.clone(),
                        limits,
                        conn,
                        held.clone(),
                        told.clone(),
                    ));
                }
                Err(e) => {
                    // Out of files despite the cap (something else holds them): make room, and
                    // do not spin on an accept that keeps failing.
                    if matches!(e.raw_os_error(), Some(23 | 24)) {
                        held.evict_oldest_idle();
                    }
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    drop(listener);
    // Every connection saw `stop`: idle ones are gone already, handled ones get the grace.
    let deadline = Instant::now() + limits.shutdown_grace + Duration::from_millis(200);
    loop {
        match tokio::time::timeout_at(deadline, tasks.join_next()).await {
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(_) => {
                tracing::warn!(
                    left = tasks.len(),
                    "connections still busy after the shutdown grace: closed"
                );
                tasks.abort_all();
                break;
            }
        }
    }
    Ok(())
}

/// The cap: what was asked, lowered to the open-file limit less [`RESERVE`].
pub fn cap(asked: usize, open_file_limit: Option<u64>) -> usize {
    let asked = asked.max(1);
    match open_file_limit {
        Some(n) => asked
            .min(usize::try_from(n.saturating_sub(RESERVE)).unwrap_or(usize::MAX))
            .max(1),
        None => asked,
    }
}

/// The soft limit on open files (`None`: unlimited or unknown), from `/proc/self/limits`.
fn open_file_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// At most this many refusals are being said at once; past it a connection is just closed.
const REFUSING: u64 = 16;

/// A JSON 503 to a connection over the cap. The answer is written, the connection half-closed
/// and what the client sent read and dropped for up to a second: closing a socket with unread
/// input resets it, and the client would lose the answer.
fn refuse(mut socket: TcpStream, refusing: &Arc<AtomicU64>) {
    if refusing.fetch_add(1, Ordering::Relaxed) >= REFUSING {
        refusing.fetch_sub(1, Ordering::Relaxed);
        return;
    }
    let refusing = refusing.clone();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let answer = json_answer(
            503,
            "Service Unavailable",
            "too many connections: try again in a moment",
            &[("retry-after", "1")],
        );
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            socket.write_all(&answer).await?;
            socket.shutdown().await?;
            let mut sink = [0u8; 4096];
            while socket.read(&mut sink).await? > 0 {}
            Ok::<(), std::io::Error>(())
        })
        .await;
        refusing.fetch_sub(1, Ordering::Relaxed);
    });
}

/// A whole HTTP/1.1 answer in the API's error shape, closing the connection.
fn json_answer(status: u16, reason: &str, error: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let body = serde_json::json!({ "error": error }).to_string();
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\nx-content-type-options: nosniff\r\n",
        body.len()
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

/// What a connection is doing.
const IDLE: u8 = 0;
/// A request's head came; its body is still arriving.
const READING: u8 = 1;
/// A request is being handled (its body is in).
const HANDLING: u8 = 2;
/// Told to close to make room; still open until its task drops it.
const EVICTED: u8 = 3;

/// One held connection.
struct Conn {
    id: u64,
    phase: AtomicU8,
    /// When it last became idle (for choosing whom to close).
    idle_since: Mutex<Instant>,
    /// Told to close (to make room).
    evict: Notify,
}

impl Conn {
    fn phase(&self) -> u8 {
        self.phase.load(Ordering::Relaxed)
    }

    fn set(&self, phase: u8) {
        if phase == IDLE {
            *self.idle_since.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        }
        // An evicted connection stays evicted (it is on its way out).
        let _ = self
            .phase
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |now| {
                (now != EVICTED).then_some(phase)
            });
    }

    /// The body is in (or was dropped unread): the request is being handled.
    fn body_done(&self) {
        let _ =
            self.phase
                .compare_exchange(READING, HANDLING, Ordering::Relaxed, Ordering::Relaxed);
    }
}

/// The connections held now: every socket open, until its task has dropped it.
struct Held {
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    next: AtomicU64,
    stats: Arc<Connections>,
    /// Told when a connection has been dropped.
    ended: Notify,
}

impl Held {
    fn new(stats: Arc<Connections>) -> Held {
        Held {
            conns: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
            stats,
            ended: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        self.conns.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn len(&self) -> usize {
        self.lock().len()
    }

    fn add(&self) -> Arc<Conn> {
        let conn = Arc::new(Conn {
            id: self.next.fetch_add(1, Ordering::Relaxed),
            phase: AtomicU8::new(IDLE),
            idle_since: Mutex::new(Instant::now()),
            evict: Notify::new(),
        });
        let mut conns = self.lock();
        conns.insert(conn.id, conn.clone());
        self.stats.set_open(conns.len());
        conn
    }

    fn remove(&self, id: u64) {
        let mut conns = self.lock();
        conns.remove(&id);
        self.stats.set_open(conns.len());
        drop(conns);
        self.ended.notify_one();
    }

    /// Tells the connection idle the longest to close (unless one is on its way out already);
    /// `false` when none is idle. Idle: waiting for a request's head — new, between requests,
    /// or sending one too slowly.
    fn evict_oldest_idle(&self) -> bool {
        let conns = self.lock();
        if conns.values().any(|c| c.phase() == EVICTED) {
            return true;
        }
        let oldest = conns
            .values()
            .filter(|c| c.phase() == IDLE)
            .min_by_key(|c| *c.idle_since.lock().unwrap_or_else(|p| p.into_inner()))
            .cloned();
        let Some(victim) = oldest else {
            return false;
        };
        tracing::debug!(
            id = victim.id,
            "closing the connection idle the longest to make room"
        );
        victim.set(EVICTED);
        self.stats.evicted.inc();
        victim.evict.notify_one();
        true
    }
}

/// Serves one connection until it ends, is evicted, or shutdown closes it.
async fn connection(
    socket: TcpStream,
    router: Router,
    limits: HttpLimits,
    conn: Arc<Conn>,
    held: Arc<Held>,
    mut stop: watch::Receiver<bool>,
) {
    if *stop.borrow() {
        held.remove(conn.id);
        return;
    }
    let _ = socket.set_nodelay(true);
    let io = TokioIo::new(Guarded::new(socket, limits.request_timeout));
    let service = Tracked {
        inner: TowerToHyperService::new(router),
        conn: conn.clone(),
    };
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_HEAD);
    let served = builder.serve_connection(io, service);
    tokio::pin!(served);
    let mut grace: Option<Instant> = None;
    loop {
        tokio::select! {
            ended = served.as_mut() => {
                if ended.is_err_and(|e| e.is_timeout()) {
                    held.stats.header_timeouts.inc();
                }
                break;
            }
            _ = conn.evict.notified() => break,
            changed = stop.changed(), if grace.is_none() => {
                if changed.is_ok() && !*stop.borrow() {
                    continue;
                }
                // Idle, or a request still arriving: nothing of it was acted on.
                if conn.phase() != HANDLING {
                    break;
                }
                served.as_mut().graceful_shutdown();
                grace = Some(Instant::now() + limits.shutdown_grace);
            }
            _ = tokio::time::sleep_until(grace.unwrap_or_else(Instant::now)), if grace.is_some() => break,
        }
    }
    held.remove(conn.id);
}

/// The router as hyper's service, keeping the connection's phase.
#[derive(Clone)]
struct Tracked {
    inner: TowerToHyperService<Router>,
    conn: Arc<Conn>,
}

type Answer = axum::response::Response;

impl hyper::service::Service<hyper::Request<Incoming>> for Tracked {
    type Response = Answer;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Answer, Infallible>> + Send>>;

    fn call(&self, req: hyper::Request<Incoming>) -> Self::Future {
        let conn = self.conn.clone();
        let done = req.body().is_end_stream();
        conn.set(if done { HANDLING } else { READING });
        let req = req.map(|inner| Watched {
            inner,
            conn: conn.clone(),
            done,
        });
        let answer = hyper::service::Service::call(&self.inner, req.map(axum::body::Body::new));
        Box::pin(async move {
            let answer = answer.await;
            conn.set(IDLE);
            answer
        })
    }
}

/// A request body that tells its connection when it has all arrived (or was dropped unread).
struct Watched {
    inner: Incoming,
    conn: Arc<Conn>,
    done: bool,
}

impl Watched {
    fn finish(&mut self) {
        if !self.done {
            self.done = true;
            self.conn.body_done();
        }
    }
}

impl hyper::body::Body for Watched {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let frame = Pin::new(&mut this.inner).poll_frame(cx);
        if matches!(frame, Poll::Ready(None | Some(Err(_)))) || this.inner.is_end_stream() {
            this.finish();
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The socket as hyper sees it: writes that stall past the request timeout fail, and hyper's
/// own answers to requests it cannot parse are rewritten into the JSON error shape.
struct Guarded {
    io: TcpStream,
    stall: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
    /// A rewritten answer still to be written (hyper was told its own was).
    pending: Vec<u8>,
}

impl Guarded {
    fn new(io: TcpStream, stall: Duration) -> Guarded {
        Guarded {
            io,
            stall,
            stalled: None,
            pending: Vec::new(),
        }
    }

    /// A write returned `Pending`: fails once it has made no progress for the stall limit.
    fn wait(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let stall = self.stall;
        let timer = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the client did not read its answer in time",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Writes what is pending of a rewritten answer.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        while !self.pending.is_empty() {
            match Pin::new(&mut self.io).poll_write(cx, &self.pending) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
                }
                Poll::Ready(Ok(n)) => {
                    self.stalled = None;
                    self.pending.drain(..n);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    ready!(self.wait(cx))?;
                }
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        if let Some(answer) = rewrite(buf) {
            this.pending = answer;
            // Said written; the rewritten answer goes out on this call or on the flush.
            let _ = this.drain(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        match Pin::new(&mut this.io).poll_write(cx, buf) {
            Poll::Ready(r) => {
                this.stalled = None;
                Poll::Ready(r)
            }
            Poll::Pending => {
                ready!(this.wait(cx))?;
                Poll::Pending
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }

    // Not vectored: hyper then writes each answer's head (and body) as one buffer, which is
    // what `rewrite` looks at.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

/// hyper's own answer to a request it could not parse — a head alone, with no content type and
/// an empty body — rewritten as the API's JSON error; `None` for any other write (every answer
/// the router makes has a content type).
fn rewrite(buf: &[u8]) -> Option<Vec<u8>> {
    if !(buf.starts_with(b"HTTP/1.1 4") || buf.starts_with(b"HTTP/1.0 4"))
        || !buf.ends_with(b"\r\n\r\n")
    {
        return None;
    }
    let head = std::str::from_utf8(buf).ok()?.to_ascii_lowercase();
    if head.matches("\r\n\r\n").count() != 1
        || head.contains("\r\ncontent-type:")
        || !head.contains("\r\ncontent-length: 0\r\n")
    {
        return None;
    }
    let (status, reason, error) = match head.get(9..12)? {
        "400" => (400, "Bad Request", "the request is not valid HTTP/1.1"),
        "414" => (414, "URI Too Long", "the URI is too long"),
        "431" => (
            431,
            "Request Header Fields Too Large",
            "the request's headers are too large (at most 100 headers and 64 KiB)",
        ),
        _ => return None,
    };
    Some(json_answer(status, reason, error, &[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cap is what was asked, lowered to leave [`RESERVE`] files free.
    #[test]
    fn cap_fits_the_open_file_limit() {
        assert_eq!(cap(512, None), 512);
        assert_eq!(cap(512, Some(65_536)), 512);
        assert_eq!(cap(512, Some(256)), 192);
        assert_eq!(cap(512, Some(10)), 1);
        assert_eq!(cap(0, None), 1);
    }

    /// Only hyper's empty answers to unparsable requests are rewritten, into the JSON shape.
    #[test]
    fn only_hypers_own_error_answers_are_rewritten() {
        let hyper431 =
            b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\ndate: Fri, 04 Dec 2026 14:28:41 GMT\r\n\r\n";
        let out = String::from_utf8(rewrite(hyper431).unwrap()).unwrap();
        assert!(out.starts_with("HTTP/1.1 431 "), "{out}");
        assert!(out.contains("content-type: application/json\r\n"), "{out}");
        let body = out.split("\r\n\r\n").nth(1).unwrap();
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert!(v["error"].as_str().unwrap().contains("headers"), "{v}");
        assert!(
            out.contains(&format!("content-length: {}\r\n", body.len())),
            "{out}"
        );
        for other in [
            &b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"[..],
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n\r\n",
            b"{\"error\":\"HTTP/1.1 400\"}",
        ] {
            assert!(rewrite(other).is_none(), "{}", String::from_utf8_lossy(other));
        }
    }
}
