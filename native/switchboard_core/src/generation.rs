//! Generation parameters: `temperature`, `top_p`, `max_tokens` and `stop`,
//! typed once (from a client's options at registry build, from a call's
//! options when it starts) and checked against the documented limits of
//! each client's dialect before anything is sent.
//!
//! Each dialect names them its own way (`stop_sequences`, `stopSequences`,
//! `maxOutputTokens`, ...); the providers map them from the generic names.

use std::borrow::Cow;
use std::ops::RangeInclusive;

use serde_json::{Map, Value};

use crate::error::Error;
use crate::value::{type_name, Options};

/// The generic options this module owns.
pub const GENERIC: &[&str] = &["temperature", "top_p", "max_tokens", "stop"];

/// The typed generation parameters of a client or a call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenerationParams {
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub max_tokens: Option<u64>,
    pub stop: Option<Vec<String>>,
}

impl GenerationParams {
    /// Reads the generic options of `map`; errors are `:config`, naming
    /// `ctx` (`client "Primary"`) and the option.
    pub fn read(ctx: &str, map: &Map<String, Value>) -> Result<Self, Error> {
        let o = Options::new(ctx, map);
        let max_tokens = match map.get("max_tokens").filter(|v| !v.is_null()) {
            None => None,
            Some(v) => match v.as_u64() {
                Some(n) if n > 0 => Some(n),
                _ => {
                    return Err(Error::config(format!(
                        "{ctx}: option \"max_tokens\" must be a positive integer, got {}",
                        shown_number(v)
                    )))
                }
            },
        };
        let stop = match map.get("stop").filter(|v| !v.is_null()) {
            None => None,
            Some(Value::String(s)) => Some(vec![s.clone()]),
            Some(Value::Array(_)) => o.string_list("stop").map_err(|_| stop_type(ctx))?,
            Some(_) => return Err(stop_type(ctx)),
        };
        Ok(GenerationParams {
            temperature: o.f64("temperature")?,
            top_p: o.f64("top_p")?,
            max_tokens,
            stop,
        })
    }

    /// Reads a call's `options:`; errors are `:invalid_request`.
    pub fn read_call(map: &Map<String, Value>) -> Result<Self, Error> {
        Self::read("the call's options", map).map_err(|e| Error::invalid_request(e.message))
    }

    /// The parameters of one attempt: the call's over the client's; a
    /// `nil` in the call's options (`call_map`) removes the client's value.
    pub fn with_call(&self, call: &GenerationParams, call_map: &Map<String, Value>) -> Self {
        fn pick<T: Clone>(
            key: &str,
            map: &Map<String, Value>,
            call: &Option<T>,
            client: &Option<T>,
        ) -> Option<T> {
            match map.get(key) {
                Some(Value::Null) => None,
                _ => call.clone().or_else(|| client.clone()),
            }
        }
        GenerationParams {
            temperature: pick(
                "temperature",
                call_map,
                &call.temperature,
                &self.temperature,
            ),
            top_p: pick("top_p", call_map, &call.top_p, &self.top_p),
            max_tokens: pick("max_tokens", call_map, &call.max_tokens, &self.max_tokens),
            stop: pick("stop", call_map, &call.stop, &self.stop),
        }
    }
}

fn stop_type(ctx: &str) -> Error {
    Error::config(format!(
        "{ctx}: option \"stop\" must be a string or a list of strings"
    ))
}

/// A number as shown in an error; anything else by its type only.
fn shown_number(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        other => type_name(other).to_owned(),
    }
}

/// How a dialect takes stop sequences.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stop {
    /// Accepted, at most this many (`None`: no documented limit).
    Max(Option<usize>),
    /// The API has no such parameter.
    Unsupported,
}

/// A dialect's documented limits; `None` where none is documented.
#[derive(Debug)]
pub struct Limits {
    /// The dialect, as named in errors.
    pub dialect: &'static str,
    pub temperature: Option<RangeInclusive<f64>>,
    pub top_p: Option<RangeInclusive<f64>>,
    pub stop: Stop,
    /// Whether an empty stop sequence is refused.
    pub nonempty_stop: bool,
}

