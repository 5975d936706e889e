//! The options every HTTP provider reads the same way: key, base URL,
//! headers, query parameters, and the rest, which goes into the body.

use std::fmt;
use std::sync::Arc;

use http::header::{HeaderMap, HeaderName, HeaderValue};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};
use url::Url;

use super::spec::ProviderSpec;
use crate::auth::{CredentialCaches, KeySource};
use crate::error::Error;
use crate::generation::GenerationParams;
use crate::secret::{is_credential_header, Secret, Secrets};
use crate::value::Options;

/// Headers the HTTP stack writes from the request itself; set by hand they
/// would contradict the body (`content-length: 0` sends an empty one).
const FRAMING_HEADERS: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "host",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "proxy-connection",
];

/// A leaf client's options, checked.
pub struct ClientOptions {
    pub spec: &'static ProviderSpec,
    /// Names the owner in errors: `client "Primary"`.
    pub ctx: String,
    pub raw: Map<String, Value>,
    /// `headers:`, credential-like values marked sensitive.
    pub headers: HeaderMap,
    /// The values of credential-like `headers:` and `query_params`, to redact.
    pub secrets: Secrets,
    pub query_params: Vec<(String, String)>,
    /// Everything that is not read by switchboard, sent as is.
    pub body: Map<String, Value>,
    /// `temperature`, `top_p`, `max_tokens` and `stop`, typed.
    pub generation: GenerationParams,
    /// Where credentials that need work are cached, shared with the other
    /// clients of the registry: the registry's own, or a private one.
    pub credentials: Arc<CredentialCaches>,
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("spec", &self.spec)
            .field("ctx", &self.ctx)
            .field("options", &self.raw.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl ClientOptions {
    pub fn parse(
        spec: &'static ProviderSpec,
        ctx: String,
        raw: &Map<String, Value>,
    ) -> Result<Self, Error> {
        let raw = &*super::option_aliases::canonical(spec, &ctx, raw)?;
        super::response_type::check(spec, &ctx, raw)?;
        let o = Options::new(&ctx, raw);
        // Type-check what we read ourselves, and the body options whose type
        // every provider agrees on, so a typo fails at registry build time.
        o.str("api_key")?;
        crate::config::bounds::check_credentials(&ctx, raw)?;
        o.str("base_url")?;
        let generation = check_body_types(&o, &ctx, raw)?;
        if raw.get("stream").is_some_and(|v| !v.is_null()) {
            return Err(Error::config(format!(
                "{ctx}: option \"stream\" is set by switchboard; use Switchboard.stream/3 instead"
            )));
        }
        let (headers, mut secrets) = parse_headers(&ctx, o.string_map("headers")?)?;
        let query_params = o.string_map("query_params")?;
        // `?key=...` and the like are credentials too (Vertex express mode).
        for (name, value) in &query_params {
            if is_credential(name, value) {
                secrets.push(Secret::new(value.as_str()));
            }
        }
        let body = raw
            .iter()
            .filter(|(k, v)| !spec.is_non_body_option(k) && !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(ClientOptions {
            spec,
            headers,
            secrets,
            query_params,
            body,
            generation,
            raw: raw.clone(),
            ctx,
            credentials: Arc::default(),
        })
    }

    pub fn options(&self) -> Options<'_> {
        Options::new(&self.ctx, &self.raw)
    }

    /// `api_key` if given, else the provider's environment variable.
    pub fn api_key(&self) -> Result<Option<KeySource>, Error> {
        Ok(
            match (self.options().str("api_key")?, self.spec.api_key_env) {
                (Some(key), _) => Some(KeySource::Literal(Secret::new(key))),
                (None, Some(var)) => Some(KeySource::Env(var)),
                (None, None) => None,
            },
        )
    }

    /// `base_url`, else the provider's default, without a trailing slash.
    pub fn base_url(&self) -> Result<String, Error> {
        let url = match (self.options().str("base_url")?, self.spec.default_base_url) {
            (Some(url), _) => url,
            (None, Some(url)) => url,
            (None, None) => self.options().required_str("base_url")?,
        };
        http_url(&self.ctx, "base_url", url)
    }

    /// `{base}{path}` with `query_params` appended.
    pub fn url(&self, base: &str, path: &str) -> Result<Url, Error> {
        url_with_query(base, path, &self.query_params)
            .ok_or_else(|| Error::config(format!("{}: cannot build a URL from base_url", self.ctx)))
    }
}

/// Option `key`'s `url`, checked to be an http(s) URL with a host, without
/// a trailing slash.
pub fn http_url(ctx: &str, key: &str, url: &str) -> Result<String, Error> {
    let parsed = Url::parse(url)
        .map_err(|_| Error::config(format!("{ctx}: option {key:?} is not a valid URL")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(Error::config(format!(
            "{ctx}: option {key:?} must be an http or https URL"
        )));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// `{base}{path}` with `query` appended; for providers whose path changes
/// per call (the model is in it). `None` when that is not a URL.
pub fn url_with_query(base: &str, path: &str, query: &[(String, String)]) -> Option<Url> {
    let mut url = Url::parse(&format!("{base}{path}")).ok()?;
    if !query.is_empty() {
        url.query_pairs_mut()
            .extend_pairs(query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }
    Some(url)
}

/// The body options whose type every provider agrees on, checked in client
/// options and in a call's options alike: `model`, and the generation
/// parameters, read once here (`:config` errors naming `ctx`).
pub fn check_body_types(
    o: &Options<'_>,
    ctx: &str,
    raw: &Map<String, Value>,
) -> Result<GenerationParams, Error> {
    o.str("model")?;
    GenerationParams::read(ctx, raw)
}

fn parse_headers(ctx: &str, given: Vec<(String, String)>) -> Result<(HeaderMap, Secrets), Error> {
    crate::config::bounds::check_headers(ctx, &given)?;
    let mut headers = HeaderMap::with_capacity(given.len());
    let mut secrets = Secrets::default();
    for (name, value) in given {
        let invalid = || {
            Error::config(format!(
                "{ctx}: option \"headers\" has an invalid header name {}",
                crate::value::shown(&name)
            ))
        };
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
        if FRAMING_HEADERS.contains(&header.as_str()) {
            return Err(Error::config(format!(
                "{ctx}: option \"headers\" may not set {:?}: the HTTP client writes it from the request",
                header.as_str()
            )));
        }
        let mut v = HeaderValue::from_str(&value).map_err(|_| invalid())?;
        if is_credential(header.as_str(), &value) {
            v.set_sensitive(true);
            secrets.push_header_value(&Secret::new(value));
        }
        headers.append(header, v);
    }
    Ok((headers, secrets))
}

/// Credentials are named like one and long enough to be one: a header or
/// parameter matched by name alone (`x-auth-mode: none`) must not turn
/// every "none" in an answer into `[REDACTED]`.
fn is_credential(name: &str, value: &str) -> bool {
    const SHORTEST_CREDENTIAL: usize = 8;
    is_credential_header(name) && value.chars().count() >= SHORTEST_CREDENTIAL
}

/// [`merge_body`]'s body, serialised straight from its layers: neither the
/// client's options nor the call's are copied for an attempt, and one
/// provider field (the prompt) may be written from borrowed data rather
/// than first copied into a JSON tree. Keys come out sorted, as serde_json
/// orders a `Map`, so the bytes are those of [`merge_body`]'s map.
pub struct MergedBody<'a, P> {
    pub client: &'a Map<String, Value>,
    pub fields: Map<String, Value>,
    /// A provider field written by its own `Serialize`.
    pub borrowed: Option<(&'static str, P)>,
    pub call: &'a Map<String, Value>,
}

impl<P: Serialize> Serialize for MergedBody<'_, P> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let borrowed_key = self.borrowed.as_ref().map(|(k, _)| *k);
        let mut keys: Vec<&str> = (self.client.keys())
            .chain(self.fields.keys())
            .chain(self.call.keys())
            .map(String::as_str)
            .chain(borrowed_key)
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let mut map = serializer.serialize_map(None)?;
        for key in keys {
            // The call's value wins; its `nil` removes the key.
            if let Some(v) = self.call.get(key) {
                if !v.is_null() {
                    map.serialize_entry(key, v)?;
                }
                continue;
            }
            match &self.borrowed {
                Some((k, p)) if *k == key => map.serialize_entry(key, p)?,
                _ => {
                    if let Some(v) = self.fields.get(key).or_else(|| self.client.get(key)) {
                        map.serialize_entry(key, v)?;
                    }
                }
            }
        }
        map.end()
    }
}

/// The body: client options, then the fields the provider sets, then the
/// call's options, which win.
pub fn merge_body(
    client: &Map<String, Value>,
    provider_fields: Map<String, Value>,
    call: &Map<String, Value>,
) -> Map<String, Value> {
    let mut body = client.clone();
    body.extend(provider_fields);
    for (k, v) in call {
        // `nil` in a call's options removes the client's value (or a
        // default), as `nil` does in client options; it is never sent.
        if v.is_null() {
            body.remove(k);
        } else {
            body.insert(k.clone(), v.clone());
        }
    }
    body
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("an object"),
        }
    }

    #[test]
    fn a_merged_body_writes_the_bytes_of_the_merged_map() {
        let client = map(json!({"model": "m", "temperature": 0.5, "top_p": 1, "user": "u"}));
        let fields = map(json!({"stream": true, "model": "from-provider"}));
        // The call wins; its nil removes a key from every layer.
        let call = map(json!({"temperature": 0.1, "user": null, "stream": null, "seed": 7}));
        let messages = json!([{"content": "hi", "role": "user"}]);
        let mut with_messages = fields.clone();
        with_messages.insert("messages".into(), messages.clone());

        let expected = serde_json::to_vec(&merge_body(&client, with_messages, &call)).unwrap();
        let merged = MergedBody {
            client: &client,
            fields,
            borrowed: Some(("messages", &messages)),
            call: &call,
        };
        assert_eq!(
            String::from_utf8(serde_json::to_vec(&merged).unwrap()).unwrap(),
            String::from_utf8(expected).unwrap()
        );
    }
}
