//! Gemini `generateContent` / `streamGenerateContent`, on the Gemini API
//! (`generativelanguage.googleapis.com`) and on Vertex AI.
//!
//! Shapes follow recorded traffic (Firebase's SDK test data, req_llm
//! cassettes): a stream is one `GenerateContentResponse` per `data:` event,
//! CRLF-framed, the last one carrying `finishReason` and the full
//! `usageMetadata`, and no end sentinel; without `alt=sse` the same objects
//! arrive as one JSON array.

//!
//! The two hosts differ in details: Vertex reports `trafficType` and no
//! counts before the last chunk, and words its errors differently
//! (`google_error`).

use bytes::Bytes;
use serde::Serialize;

use super::wire::{arguments_json, json_bytes};
use super::{
    google_error, Dialect, ErrorReply, Failure, GoogleCall, Platform, Reply, Request, RequestInfo,
    Stream, StreamOptions, Usage,
};

pub const JSON: &str = "application/json; charset=UTF-8";

/// Gemini's `generateContent`, on the Gemini API ([`Platform::Native`]) and
/// on Vertex AI.
#[derive(Debug)]
pub struct Gemini;

impl Dialect for Gemini {
    /// Google APIs name the model and the streaming mode in the URL.
    fn request_info(&self, request: &Request<'_>) -> RequestInfo {
        let call = request.google_call();
        let stream = call
            .as_ref()
            .is_some_and(|c| c.method == GoogleCall::STREAM_GENERATE);
        RequestInfo {
            model: call.map(|c| c.model),
            stream,
            // Without `alt=sse` Google streams one JSON array.
            json_array: stream && !request.has_param("alt", "sse"),
            ..RequestInfo::default()
        }
    }

