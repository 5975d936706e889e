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
//!
//! # Target first, then request and reader
//!
//! Each attempt resolves its target before anything is built: the model
//! (the call's `model`, else the client's) and from its name the family,
//! Claude or Gemini, which picks the URL, the body and the reader of the
//! answer ([`ClaudeOnVertex`] or [`GeminiOnVertex`]); nothing is told
//! from the answer's shape. The project is resolved first too. When the
//! `project_id` option or the configured credential names it, that needs
//! no I/O. Otherwise only the credential found at the first call (or the
//! metadata server, or `GOOGLE_CLOUD_PROJECT`) can say, which is I/O, so
//! the attempt's request is built after an asynchronous step
//! ([`GoogleAuth::resolve_project`]) that runs inside the attempt like
//! authorization does: cancelled with the call, bounded by its timeouts,
//! an `:auth` attempt when it fails. No URL is built with a placeholder.

use std::borrow::Cow;
use std::sync::Arc;

use http::header::{HeaderMap, AUTHORIZATION};
use serde_json::{json, Map, Value};

use super::options::{merge_body, ClientOptions};
use super::spec::{ProviderSpec, SpecKind};
use super::{
    anthropic, google, AnswerReader, Attempt, AttemptRequest, Completion, Provider, StreamParser,
};
use crate::auth::google::{check_project, credentials, Credential, GoogleAuth, TokenSource};
use crate::auth::{Authorization, KeySource};
use crate::error::{Error, ErrorKind};
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
    media_defaults: crate::media::VERTEX_DEFAULTS,
};

#[derive(Debug)]
pub struct Vertex {
    /// Up to and including `/v1`.
    base_url: String,
    location: String,
    /// `None` until the credentials say.
    project: Option<String>,
    model: String,
    /// The client's own model's family: its default reader.
    family: Family,
    anthropic_version: String,
    query_params: Vec<(String, String)>,
    authorization: Authorization,
    /// The OAuth authorizer: it resolves a project no option names.
    oauth: Option<Arc<GoogleAuth>>,
    headers: HeaderMap,
    secrets: Secrets,
    body: Map<String, Value>,
    claude: ClaudeOnVertex,
    gemini: GeminiOnVertex,
}

impl Vertex {
    fn build(o: &ClientOptions) -> Result<Box<dyn Provider>, Error> {
        let opts = o.options();
        let config = |e: String| Error::config(format!("{}: {e}", o.ctx));
        let model = opts.required_str("model")?;
        let family = Family::of(google::model_id(model).map_err(config)?);
        // Other providers' key option: taken and ignored, the key would
        // sit unused while the call authenticates some other way.
        if opts.str("api_key")?.is_some() {
            return Err(config(
                "vertex-ai takes no \"api_key\": an API key (Express mode) goes in \
                 query_params: %{key: ...}; a service account in \"credentials\""
                    .into(),
            ));
        }
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
                // BAML prefers credentials over a key; taking the key and
                // ignoring the credentials would be a silent choice.
                for other in ["credentials", "credentials_content"] {
                    if o.raw.get(other).is_some_and(|v| !v.is_null()) {
                        return Err(config(format!(
                            "set an API key (query_params key, Express mode) or {other:?}, \
                             not both: both say how to authenticate"
                        )));
                    }
                }
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
            family,
            anthropic_version: opts
                .str("anthropic_version")?
                .unwrap_or(DEFAULT_ANTHROPIC_VERSION)
                .to_owned(),
            query_params,
            authorization,
            claude: ClaudeOnVertex {
                oauth: oauth.clone(),
            },
            gemini: GeminiOnVertex {
                oauth: oauth.clone(),
            },
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

/// The model family a request is for, told by the model's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Claude,
    Gemini,
}

impl Family {
    fn of(model_id: &str) -> Self {
        match model_id.starts_with("claude") {
            true => Family::Claude,
            false => Family::Gemini,
        }
    }
}

/// Whether a client's `model` (as written, `models/` prefix and all) is a
/// Claude model on Vertex: one test for the request's family and the
/// media defaults.
pub(crate) fn is_claude_model(model: &str) -> bool {
    google::model_id(model).is_ok_and(|id| Family::of(id) == Family::Claude)
}

/// What one attempt is for, resolved before its request is built.
struct Target<'a> {
    /// The model ID, checked for use in a URL path.
    model: &'a str,
    family: Family,
}

