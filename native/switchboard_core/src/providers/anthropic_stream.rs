//! Anthropic Messages streams: `message_start`, content blocks with their
//! deltas, `message_delta`, `message_stop`, plus `ping` and `error`.
//!
//! Only `text_delta`s of text blocks are the answer; thinking, signatures,
//! tool input, citations and block types added later are not. Unknown event
//! types are ignored, as Anthropic's versioning policy asks.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::anthropic;
use super::stream::{parse_data, payload, unreadable, StreamParser};
use super::Completion;
use crate::error::{Error, ErrorKind};
use crate::framing::sse::SseEvent;
use crate::framing::Frame;
use crate::wire::Deltas;

#[derive(Debug, Default)]
pub(crate) struct AnthropicStream {
    text: String,
    model: Option<String>,
    finish_reason: Option<String>,
    /// The usage fields seen so far; `message_delta` overrides
    /// `message_start` field by field. Read by [`anthropic::usage`] at the end.
    usage: Map<String, Value>,
    /// Whether the block at each index is a text block.
    text_blocks: HashMap<u64, bool>,
    done: bool,
}

impl StreamParser for AnthropicStream {
    fn frame(&mut self, frame: &Frame, out: &mut Deltas) -> Result<(), Error> {
        let event = frame.sse()?;
        if let Some(text) = self.event(event)? {
            out.push_text(&text);
        }
        Ok(())
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn finish(self: Box<Self>) -> Result<Completion, Error> {
        Ok(self.completion())
    }
}

impl AnthropicStream {
    /// One SSE event in; the text to forward, if any.
    pub(crate) fn event(&mut self, event: &SseEvent) -> Result<Option<String>, Error> {
        let Some(data) = payload(self.done, event) else {
            return Ok(None);
        };
        let v = parse_data(data).map_err(|e| unreadable(event, data, e))?;
        // The payload's `type` is authoritative; the SSE `event:` line only
        // helps when a proxy dropped it.
        let kind = v
            .get("type")
            .and_then(Value::as_str)
            .or(event.event.as_deref());
        match kind {
            Some("message_start") => {
                let message = v.get("message");
                if let Some(model) = message.and_then(|m| m.get("model")).and_then(Value::as_str) {
                    self.model = Some(model.to_owned());
                }
                self.merge_usage(message.and_then(|m| m.get("usage")));
            }
            Some("content_block_start") => {
                let block = v.get("content_block");
                let is_text =
                    block.and_then(|b| b.get("type")).and_then(Value::as_str) == Some("text");
                if let Some(index) = v.get("index").and_then(Value::as_u64) {
                    self.text_blocks.insert(index, is_text);
                }
                if is_text {
                    let text = block.and_then(|b| b.get("text")).and_then(Value::as_str);
                    return Ok(self.forward(text));
                }
            }
            Some("content_block_delta") => {
                let delta = v.get("delta");
                if delta.and_then(|d| d.get("type")).and_then(Value::as_str) != Some("text_delta") {
                    return Ok(None);
                }
                // A delta whose block start we missed is taken at its word.
                let in_text_block = v
                    .get("index")
                    .and_then(Value::as_u64)
                    .and_then(|i| self.text_blocks.get(&i).copied())
                    .unwrap_or(true);
                if in_text_block {
                    let text = delta.and_then(|d| d.get("text")).and_then(Value::as_str);
                    return Ok(self.forward(text));
                }
            }
            Some("message_delta") => {
                if let Some(reason) = v
                    .get("delta")
                    .and_then(|d| d.get("stop_reason"))
                    .and_then(Value::as_str)
                {
                    self.finish_reason = Some(reason.to_owned());
                }
                self.merge_usage(v.get("usage"));
            }
            Some("message_stop") => self.done = true,
            Some("error") => {
                let (kind, message) = anthropic::error_type(&v);
                return Err(Error::new(kind.unwrap_or(ErrorKind::Server), message));
            }
            _ => {}
        }
        Ok(None)
    }

    fn completion(self) -> Completion {
        let usage = anthropic::usage(&Value::Object(self.usage));
        Completion {
            content: self.text,
            model: self.model,
            finish_reason: self.finish_reason,
            usage,
            ..Completion::default()
        }
    }
}

impl AnthropicStream {
    fn forward(&mut self, text: Option<&str>) -> Option<String> {
        let text = text.filter(|t| !t.is_empty())?;
        self.text.push_str(text);
        Some(text.to_owned())
    }

