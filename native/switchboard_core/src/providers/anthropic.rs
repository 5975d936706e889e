//! Anthropic Messages API.

use std::borrow::Cow;

use http::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{json, Map, Value};
use url::Url;

use super::common;
use super::options::{merge_body, ClientOptions};
use super::spec::{ProviderSpec, SpecKind};
use super::{AnswerReader, Attempt, Completion, Provider};
use crate::auth::Authorization;
use crate::error::{Error, ErrorKind};
use crate::generation::{self, Limits};
use crate::prompt::{split_system, Content, Inline, Media, Message, Part, Role};
use crate::reasoning::{Dialect, ReasoningPart, Replay};
use crate::response::Usage;
use crate::secret::Secrets;
use crate::tools::{
    arguments_from_value, id_or_made_up, thinking_enabled, ToolCall, ToolChoice, OUTPUT_TOOL,
    OUTPUT_TOOL_DESCRIPTION,
};
use crate::wire::{push_reasoning_part, CallInput, HttpRequest, ResponseHead};

pub(crate) const DEFAULT_MAX_TOKENS: u64 = 4096;
const API_VERSION: &str = "2023-06-01";
/// Where the Messages API takes the generic `stop`, as a list.
pub(crate) const STOP_SEQUENCES: &str = "stop_sequences";

pub(super) const ANTHROPIC: ProviderSpec = ProviderSpec {
    name: "anthropic",
    aliases: &["baml-anthropic-chat"],
    kind: SpecKind::Leaf(Anthropic::build),
    default_base_url: Some("https://api.anthropic.com"),
    api_key_env: Some("ANTHROPIC_API_KEY"),
    routing_options: &[],
    prompt_fields: &["messages", "system"],
    media_defaults: crate::media::ANTHROPIC_DEFAULTS,
};

#[derive(Debug)]
pub struct Anthropic {
    url: Url,
    authorization: Authorization,
    headers: HeaderMap,
    secrets: Secrets,
    body: Map<String, Value>,
}

impl Anthropic {
    fn build(o: &ClientOptions) -> Result<Box<dyn Provider>, Error> {
        o.options().required_str("model")?;
        let base_url = o.base_url()?;
        let mut body =
            generation::renamed_stop(Cow::Borrowed(&o.body), STOP_SEQUENCES).into_owned();
        body.entry("max_tokens")
            .or_insert(json!(DEFAULT_MAX_TOKENS));
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static(API_VERSION),
        );
        // The user's `anthropic-version`, if any, replaces ours.
        headers.extend(o.headers.clone());
        let authorization = match o.api_key()? {
            Some(key) => Authorization::Header {
                name: HeaderName::from_static("x-api-key"),
                prefix: "",
                key,
            },
            None => Authorization::None,
        };
        Ok(Box::new(Anthropic {
            url: o.url(&base_url, "/v1/messages")?,
            authorization,
            headers,
            secrets: o.secrets.clone(),
            body,
        }))
    }
}

fn content_json(content: &Content) -> Value {
    match content {
        Content::Text(t) => Value::String(t.clone()),
        Content::Parts(parts) => Value::Array(parts.iter().map(part_json).collect()),
    }
}

/// Content as a list of blocks, for a turn that adds blocks of its own
/// (an assistant's tool calls). Empty text makes no block.
fn content_blocks(content: &Content) -> Vec<Value> {
    match content {
        Content::Text(t) if t.is_empty() => Vec::new(),
        Content::Text(t) => vec![json!({"type": "text", "text": t})],
        Content::Parts(parts) => parts.iter().map(part_json).collect(),
    }
}

fn part_json(part: &Part) -> Value {
    match part {
        Part::Text(t) => json!({"type": "text", "text": t}),
        Part::Image(Media::Inline(i)) => json!({
            "type": "image",
            "source": {"type": "base64", "media_type": i.media_type, "data": i.data}
        }),
        Part::Image(Media::Url(u)) => {
            json!({"type": "image", "source": {"type": "url", "url": u.url}})
        }
        Part::Document(Media::Inline(d)) => json!({
            "type": "document",
            "source": {"type": "base64", "media_type": d.media_type, "data": d.data}
        }),
        // A URL source carries no media type: Anthropic reads it from the file.
        Part::Document(Media::Url(u)) => json!({
            "type": "document",
            "source": {"type": "url", "url": u.url}
        }),
    }
}

