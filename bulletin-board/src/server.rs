//! The HTTP server loop of the board and of a mirror (SPEC.md §10.7): HTTP/1
//! connections with a header-read timeout, an idle keep-alive timeout, a
//! stall timeout and caps on the open connections, in all and per client
//! address.
//!
//! `axum::serve` has none of these: a client that sends half a request
//! header and stops keeps its connection (and a file descriptor) forever,
//! and the per-address rate limit never sees it, because it only counts
//! requests that arrive whole. Here each connection is watched through its
//! phases:
//!
//! * *idle* — accepted, or its last response done, and no byte of the next
//!   request yet: closed after [`Limits::idle_timeout`];
//! * *head* — bytes of a request head have come, the head is not complete:
//!   closed after [`Limits::header_timeout`] from the first byte;
//! * *busy* — a request is being handled (from its complete head until its
//!   response body has been handed to the socket): bounded by the request
//!   timeout (`tower_http`'s layer, 408), and closed if the socket makes no
//!   progress (no byte read or written) for the request timeout plus the
//!   idle timeout — a client that never reads its response.
//!
//! A connection beyond [`Limits::max_connections`] or
//! [`Limits::max_connections_per_address`] (IPv6 addresses counted by their
//! /64) is answered `503 too_many_connections` without reading anything and
//! closed at once. The global cap is lowered to fit the process's open-file
//! limit ([`raise_open_file_limit`] raises the soft limit to the hard one).
//! Accept errors (e.g. `EMFILE`) pause the accept loop briefly, doubling up
//! to a second, instead of spinning; refusals and accept errors are logged
//! at most once per [`LOG_EVERY`], with a count.
//!
//! On shutdown the listener is closed, idle connections are closed, and
//! every request under way is finished (its response written) before
//! [`serve_app`] returns: a receipt the board gives is always delivered.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt;

use crate::board::Limits;

/// File descriptors kept back from the connection cap for the database
/// pool, SQLite's files, the page bundle, outgoing requests and the runtime.
pub const RESERVED_FILES: u64 = 256;

/// Refusals and accept errors are logged at most this often.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// Longest pause of the accept loop after an accept error.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// Raise this process's open-file soft limit to its hard limit (Unix), and
/// log the limit. Returns the soft limit now in force, `None` where there
/// is no such limit or it cannot be read.
pub fn raise_open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let (soft, hard) = match rlimit::getrlimit(rlimit::Resource::NOFILE) {
            Ok(limits) => limits,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the open-file limit");
                return None;
            }
        };
        if soft >= hard {
            tracing::info!(soft, hard, "open-file limit (already at the hard limit)");
            return Some(soft);
        }
        // An unlimited hard limit still stops at the kernel's per-process
        // maximum (Linux: fs.nr_open, 1,048,576 by default).
        let mut attempts = vec![hard];
        if hard > 1 << 20 {
            attempts.push(1 << 20);
        }
        for target in attempts {
            match rlimit::increase_nofile_limit(target) {
                Ok(now) if now > soft => {
                    tracing::info!(soft = now, was = soft, hard, "open-file limit raised");
                    return Some(now);
                }
                Ok(_) => {}
                Err(e) => tracing::debug!(error = %e, target, "cannot raise the open-file limit"),
            }
        }
        tracing::warn!(soft, hard, "cannot raise the open-file limit; it stays");
        Some(soft)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The open-file soft limit in force (`None`: none, or unreadable).
fn open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rlimit::getrlimit(rlimit::Resource::NOFILE)
            .ok()
            .map(|(soft, _)| soft)
            .filter(|&soft| soft != rlimit::INFINITY)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The global connection cap in force: `configured` (0: none), lowered to
/// the open-file limit less [`RESERVED_FILES`] (at least 1).
pub fn effective_max_connections(configured: usize, open_files: Option<u64>) -> usize {
    let configured = if configured == 0 {
        usize::MAX
    } else {
        configured
    };
    match open_files {
        Some(files) => {
            let fit =
                usize::try_from(files.saturating_sub(RESERVED_FILES).max(1)).unwrap_or(usize::MAX);
            configured.min(fit)
        }
        None => configured,
    }
}

/// The key a client's connections are counted under: its IPv4 address
/// (also when it arrives IPv4-mapped), or the /64 of its IPv6 address (one
/// subscriber's usual allocation, so one host cannot escape the cap by
/// rotating addresses).
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Why a connection was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    Global,
    PerAddress,
}

