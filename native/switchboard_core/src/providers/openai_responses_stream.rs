//! OpenAI Responses API streams: named events whose JSON `type` says what
//! they are, from `response.created` to one terminal event.
//!
//! Only `response.output_text.delta` is answer text. The stream ends with
//! `response.completed` (usage, model, status), `response.incomplete` (its
//! reason is the finish reason), `response.failed` or an `error` event
//! (errors of the kind their code says). Every other event type — reasoning
//! and tool-call deltas, refusals, item and part lifecycle, types added
//! later — and every field not read here is ignored, and none of
//! `sequence_number`, `item_id` or the usage details is required.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use super::openai_responses::{
    outcome, output_text, response_error, Lenient, Loose, LooseSeq, ResponseWire,
};
use super::stream::{parse_data, payload, short, unreadable, StreamParser};
use super::Completion;
use crate::error::{Error, ErrorKind};
use crate::framing::Frame;
use crate::response::Usage;
use crate::wire::Deltas;

const TEXT_DELTA: &str = "response.output_text.delta";

/// The two fields every event is first read for. Typed, with the rest
/// skipped rather than built into maps: this runs once per token. Both
/// accept any value: event types we do not read may give `delta` another
/// shape, and they must not fail the stream.
#[derive(Deserialize)]
struct EventWire<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Option<Lenient<'a>>,
    #[serde(default, borrow)]
    delta: Option<Lenient<'a>>,
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

#[derive(Debug, Default)]
pub(crate) struct ResponsesStream {
    text: String,
    model: Option<String>,
    finish_reason: Option<String>,
    usage: Usage,
    done: bool,
}

impl StreamParser for ResponsesStream {
    fn frame(&mut self, frame: &Frame, out: &mut Deltas) -> Result<(), Error> {
        let event = frame.sse()?;
        let Some(data) = payload(self.done, event) else {
            return Ok(());
        };
        // OpenAI names every event after its `type`, so a name of the API's
        // own says what an event is without reading it: the events nobody
        // reads — in-progress response objects, item and part lifecycle,
        // `.done` echoes of the text, most of a stream's bytes — are never
        // parsed. Without such a name (none, or a proxy's `message`) the
        // payload's `type` decides.
        let named = event
            .event
            .as_deref()
            .filter(|n| n.starts_with("response.") || *n == "error");
        let (kind, delta) = match named {
            Some(name) if name != TEXT_DELTA => (Some(Cow::Borrowed(name)), None),
            _ => {
                let wire: EventWire<'_> =
                    parse_event(data).map_err(|e| unreadable(event, data, e))?;
                let kind = match named {
                    Some(name) => Some(Cow::Borrowed(name)),
                    None => wire.kind.and_then(|k| k.0),
                };
                (kind, wire.delta.and_then(|d| d.0))
            }
        };
        match kind.as_deref().or(event.event.as_deref()) {
            Some(TEXT_DELTA) => {
                if let Some(text) = delta.filter(|t| !t.is_empty()) {
                    self.text.push_str(&text);
                    out.push_text(&text);
                }
            }
            Some("response.completed") => self.end(&terminal(data)?, "completed", out)?,
            Some("response.incomplete") => self.end(&terminal(data)?, "incomplete", out)?,
            Some("response.failed") => {
                return Err(match outcome(&terminal(data)?, "failed") {
                    Err(e) => e,
                    // A `failed` event whose object claims otherwise.
                    Ok(_) => Error::new(ErrorKind::Server, "the response failed"),
                });
            }
            Some("error") => {
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
        Ok(Completion {
            content: self.text,
            model: self.model,
            finish_reason: self.finish_reason,
            usage: self.usage,
            ..Completion::default()
        })
    }
}

impl ResponsesStream {
    /// A terminal event with the finished response object.
    fn end(
        &mut self,
        response: &ResponseWire<'_>,
        status: &str,
        out: &mut Deltas,
    ) -> Result<(), Error> {
        let (finish_reason, usage, model) = outcome(response, status)?;
        // A server that sent no deltas still has the answer in the object.
        if self.text.is_empty() {
            if let Some(LooseSeq(Some(items))) = &response.output {
                let text = output_text(items);
                out.push_text(&text);
                self.text = text;
            }
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
        _ => response_error(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::sse::SseEvent;

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
            if !out.is_empty() {
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
                r#"{"type":"response.function_call_arguments.delta","delta":"{\"a\":"}"#,
                r#"{"type":"response.refusal.delta","delta":"no"}"#,
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
                reasoning_tokens: None,
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
            assert_eq!(c.model.as_deref(), last["response"]["model"].as_str());
        }
        assert!(streamed >= 3, "{streamed} streamed recordings");
    }
}
