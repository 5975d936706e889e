//! Generated streams: one answer (text pieces, a stop reason, usage)
//! written in each dialect's wire format, so the properties also run on
//! bodies no recording holds (characters cut by reads, CR line ends,
//! comments and pings between events, events in the orders providers
//! allow).

use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use aws_smithy_types::str_bytes::StrBytes;
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::harness::{line, Dialect};

/// One answer, as a provider would stream it.
#[derive(Clone, Debug)]
pub struct Script {
    pub pieces: Vec<String>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// The line end of SSE bodies.
    pub eol: &'static str,
    /// Keep-alives (comments, pings) between events.
    pub keep_alive: bool,
    /// Usage sent before the stop event (OpenAI, Bedrock, Gemini,
    /// Anthropic): providers do not promise the order.
    pub usage_first: bool,
}

impl Script {
    pub fn text(&self) -> String {
        self.pieces.concat()
    }
}

/// Text with what breaks naive readers: multi-byte characters, escapes,
/// line ends, `data:` look-alikes, `[DONE]`.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z ]{1,8}",
        Just("é😀€".to_owned()),
        Just("\n\r\ndata: x\n\n".to_owned()),
        Just("[DONE]".to_owned()),
        Just("\"\\u0000\"".to_owned()),
        "\\PC{1,4}",
    ]
}

pub fn script() -> impl Strategy<Value = Script> {
    (
        prop::collection::vec(piece(), 1..6),
        0u64..100_000,
        1u64..100_000,
        prop_oneof![Just("\n"), Just("\r\n"), Just("\r")],
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(pieces, input_tokens, output_tokens, eol, keep_alive, usage_first)| Script {
                pieces,
                input_tokens,
                output_tokens,
                eol,
                keep_alive,
                usage_first,
            },
        )
}

/// The stop reason each dialect's script ends with, as the provider says it.
pub fn stop_reason(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::OpenAi => "stop",
        Dialect::Anthropic => "end_turn",
        Dialect::Gemini => "STOP",
        Dialect::Bedrock => "end_turn",
        // Read from the response's `status: completed`.
        Dialect::Responses => "stop",
    }
}

/// `script` in `dialect`'s wire format.
pub fn encode(dialect: Dialect, s: &Script) -> Vec<u8> {
    match dialect {
        Dialect::OpenAi => openai(s),
        Dialect::Anthropic => anthropic(s),
        Dialect::Gemini => gemini(s),
        Dialect::Bedrock => bedrock(s),
        Dialect::Responses => responses(s),
    }
}

struct Sse<'a> {
    out: String,
    script: &'a Script,
}

impl Sse<'_> {
    fn event(&mut self, name: Option<&str>, data: &Value) {
        let eol = self.script.eol;
        if self.script.keep_alive {
            self.out.push_str(&format!(": keep-alive{eol}"));
        }
        if let Some(name) = name {
            self.out.push_str(&format!("event: {name}{eol}"));
        }
        self.out
            .push_str(&format!("data: {}{eol}{eol}", line(data)));
    }

    fn raw(&mut self, data: &str) {
        let eol = self.script.eol;
        self.out.push_str(&format!("data: {data}{eol}{eol}"));
    }
}

fn openai(s: &Script) -> Vec<u8> {
    let mut sse = Sse {
        out: String::new(),
        script: s,
    };
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-p", "object": "chat.completion.chunk", "model": "gpt-4o-mini",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    sse.event(
        None,
        &chunk(json!({"role": "assistant", "content": ""}), Value::Null),
    );
    for p in &s.pieces {
        sse.event(None, &chunk(json!({"content": p}), Value::Null));
    }
    let usage = json!({"id": "chatcmpl-p", "object": "chat.completion.chunk", "model": "gpt-4o-mini",
        "choices": [],
        "usage": {"prompt_tokens": s.input_tokens, "completion_tokens": s.output_tokens,
                  "total_tokens": s.input_tokens + s.output_tokens}});
    let stop = chunk(json!({}), json!("stop"));
    let (first, second) = if s.usage_first {
        (&usage, &stop)
    } else {
        (&stop, &usage)
    };
    sse.event(None, first);
    sse.event(None, second);
    sse.raw("[DONE]");
    sse.out.into_bytes()
}

fn anthropic(s: &Script) -> Vec<u8> {
    let mut sse = Sse {
        out: String::new(),
        script: s,
    };
    sse.event(
        Some("message_start"),
        &json!({"type": "message_start", "message": {"id": "msg_p", "type": "message",
            "role": "assistant", "model": "claude-haiku-4-5", "content": [],
            "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": s.input_tokens, "output_tokens": 1}}}),
    );
    sse.event(
        Some("content_block_start"),
        &json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "text", "text": ""}}),
    );
    for p in &s.pieces {
        if s.keep_alive {
            sse.event(Some("ping"), &json!({"type": "ping"}));
        }
        sse.event(
            Some("content_block_delta"),
            &json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": p}}),
        );
    }
    sse.event(
        Some("content_block_stop"),
        &json!({"type": "content_block_stop", "index": 0}),
    );
    let usage = json!({"output_tokens": s.output_tokens});
    if s.usage_first {
        // The usage in a delta of its own, before the one that stops.
        sse.event(
            Some("message_delta"),
            &json!({"type": "message_delta", "delta": {"stop_reason": null}, "usage": usage}),
        );
        sse.event(
            Some("message_delta"),
            &json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}}),
        );
    } else {
        sse.event(
            Some("message_delta"),
            &json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}}),
        );
        sse.event(
            Some("message_delta"),
            &json!({"type": "message_delta", "delta": {"stop_reason": null}, "usage": usage}),
        );
    }
    sse.event(Some("message_stop"), &json!({"type": "message_stop"}));
    sse.out.into_bytes()
}

