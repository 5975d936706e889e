//! AWS Bedrock's Converse and ConverseStream APIs.
//!
//! `POST {endpoint}/model/{model}/converse` (`/converse-stream` for
//! streams). The endpoint is the `endpoint_url` option, else, as the AWS
//! SDKs read them when each call is made, `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`,
//! else `AWS_ENDPOINT_URL` (neither when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`
//! is true), else `https://bedrock-runtime.{region}.amazonaws.com`. The model id (`model`, or `model_id`;
//! inference-profile ids and ARNs too) percent-encoded as one path segment
//! the way the AWS SDKs encode it.
//!
//! Authorization, chosen per call in the order the AWS SDKs use (and the
//! openai-python Bedrock auth cases): the `api_key` option (a Bedrock API
//! key, sent as `Authorization: Bearer`); explicit `access_key_id` /
//! `secret_access_key` (/ `session_token`) or an explicit `profile`, signed
//! with SigV4; `AWS_BEARER_TOKEN_BEDROCK`; else the AWS default credential
//! chain, signed with SigV4. An API key together with keys or a profile is
//! a configuration error.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

use aws_smithy_http::label::{fmt_string, EncodingStrategy};
use http::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION};
use serde_json::{json, Map, Value};
use url::Url;

use super::common;
use super::options::{http_url, url_with_query, ClientOptions, MergedBody};
use super::spec::{ProviderSpec, SpecKind};
use super::{AnswerReader, Attempt, Completion, Provider};
use crate::auth::aws::{
    configured_endpoint, sign_request, AwsAuth, AwsCredentials, CredentialSource,
};
use crate::auth::{Authorization, Authorize};
use crate::error::{Error, ErrorKind};
use crate::framing::Framing;
use crate::generation::{self, Limits};
use crate::prompt::{split_system, Content, Media, Message, Part, Role};
use crate::reasoning::{Dialect, ReasoningPart, Replay};
use crate::response::Usage;
use crate::secret::{Secret, Secrets};
use crate::tools::{
    arguments_from_value, thinking_enabled, ToolCall, ToolChoice, OUTPUT_TOOL,
    OUTPUT_TOOL_DESCRIPTION,
};
use crate::value::Options;
use crate::wire::{CallInput, HttpRequest, ResponseHead};

/// SigV4's name for the Bedrock runtime.
const SIGNING_SERVICE: &str = "bedrock";
const API_KEY_ENV: &str = "AWS_BEARER_TOKEN_BEDROCK";
/// The Bedrock runtime's own endpoint variable (its service ID is
/// "Bedrock Runtime").
const ENDPOINT_ENV: &str = "AWS_ENDPOINT_URL_BEDROCK_RUNTIME";
/// Stands in for the regional host until authorization resolves a region
/// that only the profile files know (`.invalid` never resolves, RFC 2606).
const UNRESOLVED_HOST: &str = "bedrock-runtime.region-unresolved.invalid";

pub(super) const AWS_BEDROCK: ProviderSpec = ProviderSpec {
    name: "aws-bedrock",
    aliases: &[],
    kind: SpecKind::Leaf(Bedrock::build),
    default_base_url: None,
    api_key_env: Some(API_KEY_ENV),
    routing_options: &[
        "region",
        "access_key_id",
        "secret_access_key",
        "session_token",
        "profile",
        "endpoint_url",
        "model_id",
        // `credentials: %{access_key_id, ...}`, read as those options.
        "credentials",
    ],
    prompt_fields: &["system"],
    media_defaults: crate::media::BEDROCK_DEFAULTS,
};

/// Client options that are read here and never sent as they are.
const MAPPED_OPTIONS: &[&str] = &[
    "model",
    "inference_configuration",
    "additional_model_request_fields",
    "max_tokens",
    "temperature",
    "top_p",
    "stop_sequences",
    "stop",
];

/// `inference_configuration` keys and their Converse names.
const INFERENCE_KEYS: &[(&str, &str)] = &[
    ("max_tokens", "maxTokens"),
    ("temperature", "temperature"),
    ("top_p", "topP"),
    ("stop_sequences", "stopSequences"),
];

#[derive(Debug)]
pub struct Bedrock {
    /// The client's model id, when set.
    model: Option<String>,
    /// `endpoint_url` (or `base_url`), without a trailing slash.
    endpoint: Option<String>,
    query_params: Vec<(String, String)>,
    headers: HeaderMap,
    secrets: Secrets,
    /// Options sent as given (Converse fields such as `guardrailConfig`).
    body: Map<String, Value>,
    /// The client's `inferenceConfig`, in Converse's names.
    inference: Map<String, Value>,
    additional: Option<Value>,
    auth: Arc<BedrockAuth>,
    authorization: Authorization,
}

