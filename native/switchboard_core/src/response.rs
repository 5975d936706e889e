//! What a finished call hands back.

use std::time::Duration;

use serde_json::Value;

use crate::error::Error;
use crate::reasoning::ReasoningPart;
use crate::tools::ToolCall;

/// Token counts, with one meaning across providers: `input_tokens` counts
/// every prompt token, cached or not (`cached_input_tokens` and
/// `cache_creation_input_tokens` are parts of it), and `total_tokens` is
/// input + output. `None` when the provider did not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub total_tokens: Option<u64>,
    /// Prompt tokens read from the provider's cache.
    pub cached_input_tokens: Option<u64>,
    /// Prompt tokens written to the provider's cache (Anthropic, Bedrock).
    pub cache_creation_input_tokens: Option<u64>,
    /// Output tokens spent on reasoning; part of `output_tokens` too.
    pub reasoning_tokens: Option<u64>,
}

impl Usage {
    /// Input and output counts; the total is their sum when both are known.
    pub fn new(input: Option<u64>, output: Option<u64>) -> Self {
        Usage {
            input_tokens: input,
            output_tokens: output,
            total_tokens: match (input, output) {
                (None, None) => None,
                (i, o) => Some(i.unwrap_or(0).saturating_add(o.unwrap_or(0))),
            },
            ..Usage::default()
        }
    }

    /// The provider's own total, used only when neither count is known.
    pub fn or_total(mut self, total: Option<u64>) -> Self {
        self.total_tokens = self.total_tokens.or(total);
        self
    }

    pub fn with_cached(mut self, read: Option<u64>, created: Option<u64>) -> Self {
        self.cached_input_tokens = read;
        self.cache_creation_input_tokens = created;
        self
    }

    pub fn with_reasoning(mut self, reasoning: Option<u64>) -> Self {
        self.reasoning_tokens = reasoning;
        self
    }
}

/// Why the model stopped, the same on every provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Finish {
    /// A natural end or a stop sequence.
    Stop,
    /// The output token limit.
    Length,
    /// The model wants tools run.
    ToolCalls,
    /// A safety filter, a refusal or a guardrail.
    ContentFilter,
    /// Anything else, or the provider did not say.
    #[default]
    Other,
}

impl Finish {
    /// Each provider's reasons, one table: their names do not collide.
    pub fn from_reason(reason: Option<&str>) -> Finish {
        match reason {
            Some(
                "stop" | "end_turn" | "stop_sequence" | "STOP" | "completed" | "FINISH_REASON_STOP",
            ) => Finish::Stop,
            Some(
                "length"
                | "max_tokens"
                | "MAX_TOKENS"
                | "max_output_tokens"
                | "model_context_window_exceeded",
            ) => Finish::Length,
            Some("tool_calls" | "tool_use" | "function_call") => Finish::ToolCalls,
            Some(
                "content_filter"
                | "content_filtered"
                | "guardrail_intervened"
                | "refusal"
                | "SAFETY"
                | "RECITATION"
                | "BLOCKLIST"
                | "PROHIBITED_CONTENT"
                | "SPII"
                | "IMAGE_SAFETY",
            ) => Finish::ContentFilter,
            _ => Finish::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Finish::Stop => "stop",
            Finish::Length => "length",
            Finish::ToolCalls => "tool_calls",
            Finish::ContentFilter => "content_filter",
            Finish::Other => "other",
        }
    }
}

/// One HTTP attempt (or one leaf that could not even send, e.g. a missing key).
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub client: String,
    pub provider: String,
    pub status: Option<u16>,
    pub error: Option<Error>,
    pub duration: Duration,
    /// The tokens of the answer this attempt read, `None` when none was
    /// read (an HTTP error, a timeout). An answer read and then rejected
    /// (schema mismatch, finish reason, a stream cut after its usage) was
    /// billed, so it has usage too.
    pub usage: Option<Usage>,
    /// What `usage` cost under the client's `pricing`.
    pub cost: Option<f64>,
    /// When the attempt started (wall clock).
    pub started_at: std::time::SystemTime,
    /// From the attempt's start to its first streamed delta; `None` when
    /// nothing was streamed.
    pub time_to_first_token: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub content: String,
    /// Reasoning kept apart from `content`; empty when there was none.
    pub reasoning: String,
    /// Reasoning to send back with this answer's tool calls, tagged with
    /// the dialect that made it.
    pub reasoning_parts: Vec<ReasoningPart>,
    pub tool_calls: Vec<ToolCall>,
    /// The answer decoded and checked against the call's `output_schema`.
    pub parsed: Option<Value>,
    pub model: Option<String>,
    pub finish_reason: Option<String>,
    pub finish: Finish,
    pub usage: Usage,
    /// The whole call's cost: every attempt's that has one
    /// ([`Attempt::cost`]), not only the answer's.
    pub cost: Option<f64>,
    /// The leaf client that answered.
    pub client: String,
    pub provider: String,
    pub attempts: Vec<Attempt>,
    pub latency: Duration,
    /// With `raw_response`, the answering attempt's answer as received
    /// (bounded); `None` otherwise.
    pub raw: Option<String>,
}

/// A call that ended without an answer, with every attempt it made.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub error: Error,
    pub attempts: Vec<Attempt>,
}
