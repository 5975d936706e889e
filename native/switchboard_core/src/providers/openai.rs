//! OpenAI chat completions, as spoken by `openai`, `openai-generic`,
//! `azure-openai`, `ollama` and `openrouter`: one wire format, and each
//! platform's differences (where the endpoint is, where the key goes,
//! defaults, limits) as a [`ChatPlatform`] beside its spec, so the dialect
//! never asks which provider name it serves.

use std::borrow::Cow;

use http::header::HeaderName;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use url::Url;

use super::common;
use super::options::{ClientOptions, MergedBody};
use super::spec::{ProviderSpec, SpecKind};
use super::{AnswerReader, Attempt, Completion, Provider};
use crate::auth::Authorization;
use crate::error::Error;
use crate::generation::{self, Limits};
use crate::prompt::{Content, Inline, Message, Part, Role};
use crate::response::Usage;
use crate::tools::{self, Tool, ToolCall, ToolChoice};
use crate::wire::{CallInput, HttpRequest, ResponseHead};

const PROMPT_FIELDS: &[&str] = &["messages"];

/// How one platform of the OpenAI chat dialect differs from the others.
pub(super) struct ChatPlatform {
    endpoint: Endpoint,
    key: KeyPlacement,
    /// Whether a client must name its `model` (Azure's deployment names it,
    /// and a generic server may serve one model).
    model_required: bool,
    /// `max_tokens` sent unless the client sets `max_tokens` or
    /// `max_completion_tokens` (an explicit `nil` opts out).
    default_max_tokens: Option<u64>,
    /// Whether to ask for a usage chunk at the end of a stream; not every
    /// OpenAI-compatible server accepts `stream_options`.
    stream_usage: bool,
    /// OpenAI's documented limits where OpenAI serves the model; none for
    /// other OpenAI-compatible servers, which each have their own.
    limits: &'static Limits,
}

/// Where a platform's requests go.
enum Endpoint {
    /// `{base_url}/chat/completions`, `base_url` defaulting to the spec's.
    BaseUrl,
    /// `https://{resource_name}.openai.azure.com/openai/deployments/{deployment_id}`
    /// (or `base_url`), with `api_version` as the `api-version` query.
    Azure,
}

