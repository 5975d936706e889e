//! Provider wire formats: response bodies, SSE events and error bodies.
//!
//! Each provider module only knows how to *render*; when and how the pieces
//! are sent (delays, faults) is decided by `plan`.

mod anthropic;
pub mod bedrock;
mod gemini;
mod google_token;
mod openai;
mod openai_responses;

pub use google_token::{
    metadata_rejection, oauth_rejection, token, DEFAULT_EXPIRES_IN, HTML as METADATA_HTML,
    METADATA_PREFIX,
};

use bytes::Bytes;
use hyper::header::HeaderName;
use serde::Deserialize;

use crate::step::UsageSpec;

/// The wire formats the mock speaks; `route` says on which paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    OpenAi,
    /// OpenAI Responses API (`/v1/responses`).
    OpenAiResponses,
    Anthropic,
    /// Gemini API: `…/models/{model}:generateContent` and `:streamGenerateContent`.
    Gemini,
    /// Gemini on Vertex AI: `…/publishers/google/models/{model}:…`, same methods.
    VertexGemini,
    /// Claude on Vertex AI: `…/publishers/anthropic/models/{model}:rawPredict`
    /// and `:streamRawPredict`, Anthropic Messages bodies.
    VertexAnthropic,
    /// Google's OAuth 2.0 token endpoint: `POST …/token`.
    GoogleToken,
    /// The GCE metadata server: `GET /computeMetadata/v1/…`.
    GceMetadata,
    /// AWS Bedrock Runtime Converse / ConverseStream.
    Bedrock,
}

impl Provider {
    /// What the request says that changes the answer. Google APIs name the
    /// model and the streaming mode in the URL, the others in the body.
    pub fn request_info(self, path: &str, query: &str, body: &[u8]) -> RequestInfo {
        let call = path.rsplit('/').next().and_then(GoogleCall::parse);
        match self {
            Provider::OpenAi | Provider::OpenAiResponses | Provider::Anthropic => {
                RequestInfo::parse(body)
            }
            Provider::Gemini | Provider::VertexGemini => {
                let stream = call
                    .as_ref()
                    .is_some_and(|c| c.method == GoogleCall::STREAM_GENERATE);
                RequestInfo {
                    model: call.map(|c| c.model),
                    stream,
                    // Without `alt=sse` Google streams one JSON array.
                    json_array: stream && !has_param(query, "alt", "sse"),
                    ..RequestInfo::default()
                }
            }
            Provider::VertexAnthropic => {
                let mut info = RequestInfo::parse(body);
                if let Some(call) = call {
                    info.stream |= call.method == GoogleCall::STREAM_RAW_PREDICT;
                    // `claude-haiku-4-5@20251001` answers as `claude-haiku-4-5-20251001`.
                    info.model = Some(call.model.replace('@', "-"));
                }
                info
            }
            Provider::Bedrock => RequestInfo {
                model: bedrock::model_from_path(path),
                stream: bedrock::is_stream(path),
                ..RequestInfo::default()
            },
            Provider::GoogleToken | Provider::GceMetadata => RequestInfo::default(),
        }
    }

    /// The header the real API uses to identify a request, if any.
    pub fn request_id_header(self) -> Option<HeaderName> {
        match self {
            Provider::OpenAi | Provider::OpenAiResponses => {
                Some(HeaderName::from_static("x-request-id"))
            }
            Provider::Anthropic | Provider::VertexAnthropic => {
                Some(HeaderName::from_static("request-id"))
            }
            Provider::Bedrock => Some(HeaderName::from_static("x-amzn-requestid")),
            Provider::Gemini
            | Provider::VertexGemini
            | Provider::GoogleToken
            | Provider::GceMetadata => None,
        }
    }

    pub fn request_id(self, n: u64) -> String {
        match self {
            Provider::OpenAi | Provider::OpenAiResponses => format!("req_mock{n:016x}"),
            Provider::VertexAnthropic => format!("req_vrtx_mock{n:016}"),
            Provider::Bedrock => bedrock::request_id(n),
            _ => format!("req_mock{n:020}"),
        }
    }