impl Bedrock {
    fn build(o: &ClientOptions) -> Result<Box<dyn Provider>, Error> {
        let opts = o.options();
        // Every routing option is a string.
        for key in AWS_BEDROCK.routing_options {
            opts.str(key)?;
        }
        let model = match (opts.str("model")?, opts.str("model_id")?) {
            (Some(_), Some(_)) => {
                return Err(Error::config(format!(
                    "{}: set either \"model\" or \"model_id\", not both",
                    o.ctx
                )))
            }
            (Some(m), None) | (None, Some(m)) if m.trim().is_empty() => {
                return Err(Error::config(format!(
                    "{}: the model id must not be empty",
                    o.ctx
                )))
            }
            (m, id) => m.or(id).map(str::to_owned),
        };
        if model.is_none() {
            return Err(Error::config(format!(
                "{}: missing required option \"model\" (or \"model_id\")",
                o.ctx
            )));
        }
        let endpoint = endpoint(o)?;
        let mut inference = Map::new();
        if let Some(config) = opts.map("inference_configuration")? {
            let ctx = format!("{}: option \"inference_configuration\"", o.ctx);
            // A key Converse's inferenceConfig does not take would be
            // dropped without a word; BAML refuses it too.
            if let Some(key) = config
                .keys()
                .find(|k| !INFERENCE_KEYS.iter().any(|(ours, _)| ours == k))
            {
                return Err(Error::config(format!(
                    "{ctx} has unknown key {} (it takes max_tokens, temperature, top_p and \
                     stop_sequences; other model fields go in additional_model_request_fields)",
                    crate::value::shown(key)
                )));
            }
            inference_fields(&Options::new(&ctx, config), config, &mut inference)?;
        }
        // The same settings at the top level, as other providers take them
        // (the generic `stop` as `stop_sequences`).
        let top = generation::renamed_stop(Cow::Borrowed(&o.raw), "stop_sequences");
        inference_fields(&opts, &top, &mut inference)?;
        let additional = opts
            .map("additional_model_request_fields")?
            .map(|m| Value::Object(m.clone()));
        let body = o
            .body
            .iter()
            .filter(|(k, _)| !MAPPED_OPTIONS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let auth = Arc::new(BedrockAuth::new(o)?);
        Ok(Box::new(Bedrock {
            model,
            endpoint,
            query_params: o.query_params.clone(),
            headers: o.headers.clone(),
            secrets: o.secrets.clone(),
            body,
            inference,
            additional,
            authorization: Authorization::Custom(auth.clone()),
            auth,
        }))
    }

    fn url(&self, model: &str, stream: bool) -> Result<Url, Error> {
        let base = match &self.endpoint {
            Some(endpoint) => endpoint.clone(),
            None => match configured_endpoint(ENDPOINT_ENV)? {
                Some(endpoint) => endpoint,
                None => match self.auth.aws.region_now()? {
                    Some(region) => regional_endpoint(&region),
                    None => format!("https://{UNRESOLVED_HOST}"),
                },
            },
        };
        let action = if stream {
            "converse-stream"
        } else {
            "converse"
        };
        let path = format!(
            "/model/{}/{action}",
            fmt_string(model, EncodingStrategy::Default)
        );
        url_with_query(&base, &path, &self.query_params)
            .ok_or_else(|| Error::config("cannot build the Bedrock URL from endpoint_url"))
    }
}

fn regional_endpoint(region: &str) -> String {
    format!("https://bedrock-runtime.{region}.amazonaws.com")
}

/// `endpoint_url`, else `base_url`, checked; `None` for the regional default.
fn endpoint(o: &ClientOptions) -> Result<Option<String>, Error> {
    let opts = o.options();
    let (key, url) = match (opts.str("endpoint_url")?, opts.str("base_url")?) {
        (Some(_), Some(_)) => {
            return Err(Error::config(format!(
                "{}: set either \"endpoint_url\" or \"base_url\", not both",
                o.ctx
            )))
        }
        (Some(url), None) => ("endpoint_url", url),
        (None, Some(url)) => ("base_url", url),
        (None, None) => return Ok(None),
    };
    http_url(&o.ctx, key, url).map(Some)
}

/// The inference settings' types.
fn check_inference(o: &Options<'_>) -> Result<(), Error> {
    o.u64("max_tokens")?;
    o.f64("temperature")?;
    o.f64("top_p")?;
    o.string_list("stop_sequences")?;
    Ok(())
}

/// Reads the inference settings of `map` (snake_case) into `out`
/// (Converse's camelCase), type-checked.
fn inference_fields(
    o: &Options<'_>,
    map: &Map<String, Value>,
    out: &mut Map<String, Value>,
) -> Result<(), Error> {
    check_inference(o)?;
    for (ours, theirs) in INFERENCE_KEYS {
        if let Some(v) = map.get(*ours).filter(|v| !v.is_null()) {
            out.insert((*theirs).to_owned(), v.clone());
        }
    }
    Ok(())
}

/// A Converse content block for a part. Documents are named in the order
/// they appear in the request (`document`, `document-2`, ...): Converse
/// requires a name, the parts carry none, and these use only the letters,
/// digits and hyphens its naming rules allow.
fn part_json(part: &Part, documents: &mut usize) -> Result<Value, Error> {
    Ok(match part {
        Part::Text(t) => json!({"text": t}),
        // Converse takes no URL: a URL left by the client's
        // `media_url_handler` is refused with the setting that inlines it.
        Part::Image(Media::Url(u)) | Part::Document(Media::Url(u)) => {
            return Err(crate::prompt::url_refused(
                "aws-bedrock",
                part,
                u,
                "images and documents as inline data only",
            ))
        }
        Part::Document(Media::Inline(doc)) => {
            let format = document_format(&doc.media_type).ok_or_else(|| {
                Error::invalid_request(format!(
                    "aws-bedrock cannot take a document of type {:?} (it takes pdf, csv, \
                     doc, docx, xls, xlsx, html, txt and md)",
                    doc.media_type
                ))
            })?;
            *documents += 1;
            let name = match *documents {
                1 => "document".to_owned(),
                n => format!("document-{n}"),
            };
            json!({"document": {"format": format, "name": name, "source": {"bytes": doc.data}}})
        }
        Part::Image(Media::Inline(image)) => {
            let format = image_format(&image.media_type).ok_or_else(|| {
                Error::invalid_request(format!(
                    "aws-bedrock cannot take an image of type {:?} (it takes png, jpeg, gif and webp)",
                    image.media_type
                ))
            })?;
            json!({"image": {"format": format, "source": {"bytes": image.data}}})
        }
    })
}

/// Converse's document format for a media type.
fn document_format(media_type: &str) -> Option<&'static str> {
    Some(match media_type {
        "application/pdf" => "pdf",
        "text/csv" => "csv",
        "application/msword" => "doc",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/vnd.ms-excel" => "xls",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        "text/html" => "html",
        "text/plain" => "txt",
        "text/markdown" => "md",
        _ => return None,
    })
}

/// `data:image/png;base64,AAAA` -> (`png`, `AAAA`).
fn image_format(media_type: &str) -> Option<&'static str> {
    Some(match media_type {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpeg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        _ => return None,
    })
}

fn content_blocks(content: &Content, documents: &mut usize) -> Result<Vec<Value>, Error> {
    match content {
        Content::Text(t) => Ok(vec![json!({"text": t})]),
        Content::Parts(parts) => parts.iter().map(|p| part_json(p, documents)).collect(),
    }
}

/// The blocks of one message: an assistant's text and `toolUse` blocks, a
/// tool's `toolResult`, a user's parts.
fn message_blocks(m: &Message, documents: &mut usize) -> Result<Vec<Value>, Error> {
    match m.role {
        Role::Assistant => {
            // Reasoning goes back first, its parts in the order received,
            // signed or redacted: a turn with tool calls must start with
            // its reasoning (see the Anthropic dialect's `turns_json`).
            let mut blocks: Vec<Value> = m
                .reasoning_in(Dialect::Bedrock)
                .filter_map(reasoning_block)
                .collect();
            let calls_or_reasoning = !m.tool_calls.is_empty() || !blocks.is_empty();
            if !calls_or_reasoning || !m.content.is_empty() {
                blocks.extend(content_blocks(&m.content, documents)?);
            }
            blocks.extend(m.tool_calls.iter().map(
                |c| json!({"toolUse": {"toolUseId": c.id, "name": c.name, "input": c.arguments}}),
            ));
            Ok(blocks)
        }
        Role::Tool => {
            let id = m.tool_call_id.as_deref().ok_or_else(|| {
                Error::invalid_request("a tool message needs the :tool_call_id of its call")
            })?;
            Ok(vec![json!({"toolResult": {
                "toolUseId": id,
                "content": content_blocks(&m.content, documents)?,
            }})])
        }
        Role::User | Role::System => content_blocks(&m.content, documents),
    }
}

/// A reasoning part as a `reasoningContent` block: signed text, or the
/// redacted content.
fn reasoning_block(part: &ReasoningPart) -> Option<Value> {
    Some(match part.replay()? {
        Replay::Redacted(data) => json!({"reasoningContent": {"redactedContent": data}}),
        Replay::Signed { text, signature } => json!({"reasoningContent": {
            "reasoningText": {"text": text, "signature": signature}
        }}),
    })
}