/// Nothing checked: OpenAI-compatible servers (`openai-generic`, Ollama,
/// OpenRouter) each have their own ranges.
pub const UNCHECKED: Limits = Limits {
    dialect: "an OpenAI-compatible server",
    temperature: None,
    top_p: None,
    stop: Stop::Max(None),
    nonempty_stop: false,
};

/// OpenAI Chat Completions (`openai`, `azure-openai`).
pub const OPENAI_CHAT: Limits = Limits {
    dialect: "OpenAI Chat Completions",
    temperature: Some(0.0..=2.0),
    top_p: Some(0.0..=1.0),
    stop: Stop::Max(Some(4)),
    nonempty_stop: false,
};

/// OpenAI Responses: no stop sequences.
pub const OPENAI_RESPONSES: Limits = Limits {
    dialect: "OpenAI Responses",
    temperature: Some(0.0..=2.0),
    top_p: Some(0.0..=1.0),
    stop: Stop::Unsupported,
    nonempty_stop: false,
};

/// Anthropic Messages (also Claude on Vertex AI).
pub const ANTHROPIC: Limits = Limits {
    dialect: "Anthropic Messages",
    temperature: Some(0.0..=1.0),
    top_p: None,
    stop: Stop::Max(None),
    nonempty_stop: false,
};

/// Gemini `generateContent` (Google AI and Vertex AI).
pub const GEMINI: Limits = Limits {
    dialect: "Gemini",
    temperature: Some(0.0..=2.0),
    top_p: None,
    stop: Stop::Max(Some(5)),
    nonempty_stop: false,
};

/// Bedrock Converse `inferenceConfig`.
pub const BEDROCK: Limits = Limits {
    dialect: "Bedrock Converse",
    temperature: Some(0.0..=1.0),
    top_p: Some(0.0..=1.0),
    stop: Stop::Max(Some(2500)),
    nonempty_stop: true,
};

impl Limits {
    /// Checks `params` for `client` (`client "Primary"`); a violation is
    /// `:invalid_request` naming the option, the client and the limit.
    /// `client` names the client in an error; it is only called on one, so
    /// an attempt that passes formats nothing.
    pub fn check(
        &self,
        params: &GenerationParams,
        client: &dyn Fn() -> String,
    ) -> Result<(), Error> {
        let range = |key: &str, value: Option<f64>, range: &Option<RangeInclusive<f64>>| match (
            value, range,
        ) {
            (Some(v), Some(r)) if !r.contains(&v) => Err(Error::invalid_request(format!(
                "option {key:?} is {v} but {} ({}) takes {} to {}",
                client(),
                self.dialect,
                r.start(),
                r.end()
            ))),
            _ => Ok(()),
        };
        range("temperature", params.temperature, &self.temperature)?;
        range("top_p", params.top_p, &self.top_p)?;
        let Some(stop) = &params.stop else {
            return Ok(());
        };
        match self.stop {
            Stop::Unsupported => Err(Error::invalid_request(format!(
                "option \"stop\" is not supported by {} ({}): the API has no stop sequences",
                client(),
                self.dialect
            ))),
            Stop::Max(Some(max)) if stop.len() > max => Err(Error::invalid_request(format!(
                "option \"stop\" has {} sequences but {} ({}) takes at most {max}",
                stop.len(),
                client(),
                self.dialect
            ))),
            _ if self.nonempty_stop && stop.iter().any(String::is_empty) => {
                Err(Error::invalid_request(format!(
                    "option \"stop\" has an empty sequence; {} ({}) needs text to stop at",
                    client(),
                    self.dialect
                )))
            }
            _ => Ok(()),
        }
    }
}

