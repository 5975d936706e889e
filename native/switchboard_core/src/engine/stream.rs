//! One streamed HTTP attempt: frames in, text deltas out, under the
//! time-to-first-token and idle limits.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::raw::RawAnswer;
use super::strategy::Failed;
use super::transport;
use crate::config::{HttpSettings, Leaf};
use crate::error::{Error, ErrorKind};
use crate::framing::{Frame, FrameDecoder};
use crate::providers::AnswerReader;
use crate::response::Attempt;
use crate::wire::{Completion, Deltas};

/// Where streamed text goes. Called from the call's own task, in order.
pub trait StreamSink: Send + Sync {
    /// Text, reasoning and started tool calls from attempt number `attempt`
    /// (1-based, its index in the call's attempts) of leaf `client`.
    fn chunk(&self, attempt: usize, client: &str, deltas: &Deltas);

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
            "idle_timeout_ms ({} ms) elapsed with nothing received from the stream",
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

/// Sends `request` and streams its answer, read by `reader` (the one
/// chosen with the request), into `emit`; returns the status
/// and the whole completion once the provider ended the stream properly.
/// With `keep_raw`, the completion's `raw` is the stream as received: its
/// text for SSE, its events' payloads one per line for an AWS event stream.
/// `opened` is [`transport::open`]'s future: taking it rather than the
/// request keeps the request (~250 bytes) out of this future, which a
/// stream holds for as long as it runs.
pub(super) async fn exchange(
    leaf: &Leaf,
    reader: &dyn AnswerReader,
    opened: impl Future<Output = Result<transport::Response, Error>> + Send,
    keep_raw: bool,
    emit: &mut (dyn FnMut(&Deltas) + Send),
) -> Result<(u16, Completion), Failed> {
    let mut watch = Watch::new(&leaf.http);
    let mut response = watched(&watch, opened).await?;
    let head = transport::head_of(&mut response);
    let status = head.status;
    if !head.is_success() {
        let body = watched(
            &watch,
            transport::read_body(&mut response, &head, &leaf.http),
        )
        .await?;
        return Err(super::exchange::provider_error(reader, &head, &body).into());
    }

    let mut decoder = FrameDecoder::new(reader.framing());
    let mut parser = reader.stream_parser();
    let mut frames: Vec<Frame> = Vec::new();
    let mut deltas = Deltas::default();
    let mut forwarded = 0usize;
    let mut raw = keep_raw.then(RawAnswer::default);
    let raw_bytes = matches!(decoder, FrameDecoder::Sse(_));
    let read = async {
        loop {
            let read = watched(&watch, async {
                response
                    .chunk()
                    .await
                    .map_err(|e| transport::transport_error(e, &leaf.http))
            })
            .await
            .map_err(|e| e.with_status(status))?;
            // Any bytes are a sign of life, comments and keep-alives included.
            watch.last_event = Instant::now();
            let ended = read.is_none();
            // Frames completed before a corrupt one are read first: an
            // exception frame followed by garbage keeps its own kind.
            let decoded = match read {
                Some(bytes) => {
                    if let Some(raw) = raw.as_mut().filter(|_| raw_bytes) {
                        raw.push(&bytes);
                    }
                    decoder.feed(&bytes, &mut frames)
                }
                None => decoder.finish(&mut frames),
            };
            for frame in frames.drain(..) {
                if let (Some(raw), Frame::AwsEvent(message)) = (raw.as_mut(), &frame) {
                    raw.push_line(message.payload());
                }
                parser
                    .frame(&frame, &mut deltas)
                    .map_err(|e| e.with_status(status))?;
                decoder.recycle(frame);
                if parser.is_done() {
                    break;
                }
            }
            // Text that arrived in one read is passed on as one piece: it came
            // together, so merging costs no latency and saves a message per delta.
            if !deltas.is_empty() {
                forwarded += deltas.len_bytes();
                if forwarded > transport::MAX_ANSWER_BYTES {
                    return Err(Error::bad_response(format!(
                        "the streamed answer is larger than {} MiB",
                        transport::MAX_ANSWER_BYTES / (1024 * 1024)
                    ))
                    .with_status(status));
                }
                watch.got_text = true;
                emit(&deltas);
                deltas.clear();
            }
            if parser.is_done() {
                break;
            }
            decoded?;
            if ended {
                parser.end_of_body().map_err(|e| e.with_status(status))?;
                break;
            }
        }
        Ok::<(), Error>(())
    }
    .await;
    if let Err(error) = read {
        // Usage that arrived before the stream failed was billed.
        return Err(Failed {
            error,
            billed: parser.usage().map(Box::new),
        });
    }
    let mut completion = parser.finish().map_err(|e| e.with_status(status))?;
    completion.raw = raw.map(RawAnswer::finish);
    Ok((status, completion))
}
