//! OpenAI Responses (`/v1/responses`).
//!
//! The scripted finish reason picks the response status: unset, `"completed"`
//! or `"stop"` complete it; `"failed"` fails it (`error.code` is the step's
//! `error_type`, default `server_error`); any other reason (e.g.
//! `"max_output_tokens"`, `"content_filter"`) makes it `incomplete` with that
//! reason. Reasoning models (`gpt-5*`, `o1*`, `o3*`, ...) put a reasoning item
//! before the message, as the real API does, so the message is output 1; a
//! scripted `reasoning` is that item's summary (any model), streamed as
//! `response.reasoning_summary_text.delta` events. Scripted tool calls are
//! `function_call` items after the message (which is left out when the
//! step has tool calls and no content, as the API does), streamed as
//! `output_item.added`, several `function_call_arguments.delta`, `.done` and
//! `output_item.done`. `usage.reasoning_tokens` is reported in
//! `output_tokens_details`.

use bytes::Bytes;
use serde::Serialize;

use hyper::header::HeaderName;

use super::wire::{json_bytes, pieces, typed_event};
use super::{openai, Dialect, ErrorReply, Failure, Platform, Reply, Stream, StreamOptions, Usage};

/// The OpenAI Responses API.
#[derive(Debug)]
pub struct OpenAiResponses;

impl Dialect for OpenAiResponses {
    fn default_model(&self) -> &'static str {
        "gpt-mock"
    }

    fn default_finish_reason(&self) -> &'static str {
        "completed"
    }

    fn request_id(&self, _platform: Platform, n: u64) -> Option<(HeaderName, String)> {
        Some(openai::request_id(n))
    }

    fn answer(&self, reply: &Reply<'_>) -> Bytes {
        response_body(reply)
    }

    fn stream(&self, reply: &Reply<'_>, deltas: &[&str], _opts: &StreamOptions) -> Stream {
        stream(reply, deltas)
    }

    /// Its sequence number counts the events before it.
    fn stream_error(
        &self,
        reply: &Reply<'_>,
        stream: &Stream,
        sent: usize,
        _opts: &StreamOptions,
    ) -> Bytes {
        error_event(stream.head.len() + sent, reply.error_type)
    }

    /// Errors outside a response are Chat Completions' bodies.
    fn error(&self, failure: &Failure<'_>) -> ErrorReply {
        openai::OpenAiChat.error(failure)
    }
}

/// How the response ends, decided by the scripted finish reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome<'a> {
    Completed,
    Incomplete(&'a str),
    Failed,
}

impl<'a> Outcome<'a> {
    fn of(reason: &'a str) -> Outcome<'a> {
        match reason {
            "completed" | "stop" => Outcome::Completed,
            "failed" => Outcome::Failed,
            other => Outcome::Incomplete(other),
        }
    }

    fn status(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Incomplete(_) => "incomplete",
            Outcome::Failed => "failed",
        }
    }

    /// The status of the message item once it is finished.
    fn item_status(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Incomplete(_) | Outcome::Failed => "incomplete",
        }
    }

    /// The terminal stream event.
    fn event(self) -> &'static str {
        match self {
            Outcome::Completed => "response.completed",
            Outcome::Incomplete(_) => "response.incomplete",
            Outcome::Failed => "response.failed",
        }
    }
}

#[derive(Serialize)]
struct Response<'a> {
    id: &'a str,
    object: &'static str,
    created_at: u64,
    status: &'static str,
    background: bool,
    error: Option<ResponseError<'a>>,
    incomplete_details: Option<IncompleteDetails<'a>>,
    instructions: Option<()>,
    max_output_tokens: Option<()>,
    max_tool_calls: Option<()>,
    model: &'a str,
    output: &'a [Item<'a>],
    parallel_tool_calls: bool,
    previous_response_id: Option<()>,
    prompt_cache_key: Option<()>,
    prompt_cache_retention: Option<()>,
    reasoning: ReasoningConfig,
    safety_identifier: Option<()>,
    service_tier: &'static str,
    store: bool,
    temperature: f64,
    text: TextConfig,
    tool_choice: &'static str,
    tools: [(); 0],
    top_logprobs: u32,
    top_p: f64,
    truncation: &'static str,
    usage: Option<WireUsage>,
    user: Option<()>,
    metadata: Empty,
}

#[derive(Serialize)]
struct ResponseError<'a> {
    code: &'a str,
    message: &'a str,
}

