//! Anthropic Messages streams: `message_start`, content blocks with their
//! deltas, `message_delta`, `message_stop`, plus `ping` and `error`.
//!
//! `text_delta`s of text blocks are the answer, `thinking_delta`s of
//! thinking blocks its reasoning (with the block's `signature_delta`, and
//! `redacted_thinking` blocks, kept to be sent back), and
//! `input_json_delta`s of `tool_use` blocks the pieces of a tool call's
//! input, assembled per block index. A block of a type Switchboard does not
//! read (server tools, types added later) fails the stream, as in a whole
//! answer; citations and event types added later are ignored, as
//! Anthropic's versioning policy asks.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::anthropic;
use super::stream::{parse_data, payload, unreadable, BlockParts, StreamParser};
use super::Completion;
use crate::error::{Error, ErrorKind};
use crate::framing::sse::SseEvent;
use crate::framing::Frame;
use crate::reasoning::{Dialect, ReasoningPart};
use crate::response::Usage;
use crate::tools::ToolCallAssembly;
use crate::wire::Deltas;

/// What a content block is, by its index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    Text,
    Thinking,
    ToolUse,
    RedactedThinking,
}

#[derive(Debug, Default)]
pub(crate) struct AnthropicStream {
    text: String,
    reasoning: String,
    /// A thinking block began after earlier reasoning: its first text is
    /// set a paragraph apart, as in a whole answer.
    reasoning_break: bool,
    /// Thinking and redacted thinking blocks by index, in order, to send
    /// back: the text and signature arrive in deltas. A block start without
    /// an index makes no part: its deltas could not be told apart.
    reasoning_parts: BlockParts,
    tools: ToolCallAssembly,
    model: Option<String>,
    finish_reason: Option<String>,
    /// The usage fields seen so far; `message_delta` overrides
    /// `message_start` field by field. Read by [`anthropic::usage`] at the end.
    usage: Map<String, Value>,
    blocks: HashMap<u64, Block>,
    done: bool,
}

impl StreamParser for AnthropicStream {
    /// Input tokens from `message_start`, output tokens as
    /// `message_delta`s count them.
    fn usage(&self) -> Option<Usage> {
        (!self.usage.is_empty()).then(|| anthropic::usage(&Value::Object(self.usage.clone())))
    }

    fn frame(&mut self, frame: &Frame, out: &mut Deltas) -> Result<(), Error> {
        self.event(frame.sse()?, out)
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn finish(self: Box<Self>) -> Result<Completion, Error> {
        self.completion()
    }
}

fn str_at<'a>(v: Option<&'a Value>, key: &str) -> Option<&'a str> {
    v.and_then(|v| v.get(key)).and_then(Value::as_str)
}

