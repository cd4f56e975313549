//! Request bodies that arrive too slowly are cut with 408: a body that
//! stalls (nothing for `body_timeout` while the server waits for it), or one
//! that, once the server has waited `body_timeout` in all, averages fewer
//! than `body_min_rate` bytes per second of that waiting. Only time spent
//! waiting for the client counts, so an upload the server itself is slow to
//! take (a busy evidence store) is never blamed on the client.
use crate::state::AppState;
use crate::error::ErrorPage;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

pub const MESSAGE: &str = "The request arrived too slowly, so the server stopped waiting for it and nothing was saved. \
Check your connection and try again.";

/// Wraps every request body; answers 408 (and closes the connection) when
/// the body was cut.
pub async fn body_deadline(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let tripped = Arc::new(AtomicBool::new(false));
    let limit = Limit { timeout: state.config.body_timeout, min_rate: state.config.body_min_rate };
    let req = req.map(|body| Body::new(Timed::new(body, limit, tripped.clone())));
    let mut res = next.run(req).await;
    if tripped.load(Ordering::Relaxed) {
        tracing::info!("a request body arrived too slowly and was cut");
        *res.status_mut() = StatusCode::REQUEST_TIMEOUT;
        *res.body_mut() = Body::empty();
        res.headers_mut().remove(header::CONTENT_TYPE);
        res.headers_mut().remove(header::LOCATION);
        res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        res.extensions_mut().insert(ErrorPage {
            title: "Too slow",
            message: MESSAGE.into(),
            ..ErrorPage::for_status(StatusCode::REQUEST_TIMEOUT)
        });
    }
    res
}

#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub timeout: Duration,
    /// Bytes per second; 0 checks stalls only.
    pub min_rate: u64,
}

/// A body that fails once its client is too slow.
pub struct Timed {
    inner: Body,
    limit: Limit,
    tripped: Arc<AtomicBool>,
    received: u64,
    /// Time spent waiting for the client before the current wait.
    waited: Duration,
    /// When the current wait began.
    waiting_since: Option<Instant>,
    timer: Option<Pin<Box<Sleep>>>,
}

impl Timed {
    pub fn new(inner: Body, limit: Limit, tripped: Arc<AtomicBool>) -> Self {
        Timed { inner, limit, tripped, received: 0, waited: Duration::ZERO, waiting_since: None, timer: None }
    }

    /// When the current wait, begun at `since`, becomes too long: a stall
    /// of `timeout`, or total waiting past what the bytes so far allow.
    fn deadline(&self, since: Instant) -> Instant {
        let stall = since + self.limit.timeout;
        if self.limit.min_rate == 0 {
            return stall;
        }
        // Each byte earns 1/min_rate s of waiting; the first `timeout` is free.
        let earned = Duration::from_secs_f64(self.received as f64 / self.limit.min_rate as f64).max(self.limit.timeout);
        let rate = since + earned.saturating_sub(self.waited);
        stall.min(rate)
    }
}

impl HttpBody for Timed {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        if this.tripped.load(Ordering::Relaxed) {
            return Poll::Ready(Some(Err(too_slow())));
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => {
                let since = *this.waiting_since.get_or_insert_with(Instant::now);
                let deadline = this.deadline(since);
                let timer = this.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if timer.deadline() != deadline {
                    timer.as_mut().reset(deadline);
                }
                if timer.as_mut().poll(cx).is_ready() {
                    this.tripped.store(true, Ordering::Relaxed);
                    return Poll::Ready(Some(Err(too_slow())));
                }
                Poll::Pending
            }
            Poll::Ready(frame) => {
                if let Some(since) = this.waiting_since.take() {
                    this.waited += since.elapsed();
                }
                if let Some(Ok(f)) = &frame
                    && let Some(data) = f.data_ref()
                {
                    this.received += data.len() as u64;
                }
                Poll::Ready(frame)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

fn too_slow() -> axum::Error {
    axum::Error::new(std::io::Error::new(std::io::ErrorKind::TimedOut, "the request body arrived too slowly"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn limit(timeout_ms: u64, min_rate: u64) -> Limit {
        Limit { timeout: Duration::from_millis(timeout_ms), min_rate }
    }

    /// A body fed through a channel, as a client would send it.
    fn channel_body() -> (tokio::sync::mpsc::Sender<Result<bytes::Bytes, std::io::Error>>, Body) {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        (tx, Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx)))
    }

    #[tokio::test]
    async fn a_stalled_body_is_cut_after_the_timeout() {
        let (tx, body) = channel_body();
        let tripped = Arc::new(AtomicBool::new(false));
        let mut timed = Timed::new(body, limit(500, 0), tripped.clone());
        tx.send(Ok(bytes::Bytes::from_static(b"abc"))).await.unwrap();
        assert!(timed.frame().await.unwrap().is_ok());
        let started = Instant::now();
        assert!(timed.frame().await.unwrap().is_err());
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(500) && took < Duration::from_secs(5), "{took:?}");
        assert!(tripped.load(Ordering::Relaxed));
        assert!(timed.frame().await.unwrap().is_err(), "and stays cut");
        drop(tx);
    }

    #[tokio::test]
    async fn a_trickle_is_cut_once_its_average_is_too_low() {
        let (tx, body) = channel_body();
        let tripped = Arc::new(AtomicBool::new(false));
        let mut timed = Timed::new(body, limit(1000, 100), tripped.clone());
        // A byte every 300 ms never stalls for a second, but averages 3 bytes/s.
        let sender = tokio::spawn(async move {
            for _ in 0..100 {
                tokio::time::sleep(Duration::from_millis(300)).await;
                if tx.send(Ok(bytes::Bytes::from_static(b"x"))).await.is_err() {
                    return;
                }
            }
        });
        let started = Instant::now();
        let mut got = 0;
        loop {
            match timed.frame().await {
                Some(Ok(_)) => got += 1,
                Some(Err(_)) => break,
                None => panic!("the trickle was never cut"),
            }
        }
        let took = started.elapsed();
        assert!(tripped.load(Ordering::Relaxed));
        assert!(got >= 2, "bytes came in before the cut: {got}");
        assert!(took >= Duration::from_millis(1000) && took < Duration::from_secs(5), "cut once the free second is used up: {took:?}");
        sender.abort();
    }

    #[tokio::test]
    async fn a_steady_body_and_a_slow_reader_are_fine() {
        let (tx, body) = channel_body();
        let tripped = Arc::new(AtomicBool::new(false));
        let mut timed = Timed::new(body, limit(1000, 1000), tripped.clone());
        let sender = tokio::spawn(async move {
            // About 4,000 bytes a second in 200-byte pieces.
            for _ in 0..30 {
                tokio::time::sleep(Duration::from_millis(50)).await;
                tx.send(Ok(bytes::Bytes::from(vec![b'x'; 200]))).await.unwrap();
            }
        });
        let mut got = 0;
        while let Some(frame) = timed.frame().await {
            got += frame.unwrap().into_data().unwrap().len();
            // The server taking longer than the timeout between pieces does
            // not count against the client.
            if got % 3000 == 0 {
                tokio::time::sleep(Duration::from_millis(1500)).await;
            }
        }
        assert_eq!(got, 6000);
        assert!(!tripped.load(Ordering::Relaxed));
        sender.await.unwrap();
    }
}
