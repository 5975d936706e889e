//! Provider wire formats: response bodies, SSE events and error bodies.
//!
//! Each provider module only knows how to *render*; when and how the pieces
//! are sent (delays, faults) is decided by `plan`.

mod anthropic;
pub mod bedrock;
mod openai;
mod openai_responses;

use bytes::Bytes;
use hyper::header::HeaderName;
use hyper::Method;
use serde::Deserialize;

use crate::step::UsageSpec;

/// The wire formats the mock speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    OpenAi,
    /// OpenAI Responses API (`/v1/responses`).
    OpenAiResponses,
    Anthropic,
    /// AWS Bedrock Runtime Converse / ConverseStream.
    Bedrock,
}

impl Provider {
    /// Routes by path suffix so every base-URL layout (Azure deployments,
    /// OpenAI-compatible gateways, `/v1` or not) hits the same format.
    pub fn detect(method: &Method, path: &str) -> Option<Provider> {
        if method != Method::POST {
            return None;
        }
        if bedrock::is_converse(path) {
            Some(Provider::Bedrock)
        } else if path.ends_with("/chat/completions") {
            Some(Provider::OpenAi)
        } else if path.ends_with("/responses") {
            Some(Provider::OpenAiResponses)
        } else if path.ends_with("/messages") {
            Some(Provider::Anthropic)
        } else {
            None
        }
    }

    /// The header the real API uses to identify a request.
    pub fn request_id_header(self) -> HeaderName {
        match self {
            Provider::OpenAi | Provider::OpenAiResponses => HeaderName::from_static("x-request-id"),
            Provider::Anthropic => HeaderName::from_static("request-id"),
            Provider::Bedrock => HeaderName::from_static("x-amzn-requestid"),
        }
    }

    pub fn request_id(self, n: u64) -> String {
        match self {
            Provider::OpenAi | Provider::OpenAiResponses => format!("req_mock{n:016x}"),
            Provider::Anthropic => format!("req_mock{n:020}"),
            Provider::Bedrock => bedrock::request_id(n),
        }
    }

    /// What the mock needs from the request: Bedrock names the model and
    /// asks for a stream in the path, the others in the JSON body.
    pub fn request_info(self, path: &str, body: &[u8]) -> RequestInfo {
        match self {
            Provider::Bedrock => RequestInfo {
                model: bedrock::model_from_path(path),
                stream: bedrock::is_stream(path),
                stream_options: None,
            },
            _ => RequestInfo::parse(body),
        }
    }

    /// `error_type` is the error code of a failed answer (Responses API).
    pub fn success_body(self, reply: &Reply<'_>, error_type: Option<&str>) -> Bytes {
        match self {
            Provider::OpenAi => openai::completion(reply),
            Provider::OpenAiResponses => openai_responses::response_body(reply, error_type),
            Provider::Anthropic => anthropic::message(reply),
            Provider::Bedrock => bedrock::converse(reply),
        }
    }

    pub fn stream(self, reply: &Reply<'_>, deltas: &[&str], opts: &StreamOptions<'_>) -> Stream {
        match self {
            Provider::OpenAi => openai::stream(reply, deltas, opts),
            Provider::OpenAiResponses => openai_responses::stream(reply, deltas, opts),
            Provider::Anthropic => anthropic::stream(reply, deltas, opts),
            Provider::Bedrock => bedrock::stream(reply, deltas, opts),
        }
    }

