//! OpenAI chat completions streams: `data: {chat.completion.chunk}` events
//! ended by `data: [DONE]`.
//!
//! What is read from the first choice: text (`delta.content`, and
//! `delta.refusal`, which is answer text as in the non-streaming reader,
//! with finish reason `"refusal"` over `"stop"`),
//! reasoning (`delta.reasoning_content` from DeepSeek and vLLM, else
//! `delta.reasoning` from OpenRouter and Ollama), and tool calls: pieces
//! keyed by `delta.tool_calls[].index`, the id and name in the first piece
//! and the arguments text spread over the following ones, assembled into
//! whole calls at the end. A call is announced once, as a started tool
//! call, as soon as its id and name are known (a call whose server never
//! sends an id is announced with its made-up id at the finish). The finish
//! reason, the model and the usage chunk are read in whatever order they
//! come.
//!
//! Compatible servers differ in details, so the rest is ignored: Azure's
//! leading chunk with empty `choices` and `prompt_filter_results`, the
//! trailing usage chunk with empty `choices`, logprobs and other choices of
//! an `n > 1` request.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use super::openai;
use super::stream::{payload, short, unreadable, StreamParser};
use super::Completion;
use crate::engine::transport::MAX_ANSWER_BYTES;
use crate::error::{Error, ErrorKind};
use crate::framing::sse::SseEvent;
use crate::framing::Frame;
use crate::response::Usage;
use crate::tools::{made_up_id, ToolCallAssembly};
use crate::wire::Deltas;

/// Typed, so the fields we ignore are skipped rather than built into maps:
/// this runs once per delta.
fn parse_chunk(data: &str) -> Result<ChunkWire<'_>, Error> {
    // serde would also read a JSON array as a struct's fields in order.
    let parsed = match data.starts_with('{') {
        true => serde_json::from_str(data).map_err(|e| e.to_string()),
        false => Err("not a JSON object".to_owned()),
    };
    parsed.map_err(|e| {
        Error::bad_response(format!(
            "an event of the provider's stream is not a chat completion chunk: {e}"
        ))
    })
}

/// The parts of a `chat.completion.chunk` we read.
#[derive(Deserialize)]
struct ChunkWire<'a> {
    #[serde(default)]
    error: Option<Value>,
    #[serde(default, borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<Value>,
    #[serde(default, borrow)]
    choices: Option<Vec<ChoiceWire<'a>>>,
}

#[derive(Deserialize)]
struct ChoiceWire<'a> {
    #[serde(default)]
    index: Option<u64>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    delta: Option<DeltaWire<'a>>,
}

#[derive(Deserialize)]
struct DeltaWire<'a> {
    #[serde(default)]
    content: Option<Value>,
    #[serde(default, borrow)]
    refusal: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reasoning_content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reasoning: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tool_calls: Option<Vec<ToolCallWire<'a>>>,
}

#[derive(Deserialize)]
struct ToolCallWire<'a> {
    #[serde(default)]
    index: Option<u64>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    function: Option<FunctionWire<'a>>,
}

#[derive(Deserialize)]
struct FunctionWire<'a> {
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    /// A piece of JSON text; some servers send the whole call decoded.
    #[serde(default)]
    arguments: Option<Value>,
}

/// A streamed call's id and name as far as known, and whether it was
/// announced.
#[derive(Debug)]
struct Started {
    key: u64,
    id: String,
    name: String,
    announced: bool,
}

/// Keys for calls sent without `index` (some compatible servers): far
/// above any real index.
const UNINDEXED: u64 = 1 << 32;

#[derive(Debug, Default)]
pub(crate) struct OpenAiStream {
    text: String,
    reasoning: String,
    calls: ToolCallAssembly,
    started: Vec<Started>,
    model: Option<String>,
    finish_reason: Option<String>,
    usage: Option<Usage>,
    /// Some `delta.refusal` text arrived.
    refused: bool,
    done: bool,
}

