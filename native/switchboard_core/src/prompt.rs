//! The provider-neutral conversation a call sends.

use serde_json::{Map, Value};

use crate::error::Error;
use crate::reasoning::{parse_reasoning_parts, Dialect, ReasoningPart};
use crate::tools::{arguments_from_value, ToolCall};
use crate::value::type_name;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    User,
    Assistant,
    /// The app's result for one of the assistant's tool calls.
    Tool,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(String),
    Image(Media),
    /// A document (a PDF unless its media type says otherwise).
    Document(Media),
}

/// Where an image or a document comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Media {
    /// A URL (`http`, `https`, `gs`, ...): sent as is or fetched and
    /// inlined, as the client's `media_url_handler` says ([`crate::media`]).
    Url(MediaUrl),
    Inline(Inline),
}

/// A media URL and the media type the part names or the handler found.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaUrl {
    pub url: String,
    pub media_type: Option<String>,
}

impl MediaUrl {
    pub fn new(url: impl Into<String>) -> Self {
        MediaUrl {
            url: url.into(),
            media_type: None,
        }
    }

    /// The media type: the one given or found, else the URL's extension's.
    pub fn media_type(&self) -> Option<&str> {
        self.media_type
            .as_deref()
            .or_else(|| crate::media::type_from_extension(&self.url))
    }

    /// Whether the URL is a Google Cloud Storage one (`gs://`), which only
    /// Google's APIs read (BAML's test for "a Google URL").
    pub fn is_google(&self) -> bool {
        self.url.starts_with("gs://")
    }
}

/// Bytes sent in the request, base64-encoded, with their media type.
#[derive(Debug, Clone, PartialEq)]
pub struct Inline {
    pub media_type: String,
    pub data: String,
}

impl Inline {
    /// As a `data:` URL, for APIs that take images that way.
    pub fn data_url(&self) -> String {
        format!("data:{};base64,{}", self.media_type, self.data)
    }

    /// For a document on a dialect that sends every document as a PDF:
    /// any other media type is `:invalid_request`, before anything is sent.
    pub fn require_pdf(&self, provider: &str) -> Result<(), Error> {
        if self
            .media_type
            .trim()
            .eq_ignore_ascii_case("application/pdf")
        {
            return Ok(());
        }
        Err(Error::invalid_request(format!(
            "{provider} cannot take a document of type {:?} (it takes application/pdf only)",
            self.media_type
        )))
    }

    /// [`Inline::require_pdf`] for every inline document part of
    /// `messages` (a document URL's type is the provider's to check).
    pub fn require_pdf_documents(messages: &[Message], provider: &str) -> Result<(), Error> {
        for message in messages {
            if let Content::Parts(parts) = &message.content {
                for part in parts {
                    if let Part::Document(Media::Inline(d)) = part {
                        d.require_pdf(provider)?;
                    }
                }
            }
        }
        Ok(())
    }
}

impl Media {
    /// As a URL: the URL itself, or a `data:` URL.
    pub fn url(&self) -> String {
        match self {
            Media::Url(u) => u.url.clone(),
            Media::Inline(i) => i.data_url(),
        }
    }
}

/// Refuses, before anything is sent, the first media URL of `messages` that
/// `refused` says the dialect cannot take (see [`url_refused`]).
pub fn refuse_media_urls(
    messages: &[Message],
    provider: &str,
    takes: &str,
    refused: impl Fn(&Part, &MediaUrl) -> bool,
) -> Result<(), Error> {
    for message in messages {
        if let Content::Parts(parts) = &message.content {
            for part in parts {
                if let Part::Image(Media::Url(u)) | Part::Document(Media::Url(u)) = part {
                    if refused(part, u) {
                        return Err(url_refused(provider, part, u, takes));
                    }
                }
            }
        }
    }
    Ok(())
}

