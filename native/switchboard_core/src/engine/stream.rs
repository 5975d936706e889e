//! One streamed HTTP attempt: server-sent events in, text deltas out, under
//! the time-to-first-token and idle limits.

use std::time::Duration;

use tokio::time::Instant;

use super::http::{self, HttpSettings};
use crate::config::Leaf;
use crate::error::{Error, ErrorKind};
use crate::providers::{Completion, PreparedRequest};
use crate::response::Attempt;
use crate::sse::{SseDecoder, SseEvent};

/// Where streamed text goes. Called from the call's own task, in order.
pub trait StreamSink: Send + Sync {
    /// Text from attempt number `attempt` (1-based, its index in the call's
    /// attempts) of leaf `client`.
    fn chunk(&self, attempt: usize, client: &str, text: &str);

    /// Attempt `attempt` failed after text of it was passed to `chunk`:
    /// that text is void. Called before any text of a later attempt.
    fn reset(&self, attempt: usize, failed: &Attempt);
}

/// The next moment the stream must have shown progress by, and why.
struct Watch {
    sent: Instant,
    first_token: Option<Duration>,
    idle: Option<Duration>,
    last_event: Instant,
    got_text: bool,
}

impl Watch {
    fn new(settings: &HttpSettings) -> Self {
        let now = Instant::now();
        Watch {
            sent: now,
            first_token: settings.first_token_timeout,
            idle: settings.idle_timeout,
            last_event: now,
            got_text: false,
        }
    }

    fn deadline(&self) -> Option<(Instant, Error)> {
        let first = (!self.got_text)
            .then_some(self.first_token)
            .flatten()
            .map(|t| (self.sent + t, first_token_error(t)));
        let idle = self.idle.map(|t| (self.last_event + t, idle_error(t)));
        match (first, idle) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        }
    }
}

fn first_token_error(t: Duration) -> Error {
    Error::new(
        ErrorKind::Timeout,
        format!(
            "time_to_first_token_timeout_ms ({} ms) elapsed before the first token",
            t.as_millis()
        ),
    )
}

fn idle_error(t: Duration) -> Error {
    Error::new(
        ErrorKind::Timeout,
        format!(
            "idle_timeout_ms ({} ms) elapsed waiting for the next chunk",
            t.as_millis()
        ),
    )
}

/// Runs `fut` unless the watch's deadline passes first.
async fn watched<T>(
    watch: &Watch,
    fut: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match watch.deadline() {
        Some((at, error)) => tokio::time::timeout_at(at, fut)
            .await
            .unwrap_or_else(|_| Err(error)),
        None => fut.await,
    }
}

/// Sends `request` and streams its answer into `emit`; returns the status
/// and the whole completion once the provider ended the stream properly.
pub(super) async fn exchange(
    leaf: &Leaf,
    request: &PreparedRequest,
    emit: &mut (dyn FnMut(&str) + Send),
) -> Result<(u16, Completion), Error> {
    let mut watch = Watch::new(&leaf.http);
    let mut response = watched(&watch, http::open(&leaf.client, request, &leaf.http)).await?;
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        let headers = response.headers().clone();
        let body = watched(&watch, async {
            response
                .bytes()
                .await
                .map_err(|e| http::transport_error(e, &leaf.http))
        })
        .await?;
        return Err(super::provider_error(leaf, status, &headers, &body));
    }

    let mut decoder = SseDecoder::new();
    let mut parser = leaf.provider.stream_parser();
    let mut events: Vec<SseEvent> = Vec::new();
    loop {
        let read = watched(&watch, async {
            response
                .chunk()
                .await
                .map_err(|e| http::transport_error(e, &leaf.http))
        })
        .await
        .map_err(|e| e.with_status(status))?;
        let ended = match read {
            Some(bytes) => {
                decoder.feed(&bytes, &mut events)?;
                false
            }
            None => {
                decoder.finish(&mut events);
                true
            }
        };
        // Text that arrived in one read is passed on as one piece: it came
        // together, so merging costs no latency and saves a message per delta.
        let mut arrived = String::new();
        for event in events.drain(..) {
            watch.last_event = Instant::now();
            if let Some(text) = parser.event(&event).map_err(|e| e.with_status(status))? {
                arrived.push_str(&text);
            }
        }
        if !arrived.is_empty() {
            watch.got_text = true;
            emit(&arrived);
        }
        if ended || parser.is_done() {
            break;
        }
    }
    if !parser.is_done() {
        return Err(Error::new(
            ErrorKind::Network,
            "the stream ended before the provider finished the answer",
        )
        .with_status(status));
    }
    Ok((status, parser.finish()))
}
