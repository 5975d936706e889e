//! OpenAI Chat Completions (`/v1/chat/completions`).
//!
//! Scripted tool calls answer as `message.tool_calls` (content `null` when
//! there is no text) with finish reason `"tool_calls"` unless the step
//! scripts another one; streamed, each call is a first delta with its id
//! and name and then its arguments text in several pieces, keyed by
//! `index`, after the text. Scripted reasoning is `reasoning_content`, as
//! DeepSeek and vLLM send it, before the text.

use bytes::Bytes;
use hyper::header::HeaderName;
use serde::Serialize;

use super::wire::{data_event, json_bytes, pieces};
use super::{Dialect, ErrorReply, Failure, Platform, Reply, Stream, StreamOptions, Usage};
use crate::step::ToolCallSpec;

/// OpenAI Chat Completions, also as OpenRouter, Azure OpenAI and Ollama
/// serve it.
#[derive(Debug)]
pub struct OpenAiChat;

/// The finish reason of an answer whose step scripts none.
const STOP: &str = "stop";

impl Dialect for OpenAiChat {
    fn default_model(&self) -> &'static str {
        "gpt-mock"
    }

    fn default_finish_reason(&self) -> &'static str {
        STOP
    }

    fn request_id(&self, _platform: Platform, n: u64) -> Option<(HeaderName, String)> {
        Some(request_id(n))
    }

    fn answer(&self, reply: &Reply<'_>) -> Bytes {
        completion(reply)
    }

    fn stream(&self, reply: &Reply<'_>, deltas: &[&str], opts: &StreamOptions) -> Stream {
        stream(reply, deltas, opts)
    }

    fn error(&self, failure: &Failure<'_>) -> ErrorReply {
        ErrorReply::body(error(failure.status, failure.model))
    }
}

/// `x-request-id`, as OpenAI (and the Responses API) send it.
pub fn request_id(n: u64) -> (HeaderName, String) {
    (
        HeaderName::from_static("x-request-id"),
        format!("req_mock{n:016x}"),
    )
}

#[derive(Serialize)]
struct Completion<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [Choice<'a>; 1],
    usage: WireUsage,
    service_tier: &'static str,
    system_fingerprint: &'static str,
}

#[derive(Serialize)]
struct Choice<'a> {
    index: u32,
    message: Message<'a>,
    logprobs: Option<()>,
    finish_reason: &'a str,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: Option<&'a str>,
    refusal: Option<()>,
    annotations: [(); 0],
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<WireToolCall<'a>>,
}

#[derive(Serialize)]
struct WireToolCall<'a> {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireFunction<'a>,
}

#[derive(Serialize)]
struct WireFunction<'a> {
    name: &'a str,
    arguments: &'a str,
}

/// The scripted finish reason; the default `"stop"` becomes `"tool_calls"`
/// when the answer calls tools, as OpenAI says then.
fn finish_reason<'a>(reply: &Reply<'a>) -> &'a str {
    reply.finish_reason_with_tools(STOP, "tool_calls")
}

/// `null` for an answer that only calls tools, as OpenAI sends it.
fn content<'a>(reply: &Reply<'a>) -> Option<&'a str> {
    reply.has_text().then_some(reply.content)
}

#[derive(Serialize)]
struct WireUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    prompt_tokens_details: PromptDetails,
    completion_tokens_details: CompletionDetails,
}

#[derive(Serialize)]
struct PromptDetails {
    cached_tokens: u64,
    audio_tokens: u64,
}

#[derive(Serialize)]
struct CompletionDetails {
    reasoning_tokens: u64,
    audio_tokens: u64,
    accepted_prediction_tokens: u64,
    rejected_prediction_tokens: u64,
}

impl From<Usage> for WireUsage {
    fn from(u: Usage) -> Self {
        WireUsage {
            prompt_tokens: u.input,
            completion_tokens: u.output,
            total_tokens: u.input + u.output,
            prompt_tokens_details: PromptDetails {
                cached_tokens: u.cached,
                audio_tokens: 0,
            },
            completion_tokens_details: CompletionDetails {
                reasoning_tokens: u.thoughts,
                audio_tokens: 0,
                accepted_prediction_tokens: 0,
                rejected_prediction_tokens: 0,
            },
        }
    }
}