/// The `messages` list: an assistant's tool calls become `tool_use` blocks
/// after its text, and consecutive tool results become one user turn of
/// `tool_result` blocks, as the Messages API wants them.
///
/// An assistant turn's reasoning goes back first, its parts in the order
/// received, then its text, then its tool calls: with thinking on, the
/// API wants an assistant turn that calls tools to start with its
/// thinking, unchanged. A message keeps its text as one string and its
/// reasoning apart from it, so an answer that interleaves them (thinking
/// after a `tool_use` block, as interleaved thinking may) goes back with
/// all its thinking first; Claude's answers to a tool loop's step put it
/// there.
fn turns_json(turns: &[Message]) -> Result<Vec<Value>, Error> {
    let mut out: Vec<Value> = Vec::with_capacity(turns.len());
    let mut results: Vec<Value> = Vec::new();
    for m in turns {
        if m.role == Role::Tool {
            let id = m.tool_call_id.as_deref().ok_or_else(|| {
                Error::invalid_request("a tool message needs the id of the call it answers")
            })?;
            let mut result = json!({
                "type": "tool_result",
                "tool_use_id": id,
                "content": content_json(&m.content),
            });
            if let Value::Object(block) = &mut result {
                add_metadata(block, &m.metadata);
            }
            results.push(result);
            continue;
        }
        if !results.is_empty() {
            out.push(json!({"role": "user", "content": std::mem::take(&mut results)}));
        }
        let thinking: Vec<Value> = m
            .reasoning_in(Dialect::Anthropic)
            .filter_map(thinking_block)
            .collect();
        let content = match (m.role, m.tool_calls.is_empty() && thinking.is_empty()) {
            (Role::Assistant, false) => {
                let mut blocks = thinking;
                blocks.extend(content_blocks(&m.content));
                blocks.extend(m.tool_calls.iter().map(|c| {
                    json!({"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments})
                }));
                Value::Array(blocks)
            }
            _ => content_json(&m.content),
        };
        let content = with_metadata(content, &m.metadata);
        out.push(json!({"role": m.wire_role(), "content": content}));
    }
    if !results.is_empty() {
        out.push(json!({"role": "user", "content": results}));
    }
    Ok(out)
}

/// A message's metadata (only the keys its client allows are left) on its
/// last content block, where the Messages API takes `cache_control`: a
/// text content becomes one text block to carry it.
fn with_metadata(content: Value, metadata: &Map<String, Value>) -> Value {
    if metadata.is_empty() {
        return content;
    }
    let mut blocks = match content {
        Value::String(text) => vec![json!({"type": "text", "text": text})],
        Value::Array(blocks) => blocks,
        other => return other,
    };
    if let Some(Value::Object(last)) = blocks.last_mut() {
        add_metadata(last, metadata);
    }
    Value::Array(blocks)
}

/// Metadata keys onto a block; a key the block has already (`type`,
/// `text`) keeps the block's value.
fn add_metadata(block: &mut Map<String, Value>, metadata: &Map<String, Value>) {
    for (key, value) in metadata {
        block.entry(key.as_str()).or_insert_with(|| value.clone());
    }
}

/// `system`: the system messages' text joined, or, when one carries
/// metadata (a `cache_control` breakpoint), one text block per message
/// with its metadata.
fn system_json(system: &[Message]) -> Value {
    if system.iter().all(|m| m.metadata.is_empty()) {
        let texts: Vec<String> = system.iter().map(Message::text).collect();
        return Value::String(texts.join("\n\n"));
    }
    Value::Array(
        system
            .iter()
            .map(|m| {
                let mut block = Map::new();
                block.insert("type".into(), json!("text"));
                block.insert("text".into(), Value::String(m.text()));
                add_metadata(&mut block, &m.metadata);
                Value::Object(block)
            })
            .collect(),
    )
}

/// A reasoning part as the block it came as: `thinking` with its
/// signature, or `redacted_thinking` with its data.
fn thinking_block(part: &ReasoningPart) -> Option<Value> {
    Some(match part.replay()? {
        Replay::Redacted(data) => json!({"type": "redacted_thinking", "data": data}),
        Replay::Signed { text, signature } => {
            json!({"type": "thinking", "thinking": text, "signature": signature})
        }
    })
}

fn tool_json(name: &str, description: Option<&str>, schema: &Value) -> Value {
    let mut tool = Map::new();
    tool.insert("name".into(), json!(name));
    if let Some(d) = description {
        tool.insert("description".into(), json!(d));
    }
    tool.insert("input_schema".into(), schema.clone());
    Value::Object(tool)
}

fn tool_choice_json(choice: &ToolChoice) -> Value {
    match choice {
        ToolChoice::Auto => json!({"type": "auto"}),
        ToolChoice::None => json!({"type": "none"}),
        ToolChoice::Required => json!({"type": "any"}),
        ToolChoice::Tool(name) => json!({"type": "tool", "name": name}),
    }
}

/// `tools` and `tool_choice` for a call. An `output_schema` is asked for
/// through a tool of that schema ([`OUTPUT_TOOL`]), forced when the call
/// has no tools of its own (unless thinking is on: see
/// [`offer_output_tool_when_thinking`]); beside the app's tools it is one
/// more tool and the call's tool choice stands.
fn tool_fields(input: &CallInput<'_>, fields: &mut Map<String, Value>) -> Result<(), Error> {
    let mut tools: Vec<Value> = input
        .tools
        .iter()
        .map(|t| tool_json(&t.name, t.description.as_deref(), &t.parameters))
        .collect();
    let mut choice = input.tool_choice.map(tool_choice_json);
    if let Some(schema) = input.output_schema {
        if input.tools.is_empty() {
            choice = Some(json!({"type": "tool", "name": OUTPUT_TOOL}));
        }
        tools.push(tool_json(
            OUTPUT_TOOL,
            Some(OUTPUT_TOOL_DESCRIPTION),
            schema,
        ));
    }
    // Without tools there is nothing to choose from: a choice of :auto or
    // :none is what the model does anyway.
    if !tools.is_empty() {
        fields.insert("tools".into(), Value::Array(tools));
        if let Some(choice) = choice {
            fields.insert("tool_choice".into(), choice);
        }
    }
    Ok(())
}

/// Claude refuses a forced tool while thinking is on: in a body that
/// enables `thinking`, the forced [`OUTPUT_TOOL`] becomes an offered one
/// (`auto`), and the answer is read from the tool's input or, when the
/// model answered in text, from the text. Run on the body as sent, client
/// and call options merged. Shared with Claude on other platforms.
pub(crate) fn offer_output_tool_when_thinking(body: &mut Map<String, Value>) {
    let forced = json!({"type": "tool", "name": OUTPUT_TOOL});
    if thinking_enabled(body.get("thinking")) && body.get("tool_choice") == Some(&forced) {
        body.insert("tool_choice".into(), json!({"type": "auto"}));
    }
}

/// The Messages API body fields for a call: `system` apart from the
/// turns, as Anthropic requires, the turns, and the call's tools. Shared
/// with Claude on other platforms.
pub(crate) fn prompt_fields(input: &CallInput<'_>) -> Result<Map<String, Value>, Error> {
    // Documents go as base64 `document` sources, which take only PDFs.
    Inline::require_pdf_documents(input.messages, "anthropic")?;
    crate::prompt::refuse_media_urls(
        input.messages,
        "anthropic",
        "http(s) URLs and inline data",
        |_, u| u.is_google(),
    )?;
    let (system, turns) = split_system(input.messages, "anthropic")?;
    let mut fields = Map::new();
    if !system.is_empty() {
        fields.insert("system".into(), system_json(system));
    }
    fields.insert("messages".into(), Value::Array(turns_json(turns)?));
    tool_fields(input, &mut fields)?;
    Ok(fields)
}

impl Provider for Anthropic {
    fn prepare<'a>(&'a self, input: &'a CallInput<'a>) -> Result<Attempt<'a>, Error> {
        Ok(Attempt::ready(self, self.build_request(input)?))
    }

    fn authorization(&self) -> &Authorization {
        &self.authorization
    }

    fn default_reader(&self) -> &dyn AnswerReader {
        self
    }
}