/// Where a platform takes its key.
enum KeyPlacement {
    /// `authorization: Bearer <key>`.
    Bearer,
    /// `<name>: <key>`, e.g. Azure's `api-key`.
    Header(&'static str),
}

const OPENAI_PLATFORM: ChatPlatform = ChatPlatform {
    endpoint: Endpoint::BaseUrl,
    key: KeyPlacement::Bearer,
    model_required: true,
    default_max_tokens: None,
    stream_usage: true,
    limits: &generation::OPENAI_CHAT,
};

pub(super) const OPENAI: ProviderSpec = ProviderSpec {
    name: "openai",
    aliases: &["baml-openai-chat"],
    kind: SpecKind::Leaf(|o| OpenAiChat::build(o, &OPENAI_PLATFORM)),
    default_base_url: Some("https://api.openai.com/v1"),
    api_key_env: Some("OPENAI_API_KEY"),
    routing_options: &[],
    prompt_fields: PROMPT_FIELDS,
    media_defaults: crate::media::OPENAI_DEFAULTS,
};

pub(super) const OPENAI_GENERIC: ProviderSpec = ProviderSpec {
    name: "openai-generic",
    aliases: &[],
    kind: SpecKind::Leaf(|o| {
        OpenAiChat::build(
            o,
            &ChatPlatform {
                model_required: false,
                stream_usage: false,
                limits: &generation::UNCHECKED,
                ..OPENAI_PLATFORM
            },
        )
    }),
    default_base_url: None,
    api_key_env: None,
    ..OPENAI
};

pub(super) const AZURE_OPENAI: ProviderSpec = ProviderSpec {
    name: "azure-openai",
    // `openai/azure` (with `endpoint`): the design seeds' spelling.
    aliases: &["baml-azure-chat", "openai/azure"],
    kind: SpecKind::Leaf(|o| {
        OpenAiChat::build(
            o,
            &ChatPlatform {
                endpoint: Endpoint::Azure,
                key: KeyPlacement::Header("api-key"),
                model_required: false,
                // BAML's Azure default.
                default_max_tokens: Some(4096),
                ..OPENAI_PLATFORM
            },
        )
    }),
    default_base_url: None,
    api_key_env: Some("AZURE_OPENAI_API_KEY"),
    routing_options: &["resource_name", "deployment_id", "api_version", "endpoint"],
    ..OPENAI
};

/// Ollama and OpenRouter: a model is named, and their servers set their
/// own ranges.
const COMPATIBLE_PLATFORM: ChatPlatform = ChatPlatform {
    limits: &generation::UNCHECKED,
    ..OPENAI_PLATFORM
};

pub(super) const OLLAMA: ProviderSpec = ProviderSpec {
    name: "ollama",
    aliases: &["baml-ollama-chat"],
    kind: SpecKind::Leaf(|o| OpenAiChat::build(o, &COMPATIBLE_PLATFORM)),
    default_base_url: Some("http://localhost:11434/v1"),
    api_key_env: None,
    ..OPENAI
};

pub(super) const OPENROUTER: ProviderSpec = ProviderSpec {
    name: "openrouter",
    aliases: &[],
    kind: SpecKind::Leaf(|o| OpenAiChat::build(o, &COMPATIBLE_PLATFORM)),
    default_base_url: Some("https://openrouter.ai/api/v1"),
    api_key_env: Some("OPENROUTER_API_KEY"),
    ..OPENAI
};

#[derive(Debug)]
pub struct OpenAiChat {
    url: Url,
    /// The platform's [`ChatPlatform::stream_usage`].
    stream_usage: bool,
    authorization: Authorization,
    headers: http::header::HeaderMap,
    secrets: crate::secret::Secrets,
    body: Map<String, Value>,
    limits: &'static Limits,
}

impl OpenAiChat {
    fn build(o: &ClientOptions, platform: &ChatPlatform) -> Result<Box<dyn Provider>, Error> {
        let opts = o.options();
        if platform.model_required {
            opts.required_str("model")?;
        }
        let url = match platform.endpoint {
            Endpoint::BaseUrl => o.url(&o.base_url()?, "/chat/completions")?,
            Endpoint::Azure => {
                let mut url = o.url(&azure_base_url(o)?, "/chat/completions")?;
                if let Some(version) = opts.str("api_version")? {
                    url.query_pairs_mut().append_pair("api-version", version);
                }
                url
            }
        };
        let mut body = o.body.clone();
        if let Some(max_tokens) = platform.default_max_tokens {
            if !o.raw.contains_key("max_tokens") && !o.raw.contains_key("max_completion_tokens") {
                body.insert("max_tokens".into(), Value::from(max_tokens));
            }
        }
        let authorization = match (o.api_key()?, &platform.key) {
            (None, _) => Authorization::None,
            (Some(key), KeyPlacement::Header(name)) => Authorization::Header {
                name: HeaderName::from_static(name),
                prefix: "",
                key,
            },
            (Some(key), KeyPlacement::Bearer) => Authorization::bearer(key),
        };
        Ok(Box::new(OpenAiChat {
            url,
            stream_usage: platform.stream_usage,
            limits: platform.limits,
            authorization,
            headers: o.headers.clone(),
            secrets: o.secrets.clone(),
            body,
        }))
    }
}

/// Azure's endpoint: `base_url` when given, else the one its resource and
/// deployment name.
fn azure_base_url(o: &ClientOptions) -> Result<String, Error> {
    let opts = o.options();
    if opts.str("base_url")?.is_some() {
        // Taking base_url and ignoring the deployment (BAML lets base_url
        // win) would call another deployment than the one named: refused.
        for other in ["resource_name", "deployment_id"] {
            if opts.str(other)?.is_some() {
                return Err(Error::config(format!(
                    "{}: set base_url, or resource_name and deployment_id, not both: \
                     base_url already names the deployment (drop {other:?})",
                    o.ctx
                )));
            }
        }
        return o.base_url();
    }
    let resource = opts.required_str("resource_name")?;
    let deployment = opts.required_str("deployment_id")?;
    if !is_azure_name(resource) || !is_azure_name(deployment) {
        return Err(Error::config(format!(
            "{}: resource_name and deployment_id may only hold letters, digits, '-', '_' and '.'",
            o.ctx
        )));
    }
    Ok(format!(
        "https://{resource}.openai.azure.com/openai/deployments/{deployment}"
    ))
}

/// Whether `s` can stand in Azure's host name or URL path as it is.
pub(super) fn is_azure_name(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

fn content_json(content: &Content) -> Value {
    match content {
        Content::Text(t) => Value::String(t.clone()),
        Content::Parts(parts) => Value::Array(
            parts
                .iter()
                .map(|p| match p {
                    Part::Text(t) => json!({"type": "text", "text": t}),
                    Part::Image(media) => {
                        json!({"type": "image_url", "image_url": {"url": media.url()}})
                    }
                    Part::Document(d) => json!({"type": "file", "file": {
                        "filename": "document.pdf", "file_data": d.url()
                    }}),
                })
                .collect(),
        ),
    }
}

/// One prompt message as the request writes it: a plain text message (the
/// usual kind) straight from the call's own string, any other as
/// [`message_json`] builds (and checks) it.
enum ChatMessage<'a> {
    /// The role as sent (renamed, or its own name) and the text.
    Text(&'a str, &'a str),
    Built(Value),
}

impl<'a> ChatMessage<'a> {
    fn all(messages: &'a [Message]) -> Result<Vec<Self>, Error> {
        messages
            .iter()
            .map(|m| match &m.content {
                Content::Text(text) if m.role != Role::Tool && m.tool_calls.is_empty() => {
                    Ok(ChatMessage::Text(m.wire_role(), text))
                }
                _ => message_json(m).map(ChatMessage::Built),
            })
            .collect()
    }
}

impl serde::Serialize for ChatMessage<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            ChatMessage::Built(value) => value.serialize(serializer),
            // `message_json`'s keys, in its (sorted) order.
            ChatMessage::Text(role, text) => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("content", text)?;
                map.serialize_entry("role", role)?;
                map.end()
            }
        }
    }
}

