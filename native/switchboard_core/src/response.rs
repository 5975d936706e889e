//! What a finished call hands back.

use std::time::Duration;

use crate::error::Error;

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
    /// Prompt tokens written to the provider's cache (Anthropic).
    pub cache_creation_input_tokens: Option<u64>,
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
}

/// One HTTP attempt (or one leaf that could not even send, e.g. a missing key).
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub client: String,
    pub provider: String,
    pub status: Option<u16>,
    pub error: Option<Error>,
    pub duration: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub content: String,
    pub model: Option<String>,
    pub finish_reason: Option<String>,
    pub usage: Usage,
    /// The leaf client that answered.
    pub client: String,
    pub provider: String,
    pub attempts: Vec<Attempt>,
    pub latency: Duration,
}

/// A call that ended without an answer, with every attempt it made.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub error: Error,
    pub attempts: Vec<Attempt>,
}
