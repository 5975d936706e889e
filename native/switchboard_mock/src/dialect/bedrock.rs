//! AWS Bedrock Runtime Converse (`/model/{modelId}/converse`) and
//! ConverseStream (`/model/{modelId}/converse-stream`).
//!
//! Streams are binary AWS event-stream frames (`application/vnd.amazon.eventstream`)
//! written by `aws-smithy-eventstream`. Payload keys are in alphabetical order
//! and carry the `"p"` padding field, as the recorded real traffic does.
//! Errors outside streams carry `x-amzn-errortype: <Type>:<namespace>` and
//! `{"message": ...}`; errors inside streams are `:message-type: exception`
//! frames whose `:exception-type` is the camelCase type.
//!
//! A reply's tool calls are `toolUse` blocks after the text (`input` the
//! scripted arguments as JSON, or as a JSON string when they are not JSON);
//! streamed, each is a `contentBlockStart` naming it, its input text in
//! `contentBlockDelta` pieces, and a `contentBlockStop`. With tool calls the
//! stop reason is `tool_use` unless another is scripted (the default
//! `end_turn` reads as unscripted).

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue as FrameValue, Message};
use bytes::Bytes;
use hyper::header::HeaderName;
use serde::Serialize;

use super::wire::{arguments_json, json_bytes};
use super::{Dialect, ErrorReply, Failure, Platform, Reply, Request, RequestInfo, Stream};
use super::{StreamOptions, Usage};

use super::bedrock_error::{
    self, http_error_type, message_for, status_for_type, stream_exception_type,
};

pub const CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";

/// Bedrock Runtime's Converse API.
#[derive(Debug)]
pub struct Bedrock;

/// The stop reason of an answer whose step scripts none.
const END_TURN: &str = "end_turn";

impl Dialect for Bedrock {
    /// The URL names the model and the streaming mode.
    fn request_info(&self, request: &Request<'_>) -> RequestInfo {
        RequestInfo {
            model: model_from_path(request.path),
            stream: request.path.ends_with("/converse-stream"),
            ..RequestInfo::default()
        }
    }

    fn default_model(&self) -> &'static str {
        "anthropic.claude-mock-v1:0"
    }

    fn default_finish_reason(&self) -> &'static str {
        END_TURN
    }

    fn request_id(&self, _platform: Platform, n: u64) -> Option<(HeaderName, String)> {
        Some((
            HeaderName::from_static("x-amzn-requestid"),
            crate::aws::request_id(n),
        ))
    }

    fn stream_content_type(&self) -> &'static str {
        CONTENT_TYPE
    }

    fn answer(&self, reply: &Reply<'_>) -> Bytes {
        converse(reply)
    }

    fn stream(&self, reply: &Reply<'_>, deltas: &[&str], _opts: &StreamOptions) -> Stream {
        stream(reply, deltas)
    }

    /// An event stream cut short ends inside the next frame.
    fn cut_trailer(&self, stream: &Stream, sent: usize) -> Option<Bytes> {
        partial_frame(stream, sent)
    }

    fn status_of_error_type(&self, error_type: &str) -> Option<u16> {
        Some(status_for_type(error_type))
    }

    fn error(&self, failure: &Failure<'_>) -> ErrorReply {
        bedrock_error::error(failure.status, failure.model, failure.error_type)
    }

    fn malformed(&self, stream: bool) -> Bytes {
        if stream {
            malformed_stream()
        } else {
            Bytes::from_static(super::MALFORMED_JSON)
        }
    }

    fn aws_service(&self) -> Option<&'static str> {
        Some("bedrock")
    }
}

/// What `latencyMs` reports.
const LATENCY_MS: u64 = 120;

/// The reasoning block's signature (Claude models sign their reasoning).
const REASONING_SIGNATURE: &str = "bW9jay1yZWFzb25pbmctc2lnbmF0dXJl";

