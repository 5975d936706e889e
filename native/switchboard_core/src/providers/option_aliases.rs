//! Other spellings of provider options, rewritten into the canonical ones
//! before anything reads a client's options, so an alias builds exactly
//! the client its canonical form does. BAML's names stay the canonical
//! ones; an alias only adds a way to write them:
//!
//! - Azure (`azure-openai`, `openai/azure`): `endpoint`, the resource's
//!   URL (`https://my-resource.openai.azure.com`, as the Azure portal shows
//!   it), with `deployment_id`, for `base_url`
//!   `{endpoint}/openai/deployments/{deployment_id}`; an `endpoint` that
//!   already ends in `/openai/deployments/{name}` is that `base_url`.
//! - Bedrock: `credentials: %{access_key_id, secret_access_key,
//!   session_token}` for the three options of the same names.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::options::http_url;
use super::spec::ProviderSpec;
use crate::error::Error;
use crate::value::{shown, type_name, Options};

/// Each alias option and the provider it is read on (`openai/azure` is
/// `azure-openai`'s name), for the README's option table test.
pub const ALIAS_OPTIONS: &[(&str, &str)] =
    &[("azure-openai", "endpoint"), ("aws-bedrock", "credentials")];

/// The keys `credentials` may hold on a Bedrock client.
const AWS_CREDENTIAL_KEYS: &[&str] = &["access_key_id", "secret_access_key", "session_token"];

/// `raw` with its aliases replaced by their canonical options; borrowed
/// when it uses none.
pub fn canonical<'a>(
    spec: &ProviderSpec,
    ctx: &str,
    raw: &'a Map<String, Value>,
) -> Result<Cow<'a, Map<String, Value>>, Error> {
    let present = |key: &str| raw.get(key).is_some_and(|v| !v.is_null());
    match spec.name {
        "azure-openai" if present("endpoint") => {
            let mut options = raw.clone();
            let base_url = azure_endpoint(ctx, raw)?;
            options.remove("endpoint");
            // The deployment is now part of base_url, as in the canonical form.
            options.remove("deployment_id");
            options.insert("base_url".into(), Value::String(base_url));
            Ok(Cow::Owned(options))
        }
        "aws-bedrock" if present("credentials") => {
            aws_credentials(ctx, raw)?;
            let mut options = raw.clone();
            if let Some(Value::Object(keys)) = options.remove("credentials") {
                options.extend(keys);
            }
            Ok(Cow::Owned(options))
        }
        _ => Ok(Cow::Borrowed(raw)),
    }
}

/// The `base_url` an Azure `endpoint` stands for.
fn azure_endpoint(ctx: &str, raw: &Map<String, Value>) -> Result<String, Error> {
    let o = Options::new(ctx, raw);
    for other in ["base_url", "resource_name"] {
        if o.str(other)?.is_some() {
            return Err(Error::config(format!(
                "{ctx}: set \"endpoint\" or {other:?}, not both: both say where requests go"
            )));
        }
    }
    let endpoint = http_url(ctx, "endpoint", o.required_str("endpoint")?)?;
    let parsed = url::Url::parse(&endpoint).ok();
    if parsed
        .as_ref()
        .is_some_and(|u| u.query().is_some() || u.fragment().is_some())
    {
        return Err(Error::config(format!(
            "{ctx}: \"endpoint\" is the resource's URL, without a query or fragment \
             (api_version is an option of its own)"
        )));
    }
    let names_deployment = parsed.is_some_and(|u| u.path().contains("/openai/deployments/"));
    match (names_deployment, o.str("deployment_id")?) {
        (true, None) => Ok(endpoint),
        (true, Some(_)) => Err(Error::config(format!(
            "{ctx}: \"endpoint\" already names a deployment (/openai/deployments/...); \
             drop \"deployment_id\", or give the resource's URL as \"endpoint\""
        ))),
        (false, Some(deployment)) => {
            if !super::openai::is_azure_name(deployment) {
                return Err(Error::config(format!(
                    "{ctx}: deployment_id may only hold letters, digits, '-', '_' and '.'"
                )));
            }
            Ok(format!("{endpoint}/openai/deployments/{deployment}"))
        }
        (false, None) => Err(Error::config(format!(
            "{ctx}: \"endpoint\" (the resource's URL) needs \"deployment_id\""
        ))),
    }
}