fn gemini(s: &Script) -> Vec<u8> {
    let mut sse = Sse {
        out: String::new(),
        script: s,
    };
    let usage = json!({"promptTokenCount": s.input_tokens,
        "candidatesTokenCount": s.output_tokens,
        "totalTokenCount": s.input_tokens + s.output_tokens});
    for (i, p) in s.pieces.iter().enumerate() {
        let mut chunk = json!({"candidates": [{"content": {"role": "model", "parts": [{"text": p}]},
            "index": 0}], "modelVersion": "gemini-2.5-flash"});
        if i + 1 == s.pieces.len() && !s.usage_first {
            chunk["candidates"][0]["finishReason"] = json!("STOP");
            chunk["usageMetadata"] = usage.clone();
        }
        sse.event(None, &chunk);
    }
    if s.usage_first {
        // Usage first, then a last chunk that only stops.
        sse.event(
            None,
            &json!({"candidates": [{"content": {"role": "model", "parts": []}, "index": 0}],
            "usageMetadata": usage}),
        );
        sse.event(
            None,
            &json!({"candidates": [{"content": {"role": "model", "parts": [{"text": ""}]},
            "finishReason": "STOP", "index": 0}]}),
        );
    }
    sse.out.into_bytes()
}

fn aws_event(kind: &str, payload: &Value) -> Vec<u8> {
    let message = Message::new(line(payload).into_bytes())
        .add_header(Header::new(
            ":message-type",
            HeaderValue::String(StrBytes::from("event")),
        ))
        .add_header(Header::new(
            ":event-type",
            HeaderValue::String(StrBytes::from(kind.to_owned())),
        ))
        .add_header(Header::new(
            ":content-type",
            HeaderValue::String(StrBytes::from("application/json")),
        ));
    let mut out = Vec::new();
    aws_smithy_eventstream::frame::write_message_to(&message, &mut out).expect("encodes");
    out
}

fn bedrock(s: &Script) -> Vec<u8> {
    let mut out = aws_event("messageStart", &json!({"role": "assistant"}));
    for p in &s.pieces {
        out.extend(aws_event(
            "contentBlockDelta",
            &json!({"contentBlockIndex": 0, "delta": {"text": p}}),
        ));
    }
    out.extend(aws_event(
        "contentBlockStop",
        &json!({"contentBlockIndex": 0}),
    ));
    let stop = aws_event("messageStop", &json!({"stopReason": "end_turn"}));
    let usage = aws_event(
        "metadata",
        &json!({"usage": {"inputTokens": s.input_tokens, "outputTokens": s.output_tokens,
                          "totalTokens": s.input_tokens + s.output_tokens},
                "metrics": {"latencyMs": 12}}),
    );
    if s.usage_first {
        out.extend(usage);
        out.extend(stop);
    } else {
        out.extend(stop);
        out.extend(usage);
    }
    out
}

fn responses(s: &Script) -> Vec<u8> {
    let mut sse = Sse {
        out: String::new(),
        script: s,
    };
    let response = |status: &str, output: Value, usage: Value| {
        json!({"id": "resp_p", "object": "response", "status": status, "model": "gpt-5",
               "output": output, "usage": usage})
    };
    sse.event(
        Some("response.created"),
        &json!({"type": "response.created", "sequence_number": 0,
                "response": response("in_progress", json!([]), Value::Null)}),
    );
    sse.event(
        Some("response.output_item.added"),
        &json!({"type": "response.output_item.added", "output_index": 0,
                "item": {"id": "msg_p", "type": "message", "status": "in_progress",
                         "role": "assistant", "content": []}}),
    );
    for p in &s.pieces {
        sse.event(
            Some("response.output_text.delta"),
            &json!({"type": "response.output_text.delta", "item_id": "msg_p",
                    "output_index": 0, "content_index": 0, "delta": p}),
        );
    }
    let message = json!({"id": "msg_p", "type": "message", "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": s.text(), "annotations": []}]});
    sse.event(
        Some("response.output_item.done"),
        &json!({"type": "response.output_item.done", "output_index": 0, "item": message}),
    );
    let usage = json!({"input_tokens": s.input_tokens, "output_tokens": s.output_tokens,
                       "total_tokens": s.input_tokens + s.output_tokens});
    sse.event(
        Some("response.completed"),
        &json!({"type": "response.completed",
                "response": response("completed", json!([message]), usage)}),
    );
    sse.out.into_bytes()
}
