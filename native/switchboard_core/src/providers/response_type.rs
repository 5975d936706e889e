//! BAML's `client_response_type`: the format a server's answers are read
//! in (BAML lets an `openai-generic` client read Anthropic-shaped answers,
//! and so on). Switchboard reads each provider's answers in that
//! provider's own format only, so the option is accepted when it names
//! that format (a config written for BAML keeps building) and refused
//! otherwise: accepted and ignored, every answer would be read wrong.

use serde_json::{Map, Value};

use super::spec::ProviderSpec;
use crate::error::Error;
use crate::value::{shown, Options};

/// The `client_response_type` a provider's answers are: BAML's name for
/// the format Switchboard reads them in. `None` for Bedrock, whose
/// Converse answers have no such name in BAML.
pub fn own(provider: &str) -> Option<&'static str> {
    Some(match provider {
        "openai" | "openai-generic" | "azure-openai" | "ollama" | "openrouter" => "openai",
        "openai-responses" => "openai-responses",
        "anthropic" => "anthropic",
        "google-ai" => "google",
        "vertex-ai" => "vertex",
        _ => return None,
    })
}

/// Accepts a `client_response_type` equal to the provider's own format;
/// any other value is a `:config` error saying which provider to use.
pub fn check(spec: &ProviderSpec, ctx: &str, raw: &Map<String, Value>) -> Result<(), Error> {
    let Some(given) = Options::new(ctx, raw).str("client_response_type")? else {
        return Ok(());
    };
    let own = own(spec.name);
    if own == Some(given) {
        return Ok(());
    }
    let read_as = own.unwrap_or("Converse");
    Err(Error::config(format!(
        "{ctx}: option \"client_response_type\" {} is not supported on {}: its answers are \
         read as {read_as} only; for a server that answers in another format, use that \
         format's provider (openai, openai-responses, anthropic, google-ai, vertex-ai) \
         with its base_url",
        shown(given),
        spec.name
    )))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::providers::spec;

    fn check_on(provider: &str, value: Value) -> Result<(), Error> {
        let raw = json!({"client_response_type": value});
        check(
            spec::find(provider).expect("provider"),
            "client \"C\"",
            raw.as_object().expect("a map"),
        )
    }

    #[test]
    fn a_provider_s_own_format_is_accepted() {
        for (provider, own) in [
            ("openai", "openai"),
            ("openai-generic", "openai"),
            ("azure-openai", "openai"),
            ("ollama", "openai"),
            ("openrouter", "openai"),
            ("openai-responses", "openai-responses"),
            ("anthropic", "anthropic"),
            ("google-ai", "google"),
            ("vertex-ai", "vertex"),
        ] {
            assert!(check_on(provider, json!(own)).is_ok(), "{provider}");
        }
        assert!(check_on("openai", Value::Null).is_ok());
    }

    #[test]
    fn any_other_format_is_a_config_error() {
        for (provider, value) in [
            ("openai-generic", json!("anthropic")),
            ("openai", json!("openai-responses")),
            ("anthropic", json!("openai")),
            ("aws-bedrock", json!("openai")),
            ("vertex-ai", json!("google")),
        ] {
            let e = check_on(provider, value).unwrap_err();
            assert_eq!(e.kind, crate::error::ErrorKind::Config);
            assert!(e.message.contains("is not supported on"), "{}", e.message);
            assert!(e.message.starts_with("client \"C\""), "{}", e.message);
        }
        let e = check_on("openai", json!(3)).unwrap_err();
        assert!(e.message.contains("client_response_type"), "{}", e.message);
    }
}