impl Anthropic {
    fn build_request(&self, input: &CallInput<'_>) -> Result<HttpRequest, Error> {
        let mut fields = prompt_fields(input)?;
        if input.stream {
            fields.insert("stream".into(), Value::Bool(true));
        }
        let call = generation::renamed_stop(Cow::Borrowed(input.options), STOP_SEQUENCES);
        let mut body = merge_body(&self.body, fields, &call);
        offer_output_tool_when_thinking(&mut body);
        Ok(HttpRequest::post_json(self.url.clone(), &body)?
            .with_client_headers(&self.headers, &self.secrets))
    }
}

impl AnswerReader for Anthropic {
    fn limits(&self) -> &'static Limits {
        &generation::ANTHROPIC
    }

    fn parse_response(&self, _head: &ResponseHead, body: &[u8]) -> Result<Completion, Error> {
        parse_message(body)
    }

    fn stream_parser(&self) -> Box<dyn super::StreamParser> {
        Box::<super::anthropic_stream::AnthropicStream>::default()
    }

    fn parse_error(&self, head: &ResponseHead, body: &[u8]) -> Error {
        parse_error_body(head.status, body)
    }
}

/// A Messages API answer. Shared with Claude on other platforms.
pub(crate) fn parse_message(body: &[u8]) -> Result<Completion, Error> {
    let v = common::parse_json(body)?;
    if v.get("type").and_then(Value::as_str) == Some("error") {
        return Err(error_of(&v, ErrorKind::Server));
    }
    let blocks = v
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::bad_response("the answer has no content list"))?;
    let mut content = String::new();
    let mut reasoning = String::new();
    let mut reasoning_parts = Vec::new();
    let mut tool_calls = Vec::new();
    for block in blocks {
        let str_at = |key: &str| block.get(key).and_then(Value::as_str);
        match str_at("type") {
            Some("text") => content.push_str(str_at("text").unwrap_or_default()),
            Some("thinking") => {
                let text = str_at("thinking").unwrap_or_default();
                push_reasoning_part(&mut reasoning, text);
                reasoning_parts.push(ReasoningPart::signed(
                    Dialect::Anthropic,
                    text,
                    str_at("signature"),
                ));
            }
            // Encrypted thinking: never text, only sent back.
            Some("redacted_thinking") => reasoning_parts.push(ReasoningPart::read_redacted(
                Dialect::Anthropic,
                str_at("data"),
            )?),
            Some("tool_use") => tool_calls.push(tool_use(block, tool_calls.len())?),
            other => return Err(unread_block(other)),
        }
    }
    Ok(Completion {
        content,
        reasoning,
        reasoning_parts,
        tool_calls,
        model: v.get("model").and_then(Value::as_str).map(str::to_owned),
        finish_reason: v
            .get("stop_reason")
            .and_then(Value::as_str)
            .map(str::to_owned),
        usage: v.get("usage").map(usage).unwrap_or_default(),
        ..Completion::default()
    })
}