/// The model id of `…/model/{modelId}/converse[-stream]`, percent-decoded. A
/// client that did not encode `/` in an ARN still gets the whole id.
pub fn model_from_path(path: &str) -> Option<String> {
    let start = path.find("/model/")? + "/model/".len();
    let end = path.rfind('/')?;
    let raw = path.get(start..end).filter(|m| !m.is_empty())?;
    Some(
        percent_encoding::percent_decode_str(raw)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

// ---------------------------------------------------------------- Converse

#[derive(Serialize)]
struct ConverseResponse<'a> {
    metrics: Metrics,
    output: Output<'a>,
    #[serde(rename = "stopReason")]
    stop_reason: &'a str,
    usage: WireUsage,
}

#[derive(Serialize)]
struct Metrics {
    #[serde(rename = "latencyMs")]
    latency_ms: u64,
}

#[derive(Serialize)]
struct Output<'a> {
    message: OutputMessage<'a>,
}

#[derive(Serialize)]
struct OutputMessage<'a> {
    content: Vec<Block<'a>>,
    role: &'static str,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Block<'a> {
    Reasoning {
        #[serde(rename = "reasoningContent")]
        reasoning_content: ReasoningContent<'a>,
    },
    Text {
        text: &'a str,
    },
    ToolUse {
        #[serde(rename = "toolUse")]
        tool_use: ToolUse<'a>,
    },
}

#[derive(Serialize)]
struct ToolUse<'a> {
    input: serde_json::Value,
    name: &'a str,
    #[serde(rename = "toolUseId")]
    tool_use_id: String,
}

/// Scripted arguments as a `toolUse` input (`arguments_json`); no
/// arguments at all are an empty object.
fn tool_input(arguments: &str) -> serde_json::Value {
    if arguments.trim().is_empty() {
        return serde_json::json!({});
    }
    arguments_json(arguments)
}

/// The stop reason: `tool_use` for a reply with tool calls unless another
/// reason than the default was scripted.
fn stop_reason<'a>(reply: &Reply<'a>) -> &'a str {
    reply.finish_reason_with_tools(END_TURN, "tool_use")
}

#[derive(Serialize)]
struct ReasoningContent<'a> {
    #[serde(rename = "reasoningText")]
    reasoning_text: ReasoningText<'a>,
}

#[derive(Serialize)]
struct ReasoningText<'a> {
    signature: &'a str,
    text: &'a str,
}

/// Converse usage as recorded from the real API: both spellings of the cache
/// counters and an empty `serverToolUsage`.
#[derive(Serialize)]
struct WireUsage {
    #[serde(rename = "cacheReadInputTokenCount")]
    cache_read_count: u64,
    #[serde(rename = "cacheReadInputTokens")]
    cache_read: u64,
    #[serde(rename = "cacheWriteInputTokenCount")]
    cache_write_count: u64,
    #[serde(rename = "cacheWriteInputTokens")]
    cache_write: u64,
    #[serde(rename = "inputTokens")]
    input: u64,
    #[serde(rename = "outputTokens")]
    output: u64,
    #[serde(rename = "serverToolUsage")]
    server_tool_usage: Empty,
    #[serde(rename = "totalTokens")]
    total: u64,
}

#[derive(Serialize)]
struct Empty {}

/// Bedrock's total counts cache reads and writes too.
fn total(u: Usage) -> u64 {
    u.input + u.output + u.cached + u.cache_creation
}

impl From<Usage> for WireUsage {
    fn from(u: Usage) -> Self {
        WireUsage {
            cache_read_count: u.cached,
            cache_read: u.cached,
            cache_write_count: u.cache_creation,
            cache_write: u.cache_creation,
            input: u.input,
            output: u.output,
            server_tool_usage: Empty {},
            total: total(u),
        }
    }
}