/// One prompt message in OpenAI's shape: an assistant's tool calls go in
/// `tool_calls` (arguments as JSON text, content `null` when it has no
/// text), a tool result is a `tool` message naming its call.
fn message_json(m: &Message) -> Result<Value, Error> {
    let mut out = Map::new();
    out.insert("role".into(), Value::from(m.wire_role()));
    match m.role {
        Role::Assistant if !m.tool_calls.is_empty() => {
            let content = match m.text() {
                t if t.is_empty() => Value::Null,
                _ => content_json(&m.content),
            };
            out.insert("content".into(), content);
            let calls = m.tool_calls.iter().map(|c| {
                json!({"id": c.id, "type": "function", "function": {
                    "name": c.name,
                    "arguments": Value::Object(c.arguments.clone()).to_string(),
                }})
            });
            out.insert("tool_calls".into(), Value::Array(calls.collect()));
        }
        Role::Tool => {
            if let Content::Parts(parts) = &m.content {
                if parts.iter().any(|p| !matches!(p, Part::Text(_))) {
                    return Err(Error::invalid_request(
                        "OpenAI chat tool results take only text, not images or documents",
                    ));
                }
            }
            out.insert("tool_call_id".into(), json!(m.tool_call_id));
            out.insert("content".into(), Value::String(m.text()));
        }
        _ => {
            out.insert("content".into(), content_json(&m.content));
        }
    }
    Ok(Value::Object(out))
}

fn tools_json(tools: &[Tool]) -> Value {
    Value::Array(
        tools
            .iter()
            .map(|t| {
                let mut function = Map::new();
                function.insert("name".into(), Value::from(t.name.as_str()));
                if let Some(d) = &t.description {
                    function.insert("description".into(), Value::from(d.as_str()));
                }
                function.insert("parameters".into(), t.parameters.clone());
                json!({"type": "function", "function": function})
            })
            .collect(),
    )
}

fn tool_choice_json(choice: &ToolChoice) -> Value {
    match choice {
        ToolChoice::Auto => json!("auto"),
        ToolChoice::None => json!("none"),
        ToolChoice::Required => json!("required"),
        ToolChoice::Tool(name) => json!({"type": "function", "function": {"name": name}}),
    }
}

/// `response_format` for an output schema: OpenAI's `json_schema` mode,
/// strict when the schema allows it (see [`strict_allowed`]).
fn response_format_json(schema: &Value) -> Value {
    json!({"type": "json_schema", "json_schema": {
        "name": "output",
        "schema": schema,
        "strict": super::openai_strict::strict_allowed(schema),
    }})
}