/// A block Switchboard does not read: server tools (`server_tool_use`,
/// `web_search_tool_result`, ...) and types added later. Their content
/// would be lost from the answer, so the answer fails instead, naming them.
pub(crate) fn unread_block(kind: Option<&str>) -> Error {
    match kind {
        Some(kind) => Error::unread_part(format!(
            "the answer has a {kind:?} block, which switchboard cannot read \
             (server tools are not supported)"
        )),
        None => Error::unread_part("the answer has a content block without a type"),
    }
}

/// A `tool_use` block: `{id, name, input}`, the input an object.
fn tool_use(block: &Value, index: usize) -> Result<ToolCall, Error> {
    let name = block
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Error::bad_response("a tool_use block has no name"))?;
    Ok(ToolCall {
        id: id_or_made_up(block.get("id").and_then(Value::as_str), index),
        name: name.to_owned(),
        arguments: arguments_from_value(name, block.get("input"))?,
        signature: None,
    })
}

/// A failed request's error, from Anthropic's error body or the status.
pub(crate) fn parse_error_body(status: u16, body: &[u8]) -> Error {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => error_of(&v, ErrorKind::from_status(status)),
        Err(_) => Error::new(
            ErrorKind::from_status(status),
            format!("HTTP {status} from the provider"),
        ),
    }
}