/// The error for a media URL a dialect cannot take, naming the
/// `media_url_handler` setting that sends it inline instead.
pub fn url_refused(provider: &str, part: &Part, url: &MediaUrl, takes: &str) -> Error {
    let (what, key) = match part {
        Part::Document(_) => ("a document", "pdf"),
        _ => ("an image", "image"),
    };
    let fix = if url.is_google() {
        "gs:// URLs are read only by google-ai and vertex-ai".to_owned()
    } else {
        format!("set media_url_handler: %{{{key}: \"send_base64\"}} to fetch it and send it inline")
    };
    Error::invalid_request(format!(
        "{provider} cannot take {what} by URL ({}): it takes {takes}; {fix}",
        crate::media::shown_url(&url.url)
    ))
}

#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    Text(String),
    Parts(Vec<Part>),
}

impl Content {
    /// No text and no parts.
    pub fn is_empty(&self) -> bool {
        match self {
            Content::Text(t) => t.is_empty(),
            Content::Parts(parts) => parts.is_empty(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub role: Role,
    pub content: Content,
    /// Assistant messages: the tool calls it made (its content may then
    /// be empty).
    pub tool_calls: Vec<ToolCall>,
    /// Assistant messages: the reasoning of the answer they repeat, sent
    /// back only to the dialect that made each part.
    pub reasoning_parts: Vec<ReasoningPart>,
    /// Tool messages: the call this is the result of.
    pub tool_call_id: Option<String>,
    /// Tool messages: the tool's name, when the app gives it; found from
    /// the call otherwise (Gemini needs it).
    pub name: Option<String>,
    /// The name the role is sent under when the client renames it
    /// (`remap_roles`, a custom `default_role`); see [`crate::roles`].
    pub role_name: Option<String>,
    /// Keys the message carries beside its content (`cache_control`, ...),
    /// and its `metadata:` map; the client's `allowed_role_metadata`
    /// decides which reach the request.
    pub metadata: Map<String, Value>,
}

impl Message {
    pub fn new(role: Role, content: Content) -> Self {
        Message {
            role,
            content,
            tool_calls: Vec::new(),
            reasoning_parts: Vec::new(),
            tool_call_id: None,
            name: None,
            role_name: None,
            metadata: Map::new(),
        }
    }

    /// The role as the request names it: renamed, or the role's own name.
    pub fn wire_role(&self) -> &str {
        self.role_name.as_deref().unwrap_or(self.role.as_str())
    }

    /// The reasoning parts a request of `dialect` sends back.
    pub fn reasoning_in(&self, dialect: Dialect) -> impl Iterator<Item = &ReasoningPart> {
        self.reasoning_parts
            .iter()
            .filter(move |p| p.replays_in(dialect))
    }

    pub fn user(text: impl Into<String>) -> Self {
        Message::new(Role::User, Content::Text(text.into()))
    }

    /// The name of the tool a tool message answers: its own `name`, else
    /// the name on the matching call in the turns `before` it, newest
    /// first (made-up ids such as Gemini's restart in every answer).
    pub fn tool_name<'a>(&'a self, before: &'a [Message]) -> Option<&'a str> {
        self.name.as_deref().or_else(|| {
            let id = self.tool_call_id.as_deref()?;
            before
                .iter()
                .rev()
                .flat_map(|m| &m.tool_calls)
                .find(|c| c.id == id)
                .map(|c| c.name.as_str())
        })
    }

    /// The text of the message, parts joined; images and documents are
    /// left out.
    pub fn text(&self) -> String {
        match &self.content {
            Content::Text(t) => t.clone(),
            Content::Parts(parts) => parts
                .iter()
                .filter_map(|p| match p {
                    Part::Text(t) => Some(t.as_str()),
                    Part::Image(_) | Part::Document(_) => None,
                })
                .collect(),
        }
    }
}

/// Splits a prompt into its leading system messages and the turns after
/// them, for APIs that take the system prompt apart from the turns; a
/// system message after the first turn is an `:invalid_request` error
/// naming `provider`.
pub fn split_system<'a>(
    messages: &'a [Message],
    provider: &str,
) -> Result<(&'a [Message], &'a [Message]), Error> {
    let leading = messages
        .iter()
        .take_while(|m| m.role == Role::System)
        .count();
    let (system, turns) = messages.split_at(leading);
    if turns.iter().any(|m| m.role == Role::System) {
        return Err(Error::invalid_request(format!(
            "{provider} accepts system messages only at the start of the prompt"
        )));
    }
    Ok((system, turns))
}

/// Splits `data:image/png;base64,AAAA` into its media type and data.
pub fn data_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    let media_type = meta.strip_suffix(";base64")?;
    Some((media_type, data))
}

/// [`parse_prompt`] of a prompt the caller no longer needs: a string
/// prompt (the usual kind) becomes its message without a copy.
pub fn parse_prompt_owned(prompt: Value) -> Result<Vec<Message>, Error> {
    match prompt {
        Value::String(text) => Ok(vec![Message::user(text)]),
        other => parse_prompt(&other),
    }
}

/// Parses a prompt: a string (one user message) or a list of
/// `%{role, content}` maps whose content is a string or a list of parts.
pub fn parse_prompt(prompt: &Value) -> Result<Vec<Message>, Error> {
    let mut messages = match prompt {
        Value::String(text) => vec![Message::user(text.clone())],
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| parse_message(i, item))
            .collect::<Result<Vec<_>, _>>()?,
        other => {
            return Err(Error::invalid_request(format!(
                "prompt must be a string or a list of messages, got {}",
                type_name(other)
            )))
        }
    };
    if messages.is_empty() {
        return Err(Error::invalid_request("prompt has no messages"));
    }
    if messages.iter().all(|m| m.role == Role::System) {
        return Err(Error::invalid_request(
            "prompt has only system messages; add a user message",
        ));
    }
    distinct_tool_call_ids(&mut messages);
    Ok(messages)
}

