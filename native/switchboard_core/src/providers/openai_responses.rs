//! OpenAI Responses API (`POST {base_url}/responses`), the `openai-responses`
//! provider.
//!
//! The prompt becomes `input` items: messages, and for tool loops the
//! assistant's `function_call` items and the app's `function_call_output`
//! items. Tools are function tools (`strict` where the schema allows it,
//! [`strict_schema`]); an output schema is `text.format` `json_schema`.
//!
//! The answer is read from the response's output items ([`read_output`]):
//! the text of the `output_text` parts of its `message` items, the
//! `function_call` items as tool calls (their `call_id` is the id), and the
//! reasoning items' summaries as reasoning. A `refusal` part is the
//! answer's text, and the finish reason says `"refusal"`. Items that record
//! tools the server ran (web search, ...) are skipped; any other item or
//! part this version cannot read is a `:bad_response`, never dropped.
//!
//! A response reports how it ended in `status`: `completed` reads as
//! finish reason `"stop"`, `incomplete` as its `incomplete_details.reason`
//! (`max_output_tokens`, `content_filter`), so the finish-reason lists
//! apply to them like to any other; `failed` is an error whose kind comes
//! from `error.code` ([`error_kind`]).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use url::Url;

use super::common;
use super::options::{merge_body, ClientOptions};
use super::spec::{ProviderSpec, SpecKind};
use super::stream::short;
use super::{AnswerReader, Attempt, Completion, Provider};
use crate::auth::Authorization;
use crate::error::{Error, ErrorKind};
use crate::generation::{self, Limits};
use crate::prompt::{Content, Inline, Media, Message, Part, Role};
use crate::response::Usage;
use crate::secret::Secrets;
use crate::tools::{arguments_from_text, id_or_made_up, Tool, ToolCall, ToolChoice};
use crate::wire::{push_reasoning_part, CallInput, HttpRequest, ResponseHead};

pub(super) const OPENAI_RESPONSES: ProviderSpec = ProviderSpec {
    name: "openai-responses",
    aliases: &[],
    kind: SpecKind::Leaf(OpenAiResponses::build),
    default_base_url: Some("https://api.openai.com/v1"),
    api_key_env: Some("OPENAI_API_KEY"),
    routing_options: &[],
    prompt_fields: &["input"],
    media_defaults: crate::media::OPENAI_DEFAULTS,
};

/// The Responses API's name for the output limit. `max_tokens`, which
/// every other provider takes, is renamed to it (the API rejects
/// `max_tokens`), so one option works across providers.
const MAX_OUTPUT_TOKENS: &str = "max_output_tokens";

#[derive(Debug)]
pub struct OpenAiResponses {
    url: Url,
    authorization: Authorization,
    headers: http::header::HeaderMap,
    secrets: Secrets,
    body: Map<String, Value>,
}

impl OpenAiResponses {
    fn build(o: &ClientOptions) -> Result<Box<dyn Provider>, Error> {
        o.options().required_str("model")?;
        let base_url = o.base_url()?;
        let authorization = match o.api_key()? {
            Some(key) => Authorization::bearer(key),
            None => Authorization::None,
        };
        Ok(Box::new(OpenAiResponses {
            url: o.url(&base_url, "/responses")?,
            authorization,
            headers: o.headers.clone(),
            secrets: o.secrets.clone(),
            body: renamed_max_tokens(Cow::Borrowed(&o.body)).into_owned(),
        }))
    }
}

