//! Bedrock ConverseStream: AWS event-stream messages whose `:event-type`
//! is `messageStart`, `contentBlockStart`, `contentBlockDelta`,
//! `contentBlockStop`, `messageStop` (the stop reason) and `metadata`
//! (usage), each with a JSON payload; or `:message-type
//! exception` messages (`throttlingException`, `validationException`, ...),
//! which fail the stream with their kind.
//!
//! `text` deltas are the answer; `reasoningContent.text` deltas its
//! reasoning, kept per content block with the block's
//! `reasoningContent.signature` (or its `redactedContent`, which has no
//! text to give) to be sent back;
//! `toolUse` blocks tool calls, announced by their `contentBlockStart`
//! (`start.toolUse {toolUseId, name}`), their input a JSON text in
//! `delta.toolUse.input` pieces, assembled per content block index.
//! `messageStop` and `metadata` may come in either order; the answer is
//! complete when both have. Unknown event types are ignored, so new ones
//! do not break old clients.

use serde::Deserialize;
use serde_json::Value;

use super::bedrock::{exception_kind, message_of, usage};
use super::stream::{parse_event, BlockParts, StreamParser};
use super::Completion;
use crate::error::{Error, ErrorKind};
use crate::framing::event_stream::{string_header, Message};
use crate::framing::Frame;
use crate::reasoning::{check_redacted, Dialect, ReasoningPart};
use crate::response::Usage;
use crate::tools::ToolCallAssembly;
use crate::wire::Deltas;

#[derive(Debug, Default)]
pub(crate) struct BedrockStream {
    text: String,
    reasoning: String,
    /// Reasoning blocks by content block index, in order.
    reasoning_parts: BlockParts,
    tools: ToolCallAssembly,
    finish_reason: Option<String>,
    usage: Usage,
    /// `messageStop` arrived: the answer is complete.
    stopped: bool,
    /// `metadata` (usage) arrived.
    metadata: bool,
}

#[derive(Deserialize)]
struct BlockDelta<'a> {
    #[serde(rename = "contentBlockIndex", default)]
    index: u64,
    #[serde(borrow)]
    delta: Option<DeltaBody<'a>>,
}

#[derive(Deserialize)]
struct DeltaBody<'a> {
    #[serde(borrow)]
    text: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "reasoningContent", borrow)]
    reasoning: Option<ReasoningDelta<'a>>,
    #[serde(rename = "toolUse", borrow)]
    tool_use: Option<ToolUseDelta<'a>>,
}

#[derive(Deserialize)]
struct ReasoningDelta<'a> {
    #[serde(borrow)]
    text: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    signature: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "redactedContent", borrow)]
    redacted: Option<std::borrow::Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ToolUseDelta<'a> {
    #[serde(borrow)]
    input: Option<std::borrow::Cow<'a, str>>,
}

#[derive(Deserialize)]
struct BlockStart {
    #[serde(rename = "contentBlockIndex", default)]
    index: u64,
    start: Option<StartBody>,
}

#[derive(Deserialize)]
struct StartBody {
    #[serde(rename = "toolUse")]
    tool_use: Option<ToolUseStart>,
}

#[derive(Deserialize)]
struct ToolUseStart {
    #[serde(rename = "toolUseId", default)]
    id: String,
    #[serde(default)]
    name: String,
}

impl StreamParser for BedrockStream {
    fn usage(&self) -> Option<Usage> {
        self.metadata.then_some(self.usage)
    }

    fn frame(&mut self, frame: &Frame, out: &mut Deltas) -> Result<(), Error> {
        self.message(frame.aws_event()?, out)
    }

    fn is_done(&self) -> bool {
        self.stopped && self.metadata
    }

    /// A stream that ends after `messageStop` is complete even if no
    /// `metadata` (usage) followed, and after `metadata` even if no
    /// `messageStop` (then without a stop reason).
    fn end_of_body(&mut self) -> Result<(), Error> {
        if self.stopped || self.metadata {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::Network,
                "the stream ended before the provider finished the answer",
            ))
        }
    }

    fn finish(self: Box<Self>) -> Result<Completion, Error> {
        let reasoning_parts = self.reasoning_parts.into_parts();
        for data in reasoning_parts.iter().filter_map(|p| p.redacted.as_deref()) {
            check_redacted(data)?;
        }
        Ok(Completion {
            content: self.text,
            reasoning: self.reasoning,
            reasoning_parts,
            tool_calls: self.tools.finish()?,
            model: None,
            finish_reason: self.finish_reason,
            usage: self.usage,
            ..Completion::default()
        })
    }
}

