//! Gemini streams (`streamGenerateContent?alt=sse`): each event is a whole
//! `GenerateContentResponse` carrying the next piece of the first
//! candidate's text or thoughts, or whole `functionCall` parts (each
//! announced as it arrives, its id Gemini's or made up, numbered across the
//! stream); the last ones carry `finishReason` and the usage.
//!
//! There is no end sentinel: the stream ends with the body. It is complete
//! if some chunk carried a `finishReason`; a body that ends before is a
//! `:network` error, as any stream cut short. An error mid-stream (an
//! `{"error": ...}` object, also sent bare outside `data:` lines, see
//! [`crate::framing::Framing::SseBareLines`]) fails the stream with its
//! kind, so retries and fallbacks treat it as any other failure. The rules
//! for blocked prompts and empty candidates are those of [`super::google`].
//! A stream requested without `alt=sse` (one JSON array of the same
//! objects, as req_llm recorded Vertex's) is read too, when it has ended.

use serde_json::Value;

use super::google;
use super::stream::{parse_data, payload, unreadable, StreamParser};
use super::Completion;
use crate::error::{Error, ErrorKind};
use crate::framing::Frame;
use crate::reasoning::ReasoningPart;
use crate::response::Usage;
use crate::tools::ToolCall;
use crate::wire::Deltas;

#[derive(Debug, Default)]
pub(crate) struct GeminiStream {
    text: String,
    reasoning: String,
    reasoning_parts: Vec<ReasoningPart>,
    tool_calls: Vec<ToolCall>,
    model: Option<String>,
    finish_reason: Option<String>,
    finish_message: Option<String>,
    usage: Option<Usage>,
}

impl GeminiStream {
    fn chunk(&mut self, v: &Value, out: &mut Deltas) -> Result<(), Error> {
        let chunk = google::read_chunk(v)?;
        if !chunk.reasoning.is_empty() {
            self.reasoning.push_str(&chunk.reasoning);
            out.push_reasoning(&chunk.reasoning);
        }
        if !chunk.text.is_empty() {
            self.text.push_str(&chunk.text);
            out.push_text(&chunk.text);
        }
        self.reasoning_parts.extend(chunk.reasoning_parts);
        for call in chunk.calls {
            let call = call.into_tool_call(self.tool_calls.len());
            out.push_tool_call(&call.id, &call.name);
            self.tool_calls.push(call);
        }
        if chunk.finish_reason.is_some() {
            self.finish_reason = chunk.finish_reason;
            self.finish_message = chunk.finish_message;
        }
        if chunk.usage.is_some() {
            self.usage = chunk.usage;
        }
        if chunk.model.is_some() {
            self.model = chunk.model;
        }
        Ok(())
    }
}

impl StreamParser for GeminiStream {
    fn usage(&self) -> Option<Usage> {
        self.usage
    }

    fn frame(&mut self, frame: &Frame, out: &mut Deltas) -> Result<(), Error> {
        let event = frame.sse()?;
        let Some(data) = payload(false, event) else {
            return Ok(());
        };
        let v = parse_data(data).map_err(|e| unreadable(event, data, e))?;
        match &v {
            // A stream asked for without `alt=sse` (or through a proxy that
            // drops it) is one JSON array of the same objects; its lines are
            // bare, so it arrives here whole.
            Value::Array(items) => items.iter().try_for_each(|item| self.chunk(item, out)),
            _ => self.chunk(&v, out),
        }
    }

    /// Nothing marks the end but the body's own end.
    fn is_done(&self) -> bool {
        false
    }

    fn end_of_body(&mut self) -> Result<(), Error> {
        match &self.finish_reason {
            None => Err(Error::new(
                ErrorKind::Network,
                "the stream ended before any candidate carried a finishReason",
            )),
            Some(reason) if self.text.is_empty() && self.tool_calls.is_empty() => {
                match google::empty_answer_error(reason, self.finish_message.as_deref()) {
                    Some(e) => Err(e),
                    None => Ok(()),
                }
            }
            Some(_) => Ok(()),
        }
    }

