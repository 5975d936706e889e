//! What a dialect renders: a scripted answer with its defaults applied, the
//! pieces of a stream, and errors.

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue};

use super::Platform;
use crate::step::{ToolCallSpec, UsageSpec};

/// Token counts with defaults applied.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    pub input: u64,
    pub output: u64,
    pub cached: u64,
    pub cache_creation: u64,
    /// Thinking tokens, reported apart from the answer's.
    pub thoughts: u64,
}

impl Usage {
    pub fn from_spec(spec: &UsageSpec) -> Usage {
        Usage {
            input: spec.input_tokens.unwrap_or(12),
            output: spec.output_tokens.unwrap_or(8),
            cached: spec.cached_input_tokens.unwrap_or(0),
            cache_creation: spec.cache_creation_input_tokens.unwrap_or(0),
            thoughts: spec.thoughts_tokens.unwrap_or(0),
        }
    }
}

/// Everything a successful answer says, and who serves it.
#[derive(Debug)]
pub struct Reply<'a> {
    pub platform: Platform,
    pub id: u64,
    pub created: u64,
    pub model: &'a str,
    pub content: &'a str,
    /// A reasoning block before the text.
    pub reasoning: Option<&'a str>,
    /// Tool calls after the text.
    pub tool_calls: &'a [ToolCallSpec],
    /// The scripted one, or the dialect's default.
    pub finish_reason: &'a str,
    pub usage: Usage,
    /// Gemini: the text of a thought part sent before the answer.
    pub thoughts: Option<&'a str>,
    /// Gemini: the prompt was blocked for this reason; no candidates.
    pub block_reason: Option<&'a str>,
    /// The step's `error_type`: the code of a failed response (Responses
    /// API) and the type, code or status of a mid-stream error.
    pub error_type: Option<&'a str>,
}

impl<'a> Reply<'a> {
    /// Whether the answer has a text part: always, unless it only calls
    /// tools (the APIs then send no empty text).
    pub fn has_text(&self) -> bool {
        !self.content.is_empty() || self.tool_calls.is_empty()
    }

    /// The finish reason, where a dialect names answers that call tools
    /// apart: its `unscripted` default reads as `with_tools` then, and any
    /// other scripted reason is kept.
    pub fn finish_reason_with_tools(&self, unscripted: &str, with_tools: &'a str) -> &'a str {
        if self.finish_reason == unscripted && !self.tool_calls.is_empty() {
            with_tools
        } else {
            self.finish_reason
        }
    }
}

/// How the client asked for a stream.
#[derive(Debug, Default)]
pub struct StreamOptions {
    /// OpenAI's `stream_options.include_usage`.
    pub include_usage: bool,
    /// Gemini without `alt=sse`: elements of one JSON array instead of events.
    pub json_array: bool,
}

/// A rendered stream, split where faults can be injected.
#[derive(Debug, Default)]
pub struct Stream {
    /// Events before the first content delta.
    pub head: Vec<Bytes>,
    /// One event per content delta (and, for some dialects, the tool calls
    /// after them).
    pub deltas: Vec<Bytes>,
    /// Events after the last delta, terminator included.
    pub tail: Vec<Bytes>,
    /// The event sent by `error_after` after all the deltas.
    pub error: Bytes,
}

/// What an HTTP error answers.
#[derive(Debug)]
pub struct Failure<'a> {
    pub platform: Platform,
    pub status: u16,
    /// The model asked for, or the dialect's default.
    pub model: &'a str,
    /// The request's path (scenario prefix removed); Vertex quotes it.
    pub path: &'a str,
    /// The step's `error_type`: names the error instead of the status.
    pub error_type: Option<&'a str>,
}

/// An error answer: its body and the headers that name the error.
#[derive(Debug)]
pub struct ErrorReply {
    pub body: Bytes,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl ErrorReply {
    /// An error said by its body alone.
    pub fn body(body: Bytes) -> ErrorReply {
        ErrorReply {
            body,
            headers: Vec::new(),
        }
    }
}
