//! Serving one TCP connection with bounded waiting: a header-read timeout, an idle
//! (keep-alive) timeout, and prompt closing on shutdown.
//!
//! `axum::serve` gives hyper no timer, so hyper's own header timeout never runs and a
//! client that sends half a request head holds its connection (and blocks graceful
//! shutdown) forever. Here every connection is watched: the socket is wrapped to record
//! when bytes move, and the service wrapper records when a request is being handled.
//! - **Header read**: once the first byte of a request head has arrived with no request
//!   in flight, the whole head must arrive within `header_read_timeout`, else the
//!   connection is dropped.
//! - **Idle**: with no request in flight and no bytes moving for `idle_timeout`, the
//!   connection is closed (gracefully: a request racing the close is still answered).
//! - **Shutdown**: every connection is told to finish its in-flight request and close;
//!   one without a request in flight (idle, or holding a half-sent head) closes at once.
//!   The accept loop ([`crate::Server::serve`]) drops whatever is still open after the
//!   drain timeout.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tower_service::Service;

/// Connection time limits (see the module docs).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnLimits {
    pub header_read: Duration,
    pub idle: Duration,
}

/// What the watchdog knows about one connection. Times are milliseconds since `base`.
#[derive(Debug)]
struct Activity {
    base: Instant,
    in_flight: AtomicUsize,
    last_io: AtomicU64,
    /// 1 + time of the first byte of a request head not yet complete; 0 when none.
    head_start: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Activity {
            base: Instant::now(),
            in_flight: AtomicUsize::new(0),
            last_io: AtomicU64::new(0),
            head_start: AtomicU64::new(0),
        }
    }

    fn now(&self) -> u64 {
        self.base.elapsed().as_millis() as u64
    }

    fn on_read(&self, n: usize) {
        if n == 0 {
            return;
        }
        let t = self.now();
        self.last_io.store(t, Ordering::Relaxed);
        if self.in_flight.load(Ordering::Acquire) == 0 {
            let _ = self
                .head_start
                .compare_exchange(0, t + 1, Ordering::AcqRel, Ordering::Relaxed);
        }
    }

    fn on_write(&self) {
        self.last_io.store(self.now(), Ordering::Relaxed);
    }

    fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_start.store(0, Ordering::Release);
    }

    fn request_finished(&self) {
        self.last_io.store(self.now(), Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Marks a request finished when dropped (also when hyper drops its future early).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// A socket that reports its traffic to an [`Activity`].
struct Tracked {
    io: TcpStream,
    act: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = r {
            self.act.on_read(buf.filled().len() - before);
        }
        r
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = r {
            if n > 0 {
                self.act.on_write();
            }
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = r {
            if n > 0 {
                self.act.on_write();
            }
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Serves HTTP/1.1 on `stream` until the client closes, a limit ends it, or shutdown.
pub(crate) async fn serve_connection(
    stream: TcpStream,
    router: Router,
    limits: ConnLimits,
    mut shutdown: watch::Receiver<bool>,
) {
    let act = Arc::new(Activity::new());
    let io = TokioIo::new(Tracked {
        io: stream,
        act: act.clone(),
    });
    let svc_act = act.clone();
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        svc_act.request_started();
        let in_flight = InFlight(svc_act.clone());
        let mut router = router.clone();
        async move {
            let resp: Result<_, Infallible> = router.call(req.map(Body::new)).await;
            drop(in_flight);
            resp
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, svc);
    tokio::pin!(conn);
    let header_ms = limits.header_read.as_millis() as u64;
    let idle_ms = limits.idle.as_millis() as u64;
    let tick = (limits.header_read.min(limits.idle) / 4)
        .clamp(Duration::from_millis(5), Duration::from_millis(500));
    let mut draining = *shutdown.borrow();
    let mut closing = false;
    if draining {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            changed = shutdown.changed(), if !draining => {
                if changed.is_err() || *shutdown.borrow() {
                    draining = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
            _ = tokio::time::sleep(tick) => {
                if act.in_flight.load(Ordering::Acquire) > 0 {
                    continue;
                }
                let now = act.now();
                let head = act.head_start.load(Ordering::Acquire);
                if head != 0 {
                    // A request head has started and is not complete: there is no request
                    // to finish, so shutdown drops it now, and slow clients are dropped at
                    // the header timeout.
                    if draining || now.saturating_sub(head - 1) >= header_ms {
                        return;
                    }
                } else if now.saturating_sub(act.last_io.load(Ordering::Relaxed)) >= idle_ms {
                    if closing || draining {
                        return;
                    }
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}