    fn finish(self: Box<Self>) -> Result<Completion, Error> {
        Ok(Completion {
            content: self.text,
            reasoning: self.reasoning,
            reasoning_parts: self.reasoning_parts,
            tool_calls: self.tool_calls,
            model: self.model,
            finish_reason: self.finish_reason,
            usage: self.usage.unwrap_or_default(),
            ..Completion::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::sse::SseEvent;

    fn data(d: &str) -> Frame {
        Frame::Sse(SseEvent {
            data: d.to_owned(),
            ..SseEvent::default()
        })
    }

    fn run(parser: &mut dyn StreamParser, events: &[&str]) -> Result<Vec<String>, Error> {
        let mut forwarded = Vec::new();
        for e in events {
            let mut out = Deltas::default();
            parser.frame(&data(e), &mut out)?;
            if !out.is_empty() {
                forwarded.push(out.text);
            }
        }
        parser.end_of_body()?;
        Ok(forwarded)
    }

    #[test]
    fn text_finish_reason_and_last_usage() {
        let mut p = GeminiStream::default();
        let forwarded = run(
            &mut p,
            &[
                r#"{"candidates":[{"content":{"parts":[{"text":"think","thought":true}]}}]}"#,
                r#"{"candidates":[{"content":{"parts":[{"text":"Hel"}]}}],"usageMetadata":{"promptTokenCount":3}}"#,
                r#"{"candidates":[{"content":{"parts":[{"text":"lo"}]},"finishReason":"STOP"}],
                   "usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":2,"thoughtsTokenCount":1},
                   "modelVersion":"gemini-x"}"#,
            ],
        )
        .unwrap();
        // The thought is forwarded as reasoning, not text.
        assert_eq!(forwarded, ["", "Hel", "lo"]);
        let c = Box::new(p).finish().unwrap();
        assert_eq!(c.content, "Hello");
        assert_eq!(c.finish_reason.as_deref(), Some("STOP"));
        assert_eq!(c.model.as_deref(), Some("gemini-x"));
        assert_eq!(
            c.usage,
            Usage::new(Some(3), Some(3)).with_reasoning(Some(1))
        );
        assert_eq!(c.reasoning, "think");
    }

    #[test]
    fn whole_function_calls_are_announced_as_they_arrive() {
        let mut p = GeminiStream::default();
        let events = [
            r#"{"candidates":[{"content":{"parts":[{"text":"Plan.","thought":true}]}}]}"#,
            r#"{"candidates":[{"content":{"parts":[{"text":"On it. "},
                {"functionCall":{"name":"get_weather","args":{"city":"Paris"}}}]}}]}"#,
            r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"now"}},
                {"functionCall":{"id":"g1","name":"get_weather","args":{"city":"Oslo"}}}]},
                "finishReason":"STOP"}]}"#,
        ];
        let mut seen = Vec::new();
        for e in events {
            let mut out = Deltas::default();
            p.frame(&data(e), &mut out).unwrap();
            seen.push((
                out.text,
                out.reasoning,
                out.tool_calls
                    .into_iter()
                    .map(|c| format!("{}:{}", c.id, c.name))
                    .collect::<Vec<_>>(),
            ));
        }
        p.end_of_body().unwrap();
        assert_eq!(
            seen,
            [
                ("".into(), "Plan.".into(), vec![]),
                (
                    "On it. ".into(),
                    "".into(),
                    vec!["call_sb_0:get_weather".to_owned()]
                ),
                (
                    "".into(),
                    "".into(),
                    vec!["call_sb_1:now".to_owned(), "g1:get_weather".to_owned()]
                ),
            ]
        );
        let c = Box::new(p).finish().unwrap();
        assert_eq!(c.content, "On it. ");
        assert_eq!(c.reasoning, "Plan.");
        let ids: Vec<&str> = c.tool_calls.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["call_sb_0", "call_sb_1", "g1"]);
        assert_eq!(c.tool_calls[2].arguments["city"], "Oslo");
        assert_eq!(c.finish(), crate::response::Finish::ToolCalls);
        // A call and no text is a whole answer; a call with bad args is not.
        let only_call = run(
            &mut GeminiStream::default(),
            &[
                r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"now"}}]},"finishReason":"MAX_TOKENS"}]}"#,
            ],
        );
        assert!(only_call.is_ok());
        let bad = run(
            &mut GeminiStream::default(),
            &[
                r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"now","args":3}}]}}]}"#,
            ],
        );
        assert_eq!(bad.unwrap_err().kind, ErrorKind::BadResponse);
    }

    #[test]
    fn a_json_array_stream_reads_as_its_objects() {
        let mut p = GeminiStream::default();
        let forwarded = run(
            &mut p,
            &["[{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}]},\n{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"b\"}]},\"finishReason\":\"STOP\"}]}]"],
        )
        .unwrap();
        assert_eq!(forwarded, ["ab"]);
    }

    #[test]
    fn cut_blocked_refused_and_failed_streams() {
        let cut = run(
            &mut GeminiStream::default(),
            &[r#"{"candidates":[{"content":{"parts":[{"text":"a"}]}}]}"#],
        );
        assert_eq!(cut.unwrap_err().kind, ErrorKind::Network);
        let blocked = run(
            &mut GeminiStream::default(),
            &[r#"{"promptFeedback":{"blockReason":"OTHER"}}"#],
        );
        assert_eq!(blocked.unwrap_err().kind, ErrorKind::InvalidRequest);
        let recitation = run(
            &mut GeminiStream::default(),
            &[r#"{"candidates":[{"finishReason":"RECITATION"}]}"#],
        );
        assert_eq!(recitation.unwrap_err().kind, ErrorKind::FinishReason);
        let failed = run(
            &mut GeminiStream::default(),
            &[
                r#"{"candidates":[{"content":{"parts":[{"text":"a"}]}}]}"#,
                "{\n  \"error\": {\"code\": 503, \"status\": \"UNAVAILABLE\", \"message\": \"busy\"}\n}",
            ],
        );
        assert_eq!(failed.unwrap_err().kind, ErrorKind::Overloaded);
        let garbage = run(&mut GeminiStream::default(), &["{not json"]);
        assert_eq!(garbage.unwrap_err().kind, ErrorKind::BadResponse);
    }
}
