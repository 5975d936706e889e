//! The config validator: any JSON value in, never a panic; and a config it
//! accepts builds a request for every client.

use serde_json::{json, Map, Value};
use switchboard_core::config::NodeKind;
use switchboard_core::prompt::parse_prompt;
use switchboard_core::providers::AttemptRequest;
use switchboard_core::wire::CallInput;
use switchboard_core::Registry;

use proptest::prelude::*;

/// Any JSON value, with numbers at the edges (huge, negative, fractional).
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
        word().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Words a config uses, so generated maps reach past the first check.
fn word() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "openai",
        "anthropic",
        "google-ai",
        "vertex-ai",
        "aws-bedrock",
        "openai-responses",
        "azure-openai",
        "ollama",
        "openrouter",
        "openai-generic",
        "fallback",
        "round-robin",
        "baml-fallback",
        "A",
        "B",
        "C",
        "openai/gpt-4o",
        "exponential_backoff",
        "constant_delay",
        "gpt-4o",
        "us-east-1",
        "https://127.0.0.1:1/v1",
        "",
    ])
    .prop_map(str::to_owned)
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "clients", "primary", "retry_policies", "name", "provider", "options",
            "retry_policy", "model", "api_key", "base_url", "strategy", "start", "http",
            "headers", "max_retries", "type", "delay_ms", "multiplier", "max_delay_ms",
            "request_timeout_ms", "connect_timeout_ms", "total_timeout_ms", "region",
            "project_id", "location", "access_key_id", "secret_access_key", "temperature",
            "max_tokens", "resource_name", "deployment_id", "api_version", "query_params",
            "finish_reason_allow_list", "supports_streaming", "circuit_breaker", "pricing",
            "max_in_flight", "credentials",
        ]).prop_map(str::to_owned),
        1 => "\\PC{0,8}",
    ]
}

/// A client list in the config's shape, its values drawn from `any_json`.
fn near_valid() -> impl Strategy<Value = Value> {
    let client = (
        prop::sample::select(vec!["A", "B", "C"]),
        word(),
        prop::collection::btree_map(key(), any_json(), 0..5),
        prop::option::of(any_json()),
    )
        .prop_map(|(name, provider, options, retry)| {
            let mut c = json!({"name": name, "provider": provider,
                               "options": Value::Object(options.into_iter().collect())});
            if let Some(retry) = retry {
                c["retry_policy"] = retry;
            }
            c
        });
    (
        prop::collection::vec(client, 0..4),
        prop::option::of(any_json()),
        prop::option::of(any_json()),
    )
        .prop_map(|(clients, primary, policies)| {
            let mut config = Map::new();
            config.insert("clients".into(), Value::from(clients));
            if let Some(p) = primary {
                config.insert("primary".into(), p);
            }
            if let Some(p) = policies {
                config.insert("retry_policies".into(), p);
            }
            Value::Object(config)
        })
}

/// Every leaf of an accepted registry prepares a request, plain and
/// streamed, without I/O (or hands back the resolution that needs it).
fn every_client_builds(registry: &Registry) -> Result<(), String> {
    let messages = parse_prompt(&json!("Hi")).map_err(|e| e.message)?;
    let options = Map::new();
    for node in &registry.clients {
        let NodeKind::Leaf(leaf) = &node.kind else {
            continue;
        };
        for stream in [false, true] {
            let input = CallInput::plain(&messages, &options, stream);
            match leaf.provider.prepare(&input) {
                Ok(attempt) => {
                    if let AttemptRequest::Ready(request) = attempt.request {
                        if request.url.scheme() != "http" && request.url.scheme() != "https" {
                            return Err(format!("{}: URL {}", node.name, request.url));
                        }
                    }
                }
                Err(e) => {
                    return Err(format!(
                        "client {} (provider {}) was accepted but cannot build a request: {:?} {}",
                        node.name, node.provider, e.kind, e.message
                    ))
                }
            };
        }
    }
    Ok(())
}

fn check(config: &Value) -> Result<(), TestCaseError> {
    if let Ok(registry) = Registry::from_value(config) {
        every_client_builds(&registry).map_err(TestCaseError::fail)?;
    }
    Ok(())
}

use proptest::test_runner::TestCaseError;

#[test]
fn any_json_value_is_a_registry_or_an_error() {
    crate::runner(crate::cases() * 4)
        .run(&any_json(), |config| check(&config))
        .unwrap();
}

#[test]
fn an_accepted_config_builds_a_request_for_every_client() {
    let accepted = std::cell::Cell::new(0u32);
    crate::runner(crate::cases() * 8)
        .run(&near_valid(), |config| {
            accepted.set(accepted.get() + u32::from(Registry::from_value(&config).is_ok()));
            check(&config)
        })
        .unwrap();
    println!("{} accepted configs", accepted.get());
}