    /// The content type of JSON answers and error bodies.
    pub fn json_content_type(self) -> &'static str {
        match self {
            Provider::Gemini | Provider::VertexGemini => gemini::JSON,
            Provider::GoogleToken | Provider::GceMetadata => google_token::JSON,
            _ => "application/json",
        }
    }

    /// `error_type` is the error code of a failed answer (Responses API).
    pub fn success_body(self, reply: &Reply<'_>, error_type: Option<&str>) -> Bytes {
        match self {
            Provider::OpenAi => openai::completion(reply),
            Provider::OpenAiResponses => openai_responses::response_body(reply, error_type),
            Provider::Anthropic | Provider::VertexAnthropic => anthropic::message(reply),
            Provider::Bedrock => bedrock::converse(reply),
            Provider::Gemini | Provider::VertexGemini => gemini::response(reply, self.flavor()),
            // Never asked: `plan` answers these endpoints itself.
            Provider::GoogleToken | Provider::GceMetadata => Bytes::new(),
        }
    }

    pub fn stream(self, reply: &Reply<'_>, deltas: &[&str], opts: &StreamOptions<'_>) -> Stream {
        match self {
            Provider::OpenAi => openai::stream(reply, deltas, opts),
            Provider::OpenAiResponses => openai_responses::stream(reply, deltas, opts),
            Provider::Anthropic | Provider::VertexAnthropic => {
                anthropic::stream(reply, deltas, opts)
            }
            Provider::Gemini | Provider::VertexGemini => {
                gemini::stream(reply, deltas, opts, self.flavor())
            }
            Provider::Bedrock => bedrock::stream(reply, deltas, opts),
            Provider::GoogleToken | Provider::GceMetadata => Stream::default(),
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
            // In a JSON array it needs a comma unless it comes first.
            Provider::Gemini | Provider::VertexGemini => {
                gemini::error_event(stream.head.len() + sent, opts)
            }
            _ => stream.error.clone(),
        }
    }

    /// The answer to an HTTP error. `error_type` chooses Google's `status`
    /// string (Gemini, Vertex) or the error code (token endpoint), on
    /// Claude-on-Vertex which front end answers (see `vertex_claude_error`),
    /// and Bedrock's error type, which it also names in a header.
    pub fn error(
        self,
        status: u16,
        model: &str,
        path: &str,
        error_type: Option<&str>,
    ) -> ErrorReply {
        let body = match self {
            Provider::OpenAi | Provider::OpenAiResponses => openai::error(status, model),
            Provider::Anthropic => anthropic::error(status),
            Provider::Gemini | Provider::VertexGemini => {
                gemini::error(status, error_type, model, path, self.flavor())
            }
            Provider::VertexAnthropic => vertex_claude_error(status, model, path, error_type),
            Provider::GoogleToken => google_token::oauth_error(status, error_type),
            Provider::GceMetadata => google_token::metadata_error(status),
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
            Provider::Anthropic | Provider::VertexAnthropic | Provider::Bedrock => "end_turn",
            Provider::Gemini | Provider::VertexGemini => "STOP",
            Provider::GoogleToken | Provider::GceMetadata => "",
        }
    }

    pub fn default_model(self) -> &'static str {
        match self {
            Provider::OpenAi | Provider::OpenAiResponses => "gpt-mock",
            Provider::Anthropic | Provider::VertexAnthropic => "claude-mock",
            Provider::Bedrock => "anthropic.claude-mock-v1:0",
            Provider::Gemini | Provider::VertexGemini => "gemini-mock",
            Provider::GoogleToken | Provider::GceMetadata => "",
        }
    }

    fn flavor(self) -> gemini::Flavor {
        if self == Provider::Gemini {
            gemini::Flavor::GeminiApi
        } else {
            gemini::Flavor::Vertex
        }
    }
}

/// Claude on Vertex: Google's front end answers for credentials, access,
/// unknown models and quota (Google's error shape); everything else comes
/// from Anthropic's API (Anthropic's shape). An `error_type` in capitals is
/// a Google status (`"RESOURCE_EXHAUSTED"`), otherwise an Anthropic type
/// (`"overloaded_error"`).
fn vertex_claude_error(status: u16, model: &str, path: &str, error_type: Option<&str>) -> Bytes {
    let google = match error_type {
        Some(t) => t.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
        None => matches!(status, 401 | 403 | 404 | 429),
    };
    if google {
        gemini::error(status, error_type, model, path, gemini::Flavor::Vertex)
    } else {
        match error_type {
            Some(kind) => anthropic::error_of_type(kind),
            None => anthropic::error(status),
        }
    }
}

