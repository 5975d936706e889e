//! One module per provider, all behind [`Provider`]. Strategies, retry and
//! the engine never look inside a provider; a provider never knows about
//! strategies.
//!
//! # The seam
//!
//! A provider is declared once in [`spec`] and built from its client's
//! [`ClientOptions`]. Providers group by wire dialect (OpenAI chat,
//! Anthropic messages, Gemini, Bedrock Converse, Responses); a platform
//! (Azure, OpenRouter, Ollama, Vertex, Bedrock) is data beside its spec
//! plus an endpoint and auth resolver, so no dialect asks which provider
//! name it serves.
//!
//! For each attempt the engine asks the provider to
//! [`prepare`](Provider::prepare) it from the call's input. The provider
//! first resolves what the request is for — the model (a per-call `model`
//! may change it, and on Vertex its family: Claude or Gemini), the
//! endpoint, region and project — and then builds the request *and* picks
//! the [`AnswerReader`] for it: an [`Attempt`]. The reader is borrowed from
//! the provider (nothing is allocated for it) and knows which request it
//! answers, so nothing is told from the answer's shape. The engine checks
//! the call's generation parameters against the reader's
//! [`limits`](AnswerReader::limits) before sending, runs the provider's
//! [`authorization`](Provider::authorization) last, and reads the answer
//! with the status and headers in view: a whole body through
//! [`parse_response`](AnswerReader::parse_response) /
//! [`parse_error`](AnswerReader::parse_error), or a stream cut into frames
//! by the reader's [`framing`](AnswerReader::framing) and read by its
//! [`stream_parser`](AnswerReader::stream_parser). When the registry is
//! built, a client's own values are checked against its
//! [`default_reader`](Provider::default_reader) (its own model's dialect).
//!
//! Most of a target is known from the client's options, and the attempt's
//! request is then [`AttemptRequest::Ready`]: no I/O, no allocation. Only
//! what I/O must tell is resolved asynchronously, after the reader is
//! chosen (so limits are checked first) and before the request is built
//! ([`AttemptRequest::Resolving`]): Vertex's project when neither its
//! `project_id` option nor its configured credential names one (the
//! credential found at the first call, or the metadata server, says). That
//! step runs inside the attempt, like authorization: cancelled with the
//! call, bounded by its timeouts, an `:auth` attempt when it fails. No URL
//! carries a placeholder to be patched later.
//!
//! Credentials that need work plug in through `authorization()`:
//!
//! - **OAuth** (Vertex): `Authorization::Custom` holding a token source
//!   that caches the access token, refreshes it once for all concurrent
//!   calls, and sets `authorization: Bearer` on the request.
//! - **Request signing** (Bedrock SigV4, [`bedrock`]): also
//!   `Authorization::Custom`; it runs after the body is final, resolves
//!   credentials from a cached chain, and signs method, URL, headers and
//!   body bytes.
//! - **A binary stream** (Bedrock's event stream): the reader's `framing()`
//!   is [`Framing::AwsEventStream`], whose decoder yields event-stream
//!   messages as frames. A stream that ends with its body (Gemini) keeps
//!   SSE framing and implements [`StreamParser::end_of_body`].

mod anthropic;
mod anthropic_stream;
mod bedrock;
mod bedrock_stream;
mod common;
#[cfg(test)]
mod error_detail_tests;
mod google;
mod google_ai;
mod google_stream;
mod openai;
mod openai_responses;
mod openai_responses_stream;
mod openai_stream;
mod openai_strict;
mod option_aliases;
pub use option_aliases::ALIAS_OPTIONS;
pub mod options;
mod response_type;
pub mod spec;
pub mod stream;
mod vertex;
pub(crate) use vertex::is_claude_model as is_vertex_claude_model;

use std::fmt;
use std::future::Future;
use std::pin::Pin;

pub use crate::wire::Completion;
pub use options::ClientOptions;
pub use spec::{check_call_options, read_call_options, ProviderSpec, SpecKind};
pub use stream::StreamParser;

use crate::auth::Authorization;
use crate::error::Error;
use crate::framing::Framing;
use crate::generation::{self, Limits};
use crate::wire::{CallInput, HttpRequest, ResponseHead};

/// How one attempt's answer is read: the dialect (and platform quirks) of
/// the request it answers, chosen when that request was built.
pub trait AnswerReader: Send + Sync + fmt::Debug {
    /// How streamed answers are cut into frames.
    fn framing(&self) -> Framing {
        Framing::Sse
    }

    /// Reads a 2xx body.
    fn parse_response(&self, head: &ResponseHead, body: &[u8]) -> Result<Completion, Error>;

    /// Reads a non-2xx answer (at most a prefix of its body) into an error,
    /// with the provider's own code and type when the body names them.
    /// The engine sets `status`, and `retry_after` from the headers when
    /// the reader did not.
    fn parse_error(&self, head: &ResponseHead, body: &[u8]) -> Error {
        common::openai_error(body, head.status)
    }

    /// A fresh reader for one streamed answer.
    fn stream_parser(&self) -> Box<dyn StreamParser>;

