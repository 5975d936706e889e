//! `vertex-ai`: Gemini and Claude on Google Cloud's Vertex AI.
//!
//! `{base}/projects/{project_id}/locations/{location}/publishers/google/models/{model}:generateContent`
//! (`:streamGenerateContent?alt=sse` for streams), where `{base}` is
//! `https://{location}-aiplatform.googleapis.com/v1`, or
//! `https://aiplatform.googleapis.com/v1` for the `global` location, or the
//! `base_url` option. Models whose name starts with `claude` go to
//! `publishers/anthropic/models/{model}:rawPredict` (`:streamRawPredict`)
//! with an Anthropic Messages body that has no `model` and carries
//! `anthropic_version` (default `vertex-2023-10-16`).
//!
//! Credentials: `query_params: %{key: ...}` is Express mode (the key is sent
//! as `?key=`, redacted like any key, and `project_id` must be given);
//! otherwise OAuth through [`GoogleAuth`], which finds the credentials (the
//! `credentials` option first) and gives the project when `project_id` is
//! not set; its tokens are shared by every client of the registry with the
//! same credential ([`TokenSource`]).

use std::borrow::Cow;
use std::sync::Arc;

use reqwest::header::HeaderMap;
use serde_json::{json, Map, Value};

use super::options::{merge_body, ClientOptions};
use super::spec::{ProviderSpec, SpecKind};
use super::{anthropic, google, Completion, Provider};
use crate::auth::google::{
    check_project, credentials, Credential, GoogleAuth, TokenSource, PROJECT_PENDING,
};
use crate::auth::{Authorization, KeySource};
use crate::error::Error;
use crate::framing::Framing;
use crate::generation::{self, Limits};
use crate::secret::{Secret, Secrets};
use crate::wire::{CallInput, HttpRequest, ResponseHead};

/// The `anthropic_version` Claude on Vertex requires.
const DEFAULT_ANTHROPIC_VERSION: &str = "vertex-2023-10-16";

pub(super) const VERTEX_AI: ProviderSpec = ProviderSpec {
    name: "vertex-ai",
    aliases: &[],
    kind: SpecKind::Leaf(Vertex::build),
    default_base_url: None,
    api_key_env: None,
    routing_options: &[
        "location",
        "project_id",
        "credentials",
        "credentials_content",
        "anthropic_version",
    ],
    prompt_fields: &[
        "contents",
        "systemInstruction",
        "system_instruction",
        "messages",
        "system",
    ],
};

#[derive(Debug)]
pub struct Vertex {
    /// Up to and including `/v1`.
    base_url: String,
    location: String,
    /// `None` until the credentials say.
    project: Option<String>,
    model: String,
    anthropic_version: String,
    query_params: Vec<(String, String)>,
    authorization: Authorization,
    /// The OAuth authorizer, to drop its token when the API rejects it.
    oauth: Option<Arc<GoogleAuth>>,
    headers: HeaderMap,
    secrets: Secrets,
    body: Map<String, Value>,
}

impl Vertex {
    fn build(o: &ClientOptions) -> Result<Box<dyn Provider>, Error> {
        let opts = o.options();
        let config = |e: String| Error::config(format!("{}: {e}", o.ctx));
        let model = opts.required_str("model")?;
        google::model_id(model).map_err(config)?;
        let location = opts.required_str("location")?;
        if !location
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(config(
                "option \"location\" may only hold lowercase letters, digits and '-' (e.g. us-central1, global)".into(),
            ));
        }
        let base_url = match opts.str("base_url")? {
            Some(_) => o.base_url()?,
            None if location == "global" => "https://aiplatform.googleapis.com/v1".to_owned(),
            None => format!("https://{location}-aiplatform.googleapis.com/v1"),
        };
        let mut project = opts.str("project_id")?.map(str::to_owned);
        if let Some(p) = &project {
            check_project(p).map_err(config)?;
        }
        let (query_params, express_key): (Vec<_>, Vec<_>) = o
            .query_params
            .iter()
            .cloned()
            .partition(|(k, _)| k != "key");
        let (authorization, oauth) = match express_key.into_iter().next() {
            Some((_, key)) => {
                if project.is_none() {
                    return Err(config(
                        "option \"project_id\" is required with an API key (query_params key, \
                         Express mode): it cannot be read from a key"
                            .into(),
                    ));
                }
                let key = KeySource::Literal(Secret::new(key));
                (Authorization::Query { name: "key", key }, None)
            }
            None => {
                let configured = configured_credential(o)?;
                if project.is_none() {
                    project = configured
                        .as_ref()
                        .and_then(Credential::project_id)
                        .map(str::to_owned);
                }
                let quota_project = configured
                    .as_ref()
                    .and_then(Credential::quota_project_id)
                    .map(str::to_owned);
                let tokens = TokenSource::shared(&o.credentials, configured);
                let auth = Arc::new(GoogleAuth::new(tokens, project.clone(), quota_project));
                (Authorization::Custom(auth.clone()), Some(auth))
            }
        };
        Ok(Box::new(Vertex {
            base_url,
            location: location.to_owned(),
            project,
            model: model.to_owned(),
            anthropic_version: opts
                .str("anthropic_version")?
                .unwrap_or(DEFAULT_ANTHROPIC_VERSION)
                .to_owned(),
            query_params,
            authorization,
            oauth,
            headers: o.headers.clone(),
            secrets: o.secrets.clone(),
            body: o.body.clone(),
        }))
    }
}