/// The error an Anthropic error object describes, its `error.type` kept
/// as the provider's type; `fallback` is the kind of a type not known.
pub fn error_of(v: &Value, fallback: ErrorKind) -> Error {
    let (kind, message) = error_type(v);
    let provider_type = v
        .get("error")
        .and_then(|e| e.get("type"))
        .and_then(Value::as_str);
    Error::new(kind.unwrap_or(fallback), message).with_provider_detail(None, provider_type)
}

/// Anthropic's `{"type": "error", "error": {"type": ..., "message": ...}}`.
pub fn error_type(v: &Value) -> (Option<ErrorKind>, String) {
    let err = v.get("error");
    let kind = match err.and_then(|e| e.get("type")).and_then(Value::as_str) {
        Some("invalid_request_error") | Some("request_too_large") => {
            Some(ErrorKind::InvalidRequest)
        }
        Some("authentication_error") => Some(ErrorKind::Auth),
        Some("permission_error") => Some(ErrorKind::Permission),
        Some("not_found_error") => Some(ErrorKind::NotFound),
        Some("rate_limit_error") => Some(ErrorKind::RateLimited),
        Some("overloaded_error") => Some(ErrorKind::Overloaded),
        Some("api_error") => Some(ErrorKind::Server),
        Some("timeout_error") => Some(ErrorKind::Timeout),
        _ => None,
    };
    let message = err
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("the provider returned an error")
        .chars()
        .take(2000)
        .collect();
    (kind, message)
}