#[derive(Serialize)]
struct IncompleteDetails<'a> {
    reason: &'a str,
}

#[derive(Serialize)]
struct ReasoningConfig {
    effort: Option<&'static str>,
    summary: Option<()>,
}

#[derive(Serialize)]
struct TextConfig {
    format: TextFormat,
    verbosity: &'static str,
}

#[derive(Serialize)]
struct TextFormat {
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
#[serde(untagged)]
enum Item<'a> {
    Reasoning(ReasoningItem<'a>),
    Message(MessageItem<'a>),
    FunctionCall(FunctionCallItem<'a>),
}

#[derive(Serialize)]
struct ReasoningItem<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    summary: Vec<SummaryText<'a>>,
}

#[derive(Serialize, Clone, Copy)]
struct SummaryText<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: &'a str,
}

#[derive(Serialize)]
struct FunctionCallItem<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    status: &'static str,
    arguments: &'a str,
    call_id: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
struct MessageItem<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    status: &'static str,
    content: &'a [OutputText<'a>],
    role: &'static str,
}

#[derive(Serialize)]
struct OutputText<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    annotations: [(); 0],
    logprobs: [(); 0],
    text: &'a str,
}

#[derive(Serialize)]
struct WireUsage {
    input_tokens: u64,
    input_tokens_details: InputDetails,
    output_tokens: u64,
    output_tokens_details: OutputDetails,
    total_tokens: u64,
}

#[derive(Serialize)]
struct InputDetails {
    cached_tokens: u64,
}

#[derive(Serialize)]
struct OutputDetails {
    reasoning_tokens: u64,
}

impl From<Usage> for WireUsage {
    fn from(u: Usage) -> Self {
        WireUsage {
            input_tokens: u.input,
            input_tokens_details: InputDetails {
                cached_tokens: u.cached,
            },
            output_tokens: u.output,
            output_tokens_details: OutputDetails {
                reasoning_tokens: u.thoughts,
            },
            total_tokens: u.input + u.output,
        }
    }
}

fn text_part(text: &str) -> OutputText<'_> {
    OutputText {
        kind: "output_text",
        annotations: [],
        logprobs: [],
        text,
    }
}

/// `gpt-5*`, `o1*`, `o3*`, `o4*`, ...: models that answer with a reasoning item.
fn is_reasoning_model(model: &str) -> bool {
    let mut chars = model.chars();
    model.starts_with("gpt-5")
        || (chars.next() == Some('o') && chars.next().is_some_and(|c| c.is_ascii_digit()))
}

/// A scripted tool call with its ids.
struct Call<'a> {
    item_id: String,
    call_id: String,
    name: &'a str,
    arguments: &'a str,
}

/// The ids and fixed parts of one answer, and where its items go: the
/// reasoning item, the message, then the function calls.
struct Ids<'a> {
    response: String,
    reasoning: Option<String>,
    summary: Option<&'a str>,
    /// `None`: no message (tool calls and no content).
    message: Option<String>,
    calls: Vec<Call<'a>>,
}

impl<'a> Ids<'a> {
    fn new(reply: &Reply<'a>) -> Ids<'a> {
        let reasoning = is_reasoning_model(reply.model) || reply.reasoning.is_some();
        let message = reply.has_text();
        Ids {
            response: format!("resp_mock{:016x}", reply.id),
            reasoning: reasoning.then(|| format!("rs_mock{:016x}", reply.id)),
            summary: reply.reasoning,
            message: message.then(|| format!("msg_mock{:016x}", reply.id)),
            calls: reply
                .tool_calls
                .iter()
                .enumerate()
                .map(|(i, c)| Call {
                    item_id: format!("fc_mock{:016x}_{i}", reply.id),
                    call_id: c.id_or(i),
                    name: &c.name,
                    arguments: &c.arguments,
                })
                .collect(),
        }
    }

    /// The reasoning item, with its summary once it is done.
    fn reasoning_item(&self, done: bool) -> Option<Item<'_>> {
        self.reasoning.as_deref().map(|id| {
            Item::Reasoning(ReasoningItem {
                id,
                kind: "reasoning",
                summary: self
                    .summary
                    .filter(|_| done)
                    .map(summary_text)
                    .into_iter()
                    .collect(),
            })
        })
    }

    /// Output index of the message item (or of the first call without one).
    fn message_index(&self) -> u32 {
        u32::from(self.reasoning.is_some())
    }

