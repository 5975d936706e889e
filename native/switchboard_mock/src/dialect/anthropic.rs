//! Anthropic Messages (`/v1/messages`).
//!
//! An answer's blocks, in order: a `thinking` block for `Reply.reasoning`,
//! a `text` block (left out when the reply only calls tools), then one
//! `tool_use` block per tool call. A reply with tool calls stops with
//! `tool_use` unless the step scripts another reason than the default.

use bytes::Bytes;
use hyper::header::HeaderName;
use serde::Serialize;
use serde_json::Value;

use super::wire::{arguments_json, json_bytes, named_event, pieces, typed_event};
use super::{
    google_error, Dialect, ErrorReply, Failure, GoogleCall, Platform, Reply, Request, RequestInfo,
    Stream, StreamOptions, Usage,
};

/// Anthropic Messages, from Anthropic ([`Platform::Native`]) and as Claude
/// on Vertex AI (`…/publishers/anthropic/models/{model}:rawPredict` and
/// `:streamRawPredict`).
#[derive(Debug)]
pub struct Anthropic;

/// The stop reason of an answer whose step scripts none.
const END_TURN: &str = "end_turn";

impl Dialect for Anthropic {
    /// On Vertex the URL names the model and the streaming method.
    fn request_info(&self, request: &Request<'_>) -> RequestInfo {
        let mut info = RequestInfo::parse(request.body);
        if request.platform == Platform::Vertex {
            if let Some(call) = request.google_call() {
                info.stream |= call.method == GoogleCall::STREAM_RAW_PREDICT;
                // `claude-haiku-4-5@20251001` answers as `claude-haiku-4-5-20251001`.
                info.model = Some(call.model.replace('@', "-"));
            }
        }
        info
    }

    fn default_model(&self) -> &'static str {
        "claude-mock"
    }

    fn default_finish_reason(&self) -> &'static str {
        END_TURN
    }

    fn request_id(&self, platform: Platform, n: u64) -> Option<(HeaderName, String)> {
        let id = match platform {
            Platform::Native => format!("req_mock{n:020}"),
            Platform::Vertex => format!("req_vrtx_mock{n:016}"),
        };
        Some((HeaderName::from_static("request-id"), id))
    }

    fn answer(&self, reply: &Reply<'_>) -> Bytes {
        message(reply)
    }

    fn stream(&self, reply: &Reply<'_>, deltas: &[&str], _opts: &StreamOptions) -> Stream {
        stream(reply, deltas)
    }

    fn error(&self, failure: &Failure<'_>) -> ErrorReply {
        ErrorReply::body(match failure.platform {
            Platform::Native => error(failure.status),
            Platform::Vertex => vertex_error(failure),
        })
    }
}

/// Claude on Vertex: Google's front end answers for credentials, access,
/// unknown models and quota (Google's error shape); everything else comes
/// from Anthropic's API (Anthropic's shape). An `error_type` in capitals is
/// a Google status (`"RESOURCE_EXHAUSTED"`), otherwise an Anthropic type
/// (`"overloaded_error"`).
fn vertex_error(failure: &Failure<'_>) -> Bytes {
    let google = match failure.error_type {
        Some(t) => t.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
        None => matches!(failure.status, 401 | 403 | 404 | 429),
    };
    if google {
        google_error::body(failure)
    } else {
        match failure.error_type {
            Some(kind) => error_of_type(kind),
            None => error(failure.status),
        }
    }
}

/// The signature the mock puts on thinking blocks (real ones are opaque).
const SIGNATURE: &str = "bW9jay1zaWduYXR1cmU=";

#[derive(Serialize)]
struct Message<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    role: &'static str,
    model: &'a str,
    content: Vec<Block<'a>>,
    stop_reason: Option<&'a str>,
    stop_sequence: Option<()>,
    usage: WireUsage,
}

/// A content block; at a block's start in a stream its text, thinking and
/// input are empty.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block<'a> {
    Thinking {
        thinking: &'a str,
        signature: &'a str,
    },
    Text {
        text: &'a str,
    },
    ToolUse {
        id: String,
        name: &'a str,
        input: Value,
    },
}

#[derive(Serialize)]
struct WireUsage {
    input_tokens: u64,
    cache_creation_input_tokens: u64,
    cache_read_input_tokens: u64,
    output_tokens: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_tier: Option<&'static str>,
}

impl WireUsage {
    fn new(u: Usage, output: u64) -> WireUsage {
        WireUsage {
            input_tokens: u.input,
            cache_creation_input_tokens: u.cache_creation,
            cache_read_input_tokens: u.cached,
            output_tokens: output,
            service_tier: Some("standard"),
        }
    }
}