impl StreamParser for OpenAiStream {
    fn usage(&self) -> Option<Usage> {
        self.usage
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

impl OpenAiStream {
    /// One SSE event in; what it carries for the caller goes into `out`.
    pub(crate) fn event(&mut self, event: &SseEvent, out: &mut Deltas) -> Result<(), Error> {
        let Some(data) = payload(self.done, event) else {
            return Ok(());
        };
        if data == "[DONE]" {
            self.done = true;
            self.announce_unnamed_ids(out);
            return Ok(());
        }
        let chunk = parse_chunk(data).map_err(|e| unreadable(event, data, e))?;
        if let Some(err) = chunk.error.filter(|e| !e.is_null()) {
            return Err(stream_error(&err));
        }
        // Azure's first chunk has `"model": ""`.
        if let Some(model) = chunk.model.filter(|m| !m.is_empty()) {
            if self.model.as_deref() != Some(&*model) {
                self.model = Some(model.into_owned());
            }
        }
        if let Some(usage) = chunk.usage.filter(Value::is_object) {
            self.usage = Some(openai::usage(&usage));
        }
        // With `n > 1` every chunk carries one choice of any index, so the
        // position in the array says nothing; index 0 is the answer.
        let Some(choice) = chunk
            .choices
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .find_map(|(position, c)| (c.index.unwrap_or(position as u64) == 0).then_some(c))
        else {
            return Ok(());
        };
        if let Some(delta) = choice.delta {
            self.delta(delta, out)?;
        }
        if let Some(reason) = choice.finish_reason {
            self.finish_reason = Some(reason.into_owned());
            self.announce_unnamed_ids(out);
        }
        let held = self.text.len() + self.reasoning.len() + self.calls.len_bytes();
        if held > MAX_ANSWER_BYTES {
            return Err(Error::bad_response(format!(
                "the streamed answer is larger than {} MiB",
                MAX_ANSWER_BYTES / (1024 * 1024)
            )));
        }
        Ok(())
    }

    fn delta(&mut self, delta: DeltaWire<'_>, out: &mut Deltas) -> Result<(), Error> {
        let reasoning = [delta.reasoning_content, delta.reasoning]
            .into_iter()
            .flatten()
            .find(|r| !r.is_empty());
        if let Some(reasoning) = reasoning {
            self.reasoning.push_str(&reasoning);
            out.push_reasoning(&reasoning);
        }
        let text = match delta.content {
            Some(Value::String(s)) => s,
            Some(Value::Null) | None => String::new(),
            // Not sent by OpenAI, but the non-streaming reader accepts it.
            Some(Value::Array(parts)) => parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect(),
            Some(_) => return Err(Error::bad_response("delta.content is not text")),
        };
        self.refused |= delta.refusal.as_deref().is_some_and(|r| !r.is_empty());
        for piece in [Some(text.as_str()), delta.refusal.as_deref()]
            .into_iter()
            .flatten()
            .filter(|t| !t.is_empty())
        {
            self.text.push_str(piece);
            out.push_text(piece);
        }
        for call in delta.tool_calls.unwrap_or_default() {
            self.tool_call(call, out)?;
        }
        Ok(())
    }

    fn tool_call(&mut self, call: ToolCallWire<'_>, out: &mut Deltas) -> Result<(), Error> {
        if let Some(kind) = call.kind.filter(|k| k != "function") {
            return Err(Error::bad_response(format!(
                "a streamed tool call is of type {kind:?}; only function calls are read"
            )));
        }
        let id = call.id.as_deref().unwrap_or("");
        let key = self.key(call.index, id);
        let (name, arguments) = match call.function {
            Some(f) => (f.name, f.arguments),
            None => (None, None),
        };
        let name = name.as_deref().unwrap_or("");
        self.calls.start(key, id, name);
        let started = match self.started.iter().position(|s| s.key == key) {
            Some(i) => &mut self.started[i],
            None => {
                self.started.push(Started {
                    key,
                    id: String::new(),
                    name: String::new(),
                    announced: false,
                });
                let last = self.started.len() - 1;
                &mut self.started[last]
            }
        };
        if started.id.is_empty() {
            started.id.push_str(id);
        }
        if started.name.is_empty() {
            started.name.push_str(name);
        }
        if !started.announced && !started.id.is_empty() && !started.name.is_empty() {
            started.announced = true;
            out.push_tool_call(&started.id, &started.name);
        }
        match arguments {
            None | Some(Value::Null) => {}
            Some(Value::String(piece)) => self.calls.push_arguments(key, &piece)?,
            Some(whole @ Value::Object(_)) => self.calls.set_arguments(key, &whole.to_string()),
            Some(_) => {
                return Err(Error::bad_response(format!(
                    "the arguments of streamed tool call {name:?} are neither text nor an object"
                )))
            }
        }
        Ok(())
    }

    /// The assembly key of a call piece: its `index`; without one, the call
    /// with the same id, a new call for a new id, else the last call.
    fn key(&self, index: Option<u64>, id: &str) -> u64 {
        if let Some(index) = index {
            return index;
        }
        if !id.is_empty() {
            if let Some(s) = self.started.iter().find(|s| s.id == id) {
                return s.key;
            }
            return UNINDEXED + self.started.len() as u64;
        }
        self.started.last().map_or(UNINDEXED, |s| s.key)
    }

    /// Calls named but never given an id are announced with the id they
    /// will have on the response.
    fn announce_unnamed_ids(&mut self, out: &mut Deltas) {
        for (i, s) in self.started.iter_mut().enumerate() {
            if !s.announced && s.id.is_empty() && !s.name.is_empty() {
                s.announced = true;
                out.push_tool_call(&made_up_id(i), &s.name);
            }
        }
    }

    fn completion(self) -> Result<Completion, Error> {
        Ok(Completion {
            content: self.text,
            reasoning: self.reasoning,
            tool_calls: self.calls.finish()?,
            model: self.model,
            finish_reason: super::openai::refusal_reason(self.finish_reason, self.refused),
            usage: self.usage.unwrap_or_default(),
            ..Completion::default()
        })
    }
}

/// An `{"error": ...}` payload sent after the 200 status. The kind comes from
/// `type`, else `code` (a name, or an HTTP status as OpenRouter sends it).
fn stream_error(err: &Value) -> Error {
    if let Some(message) = err.as_str() {
        return Error::new(ErrorKind::Server, short(message));
    }
    let kind = super::common::error_object_kind(err);
    let message = err
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("the provider reported an error in the middle of the stream");
    Error::new(kind, short(message)).with_provider_detail(
        super::common::code_text(err.get("code")).as_deref(),
        err.get("type").and_then(Value::as_str),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(d: &str) -> SseEvent {
        SseEvent {
            data: d.to_owned(),
            ..SseEvent::default()
        }
    }

    /// Every event's deltas, in order.
    fn feed(events: &[&str]) -> (Vec<Deltas>, OpenAiStream) {
        let mut parser = OpenAiStream::default();
        let mut all = Vec::new();
        for e in events {
            let mut out = Deltas::default();
            parser.event(&data(e), &mut out).expect("event");
            all.push(out);
        }
        (all, parser)
    }

    fn run(events: &[&str]) -> (Vec<String>, Completion, bool) {
        let (all, parser) = feed(events);
        let forwarded = all
            .into_iter()
            .map(|d| d.text)
            .filter(|t| !t.is_empty())
            .collect();
        let done = parser.done;
        (forwarded, parser.completion().expect("completion"), done)
    }

    fn event_err(payload: &str) -> Error {
        OpenAiStream::default()
            .event(&data(payload), &mut Deltas::default())
            .expect_err(payload)
    }

    #[test]
    fn text_finish_reason_usage_and_model() {
        let (forwarded, c, done) = run(&[
            r#"{"choices":[],"model":"","prompt_filter_results":[]}"#,
            r#"{"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":""}}],"usage":null}"#,
            r#"{"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"Hel"}}]}"#,
            r#"{"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"lo"},"logprobs":{"content":[]}}]}"#,
            r#"{"model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
            r#"{"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7,"prompt_tokens_details":{"cached_tokens":1}}}"#,
            "[DONE]",
        ]);
        assert!(done);
        assert_eq!(forwarded, vec!["Hel", "lo"]);
        assert_eq!(c.content, "Hello");
        assert_eq!(c.model.as_deref(), Some("gpt-4o"));
        assert_eq!(c.finish_reason.as_deref(), Some("stop"));
        assert_eq!(
            c.usage,
            Usage {
                input_tokens: Some(5),
                output_tokens: Some(2),
                total_tokens: Some(7),
                cached_input_tokens: Some(1),
                cache_creation_input_tokens: None,
                reasoning_tokens: None,
            }
        );
    }

    #[test]
    fn only_choice_zero_is_text() {
        let (forwarded, c, _) = run(&[
            r#"{"choices":[{"index":1,"delta":{"content":"B"},"finish_reason":"length"}]}"#,
            r#"{"choices":[{"index":0,"delta":{"content":"A"}}]}"#,
            r#"{"choices":[{"index":1,"delta":{"content":"B"}},{"index":0,"delta":{"content":"A"}}]}"#,
        ]);
        assert_eq!(forwarded, vec!["A", "A"]);
        assert_eq!(c.finish_reason, None);
    }

    #[test]
    fn refusal_is_text_reasoning_and_tool_calls_are_not() {
        let (all, parser) = feed(&[
            r#"{"choices":[{"index":0,"delta":{"content":null,"refusal":"no"}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"reasoning_content":"hmm","reasoning":"hmm","content":null}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"reasoning":" more"}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"get","arguments":""}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"finish_reason":"tool_calls"}]}"#,
        ]);
        assert_eq!(all[0].text, "no");
        assert_eq!(all[1].reasoning, "hmm");
        assert!(all[1].text.is_empty());
        assert_eq!(all[2].reasoning, " more");
        assert_eq!(all[3].tool_calls.len(), 1);
        assert!(all[4].is_empty() && all[5].is_empty());
        let c = parser.completion().expect("completion");
        assert_eq!(c.content, "no");
        assert_eq!(c.reasoning, "hmm more");
        assert_eq!(c.tool_calls.len(), 1);
        assert_eq!(c.finish_reason.as_deref(), Some("tool_calls"));
    }

    #[test]
    fn a_streamed_refusal_over_stop_finishes_as_content_filter() {
        let (_, parser) = feed(&[
            r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":null,"refusal":""}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"refusal":"I can't"}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"refusal":" help."}}]}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
        ]);
        let c = parser.completion().expect("completion");
        assert_eq!(c.content, "I can't help.");
        assert_eq!(c.finish_reason.as_deref(), Some("refusal"));
        assert_eq!(c.finish(), crate::response::Finish::ContentFilter);

        let (_, parser) = feed(&[
            r#"{"choices":[{"index":0,"delta":{"content":"Hi","refusal":""}}]}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
        ]);
        let c = parser.completion().expect("completion");
        assert_eq!(c.finish_reason.as_deref(), Some("stop"));
    }

    #[test]
    fn tool_calls_assemble_by_index_and_are_announced_once() {
        let (all, parser) = feed(&[
            r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":null}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"ci"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"get_stock","arguments":"{\"t\":"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ty\": \"Paris\"}"}},{"index":1,"function":{"arguments":"\"AAPL\"}"}}]}}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":9,"completion_tokens_details":{"reasoning_tokens":4}}}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
            "[DONE]",
        ]);
        let announced: Vec<(String, String)> = all
            .iter()
            .flat_map(|d| &d.tool_calls)
            .map(|s| (s.id.clone(), s.name.clone()))
            .collect();
        assert_eq!(
            announced,
            vec![
                ("call_a".into(), "get_weather".into()),
                ("call_b".into(), "get_stock".into())
            ]
        );
        assert_eq!(all[1].tool_calls.len(), 1);
        assert_eq!(all[3].tool_calls.len(), 1);
        let c = parser.completion().expect("completion");
        assert_eq!(c.tool_calls.len(), 2);
        assert_eq!(c.tool_calls[0].id, "call_a");
        assert_eq!(c.tool_calls[0].arguments["city"], "Paris");
        assert_eq!(c.tool_calls[1].name, "get_stock");
        assert_eq!(c.tool_calls[1].arguments["t"], "AAPL");
        // Usage before the finish reason is read all the same.
        assert_eq!(c.usage.reasoning_tokens, Some(4));
        assert_eq!(c.usage.output_tokens, Some(9));
        assert_eq!(c.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(c.finish(), crate::response::Finish::ToolCalls);
    }