    pub fn stream_content_type(self) -> &'static str {
        match self {
            Provider::Bedrock => bedrock::CONTENT_TYPE,
            _ => SSE,
        }
    }

    /// What a stream cut after `sent` deltas ends with: SSE streams end
    /// between events, Bedrock's inside the next frame.
    pub fn cut_trailer(self, stream: &Stream, sent: usize) -> Option<Bytes> {
        match self {
            Provider::Bedrock => bedrock::partial_frame(stream, sent),
            _ => None,
        }
    }

    /// The status a step implies when it scripts no `status`: a Bedrock
    /// `error_type` outside a stream is an HTTP error of that type.
    pub fn implied_status(self, error_type: Option<&str>, in_stream: bool) -> Option<u16> {
        match (self, error_type) {
            (Provider::Bedrock, Some(t)) if !in_stream => Some(bedrock::status_for_type(t)),
            _ => None,
        }
    }

    /// The mid-stream error event sent after `sent` content deltas.
    pub fn stream_error(self, stream: &Stream, sent: usize, opts: &StreamOptions<'_>) -> Bytes {
        match self {
            // Its sequence number counts the events before it.
            Provider::OpenAiResponses => {
                openai_responses::error_event(stream.head.len() + sent, opts)
            }
            Provider::OpenAi | Provider::Anthropic | Provider::Bedrock => stream.error.clone(),
        }
    }

    /// The error answer for `status`; Bedrock also honours a scripted
    /// `error_type` and names it in a header.
    pub fn error(self, status: u16, model: &str, error_type: Option<&str>) -> ErrorReply {
        let body = match self {
            Provider::OpenAi | Provider::OpenAiResponses => openai::error(status, model),
            Provider::Anthropic => anthropic::error(status),
            Provider::Bedrock => return bedrock::error(status, model, error_type),
        };
        ErrorReply {
            body,
            headers: Vec::new(),
        }
    }

    /// A 200 whose body cannot be decoded.
    pub fn malformed(self, stream: bool) -> Bytes {
        match (self, stream) {
            (Provider::Bedrock, true) => bedrock::malformed_stream(),
            (_, true) => Bytes::from_static(b"data: {\"id\": \"x\", \"choices\": [\n\n"),
            (_, false) => Bytes::from_static(b"{\"id\": \"x\", \"choices\": ["),
        }
    }

    pub fn default_finish_reason(self) -> &'static str {
        match self {
            Provider::OpenAi => "stop",
            Provider::OpenAiResponses => "completed",
            Provider::Anthropic | Provider::Bedrock => "end_turn",
        }
    }

    pub fn default_model(self) -> &'static str {
        match self {
            Provider::OpenAi | Provider::OpenAiResponses => "gpt-mock",
            Provider::Anthropic => "claude-mock",
            Provider::Bedrock => "anthropic.claude-mock-v1:0",
        }
    }
}

/// An error answer: its body and the headers that name the error.
#[derive(Debug)]
pub struct ErrorReply {
    pub body: Bytes,
    pub headers: Vec<(HeaderName, hyper::header::HeaderValue)>,
}

pub const SSE: &str = "text/event-stream; charset=utf-8";

/// The 404 for a path no provider serves (OpenAI's shape, as most clients expect).
pub fn not_found_body(method: &str, path: &str) -> Bytes {
    openai::not_found(method, path)
}

/// The few request fields that change the response.
#[derive(Debug, Default, Deserialize)]
pub struct RequestInfo {
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub stream: bool,
    #[serde(default)]
    pub stream_options: Option<StreamOptionsIn>,
}

#[derive(Debug, Default, Deserialize)]
pub struct StreamOptionsIn {
    #[serde(default, deserialize_with = "lenient_bool")]
    pub include_usage: bool,
}

impl RequestInfo {
    /// Never fails: a body that is not the expected JSON gets the defaults,
    /// because the mock must still answer (and record) it.
    pub fn parse(body: &[u8]) -> RequestInfo {
        serde_json::from_slice(body).unwrap_or_default()
    }

    pub fn include_usage(&self) -> bool {
        self.stream_options
            .as_ref()
            .is_some_and(|o| o.include_usage)
    }
}

/// `"stream": null` or a non-boolean counts as not streaming instead of
/// failing the whole parse.
fn lenient_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(matches!(
        serde_json::Value::deserialize(d)?,
        serde_json::Value::Bool(true)
    ))
}

/// Token counts with defaults applied.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    pub input: u64,
    pub output: u64,
    pub cached: u64,
    pub cache_creation: u64,
}

