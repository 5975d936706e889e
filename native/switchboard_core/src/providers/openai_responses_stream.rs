//! OpenAI Responses API streams: named events whose JSON `type` says what
//! they are, from `response.created` to one terminal event.
//!
//! Answer text is `response.output_text.delta` (and `response.refusal.delta`:
//! a refusal is the answer's text, with finish reason `"refusal"`).
//! Reasoning is `response.reasoning_summary_text.delta` (and
//! `response.reasoning_text.delta` from compatible servers), parts a blank
//! line apart as in a whole answer. A function call starts with
//! `response.output_item.added` (announced then), its arguments arrive as
//! `response.function_call_arguments.delta` pieces keyed by `output_index`,
//! and `.done` events carry the final text. The stream ends with
//! `response.completed` (usage, model, status), `response.incomplete` (its
//! reason is the finish reason), `response.failed` or an `error` event
//! (errors of the kind their code says). The finished response object of
//! the terminal event is read like a whole answer: what the deltas did not
//! carry is taken from it, and an output item it cannot read fails the
//! stream. Every other event type — item and part lifecycle, types added
//! later — and every field not read here is ignored, and none of
//! `sequence_number`, `item_id` or the usage details is required.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use super::openai_responses::{
    check_item_kind, outcome, read_output, refusal_reason, response_error, ItemWire, Lenient,
    Loose, ResponseWire,
};
use super::stream::{parse_data, payload, short, unreadable, StreamParser};
use super::Completion;
use crate::error::{Error, ErrorKind};
use crate::framing::Frame;
use crate::response::Usage;
use crate::tools::{made_up_id, ToolCall, ToolCallAssembly};
use crate::wire::{Deltas, REASONING_SEPARATOR};

const TEXT_DELTA: &str = "response.output_text.delta";
const REFUSAL_DELTA: &str = "response.refusal.delta";
const ITEM_ADDED: &str = "response.output_item.added";
const ITEM_DONE: &str = "response.output_item.done";
const ARGUMENTS_DELTA: &str = "response.function_call_arguments.delta";
const ARGUMENTS_DONE: &str = "response.function_call_arguments.done";
const SUMMARY_DELTA: &str = "response.reasoning_summary_text.delta";
const REASONING_TEXT_DELTA: &str = "response.reasoning_text.delta";

/// The event types whose payload is read before the terminal one.
fn is_read(kind: &str) -> bool {
    matches!(
        kind,
        TEXT_DELTA
            | REFUSAL_DELTA
            | ITEM_ADDED
            | ITEM_DONE
            | ARGUMENTS_DELTA
            | ARGUMENTS_DONE
            | SUMMARY_DELTA
            | REASONING_TEXT_DELTA
    )
}

/// The fields events are read for. Typed, with the rest skipped rather
/// than built into maps: this runs once per token. Every field accepts any
/// value: event types we do not read may give them another shape, and
/// they must not fail the stream.
#[derive(Deserialize)]
struct EventWire<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Option<Lenient<'a>>,
    #[serde(default, borrow)]
    delta: Option<Lenient<'a>>,
    #[serde(default)]
    output_index: Option<Value>,
    #[serde(default)]
    summary_index: Option<Value>,
    #[serde(default)]
    content_index: Option<Value>,
    /// `function_call_arguments.done`: the whole arguments text.
    #[serde(default, borrow)]
    arguments: Option<Lenient<'a>>,
    #[serde(default, borrow)]
    item: Option<Loose<ItemWire<'a>>>,
}

/// A terminal event: the finished response object.
#[derive(Deserialize)]
struct TerminalWire<'a> {
    #[serde(default, borrow)]
    response: Option<Loose<ResponseWire<'a>>>,
}

fn parse_event<'a, T: Deserialize<'a>>(data: &'a str) -> Result<T, Error> {
    // serde would also read a JSON array as a struct's fields in order.
    let parsed = match data.starts_with('{') {
        true => serde_json::from_str(data).map_err(|e| e.to_string()),
        false => Err("not a JSON object".to_owned()),
    };
    parsed.map_err(|e| {
        Error::bad_response(format!(
            "an event of the provider's stream is not a Responses API event: {e}"
        ))
    })
}

/// The response object of a terminal event; an empty one if it has none.
fn terminal(data: &str) -> Result<ResponseWire<'_>, Error> {
    let wire: TerminalWire<'_> = parse_event(data)?;
    Ok(wire.response.and_then(|r| r.0).unwrap_or_default())
}

/// Keys of function calls without an `output_index` (some compatible
/// servers): above any real index.
const UNINDEXED: u64 = 1 << 48;