    /// Output index of the `i`-th function call.
    fn call_index(&self, i: usize) -> u32 {
        self.message_index() + u32::from(self.message.is_some()) + i as u32
    }

    fn call_item(&self, i: usize, status: &'static str, with_arguments: bool) -> Item<'_> {
        let c = &self.calls[i];
        Item::FunctionCall(FunctionCallItem {
            id: &c.item_id,
            kind: "function_call",
            status,
            arguments: if with_arguments { c.arguments } else { "" },
            call_id: &c.call_id,
            name: c.name,
        })
    }
}

fn summary_text(text: &str) -> SummaryText<'_> {
    SummaryText {
        kind: "summary_text",
        text,
    }
}

fn message_item<'a>(
    id: &'a str,
    status: &'static str,
    content: &'a [OutputText<'a>],
) -> MessageItem<'a> {
    MessageItem {
        id,
        kind: "message",
        status,
        content,
        role: "assistant",
    }
}

/// The response object, in progress (`outcome` `None`) or finished.
fn response<'a>(
    reply: &'a Reply<'_>,
    ids: &'a Ids<'_>,
    outcome: Option<Outcome<'a>>,
    error: Option<ResponseError<'a>>,
    output: &'a [Item<'a>],
) -> Response<'a> {
    Response {
        id: &ids.response,
        object: "response",
        created_at: reply.created,
        status: outcome.map_or("in_progress", Outcome::status),
        background: false,
        error,
        incomplete_details: match outcome {
            Some(Outcome::Incomplete(reason)) => Some(IncompleteDetails { reason }),
            _ => None,
        },
        instructions: None,
        max_output_tokens: None,
        max_tool_calls: None,
        model: reply.model,
        output,
        parallel_tool_calls: true,
        previous_response_id: None,
        prompt_cache_key: None,
        prompt_cache_retention: None,
        reasoning: ReasoningConfig {
            effort: ids.reasoning.as_ref().map(|_| "medium"),
            summary: None,
        },
        safety_identifier: None,
        service_tier: "default",
        store: true,
        temperature: 1.0,
        text: TextConfig {
            format: TextFormat { kind: "text" },
            verbosity: "medium",
        },
        tool_choice: "auto",
        tools: [],
        top_logprobs: 0,
        top_p: 1.0,
        truncation: "disabled",
        usage: match outcome {
            Some(Outcome::Completed | Outcome::Incomplete(_)) => Some(reply.usage.into()),
            _ => None,
        },
        user: None,
        metadata: Empty {},
    }
}

/// `error.code` and message of a failed response or a mid-stream error.
fn error_of(code: Option<&str>) -> ResponseError<'_> {
    let code = code.unwrap_or("server_error");
    let message = match code {
        "server_error" => {
            "An error occurred while processing your request. You can retry your request, or contact us through our help center at help.openai.com if the error persists."
        }
        "rate_limit_exceeded" => {
            "Rate limit reached for requests per min (RPM). Please try again in 1s."
        }
        "invalid_prompt" => "Invalid prompt: the mock was scripted to reject this prompt.",
        _ => "The mock was scripted to fail this response.",
    };
    ResponseError { code, message }
}

/// The output of a finished response: none when it failed.
fn final_output<'a>(
    ids: &'a Ids<'a>,
    outcome: Outcome<'_>,
    content: &'a [OutputText<'a>],
) -> Vec<Item<'a>> {
    if outcome == Outcome::Failed {
        return Vec::new();
    }
    let mut output: Vec<Item<'a>> = ids.reasoning_item(true).into_iter().collect();
    if let Some(id) = &ids.message {
        output.push(Item::Message(message_item(
            id,
            outcome.item_status(),
            content,
        )));
    }
    output.extend((0..ids.calls.len()).map(|i| ids.call_item(i, "completed", true)));
    output
}

fn final_error<'a>(outcome: Outcome<'_>, error_type: Option<&'a str>) -> Option<ResponseError<'a>> {
    (outcome == Outcome::Failed).then(|| error_of(error_type))
}

/// The non-streaming answer. The step's `error_type` sets the code of a
/// failed response.
fn response_body(reply: &Reply<'_>) -> Bytes {
    let ids = Ids::new(reply);
    let outcome = Outcome::of(reply.finish_reason);
    let content = [text_part(reply.content)];
    let output = final_output(&ids, outcome, &content);
    json_bytes(&response(
        reply,
        &ids,
        Some(outcome),
        final_error(outcome, reply.error_type),
        &output,
    ))
}