/// Makes every tool call id in a conversation unique, as Anthropic and
/// Bedrock require: ids made up for providers without them (Gemini's
/// `call_sb_0`, ...) start over in every answer, so a long loop repeats
/// them. A repeated id is renamed `<id>_<message index>`, and the tool
/// results after it follow the newest call of that id.
fn distinct_tool_call_ids(messages: &mut [Message]) {
    use std::collections::{HashMap, HashSet};
    let mut seen: HashSet<String> = HashSet::new();
    let mut newest: HashMap<String, String> = HashMap::new();
    for (index, message) in messages.iter_mut().enumerate() {
        for call in &mut message.tool_calls {
            let sent = if seen.contains(&call.id) {
                let mut renamed = format!("{}_{index}", call.id);
                while seen.contains(&renamed) {
                    renamed.push('_');
                }
                renamed
            } else {
                call.id.clone()
            };
            seen.insert(sent.clone());
            newest.insert(std::mem::replace(&mut call.id, sent.clone()), sent);
        }
        if let Some(id) = &mut message.tool_call_id {
            if let Some(sent) = newest.get(id.as_str()) {
                id.clone_from(sent);
            }
        }
    }
}

fn parse_message(index: usize, item: &Value) -> Result<Message, Error> {
    let at = |what: &str| Error::invalid_request(format!("prompt message {index}: {what}"));
    let map = item
        .as_object()
        .ok_or_else(|| at(&format!("must be a map, got {}", type_name(item))))?;
    let role = match map.get("role") {
        Some(Value::String(r)) if r == "system" => Role::System,
        Some(Value::String(r)) if r == "user" => Role::User,
        Some(Value::String(r)) if r == "assistant" => Role::Assistant,
        Some(Value::String(r)) if r == "tool" => Role::Tool,
        Some(Value::String(_)) => {
            return Err(at(
                "role must be one of \"system\", \"user\", \"assistant\", \"tool\"",
            ))
        }
        Some(other) => {
            return Err(at(&format!(
                "role must be a string, got {}",
                type_name(other)
            )))
        }
        None => return Err(at("missing :role")),
    };
    let tool_calls = match (role, map.get("tool_calls")) {
        (_, None | Some(Value::Null)) => Vec::new(),
        (Role::Assistant, Some(Value::Array(calls))) => calls
            .iter()
            .enumerate()
            .map(|(j, c)| parse_tool_call(c).map_err(|e| at(&format!("tool_calls[{j}]: {e}"))))
            .collect::<Result<_, _>>()?,
        (Role::Assistant, Some(other)) => {
            return Err(at(&format!(
                "tool_calls must be a list, got {}",
                type_name(other)
            )))
        }
        (_, Some(_)) => return Err(at("only assistant messages carry :tool_calls")),
    };
    let reasoning_parts = match (role, map.get("reasoning_parts")) {
        (_, None | Some(Value::Null)) => Vec::new(),
        (Role::Assistant, Some(parts)) => parse_reasoning_parts(parts).map_err(|e| at(&e))?,
        (_, Some(_)) => return Err(at("only assistant messages carry :reasoning_parts")),
    };
    let string = |key: &str| match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(at(&format!(
            ":{key} must be a string, got {}",
            type_name(other)
        ))),
    };
    let (tool_call_id, name) = match role {
        Role::Tool => (
            Some(string("tool_call_id")?.ok_or_else(|| at("a tool message needs :tool_call_id"))?),
            string("name")?,
        ),
        _ => (None, None),
    };
    let content = match map.get("content") {
        Some(Value::String(text)) => Content::Text(text.clone()),
        Some(Value::Array(parts)) => Content::Parts(
            parts
                .iter()
                .enumerate()
                .map(|(j, p)| parse_part(p).map_err(|e| at(&format!("content part {j}: {e}"))))
                .collect::<Result<_, _>>()?,
        ),
        // A tool's result may be any JSON; providers take it as text.
        Some(result @ (Value::Object(_) | Value::Number(_) | Value::Bool(_)))
            if role == Role::Tool =>
        {
            Content::Text(result.to_string())
        }
        None | Some(Value::Null) if !tool_calls.is_empty() || !reasoning_parts.is_empty() => {
            Content::Text(String::new())
        }
        Some(other) => {
            return Err(at(&format!(
                "content must be a string or a list of parts, got {}",
                type_name(other)
            )))
        }
        None => return Err(at("missing :content")),
    };
    if role != Role::User && role != Role::Tool {
        if let Content::Parts(parts) = &content {
            if parts.iter().any(|p| !matches!(p, Part::Text(_))) {
                return Err(at("images and documents may only be sent in user messages"));
            }
        }
    }
    Ok(Message {
        role,
        content,
        tool_calls,
        reasoning_parts,
        tool_call_id,
        name,
        role_name: None,
        metadata: message_metadata(map).map_err(|e| at(&e))?,
    })
}