impl BedrockStream {
    pub(crate) fn message(&mut self, message: &Message, out: &mut Deltas) -> Result<(), Error> {
        if self.is_done() {
            return Ok(());
        }
        match string_header(message, ":message-type") {
            Some("event") => self.event(message, out),
            Some("exception") => Err(exception(message)),
            Some("error") => {
                let named = string_header(message, ":error-code");
                let code = named.unwrap_or("error");
                let text = string_header(message, ":error-message").unwrap_or("");
                Err(Error::new(
                    exception_kind(code).unwrap_or(ErrorKind::Server),
                    super::stream::short(&format!("{code}: {text}")),
                )
                .with_provider_detail(None, named))
            }
            _ => Ok(()),
        }
    }

    fn event(&mut self, message: &Message, out: &mut Deltas) -> Result<(), Error> {
        let payload = message.payload();
        match string_header(message, ":event-type") {
            Some("contentBlockStart") => {
                let start: BlockStart = parse_event(payload)?;
                if let Some(call) = start.start.and_then(|s| s.tool_use) {
                    if self.tools.start(start.index, &call.id, &call.name) {
                        out.push_tool_call(&call.id, &call.name);
                    }
                }
            }
            Some("contentBlockDelta") => {
                let block: BlockDelta<'_> = parse_event(payload)?;
                let Some(delta) = block.delta else {
                    return Ok(());
                };
                if let Some(text) = delta.text.filter(|t| !t.is_empty()) {
                    self.text.push_str(&text);
                    out.push_text(&text);
                }
                if let Some(r) = delta.reasoning {
                    self.reasoning_delta(block.index, r, out)?;
                }
                if let Some(input) = delta.tool_use.and_then(|t| t.input) {
                    self.tools.push_arguments(block.index, &input)?;
                }
            }
            Some("messageStop") => {
                let v: Value = parse_event(payload)?;
                if let Some(reason) = v.get("stopReason").and_then(Value::as_str) {
                    self.finish_reason = Some(reason.to_owned());
                }
                self.stopped = true;
            }
            Some("metadata") => {
                let v: Value = parse_event(payload)?;
                if let Some(u) = v.get("usage") {
                    self.usage = usage(u);
                }
                self.metadata = true;
            }
            _ => {}
        }
        Ok(())
    }
}

impl BedrockStream {
    /// A piece of a reasoning block: text (forwarded), its signature, or
    /// its redacted content (which may come in pieces too). A block is
    /// either redacted or text: one that mixes them cannot go back.
    fn reasoning_delta(
        &mut self,
        index: u64,
        delta: ReasoningDelta<'_>,
        out: &mut Deltas,
    ) -> Result<(), Error> {
        let part = self
            .reasoning_parts
            .at_or_begin(index, || match delta.redacted {
                Some(_) => ReasoningPart::redacted(Dialect::Bedrock, ""),
                None => ReasoningPart::signed(Dialect::Bedrock, "", None),
            });
        let text = delta.text.filter(|t| !t.is_empty());
        let signature = delta.signature.filter(|s| !s.is_empty());
        match &mut part.redacted {
            Some(data) if text.is_none() && signature.is_none() => {
                data.push_str(delta.redacted.as_deref().unwrap_or_default());
                return Ok(());
            }
            None if delta.redacted.is_none() => {}
            _ => {
                return Err(Error::bad_response(format!(
                    "reasoning block {index} of the stream mixes redacted content and text"
                )))
            }
        }
        if let Some(text) = text {
            part.text.push_str(&text);
            self.reasoning.push_str(&text);
            out.push_reasoning(&text);
        }
        if let Some(signature) = signature {
            part.signature
                .get_or_insert_with(String::new)
                .push_str(&signature);
        }
        Ok(())
    }
}

/// The error an exception message stands for.
fn exception(message: &Message) -> Error {
    let named = string_header(message, ":exception-type");
    let name = named.unwrap_or("exception");
    let text = serde_json::from_slice::<Value>(message.payload())
        .ok()
        .as_ref()
        .and_then(message_of);
    let kind = exception_kind(name).unwrap_or(ErrorKind::Server);
    let error = match text {
        Some(text) => Error::new(kind, format!("{name}: {text}")),
        None => Error::new(kind, name.to_owned()),
    };
    error.with_provider_detail(None, named)
}