/// The `credentials` option (a file path, JSON text or a map, as BAML
/// takes it) or `credentials_content` (JSON text), read now so that a
/// wrong one fails when the registry is built.
fn configured_credential(o: &ClientOptions) -> Result<Option<Credential>, Error> {
    let wrong = |option: &str, why: String| {
        Error::config(format!("{}: option {option:?} is not usable: {why}", o.ctx))
    };
    if let Some(text) = o.options().str("credentials_content")? {
        return credentials::from_json(text)
            .map(Some)
            .map_err(|e| wrong("credentials_content", e));
    }
    match o.raw.get("credentials") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => credentials::from_map(map)
            .map(Some)
            .map_err(|e| wrong("credentials", e)),
        Some(Value::String(s)) if s.trim_start().starts_with('{') => credentials::from_json(s)
            .map(Some)
            .map_err(|e| wrong("credentials", e)),
        Some(Value::String(path)) => match credentials::read_file(std::path::Path::new(path)) {
            Ok(Some(c)) => Ok(Some(c)),
            Ok(None) => Err(wrong(
                "credentials",
                format!("the file {path:?} does not exist"),
            )),
            Err(e) => Err(wrong("credentials", format!("the file {path:?}: {e}"))),
        },
        Some(other) => Err(Error::config(format!(
            "{}: option \"credentials\" must be a file path, JSON text or a map, got {}",
            o.ctx,
            crate::value::type_name(other)
        ))),
    }
}

impl Vertex {
    fn url(&self, model: &str, claude: bool, stream: bool) -> Result<reqwest::Url, Error> {
        let project = self.project.as_deref().unwrap_or(PROJECT_PENDING);
        let (publisher, method) = match (claude, stream) {
            (false, false) => ("google", "generateContent"),
            (false, true) => ("google", "streamGenerateContent"),
            (true, false) => ("anthropic", "rawPredict"),
            (true, true) => ("anthropic", "streamRawPredict"),
        };
        let mut url = reqwest::Url::parse(&format!(
            "{}/projects/{project}/locations/{}/publishers/{publisher}/models/{model}:{method}",
            self.base_url, self.location
        ))
        .map_err(|_| Error::config("cannot build a URL from base_url"))?;
        {
            let mut query = url.query_pairs_mut();
            if stream && !claude {
                query.append_pair("alt", "sse");
            }
            query.extend_pairs(
                self.query_params
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            );
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        Ok(url)
    }
}

impl Provider for Vertex {
    /// Claude's limits for a Claude model, Gemini's for the rest.
    fn generation_limits(&self, options: &Map<String, Value>) -> &'static Limits {
        let model = match options.get("model") {
            Some(Value::String(m)) => m.as_str(),
            _ => self.model.as_str(),
        };
        match google::model_id(model) {
            Ok(id) if id.starts_with("claude") => &generation::ANTHROPIC,
            _ => &generation::GEMINI,
        }
    }