    /// The documented limits of the generation parameters in this dialect.
    fn limits(&self) -> &'static Limits {
        &generation::UNCHECKED
    }
}

/// One attempt, prepared: the reader of its answer, chosen from its
/// resolved target, and its request (before authorization).
pub struct Attempt<'a> {
    pub reader: &'a dyn AnswerReader,
    pub request: AttemptRequest<'a>,
}

impl<'a> Attempt<'a> {
    /// An attempt whose target the client's options already tell: its
    /// request is built, and its reader is the provider's only one.
    pub fn ready(reader: &'a dyn AnswerReader, request: HttpRequest) -> Self {
        Attempt {
            reader,
            request: AttemptRequest::Ready(request),
        }
    }
}

/// An attempt's request: built, or built once the part of its target only
/// I/O can tell is resolved.
// Not boxed: the plain path (`Ready`) should allocate nothing more, and the
// value lives only until the engine awaits it.
#[allow(clippy::large_enum_variant)]
pub enum AttemptRequest<'a> {
    Ready(HttpRequest),
    Resolving(Pin<Box<dyn Future<Output = Result<HttpRequest, Error>> + Send + 'a>>),
}

/// A client of one provider: resolves each attempt's target, builds its
/// request and names the reader of its answer.
pub trait Provider: Send + Sync + fmt::Debug {
    /// The attempt for one call: its target resolved from the client and
    /// the call's `input`, then its request (before authorization) and the
    /// reader that request's answer needs.
    fn prepare<'a>(&'a self, input: &'a CallInput<'a>) -> Result<Attempt<'a>, Error>;

    /// How requests are authorized; run last, right before sending.
    fn authorization(&self) -> &Authorization;

    /// The reader of a call that changes nothing: the client's own model.
    /// Its limits check the client's values when the registry is built.
    fn default_reader(&self) -> &dyn AnswerReader;
}

/// Shortcuts for tests: the request alone, and the client's default
/// reader's methods, as the provider modules' tests use them.
#[cfg(test)]
impl dyn Provider + '_ {
    /// The request of a call whose target needs no I/O.
    pub(crate) fn build_request(&self, input: &CallInput<'_>) -> Result<HttpRequest, Error> {
        match self.prepare(input)?.request {
            AttemptRequest::Ready(request) => Ok(request),
            AttemptRequest::Resolving(_) => panic!("this test's target needs I/O to resolve"),
        }
    }

    pub(crate) fn parse_response(
        &self,
        head: &ResponseHead,
        body: &[u8],
    ) -> Result<Completion, Error> {
        self.default_reader().parse_response(head, body)
    }

    pub(crate) fn parse_error(&self, head: &ResponseHead, body: &[u8]) -> Error {
        self.default_reader().parse_error(head, body)
    }

    pub(crate) fn stream_parser(&self) -> Box<dyn StreamParser> {
        self.default_reader().stream_parser()
    }
}

/// Builds the provider of a leaf client from its checked options.
pub fn build(options: &ClientOptions) -> Result<Box<dyn Provider>, Error> {
    match options.spec.kind {
        SpecKind::Leaf(build) => build(options),
        _ => Err(Error::config(format!(
            "{}: provider {:?} is not supported yet by this version of switchboard",
            options.ctx, options.spec.name
        ))),
    }
}

/// Builds a provider from options and shows the request it would send, so
/// each provider's module can pin its wire format in golden tests.
#[cfg(test)]
pub(crate) mod golden {
    use serde_json::{json, Value};

    use crate::prompt::parse_prompt;
    use crate::wire::CallInput;

    pub struct Sent {
        pub method: String,
        pub url: String,
        /// Lowercase names, in order, values as sent.
        pub headers: Vec<(String, String)>,
        pub body: Value,
    }

    pub fn provider(name: &str, options: Value) -> Box<dyn super::Provider> {
        let spec = super::spec::find(name).expect("known provider");
        let options = options.as_object().expect("options map").clone();
        let parsed = super::ClientOptions::parse(spec, "client \"T\"".into(), &options)
            .expect("valid options");
        super::build(&parsed).expect("provider builds")
    }

    /// The request for `prompt` (a JSON prompt) with `call` as the call's options.
    pub fn sent(name: &str, options: Value, prompt: Value, call: Value, stream: bool) -> Sent {
        let provider = provider(name, options);
        let messages = parse_prompt(&prompt).expect("prompt");
        let call = call.as_object().cloned().unwrap_or_default();
        let input = CallInput::plain(&messages, &call, stream);
        let mut request = provider.build_request(&input).expect("request builds");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(provider.authorization().apply(&mut request))
            .expect("authorized");
        Sent {
            method: request.method.to_string(),
            url: request.url.to_string(),
            headers: request
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("?").to_owned()))
                .collect(),
            body: serde_json::from_slice(&request.body).expect("JSON body"),
        }
    }

    /// A conversation with every kind of part.
    pub fn conversation() -> Value {
        json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}}
            ]},
            {"role": "assistant", "content": "A logo."},
            {"role": "user", "content": "Whose?"}
        ])
    }
}