fn message_id(n: u64) -> String {
    format!("msg_mock{n:016x}")
}

fn stop_reason<'a>(reply: &Reply<'a>) -> &'a str {
    reply.finish_reason_with_tools(END_TURN, "tool_use")
}

fn message(reply: &Reply<'_>) -> Bytes {
    let id = message_id(reply.id);
    let mut content = Vec::new();
    if let Some(thinking) = reply.reasoning {
        content.push(Block::Thinking {
            thinking,
            signature: SIGNATURE,
        });
    }
    if reply.has_text() {
        content.push(Block::Text {
            text: reply.content,
        });
    }
    content.extend(
        reply
            .tool_calls
            .iter()
            .enumerate()
            .map(|(i, call)| Block::ToolUse {
                id: call.id_or(i),
                name: &call.name,
                input: arguments_json(&call.arguments),
            }),
    );
    json_bytes(&Message {
        id: &id,
        kind: "message",
        role: "assistant",
        model: reply.model,
        content,
        stop_reason: Some(stop_reason(reply)),
        stop_sequence: None,
        usage: WireUsage::new(reply.usage, reply.usage.output),
    })
}

#[derive(Serialize)]
struct MessageStart<'a> {
    message: Message<'a>,
}

#[derive(Serialize)]
struct BlockStart<'a> {
    index: usize,
    content_block: Block<'a>,
}

#[derive(Serialize)]
struct BlockDelta<'a> {
    index: usize,
    delta: Delta<'a>,
}

#[derive(Serialize)]
#[serde(tag = "type")]
enum Delta<'a> {
    #[serde(rename = "text_delta")]
    Text { text: &'a str },
    #[serde(rename = "thinking_delta")]
    Thinking { thinking: &'a str },
    #[serde(rename = "signature_delta")]
    Signature { signature: &'a str },
    #[serde(rename = "input_json_delta")]
    InputJson { partial_json: &'a str },
}

#[derive(Serialize)]
struct BlockStop {
    index: usize,
}

#[derive(Serialize)]
struct MessageDelta<'a> {
    delta: StopDelta<'a>,
    usage: WireUsage,
}

#[derive(Serialize)]
struct StopDelta<'a> {
    stop_reason: &'a str,
    stop_sequence: Option<()>,
}

/// An event that says nothing but its type.
#[derive(Serialize)]
struct NoFields {}

fn start(index: usize, content_block: Block<'_>) -> Bytes {
    typed_event(
        "content_block_start",
        &BlockStart {
            index,
            content_block,
        },
    )
}

fn delta(index: usize, delta: Delta<'_>) -> Bytes {
    typed_event("content_block_delta", &BlockDelta { index, delta })
}

fn stop(index: usize) -> Bytes {
    typed_event("content_block_stop", &BlockStop { index })
}

/// `text` in about `n` pieces; an empty text is one empty piece, as a
/// block's deltas are never none.
fn deltas_of(text: &str, n: usize) -> Vec<&str> {
    let mut out = pieces(text, n);
    if out.is_empty() {
        out.push("");
    }
    out
}

/// The events of a stream: thinking in the head; the text deltas; then
/// (still among the deltas, so faults can cut them) each tool call's
/// `tool_use` start, its input in several `input_json_delta`s and its stop.
fn stream(reply: &Reply<'_>, deltas: &[&str]) -> Stream {
    let id = message_id(reply.id);
    // message_start reports input usage and a token-so-far output count; the
    // final count arrives in message_delta, as with the real API.
    let message_start = MessageStart {
        message: Message {
            id: &id,
            kind: "message",
            role: "assistant",
            model: reply.model,
            content: Vec::new(),
            stop_reason: None,
            stop_sequence: None,
            usage: WireUsage::new(reply.usage, 1),
        },
    };
    let mut head = vec![typed_event("message_start", &message_start)];
    let mut index = 0;
    if let Some(thinking) = reply.reasoning {
        head.push(start(
            index,
            Block::Thinking {
                thinking: "",
                signature: "",
            },
        ));
        head.extend(
            deltas_of(thinking, 2)
                .into_iter()
                .map(|thinking| delta(index, Delta::Thinking { thinking })),
        );
        head.push(delta(
            index,
            Delta::Signature {
                signature: SIGNATURE,
            },
        ));
        head.push(stop(index));
        index += 1;
    }
    let text_index = reply.has_text().then_some(index);
    if let Some(i) = text_index {
        head.push(start(i, Block::Text { text: "" }));
        index += 1;
    }
    head.push(typed_event("ping", &NoFields {}));
    let mut events: Vec<Bytes> = deltas
        .iter()
        .map(|text| delta(text_index.unwrap_or(0), Delta::Text { text }))
        .collect();
    let mut tail = Vec::new();
    match (text_index, reply.tool_calls.is_empty()) {
        (Some(i), true) => tail.push(stop(i)),
        (Some(i), false) => events.push(stop(i)),
        (None, _) => {}
    }
    for (n, call) in reply.tool_calls.iter().enumerate() {
        events.push(start(
            index,
            Block::ToolUse {
                id: call.id_or(n),
                name: &call.name,
                input: Value::Object(Default::default()),
            },
        ));
        events.extend(
            deltas_of(&call.arguments, 3)
                .into_iter()
                .map(|partial_json| delta(index, Delta::InputJson { partial_json })),
        );
        events.push(stop(index));
        index += 1;
    }
    let mut final_usage = WireUsage::new(reply.usage, reply.usage.output);
    final_usage.service_tier = None;
    tail.push(typed_event(
        "message_delta",
        &MessageDelta {
            delta: StopDelta {
                stop_reason: stop_reason(reply),
                stop_sequence: None,
            },
            usage: final_usage,
        },
    ));
    tail.push(typed_event("message_stop", &NoFields {}));
    let error_type = reply.error_type.unwrap_or("overloaded_error");
    let error = named_event("error", &error_body_of(error_type, message_for(error_type)));
    Stream {
        head,
        deltas: events,
        tail,
        error,
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    message: &'a str,
}

fn error_body_of<'a>(kind: &'a str, message: &'a str) -> ErrorBody<'a> {
    ErrorBody {
        kind: "error",
        error: ErrorDetail { kind, message },
    }
}

fn type_for(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        500 => "api_error",
        503 | 529 => "overloaded_error",
        s if s >= 500 => "api_error",
        _ => "invalid_request_error",
    }
}

fn message_for(kind: &str) -> &'static str {
    match kind {
        "authentication_error" => "invalid x-api-key",
        "permission_error" => {
            "Your API key does not have permission to use the specified resource."
        }
        "not_found_error" => "The requested resource could not be found.",
        "request_too_large" => "Request exceeds the maximum allowed number of bytes.",
        "rate_limit_error" => {
            "This request would exceed the rate limit for your organization. Please retry later."
        }
        "api_error" => "Internal server error",
        "overloaded_error" => "Overloaded",
        _ => "Invalid request: the mock was scripted to reject this request.",
    }
}