    fn build_request(&self, input: &CallInput<'_>) -> Result<HttpRequest, Error> {
        let model = match input.options.get("model") {
            Some(Value::String(m)) => m.as_str(),
            _ => self.model.as_str(),
        };
        let model = google::model_id(model).map_err(Error::invalid_request)?;
        let claude = model.starts_with("claude");
        let body = if claude {
            let mut fields = anthropic::prompt_fields(input)?;
            fields.insert("anthropic_version".into(), json!(self.anthropic_version));
            if input.stream {
                fields.insert("stream".into(), Value::Bool(true));
            }
            let without_model = |m: &Map<String, Value>| -> Map<String, Value> {
                m.iter()
                    .filter(|(k, _)| k.as_str() != "model")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            };
            let stop = |m: &Map<String, Value>| {
                generation::renamed_stop(Cow::Owned(without_model(m)), anthropic::STOP_SEQUENCES)
                    .into_owned()
            };
            let mut body = merge_body(&stop(&self.body), fields, &stop(input.options));
            body.entry("max_tokens")
                .or_insert(json!(anthropic::DEFAULT_MAX_TOKENS));
            anthropic::offer_output_tool_when_thinking(&mut body);
            body
        } else {
            google::request_body(&self.body, input)?
        };
        Ok(
            HttpRequest::post_json(self.url(model, claude, input.stream)?, &body)?
                .with_client_headers(&self.headers, &self.secrets),
        )
    }

    fn authorization(&self) -> &Authorization {
        &self.authorization
    }

    fn framing(&self) -> Framing {
        Framing::SseBareLines
    }

    /// Claude answers name their `type`; Gemini answers never do.
    fn parse_response(&self, _head: &ResponseHead, body: &[u8]) -> Result<Completion, Error> {
        let claude = serde_json::from_slice::<Value>(body)
            .ok()
            .is_some_and(|v| v.get("type").is_some_and(Value::is_string));
        match claude {
            true => anthropic::parse_message(body),
            false => google::parse_response(body),
        }
    }

    /// Google's error object, else Anthropic's (Claude on Vertex answers
    /// either), else the status. A rejected token is forgotten.
    fn parse_error(&self, head: &ResponseHead, body: &[u8]) -> Error {
        if head.status == 401 {
            if let Some(oauth) = &self.oauth {
                oauth.invalidate();
            }
        }
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        match parsed.as_ref().filter(|v| google_shaped(v)) {
            Some(_) => google::parse_error(head, body),
            None => anthropic::parse_error_body(head.status, body),
        }
    }

    fn stream_parser(&self) -> Box<dyn super::StreamParser> {
        Box::<super::google_stream::VertexStream>::default()
    }
}