impl Usage {
    pub fn from_spec(spec: &UsageSpec) -> Usage {
        Usage {
            input: spec.input_tokens.unwrap_or(12),
            output: spec.output_tokens.unwrap_or(8),
            cached: spec.cached_input_tokens.unwrap_or(0),
            cache_creation: spec.cache_creation_input_tokens.unwrap_or(0),
        }
    }
}

/// Everything a successful answer says.
#[derive(Debug)]
pub struct Reply<'a> {
    pub id: u64,
    pub created: u64,
    pub model: &'a str,
    pub content: &'a str,
    /// A reasoning block before the text (Bedrock only).
    pub reasoning: Option<&'a str>,
    pub finish_reason: &'a str,
    pub usage: Usage,
}

#[derive(Debug, Default)]
pub struct StreamOptions<'a> {
    pub include_usage: bool,
    /// Overrides the mid-stream error type (Anthropic) or code (Responses API).
    pub error_type: Option<&'a str>,
}

/// A rendered SSE stream, split where faults can be injected.
#[derive(Debug)]
pub struct Stream {
    /// Events before the first content delta.
    pub head: Vec<Bytes>,
    /// One event per content delta.
    pub deltas: Vec<Bytes>,
    /// Events after the last delta, terminator included.
    pub tail: Vec<Bytes>,
    /// The event sent by `error_after`.
    pub error: Bytes,
}

/// `data: <json>\n\n`, written without intermediate `String`s.
fn data_event(json: &impl serde::Serialize) -> Bytes {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"data: ");
    write_json(&mut out, json);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// `event: <name>\ndata: <json>\n\n`.
fn named_event(name: &str, json: &impl serde::Serialize) -> Bytes {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    write_json(&mut out, json);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

fn json_bytes(json: &impl serde::Serialize) -> Bytes {
    let mut out = Vec::with_capacity(512);
    write_json(&mut out, json);
    Bytes::from(out)
}

fn write_json(out: &mut Vec<u8>, json: &impl serde::Serialize) {
    // Only our own derive(Serialize) structs reach here; they have string keys
    // and no fallible fields, so this cannot fail.
    if let Err(e) = serde_json::to_writer(&mut *out, json) {
        out.extend_from_slice(format!("{{\"mock_error\":\"{e}\"}}").as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_suffix() {
        let post = Method::POST;
        assert_eq!(
            Provider::detect(&post, "/v1/chat/completions"),
            Some(Provider::OpenAi)
        );
        assert_eq!(
            Provider::detect(&post, "/openai/deployments/d1/chat/completions"),
            Some(Provider::OpenAi)
        );
        assert_eq!(
            Provider::detect(&post, "/v1/messages"),
            Some(Provider::Anthropic)
        );
        assert_eq!(
            Provider::detect(&post, "/v1/responses"),
            Some(Provider::OpenAiResponses)
        );
        assert_eq!(
            Provider::detect(&post, "/openai/v1/responses"),
            Some(Provider::OpenAiResponses)
        );
        assert_eq!(
            Provider::detect(&post, "/model/us.anthropic.claude-v1%3A0/converse"),
            Some(Provider::Bedrock)
        );
        assert_eq!(
            Provider::detect(&post, "/model/m/converse-stream"),
            Some(Provider::Bedrock)
        );
        assert_eq!(Provider::detect(&post, "/model/m/invoke"), None);
        assert_eq!(Provider::detect(&post, "/v1/embeddings"), None);
        assert_eq!(Provider::detect(&Method::GET, "/v1/messages"), None);
    }

    #[test]
    fn request_info_is_lenient() {
        let info = RequestInfo::parse(
            br#"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#,
        );
        assert_eq!(info.model.as_deref(), Some("m"));
        assert!(info.stream && info.include_usage());
        let info = RequestInfo::parse(br#"{"stream":"yes"}"#);
        assert!(!info.stream);
        assert!(RequestInfo::parse(b"not json").model.is_none());
    }
}