/// Checks a Bedrock `credentials` map; its values are never shown.
fn aws_credentials(ctx: &str, raw: &Map<String, Value>) -> Result<(), Error> {
    let keys = match raw.get("credentials") {
        Some(Value::Object(keys)) => keys,
        Some(other) => {
            return Err(Error::config(format!(
                "{ctx}: option \"credentials\" must be a map of access_key_id, \
                 secret_access_key and session_token, got {}",
                type_name(other)
            )))
        }
        None => return Ok(()),
    };
    for (key, value) in keys {
        if !AWS_CREDENTIAL_KEYS.contains(&key.as_str()) {
            return Err(Error::config(format!(
                "{ctx}: option \"credentials\" has unknown key {} (expected {})",
                shown(key),
                AWS_CREDENTIAL_KEYS.join(", ")
            )));
        }
        if raw.get(key).is_some_and(|v| !v.is_null()) {
            return Err(Error::config(format!(
                "{ctx}: {key:?} is set both in \"credentials\" and as an option; set it once"
            )));
        }
        if !value.is_string() && !value.is_null() {
            return Err(Error::config(format!(
                "{ctx}: credentials.{key} must be a string, got {}",
                type_name(value)
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::providers::spec;

    fn canon(provider: &str, options: Value) -> Result<Value, Error> {
        let spec = spec::find(provider).expect("provider");
        let raw = options.as_object().expect("a map");
        canonical(spec, "client \"C\"", raw).map(|m| Value::Object(m.into_owned()))
    }

    #[test]
    fn an_azure_endpoint_is_the_deployment_base_url() {
        let expected = json!({"base_url": "https://r.openai.azure.com/openai/deployments/d",
                              "api_version": "v"});
        for provider in ["openai/azure", "azure-openai"] {
            for endpoint in ["https://r.openai.azure.com", "https://r.openai.azure.com/"] {
                let got = canon(
                    provider,
                    json!({"endpoint": endpoint, "deployment_id": "d", "api_version": "v"}),
                );
                assert_eq!(got.unwrap(), expected);
            }
        }
        let full = canon(
            "openai/azure",
            json!({"endpoint": "https://r.openai.azure.com/openai/deployments/d"}),
        );
        assert_eq!(
            full.unwrap(),
            json!({"base_url": "https://r.openai.azure.com/openai/deployments/d"})
        );
    }

    #[test]
    fn bad_azure_endpoints_are_config_errors() {
        for (options, expected) in [
            (
                json!({"endpoint": "https://r.openai.azure.com"}),
                "needs \"deployment_id\"",
            ),
            (
                json!({"endpoint": "r.openai.azure.com", "deployment_id": "d"}),
                "not a valid URL",
            ),
            (
                json!({"endpoint": "https://h", "base_url": "https://h", "deployment_id": "d"}),
                "not both",
            ),
            (
                json!({"endpoint": "https://h", "resource_name": "r", "deployment_id": "d"}),
                "not both",
            ),
            (
                json!({"endpoint": "https://h", "deployment_id": "a/b"}),
                "may only hold",
            ),
            (
                json!({"endpoint": "https://h/openai/deployments/d", "deployment_id": "d"}),
                "already names",
            ),
            (
                json!({"endpoint": "https://h/?api-version=1", "deployment_id": "d"}),
                "without a query or fragment",
            ),
            (json!({"endpoint": 7, "deployment_id": "d"}), "\"endpoint\""),
        ] {
            let e = canon("openai/azure", options).unwrap_err();
            assert_eq!(e.kind, crate::error::ErrorKind::Config);
            assert!(e.message.contains(expected), "{}", e.message);
            assert!(e.message.starts_with("client \"C\""), "{}", e.message);
        }
    }

    #[test]
    fn bedrock_credentials_become_the_key_options() {
        let got = canon(
            "aws-bedrock",
            json!({"model": "m", "credentials": {"access_key_id": "AKID",
                   "secret_access_key": "s3cr3t-value", "session_token": "tok-value"}}),
        );
        assert_eq!(
            got.unwrap(),
            json!({"model": "m", "access_key_id": "AKID",
                   "secret_access_key": "s3cr3t-value", "session_token": "tok-value"})
        );
    }

    #[test]
    fn bad_bedrock_credentials_are_config_errors_that_never_show_a_secret() {
        for (options, expected) in [
            (json!({"credentials": "s3cr3t-value"}), "must be a map"),
            (
                json!({"credentials": {"secret_key": "s3cr3t-value"}}),
                "unknown key \"secret_key\"",
            ),
            (
                json!({"credentials": {"secret_access_key": 7}}),
                "must be a string",
            ),
            (
                json!({"access_key_id": "A", "credentials": {"access_key_id": "A"}}),
                "set both in \"credentials\" and as an option",
            ),
        ] {
            let e = canon("aws-bedrock", options).unwrap_err();
            assert!(e.message.contains(expected), "{}", e.message);
            assert!(!e.message.contains("s3cr3t"), "{}", e.message);
        }
    }

    #[test]
    fn other_providers_and_clients_without_aliases_are_untouched() {
        // Vertex's own `credentials` (a service account) is not Bedrock's.
        let vertex = json!({"credentials": {"type": "service_account"}, "location": "global"});
        assert_eq!(canon("vertex-ai", vertex.clone()).unwrap(), vertex);
        let openai = json!({"model": "m", "endpoint": "https://h"});
        assert_eq!(canon("openai", openai.clone()).unwrap(), openai);
    }
}
