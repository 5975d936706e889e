//! OpenAI chat completions, as spoken by `openai`, `openai-generic`,
//! `azure-openai`, `ollama` and `openrouter`: the same wire format with
//! different defaults for the URL and the key.

use reqwest::header::HeaderName;
use reqwest::Url;
use serde_json::{json, Map, Value};

use super::common;
use super::options::{merge_body, ClientOptions};
use super::spec::{ProviderSpec, SpecKind};
use super::{Completion, Provider};
use crate::auth::Authorization;
use crate::error::{Error, ErrorKind};
use crate::prompt::{Content, Message, Part};
use crate::response::Usage;
use crate::wire::{CallInput, HttpRequest, ResponseHead};

const PROMPT_FIELDS: &[&str] = &["messages"];

pub(super) const OPENAI: ProviderSpec = ProviderSpec {
    name: "openai",
    aliases: &["baml-openai-chat"],
    kind: SpecKind::Leaf(OpenAiChat::build),
    default_base_url: Some("https://api.openai.com/v1"),
    api_key_env: Some("OPENAI_API_KEY"),
    routing_options: &[],
    prompt_fields: PROMPT_FIELDS,
};

pub(super) const OPENAI_GENERIC: ProviderSpec = ProviderSpec {
    name: "openai-generic",
    aliases: &[],
    default_base_url: None,
    api_key_env: None,
    ..OPENAI
};

pub(super) const AZURE_OPENAI: ProviderSpec = ProviderSpec {
    name: "azure-openai",
    aliases: &["baml-azure-chat"],
    default_base_url: None,
    api_key_env: Some("AZURE_OPENAI_API_KEY"),
    routing_options: &["resource_name", "deployment_id", "api_version"],
    ..OPENAI
};

pub(super) const OLLAMA: ProviderSpec = ProviderSpec {
    name: "ollama",
    aliases: &["baml-ollama-chat"],
    default_base_url: Some("http://localhost:11434/v1"),
    api_key_env: None,
    ..OPENAI
};

pub(super) const OPENROUTER: ProviderSpec = ProviderSpec {
    name: "openrouter",
    aliases: &[],
    default_base_url: Some("https://openrouter.ai/api/v1"),
    api_key_env: Some("OPENROUTER_API_KEY"),
    ..OPENAI
};

#[derive(Debug)]
pub struct OpenAiChat {
    url: Url,
    /// Whether to ask for a usage chunk at the end of a stream; not every
    /// OpenAI-compatible server accepts `stream_options`.
    stream_usage: bool,
    authorization: Authorization,
    headers: reqwest::header::HeaderMap,
    secrets: crate::secret::Secrets,
    body: Map<String, Value>,
}

impl OpenAiChat {
    fn build(o: &ClientOptions) -> Result<Box<dyn Provider>, Error> {
        let provider = o.spec.name;
        let opts = o.options();
        if matches!(provider, "openai" | "openrouter" | "ollama") {
            opts.required_str("model")?;
        }
        let base_url = match provider {
            "azure-openai" => azure_base_url(o)?,
            _ => o.base_url()?,
        };
        let mut url = o.url(&base_url, "/chat/completions")?;
        if provider == "azure-openai" {
            if let Some(version) = opts.str("api_version")? {
                url.query_pairs_mut().append_pair("api-version", version);
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
        let authorization = match (o.api_key()?, provider) {
            (None, _) => Authorization::None,
            (Some(key), "azure-openai") => Authorization::Header {
                name: HeaderName::from_static("api-key"),
                prefix: "",
                key,
            },
            (Some(key), _) => Authorization::bearer(key),
        };
        Ok(Box::new(OpenAiChat {
            url,
            stream_usage: provider != "openai-generic",
            authorization,
            headers: o.headers.clone(),
            secrets: o.secrets.clone(),
            body,
        }))
    }
}

fn azure_base_url(o: &ClientOptions) -> Result<String, Error> {
    let opts = o.options();
    if opts.str("base_url")?.is_some() {
        return o.base_url();
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

fn message_json(m: &Message) -> Value {
    let content = match &m.content {
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
                        "filename": "document.pdf", "file_data": d.data_url()
                    }}),
                })
                .collect(),
        ),
    };
    json!({"role": m.role.as_str(), "content": content})
}

impl Provider for OpenAiChat {
    fn build_request(&self, input: &CallInput<'_>) -> Result<HttpRequest, Error> {
        let mut fields = Map::new();
        fields.insert(
            "messages".into(),
            Value::Array(input.messages.iter().map(message_json).collect()),
        );
        if input.stream {
            fields.insert("stream".into(), Value::Bool(true));
            if self.stream_usage {
                fields.insert("stream_options".into(), json!({"include_usage": true}));
            }
        }
        let body = merge_body(&self.body, fields, input.options);
        Ok(HttpRequest::post_json(self.url.clone(), &body)?
            .with_client_headers(&self.headers, &self.secrets))
    }

    fn authorization(&self) -> &Authorization {
        &self.authorization
    }

    fn parse_response(&self, _head: &ResponseHead, body: &[u8]) -> Result<Completion, Error> {
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
            ..Completion::default()
        })
    }

    fn stream_parser(&self) -> Box<dyn super::StreamParser> {
        Box::<super::openai_stream::OpenAiStream>::default()
    }
}

/// OpenAI's usage object, also sent as the last chunk of a stream.
/// `prompt_tokens` already counts cached tokens.
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