impl Provider for OpenAiChat {
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

impl OpenAiChat {
    fn build_request(&self, input: &CallInput<'_>) -> Result<HttpRequest, Error> {
        // Every document is sent as `document.pdf`.
        Inline::require_pdf_documents(input.messages, "the OpenAI chat dialect")?;
        // Chat completions take a file only as data, an image by any URL
        // the API fetches itself.
        crate::prompt::refuse_media_urls(
            input.messages,
            "the OpenAI chat dialect",
            "images by http(s) URL and documents as inline data",
            |part, u| u.is_google() || matches!(part, Part::Document(_)),
        )?;
        let mut fields = Map::new();
        let messages = ChatMessage::all(input.messages)?;
        if !input.tools.is_empty() {
            fields.insert("tools".into(), tools_json(input.tools));
            // OpenAI refuses a tool_choice without tools; with none, no
            // tool can be called anyway.
            if let Some(choice) = input.tool_choice {
                fields.insert("tool_choice".into(), tool_choice_json(choice));
            }
        }
        if let Some(schema) = input.output_schema {
            fields.insert("response_format".into(), response_format_json(schema));
        }
        if input.stream {
            fields.insert("stream".into(), Value::Bool(true));
            if self.stream_usage {
                fields.insert("stream_options".into(), json!({"include_usage": true}));
            }
        }
        let body = MergedBody {
            client: &self.body,
            fields,
            borrowed: Some(("messages", messages)),
            call: input.options,
        };
        Ok(HttpRequest::post_json(self.url.clone(), &body)?
            .with_client_headers(&self.headers, &self.secrets))
    }
}

impl AnswerReader for OpenAiChat {
    fn limits(&self) -> &'static Limits {
        self.limits
    }

    /// Reads `choices[0].message`: its text, tool calls and reasoning.
    ///
    /// A `refusal` (the model declined, typically under a JSON schema) is
    /// answer text: OpenAI sends it instead of `content`, so it is appended
    /// to the content rather than lost or turned into an error, and the
    /// finish reason reads `"refusal"` (finish `:content_filter`) where the
    /// provider said `"stop"` or nothing (see [`refusal_reason`]). A refused
    /// structured answer then fails the schema check like any other text.
    fn parse_response(&self, _head: &ResponseHead, body: &[u8]) -> Result<Completion, Error> {
        if let Some(answer) = TypedAnswer::read(body) {
            if let Some((choice, message)) = answer.first_message() {
                return completion(
                    message,
                    choice.finish_reason.as_deref(),
                    answer.model.as_deref(),
                    answer.usage.as_ref(),
                );
            }
        }
        // Anything else (an error object, no choices, a field of an
        // unexpected type) is read as a tree, which says what is wrong.
        let v = common::parse_json(body)?;
        if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
            let msg = err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("the provider returned an error object");
            return Err(Error::new(common::error_object_kind(err), msg.to_owned())
                .with_provider_detail(
                    common::code_text(err.get("code")).as_deref(),
                    err.get("type").and_then(Value::as_str),
                ));
        }
        let choice = v
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|c| c.first())
            .ok_or_else(|| Error::bad_response("the answer has no choices"))?;
        let message = choice
            .get("message")
            .ok_or_else(|| Error::bad_response("the first choice has no message"))?;
        completion(
            message,
            choice.get("finish_reason").and_then(Value::as_str),
            v.get("model").and_then(Value::as_str),
            v.get("usage"),
        )
    }

    fn stream_parser(&self) -> Box<dyn super::StreamParser> {
        Box::<super::openai_stream::OpenAiStream>::default()
    }
}

/// The usual chat answer, typed: the fields nobody reads (`id`, `object`,
/// `created`, `system_fingerprint`, the other choices' insides ...) are
/// skipped instead of built into maps. Only `message` stays a tree, for the
/// readers below that the lenient path shares.
#[derive(Deserialize)]
struct TypedAnswer<'a> {
    #[serde(default)]
    error: Option<Value>,
    #[serde(default, borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<Value>,
    #[serde(default, borrow)]
    choices: Vec<TypedChoice<'a>>,
}

#[derive(Deserialize)]
struct TypedChoice<'a> {
    #[serde(default)]
    message: Option<Value>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
}

impl<'a> TypedAnswer<'a> {
    /// `None` for anything but a JSON object of the expected types (serde
    /// would also read an array as a struct's fields in order).
    fn read(body: &'a [u8]) -> Option<Self> {
        body.trim_ascii_start().starts_with(b"{").then_some(())?;
        serde_json::from_slice(body).ok()
    }

    /// The first choice and its message, when there is no error object.
    fn first_message(&self) -> Option<(&TypedChoice<'a>, &Value)> {
        if self.error.is_some() {
            return None;
        }
        let choice = self.choices.first()?;
        Some((choice, choice.message.as_ref()?))
    }
}

