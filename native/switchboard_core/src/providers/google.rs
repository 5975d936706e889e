//! The Gemini wire format (`generateContent`), shared by `google-ai` and
//! Gemini on `vertex-ai`: the request body from a prompt, answers, usage
//! and Google's errors.
//!
//! What a request carries besides the prompt:
//!
//! - Tools go in `tools: [{functionDeclarations: [{name, description,
//!   parametersJsonSchema}]}]`, after any `tools` the client's options set
//!   (Google Search grounding, ...). `parametersJsonSchema` takes a full
//!   JSON Schema (Gemini API and Vertex AI v1), so a tool's schema is sent
//!   as given: the older `parameters` field takes only an OpenAPI subset
//!   and refuses `additionalProperties`, `$schema`, `$ref` and the like,
//!   which would have to be stripped, changing what the model is told.
//! - The tool choice goes in `toolConfig.functionCallingConfig`: `:auto`
//!   is `AUTO`, `:none` `NONE`, `:required` `ANY`, `{:tool, name}` `ANY`
//!   with `allowedFunctionNames: [name]`; merged into a `toolConfig` from
//!   the client's options. With no tools, neither is sent.
//! - An output schema sets `generationConfig.responseMimeType` to
//!   `application/json` and `responseJsonSchema` to the schema (full JSON
//!   Schema, unlike `responseSchema`, which it replaces if the options set
//!   one), merged with the options' `generationConfig`. Not with tools:
//!   Gemini 2.x refuses JSON mode beside function declarations, so the
//!   final answer is then only checked by Switchboard.
//! - An assistant turn's tool calls are `functionCall` parts `{name, args}`
//!   after its text, without ids (Vertex refuses them), each with the
//!   `thoughtSignature` Gemini gave it (`ToolCall.signature`); a first call
//!   without one carries the signature Google documents for calls it did
//!   not sign (`skip_thought_signature_validator`): Gemini 3 refuses a
//!   history whose calls have none. A Gemini signature of the turn's text
//!   (a reasoning part) goes back on its text part.
//! - Tool results are `functionResponse` parts `{name, response}` in one
//!   `user` content for consecutive tool messages. The name is the
//!   message's own, else that of the call it answers, found in the
//!   assistant turns before it (made-up ids repeat from turn to turn); a
//!   result whose call cannot be found is an `:invalid_request` error.
//!   A result that is a JSON object (a map, or a text holding one) is the
//!   `response` as is; any other text is wrapped as `{"result": text}`.
//!   Images and documents in a tool message follow its `functionResponse`
//!   as parts of the same content.
//!
//! What an answer means:
//!
//! - The content is the first candidate's text parts, joined, leaving out
//!   thought summaries (`"thought": true`), which are its reasoning. A
//!   `thoughtSignature` on a call is kept on its tool call, on any other
//!   part as a reasoning part. A part holding anything else (`inlineData`,
//!   `fileData`, `executableCode`, `codeExecutionResult`, types added
//!   later) is a `:bad_response` naming it, not an answer missing a part.
//! - `functionCall` parts are its tool calls, in order: `args` must be an
//!   object (or absent), and a call without a name is a `:bad_response`.
//!   Gemini's own `id` is kept when it sends one; otherwise the ids are
//!   made up (`call_sb_<n>`, numbered in the answer), so a result can name
//!   its call.
//! - A prompt Google blocked (`promptFeedback.blockReason`) is an
//!   `:invalid_request` error: the same prompt would be blocked again, as a
//!   request with disallowed content is elsewhere.
//! - A candidate with no text and no call whose `finishReason` is not `STOP` (`SAFETY`,
//!   `RECITATION`, `MAX_TOKENS` spent on thinking, a reason added later,
//!   ...) is a `:finish_reason` error, like a rejected finish reason: not
//!   retried, a fallback moves on. With text, it is an answer, and the
//!   client's finish-reason lists decide.
//! - `STOP` with no text and no call (e.g. only thoughts) is an empty
//!   answer; a call is an answer whatever the finish reason.
//! - A Google error object (`{"error": {"code", "message", "status"}}`),
//!   as the body of a failed request or inside a stream, maps to a kind by
//!   its `status` ([`status_kind`]).

use std::time::Duration;

use serde_json::{json, Map, Value};

use super::common;
use super::options::merge_body;
use super::stream::short;
use super::Completion;
use crate::error::{Error, ErrorKind};
use crate::generation;
use crate::prompt::{split_system, Content, Media, Message, Part, Role};
use crate::reasoning::{Dialect, ReasoningPart};
use crate::response::Usage;
use crate::tools::{arguments_from_value, made_up_id, ToolCall, ToolChoice};
use crate::wire::{CallInput, ResponseHead};

/// Body fields filled from the prompt.
pub(super) const PROMPT_FIELDS: &[&str] = &["contents", "systemInstruction", "system_instruction"];

/// Generic options every provider's callers use, and where Gemini wants
/// them: inside `generationConfig`, under its own names.
const GENERATION_OPTIONS: &[(&str, &str)] = &[
    ("temperature", "temperature"),
    ("top_p", "topP"),
    ("max_tokens", "maxOutputTokens"),
    ("stop", "stopSequences"),
];

/// The `thoughtSignature` Google documents for function calls it did not
/// sign (a history built by the app, or from another model).
const UNSIGNED_CALL: &str = "skip_thought_signature_validator";