/// The body the real API sends for `status`.
fn error(status: u16) -> Bytes {
    error_of_type(type_for(status))
}

/// The body of an error of type `kind` (e.g. `overloaded_error`).
fn error_of_type(kind: &str) -> Bytes {
    json_bytes(&error_body_of(kind, message_for(kind)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::step::ToolCallSpec;
    use serde_json::{json, Value};

    fn calls() -> Vec<ToolCallSpec> {
        vec![
            ToolCallSpec {
                id: Some("toolu_x".into()),
                name: "get_weather".into(),
                arguments: r#"{"city": "Paris", "days": [1, 2]}"#.into(),
            },
            ToolCallSpec {
                id: None,
                name: "now".into(),
                arguments: "{}".into(),
            },
        ]
    }

    fn reply<'a>(content: &'a str, calls: &'a [ToolCallSpec]) -> Reply<'a> {
        Reply {
            platform: Platform::Native,
            id: 1,
            created: 2,
            model: "claude-x",
            content,
            reasoning: Some("Think first."),
            tool_calls: calls,
            finish_reason: "end_turn",
            usage: Usage {
                input: 12,
                output: 8,
                cached: 0,
                cache_creation: 0,
                thoughts: 0,
            },
            thoughts: None,
            block_reason: None,
            error_type: None,
        }
    }

    #[test]
    fn a_message_has_thinking_text_and_tool_use_blocks() {
        let calls = calls();
        let v: Value = serde_json::from_slice(&message(&reply("Checking.", &calls))).expect("json");
        assert_eq!(v["stop_reason"], "tool_use");
        assert_eq!(
            v["content"],
            json!([
                {"type": "thinking", "thinking": "Think first.", "signature": SIGNATURE},
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_x", "name": "get_weather",
                 "input": {"city": "Paris", "days": [1, 2]}},
                {"type": "tool_use", "id": "call_mock_1", "name": "now", "input": {}}
            ])
        );
        // Only tool calls: no text block. Arguments that are not JSON go as a string.
        let bad = [ToolCallSpec {
            id: None,
            name: "f".into(),
            arguments: "{oops".into(),
        }];
        let v: Value = serde_json::from_slice(&message(&reply("", &bad))).expect("json");
        assert_eq!(
            v["content"][1],
            json!({"type": "tool_use", "id": "call_mock_0", "name": "f", "input": "{oops"})
        );
        assert_eq!(v["content"].as_array().map(Vec::len), Some(2));
        let mut scripted = reply("", &bad);
        scripted.finish_reason = "max_tokens";
        let v: Value = serde_json::from_slice(&message(&scripted)).expect("json");
        assert_eq!(v["stop_reason"], "max_tokens");
    }

    /// The data of every event, in order.
    fn events(stream: &Stream) -> Vec<Value> {
        stream
            .head
            .iter()
            .chain(&stream.deltas)
            .chain(&stream.tail)
            .map(|e| {
                let text = std::str::from_utf8(e).expect("utf8");
                let data = text
                    .lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .expect("data");
                serde_json::from_str(data).expect("json")
            })
            .collect()
    }

    #[test]
    fn a_stream_sends_thinking_deltas_text_deltas_and_tool_input_in_pieces() {
        let calls = calls();
        let s = stream(&reply("Checking.", &calls), &["Check", "ing."]);
        let all = events(&s);
        let of = |index: u64, kind: &str| -> String {
            all.iter()
                .filter(|e| {
                    e["type"] == "content_block_delta"
                        && e["index"] == index
                        && e["delta"]["type"] == kind
                })
                .map(|e| {
                    let key = match kind {
                        "text_delta" => "text",
                        "thinking_delta" => "thinking",
                        _ => "partial_json",
                    };
                    e["delta"][key].as_str().expect("str").to_owned()
                })
                .collect()
        };
        assert_eq!(of(0, "thinking_delta"), "Think first.");
        assert_eq!(of(1, "text_delta"), "Checking.");
        assert_eq!(
            of(2, "input_json_delta"),
            r#"{"city": "Paris", "days": [1, 2]}"#
        );
        assert_eq!(of(3, "input_json_delta"), "{}");
        let pieces = all
            .iter()
            .filter(|e| e["index"] == 2 && e["delta"]["type"] == "input_json_delta")
            .count();
        assert!(pieces >= 3, "{pieces}");
        let starts: Vec<&Value> = all
            .iter()
            .filter(|e| e["type"] == "content_block_start")
            .map(|e| &e["content_block"])
            .collect();
        assert_eq!(
            starts[2],
            &json!({"type": "tool_use", "id": "toolu_x", "name": "get_weather", "input": {}})
        );
        // Every started block stops, and the tool blocks are among the deltas.
        let stops = all
            .iter()
            .filter(|e| e["type"] == "content_block_stop")
            .count();
        assert_eq!((starts.len(), stops), (4, 4));
        assert_eq!(s.tail.len(), 2);
        assert_eq!(all[all.len() - 2]["delta"]["stop_reason"], "tool_use");
    }

    #[test]
    fn on_vertex_the_url_names_the_model_and_the_streaming_mode() {
        let path = "/v1/projects/p/locations/l/publishers/anthropic/models/claude-haiku-4-5@20251001:streamRawPredict";
        let on = |platform| {
            Anthropic.request_info(&Request {
                platform,
                path,
                query: "",
                body: br#"{"anthropic_version":"v","model":"in-body"}"#,
            })
        };
        let info = on(Platform::Vertex);
        assert_eq!(info.model.as_deref(), Some("claude-haiku-4-5-20251001"));
        assert!(info.stream);
        let info = on(Platform::Native);
        assert_eq!(info.model.as_deref(), Some("in-body"));
        assert!(!info.stream);
    }

    #[test]
    fn error_types_follow_status() {
        for (status, kind) in [
            (400, "invalid_request_error"),
            (401, "authentication_error"),
            (403, "permission_error"),
            (404, "not_found_error"),
            (413, "request_too_large"),
            (429, "rate_limit_error"),
            (500, "api_error"),
            (503, "overloaded_error"),
            (529, "overloaded_error"),
        ] {
            let v: Value = serde_json::from_slice(&error(status)).expect("json");
            assert_eq!(v["type"], "error");
            assert_eq!(v["error"]["type"], kind, "status {status}");
        }
    }
}