#[derive(Serialize)]
struct Lifecycle<'a> {
    sequence_number: u64,
    response: Response<'a>,
}

#[derive(Serialize)]
struct OutputItemEvent<'a> {
    sequence_number: u64,
    output_index: u32,
    item: Item<'a>,
}

#[derive(Serialize)]
struct ContentPartEvent<'a> {
    sequence_number: u64,
    item_id: &'a str,
    output_index: u32,
    content_index: u32,
    part: OutputText<'a>,
}

#[derive(Serialize)]
struct TextDeltaEvent<'a> {
    sequence_number: u64,
    item_id: &'a str,
    output_index: u32,
    content_index: u32,
    delta: &'a str,
    logprobs: [(); 0],
}

#[derive(Serialize)]
struct TextDoneEvent<'a> {
    sequence_number: u64,
    item_id: &'a str,
    output_index: u32,
    content_index: u32,
    text: &'a str,
    logprobs: [(); 0],
}

#[derive(Serialize)]
struct ErrorEvent<'a> {
    code: &'a str,
    message: &'a str,
    param: Option<()>,
    sequence_number: u64,
}

/// Hands out `sequence_number`s in order.
struct Seq(u64);

impl Seq {
    fn next(&mut self) -> u64 {
        let n = self.0;
        self.0 += 1;
        n
    }
}

#[derive(Serialize)]
struct SummaryPartEvent<'a> {
    sequence_number: u64,
    item_id: &'a str,
    output_index: u32,
    summary_index: u32,
    part: SummaryText<'a>,
}

#[derive(Serialize)]
struct SummaryDeltaEvent<'a> {
    sequence_number: u64,
    item_id: &'a str,
    output_index: u32,
    summary_index: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    delta: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
}

#[derive(Serialize)]
struct ArgumentsEvent<'a> {
    sequence_number: u64,
    item_id: &'a str,
    output_index: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    delta: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    arguments: Option<&'a str>,
}

/// The events of the reasoning item: added, its summary streamed in
/// pieces, done.
fn reasoning_events(ids: &Ids<'_>, seq: &mut Seq, out: &mut Vec<Bytes>) {
    let Some(id) = ids.reasoning.as_deref() else {
        return;
    };
    let item_event = |kind: &'static str, seq: &mut Seq, done: bool| {
        ids.reasoning_item(done).map(|item| {
            typed_event(
                kind,
                &OutputItemEvent {
                    sequence_number: seq.next(),
                    output_index: 0,
                    item,
                },
            )
        })
    };
    out.extend(item_event("response.output_item.added", seq, false));
    if let Some(summary) = ids.summary {
        let part_event = |kind: &'static str, seq: &mut Seq, text: &'static str| {
            typed_event(
                kind,
                &SummaryPartEvent {
                    sequence_number: seq.next(),
                    item_id: id,
                    output_index: 0,
                    summary_index: 0,
                    part: summary_text(text),
                },
            )
        };
        out.push(part_event("response.reasoning_summary_part.added", seq, ""));
        for piece in summary.split_inclusive(' ') {
            out.push(typed_event(
                "response.reasoning_summary_text.delta",
                &SummaryDeltaEvent {
                    sequence_number: seq.next(),
                    item_id: id,
                    output_index: 0,
                    summary_index: 0,
                    delta: Some(piece),
                    text: None,
                },
            ));
        }
        out.push(typed_event(
            "response.reasoning_summary_text.done",
            &SummaryDeltaEvent {
                sequence_number: seq.next(),
                item_id: id,
                output_index: 0,
                summary_index: 0,
                delta: None,
                text: Some(summary),
            },
        ));
        out.push(typed_event(
            "response.reasoning_summary_part.done",
            &SummaryPartEvent {
                sequence_number: seq.next(),
                item_id: id,
                output_index: 0,
                summary_index: 0,
                part: summary_text(summary),
            },
        ));
    }
    out.extend(item_event("response.output_item.done", seq, true));
}