/// A completion from the first choice's `message`, read the same way
/// whichever path found it.
fn completion(
    message: &Value,
    finish_reason: Option<&str>,
    model: Option<&str>,
    usage_object: Option<&Value>,
) -> Result<Completion, Error> {
    let mut content = match message.get("content") {
        Some(Value::String(s)) => s.clone(),
        // Tool calls and refusals answer with a null content.
        Some(Value::Null) | None => String::new(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        Some(_) => return Err(Error::bad_response("message.content is not text")),
    };
    let refused = match message.get("refusal") {
        Some(Value::String(refusal)) => {
            content.push_str(refusal);
            !refusal.is_empty()
        }
        Some(Value::Null) | None => false,
        Some(_) => return Err(Error::bad_response("message.refusal is not text")),
    };
    Ok(Completion {
        content,
        reasoning: reasoning_text(message)?.to_owned(),
        tool_calls: tool_calls(message)?,
        model: model.map(str::to_owned),
        finish_reason: refusal_reason(finish_reason.map(str::to_owned), refused),
        usage: usage_object.map(usage).unwrap_or_default(),
        ..Completion::default()
    })
}

/// Chat completions have no finish reason for a refusal (OpenAI says
/// `"stop"`): an answer that refused reads as `"refusal"` (finish
/// `:content_filter`, as on the Responses dialect) when the provider said
/// `"stop"` or nothing; any other reason (`"length"`, ...) is kept.
pub(super) fn refusal_reason(finish_reason: Option<String>, refused: bool) -> Option<String> {
    if refused && matches!(finish_reason.as_deref(), None | Some("stop")) {
        Some("refusal".to_owned())
    } else {
        finish_reason
    }
}

/// Reasoning text as OpenAI-compatible servers return it: DeepSeek and vLLM
/// `reasoning_content`, OpenRouter and Ollama `reasoning` (vLLM may send
/// both with the same text, so only the first is read).
fn reasoning_text(message: &Value) -> Result<&str, Error> {
    for field in REASONING_FIELDS {
        match message.get(field) {
            Some(Value::String(s)) if !s.is_empty() => return Ok(s),
            Some(Value::String(_) | Value::Null) | None => {}
            Some(_) => return Err(Error::bad_response(format!("message.{field} is not text"))),
        }
    }
    Ok("")
}

/// Where compatible servers put reasoning, in order of preference.
pub(super) const REASONING_FIELDS: [&str; 2] = ["reasoning_content", "reasoning"];

/// `message.tool_calls`: function calls with their arguments as JSON text
/// (an object from servers that send it decoded). A call of another type,
/// without a name, or with arguments that are not a JSON object is a
/// `:bad_response`; a call without an id gets a made-up one.
fn tool_calls(message: &Value) -> Result<Vec<ToolCall>, Error> {
    let calls = match message.get("tool_calls") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(calls)) => calls,
        Some(_) => return Err(Error::bad_response("message.tool_calls is not a list")),
    };
    calls
        .iter()
        .enumerate()
        .map(|(i, call)| {
            match call.get("type").and_then(Value::as_str) {
                None | Some("function") => {}
                Some(other) => {
                    return Err(Error::bad_response(format!(
                        "tool call {i} is of type {other:?}; only function calls are read"
                    )))
                }
            }
            let function = call.get("function");
            let name = function
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .ok_or_else(|| {
                    Error::bad_response(format!("tool call {i} has no function name"))
                })?;
            let arguments = match function.and_then(|f| f.get("arguments")) {
                Some(Value::String(text)) => tools::arguments_from_text(name, text)?,
                other => tools::arguments_from_value(name, other)?,
            };
            Ok(ToolCall {
                id: tools::id_or_made_up(call.get("id").and_then(Value::as_str), i),
                name: name.to_owned(),
                arguments,
                signature: None,
            })
        })
        .collect()
}