/// Converse's turns. Tool results go back in a user turn, and consecutive
/// messages sent under one role make one turn (tool results and the user
/// message after them; two user messages, as role selection may leave),
/// as Converse wants user and assistant turns to alternate.
fn turns_json(turns: &[Message]) -> Result<Vec<Value>, Error> {
    let mut out: Vec<Value> = Vec::with_capacity(turns.len());
    let mut documents = 0;
    for m in turns {
        let mut blocks = message_blocks(m, &mut documents)?;
        blocks.extend(cache_point(m));
        let role = match (&m.role_name, m.role) {
            (Some(name), _) => name.as_str(),
            (None, Role::Assistant) => "assistant",
            (None, _) => "user",
        };
        match out.last_mut() {
            Some(turn) if turn["role"] == role => {
                if let Some(Value::Array(content)) = turn.get_mut("content") {
                    content.extend(blocks);
                }
            }
            _ => out.push(json!({"role": role, "content": blocks})),
        }
    }
    Ok(out)
}

/// Bedrock's form of a `cache_control` breakpoint the client allows: a
/// `cachePoint` block after the message's content. Other metadata keys
/// have no place in Converse and are not sent.
fn cache_point(m: &Message) -> Option<Value> {
    m.metadata
        .contains_key("cache_control")
        .then(|| json!({"cachePoint": {"type": "default"}}))
}

/// `messages` and `system` for a prompt. Converse takes system prompts apart
/// from the turns, so they must lead the prompt.
fn prompt_fields(messages: &[Message]) -> Result<Map<String, Value>, Error> {
    let (system, turns) = split_system(messages, "aws-bedrock")?;
    let mut fields = Map::new();
    if !system.is_empty() {
        let system: Vec<Value> = system
            .iter()
            .flat_map(|m| std::iter::once(json!({"text": m.text()})).chain(cache_point(m)))
            .collect();
        fields.insert("system".into(), Value::Array(system));
    }
    fields.insert("messages".into(), Value::Array(turns_json(turns)?));
    Ok(fields)
}

fn tool_spec(name: &str, description: Option<&str>, schema: &Value) -> Value {
    let mut spec = Map::new();
    spec.insert("name".into(), json!(name));
    if let Some(d) = description {
        spec.insert("description".into(), json!(d));
    }
    spec.insert("inputSchema".into(), json!({"json": schema}));
    json!({"toolSpec": spec})
}

/// `toolConfig` for the call's tools, tool choice and output schema; `None`
/// when there is nothing to offer.
///
/// Converse has no way to forbid tool calls: with `tool_choice: :none` the
/// tools are left out, unless the conversation already holds tool calls or
/// results, which Converse accepts only with a `toolConfig`; then they are
/// offered with the model's default (auto) choice. An `output_schema` is
/// the forced tool [`OUTPUT_TOOL`]: the only one offered (or added to the
/// history's tools) when the call has no other tools or forbids them, one
/// more tool under the call's choice otherwise. `toolChoice` is sent only
/// when asked for (Converse's default is auto; some models take no
/// `toolChoice` at all and answer a `ValidationException`). Claude refuses
/// a forced tool while thinking is on, so with
/// `additionalModelRequestFields.thinking` enabled the output tool is
/// offered under the default choice instead of forced, and an answer in
/// text is read as the structured answer.
fn tool_config(
    input: &CallInput<'_>,
    history_has_tools: bool,
    thinking: bool,
) -> Result<Option<Value>, Error> {
    let forbid = matches!(input.tool_choice, Some(ToolChoice::None));
    let mut tools: Vec<Value> = if forbid && !history_has_tools {
        Vec::new()
    } else {
        input
            .tools
            .iter()
            .map(|t| tool_spec(&t.name, t.description.as_deref(), &t.parameters))
            .collect()
    };
    let mut choice = match input.tool_choice {
        None | Some(ToolChoice::None) => None,
        Some(ToolChoice::Auto) => Some(json!({"auto": {}})),
        Some(ToolChoice::Required) => Some(json!({"any": {}})),
        Some(ToolChoice::Tool(name)) => Some(json!({"tool": {"name": name}})),
    };
    if let Some(schema) = input.output_schema {
        tools.push(tool_spec(
            OUTPUT_TOOL,
            Some(OUTPUT_TOOL_DESCRIPTION),
            schema,
        ));
        if (input.tools.is_empty() || forbid) && !thinking {
            choice = Some(json!({"tool": {"name": OUTPUT_TOOL}}));
        }
    }
    if tools.is_empty() {
        return Ok(None);
    }
    let mut config = Map::new();
    config.insert("tools".into(), Value::Array(tools));
    if let Some(choice) = choice {
        config.insert("toolChoice".into(), choice);
    }
    Ok(Some(Value::Object(config)))
}

impl Provider for Bedrock {
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

impl Bedrock {
    fn build_request(&self, input: &CallInput<'_>) -> Result<HttpRequest, Error> {
        let call = &*generation::renamed_stop(Cow::Borrowed(input.options), "stop_sequences");
        let model = match call.get("model") {
            Some(Value::String(m)) if !m.trim().is_empty() => m.as_str(),
            _ => self.model.as_deref().unwrap_or_default(),
        };
        let url = self.url(model, input.stream)?;

        let mut fields = prompt_fields(input.messages)?;
        let mut inference = self.inference.clone();
        let mut additional = self.additional.clone();
        let mut rest = Map::new();
        for (key, value) in call {
            match key.as_str() {
                "model" => {}
                "inference_configuration" | "inferenceConfig" => match value {
                    // `nil` removes the client's settings, as for any option.
                    Value::Null => inference.clear(),
                    Value::Object(m) => {
                        check_inference(&Options::new("the call's inference_configuration", m))
                            .map_err(|e| Error::invalid_request(e.message))?;
                        for (k, v) in m {
                            let name = INFERENCE_KEYS
                                .iter()
                                .find(|(ours, _)| ours == k)
                                .map_or(k.as_str(), |(_, theirs)| theirs);
                            inference.insert(name.to_owned(), v.clone());
                        }
                    }
                    other => {
                        return Err(Error::invalid_request(format!(
                            "call option {key:?} must be a map, got {}",
                            crate::value::type_name(other)
                        )))
                    }
                },
                "additional_model_request_fields" => additional = Some(value.clone()),
                k => match INFERENCE_KEYS.iter().find(|(ours, _)| *ours == k) {
                    Some((_, theirs)) => {
                        inference.insert((*theirs).to_owned(), value.clone());
                    }
                    None => {
                        rest.insert(key.clone(), value.clone());
                    }
                },
            }
        }
        check_inference(&Options::new("the call's options", call))
            .map_err(|e| Error::invalid_request(e.message))?;
        // `nil` in a call's options removes the client's value, here too.
        inference.retain(|_, v| !v.is_null());
        if !inference.is_empty() {
            fields.insert("inferenceConfig".into(), Value::Object(inference));
        }
        let history_has_tools = input
            .messages
            .iter()
            .any(|m| m.role == Role::Tool || !m.tool_calls.is_empty());
        let thinking = thinking_enabled(additional.as_ref().and_then(|a| a.get("thinking")));
        if let Some(config) = tool_config(input, history_has_tools, thinking)? {
            fields.insert("toolConfig".into(), config);
        }
        if let Some(additional) = additional.filter(|v| !v.is_null()) {
            fields.insert("additionalModelRequestFields".into(), additional);
        }
        let body = MergedBody {
            client: &self.body,
            fields,
            borrowed: None::<(&str, Value)>,
            call: &rest,
        };

        let mut request = HttpRequest::post_json(url, &body)?;
        if input.stream {
            request.headers.insert(
                ACCEPT,
                HeaderValue::from_static("application/vnd.amazon.eventstream"),
            );
        }
        Ok(request.with_client_headers(&self.headers, &self.secrets))
    }
}

impl AnswerReader for Bedrock {
    fn limits(&self) -> &'static Limits {
        &generation::BEDROCK
    }

