//! OpenAI chat completions, as spoken by `openai`, `openai-generic`,
//! `azure-openai`, `ollama` and `openrouter`: the same wire format with
//! different defaults for the URL and the key.

use serde_json::{json, Map, Value};

use super::common::{self, ApiKey, LeafOptions};
use super::{Completion, PreparedRequest, Provider};
use crate::error::{Error, ErrorKind};
use crate::prompt::{Content, Message, Part};
use crate::response::Usage;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    /// `Authorization: Bearer <key>`
    Bearer,
    /// Azure's `api-key: <key>`
    ApiKeyHeader,
}

#[derive(Debug)]
pub struct OpenAiChat {
    url: String,
    /// Whether to ask for a usage chunk at the end of a stream; not every
    /// OpenAI-compatible server accepts `stream_options`.
    stream_usage: bool,
    auth: Auth,
    api_key: ApiKey,
    headers: Vec<(String, String)>,
    body: Map<String, Value>,
}

impl OpenAiChat {
    pub fn new(provider: &str, o: &LeafOptions) -> Result<Self, Error> {
        let opts = o.options();
        let (base_url, env, auth) = match provider {
            "openai" => (
                o.base_url(Some("https://api.openai.com/v1"))?,
                Some("OPENAI_API_KEY"),
                Auth::Bearer,
            ),
            "openrouter" => (
                o.base_url(Some("https://openrouter.ai/api/v1"))?,
                Some("OPENROUTER_API_KEY"),
                Auth::Bearer,
            ),
            "ollama" => (
                o.base_url(Some("http://localhost:11434/v1"))?,
                None,
                Auth::Bearer,
            ),
            "openai-generic" => (o.base_url(None)?, None, Auth::Bearer),
            "azure-openai" => (
                azure_base_url(o)?,
                Some("AZURE_OPENAI_API_KEY"),
                Auth::ApiKeyHeader,
            ),
            other => {
                return Err(Error::config(format!(
                    "{}: not an OpenAI-style provider {other:?}",
                    o.ctx
                )))
            }
        };
        if matches!(provider, "openai" | "openrouter" | "ollama") {
            opts.required_str("model")?;
        }
        let mut url = o.url_with_query(format!("{base_url}/chat/completions"));
        if provider == "azure-openai" {
            if let Some(version) = opts.str("api_version")? {
                url = append_query(&url, "api-version", version);
            }
        }
        let mut body = o.body.clone();
        // BAML's Azure default; an explicit `max_tokens: nil` opts out.
        if provider == "azure-openai"
            && !o.raw.contains_key("max_tokens")
            && !o.raw.contains_key("max_completion_tokens")
        {
            body.insert("max_tokens".into(), Value::from(4096));
        }
        Ok(OpenAiChat {
            url,
            stream_usage: provider != "openai-generic",
            auth,
            api_key: o.api_key(env)?,
            headers: o.headers.clone(),
            body,
        })
    }
}

fn azure_base_url(o: &LeafOptions) -> Result<String, Error> {
    let opts = o.options();
    if opts.str("base_url")?.is_some() {
        return o.base_url(None);
    }
    let resource = opts.required_str("resource_name")?;
    let deployment = opts.required_str("deployment_id")?;
    let ok = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    };
    if !ok(resource) || !ok(deployment) {
        return Err(Error::config(format!(
            "{}: resource_name and deployment_id may only hold letters, digits, '-', '_' and '.'",
            o.ctx
        )));
    }
    Ok(format!(
        "https://{resource}.openai.azure.com/openai/deployments/{deployment}"
    ))
}

fn append_query(url: &str, key: &str, value: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            u.query_pairs_mut().append_pair(key, value);
            u.into()
        }
        Err(_) => url.to_owned(),
    }
}

fn message_json(m: &Message) -> Value {
    let content = match &m.content {
        Content::Text(t) => Value::String(t.clone()),
        Content::Parts(parts) => Value::Array(
            parts
                .iter()
                .map(|p| match p {
                    Part::Text(t) => json!({"type": "text", "text": t}),
                    Part::ImageUrl(u) => json!({"type": "image_url", "image_url": {"url": u}}),
                })
                .collect(),
        ),
    };
    json!({"role": m.role.as_str(), "content": content})
}

impl Provider for OpenAiChat {
    fn prepare(
        &self,
        messages: &[Message],
        overrides: &Map<String, Value>,
        stream: bool,
    ) -> Result<PreparedRequest, Error> {
        let key = self.api_key.resolve()?;
        let mut fields = Map::new();
        fields.insert(
            "messages".into(),
            Value::Array(messages.iter().map(message_json).collect()),
        );
        if stream {
            fields.insert("stream".into(), Value::Bool(true));
            if self.stream_usage {
                fields.insert("stream_options".into(), json!({"include_usage": true}));
            }
        }
        let body = common::merge_body(&self.body, fields, overrides);
        let mut headers = Vec::with_capacity(self.headers.len() + 2);
        headers.push(("content-type".to_owned(), "application/json".to_owned()));
        if let Some(k) = &key {
            match self.auth {
                Auth::Bearer => headers.push(("authorization".into(), format!("Bearer {k}"))),
                Auth::ApiKeyHeader => headers.push(("api-key".into(), k.clone())),
            }
        }
        headers.extend(self.headers.iter().cloned());
        Ok(PreparedRequest {
            url: self.url.clone(),
            headers,
            body: common::to_json_bytes(&body)?,
            secret: key,
        })
    }

    fn parse_response(&self, body: &[u8]) -> Result<Completion, Error> {
        let v = common::parse_json(body)?;
        if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
            let msg = err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("the provider returned an error object");
            return Err(Error::new(ErrorKind::Server, msg.to_owned()));
        }
        let choice = v
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|c| c.first())
            .ok_or_else(|| Error::bad_response("the answer has no choices"))?;
        let message = choice
            .get("message")
            .ok_or_else(|| Error::bad_response("the first choice has no message"))?;
        let content = match message.get("content") {
            Some(Value::String(s)) => s.clone(),
            // Tool calls and refusals answer with a null content.
            Some(Value::Null) | None => String::new(),
            Some(Value::Array(parts)) => parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect(),
            Some(_) => return Err(Error::bad_response("message.content is not text")),
        };
        Ok(Completion {
            content,
            model: v.get("model").and_then(Value::as_str).map(str::to_owned),
            finish_reason: choice
                .get("finish_reason")
                .and_then(Value::as_str)
                .map(str::to_owned),
            usage: v.get("usage").map(usage).unwrap_or_default(),
        })
    }

    fn stream_parser(&self) -> Box<dyn super::StreamParser> {
        super::stream::openai_parser()
    }
}

/// OpenAI's usage object, also sent as the last chunk of a stream.
pub fn usage(u: &Value) -> Usage {
    let input = common::u64_at(u, &["prompt_tokens"]);
    let output = common::u64_at(u, &["completion_tokens"]);
    Usage {
        input_tokens: input,
        output_tokens: output,
        total_tokens: common::u64_at(u, &["total_tokens"]).or(match (input, output) {
            (Some(i), Some(o)) => Some(i + o),
            _ => None,
        }),
        cached_input_tokens: common::u64_at(u, &["prompt_tokens_details", "cached_tokens"]),
    }
}