/// OpenAI's usage object, also sent as the last chunk of a stream.
/// `prompt_tokens` already counts cached tokens, and `completion_tokens`
/// the reasoning tokens (`completion_tokens_details.reasoning_tokens`).
pub fn usage(u: &Value) -> Usage {
    Usage::new(
        common::u64_at(u, &["prompt_tokens"]),
        common::u64_at(u, &["completion_tokens"]),
    )
    .or_total(common::u64_at(u, &["total_tokens"]))
    .with_cached(
        common::u64_at(u, &["prompt_tokens_details", "cached_tokens"]),
        None,
    )
    .with_reasoning(common::u64_at(
        u,
        &["completion_tokens_details", "reasoning_tokens"],
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::providers::golden::{conversation, sent};

    #[test]
    fn openai_golden_request() {
        let s = sent(
            "openai",
            json!({"model": "gpt-4o-mini", "api_key": "sk-test", "temperature": 0.5,
                   "headers": {"x-trace": "t1"}, "query_params": {"a": "b"},
                   "http": {"idle_timeout_ms": 5}, "finish_reason_deny_list": ["length"]}),
            conversation(),
            json!({"max_tokens": 7, "model": "gpt-4o"}),
            true,
        );
        assert_eq!(s.method, "POST");
        assert_eq!(s.url, "https://api.openai.com/v1/chat/completions?a=b");
        assert_eq!(
            s.headers,
            [
                ("content-type", "application/json"),
                ("x-trace", "t1"),
                ("authorization", "Bearer sk-test"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        assert_eq!(
            s.body,
            json!({
                "model": "gpt-4o", "temperature": 0.5, "max_tokens": 7,
                "stream": true, "stream_options": {"include_usage": true},
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": [
                        {"type": "text", "text": "What is this?"},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}}
                    ]},
                    {"role": "assistant", "content": "A logo."},
                    {"role": "user", "content": "Whose?"}
                ]
            })
        );
    }

    #[test]
    fn an_azure_deployment_beside_base_url_is_refused() {
        let spec = crate::providers::spec::find("azure-openai").expect("spec");
        for extra in ["deployment_id", "resource_name"] {
            let mut raw = json!({"base_url": "https://h/openai/deployments/d", "api_key": "k"});
            raw[extra] = json!("d2");
            let o = crate::providers::ClientOptions::parse(
                spec,
                "client \"Az\"".into(),
                raw.as_object().expect("map"),
            )
            .expect("options");
            let e = crate::providers::build(&o).expect_err("refused");
            assert_eq!(e.kind, crate::error::ErrorKind::Config);
            assert!(
                e.message.contains("base_url already names the deployment"),
                "{}",
                e.message
            );
            assert!(e.message.contains(extra), "{}", e.message);
        }
    }

    #[test]
    fn azure_golden_request() {
        let s = sent(
            "azure-openai",
            json!({"resource_name": "res", "deployment_id": "dep", "api_version": "2024-10-21",
                   "api_key": "az-key"}),
            json!("hi"),
            json!({}),
            false,
        );
        assert_eq!(
            s.url,
            "https://res.openai.azure.com/openai/deployments/dep/chat/completions?api-version=2024-10-21"
        );
        assert!(s.headers.contains(&("api-key".into(), "az-key".into())));
        assert!(!s.headers.iter().any(|(k, _)| k == "authorization"));
        // Routing options stay out of the body; BAML's Azure max_tokens default goes in.
        assert_eq!(
            s.body,
            json!({"max_tokens": 4096, "messages": [{"role": "user", "content": "hi"}]})
        );
    }

    #[test]
    fn generic_ollama_and_openrouter_golden_requests() {
        let g = sent(
            "openai-generic",
            json!({"base_url": "http://h:1/v1/", "model": "m"}),
            json!("hi"),
            json!({}),
            true,
        );
        assert_eq!(g.url, "http://h:1/v1/chat/completions");
        assert!(!g.headers.iter().any(|(k, _)| k == "authorization"));
        assert_eq!(
            g.body,
            json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "hi"}]})
        );
        let o = sent(
            "ollama",
            json!({"model": "llama3"}),
            json!("hi"),
            json!({}),
            false,
        );
        assert_eq!(o.url, "http://localhost:11434/v1/chat/completions");
        let r = sent(
            "openrouter",
            json!({"model": "x/y", "api_key": "or-key"}),
            json!("hi"),
            json!({}),
            false,
        );
        assert_eq!(r.url, "https://openrouter.ai/api/v1/chat/completions");
        assert!(r
            .headers
            .contains(&("authorization".into(), "Bearer or-key".into())));
    }

    /// The body of a call with tools, a choice and a schema.
    fn body_with(
        prompt: serde_json::Value,
        tools: &[crate::tools::Tool],
        choice: Option<&crate::tools::ToolChoice>,
        schema: Option<&serde_json::Value>,
    ) -> serde_json::Value {
        let p = crate::providers::golden::provider("openai", json!({"model": "m", "api_key": "k"}));
        let messages = crate::prompt::parse_prompt(&prompt).unwrap();
        let call = serde_json::Map::new();
        let input = crate::wire::CallInput {
            tools,
            tool_choice: choice,
            output_schema: schema,
            ..crate::wire::CallInput::plain(&messages, &call, false)
        };
        let request = p.build_request(&input).unwrap();
        serde_json::from_slice(&request.body).unwrap()
    }

    #[test]
    fn tools_choice_schema_and_tool_history_golden_request() {
        let tools = crate::tools::parse_tools(&json!([
            {"name": "get_metric", "description": "Reads a metric",
             "parameters": {"type": "object", "properties": {"name": {"type": "string"}}}},
            {"name": "now"}
        ]))
        .unwrap();
        let schema = json!({"type": "object", "properties": {"ok": {"type": "boolean"}},
                            "required": ["ok"], "additionalProperties": false});
        let body = body_with(
            json!([
                {"role": "user", "content": [
                    {"type": "text", "text": "Look"},
                    {"type": "image", "url": "https://x/i.png"},
                    {"type": "document", "data": "JVBE"}
                ]},
                {"role": "assistant", "content": "", "tool_calls": [
                    {"id": "call_1", "name": "get_metric", "arguments": {"name": "memory"}}
                ]},
                {"role": "tool", "tool_call_id": "call_1", "content": {"bytes": 42}},
                {"role": "assistant", "content": "Checking.", "tool_calls": [
                    {"id": "call_2", "name": "now", "arguments": {}}
                ]},
                {"role": "tool", "tool_call_id": "call_2", "content": "noon"}
            ]),
            &tools,
            Some(&crate::tools::ToolChoice::Tool("now".into())),
            Some(&schema),
        );
        assert_eq!(
            body,
            json!({
                "model": "m",
                "messages": [
                    {"role": "user", "content": [
                        {"type": "text", "text": "Look"},
                        {"type": "image_url", "image_url": {"url": "https://x/i.png"}},
                        {"type": "file", "file": {"filename": "document.pdf",
                                                  "file_data": "data:application/pdf;base64,JVBE"}}
                    ]},
                    {"role": "assistant", "content": null, "tool_calls": [
                        {"id": "call_1", "type": "function",
                         "function": {"name": "get_metric", "arguments": "{\"name\":\"memory\"}"}}
                    ]},
                    {"role": "tool", "tool_call_id": "call_1", "content": "{\"bytes\":42}"},
                    {"role": "assistant", "content": "Checking.", "tool_calls": [
                        {"id": "call_2", "type": "function",
                         "function": {"name": "now", "arguments": "{}"}}
                    ]},
                    {"role": "tool", "tool_call_id": "call_2", "content": "noon"}
                ],
                "tools": [
                    {"type": "function", "function": {
                        "name": "get_metric", "description": "Reads a metric",
                        "parameters": {"type": "object", "properties": {"name": {"type": "string"}}}
                    }},
                    {"type": "function", "function": {
                        "name": "now", "parameters": {"type": "object", "properties": {}}
                    }}
                ],
                "tool_choice": {"type": "function", "function": {"name": "now"}},
                "response_format": {"type": "json_schema", "json_schema": {
                    "name": "output", "schema": schema, "strict": true
                }}
            })
        );
        for (choice, wire) in [
            (crate::tools::ToolChoice::Auto, json!("auto")),
            (crate::tools::ToolChoice::None, json!("none")),
            (crate::tools::ToolChoice::Required, json!("required")),
        ] {
            let body = body_with(json!("hi"), &tools, Some(&choice), None);
            assert_eq!(body["tool_choice"], wire);
        }
        // Without tools there is no tool_choice to send (OpenAI refuses one).
        let body = body_with(
            json!("hi"),
            &[],
            Some(&crate::tools::ToolChoice::None),
            None,
        );
        assert_eq!(
            body,
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
        );
    }

    #[test]
    fn a_tool_result_with_an_image_is_refused_before_sending() {
        let p = crate::providers::golden::provider("openai", json!({"model": "m", "api_key": "k"}));
        let messages = crate::prompt::parse_prompt(&json!([
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c", "name": "shot", "arguments": {}}]},
            {"role": "tool", "tool_call_id": "c", "content": [{"type": "image", "url": "https://x/i.png"}]}
        ]))
        .unwrap();
        let call = serde_json::Map::new();
        let err = p
            .build_request(&crate::wire::CallInput::plain(&messages, &call, false))
            .unwrap_err();
        assert_eq!(err.kind, crate::error::ErrorKind::InvalidRequest);
    }

    fn parse(body: serde_json::Value) -> Result<crate::wire::Completion, crate::error::Error> {
        use crate::wire::ResponseHead;
        let p = crate::providers::golden::provider("openai", json!({"model": "m", "api_key": "k"}));
        let head = ResponseHead {
            status: 200,
            headers: Default::default(),
        };
        p.parse_response(&head, body.to_string().as_bytes())
    }

    #[test]
    fn answers_with_tool_calls_reasoning_and_refusals() {
        let c = parse(json!({
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": null, "refusal": null,
                "reasoning_content": "think", "reasoning": "think",
                "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": "add", "arguments": "{\"a\":2,\"b\":3}"}},
                    {"type": "function", "function": {"name": "now", "arguments": {"tz": "UTC"}}},
                    {"id": "call_3", "function": {"name": "ping", "arguments": ""}}
                ]
            }}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 30, "total_tokens": 40,
                      "completion_tokens_details": {"reasoning_tokens": 20}}
        }))
        .unwrap();
        assert_eq!(c.content, "");
        assert_eq!(c.reasoning, "think");
        let calls: Vec<_> = c
            .tool_calls
            .iter()
            .map(|t| {
                (
                    t.id.as_str(),
                    t.name.as_str(),
                    serde_json::Value::Object(t.arguments.clone()),
                )
            })
            .collect();
        assert_eq!(
            calls,
            vec![
                ("call_1", "add", json!({"a": 2, "b": 3})),
                ("call_sb_1", "now", json!({"tz": "UTC"})),
                ("call_3", "ping", json!({}))
            ]
        );
        assert_eq!(c.usage.reasoning_tokens, Some(20));
        assert_eq!(c.usage.output_tokens, Some(30));
        assert_eq!(c.finish(), crate::response::Finish::ToolCalls);

        // OpenRouter's `reasoning`; a refusal is the answer's text.
        let c = parse(json!({"choices": [{"finish_reason": "stop", "message": {
            "content": null, "refusal": "I can't help with that.", "reasoning": "r"
        }}]}))
        .unwrap();
        assert_eq!(c.content, "I can't help with that.");
        assert_eq!(c.reasoning, "r");
        assert_eq!(c.finish_reason.as_deref(), Some("refusal"));
        assert_eq!(c.finish(), crate::response::Finish::ContentFilter);
    }

    #[test]
    fn a_refusal_finishes_as_content_filter_only_over_stop_or_nothing() {
        let answer = |reason: serde_json::Value, refusal: serde_json::Value| {
            parse(json!({"choices": [{"finish_reason": reason,
                                      "message": {"content": null, "refusal": refusal}}]}))
            .unwrap()
            .finish_reason
        };
        assert_eq!(answer(json!(null), json!("no")).as_deref(), Some("refusal"));
        assert_eq!(
            answer(json!("length"), json!("no")).as_deref(),
            Some("length")
        );
        assert_eq!(answer(json!("stop"), json!(null)).as_deref(), Some("stop"));
        assert_eq!(answer(json!("stop"), json!("")).as_deref(), Some("stop"));
    }

    #[test]
    fn unreadable_tool_calls_are_bad_responses_naming_the_tool() {
        let message = |calls: serde_json::Value| {
            json!({"choices": [{"finish_reason": "tool_calls",
                                "message": {"content": null, "tool_calls": calls}}]})
        };
        let err = parse(message(json!([
            {"id": "c", "type": "function", "function": {"name": "get_metric", "arguments": "{\"name\":"}}
        ])))
        .unwrap_err();
        assert_eq!(err.kind, crate::error::ErrorKind::BadResponse);
        assert!(err.message.contains("\"get_metric\""), "{}", err.message);
        for bad in [
            json!([{"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]),
            json!([{"id": "c", "type": "function", "function": {"arguments": "{}"}}]),
            json!([{"id": "c", "type": "custom", "custom": {"name": "f", "input": "x"}}]),
            json!({"id": "c"}),
        ] {
            let err = parse(message(bad.clone())).unwrap_err();
            assert_eq!(err.kind, crate::error::ErrorKind::BadResponse, "{bad}");
        }
        let err =
            parse(json!({"choices": [{"message": {"content": "x", "reasoning_content": 1}}]}))
                .unwrap_err();
        assert_eq!(err.kind, crate::error::ErrorKind::BadResponse);
    }

    #[test]
    fn a_credential_in_headers_replaces_the_key_and_is_a_secret() {
        let p = crate::providers::golden::provider(
            "openai",
            json!({"model": "m", "headers": {"Authorization": "Bearer from-headers"}}),
        );
        let messages = crate::prompt::parse_prompt(&json!("hi")).unwrap();
        let call = serde_json::Map::new();
        let input = crate::wire::CallInput::plain(&messages, &call, false);
        let mut request = p.build_request(&input).unwrap();
        // No OPENAI_API_KEY is needed: the header is the credential.
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(p.authorization().apply(&mut request)).unwrap();
        assert_eq!(request.headers.get_all("authorization").iter().count(), 1);
        assert!(request.headers["authorization"].is_sensitive());
        assert_eq!(
            request.secrets.redact("bad key from-headers"),
            "bad key [REDACTED]"
        );
        assert!(!format!("{p:?} {request:?}").contains("from-headers"));
    }
}