/// Anthropic's usage. Its `input_tokens` leaves out cache reads and cache
/// writes; ours counts every prompt token, so they are added back.
pub fn usage(u: &Value) -> Usage {
    let read = common::u64_at(u, &["cache_read_input_tokens"]);
    let created = common::u64_at(u, &["cache_creation_input_tokens"]);
    let uncached = common::u64_at(u, &["input_tokens"]);
    let input = match (uncached, read, created) {
        (None, None, None) => None,
        (i, r, c) => Some(
            i.unwrap_or(0)
                .saturating_add(r.unwrap_or(0))
                .saturating_add(c.unwrap_or(0)),
        ),
    };
    Usage::new(input, common::u64_at(u, &["output_tokens"])).with_cached(read, created)
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Map, Value};

    use crate::prompt::parse_prompt;
    use crate::providers::golden::{conversation, provider, sent};
    use crate::reasoning::{Dialect, ReasoningPart};
    use crate::tools::{parse_tool_choice, parse_tools, OUTPUT_TOOL};
    use crate::wire::CallInput;

    #[test]
    fn anthropic_golden_request() {
        let s = sent(
            "anthropic",
            json!({"model": "claude-haiku-4-5", "api_key": "ant-key", "base_url": "https://a.example/"}),
            conversation(),
            json!({"temperature": 0}),
            true,
        );
        assert_eq!(s.url, "https://a.example/v1/messages");
        assert_eq!(
            s.headers,
            [
                ("content-type", "application/json"),
                ("anthropic-version", "2023-06-01"),
                ("x-api-key", "ant-key"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        assert_eq!(
            s.body,
            json!({
                "model": "claude-haiku-4-5", "max_tokens": 4096, "temperature": 0, "stream": true,
                "system": "Be brief.",
                "messages": [
                    {"role": "user", "content": [
                        {"type": "text", "text": "What is this?"},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}}
                    ]},
                    {"role": "assistant", "content": "A logo."},
                    {"role": "user", "content": "Whose?"}
                ]
            })
        );
    }

    /// The body for a call with tools, a tool choice and an output schema.
    fn body(prompt: Value, tools: Value, choice: Option<Value>, schema: Option<Value>) -> Value {
        let provider = provider(
            "anthropic",
            json!({"model": "claude-x", "api_key": "k", "base_url": "https://a.example"}),
        );
        let messages = parse_prompt(&prompt).expect("prompt");
        let tools = parse_tools(&tools).expect("tools");
        let choice = choice.map(|c| parse_tool_choice(&c, &tools).expect("choice"));
        let options = Map::new();
        let input = CallInput {
            tools: &tools,
            tool_choice: choice.as_ref(),
            output_schema: schema.as_ref(),
            ..CallInput::plain(&messages, &options, false)
        };
        let request = provider.build_request(&input).expect("request");
        serde_json::from_slice(&request.body).expect("json")
    }

    fn weather() -> Value {
        json!([{"name": "get_weather", "description": "Weather at a place",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
               {"name": "now"}])
    }

    #[test]
    fn tools_and_each_tool_choice() {
        let b = body(json!("Hi"), weather(), None, None);
        assert_eq!(
            b["tools"],
            json!([
                {"name": "get_weather", "description": "Weather at a place",
                 "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}},
                {"name": "now", "input_schema": {"type": "object", "properties": {}}}
            ])
        );
        assert!(b.get("tool_choice").is_none());
        for (choice, wire) in [
            (json!("auto"), json!({"type": "auto"})),
            (json!("required"), json!({"type": "any"})),
            (json!("none"), json!({"type": "none"})),
            (
                json!({"tool": "now"}),
                json!({"type": "tool", "name": "now"}),
            ),
        ] {
            assert_eq!(
                body(json!("Hi"), weather(), Some(choice), None)["tool_choice"],
                wire
            );
        }
        // Nothing to choose from: no tool fields at all.
        let b = body(json!("Hi"), json!([]), Some(json!("none")), None);
        assert!(b.get("tools").is_none() && b.get("tool_choice").is_none());
    }

    #[test]
    fn output_schema_is_a_forced_tool_or_one_more_tool() {
        let schema = json!({"type": "object", "properties": {"ok": {"type": "boolean"}}});
        let b = body(json!("Hi"), json!([]), None, Some(schema.clone()));
        assert_eq!(b["tools"][0]["name"], OUTPUT_TOOL);
        assert_eq!(b["tools"][0]["input_schema"], schema);
        assert_eq!(
            b["tool_choice"],
            json!({"type": "tool", "name": "json_output"})
        );
        let b = body(
            json!("Hi"),
            weather(),
            Some(json!("auto")),
            Some(schema.clone()),
        );
        let names: Vec<&str> = b["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["get_weather", "now", "json_output"]);
        assert_eq!(b["tool_choice"], json!({"type": "auto"}));
        let b = body(json!("Hi"), weather(), None, Some(schema.clone()));
        assert!(b.get("tool_choice").is_none());
    }

    #[test]
    fn tool_history_becomes_tool_use_and_grouped_tool_result_blocks() {
        let b = body(
            json!([
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Weather in Paris and the time?"},
                {"role": "assistant", "content": "Checking.", "tool_calls": [
                    {"id": "toolu_1", "name": "get_weather", "arguments": {"city": "Paris"}},
                    {"id": "toolu_2", "name": "now", "arguments": "{}"}
                ]},
                {"role": "tool", "tool_call_id": "toolu_1", "content": {"temp": 21}},
                {"role": "tool", "tool_call_id": "toolu_2", "content": "12:00"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "toolu_3", "name": "now", "arguments": {}}
                ]},
                {"role": "tool", "tool_call_id": "toolu_3", "content": "12:01"}
            ]),
            weather(),
            None,
            None,
        );
        assert_eq!(b["system"], "Be brief.");
        assert_eq!(
            b["messages"],
            json!([
                {"role": "user", "content": "Weather in Paris and the time?"},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "toolu_2", "name": "now", "input": {}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "{\"temp\":21}"},
                    {"type": "tool_result", "tool_use_id": "toolu_2", "content": "12:00"}
                ]},
                {"role": "assistant", "content": [
                    {"type": "tool_use", "id": "toolu_3", "name": "now", "input": {}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_3", "content": "12:01"}
                ]}
            ])
        );
    }

    #[test]
    fn documents_and_image_urls() {
        let b = body(
            json!([{"role": "user", "content": [
                {"type": "document", "data": "JVBERi0"},
                {"type": "image", "url": "https://x.example/cat.png"},
                {"type": "text", "text": "Summarise."}
            ]}]),
            json!([]),
            None,
            None,
        );
        assert_eq!(
            b["messages"][0]["content"],
            json!([
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0"}},
                {"type": "image", "source": {"type": "url", "url": "https://x.example/cat.png"}},
                {"type": "text", "text": "Summarise."}
            ])
        );
    }

    #[test]
    fn answers_split_into_text_reasoning_and_tool_calls() {
        let c = super::parse_message(
            json!({
                "type": "message", "model": "claude-x", "stop_reason": "tool_use",
                "content": [
                    {"type": "thinking", "thinking": "Paris first.", "signature": "c2ln"},
                    {"type": "redacted_thinking", "data": "ZW5j"},
                    {"type": "thinking", "thinking": "Then time."},
                    {"type": "text", "text": "Let me check."},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "toolu_2", "name": "now", "input": {}}
                ],
                "usage": {"input_tokens": 5, "output_tokens": 7}
            })
            .to_string()
            .as_bytes(),
        )
        .expect("answer");
        assert_eq!(c.content, "Let me check.");
        assert_eq!(c.reasoning, "Paris first.\n\nThen time.");
        assert_eq!(
            c.reasoning_parts,
            vec![
                ReasoningPart::signed(Dialect::Anthropic, "Paris first.", Some("c2ln")),
                ReasoningPart::redacted(Dialect::Anthropic, "ZW5j"),
                ReasoningPart::signed(Dialect::Anthropic, "Then time.", None),
            ]
        );
        assert_eq!(c.tool_calls.len(), 2);
        assert_eq!(c.tool_calls[0].id, "toolu_1");
        assert_eq!(c.tool_calls[0].arguments["city"], "Paris");
        assert_eq!(c.finish(), crate::response::Finish::ToolCalls);
        let bad = json!({"type": "message", "content": [
            {"type": "tool_use", "id": "t", "name": "get_weather", "input": "Paris"}]});
        let e = super::parse_message(bad.to_string().as_bytes()).expect_err("string input");
        assert_eq!(e.kind, crate::error::ErrorKind::BadResponse);
        assert!(e.message.contains("\"get_weather\""), "{}", e.message);
    }

    #[test]
    fn server_tool_and_unknown_blocks_fail_naming_their_type() {
        for (block, named) in [
            (
                json!({"type": "server_tool_use", "id": "s", "name": "web_search"}),
                "\"server_tool_use\"",
            ),
            (
                json!({"type": "web_search_tool_result", "content": []}),
                "\"web_search_tool_result\"",
            ),
            (json!({"type": "brand_new", "x": 1}), "\"brand_new\""),
            (json!({"text": "no type"}), "without a type"),
            (
                json!({"type": "redacted_thinking", "data": ""}),
                "without its data",
            ),
            (json!({"type": "redacted_thinking"}), "without its data"),
        ] {
            let body =
                json!({"type": "message", "content": [{"type": "text", "text": "a"}, block]});
            let e = super::parse_message(body.to_string().as_bytes()).expect_err("unread");
            assert_eq!(e.kind, crate::error::ErrorKind::BadResponse);
            // The same request gets the same answer: not worth a retry.
            assert!(!e.is_retryable(), "{}", e.message);
            assert!(e.message.contains(named), "{}", e.message);
        }
    }

    #[test]
    fn reasoning_goes_back_before_the_turn_and_only_to_anthropic() {
        let b = body(
            json!([
                {"role": "user", "content": "Weather?"},
                {"role": "assistant", "content": "Checking.", "reasoning_parts": [
                    {"dialect": "anthropic", "text": "Paris.", "signature": "c2ln"},
                    {"dialect": "anthropic", "redacted": "ZW5j"},
                    {"dialect": "anthropic", "text": "unsigned"},
                    {"dialect": "anthropic", "redacted": ""},
                    {"dialect": "gemini", "signature": "Z2Vt"},
                    {"dialect": "bedrock", "text": "b", "signature": "YmVk"}
                ], "tool_calls": [{"id": "toolu_1", "name": "now", "arguments": {}}]},
                {"role": "tool", "tool_call_id": "toolu_1", "content": "12:00"},
                {"role": "assistant", "content": "Done.", "reasoning_parts": [
                    {"dialect": "anthropic", "text": "Easy.", "signature": "ZWFz"}]}
            ]),
            weather(),
            None,
            None,
        );
        assert_eq!(
            b["messages"][1]["content"],
            json!([
                {"type": "thinking", "thinking": "Paris.", "signature": "c2ln"},
                {"type": "redacted_thinking", "data": "ZW5j"},
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "now", "input": {}}
            ])
        );
        assert_eq!(
            b["messages"][3]["content"],
            json!([
                {"type": "thinking", "thinking": "Easy.", "signature": "ZWFz"},
                {"type": "text", "text": "Done."}
            ])
        );
    }

    #[test]
    fn with_thinking_on_the_output_tool_is_offered_not_forced() {
        let schema = json!({"type": "object"});
        let forced = json!({"type": "tool", "name": OUTPUT_TOOL});
        for (thinking, choice) in [
            (
                json!({"type": "enabled", "budget_tokens": 2048}),
                json!({"type": "auto"}),
            ),
            (json!({"type": "disabled"}), forced.clone()),
        ] {
            let mut body = Map::new();
            body.insert("thinking".into(), thinking);
            body.insert("tool_choice".into(), forced.clone());
            body.insert(
                "tools".into(),
                json!([{"name": OUTPUT_TOOL, "input_schema": schema}]),
            );
            super::offer_output_tool_when_thinking(&mut body);
            assert_eq!(body["tool_choice"], choice);
        }
        // The app's own forced choice is left to the API to judge.
        let mut body = Map::new();
        body.insert("thinking".into(), json!({"type": "enabled"}));
        body.insert("tool_choice".into(), json!({"type": "any"}));
        super::offer_output_tool_when_thinking(&mut body);
        assert_eq!(body["tool_choice"], json!({"type": "any"}));
    }

    #[test]
    fn a_refusal_keeps_its_content_and_finishes_as_content_filter() {
        let c = super::parse_message(
            br#"{"type": "message", "content": [], "stop_reason": "refusal"}"#,
        )
        .expect("answer");
        assert_eq!(c.content, "");
        assert_eq!(c.finish(), crate::response::Finish::ContentFilter);
    }

    #[test]
    fn usage_counts_cache_reads_and_writes_as_input() {
        let u = super::usage(&json!({"input_tokens": 5, "cache_read_input_tokens": 20,
                                      "cache_creation_input_tokens": 3, "output_tokens": 4}));
        assert_eq!(u.input_tokens, Some(28));
        assert_eq!(u.total_tokens, Some(32));
        assert_eq!(u.cached_input_tokens, Some(20));
        assert_eq!(u.cache_creation_input_tokens, Some(3));
    }
}
