//! Gemini `generateContent` / `streamGenerateContent`, on the Gemini API
//! (`generativelanguage.googleapis.com`) and on Vertex AI.
//!
//! Shapes follow recorded traffic (Firebase's SDK test data, req_llm
//! cassettes): a stream is one `GenerateContentResponse` per `data:` event,
//! CRLF-framed, the last one carrying `finishReason` and the full
//! `usageMetadata`, and no end sentinel; without `alt=sse` the same objects
//! arrive as one JSON array.

use bytes::Bytes;
use serde::Serialize;

use super::{json_bytes, write_json, Reply, Stream, StreamOptions, Usage};

pub const JSON: &str = "application/json; charset=UTF-8";

/// The two hosts differ in details: Vertex reports `trafficType` and no
/// counts before the last chunk, and words its errors differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    GeminiApi,
    Vertex,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Response<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    candidates: Option<[Candidate<'a>; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_feedback: Option<PromptFeedback<'a>>,
    usage_metadata: UsageMetadata,
    model_version: &'a str,
    response_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Candidate<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<Content<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finish_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    safety_ratings: Option<[SafetyRating; 4]>,
}

#[derive(Serialize)]
struct Content<'a> {
    parts: Vec<Part<'a>>,
    role: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Part<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "is_false")]
    thought: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    function_call: Option<FunctionCall<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thought_signature: Option<&'static str>,
}

#[derive(Serialize)]
struct FunctionCall<'a> {
    /// Gemini's calls have no id; one is sent only when the step scripts it.
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    name: &'a str,
    args: serde_json::Value,
}

/// The signature thinking models put on the first call of an answer
/// (opaque to the client; recorded ones are base64).
const THOUGHT_SIGNATURE: &str = "CiQBbW9jay10aG91Z2h0LXNpZ25hdHVyZQ==";

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback<'a> {
    block_reason: &'a str,
    safety_ratings: [SafetyRating; 4],
}

#[derive(Serialize)]
struct SafetyRating {
    category: &'static str,
    probability: &'static str,
    #[serde(skip_serializing_if = "is_false")]
    blocked: bool,
}