impl AnthropicStream {
    /// One SSE event in; what it carries for the caller goes into `out`.
    pub(crate) fn event(&mut self, event: &SseEvent, out: &mut Deltas) -> Result<(), Error> {
        let Some(data) = payload(self.done, event) else {
            return Ok(());
        };
        let v = parse_data(data).map_err(|e| unreadable(event, data, e))?;
        // The payload's `type` is authoritative; the SSE `event:` line only
        // helps when a proxy dropped it.
        let kind = v
            .get("type")
            .and_then(Value::as_str)
            .or(event.event.as_deref());
        let index = v.get("index").and_then(Value::as_u64);
        match kind {
            Some("message_start") => {
                let message = v.get("message");
                if let Some(model) = str_at(message, "model") {
                    self.model = Some(model.to_owned());
                }
                self.merge_usage(message.and_then(|m| m.get("usage")));
            }
            Some("content_block_start") => {
                let block = v.get("content_block");
                let kind = match str_at(block, "type") {
                    Some("text") => Block::Text,
                    Some("thinking") => Block::Thinking,
                    Some("tool_use") => Block::ToolUse,
                    Some("redacted_thinking") => Block::RedactedThinking,
                    other => return Err(anthropic::unread_block(other)),
                };
                if let Some(index) = index {
                    self.blocks.insert(index, kind);
                }
                match kind {
                    Block::Text => self.text(str_at(block, "text"), out),
                    Block::Thinking => {
                        self.reasoning_break = !self.reasoning.is_empty();
                        if let Some(index) = index {
                            let signature = str_at(block, "signature");
                            let part = ReasoningPart::signed(Dialect::Anthropic, "", signature);
                            self.reasoning_parts.begin(index, part);
                        }
                        self.thinking(index, str_at(block, "thinking"), out);
                    }
                    Block::ToolUse => self.tool_use_start(index, block, out)?,
                    Block::RedactedThinking => {
                        let part = ReasoningPart::read_redacted(
                            Dialect::Anthropic,
                            str_at(block, "data"),
                        )?;
                        if let Some(index) = index {
                            self.reasoning_parts.begin(index, part);
                        }
                    }
                }
            }
            Some("content_block_delta") => {
                let delta = v.get("delta");
                // A delta whose block start we missed is taken at its word.
                let block = index.and_then(|i| self.blocks.get(&i).copied());
                match (str_at(delta, "type"), block) {
                    (Some("text_delta"), None | Some(Block::Text)) => {
                        self.text(str_at(delta, "text"), out)
                    }
                    (Some("thinking_delta"), None | Some(Block::Thinking)) => {
                        self.thinking(index, str_at(delta, "thinking"), out)
                    }
                    (Some("signature_delta"), Some(Block::Thinking)) => {
                        if let (Some(part), Some(signature)) =
                            (self.part_at(index), str_at(delta, "signature"))
                        {
                            part.signature
                                .get_or_insert_with(String::new)
                                .push_str(signature);
                        }
                    }
                    (Some("input_json_delta"), None | Some(Block::ToolUse)) => {
                        if let Some(piece) = str_at(delta, "partial_json") {
                            self.tools.push_arguments(index.unwrap_or(0), piece)?;
                        }
                    }
                    _ => {}
                }
            }
            Some("message_delta") => {
                if let Some(reason) = str_at(v.get("delta"), "stop_reason") {
                    self.finish_reason = Some(reason.to_owned());
                }
                self.merge_usage(v.get("usage"));
            }
            Some("message_stop") => self.done = true,
            Some("error") => {
                return Err(anthropic::error_of(&v, ErrorKind::Server));
            }
            _ => {}
        }
        Ok(())
    }

    /// The whole answer. A tool call whose input is not a JSON object is
    /// a `:bad_response` naming the tool (and saying so when the answer
    /// stopped at `max_tokens`, which cuts a call's input short).
    fn completion(self) -> Result<Completion, Error> {
        let cut = self.finish_reason.as_deref() == Some("max_tokens");
        let tool_calls = self.tools.finish().map_err(|e| match cut {
            true => {
                Error::bad_response(format!("{} (the answer stopped at max_tokens)", e.message))
            }
            false => e,
        })?;
        let usage = anthropic::usage(&Value::Object(self.usage));
        Ok(Completion {
            content: self.text,
            reasoning: self.reasoning,
            reasoning_parts: self.reasoning_parts.into_parts(),
            tool_calls,
            model: self.model,
            finish_reason: self.finish_reason,
            usage,
            ..Completion::default()
        })
    }

    fn text(&mut self, text: Option<&str>, out: &mut Deltas) {
        if let Some(text) = text.filter(|t| !t.is_empty()) {
            self.text.push_str(text);
            out.push_text(text);
        }
    }

    /// The reasoning part of the thinking block at `index`.
    fn part_at(&mut self, index: Option<u64>) -> Option<&mut ReasoningPart> {
        self.reasoning_parts.at(index?)
    }

    fn thinking(&mut self, index: Option<u64>, text: Option<&str>, out: &mut Deltas) {
        let Some(text) = text.filter(|t| !t.is_empty()) else {
            return;
        };
        if let Some(part) = self.part_at(index) {
            part.text.push_str(text);
        }
        if std::mem::take(&mut self.reasoning_break) {
            self.reasoning.push_str("\n\n");
            out.push_reasoning("\n\n");
        }
        self.reasoning.push_str(text);
        out.push_reasoning(text);
    }

