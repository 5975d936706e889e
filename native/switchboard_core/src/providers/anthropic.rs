//! Anthropic Messages API.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Url;
use serde_json::{json, Map, Value};

use super::common;
use super::options::{merge_body, ClientOptions};
use super::spec::{ProviderSpec, SpecKind};
use super::{Completion, Provider};
use crate::auth::Authorization;
use crate::error::{Error, ErrorKind};
use crate::prompt::{split_system, Content, Media, Message, Part};
use crate::response::Usage;
use crate::secret::Secrets;
use crate::wire::{CallInput, HttpRequest, ResponseHead};

pub(crate) const DEFAULT_MAX_TOKENS: u64 = 4096;
const API_VERSION: &str = "2023-06-01";

pub(super) const ANTHROPIC: ProviderSpec = ProviderSpec {
    name: "anthropic",
    aliases: &["baml-anthropic-chat"],
    kind: SpecKind::Leaf(Anthropic::build),
    default_base_url: Some("https://api.anthropic.com"),
    api_key_env: Some("ANTHROPIC_API_KEY"),
    routing_options: &[],
    prompt_fields: &["messages", "system"],
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
        let mut body = o.body.clone();
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

fn part_json(part: &Part) -> Value {
    match part {
        Part::Text(t) => json!({"type": "text", "text": t}),
        Part::Image(Media::Inline(i)) => json!({
            "type": "image",
            "source": {"type": "base64", "media_type": i.media_type, "data": i.data}
        }),
        Part::Image(Media::Url(url)) => {
            json!({"type": "image", "source": {"type": "url", "url": url}})
        }
        Part::Document(d) => json!({
            "type": "document",
            "source": {"type": "base64", "media_type": d.media_type, "data": d.data}
        }),
    }
}

/// The Messages API body fields for a prompt: `system` apart from the
/// turns, as Anthropic requires. Shared with Claude on other platforms.
pub(crate) fn prompt_fields(messages: &[Message]) -> Result<Map<String, Value>, Error> {
    let (system, turns) = split_system(messages, "anthropic")?;
    let mut fields = Map::new();
    if !system.is_empty() {
        let system: Vec<String> = system.iter().map(Message::text).collect();
        fields.insert("system".into(), Value::String(system.join("\n\n")));
    }
    fields.insert(
        "messages".into(),
        Value::Array(
            turns
                .iter()
                .map(|m| json!({"role": m.role.as_str(), "content": content_json(&m.content)}))
                .collect(),
        ),
    );
    Ok(fields)
}

impl Provider for Anthropic {
    fn build_request(&self, input: &CallInput<'_>) -> Result<HttpRequest, Error> {
        let mut fields = prompt_fields(input.messages)?;
        if input.stream {
            fields.insert("stream".into(), Value::Bool(true));
        }
        let body = merge_body(&self.body, fields, input.options);
        Ok(HttpRequest::post_json(self.url.clone(), &body)?
            .with_client_headers(&self.headers, &self.secrets))
    }

    fn authorization(&self) -> &Authorization {
        &self.authorization
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
        let (kind, message) = error_type(&v);
        return Err(Error::new(kind.unwrap_or(ErrorKind::Server), message));
    }
    let blocks = v
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::bad_response("the answer has no content list"))?;
    // Only text blocks make the answer; thinking and tool_use do not.
    let content = blocks
        .iter()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .collect();
    Ok(Completion {
        content,
        model: v.get("model").and_then(Value::as_str).map(str::to_owned),
        finish_reason: v
            .get("stop_reason")
            .and_then(Value::as_str)
            .map(str::to_owned),
        usage: v.get("usage").map(usage).unwrap_or_default(),
        ..Completion::default()
    })
}

/// A failed request's error, from Anthropic's error body or the status.
pub(crate) fn parse_error_body(status: u16, body: &[u8]) -> Error {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let (kind, message) = parsed
        .as_ref()
        .map(error_type)
        .unwrap_or((None, format!("HTTP {status} from the provider")));
    Error::new(kind.unwrap_or(ErrorKind::from_status(status)), message)
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
    use serde_json::json;

    use crate::providers::golden::{conversation, sent};

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
