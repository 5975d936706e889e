//! The wire dialects the mock speaks, one module each, all behind
//! [`Dialect`]: how a dialect reads the request (model, streaming), renders
//! a scripted answer (whole, streamed, or cut mid-stream) and fails (error
//! bodies and headers). When and how the pieces are sent (delays, faults,
//! splitting) is `plan`'s job, and which path speaks which dialect is
//! `route`'s; neither looks inside a dialect.
//!
//! A dialect may be served by more than one host: the route says which with a
//! [`Platform`] (Gemini on the Gemini API or on Vertex AI, Claude from
//! Anthropic or on Vertex AI), and the dialect reads it from the request, the
//! [`Reply`] or the [`Failure`]. OpenAI-compatible hosts (OpenRouter, Azure
//! OpenAI, Ollama) answer exactly as OpenAI does, so they differ only in
//! their paths.
//!
//! # Adding a dialect
//!
//! 1. A module here with a unit struct implementing [`Dialect`]: the
//!    required methods render answers and errors; override the defaults
//!    that differ (request id header, content types, where the model is
//!    named, how a cut stream ends). Shared shapes are in `wire`: SSE
//!    events, text split in pieces, tool-call arguments as JSON.
//! 2. Its paths in `route::served_at` (one arm naming the dialect and its
//!    platform), listed in `route::SERVED` (the 404's list) and in the
//!    crate docs' *Paths*.
//!
//! Nothing else matches on dialects.
//!
//! Google's token endpoint and the GCE metadata server are not dialects:
//! they are routes of their own, answered by `google_token`.

mod anthropic;
pub mod bedrock;
pub mod bedrock_error;
mod gemini;
mod google_error;
mod openai;
mod openai_responses;
mod reply;
mod request;
mod wire;

use std::fmt;

use bytes::Bytes;
use hyper::header::HeaderName;

pub use anthropic::Anthropic;
pub use bedrock::Bedrock;
pub use gemini::Gemini;
pub use openai::OpenAiChat;
pub use openai_responses::OpenAiResponses;
pub use reply::{ErrorReply, Failure, Reply, Stream, StreamOptions, Usage};
pub use request::{GoogleCall, Request, RequestInfo};
pub(crate) use wire::json_bytes;
pub use wire::SSE;

/// The content type of JSON answers unless a dialect says otherwise.
pub const JSON: &str = "application/json";

/// A 2xx JSON body cut short, for `malformed` steps.
const MALFORMED_JSON: &[u8] = b"{\"id\": \"x\", \"choices\": [";

/// Who hosts the API a request is for, when that changes the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// The dialect's own API, and the hosts that copy it byte for byte.
    Native,
    /// Google Cloud's Vertex AI: model and method in the URL, Google's
    /// error shapes and wording.
    Vertex,
}

/// One wire format of a model API. Implementations are stateless unit
/// structs; `route` hands out `&'static` references to them.
pub trait Dialect: Sync + fmt::Debug {
    /// What the request says that changes the answer. Most dialects name the
    /// model and the streaming mode in the JSON body.
    fn request_info(&self, request: &Request<'_>) -> RequestInfo {
        RequestInfo::parse(request.body)
    }

    /// The model an answer names when the request names none.
    fn default_model(&self) -> &'static str;

    /// The finish reason of an answer whose step scripts none.
    fn default_finish_reason(&self) -> &'static str;

    /// The header the real API identifies a request with, and its value for
    /// the mock's `n`-th request.
    fn request_id(&self, _platform: Platform, _n: u64) -> Option<(HeaderName, String)> {
        None
    }

    /// The content type of whole JSON answers and error bodies.
    fn json_content_type(&self) -> &'static str {
        JSON
    }

    /// The content type of a streamed answer.
    fn stream_content_type(&self) -> &'static str {
        SSE
    }

    /// The whole (non-streamed) answer.
    fn answer(&self, reply: &Reply<'_>) -> Bytes;

    /// The streamed answer, `deltas` its text pieces, split where faults can
    /// be injected.
    fn stream(&self, reply: &Reply<'_>, deltas: &[&str], opts: &StreamOptions) -> Stream;

    /// The error event `error_after` sends after `sent` content deltas.
    /// Most streams have one error event whatever came before it.
    fn stream_error(
        &self,
        _reply: &Reply<'_>,
        stream: &Stream,
        _sent: usize,
        _opts: &StreamOptions,
    ) -> Bytes {
        stream.error.clone()
    }

    /// What a stream cut after `sent` deltas (`truncate_after`) ends with.
    /// SSE streams end between events.
    fn cut_trailer(&self, _stream: &Stream, _sent: usize) -> Option<Bytes> {
        None
    }

    /// The HTTP status a scripted `error_type` implies outside a stream when
    /// the step scripts no `status`, for dialects whose error types each
    /// have one.
    fn status_of_error_type(&self, _error_type: &str) -> Option<u16> {
        None
    }

    /// The answer to an HTTP error.
    fn error(&self, failure: &Failure<'_>) -> ErrorReply;

    /// A 2xx whose body cannot be decoded.
    fn malformed(&self, stream: bool) -> Bytes {
        if stream {
            Bytes::from_static(b"data: {\"id\": \"x\", \"choices\": [\n\n")
        } else {
            Bytes::from_static(MALFORMED_JSON)
        }
    }

    /// The AWS service whose SigV4 signatures requests carry, for dialects
    /// served by AWS; a scenario with an AWS configuration checks them.
    fn aws_service(&self) -> Option<&'static str> {
        None
    }
}