#[cfg(test)]
mod tests {
    use aws_smithy_types::event_stream::{Header, HeaderValue};

    use super::*;
    use crate::reasoning::{Dialect, ReasoningPart};

    fn msg(kind: &str, name: &str, payload: &str) -> Message {
        let (type_header, message_type) = match kind {
            "exception" => (":exception-type", "exception"),
            _ => (":event-type", "event"),
        };
        Message::new(payload.as_bytes().to_vec())
            .add_header(Header::new(
                ":message-type",
                HeaderValue::String(message_type.to_owned().into()),
            ))
            .add_header(Header::new(
                type_header,
                HeaderValue::String(name.to_owned().into()),
            ))
    }

    fn run(messages: &[Message]) -> (Vec<String>, Result<Completion, Error>) {
        let (forwarded, result) = run_all(messages);
        let text = forwarded
            .into_iter()
            .map(|d| d.text)
            .filter(|t| !t.is_empty())
            .collect();
        (text, result)
    }

    /// Every non-empty delta forwarded, and the completion.
    fn run_all(messages: &[Message]) -> (Vec<Deltas>, Result<Completion, Error>) {
        let mut parser = BedrockStream::default();
        let mut forwarded = Vec::new();
        for m in messages {
            let mut out = Deltas::default();
            if let Err(e) = parser.message(m, &mut out) {
                return (forwarded, Err(e));
            }
            if !out.is_empty() {
                forwarded.push(out);
            }
        }
        let ended = parser.end_of_body();
        (forwarded, ended.and_then(|()| Box::new(parser).finish()))
    }