/// `contents` and `systemInstruction` for a prompt. System messages must
/// lead, as they are one instruction apart from the turns.
fn prompt_fields(messages: &[Message]) -> Result<Map<String, Value>, Error> {
    let (system, turns) = split_system(messages, "Gemini")?;
    let mut fields = Map::new();
    if !system.is_empty() {
        let parts: Vec<Value> = system.iter().map(|m| json!({"text": m.text()})).collect();
        fields.insert("systemInstruction".into(), json!({"parts": parts}));
    }
    let mut contents = Vec::with_capacity(turns.len());
    // The parts of consecutive tool messages: one content.
    let mut results: Vec<Value> = Vec::new();
    for (i, m) in turns.iter().enumerate() {
        if m.role == Role::Tool {
            results.extend(function_response(m, &turns[..i])?);
            continue;
        }
        if !results.is_empty() {
            contents.push(json!({"role": "user", "parts": std::mem::take(&mut results)}));
        }
        // Gemini names the assistant `model` (BAML's default `remap_roles`
        // for google-ai); a client's own renaming wins.
        let role = match (&m.role_name, m.role) {
            (Some(name), _) => name.as_str(),
            (None, Role::Assistant) => "model",
            (None, _) => "user",
        };
        let mut parts: Vec<Value> = match &m.content {
            Content::Text(t) if t.is_empty() && !m.tool_calls.is_empty() => Vec::new(),
            Content::Text(t) => vec![json!({"text": t})],
            Content::Parts(parts) => parts.iter().map(part_json).collect(),
        };
        // Gemini signs a text answer on its last part; the turn's text
        // goes back as one part, which carries it.
        let text_signature = m
            .reasoning_in(Dialect::Gemini)
            .filter_map(|p| p.signature.as_deref())
            .last();
        if let (Some(signature), Some(last)) = (
            text_signature,
            parts.iter_mut().rev().find(|p| p.get("text").is_some()),
        ) {
            last["thoughtSignature"] = json!(signature);
        }
        for (j, call) in m.tool_calls.iter().enumerate() {
            let mut part = json!({"functionCall": {"name": call.name, "args": call.arguments}});
            match (&call.signature, j) {
                (Some(signature), _) => part["thoughtSignature"] = json!(signature),
                (None, 0) => part["thoughtSignature"] = json!(UNSIGNED_CALL),
                (None, _) => {}
            }
            parts.push(part);
        }
        contents.push(json!({"role": role, "parts": parts}));
    }
    if !results.is_empty() {
        contents.push(json!({"role": "user", "parts": results}));
    }
    fields.insert("contents".into(), Value::Array(contents));
    Ok(fields)
}

/// A tool message as a `functionResponse` part, then its images and
/// documents. `before` is the turns before it, where its call is.
fn function_response(m: &Message, before: &[Message]) -> Result<Vec<Value>, Error> {
    let id = m.tool_call_id.as_deref().unwrap_or("");
    let Some(name) = m.tool_name(before) else {
        return Err(Error::invalid_request(format!(
            "the tool result for call {id:?} has no :name and answers no earlier tool call; \
             Gemini needs the function's name"
        )));
    };
    let text = m.text();
    let response = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(object)) => Value::Object(object),
        _ => json!({ "result": text }),
    };
    let mut parts = vec![json!({"functionResponse": {"name": name, "response": response}})];
    if let Content::Parts(media) = &m.content {
        parts.extend(
            media
                .iter()
                .filter(|p| !matches!(p, Part::Text(_)))
                .map(part_json),
        );
    }
    Ok(parts)
}

/// `tools` and `toolConfig` for a call's tools, each added to what the
/// client's options set; nothing without tools.
fn tool_fields(client: &Map<String, Value>, input: &CallInput<'_>) -> Map<String, Value> {
    let mut fields = Map::new();
    if input.tools.is_empty() {
        return fields;
    }
    let declarations: Vec<Value> = input
        .tools
        .iter()
        .map(|t| {
            let mut d = Map::new();
            d.insert("name".into(), json!(t.name));
            if let Some(description) = &t.description {
                d.insert("description".into(), json!(description));
            }
            d.insert("parametersJsonSchema".into(), t.parameters.clone());
            Value::Object(d)
        })
        .collect();
    let mut tools = match client.get("tools") {
        Some(Value::Array(given)) => given.clone(),
        _ => Vec::new(),
    };
    tools.push(json!({ "functionDeclarations": declarations }));
    fields.insert("tools".into(), Value::Array(tools));
    if let Some(choice) = input.tool_choice {
        let config = match choice {
            ToolChoice::Auto => json!({"mode": "AUTO"}),
            ToolChoice::None => json!({"mode": "NONE"}),
            ToolChoice::Required => json!({"mode": "ANY"}),
            ToolChoice::Tool(name) => json!({"mode": "ANY", "allowedFunctionNames": [name]}),
        };
        let mut tool_config = match client.get("toolConfig") {
            Some(Value::Object(given)) => given.clone(),
            _ => Map::new(),
        };
        tool_config.insert("functionCallingConfig".into(), config);
        fields.insert("toolConfig".into(), Value::Object(tool_config));
    }
    fields
}