    /// A `tool_use` block starts: announced once. Its `input` is `{}` and
    /// comes in `input_json_delta`s; a non-empty one is taken whole.
    fn tool_use_start(
        &mut self,
        index: Option<u64>,
        block: Option<&Value>,
        out: &mut Deltas,
    ) -> Result<(), Error> {
        let index = index.ok_or_else(|| Error::bad_response("a tool_use block has no index"))?;
        let (id, name) = (
            str_at(block, "id").unwrap_or(""),
            str_at(block, "name").unwrap_or(""),
        );
        if self.tools.start(index, id, name) {
            out.push_tool_call(id, name);
        }
        if let Some(input) = block
            .and_then(|b| b.get("input"))
            .filter(|i| i.as_object().is_some_and(|m| !m.is_empty()))
        {
            self.tools.set_arguments(index, &input.to_string());
        }
        Ok(())
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
    use crate::reasoning::{Dialect, ReasoningPart};
    use crate::response::Usage;

    fn ev(name: &str, data: &str) -> SseEvent {
        SseEvent {
            event: Some(name.to_owned()),
            data: data.to_owned(),
            id: None,
        }
    }

    /// The text forwarded event by event, the whole answer, and whether
    /// the stream ended properly.
    fn run(events: &[SseEvent]) -> (Vec<String>, Completion, bool) {
        let (deltas, c, done) = run_deltas(events);
        let forwarded = deltas
            .into_iter()
            .map(|d| d.text)
            .filter(|t| !t.is_empty())
            .collect();
        (forwarded, c.expect("completion"), done)
    }

    fn run_deltas(events: &[SseEvent]) -> (Vec<Deltas>, Result<Completion, Error>, bool) {
        let mut parser = AnthropicStream::default();
        let mut all = Vec::new();
        for e in events {
            let mut out = Deltas::default();
            parser.event(e, &mut out).expect("event");
            all.push(out);
        }
        let done = parser.done;
        (all, parser.completion(), done)
    }

    #[test]
    fn text_reasoning_and_tool_input_apart_with_usage_and_stop_reason() {
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
                r#"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_1","name":"get","input":{}}}"#,
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
        assert_eq!(c.reasoning, "hmm");
        assert_eq!(c.tool_calls.len(), 1);
        assert_eq!(
            (c.tool_calls[0].id.as_str(), c.tool_calls[0].name.as_str()),
            ("toolu_1", "get")
        );
        assert!(c.tool_calls[0].arguments.is_empty());
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
                .event(&ev("error", &data), &mut Deltas::default())
                .expect_err(ty);
            assert_eq!(
                (err.kind, err.message.as_str()),
                (kind, "Overloaded"),
                "{ty}"
            );
        }
        let err = AnthropicStream::default()
            .event(
                &ev("error", "upstream connect error"),
                &mut Deltas::default(),
            )
            .expect_err("plain");
        assert_eq!(err.kind, ErrorKind::Server);
        let err = AnthropicStream::default()
            .event(
                &ev("content_block_delta", "{not json"),
                &mut Deltas::default(),
            )
            .expect_err("json");
        assert_eq!(err.kind, ErrorKind::BadResponse);
    }