    #[test]
    fn text_deltas_stop_reason_and_usage() {
        let (forwarded, c) = run(&[
            msg("event", "messageStart", r#"{"p":"abc","role":"assistant"}"#),
            msg(
                "event",
                "contentBlockDelta",
                r#"{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"hmm"}}}"#,
            ),
            msg(
                "event",
                "contentBlockDelta",
                r#"{"contentBlockIndex":1,"delta":{"text":"Hel"}}"#,
            ),
            msg(
                "event",
                "contentBlockDelta",
                r#"{"contentBlockIndex":1,"delta":{"text":"lo \u00e9"}}"#,
            ),
            msg("event", "contentBlockStop", r#"{"contentBlockIndex":1}"#),
            msg("event", "somethingNew", r#"{}"#),
            msg("event", "messageStop", r#"{"stopReason":"end_turn"}"#),
            msg(
                "event",
                "metadata",
                r#"{"usage":{"inputTokens":5,"outputTokens":3,"totalTokens":12,"cacheReadInputTokens":4},"metrics":{"latencyMs":9}}"#,
            ),
            msg("event", "contentBlockDelta", r#"{"delta":{"text":"late"}}"#),
        ]);
        assert_eq!(forwarded, ["Hel", "lo é"]);
        let c = c.expect("complete");
        assert_eq!(c.content, "Hello é");
        assert_eq!(c.reasoning, "hmm");
        assert_eq!(c.finish_reason.as_deref(), Some("end_turn"));
        assert_eq!(c.usage.input_tokens, Some(9));
        assert_eq!(c.usage.total_tokens, Some(12));
        assert_eq!(c.usage.cached_input_tokens, Some(4));
    }

    #[test]
    fn exceptions_map_to_kinds() {
        for (name, kind) in [
            ("throttlingException", ErrorKind::RateLimited),
            ("serviceUnavailableException", ErrorKind::Overloaded),
            ("modelStreamErrorException", ErrorKind::Server),
            ("validationException", ErrorKind::InvalidRequest),
            ("internalServerException", ErrorKind::Server),
            ("modelTimeoutException", ErrorKind::Timeout),
            ("brandNewException", ErrorKind::Server),
        ] {
            let (_, result) = run(&[
                msg("event", "contentBlockDelta", r#"{"delta":{"text":"a"}}"#),
                msg("exception", name, r#"{"message":"Too much."}"#),
            ]);
            let e = result.expect_err(name);
            assert_eq!(
                (e.kind, e.message),
                (kind, format!("{name}: Too much.")),
                "{name}"
            );
        }
    }

    #[test]
    fn cut_streams_and_bad_payloads() {
        let (_, result) = run(&[msg(
            "event",
            "contentBlockDelta",
            r#"{"delta":{"text":"a"}}"#,
        )]);
        assert_eq!(result.expect_err("cut").kind, ErrorKind::Network);
        // Complete without metadata once messageStop arrived.
        let (_, result) = run(&[msg("event", "messageStop", r#"{"stopReason":"end_turn"}"#)]);
        assert!(result.expect("complete").usage.input_tokens.is_none());
        let (_, result) = run(&[msg("event", "contentBlockDelta", "{not json")]);
        assert_eq!(result.expect_err("json").kind, ErrorKind::BadResponse);
    }

    fn tool_events() -> Vec<Message> {
        vec![
            msg("event", "messageStart", r#"{"p":"abc","role":"assistant"}"#),
            msg(
                "event",
                "contentBlockDelta",
                r#"{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"Need the weather."}}}"#,
            ),
            msg(
                "event",
                "contentBlockDelta",
                r#"{"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":"c2ln"}}}"#,
            ),
            msg("event", "contentBlockStop", r#"{"contentBlockIndex":0}"#),
            msg(
                "event",
                "contentBlockDelta",
                r#"{"contentBlockIndex":1,"delta":{"text":"Checking."}}"#,
            ),
            msg(
                "event",
                "contentBlockStart",
                r#"{"contentBlockIndex":2,"start":{"toolUse":{"name":"get_weather","toolUseId":"tooluse_a"}}}"#,
            ),
            msg(
                "event",
                "contentBlockDelta",
                r#"{"contentBlockIndex":2,"delta":{"toolUse":{"input":"{\"city\": "}}}"#,
            ),
            msg(
                "event",
                "contentBlockStart",
                r#"{"contentBlockIndex":3,"start":{"toolUse":{"name":"get_time","toolUseId":"tooluse_b"}}}"#,
            ),
            msg(
                "event",
                "contentBlockDelta",
                r#"{"contentBlockIndex":2,"delta":{"toolUse":{"input":"\"Paris\"}"}}}"#,
            ),
            msg("event", "contentBlockStop", r#"{"contentBlockIndex":2}"#),
            msg("event", "contentBlockStop", r#"{"contentBlockIndex":3}"#),
        ]
    }

    fn stop() -> Message {
        msg("event", "messageStop", r#"{"stopReason":"tool_use"}"#)
    }

    fn metadata() -> Message {
        msg(
            "event",
            "metadata",
            r#"{"usage":{"inputTokens":5,"outputTokens":3,"totalTokens":8}}"#,
        )
    }

    #[test]
    fn tool_use_blocks_assemble_and_reasoning_stays_apart_in_either_end_order() {
        for tail in [[stop(), metadata()], [metadata(), stop()]] {
            let mut events = tool_events();
            events.extend(tail);
            events.push(msg(
                "event",
                "contentBlockDelta",
                r#"{"delta":{"text":"late"}}"#,
            ));
            let (forwarded, c) = run_all(&events);
            let starts: Vec<_> = forwarded
                .iter()
                .flat_map(|d| d.tool_calls.clone())
                .collect();
            assert_eq!(
                starts
                    .iter()
                    .map(|s| (s.id.as_str(), s.name.as_str()))
                    .collect::<Vec<_>>(),
                [("tooluse_a", "get_weather"), ("tooluse_b", "get_time")]
            );
            let reasoning: String = forwarded.iter().map(|d| d.reasoning.as_str()).collect();
            assert_eq!(reasoning, "Need the weather.");
            let c = c.expect("complete");
            assert_eq!(c.content, "Checking.");
            assert_eq!(c.reasoning, "Need the weather.");
            assert_eq!(
                c.reasoning_parts,
                [ReasoningPart::signed(
                    Dialect::Bedrock,
                    "Need the weather.",
                    Some("c2ln")
                )]
            );
            assert_eq!(c.finish_reason.as_deref(), Some("tool_use"));
            assert_eq!(c.finish(), crate::response::Finish::ToolCalls);
            assert_eq!(c.usage.input_tokens, Some(5));
            assert_eq!(c.tool_calls.len(), 2);
            assert_eq!(
                (c.tool_calls[0].id.as_str(), c.tool_calls[0].name.as_str()),
                ("tooluse_a", "get_weather")
            );
            assert_eq!(
                serde_json::Value::Object(c.tool_calls[0].arguments.clone()),
                serde_json::json!({"city": "Paris"})
            );
            assert!(c.tool_calls[1].arguments.is_empty());
        }
    }

    #[test]
    fn redacted_reasoning_is_kept_and_input_before_its_start_is_announced() {
        let (forwarded, c) = run_all(&[
            msg(
                "event",
                "contentBlockDelta",
                r#"{"contentBlockIndex":0,"delta":{"reasoningContent":{"redactedContent":"ZW5j"}}}"#,
            ),
            msg(
                "event",
                "contentBlockDelta",
                r#"{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"city\": \"Oslo\"}"}}}"#,
            ),
            msg(
                "event",
                "contentBlockStart",
                r#"{"contentBlockIndex":1,"start":{"toolUse":{"name":"get_weather","toolUseId":"tooluse_late"}}}"#,
            ),
            stop(),
            metadata(),
        ]);
        let starts: Vec<String> = forwarded
            .iter()
            .flat_map(|d| d.tool_calls.iter().map(|s| s.id.clone()))
            .collect();
        assert_eq!(starts, ["tooluse_late"]);
        let c = c.expect("complete");
        assert_eq!(
            c.reasoning_parts,
            [ReasoningPart::redacted(Dialect::Bedrock, "ZW5j")]
        );
        assert_eq!(c.tool_calls[0].arguments["city"], "Oslo");
    }

    fn reasoning_piece(index: u64, piece: &str) -> Message {
        msg(
            "event",
            "contentBlockDelta",
            &format!(r#"{{"contentBlockIndex":{index},"delta":{{"reasoningContent":{piece}}}}}"#),
        )
    }

    #[test]
    fn reasoning_pieces_join_their_own_block_and_a_block_never_mixes_kinds() {
        let (_, c) = run_all(&[
            reasoning_piece(0, r#"{"redactedContent":"ZW"}"#),
            reasoning_piece(1, r#"{"text":"Hm."}"#),
            reasoning_piece(0, r#"{"redactedContent":"5j"}"#),
            reasoning_piece(1, r#"{"signature":"c2ln"}"#),
            stop(),
            metadata(),
        ]);
        assert_eq!(
            c.expect("complete").reasoning_parts,
            [
                ReasoningPart::redacted(Dialect::Bedrock, "ZW5j"),
                ReasoningPart::signed(Dialect::Bedrock, "Hm.", Some("c2ln")),
            ]
        );
        for mixed in [
            [
                reasoning_piece(0, r#"{"redactedContent":"ZW5j"}"#),
                reasoning_piece(0, r#"{"text":"Hm."}"#),
            ],
            [
                reasoning_piece(0, r#"{"text":"Hm."}"#),
                reasoning_piece(0, r#"{"redactedContent":"ZW5j"}"#),
            ],
        ] {
            let e = run_all(&mixed).1.expect_err("mixed");
            assert_eq!(e.kind, ErrorKind::BadResponse);
            assert!(e.message.contains("mixes"), "{}", e.message);
        }
        let (_, c) = run_all(&[
            reasoning_piece(0, r#"{"redactedContent":""}"#),
            stop(),
            metadata(),
        ]);
        let e = c.expect_err("no data");
        assert_eq!((e.kind, e.is_retryable()), (ErrorKind::BadResponse, false));
    }

    #[test]
    fn metadata_first_waits_for_the_stop_reason_and_either_end_alone_completes() {
        let mut parser = BedrockStream::default();
        let mut out = Deltas::default();
        parser.message(&metadata(), &mut out).expect("metadata");
        assert!(!parser.is_done());
        parser.message(&stop(), &mut out).expect("stop");
        assert!(parser.is_done());
        let (_, c) = run_all(&[metadata()]);
        let c = c.expect("complete without messageStop");
        assert_eq!((c.finish_reason, c.usage.output_tokens), (None, Some(3)));
    }

    #[test]
    fn bad_tool_input_is_a_bad_response_naming_the_tool() {
        let (_, c) = run_all(&[
            msg(
                "event",
                "contentBlockStart",
                r#"{"contentBlockIndex":0,"start":{"toolUse":{"name":"add","toolUseId":"t"}}}"#,
            ),
            msg(
                "event",
                "contentBlockDelta",
                r#"{"contentBlockIndex":0,"delta":{"toolUse":{"input":"[1, 2]"}}}"#,
            ),
            stop(),
        ]);
        let e = c.expect_err("not an object");
        assert_eq!(e.kind, ErrorKind::BadResponse);
        assert!(e.message.contains("\"add\""), "{}", e.message);
    }
}
