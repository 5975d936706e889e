//! Every provider declares itself once, here: its names, defaults, and the
//! options it reads that must never reach a request body.

use serde_json::{Map, Value};

use super::options::ClientOptions;
use super::Provider;
use crate::error::Error;
use crate::generation::GenerationParams;
use crate::value::{shown, Options};

/// How a client of this provider is built.
#[derive(Clone, Copy)]
pub enum SpecKind {
    /// An HTTP provider.
    Leaf(fn(&ClientOptions) -> Result<Box<dyn Provider>, Error>),
    Fallback,
    RoundRobin,
    /// Recognised, so configs written for BAML get a clear answer.
    NotYetSupported,
}

/// One provider's declaration.
pub struct ProviderSpec {
    /// The canonical name, as reported in `Response.provider`.
    pub name: &'static str,
    /// Other names that mean this provider (BAML's `baml-` names).
    pub aliases: &'static [&'static str],
    pub kind: SpecKind,
    pub default_base_url: Option<&'static str>,
    /// Where the key comes from when `api_key` is not given.
    pub api_key_env: Option<&'static str>,
    /// Options this provider reads for routing or credentials (`region`,
    /// `resource_name`, ...): never sent in the body, never set per call.
    pub routing_options: &'static [&'static str],
    /// Body fields the provider fills from the prompt or sets itself; a
    /// call's `options:` may not replace them.
    pub prompt_fields: &'static [&'static str],
    /// BAML's `media_url_handler` defaults for the provider.
    pub media_defaults: crate::media::MediaDefaults,
}

impl std::fmt::Debug for ProviderSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl ProviderSpec {
    pub fn is_strategy(&self) -> bool {
        matches!(self.kind, SpecKind::Fallback | SpecKind::RoundRobin)
    }

    /// Whether option `key` is read by switchboard rather than sent.
    pub fn is_non_body_option(&self, key: &str) -> bool {
        COMMON_NON_BODY_OPTIONS.contains(&key) || self.routing_options.contains(&key)
    }
}

/// Options every HTTP provider reads itself (BAML's names, including the
/// ones BAML uses for prompt rendering, which have no meaning here).
pub const COMMON_NON_BODY_OPTIONS: &[&str] = &[
    "api_key",
    "base_url",
    "headers",
    "query_params",
    "http",
    "finish_reason_allow_list",
    "finish_reason_deny_list",
    "supports_streaming",
    "allowed_role_metadata",
    "default_role",
    "allowed_roles",
    "remap_roles",
    "client_response_type",
    "media_url_handler",
    // What the client's tokens cost (pricing.rs).
    "pricing",
    // The client's own breaker and limits (config/breaker.rs, limits.rs).
    "circuit_breaker",
    "max_in_flight",
    "requests_per_minute",
    "tokens_per_minute",
];

/// Every provider switchboard knows, in the order errors list them.
pub static PROVIDERS: &[&ProviderSpec] = &[
    &super::openai::OPENAI,
    &super::openai::OPENAI_GENERIC,
    &super::openai::AZURE_OPENAI,
    &super::openai::OLLAMA,
    &super::openai::OPENROUTER,
    &super::anthropic::ANTHROPIC,
    &super::openai_responses::OPENAI_RESPONSES,
    &super::google_ai::GOOGLE_AI,
    &super::vertex::VERTEX_AI,
    &super::bedrock::AWS_BEDROCK,
    &FALLBACK,
    &ROUND_ROBIN,
];

/// The provider a config names, by canonical name or alias.
pub fn find(name: &str) -> Option<&'static ProviderSpec> {
    PROVIDERS
        .iter()
        .copied()
        .find(|s| s.name == name || s.aliases.contains(&name))
}

const FALLBACK: ProviderSpec = ProviderSpec {
    name: "fallback",
    aliases: &["baml-fallback"],
    kind: SpecKind::Fallback,
    default_base_url: None,
    api_key_env: None,
    routing_options: &[],
    prompt_fields: &[],
    media_defaults: crate::media::NO_MEDIA,
};