/// The events of the `i`-th function call: added, its arguments in
/// several pieces, their whole text, done.
fn call_events(ids: &Ids<'_>, i: usize, seq: &mut Seq, out: &mut Vec<Bytes>) {
    let index = ids.call_index(i);
    let call = &ids.calls[i];
    for (kind, status, with_arguments) in [
        ("response.output_item.added", "in_progress", false),
        ("response.output_item.done", "completed", true),
    ] {
        if with_arguments {
            for piece in pieces(call.arguments, 3) {
                out.push(typed_event(
                    "response.function_call_arguments.delta",
                    &ArgumentsEvent {
                        sequence_number: seq.next(),
                        item_id: &call.item_id,
                        output_index: index,
                        delta: Some(piece),
                        arguments: None,
                    },
                ));
            }
            out.push(typed_event(
                "response.function_call_arguments.done",
                &ArgumentsEvent {
                    sequence_number: seq.next(),
                    item_id: &call.item_id,
                    output_index: index,
                    delta: None,
                    arguments: Some(call.arguments),
                },
            ));
        }
        out.push(typed_event(
            kind,
            &OutputItemEvent {
                sequence_number: seq.next(),
                output_index: index,
                item: ids.call_item(i, status, with_arguments),
            },
        ));
    }
}

fn stream(reply: &Reply<'_>, deltas: &[&str]) -> Stream {
    let ids = Ids::new(reply);
    let outcome = Outcome::of(reply.finish_reason);
    let msg_index = ids.message_index();
    let mut seq = Seq(0);

    let mut head = Vec::with_capacity(8);
    for kind in ["response.created", "response.in_progress"] {
        head.push(typed_event(
            kind,
            &Lifecycle {
                sequence_number: seq.next(),
                response: response(reply, &ids, None, None, &[]),
            },
        ));
    }
    // The reasoning item comes and goes before the message.
    reasoning_events(&ids, &mut seq, &mut head);
    let message = ids.message.as_deref();
    if let Some(message) = message {
        head.push(typed_event(
            "response.output_item.added",
            &OutputItemEvent {
                sequence_number: seq.next(),
                output_index: msg_index,
                item: Item::Message(message_item(message, "in_progress", &[])),
            },
        ));
        head.push(typed_event(
            "response.content_part.added",
            &ContentPartEvent {
                sequence_number: seq.next(),
                item_id: message,
                output_index: msg_index,
                content_index: 0,
                part: text_part(""),
            },
        ));
    }

    let deltas: Vec<Bytes> = match message {
        None => Vec::new(),
        Some(message) => deltas
            .iter()
            .map(|delta| {
                typed_event(
                    "response.output_text.delta",
                    &TextDeltaEvent {
                        sequence_number: seq.next(),
                        item_id: message,
                        output_index: msg_index,
                        content_index: 0,
                        delta,
                        logprobs: [],
                    },
                )
            })
            .collect(),
    };

    let mut tail = Vec::with_capacity(4 + 6 * ids.calls.len());
    let content = [text_part(reply.content)];
    if outcome != Outcome::Failed {
        if let Some(message) = message {
            tail.push(typed_event(
                "response.output_text.done",
                &TextDoneEvent {
                    sequence_number: seq.next(),
                    item_id: message,
                    output_index: msg_index,
                    content_index: 0,
                    text: reply.content,
                    logprobs: [],
                },
            ));
            tail.push(typed_event(
                "response.content_part.done",
                &ContentPartEvent {
                    sequence_number: seq.next(),
                    item_id: message,
                    output_index: msg_index,
                    content_index: 0,
                    part: text_part(reply.content),
                },
            ));
            tail.push(typed_event(
                "response.output_item.done",
                &OutputItemEvent {
                    sequence_number: seq.next(),
                    output_index: msg_index,
                    item: Item::Message(message_item(message, outcome.item_status(), &content)),
                },
            ));
        }
        for i in 0..ids.calls.len() {
            call_events(&ids, i, &mut seq, &mut tail);
        }
    }
    let output = final_output(&ids, outcome, &content);
    let kind = outcome.event();
    tail.push(typed_event(
        kind,
        &Lifecycle {
            sequence_number: seq.next(),
            response: response(
                reply,
                &ids,
                Some(outcome),
                final_error(outcome, reply.error_type),
                &output,
            ),
        },
    ));

    let error = error_event(head.len() + deltas.len(), reply.error_type);
    Stream {
        head,
        deltas,
        tail,
        error,
    }
}