/// `max_tokens` as `max_output_tokens`, unless `max_output_tokens` is given
/// too: the option named in the API's own terms wins.
fn renamed_max_tokens(options: Cow<'_, Map<String, Value>>) -> Cow<'_, Map<String, Value>> {
    if !options.contains_key("max_tokens") {
        return options;
    }
    let mut options = options.into_owned();
    if let Some(limit) = options.remove("max_tokens") {
        if !options.contains_key(MAX_OUTPUT_TOKENS) {
            options.insert(MAX_OUTPUT_TOKENS.into(), limit);
        }
    }
    Cow::Owned(options)
}

/// The `input` items of a prompt. Most messages are one easy input
/// message each; an assistant turn that called tools is its text (if any)
/// followed by one `function_call` item per call, and a tool result is a
/// `function_call_output` item naming its call.
fn input_items(messages: &[Message]) -> Result<Vec<Value>, Error> {
    let mut items = Vec::with_capacity(messages.len());
    for m in messages {
        match m.role {
            Role::Tool => items.push(function_call_output(m)?),
            Role::Assistant if !m.tool_calls.is_empty() => {
                if !m.content.is_empty() {
                    items.push(input_item(m));
                }
                items.extend(m.tool_calls.iter().map(|call| {
                    json!({
                        "type": "function_call",
                        "call_id": call.id,
                        "name": call.name,
                        "arguments": Value::Object(call.arguments.clone()).to_string(),
                    })
                }));
            }
            Role::System | Role::User | Role::Assistant => items.push(input_item(m)),
        }
    }
    Ok(items)
}

/// One input content part. Assistant turns are the model's earlier output,
/// so their text is `output_text`; everything else is `input_text`.
fn input_part(text_type: &'static str, p: &Part) -> Value {
    match p {
        Part::Text(t) => json!({"type": text_type, "text": t}),
        // `detail` is the API's default, spelled out for compatible servers
        // that validate against OpenAI's types, where it is required.
        // (The prompt parser keeps images out of assistant turns.)
        Part::Image(media) => {
            json!({"type": "input_image", "image_url": media.url(), "detail": "auto"})
        }
        Part::Document(Media::Inline(d)) => json!({
            "type": "input_file", "filename": "document.pdf", "file_data": d.data_url()
        }),
        Part::Document(Media::Url(u)) => json!({"type": "input_file", "file_url": u.url}),
    }
}

/// One `input` item: an easy input message with typed content parts.
fn input_item(m: &Message) -> Value {
    let text_type = match m.role {
        Role::Assistant => "output_text",
        Role::System | Role::User | Role::Tool => "input_text",
    };
    let content: Vec<Value> = match &m.content {
        Content::Text(t) => vec![json!({"type": text_type, "text": t})],
        Content::Parts(parts) => parts.iter().map(|p| input_part(text_type, p)).collect(),
    };
    json!({"role": m.wire_role(), "content": content})
}

/// A tool's result: its text as `output`, or, when it holds images or
/// documents, the list of input parts the API takes there too.
fn function_call_output(m: &Message) -> Result<Value, Error> {
    let call_id = m
        .tool_call_id
        .as_deref()
        .ok_or_else(|| Error::invalid_request("a tool message needs the id of its tool call"))?;
    let output = match &m.content {
        Content::Parts(parts) if parts.iter().any(|p| !matches!(p, Part::Text(_))) => {
            Value::Array(parts.iter().map(|p| input_part("input_text", p)).collect())
        }
        _ => Value::String(m.text()),
    };
    Ok(json!({"type": "function_call_output", "call_id": call_id, "output": output}))
}

/// A function tool. `strict` only where the schema meets strict mode's
/// rules, which the API would otherwise reject the request for.
fn function_tool(tool: &Tool) -> Value {
    let mut t = Map::with_capacity(5);
    t.insert("type".into(), "function".into());
    t.insert("name".into(), tool.name.clone().into());
    if let Some(d) = &tool.description {
        t.insert("description".into(), d.clone().into());
    }
    t.insert("parameters".into(), tool.parameters.clone());
    t.insert(
        "strict".into(),
        super::openai_strict::strict_allowed(&tool.parameters).into(),
    );
    Value::Object(t)
}

fn tool_choice(choice: &ToolChoice) -> Value {
    match choice {
        ToolChoice::Auto => "auto".into(),
        ToolChoice::None => "none".into(),
        ToolChoice::Required => "required".into(),
        ToolChoice::Tool(name) => json!({"type": "function", "name": name}),
    }
}

/// The name the output schema is sent under (`text.format.name`).
const OUTPUT_FORMAT_NAME: &str = "output";

/// Adds `text.format` for an output schema to a body, keeping the other
/// `text` settings (`verbosity`) a client or call gave. A `text.format`
/// given in options as well is an `:invalid_request`: one of them would
/// be silently dropped.
fn set_output_format(body: &mut Map<String, Value>, schema: &Value) -> Result<(), Error> {
    let text = body
        .entry("text")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(text) = text else {
        return Err(Error::invalid_request(
            "the text option must be a map when output_schema is given",
        ));
    };
    if text.contains_key("format") {
        return Err(Error::invalid_request(
            "give output_schema or the text.format option, not both",
        ));
    }
    text.insert(
        "format".into(),
        json!({
            "type": "json_schema",
            "name": OUTPUT_FORMAT_NAME,
            "schema": schema,
            "strict": super::openai_strict::strict_allowed(schema),
        }),
    );
    Ok(())
}

impl Provider for OpenAiResponses {
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

impl OpenAiResponses {
    fn build_request(&self, input: &CallInput<'_>) -> Result<HttpRequest, Error> {
        // Every document is sent as `document.pdf`.
        Inline::require_pdf_documents(input.messages, "openai-responses")?;
        crate::prompt::refuse_media_urls(
            input.messages,
            "openai-responses",
            "http(s) URLs and inline data",
            |_, u| u.is_google(),
        )?;
        let mut fields = Map::new();
        fields.insert("input".into(), Value::Array(input_items(input.messages)?));
        if !input.tools.is_empty() {
            let tools = input.tools.iter().map(function_tool).collect();
            fields.insert("tools".into(), Value::Array(tools));
            // Without tools, `auto` and `none` change nothing: not sent.
            if let Some(choice) = input.tool_choice {
                fields.insert("tool_choice".into(), tool_choice(choice));
            }
        }
        if input.stream {
            fields.insert("stream".into(), Value::Bool(true));
        }
        // Renamed before merging, so a call's limit replaces the client's
        // whichever name either of them used.
        let call = renamed_max_tokens(Cow::Borrowed(input.options));
        let mut body = merge_body(&self.body, fields, &call);
        if let Some(schema) = input.output_schema {
            set_output_format(&mut body, schema)?;
        }
        Ok(HttpRequest::post_json(self.url.clone(), &body)?
            .with_client_headers(&self.headers, &self.secrets))
    }
}

impl AnswerReader for OpenAiResponses {
    fn limits(&self) -> &'static Limits {
        &generation::OPENAI_RESPONSES
    }

    fn parse_response(&self, _head: &ResponseHead, body: &[u8]) -> Result<Completion, Error> {
        let parsed: Loose<ResponseWire<'_>> = common::parse_answer(body)?;
        let response = parsed
            .0
            .ok_or_else(|| Error::bad_response("the answer is not a JSON object"))?;
        let (finish_reason, usage, model) = outcome(&response, "completed")?;
        let output = match &response.output {
            Some(items) => read_output(items)?,
            // An incomplete response may stop before any output.
            None => Output::default(),
        };
        Ok(Completion {
            finish_reason: refusal_reason(finish_reason, output.refused),
            content: output.text,
            reasoning: output.reasoning,
            tool_calls: output.tool_calls,
            model,
            usage,
            reasoning_parts: Vec::new(),
            parsed: None,
            raw: None,
        })
    }

    fn stream_parser(&self) -> Box<dyn super::StreamParser> {
        Box::<super::openai_responses_stream::ResponsesStream>::default()
    }
}

// --- Reading -------------------------------------------------------------
//
// A response object is read into typed structs that borrow their strings
// and skip every field not named here (tool lists, configs echoed back,
// annotations, logprobs) instead of building them into maps: that is most
// of a body, and a third of a plain call's CPU. Each field accepts any JSON
// value, so item and part types added later, or a field another item type
// fills differently, never fail an answer.

/// A response object, whole or in a stream's terminal event.
#[derive(Deserialize, Default)]
pub(super) struct ResponseWire<'a> {
    #[serde(default, borrow)]
    status: Option<Lenient<'a>>,
    #[serde(default, borrow)]
    model: Option<Lenient<'a>>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    incomplete_details: Option<Value>,
    #[serde(default)]
    usage: Option<Value>,
    /// `Some(LooseSeq(None))` when present but not a list.
    #[serde(default, borrow)]
    pub(super) output: Option<LooseSeq<ItemWire<'a>>>,
}