    fn framing(&self) -> Framing {
        Framing::AwsEventStream
    }

    fn parse_response(&self, _head: &ResponseHead, body: &[u8]) -> Result<Completion, Error> {
        let v = common::parse_json(body)?;
        let blocks = v
            .pointer("/output/message/content")
            .and_then(Value::as_array)
            .ok_or_else(|| Error::bad_response("the answer has no output.message.content list"))?;
        let mut answer = Completion::default();
        for block in blocks {
            read_block(block, &mut answer)?;
        }
        Ok(Completion {
            content: answer.content,
            reasoning: answer.reasoning,
            reasoning_parts: answer.reasoning_parts,
            tool_calls: answer.tool_calls,
            // Converse answers do not name the model.
            model: None,
            finish_reason: v
                .get("stopReason")
                .and_then(Value::as_str)
                .map(str::to_owned),
            usage: v.get("usage").map(usage).unwrap_or_default(),
            ..Completion::default()
        })
    }

    fn parse_error(&self, head: &ResponseHead, body: &[u8]) -> Error {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let error_type = head
            .header("x-amzn-errortype")
            .map(str::to_owned)
            .or_else(|| {
                parsed
                    .as_ref()
                    .and_then(|v| v.get("__type"))
                    .and_then(Value::as_str)
                    .map(|t| t.rsplit('#').next().unwrap_or(t).to_owned())
            });
        let name = error_type.as_deref().map(exception_name);
        let message = parsed.as_ref().and_then(message_of);
        let kind = name
            .and_then(exception_kind)
            .unwrap_or_else(|| ErrorKind::from_status(head.status));
        let signed_by_chain =
            matches!(self.auth.mode(), Mode::SigV4) && !self.headers.contains_key(AUTHORIZATION);
        if kind == ErrorKind::Auth && signed_by_chain {
            // Rejected credentials (expired, rotated, revoked) are not
            // used again: the next call asks the chain afresh.
            self.auth.aws.invalidate();
        }
        let message = match (name, message) {
            (Some(name), Some(message)) => format!("{name}: {message}"),
            (Some(name), None) => format!("{name} (HTTP {})", head.status),
            (None, Some(message)) => message,
            (None, None) => format!("HTTP {} from the provider", head.status),
        };
        Error::new(kind, message).with_provider_detail(None, name)
    }

    fn stream_parser(&self) -> Box<dyn super::StreamParser> {
        Box::<super::bedrock_stream::BedrockStream>::default()
    }
}

/// Reads one block of an answer into `answer`: `text` is the answer,
/// `reasoningContent` its reasoning (kept with its signature to be sent
/// back; a `redactedContent` one is encrypted and has no text to give),
/// `toolUse` a tool call, `citationsContent` the answer's text with
/// citations. Any other block is a `:bad_response` naming it, rather than
/// a part of the answer dropped unread.
fn read_block(block: &Value, answer: &mut Completion) -> Result<(), Error> {
    let Completion {
        content,
        reasoning,
        reasoning_parts,
        tool_calls,
        ..
    } = answer;
    if let Some(text) = block.get("text") {
        let text = text
            .as_str()
            .ok_or_else(|| Error::bad_response("a text block of the answer is not a string"))?;
        content.push_str(text);
    } else if let Some(r) = block.get("reasoningContent") {
        if let Some(data) = r.get("redactedContent") {
            let part = ReasoningPart::read_redacted(Dialect::Bedrock, data.as_str())?;
            reasoning_parts.push(part);
        } else if let Some(r) = r.get("reasoningText") {
            let text = r.get("text").and_then(Value::as_str).unwrap_or_default();
            let signature = r.get("signature").and_then(Value::as_str);
            reasoning.push_str(text);
            reasoning_parts.push(ReasoningPart::signed(Dialect::Bedrock, text, signature));
        } else {
            let kind = r.as_object().and_then(|m| m.keys().next());
            return Err(Error::unread_part(format!(
                "the answer has a reasoningContent block of kind {:?}, which switchboard cannot read",
                kind.map_or("empty", String::as_str)
            )));
        }
    } else if let Some(call) = block.get("toolUse") {
        let name = call
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| Error::bad_response("a toolUse block of the answer has no name"))?;
        let id = call.get("toolUseId").and_then(Value::as_str);
        tool_calls.push(ToolCall {
            id: crate::tools::id_or_made_up(id, tool_calls.len()),
            name: name.to_owned(),
            arguments: arguments_from_value(name, call.get("input"))?,
            signature: None,
        });
    } else if let Some(c) = block.get("citationsContent") {
        for part in c
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(text) = part.get("text").and_then(Value::as_str) {
                content.push_str(text);
            }
        }
    } else {
        let kind = block
            .as_object()
            .and_then(|m| m.keys().next())
            .map_or("empty", String::as_str);
        return Err(Error::unread_part(format!(
            "the answer has a {kind:?} block, which switchboard cannot read"
        )));
    }
    Ok(())
}

/// `ThrottlingException:http://internal.amazon.com/...` -> `ThrottlingException`.
pub(super) fn exception_name(error_type: &str) -> &str {
    error_type.split(':').next().unwrap_or(error_type).trim()
}

/// The kind of a Bedrock exception, by its name in either case
/// (`ThrottlingException` in headers, `throttlingException` in streams).
pub(super) fn exception_kind(name: &str) -> Option<ErrorKind> {
    let name = name.to_ascii_lowercase();
    Some(match name.trim_end_matches("exception") {
        "throttling" | "servicequotaexceeded" | "toomanyrequests" => ErrorKind::RateLimited,
        "serviceunavailable" | "modelnotready" => ErrorKind::Overloaded,
        "validation" | "conflict" | "serialization" => ErrorKind::InvalidRequest,
        "accessdenied" => ErrorKind::Permission,
        "resourcenotfound" | "unknownoperation" => ErrorKind::NotFound,
        "modeltimeout" => ErrorKind::Timeout,
        "unrecognizedclient"
        | "expiredtoken"
        | "invalidsignature"
        | "incompletesignature"
        | "missingauthenticationtoken"
        | "invalidclienttokenid"
        | "signaturedoesnotmatch" => ErrorKind::Auth,
        "internalserver" | "modelstreamerror" | "modelerror" | "internalfailure" => {
            ErrorKind::Server
        }
        _ => return None,
    })
}

