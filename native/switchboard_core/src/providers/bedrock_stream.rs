//! Bedrock ConverseStream: AWS event-stream messages whose `:event-type`
//! is `messageStart`, `contentBlockStart`, `contentBlockDelta`,
//! `contentBlockStop`, `messageStop` (the stop reason) and `metadata`
//! (usage, always last), each with a JSON payload; or `:message-type
//! exception` messages (`throttlingException`, `validationException`, ...),
//! which fail the stream with their kind.
//!
//! Only `text` deltas are the answer; reasoning and tool input are not.
//! Unknown event types are ignored, so new ones do not break old clients.

use serde::Deserialize;
use serde_json::Value;

use super::bedrock::{exception_kind, message_of, usage};
use super::stream::{parse_event, StreamParser};
use super::Completion;
use crate::error::{Error, ErrorKind};
use crate::framing::event_stream::{string_header, Message};
use crate::framing::Frame;
use crate::response::Usage;
use crate::wire::Deltas;

#[derive(Debug, Default)]
pub(crate) struct BedrockStream {
    text: String,
    finish_reason: Option<String>,
    usage: Usage,
    /// `messageStop` arrived: the answer is complete.
    stopped: bool,
    /// `metadata` arrived: nothing more is sent.
    done: bool,
}

#[derive(Deserialize)]
struct BlockDelta<'a> {
    #[serde(borrow)]
    delta: Option<DeltaBody<'a>>,
}

#[derive(Deserialize)]
struct DeltaBody<'a> {
    #[serde(borrow)]
    text: Option<std::borrow::Cow<'a, str>>,
}

impl StreamParser for BedrockStream {
    fn frame(&mut self, frame: &Frame, out: &mut Deltas) -> Result<(), Error> {
        self.message(frame.aws_event()?, out)
    }

    fn is_done(&self) -> bool {
        self.done
    }

    /// A stream that ends after `messageStop` is complete even if no
    /// `metadata` (usage) followed.
    fn end_of_body(&mut self) -> Result<(), Error> {
        if self.stopped || self.done {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::Network,
                "the stream ended before the provider finished the answer",
            ))
        }
    }

    fn finish(self: Box<Self>) -> Result<Completion, Error> {
        Ok(Completion {
            content: self.text,
            model: None,
            finish_reason: self.finish_reason,
            usage: self.usage,
            ..Completion::default()
        })
    }
}

impl BedrockStream {
    pub(crate) fn message(&mut self, message: &Message, out: &mut Deltas) -> Result<(), Error> {
        if self.done {
            return Ok(());
        }
        match string_header(message, ":message-type") {
            Some("event") => self.event(message, out),
            Some("exception") => Err(exception(message)),
            Some("error") => {
                let code = string_header(message, ":error-code").unwrap_or("error");
                let text = string_header(message, ":error-message").unwrap_or("");
                Err(Error::new(
                    exception_kind(code).unwrap_or(ErrorKind::Server),
                    super::stream::short(&format!("{code}: {text}")),
                ))
            }
            _ => Ok(()),
        }
    }

    fn event(&mut self, message: &Message, out: &mut Deltas) -> Result<(), Error> {
        let payload = message.payload();
        match string_header(message, ":event-type") {
            Some("contentBlockDelta") => {
                let delta: BlockDelta<'_> = parse_event(payload)?;
                if let Some(text) = delta.delta.and_then(|d| d.text).filter(|t| !t.is_empty()) {
                    self.text.push_str(&text);
                    out.push_text(&text);
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
                self.done = true;
            }
            _ => {}
        }
        Ok(())
    }
}

/// The error an exception message stands for.
fn exception(message: &Message) -> Error {
    let name = string_header(message, ":exception-type").unwrap_or("exception");
    let text = serde_json::from_slice::<Value>(message.payload())
        .ok()
        .as_ref()
        .and_then(message_of);
    let kind = exception_kind(name).unwrap_or(ErrorKind::Server);
    match text {
        Some(text) => Error::new(kind, format!("{name}: {text}")),
        None => Error::new(kind, name.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use aws_smithy_types::event_stream::{Header, HeaderValue};

    use super::*;

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
        let mut parser = BedrockStream::default();
        let mut forwarded = Vec::new();
        for m in messages {
            let mut out = Deltas::default();
            if let Err(e) = parser.message(m, &mut out) {
                return (forwarded, Err(e));
            }
            if !out.is_empty() {
                forwarded.push(out.text);
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
            msg(
                "event",
                "contentBlockDelta",
                r#"{"contentBlockIndex":2,"delta":{"toolUse":{"input":"{}"}}}"#,
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
}
