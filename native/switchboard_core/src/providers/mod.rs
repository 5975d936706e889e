//! One module per provider, all behind [`Provider`]. Strategies, retry and
//! the engine never look inside a provider; a provider never knows about
//! strategies.
//!
//! # The seam
//!
//! A provider is declared once in [`spec`] and built from its client's
//! [`ClientOptions`]. For each attempt the engine asks it to
//! [`build_request`](Provider::build_request) from the call's input (so a
//! per-call `model` can change the URL), then runs its
//! [`authorization`](Provider::authorization) last, right before sending,
//! then reads the answer with the status and headers in view: a whole body
//! through [`parse_response`](Provider::parse_response) /
//! [`parse_error`](Provider::parse_error), or a stream cut into frames by the
//! provider's [`framing`](Provider::framing) and read by its
//! [`stream_parser`](Provider::stream_parser).
//!
//! How the providers still to come plug in:
//!
//! - **OAuth** (Vertex service accounts): `authorization()` returns
//!   `Authorization::Custom` holding a token source that caches the access
//!   token in the client (so in the registry handle), refreshes it once for
//!   all concurrent calls, and sets `authorization: Bearer` on the request.
//!   Its token fetch runs inside the attempt: cancelled with the call,
//!   bounded by its timeouts, an `:auth` attempt when it fails.
//! - **Request signing** (Bedrock SigV4, [`bedrock`]): also
//!   `Authorization::Custom`; it runs after the body is final, resolves
//!   credentials from a cached chain, and signs method, URL, headers and
//!   body bytes.
//! - **A binary stream** (Bedrock's event stream): `framing()` returns
//!   [`Framing::AwsEventStream`], whose decoder yields event-stream messages
//!   as frames; the provider's parser reads those frames. A stream that ends
//!   with its body (Gemini) keeps SSE framing and implements
//!   [`StreamParser::end_of_body`].

mod anthropic;
mod anthropic_stream;
mod bedrock;
mod bedrock_stream;
mod common;
mod google;
mod google_ai;
mod google_stream;
mod openai;
mod openai_responses;
mod openai_responses_stream;
mod openai_stream;
mod openai_strict;
pub mod options;
pub mod spec;
pub mod stream;
mod vertex;

use std::fmt;

pub use crate::wire::Completion;
pub use options::ClientOptions;
pub use spec::{check_call_options, read_call_options, ProviderSpec, SpecKind};
pub use stream::StreamParser;

use crate::auth::Authorization;
use crate::error::{Error, ErrorKind};
use crate::framing::Framing;
use crate::generation::{self, Limits};
use crate::wire::{CallInput, HttpRequest, ResponseHead};

/// A wire format: how to build a request and how to read its answer.
pub trait Provider: Send + Sync + fmt::Debug {
    /// The request for one attempt of a call, before authorization.
    fn build_request(&self, input: &CallInput<'_>) -> Result<HttpRequest, Error>;

    /// How requests are authorized; run last, right before sending.
    fn authorization(&self) -> &Authorization;

    /// How streamed answers are cut into frames.
    fn framing(&self) -> Framing {
        Framing::Sse
    }

    /// Reads a 2xx body.
    fn parse_response(&self, head: &ResponseHead, body: &[u8]) -> Result<Completion, Error>;

    /// Reads a non-2xx answer (at most a prefix of its body) into an error.
    /// The engine sets `status`, and `retry_after` from the headers when
    /// the provider did not.
    fn parse_error(&self, head: &ResponseHead, body: &[u8]) -> Error {
        let message = common::error_message(body)
            .unwrap_or_else(|| format!("HTTP {} from the provider", head.status));
        Error::new(ErrorKind::from_status(head.status), message)
    }

    /// A fresh reader for one streamed answer.
    fn stream_parser(&self) -> Box<dyn StreamParser>;

    /// The documented limits of the generation parameters, for a call with
    /// these `options:` (a per-call `model` may change the dialect).
    fn generation_limits(
        &self,
        _options: &serde_json::Map<String, serde_json::Value>,
    ) -> &'static Limits {
        &generation::UNCHECKED
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