/// `options` with the generic `stop` moved to the dialect's `name`, as a
/// list; a value given under `name` itself wins. A `nil` `stop` moves as
/// `nil`, so it still removes a client's value.
pub fn renamed_stop<'a>(
    options: Cow<'a, Map<String, Value>>,
    name: &str,
) -> Cow<'a, Map<String, Value>> {
    if !options.contains_key("stop") {
        return options;
    }
    let mut options = options.into_owned();
    if let Some(stop) = options.remove("stop") {
        if !options.contains_key(name) {
            options.insert(name.to_owned(), stop_list(stop));
        }
    }
    Cow::Owned(options)
}

/// A `stop` value as a list: a single string becomes a list of one.
pub fn stop_list(stop: Value) -> Value {
    match stop {
        Value::String(s) => Value::Array(vec![Value::String(s)]),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use serde_json::json;

    fn read(v: Value) -> Result<GenerationParams, Error> {
        GenerationParams::read("client \"C\"", v.as_object().expect("map"))
    }

    #[test]
    fn reads_each_parameter_typed() {
        let p = read(
            json!({"temperature": 1, "top_p": 0.5, "max_tokens": 7, "stop": "END",
                            "top_k": 3}),
        )
        .expect("valid");
        assert_eq!(
            p,
            GenerationParams {
                temperature: Some(1.0),
                top_p: Some(0.5),
                max_tokens: Some(7),
                stop: Some(vec!["END".into()]),
            }
        );
        let p = read(json!({"stop": ["a", "b"], "temperature": null})).expect("valid");
        assert_eq!(p.stop, Some(vec!["a".into(), "b".into()]));
        assert_eq!(p.temperature, None);
    }

    #[test]
    fn type_errors_name_the_option() {
        for (bad, key) in [
            (json!({"temperature": "hot"}), "temperature"),
            (json!({"top_p": [1]}), "top_p"),
            (json!({"max_tokens": 0}), "max_tokens"),
            (json!({"max_tokens": -3}), "max_tokens"),
            (json!({"max_tokens": 1.5}), "max_tokens"),
            (json!({"stop": 3}), "stop"),
            (json!({"stop": ["a", 1]}), "stop"),
        ] {
            let e = read(bad.clone()).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Config, "{bad}");
            assert!(e.message.contains(&format!("{key:?}")), "{}", e.message);
            assert!(e.message.contains("client \"C\""), "{}", e.message);
            let e = GenerationParams::read_call(bad.as_object().expect("map")).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidRequest, "{bad}");
            assert!(e.message.contains("the call's options"), "{}", e.message);
        }
    }

    #[test]
    fn a_call_overrides_the_client_and_nil_removes() {
        let client = read(json!({"temperature": 0.1, "stop": "X", "max_tokens": 9})).expect("ok");
        let call_map = json!({"temperature": 0.7, "stop": null});
        let call_map = call_map.as_object().expect("map");
        let call = GenerationParams::read_call(call_map).expect("ok");
        let p = client.with_call(&call, call_map);
        assert_eq!(p.temperature, Some(0.7));
        assert_eq!(p.stop, None);
        assert_eq!(p.max_tokens, Some(9));
    }

    fn check(limits: &Limits, v: Value) -> Result<(), Error> {
        limits.check(&read(v).expect("typed"), &|| "client \"C\"".to_owned())
    }

    #[test]
    fn openai_chat_limits() {
        assert!(check(
            &OPENAI_CHAT,
            json!({"temperature": 2, "top_p": 1, "stop": ["a", "b", "c", "d"]})
        )
        .is_ok());
        let e = check(&OPENAI_CHAT, json!({"temperature": 2.5})).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidRequest);
        assert!(
            e.message.contains("\"temperature\"")
                && e.message.contains("client \"C\"")
                && e.message.contains("0 to 2"),
            "{}",
            e.message
        );
        let e = check(&OPENAI_CHAT, json!({"stop": ["a", "b", "c", "d", "e"]})).unwrap_err();
        assert!(e.message.contains("at most 4"), "{}", e.message);
        assert!(check(&OPENAI_CHAT, json!({"top_p": 1.1})).is_err());
        assert!(check(&OPENAI_CHAT, json!({"temperature": -0.1})).is_err());
    }

    #[test]
    fn responses_refuses_stop() {
        assert!(check(&OPENAI_RESPONSES, json!({"temperature": 1.5, "top_p": 0.9})).is_ok());
        let e = check(&OPENAI_RESPONSES, json!({"stop": "END"})).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidRequest);
        assert!(
            e.message.contains("\"stop\" is not supported"),
            "{}",
            e.message
        );
    }

    #[test]
    fn anthropic_limits() {
        assert!(check(
            &ANTHROPIC,
            json!({"temperature": 1, "stop": ["a", "b", "c", "d", "e", "f"]})
        )
        .is_ok());
        let e = check(&ANTHROPIC, json!({"temperature": 1.2})).unwrap_err();
        assert!(
            e.message.contains("0 to 1") && e.message.contains("Anthropic"),
            "{}",
            e.message
        );
    }

    #[test]
    fn gemini_limits() {
        assert!(check(
            &GEMINI,
            json!({"temperature": 2, "stop": ["1", "2", "3", "4", "5"]})
        )
        .is_ok());
        assert!(check(&GEMINI, json!({"temperature": 2.1})).is_err());
        let e = check(&GEMINI, json!({"stop": ["1", "2", "3", "4", "5", "6"]})).unwrap_err();
        assert!(e.message.contains("at most 5"), "{}", e.message);
    }

    #[test]
    fn bedrock_limits() {
        assert!(check(
            &BEDROCK,
            json!({"temperature": 1, "top_p": 1, "stop": ["END"]})
        )
        .is_ok());
        assert!(check(&BEDROCK, json!({"temperature": 1.5})).is_err());
        assert!(check(&BEDROCK, json!({"top_p": 1.5})).is_err());
        let e = check(&BEDROCK, json!({"stop": [""]})).unwrap_err();
        assert!(e.message.contains("empty"), "{}", e.message);
    }

    #[test]
    fn unchecked_servers_take_anything_typed() {
        assert!(check(
            &UNCHECKED,
            json!({"temperature": 5, "top_p": 3, "stop": ["1", "2", "3", "4", "5"]})
        )
        .is_ok());
    }

    #[test]
    fn stop_is_renamed_as_a_list() {
        let m = json!({"stop": "END", "x": 1});
        let r = renamed_stop(Cow::Borrowed(m.as_object().expect("map")), "stop_sequences");
        assert_eq!(
            Value::Object(r.into_owned()),
            json!({"stop_sequences": ["END"], "x": 1})
        );
        let m = json!({"stop": "END", "stop_sequences": ["N"]});
        let r = renamed_stop(Cow::Borrowed(m.as_object().expect("map")), "stop_sequences");
        assert_eq!(
            Value::Object(r.into_owned()),
            json!({"stop_sequences": ["N"]})
        );
        let m = json!({"stop": null});
        let r = renamed_stop(Cow::Borrowed(m.as_object().expect("map")), "stop_sequences");
        assert_eq!(
            Value::Object(r.into_owned()),
            json!({"stop_sequences": null})
        );
    }

    /// The body fields the generic options reach, per dialect.
    mod wire {
        use serde_json::{json, Value};

        use crate::providers::golden::sent;

        fn body(provider: &str, client: Value, call: Value) -> Value {
            sent(provider, client, json!("Hi"), call, false).body
        }

        #[test]
        fn stop_reaches_each_dialects_field() {
            let b = body(
                "openai",
                json!({"model": "m", "api_key": "k"}),
                json!({"stop": "END"}),
            );
            assert_eq!(b["stop"], json!("END"));
            let b = body(
                "anthropic",
                json!({"model": "m", "api_key": "k", "stop": ["A"]}),
                json!({"stop": "END", "temperature": 0.5}),
            );
            assert_eq!(b["stop_sequences"], json!(["END"]));
            assert_eq!(b["temperature"], json!(0.5));
            assert!(b.get("stop").is_none());
            let b = body(
                "anthropic",
                json!({"model": "m", "api_key": "k", "stop": "A"}),
                json!({}),
            );
            assert_eq!(b["stop_sequences"], json!(["A"]));
            // A `nil` stop in the call removes the client's.
            let b = body(
                "anthropic",
                json!({"model": "m", "api_key": "k", "stop": "A"}),
                json!({"stop": null}),
            );
            assert!(
                b.get("stop_sequences").is_none() && b.get("stop").is_none(),
                "{b}"
            );
            let b = body(
                "google-ai",
                json!({"model": "gemini-2.5-flash", "api_key": "k", "stop": ["A", "B"]}),
                json!({"temperature": 1.5}),
            );
            assert_eq!(
                b["generationConfig"],
                json!({"stopSequences": ["A", "B"], "temperature": 1.5})
            );
            assert!(b.get("stop").is_none());
            let b = body(
                "google-ai",
                json!({"model": "gemini-2.5-flash", "api_key": "k", "stop": "A", "temperature": 1}),
                json!({"stop": null}),
            );
            assert_eq!(b["generationConfig"], json!({"temperature": 1}));
            let b = body(
                "aws-bedrock",
                json!({"model": "m", "api_key": "k-123456", "region": "us-east-1", "stop": "A"}),
                json!({"top_p": 0.5}),
            );
            assert_eq!(
                b["inferenceConfig"],
                json!({"stopSequences": ["A"], "topP": 0.5})
            );
            assert!(b.get("stop").is_none());
            let b = body(
                "aws-bedrock",
                json!({"model": "m", "api_key": "k-123456", "region": "us-east-1"}),
                json!({"stop": "END"}),
            );
            assert_eq!(b["inferenceConfig"], json!({"stopSequences": ["END"]}));
        }

        #[test]
        fn a_clients_own_values_are_checked_at_registry_build() {
            use crate::config::Registry;
            let registry = |provider: &str, options: Value| {
                Registry::from_value(&json!({"clients": [
                    {"name": "Main", "provider": provider, "options": options}
                ]}))
            };
            let e = registry(
                "anthropic",
                json!({"model": "m", "api_key": "k", "temperature": 1.5}),
            )
            .unwrap_err();
            assert_eq!(e.kind, crate::error::ErrorKind::Config);
            assert!(
                e.message.contains("\"temperature\"") && e.message.contains("\"Main\""),
                "{}",
                e.message
            );
            let e =
                registry("openai", json!({"model": "m", "api_key": "k", "stop": 7})).unwrap_err();
            assert_eq!(e.kind, crate::error::ErrorKind::Config);
            assert!(e.message.contains("\"stop\""), "{}", e.message);
            assert!(registry(
                "openai-generic",
                json!({"base_url": "http://h", "temperature": 3})
            )
            .is_ok());
            assert!(registry(
                "openai",
                json!({"model": "m", "api_key": "k", "temperature": 2})
            )
            .is_ok());
        }

        #[test]
        fn vertex_limits_follow_the_model() {
            let p = crate::providers::golden::provider(
                "vertex-ai",
                json!({"model": "gemini-2.5-flash", "location": "us-east5", "project_id": "p",
                       "headers": {"authorization": "Bearer ya29.test"}}),
            );
            let dialect = |call: serde_json::Value| {
                let messages = [crate::prompt::Message::user("hi")];
                let call = call.as_object().cloned().unwrap_or_default();
                let input = crate::wire::CallInput::plain(&messages, &call, false);
                let attempt = p.prepare(&input).expect("prepared");
                attempt.reader.limits().dialect
            };
            assert_eq!(p.default_reader().limits().dialect, "Gemini");
            assert_eq!(dialect(json!({})), "Gemini");
            assert_eq!(
                dialect(json!({"model": "claude-sonnet-4@20250514"})),
                "Anthropic Messages"
            );
        }
    }
}