/// The human message of a Bedrock error body (`message` or `Message`).
pub(super) fn message_of(v: &Value) -> Option<String> {
    v.get("message")
        .or_else(|| v.get("Message"))
        .and_then(Value::as_str)
        .map(super::stream::short)
}

/// Bedrock's token usage. `inputTokens` leaves out the tokens read from or
/// written to the prompt cache (its `totalTokens` is all three plus the
/// output); ours counts every prompt token, so they are added back.
pub fn usage(u: &Value) -> Usage {
    let read = common::u64_at(u, &["cacheReadInputTokens"]);
    let written = common::u64_at(u, &["cacheWriteInputTokens"]);
    let uncached = common::u64_at(u, &["inputTokens"]);
    let input = match (uncached, read, written) {
        (None, None, None) => None,
        (i, r, w) => Some(i.unwrap_or(0) + r.unwrap_or(0) + w.unwrap_or(0)),
    };
    Usage::new(input, common::u64_at(u, &["outputTokens"]))
        .or_total(common::u64_at(u, &["totalTokens"]))
        .with_cached(read, written)
}

/// How one call is authorized, decided when it is made.
enum Mode {
    Bearer(Secret),
    SigV4,
}

/// Bedrock's authorization step: an API key, or a SigV4 signature with
/// credentials from the options or the AWS chain, whose cache is shared by
/// the registry's clients with the same chain settings.
#[derive(Debug)]
struct BedrockAuth {
    api_key: Option<Secret>,
    aws: AwsAuth,
}

impl BedrockAuth {
    fn new(o: &ClientOptions) -> Result<Self, Error> {
        let opts = o.options();
        let key_id = opts.str("access_key_id")?;
        let secret = opts.str("secret_access_key")?;
        let token = opts.str("session_token")?;
        let profile = opts.str("profile")?;
        let api_key = opts.str("api_key")?.map(Secret::new);
        let source = match (key_id, secret) {
            (Some(id), Some(secret)) => {
                if profile.is_some() {
                    return Err(Error::config(format!(
                        "{}: set either access_key_id/secret_access_key or \"profile\", not both",
                        o.ctx
                    )));
                }
                let token = token.map(Secret::new);
                CredentialSource::Static(AwsCredentials::new(
                    id,
                    &Secret::new(secret),
                    token.as_ref(),
                ))
            }
            (None, None) if token.is_some() => {
                return Err(Error::config(format!(
                    "{}: \"session_token\" needs access_key_id and secret_access_key",
                    o.ctx
                )))
            }
            (None, None) => CredentialSource::Chain {
                profile: profile.map(str::to_owned),
            },
            _ => {
                return Err(Error::config(format!(
                    "{}: access_key_id and secret_access_key go together; one is missing",
                    o.ctx
                )))
            }
        };
        let explicit_aws = matches!(source, CredentialSource::Static(_)) || profile.is_some();
        if api_key.is_some() && explicit_aws {
            return Err(Error::config(format!(
                "{}: \"api_key\" (a Bedrock API key) conflicts with AWS credentials \
                 (access_key_id/secret_access_key or profile); set one or the other",
                o.ctx
            )));
        }
        let region = opts.str("region")?.map(str::to_owned);
        Ok(BedrockAuth {
            api_key,
            aws: AwsAuth::new(o.ctx.clone(), source, region, &o.credentials)?,
        })
    }

    fn mode(&self) -> Mode {
        if let Some(key) = &self.api_key {
            return Mode::Bearer(key.clone());
        }
        let explicit_aws = match self.aws.source() {
            CredentialSource::Static(_) => true,
            CredentialSource::Chain { profile } => profile.is_some(),
        };
        if !explicit_aws {
            if let Some(key) = crate::env::var(API_KEY_ENV) {
                return Mode::Bearer(Secret::new(key));
            }
        }
        Mode::SigV4
    }

    async fn run(&self, request: &mut HttpRequest) -> Result<(), Error> {
        // A credential the user set in `headers:` wins, as for other providers.
        if request.headers.contains_key(AUTHORIZATION) {
            return self.resolve_host(request).await;
        }
        match self.mode() {
            Mode::Bearer(key) => {
                self.resolve_host(request).await?;
                let value = Secret::new(format!("Bearer {}", key.expose()));
                request.secrets.push(key);
                request.set_secret_header(AUTHORIZATION, &value)
            }
            Mode::SigV4 => {
                let region = self.aws.region().await?;
                set_regional_host(request, &region)?;
                let credentials = self.aws.credentials().await?;
                sign_request(
                    request,
                    &credentials,
                    &region,
                    SIGNING_SERVICE,
                    SystemTime::now(),
                )
            }
        }
    }

    /// Puts the region into a URL built before the region was known.
    async fn resolve_host(&self, request: &mut HttpRequest) -> Result<(), Error> {
        if request.url.host_str() == Some(UNRESOLVED_HOST) {
            let region = self.aws.region().await?;
            set_regional_host(request, &region)?;
        }
        Ok(())
    }
}

fn set_regional_host(request: &mut HttpRequest, region: &str) -> Result<(), Error> {
    if request.url.host_str() == Some(UNRESOLVED_HOST) {
        let host = format!("bedrock-runtime.{region}.amazonaws.com");
        request.url.set_host(Some(&host)).map_err(|_| {
            Error::config(format!(
                "the AWS region {region:?} is not usable in a host name"
            ))
        })?;
    }
    Ok(())
}

