//! Anthropic Messages (`/v1/messages`).
//!
//! An answer's blocks, in order: a `thinking` block for `Reply.reasoning`,
//! a `text` block (left out when the reply only calls tools), then one
//! `tool_use` block per tool call. A reply with tool calls stops with
//! `tool_use` unless the step scripts another reason than the default.

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use super::{json_bytes, named_event, Reply, Stream, StreamOptions, Usage};
use crate::step::ToolCallSpec;

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

/// A tool call's scripted arguments as a whole `input`: their JSON, or
/// the text itself (a string input) when it is not JSON, so a malformed
/// script still reaches the client.
fn input(call: &ToolCallSpec) -> Value {
    serde_json::from_str(&call.arguments).unwrap_or_else(|_| Value::String(call.arguments.clone()))
}

fn stop_reason<'a>(reply: &Reply<'a>) -> &'a str {
    match reply.finish_reason {
        "end_turn" if !reply.tool_calls.is_empty() => "tool_use",
        reason => reason,
    }
}

/// Whether the answer has a text block: always, unless it only calls tools.
fn has_text(reply: &Reply<'_>) -> bool {
    !reply.content.is_empty() || reply.tool_calls.is_empty()
}

pub fn message(reply: &Reply<'_>) -> Bytes {
    let id = message_id(reply.id);
    let mut content = Vec::new();
    if let Some(thinking) = reply.reasoning {
        content.push(Block::Thinking {
            thinking,
            signature: SIGNATURE,
        });
    }
    if has_text(reply) {
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
                input: input(call),
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
    #[serde(rename = "type")]
    kind: &'static str,
    message: Message<'a>,
}

#[derive(Serialize)]
struct BlockStart<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    index: usize,
    content_block: Block<'a>,
}

#[derive(Serialize)]
struct BlockDelta<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
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
    #[serde(rename = "type")]
    kind: &'static str,
    index: usize,
}

#[derive(Serialize)]
struct MessageDelta<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    delta: StopDelta<'a>,
    usage: WireUsage,
}

#[derive(Serialize)]
struct StopDelta<'a> {
    stop_reason: &'a str,
    stop_sequence: Option<()>,
}

#[derive(Serialize)]
struct TypeOnly {
    #[serde(rename = "type")]
    kind: &'static str,
}

fn start(index: usize, content_block: Block<'_>) -> Bytes {
    named_event(
        "content_block_start",
        &BlockStart {
            kind: "content_block_start",
            index,
            content_block,
        },
    )
}

fn delta(index: usize, delta: Delta<'_>) -> Bytes {
    named_event(
        "content_block_delta",
        &BlockDelta {
            kind: "content_block_delta",
            index,
            delta,
        },
    )
}

fn stop(index: usize) -> Bytes {
    named_event(
        "content_block_stop",
        &BlockStop {
            kind: "content_block_stop",
            index,
        },
    )
}

/// `text` in about `n` pieces, split on character boundaries; an empty
/// text is one empty piece.
fn pieces(text: &str, n: usize) -> Vec<&str> {
    let size = text.len().div_ceil(n.max(1)).max(1);
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut cut = size.min(rest.len());
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        let (piece, tail) = rest.split_at(cut);
        out.push(piece);
        rest = tail;
    }
    if out.is_empty() {
        out.push("");
    }
    out
}

/// The events of a stream: thinking in the head; the text deltas; then
/// (still among the deltas, so faults can cut them) each tool call's
/// `tool_use` start, its input in several `input_json_delta`s and its stop.
pub fn stream(reply: &Reply<'_>, deltas: &[&str], opts: &StreamOptions<'_>) -> Stream {
    let id = message_id(reply.id);
    // message_start reports input usage and a token-so-far output count; the
    // final count arrives in message_delta, as with the real API.
    let message_start = MessageStart {
        kind: "message_start",
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
    let mut head = vec![named_event("message_start", &message_start)];
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
            pieces(thinking, 2)
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
    let text_index = has_text(reply).then_some(index);
    if let Some(i) = text_index {
        head.push(start(i, Block::Text { text: "" }));
        index += 1;
    }
    head.push(named_event("ping", &TypeOnly { kind: "ping" }));
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
            pieces(&call.arguments, 3)
                .into_iter()
                .map(|partial_json| delta(index, Delta::InputJson { partial_json })),
        );
        events.push(stop(index));
        index += 1;
    }
    let mut final_usage = WireUsage::new(reply.usage, reply.usage.output);
    final_usage.service_tier = None;
    tail.push(named_event(
        "message_delta",
        &MessageDelta {
            kind: "message_delta",
            delta: StopDelta {
                stop_reason: stop_reason(reply),
                stop_sequence: None,
            },
            usage: final_usage,
        },
    ));
    tail.push(named_event(
        "message_stop",
        &TypeOnly {
            kind: "message_stop",
        },
    ));
    let error_type = opts.error_type.unwrap_or("overloaded_error");
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
pub fn error(status: u16) -> Bytes {
    error_of_type(type_for(status))
}

/// The body of an error of type `kind` (e.g. `overloaded_error`).
pub fn error_of_type(kind: &str) -> Bytes {
    json_bytes(&error_body_of(kind, message_for(kind)))
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let s = stream(
            &reply("Checking.", &calls),
            &["Check", "ing."],
            &StreamOptions::default(),
        );
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