/// `{model}:{method}`, the last segment of every Google model call's URL.
#[derive(Debug)]
pub struct GoogleCall<'a> {
    pub model: String,
    pub method: &'a str,
}

impl<'a> GoogleCall<'a> {
    pub const GENERATE: &'static str = "generateContent";
    pub const STREAM_GENERATE: &'static str = "streamGenerateContent";
    pub const RAW_PREDICT: &'static str = "rawPredict";
    pub const STREAM_RAW_PREDICT: &'static str = "streamRawPredict";

    pub fn parse(segment: &'a str) -> Option<GoogleCall<'a>> {
        // Some clients percent-encode the colon.
        let (model, method) = segment.split_once(':').or_else(|| {
            let i = segment.to_ascii_lowercase().find("%3a")?;
            Some((&segment[..i], &segment[i + 3..]))
        })?;
        if model.is_empty() {
            return None;
        }
        let model = percent_encoding::percent_decode_str(model)
            .decode_utf8_lossy()
            .into_owned();
        Some(GoogleCall { model, method })
    }
}

/// `name=value` among the query's parameters.
fn has_param(query: &str, name: &str, value: &str) -> bool {
    form_urlencoded::parse(query.as_bytes()).any(|(k, v)| k == name && v == value)
}

/// An error answer: its body and the headers that name the error.
#[derive(Debug)]
pub struct ErrorReply {
    pub body: Bytes,
    pub headers: Vec<(HeaderName, hyper::header::HeaderValue)>,
}

pub const SSE: &str = "text/event-stream; charset=utf-8";

/// The few request fields that change the response.
#[derive(Debug, Default, Deserialize)]
pub struct RequestInfo {
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub stream: bool,
    #[serde(default)]
    pub stream_options: Option<StreamOptionsIn>,
    /// Gemini streaming without `alt=sse`: one JSON array, sent piece by piece.
    #[serde(skip)]
    pub json_array: bool,
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
    /// Gemini's thinking tokens, reported apart from the answer's.
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

/// Everything a successful answer says.
#[derive(Debug)]
pub struct Reply<'a> {
    pub id: u64,
    pub created: u64,
    pub model: &'a str,
    pub content: &'a str,
    /// A reasoning block before the text.
    pub reasoning: Option<&'a str>,
    /// Tool calls after the text.
    pub tool_calls: &'a [crate::step::ToolCallSpec],
    pub finish_reason: &'a str,
    pub usage: Usage,
    /// Gemini: the text of a thought part sent before the answer.
    pub thoughts: Option<&'a str>,
    /// Gemini: the prompt was blocked for this reason; no candidates.
    pub block_reason: Option<&'a str>,
}

#[derive(Debug, Default)]
pub struct StreamOptions<'a> {
    pub include_usage: bool,
    /// Overrides the mid-stream error type (Anthropic), code (Responses API)
    /// or status (Gemini).
    pub error_type: Option<&'a str>,
    /// Gemini without `alt=sse`: elements of one JSON array instead of events.
    pub json_array: bool,
}

/// A rendered SSE stream, split where faults can be injected.
#[derive(Debug, Default)]
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
    fn google_request_info_comes_from_the_url() {
        let p = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";
        let info = Provider::Gemini.request_info(p, "alt=sse", b"{\"stream\":false}");
        assert_eq!(info.model.as_deref(), Some("gemini-2.5-flash"));
        assert!(info.stream && !info.json_array);
        let info = Provider::Gemini.request_info(p, "", b"");
        assert!(info.stream && info.json_array);
        let info = Provider::Gemini.request_info("/v1beta/models/m:generateContent", "", b"");
        assert!(!info.stream);
        let p = "/v1/projects/p/locations/l/publishers/anthropic/models/claude-haiku-4-5@20251001:streamRawPredict";
        let info = Provider::VertexAnthropic.request_info(p, "", b"{\"anthropic_version\":\"v\"}");
        assert_eq!(info.model.as_deref(), Some("claude-haiku-4-5-20251001"));
        assert!(info.stream);
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