impl Authorize for BedrockAuth {
    fn authorize<'a>(
        &'a self,
        request: &'a mut HttpRequest,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), Error>> + Send + 'a>> {
        Box::pin(self.run(request))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::providers::golden::{conversation, provider, sent};
    use crate::reasoning::{Dialect, ReasoningPart};

    #[test]
    fn bedrock_golden_request() {
        let s = sent(
            "aws-bedrock",
            json!({
                "model": "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0",
                "api_key": "bedrock-api-key-1",
                "region": "eu-west-3",
                "inference_configuration": {"max_tokens": 100, "stop_sequences": ["END"]},
                "additional_model_request_fields": {"top_k": 5},
                "guardrailConfig": {"guardrailIdentifier": "g1", "guardrailVersion": "1"}
            }),
            conversation(),
            json!({"temperature": 0.5, "top_p": 0.9}),
            true,
        );
        assert_eq!(s.method, "POST");
        assert_eq!(
            s.url,
            "https://bedrock-runtime.eu-west-3.amazonaws.com/model/\
             arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2F\
             us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream"
        );
        assert_eq!(
            s.headers,
            [
                ("content-type", "application/json"),
                ("accept", "application/vnd.amazon.eventstream"),
                ("authorization", "Bearer bedrock-api-key-1"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        assert_eq!(
            s.body,
            json!({
                "system": [{"text": "Be brief."}],
                "messages": [
                    {"role": "user", "content": [
                        {"text": "What is this?"},
                        {"image": {"format": "png", "source": {"bytes": "iVBO"}}}
                    ]},
                    {"role": "assistant", "content": [{"text": "A logo."}]},
                    {"role": "user", "content": [{"text": "Whose?"}]}
                ],
                "inferenceConfig": {"maxTokens": 100, "stopSequences": ["END"], "temperature": 0.5, "topP": 0.9},
                "additionalModelRequestFields": {"top_k": 5},
                "guardrailConfig": {"guardrailIdentifier": "g1", "guardrailVersion": "1"}
            })
        );
    }

    #[test]
    fn endpoint_url_and_model_id_and_a_call_time_model() {
        let s = sent(
            "aws-bedrock",
            json!({"model_id": "anthropic.claude-3-5-haiku-20241022-v1:0", "api_key": "k-123456",
                   "endpoint_url": "http://127.0.0.1:9/s/x/", "max_tokens": 7}),
            json!("Hi"),
            json!({"model": "us.amazon.nova-lite-v1:0", "max_tokens": 9}),
            false,
        );
        assert_eq!(
            s.url,
            "http://127.0.0.1:9/s/x/model/us.amazon.nova-lite-v1%3A0/converse"
        );
        assert_eq!(
            s.body,
            json!({"messages": [{"role": "user", "content": [{"text": "Hi"}]}],
                   "inferenceConfig": {"maxTokens": 9}})
        );
    }

    #[test]
    fn options_are_checked_when_the_registry_is_built() {
        let spec = super::super::spec::find("aws-bedrock").expect("spec");
        let build = |options: Value| {
            let parsed = ClientOptions::parse(
                spec,
                "client \"B\"".into(),
                options.as_object().expect("map"),
            )
            .and_then(|o| super::super::build(&o).map(|_| ()));
            parsed.err().map(|e| (e.kind, e.message))
        };
        assert_eq!(build(json!({"model": "m", "region": "us-east-1"})), None);
        for (bad, says) in [
            (json!({"region": "us-east-1"}), "model"),
            (json!({"model": "m", "model_id": "m"}), "not both"),
            (
                json!({"model": "m", "inference_configuration": {"top_k": 3}}),
                "has unknown key \"top_k\"",
            ),
            (
                json!({"model": "m", "client_response_type": "anthropic"}),
                "is not supported on aws-bedrock",
            ),
            (
                json!({"model": "m", "access_key_id": "AKID"}),
                "go together",
            ),
            (json!({"model": "m", "session_token": "t"}), "session_token"),
            (
                json!({"model": "m", "api_key": "k", "access_key_id": "A", "secret_access_key": "S"}),
                "conflicts",
            ),
            (
                json!({"model": "m", "api_key": "k", "profile": "dev"}),
                "conflicts",
            ),
            (
                json!({"model": "m", "region": "us-east-1.evil.com"}),
                "region",
            ),
            (
                json!({"model": "m", "endpoint_url": "ftp://x"}),
                "endpoint_url",
            ),
            (
                json!({"model": "m", "inference_configuration": {"max_tokens": "many"}}),
                "max_tokens",
            ),
            (
                json!({"model": "m", "inference_configuration": {"stop_sequences": "END"}}),
                "stop_sequences",
            ),
            (
                json!({"model": "m", "additional_model_request_fields": 3}),
                "additional_model_request_fields",
            ),
        ] {
            let (kind, message) = build(bad.clone()).expect("rejected");
            assert_eq!(kind, ErrorKind::Config, "{bad}");
            assert!(
                message.contains(says) && message.contains("client \"B\""),
                "{bad}: {message}"
            );
        }
    }

    #[test]
    fn reads_text_blocks_stop_reason_and_usage() {
        let p = provider("aws-bedrock", json!({"model": "m", "region": "us-east-1"}));
        let head = ResponseHead {
            status: 200,
            headers: HeaderMap::new(),
        };
        let body = json!({
            "output": {"message": {"role": "assistant", "content": [
                {"reasoningContent": {"reasoningText": {"text": "hmm"}}},
                {"text": "Hello"}, {"toolUse": {"name": "x"}}, {"text": " there"}
            ]}},
            "stopReason": "max_tokens",
            "usage": {"inputTokens": 9, "outputTokens": 60, "totalTokens": 1673,
                      "cacheReadInputTokens": 0, "cacheWriteInputTokens": 1604}
        });
        let c = p
            .parse_response(&head, body.to_string().as_bytes())
            .expect("reads");
        assert_eq!(c.content, "Hello there");
        assert_eq!(c.reasoning, "hmm");
        assert_eq!(c.tool_calls.len(), 1);
        assert_eq!(
            (c.tool_calls[0].id.as_str(), c.tool_calls[0].name.as_str()),
            ("call_sb_0", "x")
        );
        assert_eq!(c.finish_reason.as_deref(), Some("max_tokens"));
        assert_eq!(
            c.usage,
            Usage {
                input_tokens: Some(1613),
                output_tokens: Some(60),
                total_tokens: Some(1673),
                cached_input_tokens: Some(0),
                cache_creation_input_tokens: Some(1604),
                reasoning_tokens: None,
            }
        );
        let e = p
            .parse_response(&head, b"{\"output\": {}}")
            .expect_err("no content");
        assert_eq!(e.kind, ErrorKind::BadResponse);
    }

    #[test]
    fn errors_map_from_the_error_type_header() {
        let p = provider("aws-bedrock", json!({"model": "m", "region": "us-east-1"}));
        let cases = [
            ("ThrottlingException", 429, ErrorKind::RateLimited),
            ("ServiceUnavailableException", 503, ErrorKind::Overloaded),
            ("ModelNotReadyException", 429, ErrorKind::Overloaded),
            ("ValidationException", 400, ErrorKind::InvalidRequest),
            ("AccessDeniedException", 403, ErrorKind::Permission),
            ("ResourceNotFoundException", 404, ErrorKind::NotFound),
            ("ModelTimeoutException", 408, ErrorKind::Timeout),
            ("UnrecognizedClientException", 403, ErrorKind::Auth),
            ("ExpiredTokenException", 403, ErrorKind::Auth),
            ("InvalidSignatureException", 403, ErrorKind::Auth),
            ("InternalServerException", 500, ErrorKind::Server),
            ("ModelErrorException", 424, ErrorKind::Server),
            ("SomethingNewException", 418, ErrorKind::InvalidRequest),
        ];
        for (name, status, kind) in cases {
            let mut headers = HeaderMap::new();
            let value = format!("{name}:http://internal.amazon.com/coral/com.amazon.bedrock/");
            headers.insert(
                "x-amzn-errortype",
                HeaderValue::from_str(&value).expect("ascii"),
            );
            let e = p.parse_error(&ResponseHead { status, headers }, br#"{"message":"Nope."}"#);
            assert_eq!(
                (e.kind, e.message.as_str()),
                (kind, format!("{name}: Nope.").as_str()),
                "{name}"
            );
        }
        // Without the header: the body's __type, else the status.
        let head = ResponseHead {
            status: 400,
            headers: HeaderMap::new(),
        };
        let e = p.parse_error(
            &head,
            br#"{"__type":"com.amazon.coral#ThrottlingException","Message":"slow"}"#,
        );
        assert_eq!(
            (e.kind, e.message.as_str()),
            (ErrorKind::RateLimited, "ThrottlingException: slow")
        );
        let head = ResponseHead {
            status: 503,
            headers: HeaderMap::new(),
        };
        assert_eq!(p.parse_error(&head, b"<html>").kind, ErrorKind::Overloaded);
    }

    #[test]
    fn a_url_left_by_the_media_url_handler_is_refused_naming_the_setting() {
        let p = provider("aws-bedrock", json!({"model": "m", "region": "us-east-1"}));
        for (part, setting) in [
            (
                json!({"type": "image_url", "image_url": {"url": "https://u:pw@x/cat.png?sig=S"}}),
                "media_url_handler: %{image: \"send_base64\"}",
            ),
            (
                json!({"type": "document", "url": "https://x/doc.pdf"}),
                "media_url_handler: %{pdf: \"send_base64\"}",
            ),
        ] {
            let messages =
                crate::prompt::parse_prompt(&json!([{"role": "user", "content": [part]}]))
                    .expect("prompt");
            let options = Map::new();
            let input = CallInput::plain(&messages, &options, false);
            let e = p.build_request(&input).expect_err("url media");
            assert_eq!(e.kind, ErrorKind::InvalidRequest);
            assert!(e.message.contains(setting), "{}", e.message);
            assert!(!e.message.contains("sig=S") && !e.message.contains("pw"));
        }
    }

    /// The body sent for `prompt` with tools, a choice and a schema.
    fn tool_body(
        prompt: Value,
        tools: Value,
        choice: Option<Value>,
        schema: Option<Value>,
    ) -> Result<Value, Error> {
        let p = provider("aws-bedrock", json!({"model": "m", "region": "us-east-1"}));
        let messages = crate::prompt::parse_prompt(&prompt)?;
        let tools = crate::tools::parse_tools(&tools)?;
        let choice = choice
            .map(|c| crate::tools::parse_tool_choice(&c, &tools))
            .transpose()?;
        let options = Map::new();
        let input = CallInput {
            tools: &tools,
            tool_choice: choice.as_ref(),
            output_schema: schema.as_ref(),
            ..CallInput::plain(&messages, &options, false)
        };
        let request = p.build_request(&input)?;
        Ok(serde_json::from_slice(&request.body).expect("JSON body"))
    }

    fn weather() -> Value {
        json!([{"name": "get_weather", "description": "Weather of a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
               {"name": "now"}])
    }

    fn spec(name: &str, description: Option<&str>, schema: Value) -> Value {
        let mut spec = json!({"name": name, "inputSchema": {"json": schema}});
        if let Some(d) = description {
            spec["description"] = json!(d);
        }
        json!({"toolSpec": spec})
    }

    fn weather_specs() -> Vec<Value> {
        vec![
            spec(
                "get_weather",
                Some("Weather of a city"),
                json!({"type": "object", "properties": {"city": {"type": "string"}}}),
            ),
            spec("now", None, json!({"type": "object", "properties": {}})),
        ]
    }

    #[test]
    fn tools_and_each_tool_choice_make_a_tool_config() {
        for (choice, sent) in [
            (None, None),
            (Some(json!("auto")), Some(json!({"auto": {}}))),
            (Some(json!("required")), Some(json!({"any": {}}))),
            (
                Some(json!({"tool": "now"})),
                Some(json!({"tool": {"name": "now"}})),
            ),
        ] {
            let body = tool_body(json!("Weather?"), weather(), choice.clone(), None).expect("body");
            let mut config = json!({"tools": weather_specs()});
            if let Some(sent) = sent {
                config["toolChoice"] = sent;
            }
            assert_eq!(body["toolConfig"], config, "{choice:?}");
        }
        // :none leaves the tools out, unless the history holds tool blocks.
        let body = tool_body(json!("Hi"), weather(), Some(json!("none")), None).expect("body");
        assert_eq!(body.get("toolConfig"), None);
        let history = json!([
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "t1", "name": "get_weather", "arguments": {"city": "Paris"}}]},
            {"role": "tool", "tool_call_id": "t1", "content": "18C"}
        ]);
        let body = tool_body(history, weather(), Some(json!("none")), None).expect("body");
        assert_eq!(body["toolConfig"], json!({"tools": weather_specs()}));
    }

    #[test]
    fn output_schema_is_a_forced_tool_or_one_more_tool() {
        let schema = json!({"type": "object", "properties": {"n": {"type": "integer"}}});
        let output = spec(OUTPUT_TOOL, Some(OUTPUT_TOOL_DESCRIPTION), schema.clone());
        let body = tool_body(json!("Count"), json!([]), None, Some(schema.clone())).expect("body");
        assert_eq!(
            body["toolConfig"],
            json!({"tools": [output], "toolChoice": {"tool": {"name": "json_output"}}})
        );
        let body = tool_body(json!("Count"), weather(), None, Some(schema.clone())).expect("body");
        let mut tools = weather_specs();
        tools.push(output.clone());
        assert_eq!(body["toolConfig"], json!({"tools": tools}));
        let body = tool_body(
            json!("Count"),
            weather(),
            Some(json!("none")),
            Some(schema.clone()),
        )
        .expect("body");
        assert_eq!(
            body["toolConfig"],
            json!({"tools": [output], "toolChoice": {"tool": {"name": "json_output"}}})
        );
    }

    #[test]
    fn tool_calls_and_results_go_back_as_tool_use_and_tool_result_blocks() {
        let history = json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris and the time?"},
            {"role": "assistant", "content": "Checking.", "tool_calls": [
                {"id": "t1", "name": "get_weather", "arguments": {"city": "Paris"}},
                {"id": "t2", "name": "now", "arguments": {}}]},
            {"role": "tool", "tool_call_id": "t1", "content": "{\"temp\":18}"},
            {"role": "tool", "tool_call_id": "t2", "content": "noon"},
            {"role": "user", "content": "Thanks; and tomorrow?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "t3", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}]},
            {"role": "tool", "tool_call_id": "t3", "content": [
                {"type": "text", "text": "rain"},
                {"type": "image", "data": "iVBO", "media_type": "image/png"}]}
        ]);
        let body = tool_body(history, weather(), None, None).expect("body");
        assert_eq!(
            body["messages"],
            json!([
                {"role": "user", "content": [{"text": "Weather in Paris and the time?"}]},
                {"role": "assistant", "content": [
                    {"text": "Checking."},
                    {"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Paris"}}},
                    {"toolUse": {"toolUseId": "t2", "name": "now", "input": {}}}
                ]},
                {"role": "user", "content": [
                    {"toolResult": {"toolUseId": "t1", "content": [{"text": "{\"temp\":18}"}]}},
                    {"toolResult": {"toolUseId": "t2", "content": [{"text": "noon"}]}},
                    {"text": "Thanks; and tomorrow?"}
                ]},
                {"role": "assistant", "content": [
                    {"toolUse": {"toolUseId": "t3", "name": "get_weather", "input": {"city": "Paris"}}}
                ]},
                {"role": "user", "content": [
                    {"toolResult": {"toolUseId": "t3", "content": [
                        {"text": "rain"},
                        {"image": {"format": "png", "source": {"bytes": "iVBO"}}}
                    ]}}
                ]}
            ])
        );
        assert_eq!(body["system"], json!([{"text": "Be brief."}]));
    }

