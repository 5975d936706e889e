//! What a finished call hands back.

use std::time::Duration;

use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub total_tokens: Option<u64>,
    pub cached_input_tokens: Option<u64>,
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