/// The four categories every rating list has; `flagged` is rated HIGH and
/// marked as the one that blocked.
fn safety_ratings(flagged: Option<&str>) -> [SafetyRating; 4] {
    [
        "HARM_CATEGORY_HATE_SPEECH",
        "HARM_CATEGORY_DANGEROUS_CONTENT",
        "HARM_CATEGORY_HARASSMENT",
        "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    ]
    .map(|category| {
        let blocked = flagged == Some(category);
        SafetyRating {
            category,
            probability: if blocked { "HIGH" } else { "NEGLIGIBLE" },
            blocked,
        }
    })
}

/// A SAFETY finish is blamed on dangerous content; anything else is clean.
fn candidate_ratings(finish_reason: &str) -> [SafetyRating; 4] {
    safety_ratings((finish_reason == "SAFETY").then_some("HARM_CATEGORY_DANGEROUS_CONTENT"))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_token_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    candidates_token_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_token_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cached_content_token_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    traffic_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_tokens_details: Option<[ModalityCount; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thoughts_token_count: Option<u64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ModalityCount {
    modality: &'static str,
    token_count: u64,
}

fn nonzero(n: u64) -> Option<u64> {
    (n > 0).then_some(n)
}

impl UsageMetadata {
    /// Everything counted: the non-streaming answer and the last chunk.
    /// `promptTokenCount` includes the cached tokens; the total adds the
    /// thoughts, which are not part of `candidatesTokenCount`.
    fn complete(u: Usage, flavor: Flavor) -> UsageMetadata {
        UsageMetadata {
            prompt_token_count: Some(u.input),
            candidates_token_count: nonzero(u.output),
            total_token_count: Some(u.input + u.output + u.thoughts),
            cached_content_token_count: nonzero(u.cached),
            traffic_type: (flavor == Flavor::Vertex).then_some("ON_DEMAND"),
            prompt_tokens_details: Some([ModalityCount {
                modality: "TEXT",
                token_count: u.input,
            }]),
            thoughts_token_count: nonzero(u.thoughts),
        }
    }

    /// Before the last chunk: the Gemini API repeats the prompt count, Vertex
    /// only says `trafficType`.
    fn partial(u: Usage, flavor: Flavor) -> UsageMetadata {
        match flavor {
            Flavor::GeminiApi => UsageMetadata::prompt_only(u, flavor),
            Flavor::Vertex => UsageMetadata {
                prompt_token_count: None,
                candidates_token_count: None,
                total_token_count: None,
                cached_content_token_count: None,
                traffic_type: Some("ON_DEMAND"),
                prompt_tokens_details: None,
                thoughts_token_count: None,
            },
        }
    }

    /// Nothing generated: a blocked prompt.
    fn prompt_only(u: Usage, flavor: Flavor) -> UsageMetadata {
        UsageMetadata {
            prompt_token_count: Some(u.input),
            candidates_token_count: None,
            total_token_count: Some(u.input),
            cached_content_token_count: nonzero(u.cached),
            traffic_type: (flavor == Flavor::Vertex).then_some("ON_DEMAND"),
            prompt_tokens_details: Some([ModalityCount {
                modality: "TEXT",
                token_count: u.input,
            }]),
            thoughts_token_count: None,
        }
    }
}

fn response_id(n: u64) -> String {
    format!("mockResp{n:015x}")
}

fn text_part(text: &str) -> Part<'_> {
    Part {
        text: Some(text),
        thought: false,
        function_call: None,
        thought_signature: None,
    }
}

fn thought_part(text: &str) -> Part<'_> {
    Part {
        thought: true,
        ..text_part(text)
    }
}

/// The scripted tool calls as `functionCall` parts, `args` the scripted
/// arguments' JSON (a text that is not JSON is sent as a JSON string, for
/// a client to refuse), the first one signed.
fn call_parts<'a>(reply: &'a Reply<'a>) -> Vec<Part<'a>> {
    reply
        .tool_calls
        .iter()
        .enumerate()
        .map(|(i, call)| Part {
            text: None,
            thought: false,
            function_call: Some(FunctionCall {
                id: call.id.as_deref(),
                name: &call.name,
                args: serde_json::from_str(&call.arguments)
                    .unwrap_or_else(|_| serde_json::Value::String(call.arguments.clone())),
            }),
            thought_signature: (i == 0).then_some(THOUGHT_SIGNATURE),
        })
        .collect()
}

/// The thought part's text: `thoughts`, else the dialect-neutral `reasoning`.
fn thoughts<'a>(reply: &Reply<'a>) -> Option<&'a str> {
    reply.thoughts.or(reply.reasoning)
}

/// One response object: the whole answer or one chunk of it.
struct Builder<'a> {
    reply: &'a Reply<'a>,
    id: String,
    flavor: Flavor,
}

impl<'a> Builder<'a> {
    fn new(reply: &'a Reply<'a>, flavor: Flavor) -> Builder<'a> {
        Builder {
            reply,
            id: response_id(reply.id),
            flavor,
        }
    }

    /// A candidate with `parts` (no `content` at all when empty, as Google
    /// sends a candidate that produced nothing); `last` adds the finish
    /// reason, index, ratings and full usage.
    fn candidate(&self, parts: Vec<Part<'_>>, last: bool) -> Bytes {
        let reply = self.reply;
        let content = (!parts.is_empty()).then_some(Content {
            parts,
            role: "model",
        });
        json_bytes(&Response {
            candidates: Some([Candidate {
                content,
                finish_reason: last.then_some(reply.finish_reason),
                index: last.then_some(0),
                safety_ratings: last.then(|| candidate_ratings(reply.finish_reason)),
            }]),
            prompt_feedback: None,
            usage_metadata: if last {
                UsageMetadata::complete(reply.usage, self.flavor)
            } else {
                UsageMetadata::partial(reply.usage, self.flavor)
            },
            model_version: reply.model,
            response_id: &self.id,
        })
    }

    fn blocked(&self, reason: &str) -> Bytes {
        let flagged = (reason == "SAFETY").then_some("HARM_CATEGORY_HATE_SPEECH");
        json_bytes(&Response {
            candidates: None,
            prompt_feedback: Some(PromptFeedback {
                block_reason: reason,
                safety_ratings: safety_ratings(flagged),
            }),
            usage_metadata: UsageMetadata::prompt_only(self.reply.usage, self.flavor),
            model_version: self.reply.model,
            response_id: &self.id,
        })
    }
}