fn completion_id(n: u64) -> String {
    format!("chatcmpl-mock{n:016x}")
}

fn completion(reply: &Reply<'_>) -> Bytes {
    let id = completion_id(reply.id);
    json_bytes(&Completion {
        id: &id,
        object: "chat.completion",
        created: reply.created,
        model: reply.model,
        choices: [Choice {
            index: 0,
            message: Message {
                role: "assistant",
                content: content(reply),
                refusal: None,
                annotations: [],
                reasoning_content: reply.reasoning,
                tool_calls: reply
                    .tool_calls
                    .iter()
                    .enumerate()
                    .map(|(i, call)| WireToolCall {
                        id: call.id_or(i),
                        kind: "function",
                        function: WireFunction {
                            name: &call.name,
                            arguments: &call.arguments,
                        },
                    })
                    .collect(),
            },
            logprobs: None,
            finish_reason: finish_reason(reply),
        }],
        usage: reply.usage.into(),
        service_tier: "default",
        system_fingerprint: "fp_mock",
    })
}

#[derive(Serialize)]
struct Chunk<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    system_fingerprint: &'static str,
    choices: &'a [ChunkChoice<'a>],
    // Absent unless the client asked for usage; then `null` on every chunk but
    // the last, exactly like the real API.
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Option<WireUsage>>,
}

#[derive(Serialize)]
struct ChunkChoice<'a> {
    index: u32,
    delta: Delta<'a>,
    logprobs: Option<()>,
    finish_reason: Option<&'a str>,
}

#[derive(Serialize, Default)]
struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    /// `Some(None)` is a `null` content.
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refusal: Option<Option<()>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<[ToolCallDelta<'a>; 1]>,
}

#[derive(Serialize)]
struct ToolCallDelta<'a> {
    index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    function: FunctionDelta<'a>,
}

#[derive(Serialize)]
struct FunctionDelta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    arguments: &'a str,
}

/// A call's deltas: its id, type and name with empty arguments, then its
/// arguments in three pieces.
fn tool_call_deltas(index: usize, call: &ToolCallSpec) -> Vec<Delta<'_>> {
    let first = ToolCallDelta {
        index,
        id: Some(call.id_or(index)),
        kind: Some("function"),
        function: FunctionDelta {
            name: Some(&call.name),
            arguments: "",
        },
    };
    std::iter::once(first)
        .chain(
            pieces(&call.arguments, 3)
                .into_iter()
                .map(|arguments| ToolCallDelta {
                    index,
                    id: None,
                    kind: None,
                    function: FunctionDelta {
                        name: None,
                        arguments,
                    },
                }),
        )
        .map(|call| Delta {
            tool_calls: Some([call]),
            ..Delta::default()
        })
        .collect()
}

