//! Anthropic Messages API.

use serde_json::{json, Map, Value};

use super::common::{self, ApiKey, LeafOptions};
use super::{Completion, PreparedRequest, Provider};
use crate::error::{Error, ErrorKind};
use crate::prompt::{Content, Message, Part, Role};
use crate::response::Usage;

const DEFAULT_MAX_TOKENS: u64 = 4096;
const API_VERSION: &str = "2023-06-01";

#[derive(Debug)]
pub struct Anthropic {
    url: String,
    api_key: ApiKey,
    headers: Vec<(String, String)>,
    body: Map<String, Value>,
}

impl Anthropic {
    pub fn new(o: &LeafOptions) -> Result<Self, Error> {
        o.options().required_str("model")?;
        let base_url = o.base_url(Some("https://api.anthropic.com"))?;
        let mut body = o.body.clone();
        body.entry("max_tokens")
            .or_insert(json!(DEFAULT_MAX_TOKENS));
        let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
        if !o
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("anthropic-version"))
        {
            headers.push(("anthropic-version".into(), API_VERSION.into()));
        }
        headers.extend(o.headers.iter().cloned());
        Ok(Anthropic {
            url: o.url_with_query(format!("{base_url}/v1/messages")),
            api_key: o.api_key(Some("ANTHROPIC_API_KEY"))?,
            headers,
            body,
        })
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
        Part::ImageUrl(url) => match data_url(url) {
            Some((media_type, data)) => json!({
                "type": "image",
                "source": {"type": "base64", "media_type": media_type, "data": data}
            }),
            None => json!({"type": "image", "source": {"type": "url", "url": url}}),
        },
    }
}

/// Splits `data:image/png;base64,AAAA` into its media type and data.
fn data_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    let media_type = meta.strip_suffix(";base64")?;
    Some((media_type, data))
}

impl Provider for Anthropic {
    fn prepare(
        &self,
        messages: &[Message],
        overrides: &Map<String, Value>,
        stream: bool,
    ) -> Result<PreparedRequest, Error> {
        let key = self.api_key.resolve()?;
        // Anthropic takes the system prompt apart from the turns.
        let leading_system = messages
            .iter()
            .take_while(|m| m.role == Role::System)
            .count();
        if messages[leading_system..]
            .iter()
            .any(|m| m.role == Role::System)
        {
            return Err(Error::invalid_request(
                "anthropic accepts system messages only at the start of the prompt",
            ));
        }
        let mut fields = Map::new();
        if leading_system > 0 {
            let system: Vec<String> = messages[..leading_system]
                .iter()
                .map(Message::text)
                .collect();
            fields.insert("system".into(), Value::String(system.join("\n\n")));
        }
        fields.insert(
            "messages".into(),
            Value::Array(
                messages[leading_system..]
                    .iter()
                    .map(|m| json!({"role": m.role.as_str(), "content": content_json(&m.content)}))
                    .collect(),
            ),
        );
        if stream {
            fields.insert("stream".into(), Value::Bool(true));
        }
        let body = common::merge_body(&self.body, fields, overrides);
        let mut headers = self.headers.clone();
        if let Some(k) = &key {
            headers.push(("x-api-key".into(), k.clone()));
        }
        Ok(PreparedRequest {
            url: self.url.clone(),
            headers,
            body: common::to_json_bytes(&body)?,
            secret: key,
        })
    }

    fn parse_response(&self, body: &[u8]) -> Result<Completion, Error> {
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
        })
    }

    fn stream_parser(&self) -> Box<dyn super::StreamParser> {
        super::stream::anthropic_parser()
    }

    fn parse_error(&self, status: u16, body: &[u8]) -> Error {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let (kind, message) = parsed
            .as_ref()
            .map(error_type)
            .unwrap_or((None, format!("HTTP {status} from the provider")));
        Error::new(kind.unwrap_or(ErrorKind::from_status(status)), message).with_status(status)
    }
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

/// Anthropic's usage: `input_tokens` excludes cache reads, which we report
/// as `cached_input_tokens`.
pub fn usage(u: &Value) -> Usage {
    let input = common::u64_at(u, &["input_tokens"]);
    let output = common::u64_at(u, &["output_tokens"]);
    Usage {
        input_tokens: input,
        output_tokens: output,
        total_tokens: match (input, output) {
            (None, None) => None,
            (i, o) => Some(i.unwrap_or(0) + o.unwrap_or(0)),
        },
        cached_input_tokens: common::u64_at(u, &["cache_read_input_tokens"]),
    }
}
