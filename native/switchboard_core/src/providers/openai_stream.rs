//! OpenAI chat completions streams: `data: {chat.completion.chunk}` events
//! ended by `data: [DONE]`.
//!
//! Compatible servers differ in details, so anything that is not the first
//! choice's text, its finish reason, the model or the usage is ignored:
//! Azure's leading chunk with empty `choices` and `prompt_filter_results`,
//! the trailing usage chunk with empty `choices`, `refusal` and `tool_calls`
//! deltas, `reasoning_content`, logprobs and other choices of an `n > 1`
//! request.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use super::openai;
use super::stream::{payload, short, unreadable, StreamParser};
use super::Completion;
use crate::error::{Error, ErrorKind};
use crate::framing::sse::SseEvent;
use crate::framing::Frame;
use crate::response::Usage;
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
    #[serde(default)]
    delta: Option<DeltaWire>,
}

#[derive(Deserialize)]
struct DeltaWire {
    #[serde(default)]
    content: Option<Value>,
}

#[derive(Debug, Default)]
pub(crate) struct OpenAiStream {
    text: String,
    model: Option<String>,
    finish_reason: Option<String>,
    usage: Option<Usage>,
    done: bool,
}

impl StreamParser for OpenAiStream {
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

impl OpenAiStream {
    /// One SSE event in; the text to forward, if any.
    pub(crate) fn event(&mut self, event: &SseEvent) -> Result<Option<String>, Error> {
        let Some(data) = payload(self.done, event) else {
            return Ok(None);
        };
        if data == "[DONE]" {
            self.done = true;
            return Ok(None);
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
            return Ok(None);
        };
        if let Some(reason) = choice.finish_reason {
            self.finish_reason = Some(reason.into_owned());
        }
        let text = match choice.delta.and_then(|d| d.content) {
            Some(Value::String(s)) => s,
            Some(Value::Null) | None => return Ok(None),
            // Not sent by OpenAI, but the non-streaming reader accepts it.
            Some(Value::Array(parts)) => parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect(),
            Some(_) => return Err(Error::bad_response("delta.content is not text")),
        };
        if text.is_empty() {
            return Ok(None);
        }
        self.text.push_str(&text);
        Ok(Some(text))
    }

    fn completion(self) -> Completion {
        Completion {
            content: self.text,
            model: self.model,
            finish_reason: self.finish_reason,
            usage: self.usage.unwrap_or_default(),
            ..Completion::default()
        }
    }
}

/// An `{"error": ...}` payload sent after the 200 status. The kind comes from
/// `type`, else `code` (a name, or an HTTP status as OpenRouter sends it).
fn stream_error(err: &Value) -> Error {
    if let Some(message) = err.as_str() {
        return Error::new(ErrorKind::Server, short(message));
    }
    let kind = ["type", "code"]
        .iter()
        .filter_map(|field| err.get(field))
        .find_map(error_kind)
        .unwrap_or(ErrorKind::Server);
    let message = err
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("the provider reported an error in the middle of the stream");
    Error::new(kind, short(message))
}

fn error_kind(v: &Value) -> Option<ErrorKind> {
    if let Some(status) = v.as_u64() {
        return u16::try_from(status)
            .ok()
            .filter(|s| (400..=599).contains(s))
            .map(ErrorKind::from_status);
    }
    Some(match v.as_str()? {
        "server_error" | "api_error" | "internal_error" => ErrorKind::Server,
        "rate_limit_exceeded" | "rate_limit_error" => ErrorKind::RateLimited,
        "overloaded_error" | "overloaded" => ErrorKind::Overloaded,
        "invalid_request_error" | "context_length_exceeded" => ErrorKind::InvalidRequest,
        "authentication_error" | "invalid_api_key" => ErrorKind::Auth,
        "permission_error" => ErrorKind::Permission,
        "not_found_error" | "model_not_found" => ErrorKind::NotFound,
        _ => return None,
    })
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

    fn run(events: &[&str]) -> (Vec<String>, Completion, bool) {
        let mut parser = OpenAiStream::default();
        let mut forwarded = Vec::new();
        for e in events {
            if let Some(text) = parser.event(&data(e)).expect("event") {
                forwarded.push(text);
            }
        }
        let done = parser.done;
        (forwarded, parser.completion(), done)
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
    fn refusal_tool_calls_and_reasoning_are_not_text() {
        let (forwarded, c, _) = run(&[
            r#"{"choices":[{"index":0,"delta":{"content":null,"refusal":"no"}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"reasoning_content":"hmm","content":null}}]}"#,
            r#"{"choices":[{"index":0,"finish_reason":"tool_calls"}]}"#,
        ]);
        assert!(forwarded.is_empty());
        assert_eq!(c.content, "");
        assert_eq!(c.finish_reason.as_deref(), Some("tool_calls"));
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
            let err = OpenAiStream::default()
                .event(&data(payload))
                .expect_err(payload);
            assert_eq!(err.kind, kind, "{payload}");
        }
        let err = OpenAiStream::default()
            .event(&data(
                r#"{"error":{"type":"server_error","message":"boom"}}"#,
            ))
            .expect_err("error");
        assert_eq!(err.message, "boom");
    }

    #[test]
    fn plain_text_error_event() {
        let event = SseEvent {
            event: Some("error".into()),
            data: "upstream died".into(),
            id: None,
        };
        let err = OpenAiStream::default().event(&event).expect_err("error");
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