/// The keys a message map has besides the ones a message is made of.
const MESSAGE_KEYS: &[&str] = &[
    "role",
    "content",
    "tool_calls",
    "reasoning_parts",
    "tool_call_id",
    "name",
    "metadata",
];

/// A message's metadata: its `metadata:` map, and every other key beside
/// its own (BAML's `_.role("user", cache_control=...)` as Elixir writes
/// it). Keys starting with `__` (an Elixir struct's) are not metadata.
fn message_metadata(map: &Map<String, Value>) -> Result<Map<String, Value>, String> {
    let mut metadata = match map.get("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => return Err(format!(":metadata must be a map, got {}", type_name(other))),
    };
    for (key, value) in map {
        if !MESSAGE_KEYS.contains(&key.as_str()) && !key.starts_with("__") && !value.is_null() {
            metadata.insert(key.clone(), value.clone());
        }
    }
    // A key set to nil is not set, in `metadata:` as beside it (a `nil`
    // `cache_control` must not become a Bedrock cache point).
    metadata.retain(|_, value| !value.is_null());
    Ok(metadata)
}

/// A tool call the assistant made, as `Response.tool_calls` holds it.
fn parse_tool_call(call: &Value) -> Result<ToolCall, String> {
    let map = call
        .as_object()
        .ok_or_else(|| format!("must be a map, got {}", type_name(call)))?;
    let text = |key: &str| match map.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(format!("needs a non-empty string :{key}")),
    };
    let (id, name) = (text("id")?, text("name")?);
    let arguments = match map.get("arguments") {
        Some(Value::String(s)) => crate::tools::arguments_from_text(&name, s),
        other => arguments_from_value(&name, other),
    }
    .map_err(|_| "arguments must be a map (or a JSON object as a string)".to_owned())?;
    let signature = match map.get("signature") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()).filter(|s| !s.is_empty()),
        Some(other) => {
            return Err(format!(
                ":signature must be a string, got {}",
                type_name(other)
            ))
        }
    };
    Ok(ToolCall {
        id,
        name,
        arguments,
        signature,
    })
}