const ROUND_ROBIN: ProviderSpec = ProviderSpec {
    name: "round-robin",
    aliases: &["baml-round-robin", "baml-roundrobin"],
    kind: SpecKind::RoundRobin,
    default_base_url: None,
    api_key_env: None,
    routing_options: &[],
    prompt_fields: &[],
    media_defaults: crate::media::NO_MEDIA,
};

/// Call-time `options:` that switchboard or the prompt owns, whatever the
/// provider: `stream` is chosen by the call function.
const CALL_OWNED: &[&str] = &["stream", "stream_options", "messages"];

/// Provider-native spellings of what the call's typed options carry: sent
/// raw, their answers would be read as text and the calls lost.
const TYPED_ELSEWHERE: &[&str] = &[
    "tools",
    "tool_choice",
    "functions",
    "function_call",
    "toolConfig",
    "response_format",
];

/// Checks a call's `options:` before anything is sent. They may set body
/// fields (`temperature`, `max_tokens`, a different `model`, ...) but not
/// credentials, routing, client settings or what the prompt fills in; those
/// are `:invalid_request` errors naming the option.
pub fn check_call_options(options: &Map<String, Value>) -> Result<(), Error> {
    read_call_options(options).map(|_| ())
}

/// [`check_call_options`], and the call's generation parameters, typed.
pub fn read_call_options(options: &Map<String, Value>) -> Result<GenerationParams, Error> {
    for key in options.keys() {
        if TYPED_ELSEWHERE.contains(&key.as_str()) {
            return Err(Error::invalid_request(format!(
                "call option {} is not sent raw: pass tools with the call's tools: and \
                 tool_choice: options, and a JSON Schema with output_schema:",
                shown(key)
            )));
        }
        let owned_by = if CALL_OWNED.contains(&key.as_str()) {
            Some("set by switchboard from the prompt and the call function")
        } else if COMMON_NON_BODY_OPTIONS.contains(&key.as_str())
            || PROVIDERS
                .iter()
                .any(|s| s.routing_options.contains(&key.as_str()))
        {
            Some("a client setting; set it in the registry")
        } else if PROVIDERS
            .iter()
            .any(|s| s.prompt_fields.contains(&key.as_str()))
        {
            Some("filled in from the prompt")
        } else {
            None
        };
        if let Some(why) = owned_by {
            return Err(Error::invalid_request(format!(
                "call option {} cannot be overridden per call: it is {why}",
                shown(key)
            )));
        }
    }
    let ctx = "the call's options";
    super::options::check_body_types(&Options::new(ctx, options), ctx, options)
        .map_err(|e| Error::invalid_request(e.message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_and_aliases_resolve_to_one_spec() {
        assert_eq!(find("baml-openai-chat").map(|s| s.name), Some("openai"));
        assert_eq!(find("baml-roundrobin").map(|s| s.name), Some("round-robin"));
        assert!(find("nope").is_none());
        let mut names: Vec<&str> = PROVIDERS
            .iter()
            .flat_map(|s| std::iter::once(s.name).chain(s.aliases.iter().copied()))
            .collect();
        let count = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), count, "a name is declared twice");
    }

    #[test]
    fn call_options_may_set_body_fields_only() {
        let ok = json!({"temperature": 0.2, "max_tokens": 10, "model": "m", "top_k": 3});
        assert!(check_call_options(ok.as_object().unwrap()).is_ok());
        for bad in [
            json!({"api_key": "k"}),
            json!({"stream": true}),
            json!({"messages": []}),
            json!({"headers": {}}),
            json!({"base_url": "http://x"}),
            json!({"secret_access_key": "s"}),
            json!({"system": "x"}),
            json!({"max_tokens": "many"}),
            json!({"max_tokens": 0}),
            json!({"stop": 3}),
            json!({"tools": []}),
            json!({"response_format": {"type": "json_object"}}),
        ] {
            let e = check_call_options(bad.as_object().unwrap()).unwrap_err();
            assert_eq!(e.kind, crate::error::ErrorKind::InvalidRequest, "{bad}");
        }
    }
}