/// The connection caps: a count in all and one per address key.
#[derive(Debug)]
struct Gate {
    max_total: usize,
    max_per_address: usize,
    total: AtomicUsize,
    per_address: Mutex<HashMap<IpAddr, usize>>,
}

/// One admitted connection; gives its places back when dropped.
#[derive(Debug)]
struct Permit {
    gate: Arc<Gate>,
    key: IpAddr,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Gate {
    fn new(max_total: usize, max_per_address: usize) -> Self {
        Gate {
            max_total,
            max_per_address: if max_per_address == 0 {
                usize::MAX
            } else {
                max_per_address
            },
            total: AtomicUsize::new(0),
            per_address: Mutex::new(HashMap::new()),
        }
    }

    /// Admit a connection from `ip`, or say which cap it is over.
    fn enter(self: &Arc<Self>, ip: IpAddr) -> Result<Permit, Refusal> {
        let key = address_key(ip);
        let mut per_address = lock(&self.per_address);
        let count = per_address.get(&key).copied().unwrap_or(0);
        if count >= self.max_per_address {
            return Err(Refusal::PerAddress);
        }
        // Only the accept loop adds, so the check and the add cannot race
        // with another admission.
        if self.total.load(Ordering::Acquire) >= self.max_total {
            return Err(Refusal::Global);
        }
        self.total.fetch_add(1, Ordering::AcqRel);
        per_address.insert(key, count + 1);
        Ok(Permit {
            gate: self.clone(),
            key,
        })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut per_address = lock(&self.gate.per_address);
        if let Some(count) = per_address.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                per_address.remove(&self.key);
            }
        }
        self.gate.total.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The answer to a connection over a cap: written without reading the
/// request, then the connection is closed.
fn refusal_response(refusal: Refusal) -> Vec<u8> {
    let message = match refusal {
        Refusal::Global => "the server has too many open connections; retry shortly",
        Refusal::PerAddress => {
            "too many open connections from this address; close some, then retry"
        }
    };
    let body = serde_json::json!({"error": "too_many_connections", "message": message}).to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: 5\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Counts events and says when one should be logged: the first, then at
/// most one per [`LOG_EVERY`], each carrying how many were not logged.
#[derive(Debug, Default)]
struct Throttle {
    last: Option<Instant>,
    suppressed: u64,
}

impl Throttle {
    /// `Some(suppressed since the last log)` when this event is to be logged.
    fn hit(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now.duration_since(last) < LOG_EVERY => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

/// The timeouts a connection is held to.
#[derive(Clone, Copy, Debug)]
struct Timeouts {
    header: Duration,
    idle: Duration,
    stall: Duration,
}

impl Timeouts {
    fn of(limits: &Limits) -> Self {
        let header = limits.header_timeout.max(Duration::from_millis(1));
        let idle = limits.idle_timeout.max(Duration::from_millis(1));
        Timeouts {
            header,
            idle,
            stall: limits.request_timeout.saturating_add(idle),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    Head,
    Busy,
}

/// What a connection is doing, and since when; `changed` wakes the
/// watchdog when the phase changes (its deadline may have come nearer).
#[derive(Debug)]
struct Activity {
    state: Mutex<ActivityState>,
    changed: tokio::sync::Notify,
}

#[derive(Debug)]
struct ActivityState {
    phase: Phase,
    /// Start of the phase.
    since: Instant,
    /// Last byte read or written.
    progress: Instant,
    /// Requests handled now (more than one only when pipelined).
    busy: usize,
}

impl Activity {
    fn new(now: Instant) -> Self {
        Activity {
            state: Mutex::new(ActivityState {
                phase: Phase::Idle,
                since: now,
                progress: now,
                busy: 0,
            }),
            changed: tokio::sync::Notify::new(),
        }
    }

    /// Enter `phase` (if not in it already) at `now`.
    fn enter(&self, s: &mut ActivityState, phase: Phase, now: Instant) {
        if s.phase != phase {
            s.phase = phase;
            s.since = now;
            self.changed.notify_one();
        }
    }

    fn read(&self, now: Instant) {
        let mut s = lock(&self.state);
        s.progress = now;
        if s.phase == Phase::Idle {
            self.enter(&mut s, Phase::Head, now);
        }
    }

    fn wrote(&self, now: Instant) {
        lock(&self.state).progress = now;
    }

    fn request_started(&self, now: Instant) {
        let mut s = lock(&self.state);
        s.busy += 1;
        self.enter(&mut s, Phase::Busy, now);
    }

    fn request_finished(&self, now: Instant) {
        let mut s = lock(&self.state);
        s.busy = s.busy.saturating_sub(1);
        if s.busy == 0 {
            self.enter(&mut s, Phase::Idle, now);
        }
    }

    /// When the current phase runs out, and what it is.
    fn deadline(&self, t: &Timeouts) -> (Instant, Phase) {
        let s = lock(&self.state);
        let at = match s.phase {
            // Writes (the tail of the last response) count as activity.
            Phase::Idle => s.since.max(s.progress) + t.idle,
            Phase::Head => s.since + t.header,
            Phase::Busy => s.progress + t.stall,
        };
        (at, s.phase)
    }
}

/// The socket, telling the connection's [`Activity`] about each byte.
#[derive(Debug)]
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.read(Instant::now());
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.wrote(Instant::now());
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.wrote(Instant::now());
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// A request being handled: the connection is busy until the response
/// body (which carries this) is dropped — done, or the connection gone.
#[derive(Debug)]
struct BusyGuard(Arc<Activity>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.request_finished(Instant::now());
    }
}

/// A response body that keeps its connection busy while it lives.
#[derive(Debug)]
struct TrackedBody {
    inner: Body,
    _busy: BusyGuard,
}

impl hyper::body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The app as one connection's hyper service: the peer address goes into
/// each request as axum's `ConnectInfo` (the rate limiter reads it there).
#[derive(Clone, Debug)]
struct ConnService {
    app: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
}

type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<hyper::Response<TrackedBody>, Infallible>> + Send>>;

impl hyper::service::Service<hyper::Request<Incoming>> for ConnService {
    type Response = hyper::Response<TrackedBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: hyper::Request<Incoming>) -> Self::Future {
        let busy = BusyGuard(self.activity.clone());
        self.activity.request_started(Instant::now());
        let mut req = req.map(Body::new);
        req.extensions_mut().insert(ConnectInfo(self.peer));
        let app = self.app.clone();
        Box::pin(async move {
            let response = app.oneshot(req).await?;
            Ok(response.map(|inner| TrackedBody { inner, _busy: busy }))
        })
    }
}

/// Accept errors that concern one connection only (retry at once); any
/// other (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`…) pauses the loop.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

/// Serve `app` on `listener` with the connection limits of `limits` until
/// `shutdown` resolves; then stop accepting, close idle connections, finish
/// the requests under way and return.
pub async fn serve_app(
    app: Router,
    listener: TcpListener,
    limits: &Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let timeouts = Timeouts::of(limits);
    let max_total = effective_max_connections(limits.max_connections, open_file_limit());
    let configured = match limits.max_connections {
        0 => usize::MAX,
        n => n,
    };
    if max_total < configured {
        tracing::warn!(
            configured = limits.max_connections,
            in_force = max_total,
            reserved_files = RESERVED_FILES,
            "connection cap lowered to fit the open-file limit"
        );
    }
    tracing::info!(
        max_connections = max_total,
        max_connections_per_address = limits.max_connections_per_address,
        header_timeout_s = timeouts.header.as_secs_f64(),
        idle_timeout_s = timeouts.idle.as_secs_f64(),
        "connection limits"
    );
    let gate = Arc::new(Gate::new(max_total, limits.max_connections_per_address));
    let refusals = [
        (Refusal::Global, refusal_response(Refusal::Global)),
        (Refusal::PerAddress, refusal_response(Refusal::PerAddress)),
    ];
    let mut builder = http1::Builder::new();
    // hyper's own header timer runs from the moment it waits for a request
    // head (so through the idle phase too): a backstop that never fires
    // before the watchdog's own idle-then-head bound.
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(
            timeouts
                .idle
                .saturating_add(timeouts.header)
                .saturating_add(Duration::from_secs(1)),
        )
        .keep_alive(true);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    let mut refused_log = Throttle::default();
    let mut accept_log = Throttle::default();
    let mut backoff: Option<Duration> = None;
    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                let delay = backoff.map_or(Duration::from_millis(10), |d| {
                    (d * 2).min(MAX_ACCEPT_BACKOFF)
                });
                backoff = Some(delay);
                if let Some(suppressed) = accept_log.hit(Instant::now()) {
                    tracing::error!(
                        error = %e,
                        pause_ms = delay.as_millis() as u64,
                        open = gate.total.load(Ordering::Relaxed),
                        not_logged_before = suppressed,
                        "accept error; pausing the accept loop"
                    );
                }
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(delay) => continue,
                }
            }
        };
        backoff = None;
        let permit = match gate.enter(peer.ip()) {
            Ok(p) => p,
            Err(refusal) => {
                if let Some(suppressed) = refused_log.hit(Instant::now()) {
                    tracing::warn!(
                        %peer,
                        cap = ?refusal,
                        open = gate.total.load(Ordering::Relaxed),
                        refused_not_logged_before = suppressed,
                        "connection over the cap refused (503)"
                    );
                }
                if let Some((_, bytes)) = refusals.iter().find(|(r, _)| *r == refusal) {
                    // Best effort, never waiting: a fresh socket's send
                    // buffer takes it whole.
                    let _ = stream.try_write(bytes);
                }
                drop(stream);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(
            stream,
            peer,
            permit,
            app.clone(),
            builder.clone(),
            timeouts,
            stop_rx.clone(),
        ));
    }
    drop(listener);
    tracing::info!(
        open = gate.total.load(Ordering::Relaxed),
        "no longer accepting; finishing the requests under way"
    );
    let _ = stop_tx.send(true);
    drop(stop_rx);
    // Every connection task holds a receiver: this returns when the last ends.
    stop_tx.closed().await;
    Ok(())
}

/// Run one connection under the watchdog.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    permit: Permit,
    app: Router,
    builder: http1::Builder,
    timeouts: Timeouts,
    mut stop: watch::Receiver<bool>,
) {
    let _permit = permit;
    let activity = Arc::new(Activity::new(Instant::now()));
    let io = TokioIo::new(Watched {
        stream,
        activity: activity.clone(),
    });
    let service = ConnService {
        app,
        peer,
        activity: activity.clone(),
    };
    let mut conn = pin!(builder.serve_connection(io, service));
    let mut draining = *stop.borrow_and_update();
    if draining {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        let (deadline, _) = activity.deadline(&timeouts);
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                break;
            }
            () = tokio::time::sleep_until(deadline.into()) => {
                let (deadline, phase) = activity.deadline(&timeouts);
                if deadline <= Instant::now() {
                    tracing::debug!(%peer, ?phase, "connection timed out; closing it");
                    break;
                }
            }
            // A new phase: its deadline is computed afresh.
            () = activity.changed.notified() => {}
            _ = stop.changed(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_count_by_their_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::7".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_key(mapped), IpAddr::V4([192, 0, 2, 7].into()));
    }

    #[test]
    fn the_caps_count_and_give_back() {
        let gate = Arc::new(Gate::new(3, 2));
        let one = IpAddr::V4([10, 0, 0, 1].into());
        let two = IpAddr::V4([10, 0, 0, 2].into());
        let a = gate.enter(one);
        let b = gate.enter(one);
        assert!(a.is_ok() && b.is_ok());
        assert_eq!(gate.enter(one).err(), Some(Refusal::PerAddress));
        let c = gate.enter(two);
        assert!(c.is_ok());
        assert_eq!(gate.enter(two).err(), Some(Refusal::Global));
        drop(a);
        assert!(gate.enter(two).is_ok());
        drop((b, c));
        assert_eq!(gate.total.load(Ordering::Relaxed), 0);
        assert!(lock(&gate.per_address).is_empty());
    }

    #[test]
    fn the_global_cap_fits_the_open_file_limit() {
        assert_eq!(effective_max_connections(10_000, Some(1_024)), 768);
        assert_eq!(effective_max_connections(10_000, Some(1 << 20)), 10_000);
        assert_eq!(effective_max_connections(10_000, None), 10_000);
        assert_eq!(effective_max_connections(0, Some(2_000)), 1_744);
        assert_eq!(effective_max_connections(5, Some(10)), 1);
    }

    #[test]
    fn logging_is_throttled_with_a_count() {
        let mut t = Throttle::default();
        let now = Instant::now();
        assert_eq!(t.hit(now), Some(0));
        assert_eq!(t.hit(now + Duration::from_secs(1)), None);
        assert_eq!(t.hit(now + Duration::from_secs(2)), None);
        assert_eq!(t.hit(now + LOG_EVERY + Duration::from_secs(1)), Some(2));
    }

    #[test]
    fn the_refusal_is_a_whole_json_response() {
        let text = String::from_utf8(refusal_response(Refusal::PerAddress)).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"], "too_many_connections");
    }
}