impl Vertex {
    /// The call's `model`, else the client's, and its family.
    fn target<'a>(&'a self, options: &'a Map<String, Value>) -> Result<Target<'a>, Error> {
        let model = match options.get("model") {
            Some(Value::String(m)) => m.as_str(),
            _ => self.model.as_str(),
        };
        let model = google::model_id(model).map_err(Error::invalid_request)?;
        Ok(Target {
            model,
            family: Family::of(model),
        })
    }

    fn reader(&self, family: Family) -> &dyn AnswerReader {
        match family {
            Family::Claude => &self.claude,
            Family::Gemini => &self.gemini,
        }
    }

    fn url(&self, target: &Target<'_>, project: &str, stream: bool) -> Result<url::Url, Error> {
        let (publisher, method) = match (target.family, stream) {
            (Family::Gemini, false) => ("google", "generateContent"),
            (Family::Gemini, true) => ("google", "streamGenerateContent"),
            (Family::Claude, false) => ("anthropic", "rawPredict"),
            (Family::Claude, true) => ("anthropic", "streamRawPredict"),
        };
        let mut url = url::Url::parse(&format!(
            "{}/projects/{project}/locations/{}/publishers/{publisher}/models/{}:{method}",
            self.base_url, self.location, target.model
        ))
        .map_err(|_| Error::config("cannot build a URL from base_url"))?;
        {
            let mut query = url.query_pairs_mut();
            if stream && target.family == Family::Gemini {
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

    fn build_request(
        &self,
        target: &Target<'_>,
        project: &str,
        input: &CallInput<'_>,
    ) -> Result<HttpRequest, Error> {
        let body = match target.family {
            Family::Claude => self.claude_body(input)?,
            Family::Gemini => google::request_body(&self.body, input)?,
        };
        Ok(
            HttpRequest::post_json(self.url(target, project, input.stream)?, &body)?
                .with_client_headers(&self.headers, &self.secrets),
        )
    }

    /// An Anthropic Messages body without `model` (the URL names it) and
    /// with `anthropic_version`.
    fn claude_body(&self, input: &CallInput<'_>) -> Result<Map<String, Value>, Error> {
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
        Ok(body)
    }
}

impl Provider for Vertex {
    fn prepare<'a>(&'a self, input: &'a CallInput<'a>) -> Result<Attempt<'a>, Error> {
        let target = self.target(input.options)?;
        let reader = self.reader(target.family);
        let request = match (&self.project, &self.oauth) {
            (Some(project), _) => {
                AttemptRequest::Ready(self.build_request(&target, project, input)?)
            }
            // A token set in `headers:` wins over OAuth: no credential to
            // ask for the project.
            (None, _) if self.headers.contains_key(AUTHORIZATION) => {
                return Err(Error::new(
                    ErrorKind::Auth,
                    "vertex-ai with an authorization header needs the project_id option",
                ))
            }
            (None, Some(oauth)) => AttemptRequest::Resolving(Box::pin(async move {
                let project = oauth.resolve_project().await?;
                self.build_request(&target, &project, input)
            })),
            // Express mode requires `project_id` when the client is built.
            (None, None) => return Err(Error::config("vertex-ai needs the project_id option")),
        };
        Ok(Attempt { reader, request })
    }

    fn authorization(&self) -> &Authorization {
        &self.authorization
    }

    fn default_reader(&self) -> &dyn AnswerReader {
        self.reader(self.family)
    }
}

/// The reader of Claude's answers on Vertex: Anthropic's Messages answers
/// and events, framed as Vertex frames its streams.
#[derive(Debug)]
pub struct ClaudeOnVertex {
    oauth: Option<Arc<GoogleAuth>>,
}

/// The reader of Gemini's answers on Vertex.
#[derive(Debug)]
pub struct GeminiOnVertex {
    oauth: Option<Arc<GoogleAuth>>,
}

/// A rejected OAuth token is forgotten, whichever model rejected it, so the
/// next attempt of every client sharing it fetches a new one.
fn forget_rejected_token(oauth: &Option<Arc<GoogleAuth>>, head: &ResponseHead) {
    if head.status == 401 {
        if let Some(oauth) = oauth {
            oauth.invalidate();
        }
    }
}

impl AnswerReader for ClaudeOnVertex {
    fn limits(&self) -> &'static Limits {
        &generation::ANTHROPIC
    }

