//! One module per wire format, all behind [`Provider`]. Strategies, retry and
//! the HTTP engine never look inside a provider.

mod anthropic;
mod anthropic_stream;
mod common;
mod openai;
mod openai_stream;
pub mod stream;

use std::fmt;

use serde_json::{Map, Value};

pub use common::{ApiKey, LeafOptions};

use crate::error::{Error, ErrorKind};
use crate::prompt::Message;
use crate::response::Usage;
pub use stream::StreamParser;

/// An HTTP request ready to send; `secret` is what must be redacted from
/// anything the provider answers.
#[derive(Clone)]
pub struct PreparedRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub secret: Option<String>,
}

impl fmt::Debug for PreparedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedRequest")
            .field("url", &self.url)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// A successful, provider-neutral answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Completion {
    pub content: String,
    pub model: Option<String>,
    pub finish_reason: Option<String>,
    pub usage: Usage,
}

/// A wire format: how to build a request and how to read its answer.
pub trait Provider: Send + Sync + fmt::Debug {
    /// The request for `messages`, with `overrides` merged into the body
    /// last; `stream` asks for a server-sent-events answer.
    fn prepare(
        &self,
        messages: &[Message],
        overrides: &Map<String, Value>,
        stream: bool,
    ) -> Result<PreparedRequest, Error>;

    /// Reads a 2xx body.
    fn parse_response(&self, body: &[u8]) -> Result<Completion, Error>;

    /// A fresh reader for one streamed answer.
    fn stream_parser(&self) -> Box<dyn StreamParser>;

    /// Reads a non-2xx body into an error; the status decides the kind
    /// unless the provider's error type says something more precise.
    fn parse_error(&self, status: u16, body: &[u8]) -> Error {
        let message = common::error_message(body)
            .unwrap_or_else(|| format!("HTTP {status} from the provider"));
        Error::new(ErrorKind::from_status(status), message).with_status(status)
    }
}

/// The canonical provider names, with BAML's aliases folded in.
pub fn canonical_name(provider: &str) -> Option<&'static str> {
    Some(match provider {
        "openai" | "baml-openai-chat" => "openai",
        "openai-generic" => "openai-generic",
        "azure-openai" | "baml-azure-chat" => "azure-openai",
        "ollama" | "baml-ollama-chat" => "ollama",
        "openrouter" => "openrouter",
        "anthropic" | "baml-anthropic-chat" => "anthropic",
        "openai-responses" => "openai-responses",
        "google-ai" => "google-ai",
        "vertex-ai" => "vertex-ai",
        "aws-bedrock" => "aws-bedrock",
        "fallback" | "baml-fallback" => "fallback",
        "round-robin" | "baml-round-robin" | "baml-roundrobin" => "round-robin",
        _ => return None,
    })
}

/// Builds the provider for a leaf client, validating its options.
pub fn build(provider: &'static str, options: &LeafOptions) -> Result<Box<dyn Provider>, Error> {
    match provider {
        "openai" | "openai-generic" | "azure-openai" | "ollama" | "openrouter" => {
            Ok(Box::new(openai::OpenAiChat::new(provider, options)?))
        }
        "anthropic" => Ok(Box::new(anthropic::Anthropic::new(options)?)),
        other => Err(Error::config(format!(
            "{}: provider {other:?} is not supported yet by this version of switchboard",
            options.ctx
        ))),
    }
}