#[derive(Debug, Default)]
pub(crate) struct ResponsesStream {
    text: String,
    reasoning: String,
    /// Where the last reasoning delta belonged (item, part, kind): a new
    /// part starts after a blank line.
    reasoning_at: Option<(Option<u64>, Option<u64>, bool)>,
    calls: ToolCallAssembly,
    /// Calls started so far, for made-up ids and keys.
    started: usize,
    /// The key of the last call started, for argument pieces that carry
    /// no `output_index`.
    last_key: Option<u64>,
    /// Calls taken whole from the terminal object (no call events came).
    final_calls: Vec<ToolCall>,
    refused: bool,
    model: Option<String>,
    finish_reason: Option<String>,
    usage: Usage,
    done: bool,
}

fn index(v: &Option<Value>) -> Option<u64> {
    v.as_ref().and_then(Value::as_u64)
}

impl StreamParser for ResponsesStream {
    fn frame(&mut self, frame: &Frame, out: &mut Deltas) -> Result<(), Error> {
        let event = frame.sse()?;
        let Some(data) = payload(self.done, event) else {
            return Ok(());
        };
        // OpenAI names every event after its `type`, so a name of the API's
        // own says what an event is without reading it: the events nobody
        // reads — in-progress response objects, part lifecycle, `.done`
        // echoes of the text, most of a stream's bytes — are never parsed.
        // Without such a name (none, or a proxy's `message`) the payload's
        // `type` decides.
        let named = event
            .event
            .as_deref()
            .filter(|n| n.starts_with("response.") || *n == "error");
        let (kind, wire) = match named {
            Some(name) if !is_read(name) => (Some(Cow::Borrowed(name)), None),
            _ => {
                let mut wire: EventWire<'_> =
                    parse_event(data).map_err(|e| unreadable(event, data, e))?;
                let kind = match named {
                    Some(name) => Some(Cow::Borrowed(name)),
                    None => wire.kind.take().and_then(|k| k.0),
                };
                (kind, Some(wire))
            }
        };
        match (kind.as_deref().or(event.event.as_deref()), wire) {
            (Some(TEXT_DELTA), Some(wire)) => self.push_text(wire.delta, out),
            (Some(REFUSAL_DELTA), Some(wire)) => {
                self.refused = true;
                self.push_text(wire.delta, out);
            }
            (Some(kind @ (ITEM_ADDED | ITEM_DONE)), Some(wire)) => {
                self.item(kind == ITEM_DONE, &wire, out)?
            }
            (Some(ARGUMENTS_DELTA), Some(wire)) => {
                if let Some(piece) = wire.delta.as_ref().and_then(|d| d.0.as_deref()) {
                    let key = self.call_key(&wire);
                    self.calls.push_arguments(key, piece)?;
                }
            }
            (Some(ARGUMENTS_DONE), Some(wire)) => {
                if let Some(text) = wire.arguments.as_ref().and_then(|a| a.0.as_deref()) {
                    let key = self.call_key(&wire);
                    self.calls.push_arguments(key, "")?;
                    self.calls.set_arguments(key, text);
                }
            }
            (Some(kind @ (SUMMARY_DELTA | REASONING_TEXT_DELTA)), Some(wire)) => {
                let part = match kind {
                    SUMMARY_DELTA => index(&wire.summary_index),
                    _ => index(&wire.content_index),
                };
                let at = (index(&wire.output_index), part, kind == SUMMARY_DELTA);
                self.push_reasoning(at, wire.delta, out);
            }
            (Some("response.completed"), _) => self.end(&terminal(data)?, "completed", out)?,
            (Some("response.incomplete"), _) => self.end(&terminal(data)?, "incomplete", out)?,
            (Some("response.failed"), _) => {
                return Err(match outcome(&terminal(data)?, "failed") {
                    Err(e) => e,
                    // A `failed` event whose object claims otherwise.
                    Ok(_) => Error::new(ErrorKind::Server, "the response failed"),
                });
            }
            (Some("error"), _) => {
                let v = parse_data(data).map_err(|e| unreadable(event, data, e))?;
                return Err(error_event(&v));
            }
            _ => {}
        }
        Ok(())
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn finish(self: Box<Self>) -> Result<Completion, Error> {
        let tool_calls = match self.final_calls.is_empty() {
            true => self.calls.finish()?,
            false => self.final_calls,
        };
        Ok(Completion {
            content: self.text,
            reasoning: self.reasoning,
            tool_calls,
            model: self.model,
            finish_reason: refusal_reason(self.finish_reason, self.refused),
            usage: self.usage,
            reasoning_parts: Vec::new(),
            parsed: None,
            raw: None,
        })
    }
}

impl ResponsesStream {
    fn push_text(&mut self, delta: Option<Lenient<'_>>, out: &mut Deltas) {
        if let Some(text) = delta.and_then(|d| d.0).filter(|t| !t.is_empty()) {
            self.text.push_str(&text);
            out.push_text(&text);
        }
    }