fn stream(reply: &Reply<'_>, deltas: &[&str], opts: &StreamOptions) -> Stream {
    let id = completion_id(reply.id);
    let null_usage = || opts.include_usage.then_some(None);
    let chunk = |delta: Delta<'_>, finish_reason: Option<&str>| {
        data_event(&Chunk {
            id: &id,
            object: "chat.completion.chunk",
            created: reply.created,
            model: reply.model,
            system_fingerprint: "fp_mock",
            choices: &[ChunkChoice {
                index: 0,
                delta,
                logprobs: None,
                finish_reason,
            }],
            usage: null_usage(),
        })
    };

    let mut head = vec![chunk(
        Delta {
            role: Some("assistant"),
            content: Some(content(reply).map(|_| "")),
            refusal: Some(None),
            ..Delta::default()
        },
        None,
    )];
    if let Some(reasoning) = reply.reasoning {
        head.extend(reasoning.split_inclusive(' ').map(|piece| {
            chunk(
                Delta {
                    reasoning_content: Some(piece),
                    ..Delta::default()
                },
                None,
            )
        }));
    }
    let deltas = deltas
        .iter()
        .map(|text| {
            chunk(
                Delta {
                    content: Some(Some(text)),
                    ..Delta::default()
                },
                None,
            )
        })
        .collect();
    let mut tail: Vec<Bytes> = reply
        .tool_calls
        .iter()
        .enumerate()
        .flat_map(|(i, call)| tool_call_deltas(i, call))
        .map(|delta| chunk(delta, None))
        .collect();
    tail.push(chunk(Delta::default(), Some(finish_reason(reply))));
    if opts.include_usage {
        tail.push(data_event(&Chunk {
            id: &id,
            object: "chat.completion.chunk",
            created: reply.created,
            model: reply.model,
            system_fingerprint: "fp_mock",
            choices: &[],
            usage: Some(Some(reply.usage.into())),
        }));
    }
    tail.push(Bytes::from_static(b"data: [DONE]\n\n"));

    let error = data_event(&ErrorBody {
        error: ErrorDetail {
            message: "The server had an error while processing your request. Sorry about that!",
            kind: "server_error",
            param: None,
            code: None,
        },
    });
    Stream {
        head,
        deltas,
        tail,
        error,
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<()>,
    code: Option<&'a str>,
}