fn converse(reply: &Reply<'_>) -> Bytes {
    let mut content = Vec::with_capacity(2);
    if let Some(text) = reply.reasoning {
        content.push(Block::Reasoning {
            reasoning_content: ReasoningContent {
                reasoning_text: ReasoningText {
                    signature: REASONING_SIGNATURE,
                    text,
                },
            },
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
                tool_use: ToolUse {
                    input: tool_input(&call.arguments),
                    name: &call.name,
                    tool_use_id: call.id_or(i),
                },
            }),
    );
    json_bytes(&ConverseResponse {
        metrics: Metrics {
            latency_ms: LATENCY_MS,
        },
        output: Output {
            message: OutputMessage {
                content,
                role: "assistant",
            },
        },
        stop_reason: stop_reason(reply),
        usage: reply.usage.into(),
    })
}

// ---------------------------------------------------------- ConverseStream

/// Lengths cycle like the real service's padding, so frame sizes vary.
fn padding(i: usize) -> &'static str {
    const P: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    &P[..(i * 7 + 3) % P.len() + 1]
}

#[derive(Serialize)]
struct MessageStart {
    p: &'static str,
    role: &'static str,
}

#[derive(Serialize)]
struct BlockDelta<'a> {
    #[serde(rename = "contentBlockIndex")]
    index: u32,
    delta: Delta<'a>,
    p: &'static str,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Delta<'a> {
    Reasoning {
        #[serde(rename = "reasoningContent")]
        reasoning_content: ReasoningDelta<'a>,
    },
    Text {
        text: &'a str,
    },
    ToolUse {
        #[serde(rename = "toolUse")]
        tool_use: ToolInputDelta<'a>,
    },
}

#[derive(Serialize)]
struct ToolInputDelta<'a> {
    input: &'a str,
}

#[derive(Serialize)]
struct BlockStart<'a> {
    #[serde(rename = "contentBlockIndex")]
    index: u32,
    p: &'static str,
    start: Start<'a>,
}

#[derive(Serialize)]
struct Start<'a> {
    #[serde(rename = "toolUse")]
    tool_use: ToolUseStart<'a>,
}

#[derive(Serialize)]
struct ToolUseStart<'a> {
    name: &'a str,
    #[serde(rename = "toolUseId")]
    tool_use_id: String,
}

/// A tool's input text in pieces of about a third, as the service streams
/// it in small pieces, cut on character boundaries.
fn input_pieces(text: &str) -> Vec<&str> {
    let step = (text.len() / 3).max(1);
    let mut pieces = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + step).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        pieces.push(&text[start..end]);
        start = end;
    }
    pieces
}

#[derive(Serialize)]
#[serde(untagged)]
enum ReasoningDelta<'a> {
    Text { text: &'a str },
    Signature { signature: &'a str },
}

#[derive(Serialize)]
struct BlockStop {
    #[serde(rename = "contentBlockIndex")]
    index: u32,
    p: &'static str,
}

#[derive(Serialize)]
struct MessageStop<'a> {
    p: &'static str,
    #[serde(rename = "stopReason")]
    stop_reason: &'a str,
}

#[derive(Serialize)]
struct Metadata {
    metrics: Metrics,
    p: &'static str,
    usage: StreamUsage,
}