/// The whole body of a Gemini request: the prompt, the call's tools and
/// output schema, and the client's and the call's options ([`body`]).
pub(super) fn request_body(
    client: &Map<String, Value>,
    input: &CallInput<'_>,
) -> Result<Map<String, Value>, Error> {
    let mut fields = prompt_fields(input.messages)?;
    fields.extend(tool_fields(client, input));
    // Gemini 2.x refuses JSON mode beside function declarations; with tools
    // the schema is left to Switchboard's own check of the final answer.
    let output_schema = input.output_schema.filter(|_| input.tools.is_empty());
    Ok(body(client, fields, input.options, output_schema))
}

fn part_json(part: &Part) -> Value {
    match part {
        Part::Text(t) => json!({"text": t}),
        Part::Image(Media::Inline(i)) | Part::Document(Media::Inline(i)) => {
            json!({"inlineData": {"mimeType": i.media_type, "data": i.data}})
        }
        // The media type the part names or the handler found, else the
        // URL's extension's; a document's is a PDF's when none is known.
        Part::Image(Media::Url(u)) => match u.media_type() {
            Some(mime_type) => json!({"fileData": {"mimeType": mime_type, "fileUri": u.url}}),
            None => json!({"fileData": {"fileUri": u.url}}),
        },
        Part::Document(Media::Url(u)) => json!({"fileData": {
            "mimeType": u.media_type().unwrap_or("application/pdf"),
            "fileUri": u.url
        }}),
    }
}