/// The body the real API sends for `status`.
fn error(status: u16, model: &str) -> Bytes {
    let model_msg;
    let (message, kind, code) = match status {
        401 => (
            "Incorrect API key provided: sk-mock. You can find your API key at https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            Some("invalid_api_key"),
        ),
        403 => (
            "Country, region, or territory not supported",
            "request_forbidden",
            Some("unsupported_country_region_territory"),
        ),
        404 => {
            model_msg =
                format!("The model `{model}` does not exist or you do not have access to it.");
            (
                model_msg.as_str(),
                "invalid_request_error",
                Some("model_not_found"),
            )
        }
        429 => (
            "Rate limit reached for requests per min (RPM). Please try again in 1s.",
            "requests",
            Some("rate_limit_exceeded"),
        ),
        500 => (
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
        ),
        503 => (
            "The engine is currently overloaded, please try again later.",
            "server_error",
            None,
        ),
        s if s >= 500 => ("The server had an error processing your request.", "server_error", None),
        _ => (
            "Invalid request: the mock was scripted to reject this request.",
            "invalid_request_error",
            None,
        ),
    };
    json_bytes(&ErrorBody {
        error: ErrorDetail {
            message,
            kind,
            param: None,
            code,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn reply() -> Reply<'static> {
        Reply {
            platform: Platform::Native,
            id: 1,
            created: 2,
            model: "gpt-x",
            content: "a b",
            reasoning: None,
            tool_calls: &[],
            finish_reason: "stop",
            usage: Usage {
                input: 12,
                output: 8,
                cached: 3,
                cache_creation: 0,
                thoughts: 0,
            },
            thoughts: None,
            block_reason: None,
            error_type: None,
        }
    }

    #[test]
    fn completion_shape() {
        let v: Value = serde_json::from_slice(&completion(&reply())).expect("json");
        assert_eq!(v["object"], "chat.completion");
        assert_eq!(v["choices"][0]["message"]["content"], "a b");
        assert_eq!(
            v["choices"][0]["message"]["annotations"],
            serde_json::json!([])
        );
        assert_eq!(v["usage"]["total_tokens"], 20);
        assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 3);
    }

    #[test]
    fn stream_usage_chunk_has_no_choices() {
        let opts = StreamOptions {
            include_usage: true,
            ..StreamOptions::default()
        };
        let s = stream(&reply(), &["a", " b"], &opts);
        assert_eq!(s.deltas.len(), 2);
        let usage = String::from_utf8(s.tail[1].to_vec()).expect("utf8");
        assert!(usage.contains(r#""choices":[]"#) && usage.contains(r#""total_tokens":20"#));
        let first = String::from_utf8(s.head[0].to_vec()).expect("utf8");
        assert!(first.contains(r#""role":"assistant""#) && first.contains(r#""usage":null"#));
    }

    fn calls() -> Vec<ToolCallSpec> {
        vec![
            ToolCallSpec {
                id: Some("call_x".into()),
                name: "get_weather".into(),
                arguments: r#"{"city":"Paris"}"#.into(),
            },
            ToolCallSpec {
                id: None,
                name: "now".into(),
                arguments: "{}".into(),
            },
        ]
    }

    fn events(s: &Stream) -> Vec<Value> {
        s.head
            .iter()
            .chain(&s.deltas)
            .chain(&s.tail)
            .filter_map(|b| {
                let text = std::str::from_utf8(b).ok()?;
                serde_json::from_str(text.strip_prefix("data: ")?.trim()).ok()
            })
            .collect()
    }

    #[test]
    fn tool_calls_and_reasoning_in_a_whole_answer() {
        let calls = calls();
        let mut r = reply();
        r.content = "";
        r.tool_calls = &calls;
        r.reasoning = Some("thinking it over");
        r.usage.thoughts = 5;
        let v: Value = serde_json::from_slice(&completion(&r)).expect("json");
        let message = &v["choices"][0]["message"];
        assert_eq!(message["content"], Value::Null);
        assert_eq!(message["reasoning_content"], "thinking it over");
        assert_eq!(
            message["tool_calls"],
            serde_json::json!([
                {"id": "call_x", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call_mock_1", "type": "function",
                 "function": {"name": "now", "arguments": "{}"}}
            ])
        );
        assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(
            v["usage"]["completion_tokens_details"]["reasoning_tokens"],
            5
        );
        // A scripted finish reason is kept.
        r.finish_reason = "length";
        let v: Value = serde_json::from_slice(&completion(&r)).expect("json");
        assert_eq!(v["choices"][0]["finish_reason"], "length");
        // No tools, no reasoning: neither field.
        let v: Value = serde_json::from_slice(&completion(&reply())).expect("json");
        assert!(v["choices"][0]["message"].get("tool_calls").is_none());
        assert!(v["choices"][0]["message"]
            .get("reasoning_content")
            .is_none());
    }

    #[test]
    fn streamed_tool_calls_arrive_in_pieces_after_the_text() {
        let calls = calls();
        let mut r = reply();
        r.tool_calls = &calls;
        r.reasoning = Some("a b");
        let s = stream(&r, &["a", " b"], &StreamOptions::default());
        assert_eq!(s.deltas.len(), 2);
        let all = events(&s);
        let deltas: Vec<&Value> = all.iter().map(|e| &e["choices"][0]["delta"]).collect();
        assert_eq!(deltas[0]["content"], "");
        assert_eq!(deltas[1]["reasoning_content"], "a ");
        assert_eq!(deltas[2]["reasoning_content"], "b");
        assert_eq!(deltas[3]["content"], "a");
        let tool_deltas: Vec<&Value> = deltas
            .iter()
            .filter_map(|d| d.get("tool_calls"))
            .map(|t| &t[0])
            .collect();
        assert_eq!(tool_deltas[0]["id"], "call_x");
        assert_eq!(tool_deltas[0]["function"]["name"], "get_weather");
        assert_eq!(tool_deltas[0]["function"]["arguments"], "");
        let arguments = |index: u64| -> String {
            tool_deltas
                .iter()
                .filter(|t| t["index"] == index)
                .filter_map(|t| t["function"]["arguments"].as_str())
                .collect()
        };
        assert_eq!(arguments(0), r#"{"city":"Paris"}"#);
        assert_eq!(arguments(1), "{}");
        // Three pieces of arguments after the first delta of each call.
        assert_eq!(tool_deltas.iter().filter(|t| t["index"] == 0).count(), 4);
        assert!(
            tool_deltas[1].get("id").is_none() && tool_deltas[1]["function"].get("name").is_none()
        );
        let last = all.last().expect("events");
        assert_eq!(last["choices"][0]["finish_reason"], "tool_calls");
        // A tool-only answer starts with a null content.
        r.content = "";
        let s = stream(&r, &[], &StreamOptions::default());
        assert_eq!(events(&s)[0]["choices"][0]["delta"]["content"], Value::Null);
    }
}
