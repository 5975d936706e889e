//! Streaming answers: one parser per wire format turns frames into the
//! text to forward and, at the end, the same [`Completion`] a
//! non-streaming call returns.

use super::anthropic_stream::AnthropicStream;
use super::openai_stream::OpenAiStream;
use super::Completion;
use crate::error::{Error, ErrorKind};
use crate::framing::sse::SseEvent;
use crate::framing::Frame;
use crate::reasoning::ReasoningPart;
use crate::response::Usage;
use crate::wire::Deltas;

/// Reads one provider's stream, frame by frame. After an `Err` the stream
/// has failed and the parser should not be fed again.
pub trait StreamParser: Send {
    /// One frame in; what it carries for the caller goes into `out`:
    /// answer text, reasoning, and tool calls as they start.
    fn frame(&mut self, frame: &Frame, out: &mut Deltas) -> Result<(), Error>;

    /// True once the provider signalled a proper end (OpenAI `data: [DONE]`,
    /// Anthropic `message_stop`): nothing after it is read.
    fn is_done(&self) -> bool;

    /// The body ended. A stream that ends before its end signal was cut;
    /// formats without one (Gemini) decide here whether it was complete.
    fn end_of_body(&mut self) -> Result<(), Error> {
        if self.is_done() {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::Network,
                "the stream ended before the provider finished the answer",
            ))
        }
    }

    /// The whole answer once the stream ended: all forwarded text and
    /// reasoning, the assembled tool calls, finish_reason, usage and model.
    /// Tool calls whose arguments are not a JSON object fail here.
    fn finish(self: Box<Self>) -> Result<Completion, Error>;

    /// The usage the provider reported so far, if any: a stream that fails
    /// after it was billed, and the attempt counts it.
    fn usage(&self) -> Option<Usage> {
        None
    }
}

/// OpenAI chat completions chunks (also Azure, OpenRouter, Ollama, ...).
pub fn openai_parser() -> Box<dyn StreamParser> {
    Box::<OpenAiStream>::default()
}

/// Anthropic Messages events.
pub fn anthropic_parser() -> Box<dyn StreamParser> {
    Box::<AnthropicStream>::default()
}

/// Gemini `GenerateContentResponse` chunks (google-ai, Gemini on Vertex).
pub fn gemini_parser() -> Box<dyn StreamParser> {
    Box::<super::google_stream::GeminiStream>::default()
}

/// The payload a parser should read: `None` once its stream is done, and
/// for events without data (pings, keep-alives).
pub(super) fn payload(done: bool, event: &SseEvent) -> Option<&str> {
    let data = event.data.trim();
    (!done && !data.is_empty()).then_some(data)
}

/// The error for a payload that could not be read. Named `event: error`,
/// it is the provider's own failure in plain text (some compatible servers
/// send those); otherwise the stream itself is broken.
pub(super) fn unreadable(event: &SseEvent, data: &str, cause: Error) -> Error {
    if event.event.as_deref() == Some("error") {
        Error::new(ErrorKind::Server, short(data))
    } else {
        cause
    }
}

/// The JSON payload of an event, or `BadResponse`.
pub(super) fn parse_data(data: &str) -> Result<serde_json::Value, Error> {
    parse_event(data.as_bytes())
}

/// The JSON payload of an event read into `T`, or `BadResponse`.
pub(super) fn parse_event<'a, T: serde::Deserialize<'a>>(payload: &'a [u8]) -> Result<T, Error> {
    serde_json::from_slice(payload).map_err(|e| {
        Error::bad_response(format!(
            "an event of the provider's stream is not valid JSON: {e}"
        ))
    })
}

/// Provider messages are quoted into errors; keep them a sensible size.
pub(super) fn short(message: &str) -> String {
    message.chars().take(2000).collect()
}

/// A stream's reasoning parts keyed by the content block they come from,
/// in the order their blocks began: a block's text, signature or data
/// arrives in pieces, each naming the block's index.
#[derive(Debug, Default)]
pub(super) struct BlockParts(Vec<(u64, ReasoningPart)>);

impl BlockParts {
    /// The part of the block at `index`, if it began.
    pub(super) fn at(&mut self, index: u64) -> Option<&mut ReasoningPart> {
        self.0
            .iter_mut()
            .rev()
            .find(|(i, _)| *i == index)
            .map(|(_, p)| p)
    }

    /// The part of the block at `index`, begun as `start()` gives it if
    /// this is the block's first piece.
    pub(super) fn at_or_begin(
        &mut self,
        index: u64,
        start: impl FnOnce() -> ReasoningPart,
    ) -> &mut ReasoningPart {
        let at = match self.0.iter().rposition(|(i, _)| *i == index) {
            Some(at) => at,
            None => {
                self.0.push((index, start()));
                self.0.len() - 1
            }
        };
        &mut self.0[at].1
    }

    /// A block begins.
    pub(super) fn begin(&mut self, index: u64, part: ReasoningPart) {
        self.0.push((index, part));
    }

    /// The parts, in the order their blocks began.
    pub(super) fn into_parts(self) -> Vec<ReasoningPart> {
        self.0.into_iter().map(|(_, p)| p).collect()
    }
}
