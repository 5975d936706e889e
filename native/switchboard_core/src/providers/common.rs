//! Options every HTTP provider shares, and helpers for JSON bodies.

use std::fmt;

use serde_json::{Map, Value};

use crate::config::options::Options;
use crate::engine::http::HttpSettings;
use crate::error::{Error, ErrorKind};

/// Where a client's API key comes from. The value itself never reaches
/// `Debug` output.
#[derive(Clone, PartialEq)]
pub enum ApiKey {
    None,
    Literal(String),
    /// Read from the environment when the call is made.
    Env(String),
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiKey::None => f.write_str("None"),
            ApiKey::Literal(_) => f.write_str("Literal([REDACTED])"),
            ApiKey::Env(var) => write!(f, "Env({var})"),
        }
    }
}

impl ApiKey {
    /// The key, or an `:auth` error naming the missing variable.
    pub fn resolve(&self) -> Result<Option<String>, Error> {
        match self {
            ApiKey::None => Ok(None),
            ApiKey::Literal(k) => Ok(Some(k.clone())),
            ApiKey::Env(var) => match crate::env::var(var) {
                Some(k) => Ok(Some(k)),
                None => Err(Error::new(
                    ErrorKind::Auth,
                    format!("no API key: the environment variable {var} is not set"),
                )),
            },
        }
    }
}

/// Options of a leaf client that are not sent in the body.
const NON_BODY_OPTIONS: &[&str] = &[
    "api_key",
    "base_url",
    "headers",
    "query_params",
    "http",
    "finish_reason_allow_list",
    "finish_reason_deny_list",
    "allowed_role_metadata",
    "default_role",
    "supports_streaming",
    "resource_name",
    "deployment_id",
    "api_version",
    "allowed_roles",
    "remap_roles",
    "client_response_type",
    "media_url_handler",
];

/// The validated options of one leaf client.
#[derive(Debug, Clone)]
pub struct LeafOptions {
    /// Names the owner in errors: `client "Primary"`.
    pub ctx: String,
    pub raw: Map<String, Value>,
    pub http: HttpSettings,
    pub headers: Vec<(String, String)>,
    pub query_params: Vec<(String, String)>,
    pub finish_reason_allow_list: Option<Vec<String>>,
    pub finish_reason_deny_list: Option<Vec<String>>,
    /// Everything that is not a known non-body option, sent as is.
    pub body: Map<String, Value>,
}

impl LeafOptions {
    pub fn parse(ctx: String, raw: &Map<String, Value>) -> Result<Self, Error> {
        let o = Options::new(&ctx, raw);
        // Type-check what we read ourselves, and the body options whose type
        // every provider agrees on, so a typo fails at registry build time.
        o.str("api_key")?;
        o.str("base_url")?;
        o.str("default_role")?;
        o.bool("supports_streaming")?;
        o.str("model")?;
        o.f64("temperature")?;
        o.f64("top_p")?;
        o.u64("max_tokens")?;
        if raw.get("stream").is_some_and(|v| !v.is_null()) {
            return Err(Error::config(format!(
                "{ctx}: option \"stream\" is set by switchboard; use Switchboard.stream/3 instead"
            )));
        }
        let http = HttpSettings::parse(&ctx, o.map("http")?)?;
        let headers = o.string_map("headers")?;
        for (name, value) in &headers {
            let valid_name = reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_ok();
            let valid_value = reqwest::header::HeaderValue::from_str(value).is_ok();
            if !valid_name || !valid_value {
                return Err(Error::config(format!(
                    "{ctx}: option \"headers\" has an invalid header {name:?}"
                )));
            }
        }
        let body = raw
            .iter()
            .filter(|(k, v)| !NON_BODY_OPTIONS.contains(&k.as_str()) && !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(LeafOptions {
            http,
            headers,
            query_params: o.string_map("query_params")?,
            finish_reason_allow_list: o.string_list("finish_reason_allow_list")?,
            finish_reason_deny_list: o.string_list("finish_reason_deny_list")?,
            body,
            raw: raw.clone(),
            ctx,
        })
    }

    pub fn options(&self) -> Options<'_> {
        Options::new(&self.ctx, &self.raw)
    }

    /// `api_key` if given, else the provider's environment variable.
    pub fn api_key(&self, default_env: Option<&str>) -> Result<ApiKey, Error> {
        Ok(match (self.options().str("api_key")?, default_env) {
            (Some(key), _) => ApiKey::Literal(key.to_owned()),
            (None, Some(var)) => ApiKey::Env(var.to_owned()),
            (None, None) => ApiKey::None,
        })
    }

    pub fn base_url(&self, default: Option<&str>) -> Result<String, Error> {
        let url = match (self.options().str("base_url")?, default) {
            (Some(url), _) => url,
            (None, Some(url)) => url,
            (None, None) => self.options().required_str("base_url")?,
        };
        let parsed = reqwest::Url::parse(url).map_err(|_| {
            Error::config(format!(
                "{}: option \"base_url\" is not a valid URL",
                self.ctx
            ))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::config(format!(
                "{}: option \"base_url\" must be an http or https URL",
                self.ctx
            )));
        }
        Ok(url.trim_end_matches('/').to_owned())
    }

    /// The URL with `query_params` appended.
    pub fn url_with_query(&self, url: String) -> String {
        if self.query_params.is_empty() {
            return url;
        }
        let mut parsed = match reqwest::Url::parse(&url) {
            Ok(u) => u,
            Err(_) => return url,
        };
        parsed.query_pairs_mut().extend_pairs(
            self.query_params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        parsed.into()
    }
}

/// The body: client options, then `messages`-like fields the provider sets,
/// then the per-call overrides, which win.
pub fn merge_body(
    base: &Map<String, Value>,
    provider_fields: Map<String, Value>,
    overrides: &Map<String, Value>,
) -> Map<String, Value> {
    let mut body = base.clone();
    body.extend(provider_fields);
    body.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
    body
}

pub fn to_json_bytes(body: &Map<String, Value>) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(body).map_err(|e| Error::invalid_request(format!("cannot encode body: {e}")))
}

pub fn parse_json(body: &[u8]) -> Result<Value, Error> {
    serde_json::from_slice(body)
        .map_err(|e| Error::bad_response(format!("the provider's answer is not valid JSON: {e}")))
}

/// The human message of a provider error body, in any of the usual shapes:
/// `{"error": {"message": ...}}`, `{"error": "..."}`, `{"message": ...}`.
pub fn error_message(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let msg = match v.get("error") {
        Some(Value::Object(e)) => e.get("message").and_then(Value::as_str),
        Some(Value::String(s)) => Some(s.as_str()),
        _ => v.get("message").and_then(Value::as_str),
    }?;
    Some(msg.chars().take(2000).collect())
}

pub fn u64_at(v: &Value, path: &[&str]) -> Option<u64> {
    path.iter()
        .try_fold(v, |acc, key| acc.get(key))
        .and_then(Value::as_u64)
}