    /// `output_tokens` in `message_delta` is cumulative, so later values
    /// replace earlier ones; nulls never erase a count.
    fn merge_usage(&mut self, usage: Option<&Value>) {
        let Some(usage) = usage.and_then(Value::as_object) else {
            return;
        };
        for key in [
            "input_tokens",
            "output_tokens",
            "cache_read_input_tokens",
            "cache_creation_input_tokens",
        ] {
            if let Some(n) = usage.get(key).filter(|n| n.is_u64()) {
                self.usage.insert(key.to_owned(), n.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::Usage;

    fn ev(name: &str, data: &str) -> SseEvent {
        SseEvent {
            event: Some(name.to_owned()),
            data: data.to_owned(),
            id: None,
        }
    }

    fn run(events: &[SseEvent]) -> (Vec<String>, Completion, bool) {
        let mut parser = AnthropicStream::default();
        let mut forwarded = Vec::new();
        for e in events {
            if let Some(text) = parser.event(e).expect("event") {
                forwarded.push(text);
            }
        }
        let done = parser.done;
        (forwarded, parser.completion(), done)
    }

    #[test]
    fn text_blocks_only_with_usage_and_stop_reason() {
        let (forwarded, c, done) = run(&[
            ev(
                "message_start",
                r#"{"type":"message_start","message":{"model":"claude-x","usage":{"input_tokens":10,"cache_read_input_tokens":4,"output_tokens":1}}}"#,
            ),
            ev(
                "content_block_start",
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}"#,
            ),
            ev(
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}"#,
            ),
            ev(
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"sig"}}"#,
            ),
            ev(
                "content_block_stop",
                r#"{"type":"content_block_stop","index":0}"#,
            ),
            ev("ping", r#"{"type": "ping"}"#),
            ev(
                "content_block_start",
                r#"{"type":"content_block_start","index":1,"content_block":{"type":"text","text":"Hi"}}"#,
            ),
            ev(
                "content_block_delta",
                r#"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":" there"}}"#,
            ),
            ev(
                "content_block_delta",
                r#"{"type":"content_block_delta","index":1,"delta":{"type":"citations_delta","citation":{}}}"#,
            ),
            ev(
                "content_block_start",
                r#"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","input":{}}}"#,
            ),
            ev(
                "content_block_delta",
                r#"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{}"}}"#,
            ),
            ev(
                "content_block_delta",
                r#"{"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"never"}}"#,
            ),
            ev("some_future_event", r#"{"type":"some_future_event"}"#),
            ev(
                "message_delta",
                r#"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":20,"input_tokens":null}}"#,
            ),
            ev("message_stop", r#"{"type":"message_stop"}"#),
            ev(
                "content_block_delta",
                r#"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"late"}}"#,
            ),
        ]);
        assert!(done);
        assert_eq!(forwarded, vec!["Hi", " there"]);
        assert_eq!(c.content, "Hi there");
        assert_eq!(c.model.as_deref(), Some("claude-x"));
        assert_eq!(c.finish_reason.as_deref(), Some("tool_use"));
        assert_eq!(
            c.usage,
            Usage {
                input_tokens: Some(14),
                output_tokens: Some(20),
                total_tokens: Some(34),
                cached_input_tokens: Some(4),
                cache_creation_input_tokens: None,
                reasoning_tokens: None,
            }
        );
    }

    #[test]
    fn json_type_wins_over_event_name() {
        let (forwarded, _, done) = run(&[
            ev(
                "ping",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"}}"#,
            ),
            SseEvent {
                data: r#"{"type":"message_stop"}"#.into(),
                ..SseEvent::default()
            },
        ]);
        assert_eq!(forwarded, vec!["a"]);
        assert!(done);
    }

    #[test]
    fn error_events_map_to_kinds() {
        let cases = [
            ("overloaded_error", ErrorKind::Overloaded),
            ("rate_limit_error", ErrorKind::RateLimited),
            ("api_error", ErrorKind::Server),
            ("invalid_request_error", ErrorKind::InvalidRequest),
            ("authentication_error", ErrorKind::Auth),
            ("permission_error", ErrorKind::Permission),
            ("not_found_error", ErrorKind::NotFound),
            ("request_too_large", ErrorKind::InvalidRequest),
            ("brand_new_error", ErrorKind::Server),
        ];
        for (ty, kind) in cases {
            let data =
                format!(r#"{{"type":"error","error":{{"type":"{ty}","message":"Overloaded"}}}}"#);
            let err = AnthropicStream::default()
                .event(&ev("error", &data))
                .expect_err(ty);
            assert_eq!(
                (err.kind, err.message.as_str()),
                (kind, "Overloaded"),
                "{ty}"
            );
        }
        let err = AnthropicStream::default()
            .event(&ev("error", "upstream connect error"))
            .expect_err("plain");
        assert_eq!(err.kind, ErrorKind::Server);
        let err = AnthropicStream::default()
            .event(&ev("content_block_delta", "{not json"))
            .expect_err("json");
        assert_eq!(err.kind, ErrorKind::BadResponse);
    }

    #[test]
    fn empty_ping_is_ignored() {
        let (forwarded, _, done) = run(&[ev("ping", "")]);
        assert!(forwarded.is_empty() && !done);
    }
}