/// The non-streaming `generateContent` answer.
pub fn response(reply: &Reply<'_>, flavor: Flavor) -> Bytes {
    let b = Builder::new(reply, flavor);
    if let Some(reason) = reply.block_reason {
        return b.blocked(reason);
    }
    let mut parts = Vec::with_capacity(2 + reply.tool_calls.len());
    parts.extend(thoughts(reply).map(thought_part));
    if !reply.content.is_empty() {
        parts.push(text_part(reply.content));
    }
    parts.extend(call_parts(reply));
    b.candidate(parts, true)
}

/// The streamed answer: a thought chunk if scripted, then one chunk per
/// delta, the last delta's chunk finishing the answer. Tool calls come
/// whole, all in one final chunk after the text, as Gemini streams them.
/// With no delta and no call a final chunk without content finishes it.
pub fn stream(
    reply: &Reply<'_>,
    deltas: &[&str],
    opts: &StreamOptions<'_>,
    flavor: Flavor,
) -> Stream {
    let b = Builder::new(reply, flavor);
    let mut objects_head = Vec::new();
    let mut objects_deltas = Vec::new();
    let mut objects_tail = Vec::new();
    if let Some(reason) = reply.block_reason {
        objects_head.push(b.blocked(reason));
    } else {
        if let Some(thoughts) = thoughts(reply) {
            objects_head.push(b.candidate(vec![thought_part(thoughts)], false));
        }
        let calls = call_parts(reply);
        let last = deltas.len().checked_sub(1).filter(|_| calls.is_empty());
        for (i, text) in deltas.iter().enumerate() {
            objects_deltas.push(b.candidate(vec![text_part(text)], Some(i) == last));
        }
        if !calls.is_empty() || deltas.is_empty() {
            objects_tail.push(b.candidate(calls, true));
        }
    }
    let frame = Framer {
        json_array: opts.json_array,
    };
    let head_len = objects_head.len();
    let head: Vec<Bytes> = objects_head
        .iter()
        .enumerate()
        .map(|(i, o)| frame.element(i, o))
        .collect();
    let deltas: Vec<Bytes> = objects_deltas
        .iter()
        .enumerate()
        .map(|(i, o)| frame.element(head_len + i, o))
        .collect();
    let before_tail = head.len() + deltas.len();
    let mut tail: Vec<Bytes> = objects_tail
        .iter()
        .enumerate()
        .map(|(i, o)| frame.element(before_tail + i, o))
        .collect();
    if opts.json_array {
        tail.push(Bytes::from_static(b"]"));
    }
    let error = error_event(before_tail, opts);
    Stream {
        head,
        deltas,
        tail,
        error,
    }
}

/// How objects are laid out in the body: SSE events, or array elements.
struct Framer {
    json_array: bool,
}

impl Framer {
    /// Object number `index` of the body.
    fn element(&self, index: usize, json: &Bytes) -> Bytes {
        let mut out = Vec::with_capacity(json.len() + 10);
        if self.json_array {
            out.extend_from_slice(if index == 0 { b"[" } else { b",\r\n" });
            out.extend_from_slice(json);
        } else {
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(json);
            out.extend_from_slice(b"\r\n\r\n");
        }
        Bytes::from(out)
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: u16,
    message: &'a str,
    status: &'a str,
}

/// The error object sent inside a stream after `sent` objects, then the
/// body ends: `data: {"error": …}` (or the array's last element). The
/// status comes from `error_type` (default `INTERNAL`), the code from it.
pub fn error_event(sent: usize, opts: &StreamOptions<'_>) -> Bytes {
    let status = opts.error_type.unwrap_or("INTERNAL");
    let code = code_of(status).unwrap_or(500);
    let message = message_of(status, "", "", Flavor::GeminiApi);
    let mut json = Vec::with_capacity(160);
    write_json(
        &mut json,
        &ErrorBody {
            error: ErrorDetail {
                code,
                message: &message,
                status,
            },
        },
    );
    let mut event = Framer {
        json_array: opts.json_array,
    }
    .element(sent, &Bytes::from(json))
    .to_vec();
    if opts.json_array {
        event.push(b']');
    }
    Bytes::from(event)
}

/// An HTTP error: `{"error": {"code", "message", "status"}}`, the status
/// string chosen from the HTTP status unless `error_type` names one.
pub fn error(
    status: u16,
    error_type: Option<&str>,
    model: &str,
    path: &str,
    flavor: Flavor,
) -> Bytes {
    let name = error_type.unwrap_or_else(|| status_of(status));
    let message = message_of(name, model, path, flavor);
    json_bytes(&ErrorBody {
        error: ErrorDetail {
            code: status,
            message: &message,
            status: name,
        },
    })
}

/// Google's canonical status for an HTTP status.
fn status_of(http: u16) -> &'static str {
    match http {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        s if s >= 500 => "INTERNAL",
        _ => "INVALID_ARGUMENT",
    }
}