/// The `error` event sent after `sent` events of the stream (its sequence
/// number). `error_type` sets its code, default `server_error`.
fn error_event(sent: usize, error_type: Option<&str>) -> Bytes {
    let e = error_of(error_type);
    typed_event(
        "error",
        &ErrorEvent {
            code: e.code,
            message: e.message,
            param: None,
            sequence_number: sent as u64,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn reply(model: &'static str, finish_reason: &'static str) -> Reply<'static> {
        Reply {
            platform: Platform::Native,
            id: 1,
            created: 2,
            model,
            content: "a b",
            reasoning: None,
            tool_calls: &[],
            finish_reason,
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

    fn body(reply: &Reply<'_>, error_type: Option<&str>) -> Value {
        let reply = Reply {
            error_type,
            ..*reply
        };
        serde_json::from_slice(&response_body(&reply)).expect("json")
    }

    fn events(s: &Stream) -> Vec<Value> {
        s.head
            .iter()
            .chain(&s.deltas)
            .chain(&s.tail)
            .map(|e| {
                let text = std::str::from_utf8(e).expect("utf8");
                let data = text.split_once("\ndata: ").expect("data line").1;
                serde_json::from_str(data.trim_end()).expect("json")
            })
            .collect()
    }

    #[test]
    fn completed_shape() {
        let v = body(&reply("gpt-x", "completed"), None);
        assert_eq!(v["object"], "response");
        assert_eq!(v["status"], "completed");
        assert_eq!(v["error"], Value::Null);
        assert_eq!(v["incomplete_details"], Value::Null);
        assert_eq!(v["metadata"], json!({}));
        assert_eq!(
            v["output"],
            json!([{"id": "msg_mock0000000000000001", "type": "message", "status": "completed",
                    "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": "a b"}],
                    "role": "assistant"}])
        );
        assert_eq!(v["usage"]["total_tokens"], 20);
        assert_eq!(v["usage"]["input_tokens_details"]["cached_tokens"], 3);
    }

    #[test]
    fn reasoning_models_add_a_reasoning_item() {
        for (model, reasoning) in [
            ("gpt-5", true),
            ("gpt-5-mini", true),
            ("o3-mini", true),
            ("o4", true),
            ("gpt-4o", false),
            ("omni", false),
            ("o", false),
        ] {
            assert_eq!(is_reasoning_model(model), reasoning, "{model}");
        }
        let v = body(&reply("gpt-5", "stop"), None);
        assert_eq!(v["output"][0]["type"], "reasoning");
        assert_eq!(v["output"][1]["type"], "message");
        let ev = events(&stream(&reply("gpt-5", "stop"), &["a", " b"]));
        let delta = ev
            .iter()
            .find(|e| e["type"] == "response.output_text.delta")
            .expect("delta");
        assert_eq!(delta["output_index"], 1);
    }

    #[test]
    fn incomplete_and_failed() {
        let v = body(&reply("gpt-x", "max_output_tokens"), None);
        assert_eq!(v["status"], "incomplete");
        assert_eq!(
            v["incomplete_details"],
            json!({"reason": "max_output_tokens"})
        );
        assert_eq!(v["output"][0]["status"], "incomplete");
        let v = body(&reply("gpt-x", "failed"), Some("rate_limit_exceeded"));
        assert_eq!(v["status"], "failed");
        assert_eq!(v["error"]["code"], "rate_limit_exceeded");
        assert_eq!(v["output"], json!([]));
        assert_eq!(v["usage"], Value::Null);
    }

    #[test]
    fn sequence_numbers_count_every_event() {
        let s = stream(&reply("gpt-5", "completed"), &["a", " b"]);
        let ev = events(&s);
        for (i, e) in ev.iter().enumerate() {
            assert_eq!(e["sequence_number"], i as u64);
        }
        let err: Value = {
            let text = String::from_utf8(s.error.to_vec()).expect("utf8");
            serde_json::from_str(text.split_once("\ndata: ").expect("data").1.trim_end())
                .expect("json")
        };
        assert_eq!(
            err["sequence_number"],
            (s.head.len() + s.deltas.len()) as u64
        );
    }

    fn calls() -> Vec<crate::step::ToolCallSpec> {
        vec![
            crate::step::ToolCallSpec {
                id: Some("call_A".into()),
                name: "get_weather".into(),
                arguments: r#"{"location":"Paris","unit":"celsius"}"#.into(),
            },
            crate::step::ToolCallSpec {
                id: None,
                name: "get_time".into(),
                arguments: "{}".into(),
            },
        ]
    }

    #[test]
    fn tool_calls_are_function_call_items_and_replace_an_empty_message() {
        let calls = calls();
        let mut r = reply("gpt-4o", "stop");
        r.content = "";
        r.tool_calls = &calls;
        let v = body(&r, None);
        assert_eq!(
            v["output"],
            json!([
                {"id": "fc_mock0000000000000001_0", "type": "function_call", "status": "completed",
                 "arguments": "{\"location\":\"Paris\",\"unit\":\"celsius\"}", "call_id": "call_A",
                 "name": "get_weather"},
                {"id": "fc_mock0000000000000001_1", "type": "function_call", "status": "completed",
                 "arguments": "{}", "call_id": "call_mock_1", "name": "get_time"}
            ])
        );
        // With text too, the message comes first.
        r.content = "Checking.";
        let v = body(&r, None);
        let types: Vec<&str> = v["output"]
            .as_array()
            .expect("output")
            .iter()
            .map(|i| i["type"].as_str().expect("type"))
            .collect();
        assert_eq!(types, ["message", "function_call", "function_call"]);
    }

    #[test]
    fn streamed_tool_calls_come_in_pieces() {
        let calls = calls();
        let mut r = reply("gpt-5", "stop");
        r.content = "";
        r.tool_calls = &calls;
        let s = stream(&r, &[]);
        assert!(s.deltas.is_empty());
        let ev = events(&s);
        for (i, e) in ev.iter().enumerate() {
            assert_eq!(e["sequence_number"], i as u64);
        }
        assert!(!ev
            .iter()
            .any(|e| e["type"] == "response.output_text.delta" || e["item"]["type"] == "message"));
        let pieces: String = ev
            .iter()
            .filter(|e| e["type"] == "response.function_call_arguments.delta")
            .filter(|e| e["output_index"] == 1)
            .map(|e| e["delta"].as_str().expect("delta"))
            .collect();
        assert_eq!(pieces, calls[0].arguments);
        let count = ev
            .iter()
            .filter(|e| {
                e["type"] == "response.function_call_arguments.delta" && e["output_index"] == 1
            })
            .count();
        assert_eq!(count, 3);
        let added: Vec<&Value> = ev
            .iter()
            .filter(|e| {
                e["type"] == "response.output_item.added" && e["item"]["type"] == "function_call"
            })
            .collect();
        assert_eq!(added.len(), 2);
        assert_eq!(added[1]["output_index"], 2);
        assert_eq!(added[1]["item"]["call_id"], "call_mock_1");
        assert_eq!(added[1]["item"]["arguments"], "");
        let done = ev
            .iter()
            .find(|e| {
                e["type"] == "response.function_call_arguments.done" && e["output_index"] == 2
            })
            .expect("done");
        assert_eq!(done["arguments"], "{}");
        let last = ev.last().expect("events");
        assert_eq!(last["type"], "response.completed");
        assert_eq!(last["response"]["output"][2]["name"], "get_time");
    }

    #[test]
    fn reasoning_is_a_summary_plain_and_streamed() {
        let mut r = reply("gpt-4o", "stop");
        r.reasoning = Some("Think it through.");
        r.usage.thoughts = 5;
        let v = body(&r, None);
        assert_eq!(
            v["output"][0],
            json!({"id": "rs_mock0000000000000001", "type": "reasoning",
                   "summary": [{"type": "summary_text", "text": "Think it through."}]})
        );
        assert_eq!(v["output"][1]["type"], "message");
        assert_eq!(v["usage"]["output_tokens_details"]["reasoning_tokens"], 5);
        let ev = events(&stream(&r, &["a", " b"]));
        let summary: Vec<&str> = ev
            .iter()
            .filter(|e| e["type"] == "response.reasoning_summary_text.delta")
            .map(|e| e["delta"].as_str().expect("delta"))
            .collect();
        assert_eq!(summary, ["Think ", "it ", "through."]);
        let added = ev
            .iter()
            .find(|e| e["type"] == "response.output_item.added")
            .expect("added");
        assert_eq!(added["item"]["summary"], json!([]));
        let text_delta = ev
            .iter()
            .position(|e| e["type"] == "response.output_text.delta")
            .expect("text");
        let last_summary = ev
            .iter()
            .rposition(|e| e["type"] == "response.reasoning_summary_text.delta")
            .expect("summary");
        assert!(last_summary < text_delta);
        assert_eq!(
            ev.last().expect("events")["response"]["output"][0]["summary"][0]["text"],
            "Think it through."
        );
    }
}