/// The body: client options, the prompt's fields, then the call's options.
/// `model` goes in the URL, not here; `temperature`, `top_p`,
/// `max_tokens` and `stop` go into `generationConfig` (as `temperature`,
/// `topP`, `maxOutputTokens`, `stopSequences`, a lone string as a list), merged with a `generationConfig` given as an
/// option, the call's settings last; an output schema last of all.
fn body(
    client: &Map<String, Value>,
    fields: Map<String, Value>,
    call: &Map<String, Value>,
    output_schema: Option<&Value>,
) -> Map<String, Value> {
    let mut config = Map::new();
    for options in [client, call] {
        if let Some(Value::Object(given)) = options.get("generationConfig") {
            config.extend(given.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        for (generic, name) in GENERATION_OPTIONS {
            match options.get(*generic) {
                None => {}
                // `nil` in a call's options removes the client's value.
                Some(Value::Null) => {
                    config.remove(*name);
                }
                Some(v) => {
                    config.insert((*name).to_owned(), generation::stop_list(v.clone()));
                }
            }
        }
    }
    if let Some(schema) = output_schema {
        config.remove("responseSchema");
        config.insert("responseMimeType".into(), json!("application/json"));
        config.insert("responseJsonSchema".into(), schema.clone());
    }
    let moved = |(k, v): &(&String, &Value)| {
        k.as_str() == "model"
            || GENERATION_OPTIONS.iter().any(|(generic, _)| k == generic)
            || (k.as_str() == "generationConfig" && v.is_object())
    };
    let rest = |options: &Map<String, Value>| -> Map<String, Value> {
        options
            .iter()
            .filter(|kv| !moved(kv))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let mut body = merge_body(&rest(client), fields, &rest(call));
    if !config.is_empty() {
        body.insert("generationConfig".into(), Value::Object(config));
    }
    body
}

/// A model name as a URL path segment: `models/` dropped, and only the
/// characters model IDs use (`gemini-2.5-flash`, `claude-sonnet-4@20250514`).
pub(super) fn model_id(model: &str) -> Result<&str, String> {
    let id = model.strip_prefix("models/").unwrap_or(model);
    let ok = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    match ok {
        true => Ok(id),
        false => Err(format!(
            "model {} is not a model ID (letters, digits, '-', '_', '.', '@')",
            crate::value::shown(model)
        )),
    }
}

/// What one `GenerateContentResponse` (a whole answer or a stream chunk)
/// says about the first candidate.
#[derive(Debug, Default)]
pub(super) struct Chunk {
    pub text: String,
    /// Thought summaries.
    pub reasoning: String,
    /// Signatures on parts other than calls.
    pub reasoning_parts: Vec<ReasoningPart>,
    pub calls: Vec<Call>,
    pub has_candidate: bool,
    pub finish_reason: Option<String>,
    pub finish_message: Option<String>,
    pub usage: Option<Usage>,
    pub model: Option<String>,
}

/// A `functionCall` part, its id made up later if Gemini sent none.
#[derive(Debug)]
pub(super) struct Call {
    pub id: Option<String>,
    pub name: String,
    pub arguments: Map<String, Value>,
    /// The part's `thoughtSignature`.
    pub signature: Option<String>,
}

impl Call {
    /// The tool call, numbered `index` in its answer.
    pub fn into_tool_call(self, index: usize) -> ToolCall {
        ToolCall {
            id: self.id.unwrap_or_else(|| made_up_id(index)),
            name: self.name,
            arguments: self.arguments,
            signature: self.signature,
        }
    }
}

fn function_call(call: &Value, signature: Option<&str>) -> Result<Call, Error> {
    let name = call
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Error::bad_response("a functionCall part has no name"))?;
    Ok(Call {
        id: call
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .map(str::to_owned),
        name: name.to_owned(),
        arguments: arguments_from_value(name, call.get("args"))?,
        signature: signature.map(str::to_owned),
    })
}

/// The keys of a part that describe it rather than hold its data.
const PART_METADATA: &[&str] = &[
    "thought",
    "thoughtSignature",
    "videoMetadata",
    "partMetadata",
    "mediaResolution",
];

/// The data a part holds that Switchboard does not read (`inlineData`,
/// `fileData`, `executableCode`, `codeExecutionResult`, types added
/// later), named by its key; `None` for a part with nothing (`{}`).
fn unread_part(part: &Value) -> Option<&str> {
    part.as_object()?
        .keys()
        .map(String::as_str)
        .find(|k| !PART_METADATA.contains(k))
}

/// Reads one response object; an error object or a blocked prompt fails.
pub(super) fn read_chunk(v: &Value) -> Result<Chunk, Error> {
    if !v.is_object() {
        return Err(Error::bad_response("the answer is not a JSON object"));
    }
    if let Some(e) = error_object(v) {
        return Err(e);
    }
    let feedback = v.get("promptFeedback");
    if let Some(reason) = feedback
        .and_then(|f| f.get("blockReason"))
        .and_then(Value::as_str)
    {
        let detail = feedback
            .and_then(|f| f.get("blockReasonMessage"))
            .and_then(Value::as_str)
            .map(|m| format!(": {}", short(m)))
            .unwrap_or_default();
        return Err(Error::invalid_request(format!(
            "Google blocked the prompt (blockReason {reason}){detail}"
        )));
    }
    let candidate = v
        .get("candidates")
        .and_then(Value::as_array)
        .and_then(|c| c.first());
    let parts = candidate
        .and_then(|c| c.get("content"))
        .and_then(|c| c.get("parts"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let (mut text, mut reasoning, mut calls) = (String::new(), String::new(), Vec::new());
    let mut reasoning_parts = Vec::new();
    for part in parts {
        let signature = part
            .get("thoughtSignature")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        if let Some(call) = part.get("functionCall") {
            calls.push(function_call(call, signature)?);
            continue;
        }
        if let Some(t) = part.get("text") {
            let t = t
                .as_str()
                .ok_or_else(|| Error::bad_response("a text part of the answer is not a string"))?;
            match part.get("thought").and_then(Value::as_bool) {
                Some(true) => reasoning.push_str(t),
                _ => text.push_str(t),
            }
        } else if let Some(kind) = unread_part(part) {
            return Err(Error::unread_part(format!(
                "the answer has a {kind:?} part, which switchboard cannot read"
            )));
        }
        // A signature on text, a thought or an empty part: kept to go back
        // with the turn's text.
        if let Some(signature) = signature {
            reasoning_parts.push(ReasoningPart::signed(Dialect::Gemini, "", Some(signature)));
        }
    }
    let field = |name: &str| {
        candidate
            .and_then(|c| c.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    Ok(Chunk {
        text,
        reasoning,
        reasoning_parts,
        calls,
        has_candidate: candidate.is_some(),
        finish_reason: field("finishReason").filter(|r| !r.is_empty()),
        finish_message: field("finishMessage"),
        usage: v.get("usageMetadata").filter(|u| u.is_object()).map(usage),
        model: v
            .get("modelVersion")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

/// The error for an answer that ended with `reason` and no text, if any.
pub(super) fn empty_answer_error(reason: &str, message: Option<&str>) -> Option<Error> {
    if reason == "STOP" {
        return None;
    }
    let detail = message
        .map(|m| format!(": {}", short(m)))
        .unwrap_or_default();
    Some(Error::new(
        ErrorKind::FinishReason,
        format!("the model stopped with finishReason {reason} before giving any text{detail}"),
    ))
}

/// A whole `generateContent` answer.
pub(super) fn parse_response(body: &[u8]) -> Result<Completion, Error> {
    let chunk = read_chunk(&common::parse_json(body)?)?;
    if !chunk.has_candidate {
        return Err(Error::bad_response("the answer has no candidates"));
    }
    if chunk.text.is_empty() && chunk.calls.is_empty() {
        match &chunk.finish_reason {
            Some(reason) => {
                if let Some(e) = empty_answer_error(reason, chunk.finish_message.as_deref()) {
                    return Err(e);
                }
            }
            None => {
                return Err(Error::bad_response(
                    "the first candidate has neither text, a function call nor a finishReason",
                ))
            }
        }
    }
    Ok(Completion {
        content: chunk.text,
        reasoning: chunk.reasoning,
        reasoning_parts: chunk.reasoning_parts,
        tool_calls: chunk
            .calls
            .into_iter()
            .enumerate()
            .map(|(i, call)| call.into_tool_call(i))
            .collect(),
        model: chunk.model,
        finish_reason: chunk.finish_reason,
        usage: chunk.usage.unwrap_or_default(),
        ..Completion::default()
    })
}

/// `usageMetadata`: thinking tokens count as output (and as reasoning),
/// cached content is part of the prompt count.
pub(super) fn usage(u: &Value) -> Usage {
    let candidates = common::u64_at(u, &["candidatesTokenCount"]);
    let thoughts = common::u64_at(u, &["thoughtsTokenCount"]);
    let output = match (candidates, thoughts) {
        (None, None) => None,
        (c, t) => Some(c.unwrap_or(0) + t.unwrap_or(0)),
    };
    Usage::new(common::u64_at(u, &["promptTokenCount"]), output)
        .or_total(common::u64_at(u, &["totalTokenCount"]))
        .with_cached(common::u64_at(u, &["cachedContentTokenCount"]), None)
        .with_reasoning(thoughts)
}

/// The kind a Google error `status` (a google.rpc.Code name) stands for.
pub fn status_kind(status: &str) -> Option<ErrorKind> {
    Some(match status {
        "RESOURCE_EXHAUSTED" => ErrorKind::RateLimited,
        "UNAVAILABLE" => ErrorKind::Overloaded,
        "INVALID_ARGUMENT"
        | "FAILED_PRECONDITION"
        | "OUT_OF_RANGE"
        | "ALREADY_EXISTS"
        | "UNIMPLEMENTED" => ErrorKind::InvalidRequest,
        "UNAUTHENTICATED" => ErrorKind::Auth,
        "PERMISSION_DENIED" => ErrorKind::Permission,
        "NOT_FOUND" => ErrorKind::NotFound,
        "DEADLINE_EXCEEDED" => ErrorKind::Timeout,
        // Server-side failures, and operations the server gave up on.
        "INTERNAL" | "UNKNOWN" | "DATA_LOSS" | "ABORTED" | "CANCELLED" => ErrorKind::Server,
        _ => return None,
    })
}

/// The error an `{"error": {...}}` object describes (also the first item of
/// an array of them), or `None` when `v` is not one.
pub(super) fn error_object(v: &Value) -> Option<Error> {
    let v = match v {
        Value::Array(items) => items.first()?,
        other => other,
    };
    let e = v.get("error")?.as_object()?;
    let status = e.get("status").and_then(Value::as_str);
    let code = e
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok());
    let kind = status
        .and_then(status_kind)
        .or_else(|| code.filter(|c| *c >= 400).map(ErrorKind::from_status))
        .unwrap_or(ErrorKind::Server);
    let message = e
        .get("message")
        .and_then(Value::as_str)
        .map(short)
        .unwrap_or_else(|| "the provider returned an error".to_owned());
    let mut error = Error::new(
        kind,
        match status {
            Some(s) => format!("{s}: {message}"),
            None => message,
        },
    );
    error.retry_after = retry_delay(e.get("details"));
    Some(error.with_provider_detail(error_reason(e.get("details")), status))
}

/// The `reason` of a `google.rpc.ErrorInfo` detail (`API_KEY_INVALID`,
/// `RATE_LIMIT_EXCEEDED`): the most specific name Google gives an error.
fn error_reason(details: Option<&Value>) -> Option<&str> {
    details?
        .as_array()?
        .iter()
        .filter(|d| {
            d.get("@type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.ends_with("google.rpc.ErrorInfo"))
        })
        .find_map(|d| d.get("reason")?.as_str())
}

/// `retryDelay` of a `google.rpc.RetryInfo` detail (`"24s"`, `"1.5s"`).
fn retry_delay(details: Option<&Value>) -> Option<Duration> {
    details?
        .as_array()?
        .iter()
        .filter(|d| {
            d.get("@type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.ends_with("google.rpc.RetryInfo"))
        })
        .find_map(|d| {
            d.get("retryDelay")?
                .as_str()?
                .strip_suffix('s')?
                .parse::<f64>()
                .ok()
        })
        .filter(|s| s.is_finite() && (0.0..1e9).contains(s))
        .map(Duration::from_secs_f64)
}

/// A failed request's error: Google's error object when the body has one,
/// else the status alone.
pub(super) fn parse_error(head: &ResponseHead, body: &[u8]) -> Error {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| error_object(&v))
        .unwrap_or_else(|| {
            Error::new(
                ErrorKind::from_status(head.status),
                format!("HTTP {} from the provider", head.status),
            )
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::reasoning::{Dialect, ReasoningPart};

    use super::*;

    #[test]
    fn every_status_has_its_kind() {
        for (status, kind) in [
            ("RESOURCE_EXHAUSTED", ErrorKind::RateLimited),
            ("UNAVAILABLE", ErrorKind::Overloaded),
            ("INVALID_ARGUMENT", ErrorKind::InvalidRequest),
            ("FAILED_PRECONDITION", ErrorKind::InvalidRequest),
            ("UNAUTHENTICATED", ErrorKind::Auth),
            ("PERMISSION_DENIED", ErrorKind::Permission),
            ("NOT_FOUND", ErrorKind::NotFound),
            ("DEADLINE_EXCEEDED", ErrorKind::Timeout),
            ("INTERNAL", ErrorKind::Server),
        ] {
            let e =
                error_object(&json!({"error": {"code": 500, "message": "m", "status": status}}))
                    .unwrap();
            assert_eq!(e.kind, kind, "{status}");
            assert_eq!(e.message, format!("{status}: m"));
        }
        let e = error_object(&json!([{"error": {"code": 429, "message": "slow down"}}])).unwrap();
        assert_eq!(
            (e.kind, e.message.as_str()),
            (ErrorKind::RateLimited, "slow down")
        );
        let e = error_object(
            &json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
            "message": "q", "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
            "retryDelay": "1.5s"}]}}),
        )
        .unwrap();
        assert_eq!(e.retry_after, Some(Duration::from_millis(1500)));
        assert!(error_object(&json!({"candidates": []})).is_none());
    }

    #[test]
    fn answers_blocks_and_empty_candidates() {
        let ok = parse_response(
            br#"{"candidates":[{"content":{"parts":[{"text":"plan","thought":true},{"text":"Hi"},
                {"functionCall":{"name":"f"}},{"text":" there"}]},"finishReason":"STOP"}],
                "usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":3,
                "thoughtsTokenCount":5,"totalTokenCount":18,"cachedContentTokenCount":4},
                "modelVersion":"gemini-2.5-flash"}"#,
        )
        .unwrap();
        assert_eq!(ok.content, "Hi there");
        assert_eq!(ok.finish_reason.as_deref(), Some("STOP"));
        assert_eq!(ok.model.as_deref(), Some("gemini-2.5-flash"));
        assert_eq!(
            ok.usage,
            Usage {
                input_tokens: Some(10),
                output_tokens: Some(8),
                total_tokens: Some(18),
                cached_input_tokens: Some(4),
                cache_creation_input_tokens: None,
                reasoning_tokens: Some(5),
            }
        );
        assert_eq!(ok.reasoning, "plan");
        assert_eq!(ok.tool_calls[0].name, "f");
        let blocked =
            parse_response(br#"{"promptFeedback":{"blockReason":"SAFETY"}}"#).unwrap_err();
        assert_eq!(blocked.kind, ErrorKind::InvalidRequest);
        assert!(blocked.message.contains("SAFETY"));
        let safety = parse_response(br#"{"candidates":[{"finishReason":"SAFETY"}]}"#).unwrap_err();
        assert_eq!(safety.kind, ErrorKind::FinishReason);
        let call_only = parse_response(
            br#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f"}}]},"finishReason":"STOP"}]}"#,
        )
        .unwrap();
        assert_eq!(call_only.content, "");
        assert_eq!(call_only.finish(), crate::response::Finish::ToolCalls);
        let novel = parse_response(
            br#"{"candidates":[{"content":{"parts":[{"text":"x"}]},"finishReason":"NEW_ENUM"}]}"#,
        )
        .unwrap();
        assert_eq!(novel.finish_reason.as_deref(), Some("NEW_ENUM"));
        for bad in [
            &br#"{"this":1}"#[..],
            br#"{"candidates":[{"content":{}}]}"#,
            b"[1]",
        ] {
            assert_eq!(
                parse_response(bad).unwrap_err().kind,
                ErrorKind::BadResponse
            );
        }
    }

    #[test]
    fn generic_options_move_into_generation_config() {
        let client = json!({"model": "m", "temperature": 0.5, "safetySettings": [],
                            "generationConfig": {"topK": 3, "maxOutputTokens": 10}});
        let call = json!({"max_tokens": 20, "model": "n", "generationConfig": {"topK": 4}});
        let b = body(
            client.as_object().unwrap(),
            Map::new(),
            call.as_object().unwrap(),
            None,
        );
        assert_eq!(
            Value::Object(b),
            json!({"safetySettings": [], "generationConfig":
                   {"topK": 4, "maxOutputTokens": 20, "temperature": 0.5}})
        );
    }

    /// The body `name` sends for `prompt` with tools, a tool choice and
    /// an output schema.
    fn sent_with(
        name: &str,
        options: Value,
        prompt: Value,
        tools: &[crate::tools::Tool],
        tool_choice: Option<&ToolChoice>,
        output_schema: Option<&Value>,
    ) -> Result<Value, Error> {
        let provider = crate::providers::golden::provider(name, options);
        let messages = crate::prompt::parse_prompt(&prompt)?;
        let call = Map::new();
        let input = CallInput {
            tools,
            tool_choice,
            output_schema,
            ..CallInput::plain(&messages, &call, false)
        };
        let request = provider.build_request(&input)?;
        Ok(serde_json::from_slice(&request.body).unwrap())
    }

    fn weather_tools() -> Vec<crate::tools::Tool> {
        crate::tools::parse_tools(&json!([
            {"name": "get_weather", "description": "Weather for a city",
             "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                            "required": ["city"], "additionalProperties": false,
                            "$schema": "http://json-schema.org/draft-07/schema#"}},
            {"name": "now"}
        ]))
        .unwrap()
    }

    #[test]
    fn tools_choice_and_schema_golden_body() {
        let tools = weather_tools();
        let schema = json!({"type": "object", "properties": {"n": {"type": "integer"}}});
        let body = sent_with(
            "google-ai",
            json!({"api_key": "k", "tools": [{"googleSearch": {}}],
                   "toolConfig": {"retrievalConfig": {"languageCode": "fr"}},
                   "generationConfig": {"responseSchema": {"type": "STRING"}, "topK": 2}}),
            json!("Weather in Paris?"),
            &tools,
            Some(&ToolChoice::Tool("get_weather".into())),
            Some(&schema),
        )
        .unwrap();
        assert_eq!(
            body,
            json!({
                "contents": [{"role": "user", "parts": [{"text": "Weather in Paris?"}]}],
                "tools": [
                    {"googleSearch": {}},
                    {"functionDeclarations": [
                        {"name": "get_weather", "description": "Weather for a city",
                         "parametersJsonSchema": {"type": "object",
                            "properties": {"city": {"type": "string"}}, "required": ["city"],
                            "additionalProperties": false,
                            "$schema": "http://json-schema.org/draft-07/schema#"}},
                        {"name": "now", "parametersJsonSchema": {"type": "object", "properties": {}}}
                    ]}
                ],
                "toolConfig": {
                    "retrievalConfig": {"languageCode": "fr"},
                    "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}
                },
                // Beside tools, JSON mode is left out (Gemini 2.x refuses both).
                "generationConfig": {"topK": 2, "responseSchema": {"type": "STRING"}}
            })
        );
        let alone = sent_with(
            "google-ai",
            json!({"api_key": "k", "generationConfig": {"responseSchema": {"type": "STRING"}}}),
            json!("How many?"),
            &[],
            None,
            Some(&schema),
        )
        .unwrap();
        assert_eq!(
            alone["generationConfig"],
            json!({"responseMimeType": "application/json", "responseJsonSchema": schema})
        );
        for (choice, config) in [
            (ToolChoice::Auto, json!({"mode": "AUTO"})),
            (ToolChoice::None, json!({"mode": "NONE"})),
            (ToolChoice::Required, json!({"mode": "ANY"})),
        ] {
            let body = sent_with(
                "google-ai",
                json!({"api_key": "k"}),
                json!("x"),
                &tools,
                Some(&choice),
                None,
            )
            .unwrap();
            assert_eq!(
                body["toolConfig"],
                json!({ "functionCallingConfig": config })
            );
        }
        let no_choice = sent_with(
            "google-ai",
            json!({"api_key": "k"}),
            json!("x"),
            &tools,
            None,
            None,
        )
        .unwrap();
        assert!(no_choice.get("toolConfig").is_none());
        let no_tools = sent_with(
            "google-ai",
            json!({"api_key": "k"}),
            json!("x"),
            &[],
            Some(&ToolChoice::None),
            None,
        )
        .unwrap();
        assert_eq!(
            no_tools,
            json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}]})
        );
    }

    #[test]
    fn tool_turns_become_function_calls_and_responses() {
        let prompt = json!([
            {"role": "user", "content": "Weather in Paris and Oslo?"},
            {"role": "assistant", "content": "Checking.", "tool_calls": [
                {"id": "call_sb_0", "name": "get_weather", "arguments": {"city": "Paris"}},
                {"id": "call_sb_1", "name": "now", "arguments": {}}
            ]},
            {"role": "tool", "tool_call_id": "call_sb_0", "content": {"temp": 21}},
            {"role": "tool", "tool_call_id": "call_sb_1", "content": [
                {"type": "text", "text": "noon"},
                {"type": "image", "data": "iVBO", "media_type": "image/png"}
            ]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_sb_0", "name": "now", "arguments": {}}
            ]},
            {"role": "tool", "tool_call_id": "call_sb_0", "content": "12:01"},
            {"role": "user", "content": "Thanks"}
        ]);
        let body = sent_with(
            "vertex-ai",
            json!({"model": "gemini-2.5-flash", "location": "global", "project_id": "p",
                   "headers": {"authorization": "Bearer t"}}),
            prompt,
            &weather_tools(),
            None,
            None,
        )
        .unwrap();
        assert_eq!(
            body["contents"],
            json!([
                {"role": "user", "parts": [{"text": "Weather in Paris and Oslo?"}]},
                {"role": "model", "parts": [
                    {"text": "Checking."},
                    {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                     "thoughtSignature": "skip_thought_signature_validator"},
                    {"functionCall": {"name": "now", "args": {}}}
                ]},
                {"role": "user", "parts": [
                    {"functionResponse": {"name": "get_weather", "response": {"temp": 21}}},
                    {"functionResponse": {"name": "now", "response": {"result": "noon"}}},
                    {"inlineData": {"mimeType": "image/png", "data": "iVBO"}}
                ]},
                {"role": "model", "parts": [
                    {"functionCall": {"name": "now", "args": {}},
                     "thoughtSignature": "skip_thought_signature_validator"}
                ]},
                {"role": "user", "parts": [
                    {"functionResponse": {"name": "now", "response": {"result": "12:01"}}}
                ]},
                {"role": "user", "parts": [{"text": "Thanks"}]}
            ])
        );
        let orphan = sent_with(
            "google-ai",
            json!({"api_key": "k"}),
            json!([{"role": "user", "content": "x"},
                   {"role": "tool", "tool_call_id": "call_9", "content": "r"}]),
            &[],
            None,
            None,
        )
        .unwrap_err();
        assert_eq!(orphan.kind, ErrorKind::InvalidRequest);
        assert!(orphan.message.contains("call_9"), "{}", orphan.message);
        let named = sent_with(
            "google-ai",
            json!({"api_key": "k"}),
            json!([{"role": "user", "content": "x"},
                   {"role": "tool", "tool_call_id": "c", "name": "lookup", "content": "[1]"}]),
            &[],
            None,
            None,
        )
        .unwrap();
        assert_eq!(
            body_part(&named, 1),
            json!({"functionResponse": {"name": "lookup", "response": {"result": "[1]"}}})
        );
    }

    fn body_part(body: &Value, content: usize) -> Value {
        body["contents"][content]["parts"][0].clone()
    }

    #[test]
    fn parts_switchboard_cannot_read_fail_naming_them_and_text_signatures_are_kept() {
        for (part, named) in [
            (
                json!({"inlineData": {"mimeType": "image/png", "data": "iVBO"}}),
                "\"inlineData\"",
            ),
            (
                json!({"executableCode": {"language": "PYTHON", "code": "1"}}),
                "\"executableCode\"",
            ),
            (
                json!({"codeExecutionResult": {"outcome": "OUTCOME_OK"}}),
                "\"codeExecutionResult\"",
            ),
            (json!({"thought": true, "brandNew": {}}), "\"brandNew\""),
        ] {
            let body = json!({"candidates": [{"content": {"parts": [{"text": "a"}, part]},
                              "finishReason": "STOP"}]});
            let e = parse_response(body.to_string().as_bytes()).expect_err("unread");
            assert_eq!(e.kind, ErrorKind::BadResponse);
            assert!(!e.is_retryable(), "{}", e.message);
            assert!(e.message.contains(named), "{}", e.message);
        }
        let c = parse_response(
            br#"{"candidates":[{"content":{"parts":[{},{"text":"Hi","thoughtSignature":"dHh0"}]},"finishReason":"STOP"}]}"#,
        )
        .unwrap();
        assert_eq!(c.content, "Hi");
        assert_eq!(
            c.reasoning_parts,
            [ReasoningPart::signed(Dialect::Gemini, "", Some("dHh0"))]
        );
    }

    #[test]
    fn signatures_go_back_on_their_parts_and_only_gemini_ones() {
        let body = sent_with(
            "google-ai",
            json!({"model": "gemini-2.5-flash", "api_key": "k"}),
            json!([
                {"role": "user", "content": "Weather?"},
                {"role": "assistant", "content": "", "tool_calls": [
                    {"id": "call_sb_0", "name": "get_weather", "arguments": {"city": "Paris"}, "signature": "c2ln"},
                    {"id": "call_sb_1", "name": "now", "arguments": {}}
                ]},
                {"role": "tool", "tool_call_id": "call_sb_0", "content": "sunny"},
                {"role": "tool", "tool_call_id": "call_sb_1", "content": "noon"},
                {"role": "assistant", "content": "Sunny at noon.", "reasoning_parts": [
                    {"dialect": "anthropic", "text": "t", "signature": "YW50"},
                    {"dialect": "gemini", "signature": "dHh0"}
                ]},
                {"role": "user", "content": "Thanks"}
            ]),
            &[],
            None,
            None,
        )
        .unwrap();
        assert_eq!(
            body["contents"][1]["parts"],
            json!([
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "c2ln"},
                {"functionCall": {"name": "now", "args": {}}}
            ])
        );
        assert_eq!(
            body["contents"][3]["parts"],
            json!([{"text": "Sunny at noon.", "thoughtSignature": "dHh0"}])
        );
    }

    #[test]
    fn function_calls_thoughts_and_ids() {
        let c = parse_response(
            br#"{"candidates":[{"content":{"role":"model","parts":[
                {"text":"Let me see.","thought":true},
                {"text":"Checking both."},
                {"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"c2ln"},
                {"functionCall":{"name":"now"}},
                {"functionCall":{"id":"fc-7","name":"get_weather","args":{"city":"Oslo"}}}
            ]},"finishReason":"STOP"}],
            "usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":7,"thoughtsTokenCount":11}}"#,
        )
        .unwrap();
        assert_eq!(c.content, "Checking both.");
        assert_eq!(c.reasoning, "Let me see.");
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
            [
                ("call_sb_0", "get_weather", json!({"city": "Paris"})),
                ("call_sb_1", "now", json!({})),
                ("fc-7", "get_weather", json!({"city": "Oslo"})),
            ]
        );
        assert_eq!(c.usage.output_tokens, Some(18));
        assert_eq!(c.usage.reasoning_tokens, Some(11));
        // The signature stays with its call, the others have none.
        let signatures: Vec<Option<&str>> = c
            .tool_calls
            .iter()
            .map(|t| t.signature.as_deref())
            .collect();
        assert_eq!(signatures, [Some("c2ln"), None, None]);
        // A call is an answer even when the model stopped for tokens.
        let cut = parse_response(
            br#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"now"}}]},"finishReason":"MAX_TOKENS"}]}"#,
        )
        .unwrap();
        assert_eq!(cut.tool_calls.len(), 1);
        for bad in [
            &br#"{"candidates":[{"content":{"parts":[{"functionCall":{"args":{}}}]},"finishReason":"STOP"}]}"#[..],
            br#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":[1]}}]},"finishReason":"STOP"}]}"#,
            br#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":"{}"}}]},"finishReason":"STOP"}]}"#,
        ] {
            let e = parse_response(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::BadResponse);
        }
        let e = parse_response(
            br#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":[1]}}]}}]}"#,
        )
        .unwrap_err();
        assert!(e.message.contains("\"f\""), "{}", e.message);
        // Thoughts alone are no answer unless the model says STOP.
        let thinking_only = parse_response(
            br#"{"candidates":[{"content":{"parts":[{"text":"hmm","thought":true}]},"finishReason":"MAX_TOKENS"}]}"#,
        )
        .unwrap_err();
        assert_eq!(thinking_only.kind, ErrorKind::FinishReason);
    }

    #[test]
    fn model_ids_are_path_segments() {
        assert_eq!(model_id("models/gemini-2.5-flash"), Ok("gemini-2.5-flash"));
        assert_eq!(
            model_id("claude-sonnet-4@20250514"),
            Ok("claude-sonnet-4@20250514")
        );
        for bad in ["", "a/b", "x?y", "../up"] {
            assert!(model_id(bad).is_err(), "{bad}");
        }
    }
}