    fn push_reasoning(
        &mut self,
        at: (Option<u64>, Option<u64>, bool),
        delta: Option<Lenient<'_>>,
        out: &mut Deltas,
    ) {
        let Some(text) = delta.and_then(|d| d.0).filter(|t| !t.is_empty()) else {
            return;
        };
        if self.reasoning_at.is_some_and(|last| last != at) && !self.reasoning.is_empty() {
            self.reasoning.push_str(REASONING_SEPARATOR);
            out.push_reasoning(REASONING_SEPARATOR);
        }
        self.reasoning_at = Some(at);
        self.reasoning.push_str(&text);
        out.push_reasoning(&text);
    }

    /// The call an arguments event belongs to: its `output_index`, else
    /// the last call started.
    fn call_key(&self, wire: &EventWire<'_>) -> u64 {
        index(&wire.output_index)
            .or(self.last_key)
            .unwrap_or(UNINDEXED)
    }

    /// An output item added or done: a function call starts (announced
    /// once); `done` carries its final arguments. Other item types are
    /// checked, so one this version cannot read fails the stream.
    fn item(&mut self, done: bool, wire: &EventWire<'_>, out: &mut Deltas) -> Result<(), Error> {
        let Some(item) = wire.item.as_ref().and_then(|i| i.0.as_ref()) else {
            return Ok(());
        };
        match item.kind() {
            Some("function_call") => {}
            Some(kind) => return check_item_kind(kind),
            None => {
                return Err(Error::bad_response(
                    "an output item of the stream has no type",
                ))
            }
        }
        let key = index(&wire.output_index).unwrap_or(UNINDEXED + self.started as u64);
        let field = |f: &Option<Lenient<'_>>| {
            f.as_ref()
                .and_then(|l| l.0.as_deref())
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let id = field(&item.call_id)
            .or_else(|| field(&item.id))
            .unwrap_or_else(|| made_up_id(self.started));
        let name = field(&item.name).unwrap_or_default();
        if self.calls.start(key, &id, &name) {
            self.started += 1;
            out.push_tool_call(&id, &name);
        }
        self.last_key = Some(key);
        if done {
            if let Some(text) = item.arguments.as_ref().and_then(|a| a.0.as_deref()) {
                self.calls.set_arguments(key, text);
            }
        }
        Ok(())
    }