/// The HTTP status Google sends with a canonical status.
fn code_of(status: &str) -> Option<u16> {
    Some(match status {
        "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" => 400,
        "UNAUTHENTICATED" => 401,
        "PERMISSION_DENIED" => 403,
        "NOT_FOUND" => 404,
        "ABORTED" | "ALREADY_EXISTS" => 409,
        "RESOURCE_EXHAUSTED" => 429,
        "CANCELLED" => 499,
        "INTERNAL" | "UNKNOWN" | "DATA_LOSS" => 500,
        "UNIMPLEMENTED" => 501,
        "UNAVAILABLE" => 503,
        "DEADLINE_EXCEEDED" => 504,
        _ => return None,
    })
}

/// What Google says with each status (messages taken from real answers).
fn message_of(status: &str, model: &str, path: &str, flavor: Flavor) -> String {
    let text = match (status, flavor) {
        ("INVALID_ARGUMENT", _) => "Request contains an invalid argument.",
        ("FAILED_PRECONDITION", _) => "User location is not supported for the API use.",
        ("UNAUTHENTICATED", _) => {
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
        }
        ("PERMISSION_DENIED", _) => "The caller does not have permission",
        ("NOT_FOUND", Flavor::GeminiApi) => {
            return format!(
                "models/{model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods."
            )
        }
        ("NOT_FOUND", Flavor::Vertex) => {
            return format!(
                "Publisher Model `{}` was not found or your project does not have access to it. Please ensure you are using a valid model version. For more information, see: https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions",
                vertex_resource(path, model)
            )
        }
        ("ABORTED", _) => "The operation was aborted.",
        ("RESOURCE_EXHAUSTED", Flavor::GeminiApi) => {
            "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits."
        }
        ("RESOURCE_EXHAUSTED", Flavor::Vertex) => {
            "Resource exhausted. Please try again later. Please refer to https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429 for more details."
        }
        ("CANCELLED", _) => "The operation was cancelled.",
        ("INTERNAL", _) => {
            "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"
        }
        ("UNIMPLEMENTED", _) => "Operation is not implemented, or supported, or enabled.",
        ("UNAVAILABLE", _) => "The model is overloaded. Please try again later.",
        ("DEADLINE_EXCEEDED", _) => "Deadline expired before operation could complete.",
        _ => "The mock was scripted to fail this request.",
    };
    text.to_owned()
}