fn parse_part(part: &Value) -> Result<Part, String> {
    let map = part
        .as_object()
        .ok_or_else(|| format!("must be a map, got {}", type_name(part)))?;
    let string = |key: &str| map.get(key).and_then(Value::as_str);
    let media_type = match map.get("media_type") {
        None | Some(Value::Null) => None,
        Some(Value::String(m)) if !m.trim().is_empty() => Some(m.trim()),
        Some(other) => {
            return Err(format!(
                ":media_type must be a non-empty string, got {}",
                type_name(other)
            ))
        }
    };
    let inline = |what: &str, default_type: Option<&str>| {
        let data = string("data").ok_or_else(|| format!("{what} part needs :url or :data"))?;
        let media_type = string("media_type")
            .or(default_type)
            .ok_or_else(|| format!("{what} part with :data needs a :media_type"))?;
        Ok::<_, String>(Inline {
            media_type: media_type.to_owned(),
            data: data.to_owned(),
        })
    };
    match string("type") {
        Some("text") => match map.get("text") {
            Some(Value::String(t)) => Ok(Part::Text(t.clone())),
            _ => Err("a text part needs a string :text".into()),
        },
        Some("image_url") => {
            let url = match map.get("image_url") {
                Some(Value::String(u)) => Some(u.as_str()),
                Some(Value::Object(m)) => m.get("url").and_then(Value::as_str),
                _ => None,
            };
            url.map(|u| Part::Image(media_from_url(u, media_type)))
                .ok_or_else(|| "an image_url part needs :image_url with a :url string".into())
        }
        Some("image") => match string("url") {
            Some(u) => Ok(Part::Image(media_from_url(u, media_type))),
            None => inline("an image", None).map(|i| Part::Image(Media::Inline(i))),
        },
        Some("document") => match string("url") {
            Some(u) => Ok(Part::Document(media_from_url(u, media_type))),
            None => inline("a document", Some("application/pdf"))
                .map(|i| Part::Document(Media::Inline(i))),
        },
        Some(other) => Err(format!(
            "unsupported part type {other:?} (supported: \"text\", \"image\", \"image_url\", \"document\")"
        )),
        None => Err("missing :type".into()),
    }
}