/// An output item. Which fields mean something depends on its type:
/// `content` (message, reasoning), `summary` (reasoning), `call_id`,
/// `name` and `arguments` (function_call).
#[derive(Deserialize)]
pub(super) struct ItemWire<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Option<Lenient<'a>>,
    #[serde(default, borrow)]
    content: Option<LooseSeq<PartWire<'a>>>,
    #[serde(default, borrow)]
    summary: Option<LooseSeq<PartWire<'a>>>,
    #[serde(default, borrow)]
    pub(super) id: Option<Lenient<'a>>,
    #[serde(default, borrow)]
    pub(super) call_id: Option<Lenient<'a>>,
    #[serde(default, borrow)]
    pub(super) name: Option<Lenient<'a>>,
    #[serde(default, borrow)]
    pub(super) arguments: Option<Lenient<'a>>,
}

impl ItemWire<'_> {
    pub(super) fn kind(&self) -> Option<&str> {
        self.kind.as_ref().and_then(Lenient::as_str)
    }
}

/// A content part of a message (`output_text`, `refusal`) or a reasoning
/// item (`summary_text`, `reasoning_text`).
#[derive(Deserialize)]
pub(super) struct PartWire<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Option<Lenient<'a>>,
    #[serde(default, borrow)]
    text: Option<Lenient<'a>>,
    #[serde(default, borrow)]
    refusal: Option<Lenient<'a>>,
}

/// A string, borrowed from the payload when it has no escapes, or `None`
/// for any other JSON value.
#[derive(Default)]
pub(super) struct Lenient<'a>(pub(super) Option<Cow<'a, str>>);

impl Lenient<'_> {
    fn as_str(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// `T` read from a JSON object, or `None` for any other value.
pub(super) struct Loose<T>(pub(super) Option<T>);

/// The objects of a JSON array read as `T`, or `None` when the value is
/// not an array. Other elements are skipped, and the flag says whether
/// there were any (an answer holding them was not read whole).
pub(super) struct LooseSeq<T>(pub(super) Option<Vec<T>>, pub(super) bool);

/// Anything but the wanted shape: consumed and read as nothing.
macro_rules! ignore_other_values {
    () => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Self::Value::default())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Self::Value::default())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Self::Value::default())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Self::Value::default())
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Self::Value::default())
        }
    };
}

impl<T> Default for Loose<T> {
    fn default() -> Self {
        Loose(None)
    }
}

impl<T> Default for LooseSeq<T> {
    fn default() -> Self {
        LooseSeq(None, false)
    }
}

fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