/// `projects/…/models/{model}` out of a Vertex path.
fn vertex_resource(path: &str, model: &str) -> String {
    match path.find("projects/") {
        Some(i) => {
            let rest = &path[i..];
            rest.split(':').next().unwrap_or(rest).to_owned()
        }
        None => format!("publishers/google/models/{model}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn reply(content: &'static str, finish_reason: &'static str) -> Reply<'static> {
        Reply {
            id: 1,
            created: 2,
            model: "gemini-2.5-flash",
            content,
            reasoning: None,
            tool_calls: &[],
            finish_reason,
            usage: Usage {
                input: 12,
                output: 8,
                cached: 0,
                cache_creation: 0,
                thoughts: 0,
            },
            thoughts: None,
            block_reason: None,
        }
    }

    fn data(event: &Bytes) -> Value {
        let text = std::str::from_utf8(event).expect("utf8");
        let json = text
            .strip_prefix("data: ")
            .and_then(|t| t.strip_suffix("\r\n\r\n"))
            .expect("CRLF data event");
        serde_json::from_str(json).expect("json")
    }

    #[test]
    fn plain_answer_shape() {
        let v: Value = serde_json::from_slice(&response(&reply("a b", "STOP"), Flavor::GeminiApi))
            .expect("json");
        assert_eq!(
            v["candidates"][0]["content"],
            json!({"parts": [{"text": "a b"}], "role": "model"})
        );
        assert_eq!(v["candidates"][0]["finishReason"], "STOP");
        assert_eq!(v["candidates"][0]["index"], 0);
        assert_eq!(
            v["candidates"][0]["safetyRatings"].as_array().map(Vec::len),
            Some(4)
        );
        assert_eq!(v["usageMetadata"]["promptTokenCount"], 12);
        assert_eq!(v["usageMetadata"]["candidatesTokenCount"], 8);
        assert_eq!(v["usageMetadata"]["totalTokenCount"], 20);
        assert!(v["usageMetadata"].get("cachedContentTokenCount").is_none());
        assert!(v["usageMetadata"].get("thoughtsTokenCount").is_none());
        assert!(v["usageMetadata"].get("trafficType").is_none());
        assert_eq!(v["modelVersion"], "gemini-2.5-flash");
        assert!(v["responseId"].is_string());
    }

    #[test]
    fn thoughts_cache_and_vertex_usage() {
        let mut r = reply("answer", "MAX_TOKENS");
        r.thoughts = Some("pondering");
        r.usage.cached = 5;
        r.usage.thoughts = 30;
        let v: Value = serde_json::from_slice(&response(&r, Flavor::Vertex)).expect("json");
        assert_eq!(
            v["candidates"][0]["content"]["parts"],
            json!([{"text": "pondering", "thought": true}, {"text": "answer"}])
        );
        assert_eq!(v["candidates"][0]["finishReason"], "MAX_TOKENS");
        let u = &v["usageMetadata"];
        assert_eq!(u["cachedContentTokenCount"], 5);
        assert_eq!(u["thoughtsTokenCount"], 30);
        assert_eq!(u["totalTokenCount"], 50);
        assert_eq!(u["trafficType"], "ON_DEMAND");
    }

    fn calls() -> Vec<crate::step::ToolCallSpec> {
        vec![
            crate::step::ToolCallSpec {
                id: None,
                name: "get_weather".into(),
                arguments: r#"{"city":"Paris"}"#.into(),
            },
            crate::step::ToolCallSpec {
                id: Some("fc-1".into()),
                name: "now".into(),
                arguments: "not json".into(),
            },
        ]
    }

    #[test]
    fn function_calls_and_reasoning_plain() {
        let calls = calls();
        let mut r = reply("Checking.", "STOP");
        r.tool_calls = &calls;
        r.reasoning = Some("Two lookups.");
        let v: Value = serde_json::from_slice(&response(&r, Flavor::GeminiApi)).expect("json");
        assert_eq!(
            v["candidates"][0]["content"]["parts"],
            json!([
                {"text": "Two lookups.", "thought": true},
                {"text": "Checking."},
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                 "thoughtSignature": THOUGHT_SIGNATURE},
                {"functionCall": {"id": "fc-1", "name": "now", "args": "not json"}}
            ])
        );
        assert_eq!(v["candidates"][0]["finishReason"], "STOP");
        // `thoughts` wins over `reasoning`: one thought part, never two.
        r.thoughts = Some("Gemini's own.");
        let v: Value = serde_json::from_slice(&response(&r, Flavor::Vertex)).expect("json");
        assert_eq!(
            v["candidates"][0]["content"]["parts"][0],
            json!({"text": "Gemini's own.", "thought": true})
        );
    }

    #[test]
    fn function_calls_streamed_in_a_final_chunk() {
        let calls = calls();
        let mut r = reply("a b", "STOP");
        r.tool_calls = &calls;
        r.reasoning = Some("hmm");
        let s = stream(
            &r,
            &["a", " b"],
            &StreamOptions::default(),
            Flavor::GeminiApi,
        );
        assert_eq!(
            data(&s.head[0])["candidates"][0]["content"]["parts"],
            json!([{"text": "hmm", "thought": true}])
        );
        assert!(data(&s.deltas[1])["candidates"][0]
            .get("finishReason")
            .is_none());
        let last = data(&s.tail[0]);
        assert_eq!(last["candidates"][0]["finishReason"], "STOP");
        assert_eq!(
            last["candidates"][0]["content"]["parts"][0]["functionCall"]["name"],
            "get_weather"
        );
        assert_eq!(last["usageMetadata"]["totalTokenCount"], 20);
        let only_calls = stream(&r, &[], &StreamOptions::default(), Flavor::Vertex);
        assert!(only_calls.deltas.is_empty());
        assert_eq!(only_calls.tail.len(), 1);
    }

    #[test]
    fn blocked_prompt_and_empty_candidate() {
        let mut r = reply("x", "STOP");
        r.block_reason = Some("SAFETY");
        let v: Value = serde_json::from_slice(&response(&r, Flavor::GeminiApi)).expect("json");
        assert!(v.get("candidates").is_none());
        assert_eq!(v["promptFeedback"]["blockReason"], "SAFETY");
        assert_eq!(v["usageMetadata"]["totalTokenCount"], 12);
        let v: Value =
            serde_json::from_slice(&response(&reply("", "RECITATION"), Flavor::GeminiApi))
                .expect("json");
        assert!(v["candidates"][0].get("content").is_none());
        assert_eq!(v["candidates"][0]["finishReason"], "RECITATION");
    }

    #[test]
    fn stream_chunks_finish_on_the_last_delta() {
        let s = stream(
            &reply("a b", "STOP"),
            &["a", " b"],
            &StreamOptions::default(),
            Flavor::GeminiApi,
        );
        assert!(s.head.is_empty() && s.tail.is_empty());
        let first = data(&s.deltas[0]);
        assert_eq!(first["candidates"][0]["content"]["parts"][0]["text"], "a");
        assert!(first["candidates"][0].get("finishReason").is_none());
        assert_eq!(first["usageMetadata"]["promptTokenCount"], 12);
        assert!(first["usageMetadata"].get("candidatesTokenCount").is_none());
        let last = data(&s.deltas[1]);
        assert_eq!(last["candidates"][0]["finishReason"], "STOP");
        assert_eq!(last["usageMetadata"]["totalTokenCount"], 20);
        let err = data(&s.error);
        assert_eq!(
            err,
            json!({"error": {"code": 500, "status": "INTERNAL",
                "message": "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"}})
        );
    }

    #[test]
    fn json_array_stream() {
        let opts = StreamOptions {
            json_array: true,
            error_type: Some("UNAVAILABLE"),
            ..StreamOptions::default()
        };
        let mut r = reply("a b", "STOP");
        r.thoughts = Some("t");
        let s = stream(&r, &["a", " b"], &opts, Flavor::Vertex);
        let body: Vec<u8> = s
            .head
            .iter()
            .chain(&s.deltas)
            .chain(&s.tail)
            .flat_map(|b| b.to_vec())
            .collect();
        let v: Value = serde_json::from_slice(&body).expect("one JSON array");
        assert_eq!(v.as_array().map(Vec::len), Some(3));
        assert_eq!(v[0]["usageMetadata"], json!({"trafficType": "ON_DEMAND"}));
        let cut: Vec<u8> = s
            .head
            .iter()
            .flat_map(|b| b.to_vec())
            .chain(error_event(1, &opts).to_vec())
            .collect();
        let v: Value = serde_json::from_slice(&cut).expect("array ending in the error");
        assert_eq!(v[1]["error"]["code"], 503);
        let v: Value = serde_json::from_slice(&error_event(0, &opts)).expect("alone");
        assert_eq!(v[0]["error"]["status"], "UNAVAILABLE");
    }

    #[test]
    fn error_statuses() {
        for (http, status) in [
            (400, "INVALID_ARGUMENT"),
            (401, "UNAUTHENTICATED"),
            (403, "PERMISSION_DENIED"),
            (404, "NOT_FOUND"),
            (429, "RESOURCE_EXHAUSTED"),
            (500, "INTERNAL"),
            (503, "UNAVAILABLE"),
            (504, "DEADLINE_EXCEEDED"),
            (502, "INTERNAL"),
        ] {
            let v: Value = serde_json::from_slice(&error(
                http,
                None,
                "m",
                "/v1beta/models/m:generateContent",
                Flavor::GeminiApi,
            ))
            .expect("json");
            assert_eq!(v["error"]["code"], http);
            assert_eq!(v["error"]["status"], status, "{http}");
        }
        let v: Value = serde_json::from_slice(&error(
            400,
            Some("FAILED_PRECONDITION"),
            "m",
            "",
            Flavor::GeminiApi,
        ))
        .expect("json");
        assert_eq!(v["error"]["status"], "FAILED_PRECONDITION");
        let v: Value = serde_json::from_slice(&error(
            404,
            None,
            "g",
            "/v1/projects/p/locations/l/publishers/google/models/g:generateContent",
            Flavor::Vertex,
        ))
        .expect("json");
        assert!(v["error"]["message"].as_str().is_some_and(|m| m
            .starts_with("Publisher Model `projects/p/locations/l/publishers/google/models/g`")));
    }
}
