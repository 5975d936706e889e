//! `google-ai`: the Gemini API (`generativelanguage.googleapis.com`).
//!
//! `POST {base_url}/models/{model}:generateContent`, or
//! `:streamGenerateContent?alt=sse` for streams, with the key in the
//! `x-goog-api-key` header (never in the URL, where logs would keep it).
//! BAML's defaults: base URL `https://generativelanguage.googleapis.com/v1beta`,
//! model `gemini-2.5-flash`, key from `GOOGLE_API_KEY`. A call's `model`
//! changes the URL.

use http::header::{HeaderMap, HeaderName};
use serde_json::{Map, Value};

use super::options::{url_with_query, ClientOptions};
use super::spec::{ProviderSpec, SpecKind};
use super::{google, AnswerReader, Attempt, Completion, Provider};
use crate::auth::{Authorization, KeySource};
use crate::error::Error;
use crate::framing::Framing;
use crate::generation::{self, Limits};
use crate::secret::Secrets;
use crate::wire::{CallInput, HttpRequest, ResponseHead};

/// BAML's default model for `google-ai`.
const DEFAULT_MODEL: &str = "gemini-2.5-flash";

pub(super) const GOOGLE_AI: ProviderSpec = ProviderSpec {
    name: "google-ai",
    aliases: &[],
    kind: SpecKind::Leaf(GoogleAi::build),
    default_base_url: Some("https://generativelanguage.googleapis.com/v1beta"),
    api_key_env: Some("GOOGLE_API_KEY"),
    routing_options: &[],
    prompt_fields: google::PROMPT_FIELDS,
    media_defaults: crate::media::GOOGLE_AI_DEFAULTS,
};

#[derive(Debug)]
pub struct GoogleAi {
    base_url: String,
    model: String,
    query_params: Vec<(String, String)>,
    authorization: Authorization,
    headers: HeaderMap,
    secrets: Secrets,
    body: Map<String, Value>,
}

impl GoogleAi {
    fn build(o: &ClientOptions) -> Result<Box<dyn Provider>, Error> {
        let model = o.options().str("model")?.unwrap_or(DEFAULT_MODEL);
        google::model_id(model).map_err(|e| Error::config(format!("{}: {e}", o.ctx)))?;
        let authorization = Authorization::Header {
            name: HeaderName::from_static("x-goog-api-key"),
            prefix: "",
            key: o.api_key()?.unwrap_or(KeySource::Env("GOOGLE_API_KEY")),
        };
        Ok(Box::new(GoogleAi {
            base_url: o.base_url()?,
            model: model.to_owned(),
            query_params: o.query_params.clone(),
            authorization,
            headers: o.headers.clone(),
            secrets: o.secrets.clone(),
            body: o.body.clone(),
        }))
    }
}

impl Provider for GoogleAi {
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

impl GoogleAi {
    fn build_request(&self, input: &CallInput<'_>) -> Result<HttpRequest, Error> {
        let model = match input.options.get("model") {
            Some(Value::String(m)) => m.as_str(),
            _ => self.model.as_str(),
        };
        let model = google::model_id(model).map_err(Error::invalid_request)?;
        let method = match input.stream {
            true => "streamGenerateContent",
            false => "generateContent",
        };
        let alt = if input.stream { "?alt=sse" } else { "" };
        let url = url_with_query(
            &self.base_url,
            &format!("/models/{model}:{method}{alt}"),
            &self.query_params,
        )
        .ok_or_else(|| Error::config("cannot build a URL from base_url"))?;
        let body = google::request_body(&self.body, input)?;
        Ok(HttpRequest::post_json(url, &body)?.with_client_headers(&self.headers, &self.secrets))
    }
}

impl AnswerReader for GoogleAi {
    fn limits(&self) -> &'static Limits {
        &generation::GEMINI
    }

    fn framing(&self) -> Framing {
        Framing::SseBareLines
    }

    fn parse_response(&self, _head: &ResponseHead, body: &[u8]) -> Result<Completion, Error> {
        google::parse_response(body)
    }

    fn parse_error(&self, head: &ResponseHead, body: &[u8]) -> Error {
        google::parse_error(head, body)
    }

    fn stream_parser(&self) -> Box<dyn super::StreamParser> {
        Box::<super::google_stream::GeminiStream>::default()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::providers::golden::{conversation, sent};

    #[test]
    fn google_ai_golden_request() {
        let s = sent(
            "google-ai",
            json!({"api_key": "AIza-test", "temperature": 0.5, "safetySettings": [{"category": "c"}],
                   "headers": {"x-trace": "t1"}, "query_params": {"a": "b"}}),
            conversation(),
            json!({"max_tokens": 7, "model": "gemini-2.5-pro"}),
            true,
        );
        assert_eq!(s.method, "POST");
        assert_eq!(
            s.url,
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse&a=b"
        );
        assert_eq!(
            s.headers,
            [
                ("content-type", "application/json"),
                ("x-trace", "t1"),
                ("x-goog-api-key", "AIza-test"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        assert_eq!(
            s.body,
            json!({
                "safetySettings": [{"category": "c"}],
                "generationConfig": {"temperature": 0.5, "maxOutputTokens": 7},
                "systemInstruction": {"parts": [{"text": "Be brief."}]},
                "contents": [
                    {"role": "user", "parts": [
                        {"text": "What is this?"},
                        {"inlineData": {"mimeType": "image/png", "data": "iVBO"}}
                    ]},
                    {"role": "model", "parts": [{"text": "A logo."}]},
                    {"role": "user", "parts": [{"text": "Whose?"}]}
                ]
            })
        );
    }

    #[test]
    fn defaults_plain_calls_and_file_uris() {
        let s = sent(
            "google-ai",
            json!({"api_key": "k-test", "base_url": "http://h:1/v1beta/"}),
            json!([{"role": "user", "content": [
                {"type": "image_url", "image_url": "https://x.example/cat.JPG?s=1"},
                {"type": "image_url", "image_url": "gs://b/doc"}
            ]}]),
            json!({}),
            false,
        );
        assert_eq!(
            s.url,
            "http://h:1/v1beta/models/gemini-2.5-flash:generateContent"
        );
        assert_eq!(
            s.body,
            json!({"contents": [{"role": "user", "parts": [
                {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://x.example/cat.JPG?s=1"}},
                {"fileData": {"fileUri": "gs://b/doc"}}
            ]}]})
        );
    }
}