    #[test]
    fn documents_are_named_and_typed_and_unknown_types_refused() {
        let prompt = json!([{"role": "user", "content": [
            {"type": "text", "text": "Compare"},
            {"type": "document", "data": "JVBERi0x"},
            {"type": "document", "data": "YSxi", "media_type": "text/csv"}
        ]}]);
        let body = tool_body(prompt, json!([]), None, None).expect("body");
        assert_eq!(
            body["messages"][0]["content"],
            json!([
                {"text": "Compare"},
                {"document": {"format": "pdf", "name": "document", "source": {"bytes": "JVBERi0x"}}},
                {"document": {"format": "csv", "name": "document-2", "source": {"bytes": "YSxi"}}}
            ])
        );
        assert_eq!(body.get("toolConfig"), None);
        let prompt = json!([{"role": "user", "content": [
            {"type": "document", "data": "AAAA", "media_type": "application/zip"}]}]);
        let e = tool_body(prompt, json!([]), None, None).expect_err("zip");
        assert_eq!(e.kind, ErrorKind::InvalidRequest);
        assert!(e.message.contains("application/zip"), "{}", e.message);
    }

    #[test]
    fn reasoning_goes_back_first_in_the_assistant_turn_and_only_bedrock_reasoning() {
        let body = tool_body(
            json!([
                {"role": "user", "content": "Weather?"},
                {"role": "assistant", "content": "", "reasoning_parts": [
                    {"dialect": "bedrock", "text": "Need weather.", "signature": "c2ln"},
                    {"dialect": "bedrock", "redacted": "AAAA"},
                    {"dialect": "anthropic", "text": "x", "signature": "YW50"}
                ], "tool_calls": [{"id": "t1", "name": "get_weather", "arguments": {"city": "Paris"}}]},
                {"role": "tool", "tool_call_id": "t1", "content": "sunny"}
            ]),
            weather(),
            None,
            None,
        )
        .expect("body");
        assert_eq!(
            body["messages"][1]["content"],
            json!([
                {"reasoningContent": {"reasoningText": {"text": "Need weather.", "signature": "c2ln"}}},
                {"reasoningContent": {"redactedContent": "AAAA"}},
                {"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Paris"}}}
            ])
        );
    }

    #[test]
    fn with_thinking_on_the_output_tool_is_offered_not_forced() {
        let p = provider(
            "aws-bedrock",
            json!({"model": "m", "region": "us-east-1", "additional_model_request_fields":
                   {"thinking": {"type": "enabled", "budget_tokens": 2048}}}),
        );
        let messages = crate::prompt::parse_prompt(&json!("Health?")).expect("prompt");
        let schema = json!({"type": "object"});
        let options = Map::new();
        let input = CallInput {
            output_schema: Some(&schema),
            ..CallInput::plain(&messages, &options, false)
        };
        let body: Value =
            serde_json::from_slice(&p.build_request(&input).expect("request").body).expect("json");
        assert_eq!(
            body["toolConfig"]["tools"][0]["toolSpec"]["name"],
            OUTPUT_TOOL
        );
        assert!(body["toolConfig"].get("toolChoice").is_none(), "{body}");
        assert_eq!(
            body["additionalModelRequestFields"]["thinking"]["type"],
            "enabled"
        );
    }

    #[test]
    fn answers_with_tool_use_and_unreadable_blocks() {
        let p = provider("aws-bedrock", json!({"model": "m", "region": "us-east-1"}));
        let head = ResponseHead {
            status: 200,
            headers: HeaderMap::new(),
        };
        let read = |content: Value| {
            let body = json!({"output": {"message": {"role": "assistant", "content": content}},
                              "stopReason": "tool_use"});
            p.parse_response(&head, body.to_string().as_bytes())
        };
        let c = read(json!([
            {"reasoningContent": {"reasoningText": {"text": "Need weather.", "signature": "c2ln"}}},
            {"reasoningContent": {"redactedContent": "AAAA"}},
            {"text": "Checking."},
            {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}, "type": "tool_use"}}
        ]))
        .expect("reads");
        assert_eq!(
            (c.content.as_str(), c.reasoning.as_str()),
            ("Checking.", "Need weather.")
        );
        assert_eq!(
            c.reasoning_parts,
            [
                ReasoningPart::signed(Dialect::Bedrock, "Need weather.", Some("c2ln")),
                ReasoningPart::redacted(Dialect::Bedrock, "AAAA"),
            ]
        );
        assert_eq!(c.tool_calls[0].id, "tooluse_1");
        assert_eq!(
            Value::Object(c.tool_calls[0].arguments.clone()),
            json!({"city": "Paris"})
        );
        assert_eq!(c.finish(), crate::response::Finish::ToolCalls);
        // Parts it cannot read: the same request gets them again, so no retry.
        for unread in [
            json!([{"image": {"format": "png", "source": {"bytes": "iVBO"}}}]),
            json!([{"reasoningContent": {"brandNew": {}}}]),
            json!([{"reasoningContent": {"redactedContent": ""}}]),
        ] {
            let e = read(unread.clone()).expect_err("unread");
            assert_eq!(
                (e.kind, e.is_retryable()),
                (ErrorKind::BadResponse, false),
                "{unread}"
            );
        }
        for bad in [
            json!([{"toolUse": {"toolUseId": "t", "name": "add", "input": [1]}}]),
            json!([{"toolUse": {"toolUseId": "t", "input": {}}}]),
            json!([{"image": {"format": "png", "source": {"bytes": "iVBO"}}}]),
            json!([{"text": 3}]),
        ] {
            assert_eq!(
                read(bad.clone()).expect_err("bad").kind,
                ErrorKind::BadResponse,
                "{bad}"
            );
        }
        let c =
            read(json!([{"citationsContent": {"content": [{"text": "Cited."}], "citations": []}}]))
                .expect("citations");
        assert_eq!(c.content, "Cited.");
    }
}