    fn block_start(index: u64, block: &str) -> SseEvent {
        ev(
            "content_block_start",
            &format!(r#"{{"type":"content_block_start","index":{index},"content_block":{block}}}"#),
        )
    }

    fn delta(index: u64, delta: &str) -> SseEvent {
        ev(
            "content_block_delta",
            &format!(r#"{{"type":"content_block_delta","index":{index},"delta":{delta}}}"#),
        )
    }

    fn stop(reason: &str) -> [SseEvent; 2] {
        [
            ev(
                "message_delta",
                &format!(
                    r#"{{"type":"message_delta","delta":{{"stop_reason":"{reason}"}},"usage":{{"output_tokens":9}}}}"#
                ),
            ),
            ev("message_stop", r#"{"type":"message_stop"}"#),
        ]
    }

    fn json_piece(index: u64, piece: &str) -> SseEvent {
        let piece = serde_json::to_string(piece).expect("string");
        delta(
            index,
            &format!(r#"{{"type":"input_json_delta","partial_json":{piece}}}"#),
        )
    }

    #[test]
    fn tool_inputs_assemble_per_block_and_calls_are_announced_once() {
        let mut events = vec![
            block_start(
                0,
                r#"{"type":"tool_use","id":"toolu_a","name":"get_metric","input":{}}"#,
            ),
            block_start(
                1,
                r#"{"type":"tool_use","id":"toolu_b","name":"now","input":{}}"#,
            ),
            json_piece(0, ""),
            json_piece(0, r#"{"name": "mem"#),
            json_piece(1, "{}"),
            json_piece(0, r#"ory", "top": [1, 2]}"#),
        ];
        events.extend(stop("tool_use"));
        let (deltas, c, done) = run_deltas(&events);
        let c = c.expect("completion");
        assert!(done);
        let started: Vec<(String, String)> = deltas
            .iter()
            .flat_map(|d| &d.tool_calls)
            .map(|s| (s.id.clone(), s.name.clone()))
            .collect();
        assert_eq!(
            started,
            [("toolu_a", "get_metric"), ("toolu_b", "now")]
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
        assert!(deltas.iter().all(|d| d.text.is_empty()));
        assert_eq!(c.tool_calls.len(), 2);
        assert_eq!(
            Value::Object(c.tool_calls[0].arguments.clone()),
            serde_json::json!({"name": "memory", "top": [1, 2]})
        );
        assert!(c.tool_calls[1].arguments.is_empty());
        assert_eq!(c.finish(), crate::response::Finish::ToolCalls);
    }

    #[test]
    fn cut_tool_input_is_a_bad_response_naming_the_tool_and_max_tokens() {
        let mut events = vec![
            block_start(
                0,
                r#"{"type":"tool_use","id":"t","name":"make_file","input":{}}"#,
            ),
            json_piece(0, r##"{"filename": "taxes.txt", "lines": ["# GUIDE"##),
        ];
        events.extend(stop("max_tokens"));
        let (_, c, done) = run_deltas(&events);
        assert!(done);
        let e = c.expect_err("cut input");
        assert_eq!(e.kind, ErrorKind::BadResponse);
        assert!(e.message.contains("\"make_file\""), "{}", e.message);
        assert!(e.message.contains("max_tokens"), "{}", e.message);
        let mut events = vec![
            block_start(0, r#"{"type":"tool_use","id":"t","name":"f","input":{}}"#),
            json_piece(0, "[1]"),
        ];
        events.extend(stop("tool_use"));
        let e = run_deltas(&events).1.expect_err("not an object");
        assert!(e.message.contains("\"f\"") && !e.message.contains("max_tokens"));
    }

    #[test]
    fn thinking_blocks_are_reasoning_a_paragraph_apart_and_redacted_ones_are_kept_out() {
        let mut events = vec![
            block_start(0, r#"{"type":"thinking","thinking":""}"#),
            delta(0, r#"{"type":"thinking_delta","thinking":"First"}"#),
            delta(0, r#"{"type":"thinking_delta","thinking":" idea."}"#),
            delta(0, r#"{"type":"signature_delta","signature":"c2ln"}"#),
            block_start(1, r#"{"type":"redacted_thinking","data":"ZW5jcnlwdGVk"}"#),
            block_start(2, r#"{"type":"thinking","thinking":""}"#),
            delta(2, r#"{"type":"thinking_delta","thinking":"Second."}"#),
            block_start(3, r#"{"type":"text","text":""}"#),
            delta(3, r#"{"type":"text_delta","text":"42"}"#),
            delta(3, r#"{"type":"thinking_delta","thinking":"never"}"#),
        ];
        events.extend(stop("end_turn"));
        let (deltas, c, _) = run_deltas(&events);
        let c = c.expect("completion");
        let streamed: String = deltas.iter().map(|d| d.reasoning.as_str()).collect();
        assert_eq!(streamed, "First idea.\n\nSecond.");
        assert_eq!(c.reasoning, streamed);
        assert_eq!(c.content, "42");
        assert_eq!(
            c.reasoning_parts,
            vec![
                ReasoningPart::signed(Dialect::Anthropic, "First idea.", Some("c2ln")),
                ReasoningPart::redacted(Dialect::Anthropic, "ZW5jcnlwdGVk"),
                ReasoningPart::signed(Dialect::Anthropic, "Second.", None),
            ]
        );
    }

    #[test]
    fn a_reasoning_block_without_an_index_makes_no_part_to_send_back() {
        let unindexed = |block: &str| {
            ev(
                "content_block_start",
                &format!(r#"{{"type":"content_block_start","content_block":{block}}}"#),
            )
        };
        let mut events = vec![
            block_start(0, r#"{"type":"thinking","thinking":""}"#),
            delta(0, r#"{"type":"thinking_delta","thinking":"Kept."}"#),
            delta(0, r#"{"type":"signature_delta","signature":"c2ln"}"#),
            unindexed(r#"{"type":"thinking","thinking":"Lost?","signature":"b3RoZXI="}"#),
            unindexed(r#"{"type":"redacted_thinking","data":"ZW5j"}"#),
        ];
        events.extend(stop("end_turn"));
        let (_, c, _) = run_deltas(&events);
        let c = c.expect("completion");
        // Shown as reasoning, but not sent back as if it were block 0.
        assert_eq!(c.reasoning, "Kept.\n\nLost?");
        assert_eq!(
            c.reasoning_parts,
            vec![ReasoningPart::signed(
                Dialect::Anthropic,
                "Kept.",
                Some("c2ln")
            )]
        );
    }

    #[test]
    fn redacted_thinking_without_data_fails_the_stream_unretried() {
        for block in [
            r#"{"type":"redacted_thinking","data":""}"#,
            r#"{"type":"redacted_thinking"}"#,
        ] {
            let e = AnthropicStream::default()
                .event(&block_start(0, block), &mut Deltas::default())
                .expect_err("no data");
            assert_eq!((e.kind, e.is_retryable()), (ErrorKind::BadResponse, false));
            assert!(e.message.contains("without its data"), "{}", e.message);
        }
    }

    #[test]
    fn a_server_tool_block_fails_the_stream_naming_it() {
        let e = AnthropicStream::default()
            .event(
                &block_start(
                    1,
                    r#"{"type":"server_tool_use","id":"s","name":"web_search","input":{}}"#,
                ),
                &mut Deltas::default(),
            )
            .expect_err("unread");
        assert_eq!(e.kind, ErrorKind::BadResponse);
        assert!(!e.is_retryable());
        assert!(e.message.contains("\"server_tool_use\""), "{}", e.message);
    }

    #[test]
    fn input_before_its_block_start_is_assembled_and_announced_at_the_start() {
        let mut events = vec![
            json_piece(0, r#"{"city": "#),
            json_piece(0, r#""Paris"}"#),
            block_start(
                0,
                r#"{"type":"tool_use","id":"toolu_late","name":"get_weather","input":{}}"#,
            ),
        ];
        events.extend(stop("tool_use"));
        let (deltas, c, _) = run_deltas(&events);
        let started: Vec<&str> = deltas
            .iter()
            .flat_map(|d| &d.tool_calls)
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(started, ["get_weather"]);
        let c = c.expect("completion");
        assert_eq!(c.tool_calls[0].id, "toolu_late");
        assert_eq!(c.tool_calls[0].arguments["city"], "Paris");
    }

    #[test]
    fn sdk_tool_use_fixture() {
        let body = r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01NRLabsLyVHZPKxbKvkfSMn","name":"get_weather","caller":{"type":"direct"},"input":{}}}"#;
        let mut events = vec![
            block_start(0, r#"{"type":"text","text":""}"#),
            delta(0, r#"{"type":"text_delta","text":"I'll check."}"#),
            ev("content_block_start", body),
        ];
        for piece in ["", "{\"locati", "on\": \"P", "ar", "is\"}"] {
            events.push(json_piece(1, piece));
        }
        events.extend(stop("tool_use"));
        let (_, c, _) = run_deltas(&events);
        let c = c.expect("completion");
        assert_eq!(c.content, "I'll check.");
        assert_eq!(c.tool_calls[0].name, "get_weather");
        assert_eq!(c.tool_calls[0].arguments["location"], "Paris");
    }

    #[test]
    fn empty_ping_is_ignored() {
        let (forwarded, _, done) = run(&[ev("ping", "")]);
        assert!(forwarded.is_empty() && !done);
    }
}
