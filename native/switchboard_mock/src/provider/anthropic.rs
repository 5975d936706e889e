//! Anthropic Messages (`/v1/messages`).

use bytes::Bytes;
use serde::Serialize;

use super::{json_bytes, named_event, Reply, Stream, StreamOptions, Usage};

#[derive(Serialize)]
struct Message<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    role: &'static str,
    model: &'a str,
    content: &'a [TextBlock<'a>],
    stop_reason: Option<&'a str>,
    stop_sequence: Option<()>,
    usage: WireUsage,
}

#[derive(Serialize)]
struct TextBlock<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: &'a str,
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

pub fn message(reply: &Reply<'_>) -> Bytes {
    let id = message_id(reply.id);
    json_bytes(&Message {
        id: &id,
        kind: "message",
        role: "assistant",
        model: reply.model,
        content: &[TextBlock {
            kind: "text",
            text: reply.content,
        }],
        stop_reason: Some(reply.finish_reason),
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
    index: u32,
    content_block: TextBlock<'a>,
}

#[derive(Serialize)]
struct BlockDelta<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    index: u32,
    delta: TextDelta<'a>,
}

#[derive(Serialize)]
struct TextDelta<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: &'a str,
}

#[derive(Serialize)]
struct BlockStop {
    #[serde(rename = "type")]
    kind: &'static str,
    index: u32,
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

pub fn stream(reply: &Reply<'_>, deltas: &[&str], opts: &StreamOptions<'_>) -> Stream {
    let id = message_id(reply.id);
    // message_start reports input usage and a token-so-far output count; the
    // final count arrives in message_delta, as with the real API.
    let start = MessageStart {
        kind: "message_start",
        message: Message {
            id: &id,
            kind: "message",
            role: "assistant",
            model: reply.model,
            content: &[],
            stop_reason: None,
            stop_sequence: None,
            usage: WireUsage::new(reply.usage, 1),
        },
    };
    let head = vec![
        named_event("message_start", &start),
        named_event(
            "content_block_start",
            &BlockStart {
                kind: "content_block_start",
                index: 0,
                content_block: TextBlock {
                    kind: "text",
                    text: "",
                },
            },
        ),
        named_event("ping", &TypeOnly { kind: "ping" }),
    ];
    let deltas = deltas
        .iter()
        .map(|text| {
            named_event(
                "content_block_delta",
                &BlockDelta {
                    kind: "content_block_delta",
                    index: 0,
                    delta: TextDelta {
                        kind: "text_delta",
                        text,
                    },
                },
            )
        })
        .collect();
    let mut final_usage = WireUsage::new(reply.usage, reply.usage.output);
    final_usage.service_tier = None;
    let tail = vec![
        named_event(
            "content_block_stop",
            &BlockStop {
                kind: "content_block_stop",
                index: 0,
            },
        ),
        named_event(
            "message_delta",
            &MessageDelta {
                kind: "message_delta",
                delta: StopDelta {
                    stop_reason: reply.finish_reason,
                    stop_sequence: None,
                },
                usage: final_usage,
            },
        ),
        named_event(
            "message_stop",
            &TypeOnly {
                kind: "message_stop",
            },
        ),
    ];
    let error_type = opts.error_type.unwrap_or("overloaded_error");
    let error = named_event("error", &error_body_of(error_type, message_for(error_type)));
    Stream {
        head,
        deltas,
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
    use serde_json::Value;

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