/// Stream usage as recorded: cache counters only when there are some.
#[derive(Serialize)]
struct StreamUsage {
    #[serde(rename = "cacheReadInputTokens", skip_serializing_if = "is_zero")]
    cache_read: u64,
    #[serde(rename = "cacheWriteInputTokens", skip_serializing_if = "is_zero")]
    cache_write: u64,
    #[serde(rename = "inputTokens")]
    input: u64,
    #[serde(rename = "outputTokens")]
    output: u64,
    #[serde(rename = "serverToolUsage")]
    server_tool_usage: Empty,
    #[serde(rename = "totalTokens")]
    total: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One event-stream frame: `:event-type`, `:content-type`, `:message-type`
/// headers (in the order the service sends them) and a JSON payload.
pub fn event_frame(event_type: &str, payload: &impl Serialize) -> Bytes {
    frame(
        vec![
            string_header(":event-type", event_type),
            string_header(":content-type", "application/json"),
            string_header(":message-type", "event"),
        ],
        json_bytes(payload),
    )
}

/// An in-stream exception: `:exception-type` (camelCase) and `{"message": ...}`.
pub fn exception_frame(error_type: &str) -> Bytes {
    let kind = stream_exception_type(error_type);
    let message = message_for(&http_error_type(&kind), "");
    let payload = if kind == "modelStreamErrorException" {
        json_bytes(&serde_json::json!({
            "message": message,
            "originalMessage": "The model encountered an error while streaming.",
            "originalStatusCode": 500,
        }))
    } else {
        json_bytes(&serde_json::json!({ "message": message }))
    };
    frame(
        vec![
            string_header(":exception-type", &kind),
            string_header(":content-type", "application/json"),
            string_header(":message-type", "exception"),
        ],
        payload,
    )
}

fn string_header(name: &'static str, value: &str) -> Header {
    Header::new(name, FrameValue::String(value.to_owned().into()))
}

fn frame(headers: Vec<Header>, payload: Bytes) -> Bytes {
    let message = Message::new_from_parts(headers, payload);
    let mut out = Vec::with_capacity(128 + message.payload().len());
    // Writing fails only for headers or payloads beyond the format's limits
    // (names over 255 bytes, values over 32 KiB, frames over 16 MiB); the
    // mock's own frames never come near them.
    if let Err(e) = write_message_to(&message, &mut out) {
        out.clear();
        out.extend_from_slice(format!("event-stream encoding failed: {e}").as_bytes());
    }
    Bytes::from(out)
}

fn stream(reply: &Reply<'_>, deltas: &[&str]) -> Stream {
    let mut n = 0;
    let mut pad = || {
        n += 1;
        padding(n)
    };
    let mut head = vec![event_frame(
        "messageStart",
        &MessageStart {
            p: pad(),
            role: "assistant",
        },
    )];
    let mut text_index = 0;
    if let Some(reasoning) = reply.reasoning {
        for delta in [
            ReasoningDelta::Text { text: reasoning },
            ReasoningDelta::Signature {
                signature: REASONING_SIGNATURE,
            },
        ] {
            head.push(event_frame(
                "contentBlockDelta",
                &BlockDelta {
                    index: 0,
                    delta: Delta::Reasoning {
                        reasoning_content: delta,
                    },
                    p: pad(),
                },
            ));
        }
        head.push(event_frame(
            "contentBlockStop",
            &BlockStop { index: 0, p: pad() },
        ));
        text_index = 1;
    }
    let deltas: Vec<Bytes> = deltas
        .iter()
        .map(|text| {
            event_frame(
                "contentBlockDelta",
                &BlockDelta {
                    index: text_index,
                    delta: Delta::Text { text },
                    p: pad(),
                },
            )
        })
        .collect();
    let u = reply.usage;
    let mut tail = Vec::new();
    let mut next_index = text_index;
    if reply.tool_calls.is_empty() || !deltas.is_empty() {
        tail.push(event_frame(
            "contentBlockStop",
            &BlockStop {
                index: text_index,
                p: pad(),
            },
        ));
        next_index += 1;
    }
    for (i, call) in reply.tool_calls.iter().enumerate() {
        let index = next_index;
        next_index += 1;
        tail.push(event_frame(
            "contentBlockStart",
            &BlockStart {
                index,
                p: pad(),
                start: Start {
                    tool_use: ToolUseStart {
                        name: &call.name,
                        tool_use_id: call.id_or(i),
                    },
                },
            },
        ));
        for input in input_pieces(&call.arguments) {
            tail.push(event_frame(
                "contentBlockDelta",
                &BlockDelta {
                    index,
                    delta: Delta::ToolUse {
                        tool_use: ToolInputDelta { input },
                    },
                    p: pad(),
                },
            ));
        }
        tail.push(event_frame(
            "contentBlockStop",
            &BlockStop { index, p: pad() },
        ));
    }
    tail.extend([
        event_frame(
            "messageStop",
            &MessageStop {
                p: pad(),
                stop_reason: stop_reason(reply),
            },
        ),
        event_frame(
            "metadata",
            &Metadata {
                metrics: Metrics {
                    latency_ms: LATENCY_MS,
                },
                p: pad(),
                usage: StreamUsage {
                    cache_read: u.cached,
                    cache_write: u.cache_creation,
                    input: u.input,
                    output: u.output,
                    server_tool_usage: Empty {},
                    total: total(u),
                },
            },
        ),
    ]);
    let error = exception_frame(reply.error_type.unwrap_or("modelStreamErrorException"));
    Stream {
        head,
        deltas,
        tail,
        error,
    }
}

/// The first half of the frame that would follow `sent` deltas, so a cut
/// stream ends inside a frame rather than between two.
fn partial_frame(stream: &Stream, sent: usize) -> Option<Bytes> {
    let next = stream.deltas.get(sent).or_else(|| stream.tail.first())?;
    Some(next.slice(..next.len() / 2))
}

/// A well-formed `messageStart` followed by a frame whose message CRC is wrong.
fn malformed_stream() -> Bytes {
    let mut out = event_frame(
        "messageStart",
        &MessageStart {
            p: padding(0),
            role: "assistant",
        },
    )
    .to_vec();
    let mut bad = event_frame(
        "contentBlockDelta",
        &BlockDelta {
            index: 0,
            delta: Delta::Text { text: "corrupt" },
            p: padding(1),
        },
    )
    .to_vec();
    if let Some(last) = bad.last_mut() {
        *last ^= 0xff;
    }
    out.extend_from_slice(&bad);
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_eventstream::frame::read_message_from;
    use serde_json::Value;

    fn reply(reasoning: Option<&'static str>) -> Reply<'static> {
        Reply {
            platform: Platform::Native,
            id: 1,
            created: 2,
            model: "m",
            content: "a b",
            reasoning,
            tool_calls: &[],
            thoughts: None,
            block_reason: None,
            error_type: None,
            finish_reason: "end_turn",
            usage: Usage {
                input: 10,
                output: 5,
                cached: 2,
                cache_creation: 1,
                thoughts: 0,
            },
        }
    }

    #[test]
    fn model_ids_decode() {
        assert_eq!(
            model_from_path("/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse")
                .as_deref(),
            Some("anthropic.claude-3-5-haiku-20241022-v1:0")
        );
        assert_eq!(
            model_from_path(
                "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fus.x/converse-stream"
            )
            .as_deref(),
            Some("arn:aws:bedrock:us-east-1:1:inference-profile/us.x")
        );
        assert_eq!(
            model_from_path("/model/arn:aws:x/a/b/converse").as_deref(),
            Some("arn:aws:x/a/b")
        );
        assert!(model_from_path("/model//converse").is_none());
    }

    #[test]
    fn converse_shape_and_totals() {
        let v: Value = serde_json::from_slice(&converse(&reply(Some("think")))).expect("json");
        assert_eq!(
            v["output"]["message"]["content"][0]["reasoningContent"]["reasoningText"]["text"],
            "think"
        );
        assert_eq!(v["output"]["message"]["content"][1]["text"], "a b");
        assert_eq!(v["usage"]["totalTokens"], 18);
        assert_eq!(v["usage"]["cacheReadInputTokens"], 2);
        assert_eq!(v["usage"]["cacheWriteInputTokens"], 1);
    }

    #[test]
    fn frames_decode_with_the_sdk_decoder() {
        let s = stream(&reply(None), &["a", " b"]);
        let m = read_message_from(&mut s.deltas[1].clone()).expect("valid frame");
        assert_eq!(
            m.headers()[0].value().as_string().expect("string").as_str(),
            "contentBlockDelta"
        );
        let v: Value = serde_json::from_slice(m.payload()).expect("json");
        assert_eq!(v["delta"]["text"], " b");
        assert!(read_message_from(&mut malformed_stream().slice(..)).is_ok());
    }

    fn calls() -> Vec<crate::step::ToolCallSpec> {
        vec![
            crate::step::ToolCallSpec {
                id: Some("tooluse_a".into()),
                name: "get_weather".into(),
                arguments: r#"{"city":"Paris é"}"#.into(),
            },
            crate::step::ToolCallSpec {
                id: None,
                name: "now".into(),
                arguments: String::new(),
            },
        ]
    }

    /// The `:event-type` and JSON payload of each frame.
    fn events(frames: &[Bytes]) -> Vec<(String, Value)> {
        frames
            .iter()
            .map(|f| {
                let m = read_message_from(&mut f.clone()).expect("valid frame");
                let kind = m.headers()[0]
                    .value()
                    .as_string()
                    .expect("string")
                    .as_str()
                    .to_owned();
                (kind, serde_json::from_slice(m.payload()).expect("json"))
            })
            .collect()
    }

    #[test]
    fn tool_calls_are_tool_use_blocks_and_stop_with_tool_use() {
        let calls = calls();
        let mut r = reply(Some("think"));
        r.content = "";
        r.tool_calls = &calls;
        let v: Value = serde_json::from_slice(&converse(&r)).expect("json");
        let content = &v["output"]["message"]["content"];
        assert_eq!(content.as_array().map(Vec::len), Some(3));
        assert_eq!(
            content[1],
            serde_json::json!({"toolUse": {"input": {"city": "Paris é"}, "name": "get_weather", "toolUseId": "tooluse_a"}})
        );
        assert_eq!(
            content[2],
            serde_json::json!({"toolUse": {"input": {}, "name": "now", "toolUseId": "call_mock_1"}})
        );
        assert_eq!(v["stopReason"], "tool_use");
        r.finish_reason = "max_tokens";
        let v: Value = serde_json::from_slice(&converse(&r)).expect("json");
        assert_eq!(v["stopReason"], "max_tokens");
        // Arguments that are not JSON go out as a string.
        let bad = [crate::step::ToolCallSpec {
            id: None,
            name: "add".into(),
            arguments: "{oops".into(),
        }];
        r.tool_calls = &bad;
        let v: Value = serde_json::from_slice(&converse(&r)).expect("json");
        assert_eq!(
            v["output"]["message"]["content"][1]["toolUse"]["input"],
            "{oops"
        );
    }

    #[test]
    fn streamed_tool_calls_start_send_their_input_in_pieces_and_stop() {
        let calls = calls();
        let mut r = reply(None);
        r.tool_calls = &calls;
        let s = stream(&r, &["a", " b"]);
        let tail = events(&s.tail);
        let kinds: Vec<&str> = tail.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "contentBlockStop",
                "contentBlockStart",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockStop",
                "contentBlockStart",
                "contentBlockStop",
                "messageStop",
                "metadata"
            ]
        );
        assert_eq!(
            tail[1].1["start"],
            serde_json::json!({"toolUse": {"name": "get_weather", "toolUseId": "tooluse_a"}})
        );
        assert_eq!(tail[1].1["contentBlockIndex"], 1);
        let input: String = tail[2..6]
            .iter()
            .map(|(_, p)| {
                p["delta"]["toolUse"]["input"]
                    .as_str()
                    .expect("piece")
                    .to_owned()
            })
            .collect();
        assert_eq!(input, r#"{"city":"Paris é"}"#);
        assert_eq!(tail[7].1["start"]["toolUse"]["toolUseId"], "call_mock_1");
        assert_eq!(tail[7].1["contentBlockIndex"], 2);
        assert_eq!(tail[9].1["stopReason"], "tool_use");
        // Without text, the tool calls are the first blocks after reasoning.
        let mut r = reply(Some("hmm"));
        r.content = "";
        r.tool_calls = &calls;
        let s = stream(&r, &[]);
        let tail = events(&s.tail);
        assert_eq!(tail[0].0, "contentBlockStart");
        assert_eq!(tail[0].1["contentBlockIndex"], 1);
        let head = events(&s.head);
        assert_eq!(head[1].1["delta"]["reasoningContent"]["text"], "hmm");
    }
}