/// A `data:` URL is inline bytes (never fetched); any other URL keeps the
/// part's `media_type`, for the client's `media_url_handler` to use.
fn media_from_url(url: &str, media_type: Option<&str>) -> Media {
    match data_url(url) {
        Some((media_type, data)) => Media::Inline(Inline {
            media_type: media_type.to_owned(),
            data: data.to_owned(),
        }),
        None => Media::Url(MediaUrl {
            url: url.to_owned(),
            media_type: media_type.map(str::to_owned),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_string_is_one_user_message() {
        assert_eq!(
            parse_prompt(&json!("hi")).unwrap(),
            vec![Message::user("hi")]
        );
    }

    #[test]
    fn lists_of_messages_and_parts_parse() {
        let msgs = parse_prompt(&json!([
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": "http://x/i.png"}}]}
        ]))
        .unwrap();
        assert_eq!(msgs[0].role, Role::System);
        assert_eq!(msgs[1].text(), "a");
    }

    #[test]
    fn tool_turns_and_media_parse() {
        let msgs = parse_prompt(&json!([
            {"role": "user", "content": [
                {"type": "image", "data": "AA", "media_type": "image/png"},
                {"type": "image_url", "image_url": "data:image/jpeg;base64,BB"},
                {"type": "document", "data": "JV"}
            ]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"__struct__": "Elixir.Switchboard.ToolCall", "id": "c1", "name": "get", "arguments": {"k": 1}}
            ]},
            {"role": "tool", "tool_call_id": "c1", "content": {"v": 2}}
        ]))
        .unwrap();
        let Content::Parts(parts) = &msgs[0].content else {
            panic!()
        };
        assert_eq!(
            parts[1],
            Part::Image(Media::Inline(Inline {
                media_type: "image/jpeg".into(),
                data: "BB".into()
            }))
        );
        assert!(
            matches!(&parts[2], Part::Document(Media::Inline(i)) if i.media_type == "application/pdf")
        );
        assert_eq!(msgs[1].tool_calls[0].arguments["k"], json!(1));
        assert_eq!(msgs[2].text(), "{\"v\":2}");
        assert_eq!(msgs[2].tool_name(&msgs[..2]), Some("get"));
    }

    #[test]
    fn media_urls_keep_their_media_type_and_documents_take_urls() {
        let msgs = parse_prompt(&json!([{"role": "user", "content": [
            {"type": "image", "url": "https://x/p", "media_type": "image/webp"},
            {"type": "image_url", "image_url": {"url": "gs://b/c.png"}},
            {"type": "document", "url": "https://x/d"},
            {"type": "document", "url": "data:application/pdf;base64,JV"}
        ]}]))
        .unwrap();
        let Content::Parts(parts) = &msgs[0].content else {
            panic!()
        };
        let url = |p: &Part| match p {
            Part::Image(Media::Url(u)) | Part::Document(Media::Url(u)) => u.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(url(&parts[0]).media_type.as_deref(), Some("image/webp"));
        assert_eq!(url(&parts[1]).media_type(), Some("image/png"));
        assert!(url(&parts[1]).is_google());
        assert_eq!(url(&parts[2]).media_type(), None);
        assert!(matches!(&parts[3], Part::Document(Media::Inline(i)) if i.data == "JV"));
        let bad = json!([{"role": "user", "content": [
            {"type": "image", "url": "https://x/p", "media_type": 3}]}]);
        assert!(parse_prompt(&bad).is_err());
    }

    #[test]
    fn repeated_tool_call_ids_are_made_distinct_and_results_follow_the_newest() {
        let turn = |name: &str| {
            json!({"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_sb_0", "name": name, "arguments": {}}]})
        };
        let result = json!({"role": "tool", "tool_call_id": "call_sb_0", "content": "r"});
        let msgs = parse_prompt(&json!([
            {"role": "user", "content": "q"},
            turn("a"), result.clone(), turn("b"), result
        ]))
        .unwrap();
        assert_eq!(msgs[1].tool_calls[0].id, "call_sb_0");
        assert_eq!(msgs[2].tool_call_id.as_deref(), Some("call_sb_0"));
        assert_eq!(msgs[3].tool_calls[0].id, "call_sb_0_3");
        assert_eq!(msgs[4].tool_call_id.as_deref(), Some("call_sb_0_3"));
        assert_eq!(msgs[4].tool_name(&msgs[..4]), Some("b"));
    }

    #[test]
    fn bad_prompts_are_invalid_requests() {
        for bad in [
            json!([]),
            json!(42),
            json!([{"role": "robot", "content": "x"}]),
            json!([{"role": "user"}]),
            json!([{"role": "user", "content": 1}]),
            json!([{"role": "user", "content": [{"type": "audio"}]}]),
            json!([{"role": "tool", "content": "r"}]),
            json!([{"role": "user", "content": "x", "tool_calls": []}]),
            json!([{"role": "assistant", "content": [{"type": "image", "url": "http://x"}]}]),
            json!([{"role": "user", "content": [{"type": "image", "data": "AA"}]}]),
            json!([{"role": "system", "content": "only"}]),
            json!(["not a map"]),
        ] {
            let err = parse_prompt(&bad).unwrap_err();
            assert_eq!(err.kind, crate::error::ErrorKind::InvalidRequest, "{bad}");
        }
    }
}