/// Whether an error body is Google's (`{"error": {"code", "status", ...}}`),
/// not Anthropic's (`{"type": "error", "error": {"type", "message"}}`).
fn google_shaped(v: &Value) -> bool {
    let v = match v {
        Value::Array(items) => items.first(),
        other => Some(other),
    };
    v.and_then(|v| v.get("error"))
        .is_some_and(|e| e.get("status").is_some() || e.get("code").is_some())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::providers::golden::{conversation, sent};

    /// A token set in `headers:` wins over OAuth, so these requests are
    /// built without fetching one.
    fn with_token(mut options: serde_json::Value) -> serde_json::Value {
        options["headers"] = json!({"authorization": "Bearer ya29.test"});
        options
    }

    #[test]
    fn vertex_gemini_golden_request() {
        let s = sent(
            "vertex-ai",
            with_token(
                json!({"model": "gemini-2.5-flash", "location": "us-central1",
                              "project_id": "my-proj", "temperature": 0.1}),
            ),
            conversation(),
            json!({"max_tokens": 5}),
            true,
        );
        assert_eq!(
            s.url,
            "https://us-central1-aiplatform.googleapis.com/v1/projects/my-proj/locations/us-central1/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
        );
        assert_eq!(
            s.headers,
            [
                ("content-type", "application/json"),
                ("authorization", "Bearer ya29.test"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        assert_eq!(
            s.body,
            json!({
                "generationConfig": {"temperature": 0.1, "maxOutputTokens": 5},
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
    fn vertex_global_and_base_url() {
        let global = sent(
            "vertex-ai",
            with_token(
                json!({"model": "gemini-2.5-pro", "location": "global", "project_id": "p-1"}),
            ),
            json!("hi"),
            json!({}),
            false,
        );
        assert_eq!(
            global.url,
            "https://aiplatform.googleapis.com/v1/projects/p-1/locations/global/publishers/google/models/gemini-2.5-pro:generateContent"
        );
        let custom = sent(
            "vertex-ai",
            with_token(
                json!({"model": "gemini-2.5-pro", "location": "europe-west4",
                              "project_id": "p-1", "base_url": "http://proxy:8080/v1/"}),
            ),
            json!("hi"),
            json!({}),
            false,
        );
        assert_eq!(
            custom.url,
            "http://proxy:8080/v1/projects/p-1/locations/europe-west4/publishers/google/models/gemini-2.5-pro:generateContent"
        );
        assert_eq!(
            custom.body,
            json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
        );
    }

    #[test]
    fn vertex_claude_golden_request() {
        let s = sent(
            "vertex-ai",
            with_token(json!({"model": "gemini-2.5-flash", "location": "us-east5",
                              "project_id": "my-proj", "temperature": 0})),
            conversation(),
            json!({"model": "claude-sonnet-4@20250514"}),
            true,
        );
        assert_eq!(
            s.url,
            "https://us-east5-aiplatform.googleapis.com/v1/projects/my-proj/locations/us-east5/publishers/anthropic/models/claude-sonnet-4@20250514:streamRawPredict"
        );
        assert_eq!(
            s.body,
            json!({
                "anthropic_version": "vertex-2023-10-16", "max_tokens": 4096, "temperature": 0,
                "stream": true, "system": "Be brief.",
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
        let plain = sent(
            "vertex-ai",
            with_token(
                json!({"model": "claude-haiku-4-5@20251001", "location": "global",
                              "project_id": "my-proj", "anthropic_version": "vertex-2099-01-01",
                              "max_tokens": 100}),
            ),
            json!("hi"),
            json!({}),
            false,
        );
        assert!(plain
            .url
            .ends_with("/publishers/anthropic/models/claude-haiku-4-5@20251001:rawPredict"));
        assert_eq!(
            plain.body,
            json!({"anthropic_version": "vertex-2099-01-01", "max_tokens": 100,
                   "messages": [{"role": "user", "content": "hi"}]})
        );
    }

    #[test]
    fn vertex_express_mode_sends_the_key_as_a_query_parameter() {
        let s = sent(
            "vertex-ai",
            json!({"model": "gemini-2.5-flash", "location": "us-central1", "project_id": "my-proj",
                   "query_params": {"key": "AQ.express-key", "trace": "1"}}),
            json!("hi"),
            json!({}),
            true,
        );
        assert_eq!(
            s.url,
            "https://us-central1-aiplatform.googleapis.com/v1/projects/my-proj/locations/us-central1/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse&trace=1&key=AQ.express-key"
        );
        assert!(!s.headers.iter().any(|(k, _)| k == "authorization"));
    }

    #[test]
    fn vertex_options_are_checked_when_the_registry_is_built() {
        let build = |options: serde_json::Value| {
            let spec = crate::providers::spec::find("vertex-ai").unwrap();
            let parsed = crate::providers::ClientOptions::parse(
                spec,
                "client \"V\"".into(),
                options.as_object().unwrap(),
            )
            .unwrap();
            crate::providers::build(&parsed).unwrap_err()
        };
        for (options, says) in [
            (json!({"location": "us-central1"}), "\"model\""),
            (json!({"model": "gemini-2.5-flash"}), "\"location\""),
            (
                json!({"model": "gemini-2.5-flash", "location": "US Central"}),
                "location",
            ),
            (
                json!({"model": "m", "location": "global", "query_params": {"key": "k"}}),
                "project_id",
            ),
            (
                json!({"model": "m", "location": "global", "credentials": "/nonexistent.json"}),
                "does not exist",
            ),
            (
                json!({"model": "m", "location": "global", "credentials": {"type": "authorized_user"}}),
                "client_id",
            ),
            (
                json!({"model": "m", "location": "global", "credentials": 5}),
                "file path",
            ),
            (
                json!({"model": "m", "location": "global", "project_id": "a/b"}),
                "project ID",
            ),
        ] {
            let e = build(options.clone());
            assert_eq!(e.kind, crate::error::ErrorKind::Config, "{options}");
            assert!(e.message.contains(says), "{options}: {}", e.message);
        }
    }
}