    /// A terminal event with the finished response object, read as a
    /// whole answer: a server that sent no deltas still has the answer in
    /// it, and an item in it that cannot be read fails the stream.
    fn end(
        &mut self,
        response: &ResponseWire<'_>,
        status: &str,
        out: &mut Deltas,
    ) -> Result<(), Error> {
        let (finish_reason, usage, model) = outcome(response, status)?;
        if let Some(items) = &response.output {
            let output = read_output(items)?;
            if self.text.is_empty() && !output.text.is_empty() {
                out.push_text(&output.text);
                self.text = output.text;
            }
            if self.reasoning.is_empty() && !output.reasoning.is_empty() {
                out.push_reasoning(&output.reasoning);
                self.reasoning = output.reasoning;
            }
            if self.calls.is_empty() {
                for call in &output.tool_calls {
                    out.push_tool_call(&call.id, &call.name);
                }
                self.final_calls = output.tool_calls;
            }
            self.refused |= output.refused;
        }
        self.finish_reason = finish_reason;
        self.usage = usage;
        self.model = model;
        self.done = true;
        Ok(())
    }
}

/// An `error` event, in either shape servers send: flat
/// (`{"type": "error", "code", "message"}`, OpenAI's documented one) or
/// nested (`{"type": "error", "error": {"type", "code", "message"}}`).
fn error_event(v: &Value) -> Error {
    match v.get("error") {
        Some(nested @ Value::Object(_)) => response_error(nested),
        Some(Value::String(message)) => Error::new(ErrorKind::Server, short(message)),
        _ => {
            // The flat shape's `type` is the event's own ("error").
            let e = response_error(v);
            let code = e.provider_code().map(str::to_owned);
            e.with_provider_detail(code.as_deref(), None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::sse::SseEvent;
    use serde_json::json;

    fn ev(name: Option<&str>, data: &str) -> Frame {
        Frame::Sse(SseEvent {
            event: name.map(str::to_owned),
            data: data.to_owned(),
            id: None,
        })
    }

    /// Feeds `events` named by their JSON type, as OpenAI sends them.
    fn run(events: &[&str]) -> (Vec<String>, Result<Box<ResponsesStream>, Error>) {
        run_as(events, true)
    }

    /// Feeds `events`, named by their JSON type or not named at all.
    fn run_as(events: &[&str], named: bool) -> (Vec<String>, Result<Box<ResponsesStream>, Error>) {
        let mut parser = Box::<ResponsesStream>::default();
        let mut forwarded = Vec::new();
        for data in events {
            let name = serde_json::from_str::<Value>(data)
                .ok()
                .filter(|_| named)
                .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_owned));
            let mut out = Deltas::default();
            if let Err(e) = parser.frame(&ev(name.as_deref(), data), &mut out) {
                return (forwarded, Err(e));
            }
            if !out.text.is_empty() {
                forwarded.push(out.text);
            }
        }
        (forwarded, Ok(parser))
    }

    const CREATED: &str = r#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","status":"in_progress","model":"gpt-5","output":[],"usage":null,"tools":[{"type":"function","name":"f","parameters":{"type":"object"}}]}}"#;
    const REASONING: &str = r#"{"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"rs_1","type":"reasoning","summary":[]}}"#;
    const SUMMARY_DELTA: &str = r#"{"type":"response.reasoning_summary_text.delta","item_id":"rs_1","output_index":0,"summary_index":0,"delta":"thinking"}"#;

    fn delta(text: &str) -> String {
        format!(
            r#"{{"type":"response.output_text.delta","sequence_number":6,"item_id":"msg_1","output_index":1,"content_index":0,"delta":{},"logprobs":[],"obfuscation":"x"}}"#,
            Value::String(text.to_owned())
        )
    }

    #[test]
    fn deltas_then_completed() {
        // Unnamed, every event is read for its type.
        for named in [true, false] {
            deltas_then_completed_as(named);
        }
    }

    fn deltas_then_completed_as(named: bool) {
        let (d1, d2) = (delta("Hel"), delta("lo \"x\"\n"));
        let (forwarded, parser) = run_as(
            &[
                CREATED,
                REASONING,
                SUMMARY_DELTA,
                r#"{"type":"response.mcp_call_arguments.delta","delta":{"a":1}}"#,
                r#"{"type":"response.some_future_event","delta":[1,2],"whatever":{}}"#,
                &d1,
                &d2,
                // Optional fields left out, as some servers do.
                r#"{"type":"response.output_text.delta","delta":"!"}"#,
                r#"{"type":"response.output_text.done","text":"Hello \"x\"\n!"}"#,
                r#"{"type":"response.completed","sequence_number":9,"response":{"status":"completed","model":"gpt-5-2025-08-07","output":[{"type":"message","content":[{"type":"output_text","text":"ignored"}]}],"usage":{"input_tokens":27,"input_tokens_details":{"cached_tokens":3},"output_tokens":147,"output_tokens_details":{"reasoning_tokens":128},"total_tokens":174}}}"#,
                &delta("late"),
            ],
            named,
        );
        let parser = parser.expect("stream");
        assert!(parser.is_done());
        assert_eq!(forwarded, vec!["Hel", "lo \"x\"\n", "!"]);
        let c = parser.finish().unwrap();
        assert_eq!(c.content, "Hello \"x\"\n!");
        assert_eq!(c.reasoning, "thinking");
        assert!(c.tool_calls.is_empty());
        assert_eq!(c.finish_reason.as_deref(), Some("stop"));
        assert_eq!(c.model.as_deref(), Some("gpt-5-2025-08-07"));
        assert_eq!(
            c.usage,
            Usage {
                input_tokens: Some(27),
                output_tokens: Some(147),
                total_tokens: Some(174),
                cached_input_tokens: Some(3),
                cache_creation_input_tokens: None,
                reasoning_tokens: Some(128),
            }
        );
    }

    #[test]
    fn usage_details_are_optional() {
        let (_, parser) = run(&[
            &delta("a"),
            r#"{"type":"response.completed","response":{"status":"completed","usage":{"input_tokens":2,"output_tokens":3}}}"#,
        ]);
        let c = parser.expect("stream").finish().unwrap();
        assert_eq!(c.usage.total_tokens, Some(5));
        assert_eq!(c.usage.cached_input_tokens, None);
        assert_eq!(c.model, None);
    }

    #[test]
    fn incomplete_ends_with_its_reason() {
        let (forwarded, parser) = run(&[
            &delta("Once upon"),
            r#"{"type":"response.incomplete","response":{"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"usage":{"input_tokens":15,"output_tokens":64,"total_tokens":79}}}"#,
        ]);
        let parser = parser.expect("stream");
        assert!(parser.is_done());
        assert_eq!(forwarded, vec!["Once upon"]);
        let c = parser.finish().unwrap();
        assert_eq!(c.finish_reason.as_deref(), Some("max_output_tokens"));
        assert_eq!(c.usage.output_tokens, Some(64));
        let (_, parser) = run(&[r#"{"type":"response.incomplete"}"#]);
        assert_eq!(
            parser
                .expect("stream")
                .finish()
                .unwrap()
                .finish_reason
                .as_deref(),
            Some("incomplete")
        );
    }

    #[test]
    fn a_stream_without_deltas_takes_the_text_of_the_final_object() {
        let (forwarded, parser) = run(&[
            r#"{"type":"response.completed","response":{"status":"completed","output":[{"type":"reasoning"},{"type":"message","content":[{"type":"output_text","text":"all"},{"type":"output_text","text":" at once"}]}]}}"#,
        ]);
        assert_eq!(forwarded, vec!["all at once"]);
        assert_eq!(
            parser.expect("stream").finish().unwrap().content,
            "all at once"
        );
    }

    #[test]
    fn failed_and_error_events_map_to_kinds() {
        let cases = [
            // OpenAI's documented flat error event.
            (
                r#"{"type":"error","code":"rate_limit_exceeded","message":"slow down","param":null,"sequence_number":3}"#,
                ErrorKind::RateLimited,
                "slow down",
            ),
            (
                r#"{"type":"error","code":"server_error","message":"boom"}"#,
                ErrorKind::Server,
                "boom",
            ),
            (
                r#"{"type":"error","code":null,"message":"?"}"#,
                ErrorKind::Server,
                "?",
            ),
            // The nested shape other servers (and OpenAI at times) send.
            (
                r#"{"type":"error","error":{"type":"invalid_request_error","code":"context_length_exceeded","message":"too long","param":"input"},"sequence_number":2}"#,
                ErrorKind::InvalidRequest,
                "too long",
            ),
            (
                r#"{"type":"error","error":{"type":"server_error","code":null,"message":"oops"}}"#,
                ErrorKind::Server,
                "oops",
            ),
            (
                r#"{"type":"error","error":{"type":"rate_limit_error","message":"later"}}"#,
                ErrorKind::RateLimited,
                "later",
            ),
            (
                r#"{"type":"error","error":"plain words"}"#,
                ErrorKind::Server,
                "plain words",
            ),
            (
                r#"{"type":"response.failed","response":{"status":"failed","error":{"code":"invalid_prompt","message":"no"},"output":[],"usage":null}}"#,
                ErrorKind::InvalidRequest,
                "no",
            ),
            (
                r#"{"type":"response.failed","response":{"status":"failed","error":{"code":"rate_limit_exceeded","message":"rl"}}}"#,
                ErrorKind::RateLimited,
                "rl",
            ),
            (
                r#"{"type":"response.failed","response":{"status":"failed","error":null}}"#,
                ErrorKind::Server,
                "the response failed without saying why",
            ),
        ];
        for (data, kind, message) in cases {
            for named in [true, false] {
                let (forwarded, result) = run_as(&[&delta("partial"), data], named);
                assert_eq!(forwarded, vec!["partial"]);
                let e = result.expect_err(data);
                assert_eq!((e.kind, e.message.as_str()), (kind, message), "{data}");
            }
        }
    }

    #[test]
    fn unreadable_events() {
        let mut parser = ResponsesStream::default();
        let mut out = Deltas::default();
        for data in [
            "not json",
            "[\"response.output_text.delta\",\"x\"]",
            "{\"type\":",
        ] {
            let e = parser
                .frame(&ev(Some(TEXT_DELTA), data), &mut out)
                .expect_err(data);
            assert_eq!(e.kind, ErrorKind::BadResponse, "{data}");
        }
        // Plain text named `error` is the server's own failure.
        let e = parser
            .frame(&ev(Some("error"), "upstream connect error"), &mut out)
            .expect_err("error");
        assert_eq!(
            (e.kind, e.message.as_str()),
            (ErrorKind::Server, "upstream connect error")
        );
        assert!(out.is_empty());
    }

    #[test]
    fn the_event_name_stands_in_for_a_missing_type() {
        let mut parser = Box::<ResponsesStream>::default();
        let mut out = Deltas::default();
        parser
            .frame(&ev(Some(TEXT_DELTA), r#"{"delta":"a"}"#), &mut out)
            .expect("delta");
        parser
            .frame(&ev(Some("ping"), ""), &mut out)
            .expect("empty data");
        // A name that is not the API's own leaves it to the payload.
        parser
            .frame(
                &ev(
                    Some("message"),
                    r#"{"type":"response.output_text.delta","delta":"b"}"#,
                ),
                &mut out,
            )
            .expect("delta named message");
        // Events named after a type nobody reads are not even parsed.
        parser
            .frame(&ev(Some("response.in_progress"), "{not json"), &mut out)
            .expect("ignored");
        parser
            .frame(
                &ev(Some("response.completed"), r#"{"response":{}}"#),
                &mut out,
            )
            .expect("completed");
        assert!(parser.is_done());
        assert_eq!(out.text, "ab");
    }

    /// Feeds `events` (named or not); everything forwarded, summed.
    fn run_all(events: &[&str], named: bool) -> (Deltas, Result<Completion, Error>) {
        let mut parser = Box::<ResponsesStream>::default();
        let mut total = Deltas::default();
        for data in events {
            let name = serde_json::from_str::<Value>(data)
                .ok()
                .filter(|_| named)
                .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_owned));
            let mut out = Deltas::default();
            let result = parser.frame(&ev(name.as_deref(), data), &mut out);
            total.push_text(&out.text);
            total.push_reasoning(&out.reasoning);
            total.tool_calls.append(&mut out.tool_calls);
            if let Err(e) = result {
                return (total, Err(e));
            }
        }
        assert!(parser.is_done());
        (total, parser.finish())
    }

    const COMPLETED: &str =
        r#"{"type":"response.completed","response":{"status":"completed","output":[]}}"#;

    fn call_added(index: u32, call_id: &str, name: &str) -> String {
        format!(
            r#"{{"type":"response.output_item.added","output_index":{index},"item":{{"id":"fc_{index}","type":"function_call","status":"in_progress","arguments":"","call_id":"{call_id}","name":"{name}"}}}}"#
        )
    }

    fn args_delta(index: u32, piece: &str) -> String {
        format!(
            r#"{{"type":"response.function_call_arguments.delta","item_id":"fc_{index}","output_index":{index},"delta":{}}}"#,
            Value::String(piece.into())
        )
    }

    #[test]
    fn function_calls_assemble_by_output_index() {
        for named in [true, false] {
            let events = [
                REASONING.to_owned(),
                call_added(1, "call_A", "get_weather"),
                call_added(2, "call_B", "get_time"),
                args_delta(1, "{\"location\":"),
                args_delta(2, "{"),
                args_delta(1, "\"Paris\"}"),
                r#"{"type":"response.function_call_arguments.done","output_index":1,"arguments":"{\"location\":\"Paris\"}"}"#.to_owned(),
                r#"{"type":"response.function_call_arguments.done","output_index":2,"arguments":"{}"}"#.to_owned(),
                r#"{"type":"response.output_item.done","output_index":2,"item":{"id":"fc_2","type":"function_call","arguments":"{}","call_id":"call_B","name":"get_time"}}"#.to_owned(),
                // The final object repeats the calls: not read twice.
                r#"{"type":"response.completed","response":{"status":"completed","output":[{"type":"function_call","call_id":"call_A","name":"get_weather","arguments":"{\"location\":\"Paris\"}"},{"type":"function_call","call_id":"call_B","name":"get_time","arguments":"{}"}]}}"#.to_owned(),
            ];
            let events: Vec<&str> = events.iter().map(String::as_str).collect();
            let (out, c) = run_all(&events, named);
            let c = c.expect("completion");
            let started: Vec<(&str, &str)> = out
                .tool_calls
                .iter()
                .map(|t| (t.id.as_str(), t.name.as_str()))
                .collect();
            assert_eq!(
                started,
                vec![("call_A", "get_weather"), ("call_B", "get_time")]
            );
            let calls: Vec<(&str, &str, Value)> = c
                .tool_calls
                .iter()
                .map(|t| {
                    (
                        t.id.as_str(),
                        t.name.as_str(),
                        Value::Object(t.arguments.clone()),
                    )
                })
                .collect();
            assert_eq!(
                calls,
                vec![
                    ("call_A", "get_weather", json!({"location": "Paris"})),
                    ("call_B", "get_time", json!({})),
                ]
            );
            assert_eq!(c.finish(), crate::response::Finish::ToolCalls);
            assert_eq!(out.text, "");
        }
    }

    #[test]
    fn pieces_alone_or_the_final_object_alone_make_the_calls() {
        // No `.done`, no `output_index` on the pieces.
        let (out, c) = run_all(
            &[
                &call_added(0, "call_A", "add"),
                r#"{"type":"response.function_call_arguments.delta","delta":"{\"a\":2,"}"#,
                r#"{"type":"response.function_call_arguments.delta","delta":"\"b\":3}"}"#,
                COMPLETED,
            ],
            true,
        );
        assert_eq!(out.tool_calls.len(), 1);
        let c = c.expect("completion");
        assert_eq!(
            Value::Object(c.tool_calls[0].arguments.clone()),
            json!({"a": 2, "b": 3})
        );
        // Only the terminal object: the calls are announced from it.
        let (out, c) = run_all(
            &[
                r#"{"type":"response.completed","response":{"output":[{"type":"function_call","call_id":"c1","name":"now","arguments":""}]}}"#,
            ],
            true,
        );
        assert_eq!(out.tool_calls[0].id, "c1");
        assert_eq!(c.expect("completion").tool_calls[0].name, "now");
        // Arguments that are not a JSON object fail the stream's answer.
        let (_, c) = run_all(
            &[
                &call_added(0, "c", "add"),
                &args_delta(0, "{\"a\":"),
                COMPLETED,
            ],
            true,
        );
        let e = c.expect_err("bad arguments");
        assert_eq!(e.kind, ErrorKind::BadResponse);
        assert!(e.message.contains("\"add\""), "{}", e.message);
    }

    #[test]
    fn reasoning_summaries_stream_apart_from_the_text() {
        let summary = |item: u32, part: u32, text: &str| {
            format!(
                r#"{{"type":"response.reasoning_summary_text.delta","item_id":"rs","output_index":{item},"summary_index":{part},"delta":{}}}"#,
                Value::String(text.into())
            )
        };
        let (out, c) = run_all(
            &[
                REASONING,
                &summary(0, 0, "First"),
                &summary(0, 0, " step."),
                &summary(0, 1, "Second."),
                r#"{"type":"response.reasoning_text.delta","output_index":1,"content_index":0,"delta":"raw"}"#,
                &delta("Answer"),
                r#"{"type":"response.completed","response":{"output":[{"type":"reasoning","summary":[{"type":"summary_text","text":"First step."},{"type":"summary_text","text":"Second."}]},{"type":"message","content":[{"type":"output_text","text":"Answer"}]}]}}"#,
            ],
            true,
        );
        let c = c.expect("completion");
        assert_eq!(out.reasoning, "First step.\n\nSecond.\n\nraw");
        assert_eq!(c.reasoning, out.reasoning);
        assert_eq!(
            (out.text.as_str(), c.content.as_str()),
            ("Answer", "Answer")
        );
        // Only in the final object: taken from it, as a whole answer reads it.
        let (out, c) = run_all(
            &[
                r#"{"type":"response.completed","response":{"output":[{"type":"reasoning","summary":[{"type":"summary_text","text":"A"},{"type":"summary_text","text":"B"}]}]}}"#,
            ],
            false,
        );
        assert_eq!(out.reasoning, "A\n\nB");
        assert_eq!(c.expect("completion").reasoning, "A\n\nB");
    }

    #[test]
    fn a_streamed_refusal_is_text_with_its_own_finish_reason() {
        let (out, c) = run_all(
            &[
                r#"{"type":"response.refusal.delta","output_index":0,"content_index":0,"delta":"I can't"}"#,
                r#"{"type":"response.refusal.delta","delta":" help."}"#,
                r#"{"type":"response.refusal.done","refusal":"I can't help."}"#,
                COMPLETED,
            ],
            true,
        );
        let c = c.expect("completion");
        assert_eq!(
            (out.text.as_str(), c.content.as_str()),
            ("I can't help.", "I can't help.")
        );
        assert_eq!(c.finish_reason.as_deref(), Some("refusal"));
        assert_eq!(c.finish(), crate::response::Finish::ContentFilter);
    }

    #[test]
    fn items_it_cannot_read_fail_the_stream() {
        for events in [
            vec![
                r#"{"type":"response.output_item.added","output_index":0,"item":{"type":"image_generation_call","id":"ig"}}"#,
            ],
            vec![r#"{"type":"response.output_item.added","output_index":0,"item":{"id":"x"}}"#],
            vec![
                r#"{"type":"response.completed","response":{"output":[{"type":"computer_call"}]}}"#,
            ],
            vec![
                r#"{"type":"response.completed","response":{"output":[{"type":"message","content":[{"type":"output_audio"}]}]}}"#,
            ],
        ] {
            for named in [true, false] {
                let mut parser = Box::<ResponsesStream>::default();
                let mut out = Deltas::default();
                let e = events
                    .iter()
                    .try_for_each(|d| {
                        let name = serde_json::from_str::<Value>(d)
                            .ok()
                            .filter(|_| named)
                            .and_then(|v| v["type"].as_str().map(str::to_owned));
                        parser.frame(&ev(name.as_deref(), d), &mut out)
                    })
                    .expect_err("unreadable");
                assert_eq!(e.kind, ErrorKind::BadResponse, "{events:?}");
            }
        }
        // Server-side tools' items are records, not answers: skipped.
        let (_, c) = run_all(
            &[
                r#"{"type":"response.output_item.added","output_index":0,"item":{"type":"web_search_call","id":"ws"}}"#,
                &delta("found"),
                r#"{"type":"response.completed","response":{"output":[{"type":"web_search_call"},{"type":"message","content":[{"type":"output_text","text":"found"}]}]}}"#,
            ],
            true,
        );
        assert_eq!(c.expect("completion").content, "found");
    }

    #[test]
    fn a_stream_cut_before_its_terminal_event_is_a_network_error() {
        let (_, parser) = run(&[CREATED, &delta("a")]);
        let mut parser = parser.expect("stream");
        assert!(!parser.is_done());
        assert_eq!(
            parser.end_of_body().expect_err("cut").kind,
            ErrorKind::Network
        );
    }

    /// The recorded streams of ../shared/conformance/openai-responses,
    /// through the SSE decoder one byte at a time (the ExUnit conformance
    /// tests replay them read by read over HTTP). Expected values come from
    /// the recorded events with plain lookups, not from the parser.
    #[test]
    fn recorded_streams_byte_by_byte() {
        use base64::Engine as _;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/conformance/openai-responses/req_llm/openai/gpt_5");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            println!("skipped: {} is absent", dir.display());
            return;
        };
        let mut streamed = 0;
        for path in entries.map(|e| e.expect("entry").path()) {
            let cassette: Value =
                serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
            let Some(chunks) = cassette["chunks"].as_array() else {
                continue;
            };
            streamed += 1;
            let body: Vec<u8> = chunks
                .iter()
                .flat_map(|c| {
                    base64::engine::general_purpose::STANDARD
                        .decode(c["b64"].as_str().expect("b64"))
                        .expect("base64")
                })
                .collect();
            let events: Vec<Value> = String::from_utf8_lossy(&body)
                .lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .map(|d| serde_json::from_str(d).expect("recorded json"))
                .collect();
            let text: String = events
                .iter()
                .filter(|e| e["type"] == TEXT_DELTA)
                .map(|e| e["delta"].as_str().expect("delta"))
                .collect();
            let last = events.last().expect("events");
            assert_eq!(last["type"], "response.completed", "{}", path.display());

            let mut decoder = crate::framing::FrameDecoder::new(crate::framing::Framing::Sse);
            let mut parser = Box::<ResponsesStream>::default();
            let (mut frames, mut out) = (Vec::new(), Deltas::default());
            for byte in &body {
                decoder
                    .feed(std::slice::from_ref(byte), &mut frames)
                    .expect("feed");
                for frame in frames.drain(..) {
                    parser.frame(&frame, &mut out).expect("frame");
                }
            }
            decoder.finish(&mut frames).expect("finish");
            assert!(frames.is_empty() && parser.is_done(), "{}", path.display());
            let c = parser.finish().unwrap();
            assert_eq!(out.text, text);
            assert_eq!(c.content, text);
            assert_eq!(c.finish_reason.as_deref(), Some("stop"));
            let usage = &last["response"]["usage"];
            assert_eq!(c.usage.input_tokens, usage["input_tokens"].as_u64());
            assert_eq!(c.usage.output_tokens, usage["output_tokens"].as_u64());
            assert_eq!(c.usage.total_tokens, usage["total_tokens"].as_u64());
            assert_eq!(
                c.usage.reasoning_tokens,
                usage["output_tokens_details"]["reasoning_tokens"].as_u64()
            );
            assert_eq!(c.model.as_deref(), last["response"]["model"].as_str());
        }
        assert!(streamed >= 3, "{streamed} streamed recordings");
    }
}