    fn default_model(&self) -> &'static str {
        "gemini-mock"
    }

    fn default_finish_reason(&self) -> &'static str {
        "STOP"
    }

    fn json_content_type(&self) -> &'static str {
        JSON
    }

    fn answer(&self, reply: &Reply<'_>) -> Bytes {
        response(reply)
    }

    fn stream(&self, reply: &Reply<'_>, deltas: &[&str], opts: &StreamOptions) -> Stream {
        stream(reply, deltas, opts)
    }

    /// In a JSON array it needs a comma unless it comes first.
    fn stream_error(
        &self,
        reply: &Reply<'_>,
        stream: &Stream,
        sent: usize,
        opts: &StreamOptions,
    ) -> Bytes {
        error_event(stream.head.len() + sent, reply.error_type, opts)
    }

    fn error(&self, failure: &Failure<'_>) -> ErrorReply {
        ErrorReply::body(google_error::body(failure))
    }
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
    fn complete(u: Usage, platform: Platform) -> UsageMetadata {
        UsageMetadata {
            prompt_token_count: Some(u.input),
            candidates_token_count: nonzero(u.output),
            total_token_count: Some(u.input + u.output + u.thoughts),
            cached_content_token_count: nonzero(u.cached),
            traffic_type: (platform == Platform::Vertex).then_some("ON_DEMAND"),
            prompt_tokens_details: Some([ModalityCount {
                modality: "TEXT",
                token_count: u.input,
            }]),
            thoughts_token_count: nonzero(u.thoughts),
        }
    }

    /// Before the last chunk: the Gemini API repeats the prompt count, Vertex
    /// only says `trafficType`.
    fn partial(u: Usage, platform: Platform) -> UsageMetadata {
        match platform {
            Platform::Native => UsageMetadata::prompt_only(u, platform),
            Platform::Vertex => UsageMetadata {
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
    fn prompt_only(u: Usage, platform: Platform) -> UsageMetadata {
        UsageMetadata {
            prompt_token_count: Some(u.input),
            candidates_token_count: None,
            total_token_count: Some(u.input),
            cached_content_token_count: nonzero(u.cached),
            traffic_type: (platform == Platform::Vertex).then_some("ON_DEMAND"),
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
                args: arguments_json(&call.arguments),
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
}

impl<'a> Builder<'a> {
    fn new(reply: &'a Reply<'a>) -> Builder<'a> {
        Builder {
            reply,
            id: response_id(reply.id),
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
                UsageMetadata::complete(reply.usage, self.reply.platform)
            } else {
                UsageMetadata::partial(reply.usage, self.reply.platform)
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
            usage_metadata: UsageMetadata::prompt_only(self.reply.usage, self.reply.platform),
            model_version: self.reply.model,
            response_id: &self.id,
        })
    }
}

/// The non-streaming `generateContent` answer.
fn response(reply: &Reply<'_>) -> Bytes {
    let b = Builder::new(reply);
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
fn stream(reply: &Reply<'_>, deltas: &[&str], opts: &StreamOptions) -> Stream {
    let b = Builder::new(reply);
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
    let error = error_event(before_tail, reply.error_type, opts);
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

/// The error object sent inside a stream after `sent` objects, then the
/// body ends: `data: {"error": …}` (or the array's last element). The
/// status comes from `error_type` (default `INTERNAL`), the code from it.
fn error_event(sent: usize, error_type: Option<&str>, opts: &StreamOptions) -> Bytes {
    let json = google_error::in_stream(error_type.unwrap_or("INTERNAL"));
    let mut event = Framer {
        json_array: opts.json_array,
    }
    .element(sent, &json)
    .to_vec();
    if opts.json_array {
        event.push(b']');
    }
    Bytes::from(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn reply(content: &'static str, finish_reason: &'static str) -> Reply<'static> {
        Reply {
            platform: Platform::Native,
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
            error_type: None,
        }
    }

    fn response_on(reply: &Reply<'_>, platform: Platform) -> Bytes {
        response(&Reply { platform, ..*reply })
    }

    fn stream_on(
        reply: &Reply<'_>,
        deltas: &[&str],
        opts: &StreamOptions,
        platform: Platform,
    ) -> Stream {
        stream(&Reply { platform, ..*reply }, deltas, opts)
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
    fn the_url_names_the_model_and_the_streaming_mode() {
        let request = |path, query, body| Request {
            platform: Platform::Native,
            path,
            query,
            body,
        };
        let p = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";
        let info = Gemini.request_info(&request(p, "alt=sse", b"{\"stream\":false}"));
        assert_eq!(info.model.as_deref(), Some("gemini-2.5-flash"));
        assert!(info.stream && !info.json_array);
        let info = Gemini.request_info(&request(p, "", b""));
        assert!(info.stream && info.json_array);
        let info = Gemini.request_info(&request("/v1beta/models/m:generateContent", "", b""));
        assert!(!info.stream);
    }

    #[test]
    fn plain_answer_shape() {
        let v: Value =
            serde_json::from_slice(&response_on(&reply("a b", "STOP"), Platform::Native))
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
        let v: Value = serde_json::from_slice(&response_on(&r, Platform::Vertex)).expect("json");
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
        let v: Value = serde_json::from_slice(&response_on(&r, Platform::Native)).expect("json");
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
        let v: Value = serde_json::from_slice(&response_on(&r, Platform::Vertex)).expect("json");
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
        let s = stream_on(
            &r,
            &["a", " b"],
            &StreamOptions::default(),
            Platform::Native,
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
        let only_calls = stream_on(&r, &[], &StreamOptions::default(), Platform::Vertex);
        assert!(only_calls.deltas.is_empty());
        assert_eq!(only_calls.tail.len(), 1);
    }

    #[test]
    fn blocked_prompt_and_empty_candidate() {
        let mut r = reply("x", "STOP");
        r.block_reason = Some("SAFETY");
        let v: Value = serde_json::from_slice(&response_on(&r, Platform::Native)).expect("json");
        assert!(v.get("candidates").is_none());
        assert_eq!(v["promptFeedback"]["blockReason"], "SAFETY");
        assert_eq!(v["usageMetadata"]["totalTokenCount"], 12);
        let v: Value =
            serde_json::from_slice(&response_on(&reply("", "RECITATION"), Platform::Native))
                .expect("json");
        assert!(v["candidates"][0].get("content").is_none());
        assert_eq!(v["candidates"][0]["finishReason"], "RECITATION");
    }

    #[test]
    fn stream_chunks_finish_on_the_last_delta() {
        let s = stream_on(
            &reply("a b", "STOP"),
            &["a", " b"],
            &StreamOptions::default(),
            Platform::Native,
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
            ..StreamOptions::default()
        };
        let mut r = reply("a b", "STOP");
        r.thoughts = Some("t");
        r.error_type = Some("UNAVAILABLE");
        let s = stream_on(&r, &["a", " b"], &opts, Platform::Vertex);
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
            .chain(error_event(1, r.error_type, &opts).to_vec())
            .collect();
        let v: Value = serde_json::from_slice(&cut).expect("array ending in the error");
        assert_eq!(v[1]["error"]["code"], 503);
        let v: Value = serde_json::from_slice(&error_event(0, r.error_type, &opts)).expect("alone");
        assert_eq!(v[0]["error"]["status"], "UNAVAILABLE");
    }
}