impl<'de: 'a, 'a> Deserialize<'de> for Lenient<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Lenient<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Lenient(Some(Cow::Borrowed(s))))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Lenient(Some(Cow::Owned(s.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(Lenient(Some(Cow::Owned(s))))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                skip_seq(seq).map(|()| Lenient(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                skip_map(map).map(|()| Lenient(None))
            }
            ignore_other_values!();
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Loose<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Loose<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|t| Loose(Some(t)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                skip_seq(seq).map(|()| Loose(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Loose(None))
            }
            ignore_other_values!();
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for LooseSeq<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = LooseSeq<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                let mut skipped = false;
                while let Some(Loose(item)) = seq.next_element::<Loose<T>>()? {
                    skipped |= item.is_none();
                    items.extend(item);
                }
                Ok(LooseSeq(Some(items), skipped))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                skip_map(map).map(|()| LooseSeq(None, false))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(LooseSeq(None, false))
            }
            ignore_other_values!();
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// What the output items of a response say.
#[derive(Debug, Default)]
pub(super) struct Output {
    /// The `output_text` (and `refusal`) parts of the message items.
    pub(super) text: String,
    /// The reasoning items' summaries (or reasoning text), parts apart by
    /// a blank line.
    pub(super) reasoning: String,
    pub(super) tool_calls: Vec<ToolCall>,
    /// A message part is a refusal.
    pub(super) refused: bool,
}

/// Output item types that record tools the server ran itself (web and
/// file search, code interpreter, MCP): the answer that used them follows
/// in a message, so they are skipped. Any other type this version does not
/// know fails the answer rather than losing part of it.
const SERVER_SIDE_ITEMS: &[&str] = &[
    "web_search_call",
    "file_search_call",
    "code_interpreter_call",
    "mcp_call",
    "mcp_list_tools",
];

/// Reads the `output` of a response: text, reasoning and function calls.
/// An item or part it cannot read is a `:bad_response`, never skipped.
pub(super) fn read_output(output: &LooseSeq<ItemWire<'_>>) -> Result<Output, Error> {
    let LooseSeq(Some(items), skipped) = output else {
        return Err(Error::bad_response("the answer's output is not a list"));
    };
    if *skipped {
        return Err(Error::bad_response(
            "the answer's output holds an item that is not an object",
        ));
    }
    let mut out = Output::default();
    for item in items {
        match item.kind() {
            Some("message") => read_message(item, &mut out)?,
            Some("reasoning") => read_reasoning(item, &mut out.reasoning)?,
            Some("function_call") => {
                let call = function_call(item, out.tool_calls.len())?;
                out.tool_calls.push(call);
            }
            Some(kind) => check_item_kind(kind)?,
            None => {
                return Err(Error::bad_response(
                    "an output item of the answer has no type",
                ))
            }
        }
    }
    Ok(out)
}

/// `Ok` for an item type that carries nothing for the caller.
pub(super) fn check_item_kind(kind: &str) -> Result<(), Error> {
    match kind {
        "message" | "reasoning" | "function_call" => Ok(()),
        _ if SERVER_SIDE_ITEMS.contains(&kind) => Ok(()),
        _ => Err(Error::unread_part(format!(
            "the answer holds an output item of type {:?}, which switchboard cannot read",
            short(kind)
        ))),
    }
}

/// The parts of a list field of an item: all objects, or a `:bad_response`.
fn parts<'i, 'a>(
    field: &'i Option<LooseSeq<PartWire<'a>>>,
    what: &str,
) -> Result<&'i [PartWire<'a>], Error> {
    match field {
        None => Ok(&[]),
        Some(LooseSeq(Some(parts), false)) => Ok(parts),
        Some(_) => Err(Error::bad_response(format!(
            "the {what} of an output item is not a list of parts"
        ))),
    }
}

fn read_message(item: &ItemWire<'_>, out: &mut Output) -> Result<(), Error> {
    for part in parts(&item.content, "content")? {
        match part.kind.as_ref().and_then(Lenient::as_str) {
            Some("output_text") => out.text.push_str(text_of(part, &part.text)?),
            // Not dropped: the refusal is the answer's text, and the
            // response's finish reason says it was one.
            Some("refusal") => {
                out.text.push_str(text_of(part, &part.refusal)?);
                out.refused = true;
            }
            kind => {
                return Err(Error::unread_part(format!(
                    "the answer's message holds a part of type {:?}, which switchboard \
                     cannot read",
                    short(kind.unwrap_or("none"))
                )))
            }
        }
    }
    Ok(())
}

/// Reasoning summaries (OpenAI) and reasoning text (open models behind
/// compatible servers), in order; `encrypted_content` is opaque.
fn read_reasoning(item: &ItemWire<'_>, reasoning: &mut String) -> Result<(), Error> {
    let summary = parts(&item.summary, "summary")?;
    let content = parts(&item.content, "content")?;
    for part in summary.iter().chain(content) {
        match part.kind.as_ref().and_then(Lenient::as_str) {
            Some("summary_text" | "reasoning_text") => {
                push_reasoning_part(reasoning, text_of(part, &part.text)?)
            }
            kind => {
                return Err(Error::unread_part(format!(
                    "a reasoning item of the answer holds a part of type {:?}, which \
                     switchboard cannot read",
                    short(kind.unwrap_or("none"))
                )))
            }
        }
    }
    Ok(())
}

fn text_of<'p>(part: &'p PartWire<'_>, field: &'p Option<Lenient<'_>>) -> Result<&'p str, Error> {
    field.as_ref().and_then(Lenient::as_str).ok_or_else(|| {
        Error::bad_response(format!(
            "a {:?} part of the answer has no text",
            short(
                part.kind
                    .as_ref()
                    .and_then(Lenient::as_str)
                    .unwrap_or("none")
            )
        ))
    })
}

/// A `function_call` item: its `call_id` is the call's id (what a
/// `function_call_output` names), falling back to the item's `id`, then to
/// a made-up one; `arguments` is a JSON text.
fn function_call(item: &ItemWire<'_>, index: usize) -> Result<ToolCall, Error> {
    let name = item
        .name
        .as_ref()
        .and_then(Lenient::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Error::bad_response("a function_call of the answer has no name"))?;
    let id = [&item.call_id, &item.id].into_iter().find_map(|f| {
        f.as_ref()
            .and_then(Lenient::as_str)
            .filter(|s| !s.is_empty())
    });
    let id = id_or_made_up(id, index);
    let arguments = match &item.arguments {
        None => Map::new(),
        Some(Lenient(Some(text))) => arguments_from_text(name, text)?,
        Some(Lenient(None)) => {
            return Err(Error::bad_response(format!(
                "the arguments of tool call {name:?} are not a JSON text"
            )))
        }
    };
    Ok(ToolCall {
        id,
        name: name.to_owned(),
        arguments,
        signature: None,
    })
}

/// The Responses API has no finish reason for a refusal: a completed
/// response whose message refused reads as `"refusal"` (finish
/// `:content_filter`), so finish-reason lists can act on it.
pub(super) fn refusal_reason(finish_reason: Option<String>, refused: bool) -> Option<String> {
    match finish_reason {
        Some(r) if refused && r == "stop" => Some("refusal".to_owned()),
        other => other,
    }
}

/// How a finished response object ended: its finish reason, usage and
/// model, or the error it failed with. Shared by whole answers and the
/// terminal events of a stream, which carry the same object; `status` is
/// assumed when the object leaves it out (compatible servers may).
pub(super) fn outcome(
    r: &ResponseWire<'_>,
    status: &str,
) -> Result<(Option<String>, Usage, Option<String>), Error> {
    if let Some(err) = r.error.as_ref().filter(|e| e.is_object()) {
        return Err(response_error(err));
    }
    let status = r
        .status
        .as_ref()
        .and_then(Lenient::as_str)
        .unwrap_or(status);
    let finish_reason = match status {
        "completed" => "stop".to_owned(),
        "incomplete" => r
            .incomplete_details
            .as_ref()
            .and_then(|d| d.get("reason"))
            .and_then(Value::as_str)
            .unwrap_or("incomplete")
            .to_owned(),
        "failed" => {
            return Err(Error::new(
                ErrorKind::Server,
                "the response failed without saying why",
            ))
        }
        // `queued` / `in_progress` (a `background: true` request) or
        // `cancelled`: there is no answer, and switchboard does not poll.
        // Not retried: the same request would be queued again.
        other => {
            return Err(Error::invalid_request(format!(
                "the response has status {:?} and no answer; switchboard does not poll \
                 background responses",
                short(other)
            )))
        }
    };
    let usage = r.usage.as_ref().map(usage).unwrap_or_default();
    let model = r
        .model
        .as_ref()
        .and_then(Lenient::as_str)
        .map(str::to_owned);
    Ok((Some(finish_reason), usage, model))
}

/// The Responses API's usage. `input_tokens` counts cached tokens and
/// `output_tokens` reasoning tokens already; `reasoning_tokens` is the
/// provider's own count, 0 included.
pub(super) fn usage(u: &Value) -> Usage {
    Usage::new(
        common::u64_at(u, &["input_tokens"]),
        common::u64_at(u, &["output_tokens"]),
    )
    .or_total(common::u64_at(u, &["total_tokens"]))
    .with_cached(
        common::u64_at(u, &["input_tokens_details", "cached_tokens"]),
        None,
    )
    .with_reasoning(common::u64_at(
        u,
        &["output_tokens_details", "reasoning_tokens"],
    ))
}

/// An error object: a failed response's `error` (`code`, `message`), or
/// the body of a stream's `error` event, flat or nested (`type`, `code`,
/// `message`). The kind comes from `code`, else `type`.
pub(super) fn response_error(err: &Value) -> Error {
    let kind = ["code", "type"]
        .iter()
        .filter_map(|field| err.get(field).and_then(Value::as_str))
        .find_map(error_kind)
        .unwrap_or(ErrorKind::Server);
    let message = err
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("the provider reported an error");
    Error::new(kind, short(message)).with_provider_detail(
        common::code_text(err.get("code")).as_deref(),
        err.get("type").and_then(Value::as_str),
    )
}

/// The kind of an error code of the Responses API (a failed response's
/// `error.code`, an `error` event's `code`) or of OpenAI's error types.
/// Codes not listed are `:server`: retried, or fallen back from.
///
/// `insufficient_quota` is `:rate_limited`, as the HTTP 429 OpenAI sends
/// for it is; a fallback moves on either way.
pub(super) fn error_kind(code: &str) -> Option<ErrorKind> {
    Some(match code {
        "server_error" | "internal_error" | "api_error" => ErrorKind::Server,
        "rate_limit_exceeded" | "rate_limit_error" | "insufficient_quota" => ErrorKind::RateLimited,
        "overloaded_error" | "server_overloaded" | "overloaded" => ErrorKind::Overloaded,
        "vector_store_timeout" | "timeout" => ErrorKind::Timeout,
        "invalid_prompt"
        | "invalid_request_error"
        | "context_length_exceeded"
        | "invalid_image"
        | "invalid_image_format"
        | "invalid_base64_image"
        | "invalid_image_url"
        | "image_too_large"
        | "image_too_small"
        | "image_parse_error"
        | "image_content_policy_violation"
        | "invalid_image_mode"
        | "image_file_too_large"
        | "unsupported_image_media_type"
        | "empty_image_file"
        | "failed_to_download_image"
        | "image_file_not_found" => ErrorKind::InvalidRequest,
        "invalid_api_key" | "authentication_error" => ErrorKind::Auth,
        "permission_error" => ErrorKind::Permission,
        "model_not_found" | "not_found_error" => ErrorKind::NotFound,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::KeySource;
    use crate::framing::Frame;
    use crate::wire::Deltas;

    fn provider(options: Value) -> Box<dyn Provider> {
        let raw = options.as_object().expect("object").clone();
        let o =
            ClientOptions::parse(&OPENAI_RESPONSES, "client \"R\"".into(), &raw).expect("options");
        OpenAiResponses::build(&o).expect("provider")
    }

    fn request(p: &dyn Provider, messages: &[Message], call: Value, stream: bool) -> HttpRequest {
        let call = call.as_object().expect("object").clone();
        let mut request = p
            .build_request(&CallInput::plain(messages, &call, stream))
            .expect("request");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(p.authorization().apply(&mut request))
            .expect("authorized");
        request
    }

    fn body(r: &HttpRequest) -> Value {
        serde_json::from_slice(&r.body).expect("json body")
    }

    fn prompt() -> Vec<Message> {
        vec![
            Message::new(Role::System, Content::Text("Be brief.".into())),
            Message::new(
                Role::User,
                Content::Parts(vec![
                    Part::Text("What is this?".into()),
                    Part::Image(crate::prompt::Media::Url(crate::prompt::MediaUrl::new(
                        "https://example.com/cat.jpg",
                    ))),
                ]),
            ),
            Message::new(Role::Assistant, Content::Text("A cat.".into())),
            Message::user("Sure?"),
        ]
    }

    fn parse(body: Value) -> Result<Completion, Error> {
        let p = provider(json!({"model": "m", "api_key": "k"}));
        let head = ResponseHead {
            status: 200,
            headers: Default::default(),
        };
        p.parse_response(&head, body.to_string().as_bytes())
    }

    #[test]
    fn golden_request() {
        let p = provider(json!({
            "model": "gpt-5",
            "api_key": "sk-test",
            "base_url": "https://example.test/v1/",
            "headers": {"x-team": "beam"},
            "query_params": {"tier": "gold"},
            "reasoning": {"effort": "low"},
            "store": false,
            "max_tokens": 100,
            "http": {"request_timeout_ms": 5000},
            "finish_reason_deny_list": ["content_filter"],
        }));
        let r = request(&*p, &prompt(), json!({"temperature": 0.2}), false);
        assert_eq!(r.method, http::Method::POST);
        assert_eq!(
            r.url.as_str(),
            "https://example.test/v1/responses?tier=gold"
        );
        let headers: Vec<(&str, &str)> = r
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_str().expect("ascii")))
            .collect();
        assert_eq!(
            headers,
            vec![
                ("content-type", "application/json"),
                ("x-team", "beam"),
                ("authorization", "Bearer sk-test"),
            ]
        );
        assert_eq!(
            body(&r),
            json!({
                "model": "gpt-5",
                "reasoning": {"effort": "low"},
                "store": false,
                "max_output_tokens": 100,
                "temperature": 0.2,
                "input": [
                    {"role": "system", "content": [{"type": "input_text", "text": "Be brief."}]},
                    {"role": "user", "content": [
                        {"type": "input_text", "text": "What is this?"},
                        {"type": "input_image", "image_url": "https://example.com/cat.jpg", "detail": "auto"}
                    ]},
                    {"role": "assistant", "content": [{"type": "output_text", "text": "A cat."}]},
                    {"role": "user", "content": [{"type": "input_text", "text": "Sure?"}]}
                ]
            })
        );
    }

    fn build(p: &dyn Provider, input: &CallInput<'_>) -> Result<Value, Error> {
        p.build_request(input).map(|r| body(&r))
    }

    fn object(v: Value) -> Map<String, Value> {
        v.as_object().expect("object").clone()
    }

    #[test]
    fn golden_tools_schema_history_and_media() {
        let p = provider(json!({"model": "gpt-5", "api_key": "k", "text": {"verbosity": "low"}}));
        let none = Map::new();
        let closed = json!({
            "type": "object",
            "properties": {"name": {"type": "string"}},
            "required": ["name"],
            "additionalProperties": false
        });
        let tools = [
            Tool {
                name: "get_metric".into(),
                description: Some("Reads a metric".into()),
                parameters: closed.clone(),
            },
            Tool {
                name: "now".into(),
                description: None,
                parameters: json!({"type": "object", "properties": {}}),
            },
        ];
        let schema = json!({"type": "object", "properties": {"status": {"type": "string"}}});
        let inline = |media_type: &str, data: &str| crate::prompt::Inline {
            media_type: media_type.into(),
            data: data.into(),
        };
        let assistant = |text: &str, calls: Vec<ToolCall>| Message {
            tool_calls: calls,
            ..Message::new(Role::Assistant, Content::Text(text.into()))
        };
        let tool = |id: &str, content: Content| Message {
            tool_call_id: Some(id.into()),
            ..Message::new(Role::Tool, content)
        };
        let messages = [
            Message::new(Role::System, Content::Text("Be brief.".into())),
            Message::new(
                Role::User,
                Content::Parts(vec![
                    Part::Text("Look:".into()),
                    Part::Image(crate::prompt::Media::Inline(inline("image/png", "iVBOR"))),
                    Part::Document(crate::prompt::Media::Inline(inline(
                        "application/pdf",
                        "JVBER",
                    ))),
                ]),
            ),
            assistant(
                "Let me check.",
                vec![ToolCall {
                    id: "call_1".into(),
                    name: "get_metric".into(),
                    arguments: object(json!({"name": "memory"})),
                    signature: None,
                }],
            ),
            tool("call_1", Content::Text("{\"bytes\":42}".into())),
            assistant(
                "",
                vec![ToolCall {
                    id: "call_2".into(),
                    name: "now".into(),
                    arguments: Map::new(),
                    signature: None,
                }],
            ),
            tool(
                "call_2",
                Content::Parts(vec![
                    Part::Text("chart:".into()),
                    Part::Image(crate::prompt::Media::Url(crate::prompt::MediaUrl::new(
                        "https://x.test/c.png",
                    ))),
                ]),
            ),
        ];
        let choice = ToolChoice::Tool("get_metric".into());
        let input = CallInput {
            tools: &tools,
            tool_choice: Some(&choice),
            output_schema: Some(&schema),
            ..CallInput::plain(&messages, &none, false)
        };
        assert_eq!(
            build(&*p, &input).expect("request"),
            json!({
                "model": "gpt-5",
                "text": {
                    "verbosity": "low",
                    "format": {"type": "json_schema", "name": "output", "schema": schema, "strict": false}
                },
                "tools": [
                    {"type": "function", "name": "get_metric", "description": "Reads a metric",
                     "parameters": closed, "strict": true},
                    {"type": "function", "name": "now",
                     "parameters": {"type": "object", "properties": {}}, "strict": false}
                ],
                "tool_choice": {"type": "function", "name": "get_metric"},
                "input": [
                    {"role": "system", "content": [{"type": "input_text", "text": "Be brief."}]},
                    {"role": "user", "content": [
                        {"type": "input_text", "text": "Look:"},
                        {"type": "input_image", "image_url": "data:image/png;base64,iVBOR", "detail": "auto"},
                        {"type": "input_file", "filename": "document.pdf",
                         "file_data": "data:application/pdf;base64,JVBER"}
                    ]},
                    {"role": "assistant", "content": [{"type": "output_text", "text": "Let me check."}]},
                    {"type": "function_call", "call_id": "call_1", "name": "get_metric",
                     "arguments": "{\"name\":\"memory\"}"},
                    {"type": "function_call_output", "call_id": "call_1", "output": "{\"bytes\":42}"},
                    {"type": "function_call", "call_id": "call_2", "name": "now", "arguments": "{}"},
                    {"type": "function_call_output", "call_id": "call_2", "output": [
                        {"type": "input_text", "text": "chart:"},
                        {"type": "input_image", "image_url": "https://x.test/c.png", "detail": "auto"}
                    ]}
                ]
            })
        );

        for (choice, wire) in [
            (ToolChoice::Auto, json!("auto")),
            (ToolChoice::None, json!("none")),
            (ToolChoice::Required, json!("required")),
        ] {
            let input = CallInput {
                tools: &tools,
                tool_choice: Some(&choice),
                ..CallInput::plain(&messages[..2], &none, false)
            };
            assert_eq!(build(&*p, &input).expect("request")["tool_choice"], wire);
        }
        // No tool choice, or no tools: nothing sent.
        let input = CallInput {
            tools: &tools,
            ..CallInput::plain(&messages[..2], &none, false)
        };
        assert!(build(&*p, &input)
            .expect("request")
            .get("tool_choice")
            .is_none());
        let input = CallInput {
            tool_choice: Some(&ToolChoice::None),
            ..CallInput::plain(&messages[..2], &none, false)
        };
        let b = build(&*p, &input).expect("request");
        assert!(b.get("tools").is_none() && b.get("tool_choice").is_none());
        assert_eq!(b["text"], json!({"verbosity": "low"}));
    }

    #[test]
    fn an_output_schema_and_a_text_format_option_conflict() {
        let p = provider(json!({"model": "gpt-5", "api_key": "k"}));
        let schema = json!({"type": "object"});
        let msgs = [Message::user("hi")];
        for options in [
            json!({"text": {"format": {"type": "json_object"}}}),
            json!({"text": "plain"}),
        ] {
            let options = object(options);
            let input = CallInput {
                output_schema: Some(&schema),
                ..CallInput::plain(&msgs, &options, false)
            };
            let e = build(&*p, &input).expect_err("conflict");
            assert_eq!(e.kind, ErrorKind::InvalidRequest, "{options:?}");
        }
    }

    #[test]
    fn strict_only_where_the_schema_allows_it() {
        let closed = |props: Value, required: Value| {
            json!({"type": "object", "properties": props, "required": required,
                   "additionalProperties": false})
        };
        let leaf = json!({"type": "string"});
        for (schema, strict) in [
            (closed(json!({}), json!([])), true),
            (closed(json!({"a": leaf}), json!(["a"])), true),
            (
                closed(
                    json!({"a": {"type": "array", "items": closed(json!({"b": leaf}), json!(["b"]))},
                           "c": {"anyOf": [leaf, {"type": "null"}]},
                           "d": {"$ref": "#/$defs/D"}}),
                    json!(["a", "c", "d"]),
                )
                .as_object()
                .map(|m| {
                    let mut m = m.clone();
                    m.insert("$defs".into(), json!({"D": closed(json!({}), json!([]))}));
                    Value::Object(m)
                })
                .expect("object"),
                true,
            ),
            // Not closed, a property not required, an open nested object.
            (json!({"type": "object", "properties": {}}), false),
            (closed(json!({"a": leaf, "b": leaf}), json!(["a"])), false),
            (
                closed(json!({"a": {"type": "object", "properties": {}}}), json!(["a"])),
                false,
            ),
            (
                closed(
                    json!({"a": {"type": "array", "items": {"type": "object", "properties": {"x": leaf}}}}),
                    json!(["a"]),
                ),
                false,
            ),
            (
                closed(json!({"a": {"type": "object", "additionalProperties": true}}), json!(["a"])),
                false,
            ),
            // Keywords strict mode rejects, and a root that is not an object.
            (closed(json!({"a": {"allOf": [leaf]}}), json!(["a"])), false),
            (closed(json!({"a": {"oneOf": [leaf]}}), json!(["a"])), false),
            (json!({"type": "string"}), false),
            (json!({"anyOf": [closed(json!({}), json!([]))]}), false),
            (closed(json!({"a": true}), json!(["a"])), false),
            (closed(json!({"a": leaf}), json!("a")), false),
        ] {
            assert_eq!(crate::providers::openai_strict::strict_allowed(&schema), strict, "{schema}");
        }
    }

    #[test]
    fn streaming_and_call_options() {
        let p = provider(json!({"model": "gpt-5", "api_key": "k", "max_output_tokens": 500}));
        let msgs = [Message::user("hi")];
        let b = body(&request(&*p, &msgs, json!({}), true));
        assert_eq!(b["stream"], true);
        assert_eq!(b["max_output_tokens"], 500);
        // A call's max_tokens is the limit, over the client's.
        let b = body(&request(
            &*p,
            &msgs,
            json!({"max_tokens": 7, "model": "gpt-5-mini"}),
            false,
        ));
        assert_eq!(b["max_output_tokens"], 7);
        assert_eq!(b["model"], "gpt-5-mini");
        assert!(b.get("max_tokens").is_none() && b.get("stream").is_none());
        // Both names in one call: the API's own wins.
        let b = body(&request(
            &*p,
            &msgs,
            json!({"max_tokens": 7, "max_output_tokens": 9}),
            false,
        ));
        assert_eq!(b["max_output_tokens"], 9);
        assert!(b.get("max_tokens").is_none());
    }

    #[test]
    fn key_from_env_and_missing_model() {
        let o = ClientOptions::parse(
            &OPENAI_RESPONSES,
            "client \"R\"".into(),
            json!({"model": "m"}).as_object().expect("object"),
        )
        .expect("options");
        assert!(matches!(
            o.api_key().expect("key"),
            Some(KeySource::Env("OPENAI_API_KEY"))
        ));
        let p = OpenAiResponses::build(&o).expect("provider");
        assert_eq!(
            p.build_request(&CallInput::plain(&[Message::user("x")], &Map::new(), false))
                .expect("request")
                .url
                .as_str(),
            "https://api.openai.com/v1/responses"
        );
        let o = ClientOptions::parse(&OPENAI_RESPONSES, "client \"R\"".into(), &Map::new())
            .expect("options");
        let e = OpenAiResponses::build(&o).expect_err("model is required");
        assert_eq!(e.kind, ErrorKind::Config);
        assert!(e.message.contains("model"), "{}", e.message);
    }

    #[test]
    fn completed_response() {
        let c = parse(json!({
            "object": "response", "status": "completed", "model": "gpt-5-2025-08-07",
            "error": null, "incomplete_details": null,
            "output": [
                {"type": "reasoning", "id": "rs_1", "encrypted_content": "gAAA",
                 "summary": [{"type": "summary_text", "text": "First."},
                             {"type": "summary_text", "text": "Second."}]},
                {"type": "web_search_call", "id": "ws_1", "status": "completed"},
                {"type": "message", "role": "assistant", "content": [
                    {"type": "output_text", "text": "Hello", "annotations": []},
                    {"type": "output_text", "text": " world"}
                ]},
                {"type": "message", "content": [{"type": "output_text", "text": "!"}]}
            ],
            "usage": {"input_tokens": 9, "input_tokens_details": {"cached_tokens": 4},
                      "output_tokens": 15, "output_tokens_details": {"reasoning_tokens": 10},
                      "total_tokens": 24}
        }))
        .expect("completion");
        assert_eq!(c.content, "Hello world!");
        assert_eq!(c.reasoning, "First.\n\nSecond.");
        assert!(c.tool_calls.is_empty());
        assert_eq!(c.finish_reason.as_deref(), Some("stop"));
        assert_eq!(c.finish(), crate::response::Finish::Stop);
        assert_eq!(c.model.as_deref(), Some("gpt-5-2025-08-07"));
        assert_eq!(
            c.usage,
            Usage {
                input_tokens: Some(9),
                output_tokens: Some(15),
                total_tokens: Some(24),
                cached_input_tokens: Some(4),
                cache_creation_input_tokens: None,
                reasoning_tokens: Some(10),
            }
        );
        // Reasoning text (open models behind compatible servers).
        let c = parse(json!({"output": [
            {"type": "reasoning", "summary": [], "content": [{"type": "reasoning_text", "text": "hm"}]},
            {"type": "message", "content": [{"type": "output_text", "text": "ok"}]}
        ]}))
        .expect("completion");
        assert_eq!((c.reasoning.as_str(), c.content.as_str()), ("hm", "ok"));
    }

    #[test]
    fn function_calls_are_tool_calls() {
        let c = parse(json!({
            "status": "completed",
            "output": [
                {"type": "reasoning", "summary": []},
                {"type": "function_call", "id": "fc_1", "call_id": "call_A", "name": "get_weather",
                 "arguments": "{\"location\":\"Paris\",\"unit\":\"celsius\"}", "status": "completed"},
                {"type": "function_call", "id": "fc_2", "name": "get_time", "arguments": ""},
                {"type": "function_call", "name": "now"}
            ],
            "usage": {"input_tokens": 5, "output_tokens": 7, "output_tokens_details": {"reasoning_tokens": 0}}
        }))
        .expect("completion");
        assert_eq!(c.content, "");
        assert_eq!(
            c.tool_calls,
            vec![
                ToolCall {
                    id: "call_A".into(),
                    name: "get_weather".into(),
                    arguments: json!({"location": "Paris", "unit": "celsius"})
                        .as_object()
                        .expect("object")
                        .clone(),
                    signature: None,
                },
                ToolCall {
                    id: "fc_2".into(),
                    name: "get_time".into(),
                    arguments: Map::new(),
                    signature: None,
                },
                ToolCall {
                    id: "call_sb_2".into(),
                    name: "now".into(),
                    arguments: Map::new(),
                    signature: None,
                },
            ]
        );
        assert_eq!(c.finish(), crate::response::Finish::ToolCalls);
        assert_eq!(c.usage.reasoning_tokens, Some(0));
        for (arguments, says) in [
            (json!("{\"a\":"), "not valid JSON"),
            (json!("[1]"), "not a JSON object"),
            (json!({"a": 1}), "not a JSON text"),
        ] {
            let e = parse(json!({"output": [
                {"type": "function_call", "call_id": "c", "name": "add", "arguments": arguments}
            ]}))
            .expect_err("bad arguments");
            assert_eq!(e.kind, ErrorKind::BadResponse);
            assert!(
                e.message.contains("\"add\"") && e.message.contains(says),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn a_refusal_is_the_text_and_says_so_in_the_finish_reason() {
        let c = parse(
            json!({"status": "completed", "output": [{"type": "message", "content": [
                {"type": "refusal", "refusal": "I can't help with that."}
            ]}]}),
        )
        .expect("completion");
        assert_eq!(c.content, "I can't help with that.");
        assert_eq!(c.finish_reason.as_deref(), Some("refusal"));
        assert_eq!(c.finish(), crate::response::Finish::ContentFilter);
        // An incomplete response keeps its own reason.
        let c = parse(json!({"status": "incomplete",
            "incomplete_details": {"reason": "content_filter"},
            "output": [{"type": "message", "content": [{"type": "refusal", "refusal": "no"}]}]}))
        .expect("completion");
        assert_eq!(c.finish_reason.as_deref(), Some("content_filter"));
    }

    #[test]
    fn output_it_cannot_read_is_a_bad_response() {
        for (output, says) in [
            (json!([{"type": "mystery", "status": 3}]), "\"mystery\""),
            (
                json!([{"type": "image_generation_call", "result": "iVBOR"}]),
                "image_generation_call",
            ),
            (
                json!([{"type": "computer_call", "action": {}}]),
                "computer_call",
            ),
            (json!([{"content": []}]), "no type"),
            (json!(["not an item"]), "not an object"),
            (
                json!([{"type": "message", "content": "text"}]),
                "not a list",
            ),
            (
                json!([{"type": "message", "content": {"type": "output_text", "text": "x"}}]),
                "not a list",
            ),
            (
                json!([{"type": "message", "content": ["str", {"type": "output_text", "text": "x"}]}]),
                "not a list",
            ),
            (
                json!([{"type": "message", "content": [{"type": "output_text", "text": 7}]}]),
                "no text",
            ),
            (
                json!([{"type": "message", "content": [{"type": "output_audio", "data": "x"}]}]),
                "output_audio",
            ),
            (
                json!([{"type": "message", "content": [{"type": "refusal"}]}]),
                "no text",
            ),
            (
                json!([{"type": "reasoning", "summary": [{"type": "summary_image"}]}]),
                "summary_image",
            ),
            (json!([{"type": "reasoning", "summary": "x"}]), "not a list"),
            (
                json!([{"type": "function_call", "arguments": "{}"}]),
                "no name",
            ),
        ] {
            let e = parse(json!({"status": "completed", "output": output})).expect_err(says);
            assert_eq!(e.kind, ErrorKind::BadResponse, "{output}");
            assert!(e.message.contains(says), "{output}: {}", e.message);
            // A type it cannot read comes back on a retry too: not retried.
            let unread = [
                "mystery",
                "image_generation",
                "computer_call",
                "output_audio",
                "summary_image",
            ]
            .iter()
            .any(|t| says.contains(t));
            assert_eq!(e.is_retryable(), !unread, "{output}");
        }
    }

    #[test]
    fn incomplete_response() {
        let c = parse(json!({
            "status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"},
            "output": [{"type": "reasoning", "summary": []}],
            "usage": {"input_tokens": 15, "output_tokens": 64, "total_tokens": 79}
        }))
        .expect("completion");
        assert_eq!(c.content, "");
        assert_eq!(c.finish_reason.as_deref(), Some("max_output_tokens"));
        assert_eq!(c.usage.total_tokens, Some(79));
        assert_eq!(c.usage.cached_input_tokens, None);
        let c = parse(json!({"status": "incomplete", "output": []})).expect("completion");
        assert_eq!(c.finish_reason.as_deref(), Some("incomplete"));
        assert_eq!(c.usage, Usage::default());
    }

    #[test]
    fn failed_responses_and_error_objects() {
        for (code, kind) in [
            ("rate_limit_exceeded", ErrorKind::RateLimited),
            ("server_error", ErrorKind::Server),
            ("invalid_prompt", ErrorKind::InvalidRequest),
            ("invalid_image_url", ErrorKind::InvalidRequest),
            ("insufficient_quota", ErrorKind::RateLimited),
            ("vector_store_timeout", ErrorKind::Timeout),
            ("something_new", ErrorKind::Server),
        ] {
            let e = parse(json!({
                "status": "failed", "output": [], "usage": null,
                "error": {"code": code, "message": "it broke"}
            }))
            .expect_err(code);
            assert_eq!((e.kind, e.message.as_str()), (kind, "it broke"), "{code}");
        }
        let e = parse(json!({"status": "failed", "error": null})).expect_err("failed");
        assert_eq!(e.kind, ErrorKind::Server);
        let e = parse(json!({"error": {"type": "invalid_request_error", "message": "bad"}}))
            .expect_err("error object");
        assert_eq!(e.kind, ErrorKind::InvalidRequest);
        let e = parse(json!({"status": "queued", "output": []})).expect_err("background");
        assert_eq!(e.kind, ErrorKind::InvalidRequest);
        for bad in [json!([1]), json!({"output": 3})] {
            assert_eq!(parse(bad).expect_err("bad").kind, ErrorKind::BadResponse);
        }
    }

    #[test]
    fn stream_parser_is_the_responses_one() {
        let p = provider(json!({"model": "m", "api_key": "k"}));
        let mut parser = p.stream_parser();
        let mut out = Deltas::default();
        let frame = Frame::Sse(crate::framing::sse::SseEvent {
            event: None,
            data: r#"{"type":"response.output_text.delta","delta":"hi"}"#.into(),
            id: None,
        });
        parser.frame(&frame, &mut out).expect("frame");
        assert_eq!(out.text, "hi");
        assert!(!parser.is_done());
    }
}
