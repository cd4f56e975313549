//! The accept loop `serve` runs: HTTP/1.1 (and HTTP/2 with prior
//! knowledge, as before) over hyper, with limits that keep clients who are
//! slow on purpose from holding the server:
//!
//! - a connection may take `header_timeout` from when it is accepted to
//!   finish sending its first request's headers, and as long again from the
//!   first byte of each later request;
//! - a kept-alive connection with no request in progress is closed after
//!   `idle_timeout` without a byte from the client;
//! - a client that takes none of a response for `write_timeout` is
//!   disconnected;
//! - at most `max_connections` connections are served at once: past that,
//!   new ones wait in the listen queue (the kernel's backlog) until one
//!   ends, and are accepted in turn.
//!
//! Request bodies have their own limit (`web::slow`). A stop signal stops
//! accepting, lets requests in progress finish and closes idle connections,
//! as `axum::serve` did.
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// How long clients may take, and how many are served at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// From accepting a connection (or from the first byte of a later
    /// request on it) to the end of the request's headers.
    pub header_timeout: Duration,
    /// A kept-alive connection with no request in progress and no byte from
    /// the client for this long is closed.
    pub idle_timeout: Duration,
    /// A client that takes none of a response for this long is disconnected.
    pub write_timeout: Duration,
    /// Connections served at once; more wait in the listen queue.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(75),
            write_timeout: Duration::from_secs(60),
            max_connections: 1024,
        }
    }
}

/// Serves `app` on `listener` until `stop` completes, then waits for the
/// connections to finish (idle ones are closed at once; slow ones within
/// their limits).
pub async fn serve(listener: TcpListener, app: Router, limits: Limits, stop: impl Future<Output = ()>) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stopping, stop_rx) = watch::channel(false);
    tokio::pin!(stop);
    loop {
        // A free slot first: while none is, new connections wait in the backlog.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.map_err(io::Error::other)?,
            () = &mut stop => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let app = app.clone();
        let stop_rx = stop_rx.clone();
        tokio::spawn(async move {
            connection(stream, peer, app, limits, stop_rx).await;
            drop(slot);
        });
    }
    drop(listener);
    stopping.send_replace(true);
    // Each connection holds a slot until it ends: all slots free means all done.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _done = slots.acquire_many(all).await.map_err(io::Error::other)?;
    Ok(())
}

/// As `axum::serve`: errors about one connection are skipped; others (too
/// many open files) are logged and the loop pauses a moment.
async fn accept_failed(e: io::Error) {
    if matches!(e.kind(), io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset) {
        return;
    }
    tracing::error!("accepting a connection failed: {e}");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

async fn connection(stream: TcpStream, peer: SocketAddr, app: Router, limits: Limits, mut stopping: watch::Receiver<bool>) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched { inner: stream, activity: activity.clone(), write_timeout: limits.write_timeout, write_stall: None });
    let requests = activity.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let busy = requests.begin();
        let app = app.clone();
        async move {
            let res = app.oneshot(req.map(Body::new)).await;
            // The request counts as in progress until its response is sent.
            res.map(|r| r.map(|body| Body::new(Tracked { body, _busy: busy })))
        }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The timeouts are ours (see `Activity`): hyper's header timer would
    // also run while a kept-alive connection waits for its next request.
    builder.http1().header_read_timeout(None);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!("connection from {peer} ended: {e}");
                }
                return;
            }
            () = activity.expired(&limits) => {
                // No request is in progress: dropping the connection closes it.
                tracing::debug!("closed a connection from {peer} that sent no complete request in time");
                return;
            }
            _ = stopping.wait_for(|s| *s), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// What a connection is doing, for its timeouts.
struct Activity {
    state: Mutex<State>,
    changed: Notify,
}

struct State {
    /// Requests whose responses are not yet sent.
    busy: usize,
    /// Whether a request has started on this connection.
    served: bool,
    /// Since when no request has been in progress.
    idle_since: Instant,
    /// The first byte read since then.
    first_byte: Option<Instant>,
}

impl Activity {
    fn new() -> Self {
        Activity { state: Mutex::new(State { busy: 0, served: false, idle_since: Instant::now(), first_byte: None }), changed: Notify::new() }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A request's headers are in: no connection deadline until its response is sent.
    fn begin(self: &Arc<Self>) -> Busy {
        let mut s = self.lock();
        s.busy += 1;
        s.served = true;
        drop(s);
        self.changed.notify_one();
        Busy(self.clone())
    }

    fn read_some(&self) {
        let mut s = self.lock();
        if s.busy == 0 && s.first_byte.is_none() {
            s.first_byte = Some(Instant::now());
            drop(s);
            self.changed.notify_one();
        }
    }

    /// When the connection is to be closed if no request has begun by then.
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        let s = self.lock();
        if s.busy > 0 {
            None
        } else if let Some(first) = s.first_byte {
            Some(first + limits.header_timeout)
        } else if !s.served {
            Some(s.idle_since + limits.header_timeout)
        } else {
            Some(s.idle_since + limits.idle_timeout)
        }
    }

    /// Completes when the deadline passes with no request in progress.
    async fn expired(&self, limits: &Limits) {
        loop {
            match self.deadline(limits) {
                None => self.changed.notified().await,
                Some(at) if Instant::now() >= at => return,
                Some(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = self.changed.notified() => {}
                    }
                }
            }
        }
    }
}

/// A request in progress, until dropped with its response body.
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.busy = s.busy.saturating_sub(1);
        if s.busy == 0 {
            s.idle_since = Instant::now();
            s.first_byte = None;
        }
        drop(s);
        self.0.changed.notify_one();
    }
}

/// A response body that keeps its request counted as in progress.
struct Tracked {
    body: Body,
    _busy: Busy,
}

impl HttpBody for Tracked {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The socket, noting when the client sends and cutting a client that
/// takes nothing of a response for `write_timeout`.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
    write_timeout: Duration,
    write_stall: Option<Pin<Box<Sleep>>>,
}

impl Watched {
    /// A write that could not proceed: fails once the client has taken
    /// nothing for `write_timeout`.
    fn stalled(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let timeout = self.write_timeout;
        let stall = self.write_stall.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        ready!(stall.as_mut().poll(cx));
        Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, "the client took none of the response in time"))
    }
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        if buf.filled().len() > before {
            self.activity.read_some();
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Pending => self.stalled(cx).map(Err),
            done => {
                self.write_stall = None;
                done
            }
        }
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Pending => self.stalled(cx).map(Err),
            done => {
                self.write_stall = None;
                done
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
