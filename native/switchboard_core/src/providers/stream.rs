//! Streaming answers: one parser per wire format turns decoded SSE events
//! into the text to forward and, at the end, the same [`Completion`] a
//! non-streaming call returns.

use super::anthropic_stream::AnthropicStream;
use super::openai_stream::OpenAiStream;
use super::Completion;
use crate::error::{Error, ErrorKind};
use crate::sse::SseEvent;

/// Reads one provider's event stream. After an `Err` the stream has failed
/// and the parser should not be fed again.
pub trait StreamParser: Send {
    /// One SSE event in; the text to forward to the user, if any (never
    /// thinking or tool input, never an empty string).
    fn event(&mut self, event: &SseEvent) -> Result<Option<String>, Error>;

    /// True once the provider signalled a proper end (OpenAI `data: [DONE]`,
    /// Anthropic `message_stop`). A stream that ends before that was cut.
    fn is_done(&self) -> bool;

    /// The whole answer once the stream ended: all forwarded text,
    /// finish_reason, usage and model.
    fn finish(self: Box<Self>) -> Completion;
}

/// OpenAI chat completions chunks (also Azure, OpenRouter, Ollama, ...).
pub fn openai_parser() -> Box<dyn StreamParser> {
    Box::<OpenAiStream>::default()
}

/// Anthropic Messages events.
pub fn anthropic_parser() -> Box<dyn StreamParser> {
    Box::<AnthropicStream>::default()
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
    serde_json::from_str(data).map_err(|e| {
        Error::bad_response(format!(
            "an event of the provider's stream is not valid JSON: {e}"
        ))
    })
}

/// Provider messages are quoted into errors; keep them a sensible size.
pub(super) fn short(message: &str) -> String {
    message.chars().take(2000).collect()
}