    fn framing(&self) -> Framing {
        Framing::SseBareLines
    }

    fn parse_response(&self, _head: &ResponseHead, body: &[u8]) -> Result<Completion, Error> {
        anthropic::parse_message(body)
    }

    /// Vertex's front end answers in Google's error shape for every model
    /// (quota, permissions, an unknown model); what gets past it to Claude
    /// fails in Anthropic's. Both are Claude-on-Vertex errors, read here;
    /// anything else is told by its status.
    fn parse_error(&self, head: &ResponseHead, body: &[u8]) -> Error {
        forget_rejected_token(&self.oauth, head);
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        match parsed.as_ref().filter(|v| google_shaped(v)) {
            Some(_) => google::parse_error(head, body),
            None => anthropic::parse_error_body(head.status, body),
        }
    }

    fn stream_parser(&self) -> Box<dyn StreamParser> {
        super::stream::anthropic_parser()
    }
}

impl AnswerReader for GeminiOnVertex {
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
        forget_rejected_token(&self.oauth, head);
        google::parse_error(head, body)
    }

    fn stream_parser(&self) -> Box<dyn StreamParser> {
        super::stream::gemini_parser()
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
            (
                json!({"model": "m", "location": "global", "project_id": "p", "api_key": "k"}),
                "takes no \"api_key\"",
            ),
            (
                json!({"model": "m", "location": "global", "project_id": "p",
                       "query_params": {"key": "k"}, "credentials_content": "{}"}),
                "not both",
            ),
        ] {
            let e = build(options.clone());
            assert_eq!(e.kind, crate::error::ErrorKind::Config, "{options}");
            assert!(e.message.contains(says), "{options}: {}", e.message);
        }
    }

    /// Runs `read` on the reader an attempt with the call's options `call`
    /// picks, on a Gemini client.
    fn with_reader<T>(
        call: serde_json::Value,
        read: impl FnOnce(&dyn crate::providers::AnswerReader, &str) -> T,
    ) -> T {
        let p = crate::providers::golden::provider(
            "vertex-ai",
            with_token(json!({"model": "gemini-2.5-flash", "location": "us-east5",
                              "project_id": "p"})),
        );
        let messages = [crate::prompt::Message::user("hi")];
        let call = call.as_object().cloned().unwrap_or_default();
        let input = crate::wire::CallInput::plain(&messages, &call, false);
        let attempt = p.prepare(&input).expect("prepared");
        let url = match &attempt.request {
            crate::providers::AttemptRequest::Ready(r) => r.url.to_string(),
            crate::providers::AttemptRequest::Resolving(_) => panic!("project is known"),
        };
        read(attempt.reader, &url)
    }

    fn head(status: u16) -> crate::wire::ResponseHead {
        crate::wire::ResponseHead {
            status,
            headers: http::header::HeaderMap::new(),
        }
    }

    const CLAUDE: &str = "claude-sonnet-4@20250514";
    const CLAUDE_ANSWER: &str = r#"{"type":"message","model":"claude-x","content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}"#;
    const GEMINI_ANSWER: &str =
        r#"{"candidates":[{"content":{"parts":[{"text":"Yo"}]},"finishReason":"STOP"}]}"#;

    #[test]
    fn a_per_call_model_picks_its_family_reader_and_limits() {
        let gemini = with_reader(json!({}), |r, url| {
            assert!(url.contains("/publishers/google/"), "{url}");
            (
                r.limits().dialect,
                r.parse_response(&head(200), GEMINI_ANSWER.as_bytes()),
            )
        });
        assert_eq!(gemini.0, "Gemini");
        assert_eq!(gemini.1.expect("a Gemini answer").content, "Yo");
        let claude = with_reader(json!({"model": CLAUDE}), |r, url| {
            assert!(url.contains("/publishers/anthropic/"), "{url}");
            (
                r.limits().dialect,
                r.parse_response(&head(200), CLAUDE_ANSWER.as_bytes()),
            )
        });
        assert_eq!(claude.0, "Anthropic Messages");
        assert_eq!(claude.1.expect("a Claude answer").content, "Hi");
    }

    /// The reader comes from the request, never from the answer's shape:
    /// an answer in the other family's format is not read as that family.
    #[test]
    fn an_answer_is_read_in_the_dialect_of_its_request() {
        let e = with_reader(json!({"model": CLAUDE}), |r, _| {
            r.parse_response(&head(200), GEMINI_ANSWER.as_bytes())
                .expect_err("a Gemini answer to a Claude request")
        });
        assert_eq!(e.kind, crate::error::ErrorKind::BadResponse);
        let e = with_reader(json!({}), |r, _| {
            r.parse_response(&head(200), CLAUDE_ANSWER.as_bytes())
                .expect_err("a Claude answer to a Gemini request")
        });
        assert_eq!(e.kind, crate::error::ErrorKind::BadResponse);
        // Streams too: Claude's events feed the Anthropic reader.
        let text = with_reader(json!({"model": CLAUDE}), |r, _| {
            let mut parser = r.stream_parser();
            let mut out = crate::wire::Deltas::default();
            let event = |data: &str| {
                crate::framing::Frame::Sse(crate::framing::sse::SseEvent {
                    data: data.to_owned(),
                    ..Default::default()
                })
            };
            for data in [
                r#"{"type":"message_start","message":{"model":"claude-x","usage":{"input_tokens":2}}}"#,
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#,
                r#"{"type":"message_stop"}"#,
            ] {
                parser
                    .frame(&event(data), &mut out)
                    .expect("an Anthropic event");
            }
            assert!(parser.is_done());
            out.text
        });
        assert_eq!(text, "Hi");
    }

    /// Vertex's front end answers Claude requests in Google's error shape
    /// (quota, permissions, unknown model); Claude itself in Anthropic's.
    /// The Claude reader reads both; the Gemini reader reads Google's.
    #[test]
    fn claude_on_vertex_reads_the_front_ends_errors_and_claudes() {
        let google =
            r#"{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","message":"Quota exceeded"}}"#;
        let anthropic =
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        let (front_end, model) = with_reader(json!({"model": CLAUDE}), |r, _| {
            (
                r.parse_error(&head(429), google.as_bytes()),
                r.parse_error(&head(529), anthropic.as_bytes()),
            )
        });
        assert_eq!(front_end.kind, crate::error::ErrorKind::RateLimited);
        assert_eq!(front_end.message, "RESOURCE_EXHAUSTED: Quota exceeded");
        assert_eq!(model.kind, crate::error::ErrorKind::Overloaded);
        assert_eq!(model.message, "Overloaded");
        let gemini = with_reader(json!({}), |r, _| {
            r.parse_error(&head(429), google.as_bytes())
        });
        assert_eq!(gemini.kind, crate::error::ErrorKind::RateLimited);
        assert_eq!(gemini.message, "RESOURCE_EXHAUSTED: Quota exceeded");
    }

    #[test]
    fn a_token_header_without_a_project_id_is_an_auth_attempt_error() {
        let p = crate::providers::golden::provider(
            "vertex-ai",
            with_token(json!({"model": "gemini-2.5-flash", "location": "us-east5"})),
        );
        let messages = [crate::prompt::Message::user("hi")];
        let call = serde_json::Map::new();
        let input = crate::wire::CallInput::plain(&messages, &call, false);
        let e = p.prepare(&input).err().expect("no project");
        assert_eq!(e.kind, crate::error::ErrorKind::Auth);
        assert!(e.message.contains("project_id"), "{}", e.message);
    }

    /// A project only the credential found at the call can name is
    /// resolved before the request is built: no placeholder URL.
    #[test]
    fn a_project_no_option_names_is_resolved_before_the_request_is_built() {
        let p = crate::providers::golden::provider(
            "vertex-ai",
            json!({"model": "gemini-2.5-flash", "location": "us-east5",
                   "credentials": {"type": "authorized_user", "client_id": "c",
                                   "client_secret": "s", "refresh_token": "r"}}),
        );
        let messages = [crate::prompt::Message::user("hi")];
        let call = serde_json::Map::new();
        let input = crate::wire::CallInput::plain(&messages, &call, false);
        let attempt = p.prepare(&input).expect("prepared");
        assert_eq!(attempt.reader.limits().dialect, "Gemini");
        assert!(matches!(
            attempt.request,
            crate::providers::AttemptRequest::Resolving(_)
        ));
    }
}