    #[test]
    fn late_names_missing_ids_and_missing_indexes() {
        // The id first, the name later: announced when both are known.
        let (all, parser) = feed(&[
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c0","function":{"arguments":""}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"now","arguments":"{}"}}]}}]}"#,
        ]);
        assert!(all[0].tool_calls.is_empty());
        assert_eq!(all[1].tool_calls[0].id, "c0");
        assert_eq!(parser.completion().unwrap().tool_calls[0].name, "now");

        // No index (some compatible servers): one call per id; no id: made up
        // and announced at the finish.
        let (all, parser) = feed(&[
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"x","function":{"name":"a","arguments":"{\"k\":"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"function":{"arguments":"1}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"y","function":{"name":"b","arguments":{"k":2}}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":7,"function":{"name":"c","arguments":"{}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
            "[DONE]",
        ]);
        assert_eq!(all[4].tool_calls[0].id, "call_sb_2");
        assert!(all[5].tool_calls.is_empty());
        let c = parser.completion().unwrap();
        let got: Vec<(&str, &str, String)> = c
            .tool_calls
            .iter()
            .map(|t| {
                (
                    t.id.as_str(),
                    t.name.as_str(),
                    Value::Object(t.arguments.clone()).to_string(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("x", "a", r#"{"k":1}"#.to_owned()),
                ("y", "b", r#"{"k":2}"#.to_owned()),
                ("call_sb_2", "c", "{}".to_owned())
            ]
        );
        assert_eq!(c.finish(), crate::response::Finish::ToolCalls);
    }

    #[test]
    fn bad_streamed_arguments_name_the_tool_at_the_finish() {
        let (_, parser) = feed(&[
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"get_metric","arguments":"{\"k\":"}}]}}]}"#,
            r#"{"choices":[{"index":0,"finish_reason":"tool_calls"}]}"#,
            "[DONE]",
        ]);
        let err = parser.completion().expect_err("bad arguments");
        assert_eq!(err.kind, ErrorKind::BadResponse);
        assert!(err.message.contains("\"get_metric\""), "{}", err.message);
        let err = event_err(
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"type":"custom","custom":{}}]}}]}"#,
        );
        assert_eq!(err.kind, ErrorKind::BadResponse);
    }

    #[test]
    fn events_after_done_are_ignored() {
        let (forwarded, _, done) = run(&[
            "[DONE]",
            r#"{"choices":[{"index":0,"delta":{"content":"late"}}]}"#,
            "not json",
        ]);
        assert!(done);
        assert!(forwarded.is_empty());
    }

    #[test]
    fn error_payloads_map_to_kinds() {
        let cases = [
            (
                r#"{"error":{"type":"server_error","message":"boom"}}"#,
                ErrorKind::Server,
            ),
            (
                r#"{"error":{"code":"rate_limit_exceeded","message":"slow"}}"#,
                ErrorKind::RateLimited,
            ),
            (
                r#"{"error":{"message":"?","type":null,"code":null}}"#,
                ErrorKind::Server,
            ),
            (
                r#"{"error":{"code":429,"message":"slow"}}"#,
                ErrorKind::RateLimited,
            ),
            (
                r#"{"error":{"code":502,"message":"bad gateway"}}"#,
                ErrorKind::Server,
            ),
            (r#"{"error":"plain"}"#, ErrorKind::Server),
            ("not json", ErrorKind::BadResponse),
            ("[1]", ErrorKind::BadResponse),
            (
                r#"{"choices":[{"index":0,"delta":{"content":7}}]}"#,
                ErrorKind::BadResponse,
            ),
        ];
        for (payload, kind) in cases {
            assert_eq!(event_err(payload).kind, kind, "{payload}");
        }
        let err = event_err(r#"{"error":{"type":"server_error","message":"boom"}}"#);
        assert_eq!(err.message, "boom");
    }

    #[test]
    fn plain_text_error_event() {
        let event = SseEvent {
            event: Some("error".into()),
            data: "upstream died".into(),
            id: None,
        };
        let err = OpenAiStream::default()
            .event(&event, &mut Deltas::default())
            .expect_err("error");
        assert_eq!(
            (err.kind, err.message.as_str()),
            (ErrorKind::Server, "upstream died")
        );
    }

    #[test]
    fn empty_data_is_ignored() {
        let (forwarded, _, done) = run(&["", "  "]);
        assert!(forwarded.is_empty() && !done);
    }
}
