//! One scripted answer, parsed from the map a test sends.
//!
//! Parsing is strict: an unknown key is an error, so a typo in a test script
//! fails loudly instead of silently serving the default response.

use std::time::Duration;

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use serde_json::{Map, Value};

use crate::files::FileRoot;
use crate::replay::{self, Replay};

/// How many requests a step answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    Times(u64),
    Forever,
}

/// Token counts a success reports; unset fields take the provider defaults.
#[derive(Debug, Clone, Default)]
pub struct UsageSpec {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cached_input_tokens: Option<u64>,
    pub cache_creation_input_tokens: Option<u64>,
    /// Gemini's `thoughtsTokenCount`.
    pub thoughts_tokens: Option<u64>,
}

/// A tool call a success answers with. `arguments` is sent verbatim, so a
/// test can script arguments that are not valid JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCallSpec {
    /// `None`: the mock makes one up (`call_mock_<n>`); dialects without
    /// ids (Gemini) send none.
    pub id: Option<String>,
    pub name: String,
    pub arguments: String,
}

impl ToolCallSpec {
    /// The id to send: the scripted one, or `call_mock_<index>`.
    pub fn id_or(&self, index: usize) -> String {
        self.id
            .clone()
            .unwrap_or_else(|| format!("call_mock_{index}"))
    }
}

#[derive(Debug, Clone)]
pub struct Step {
    pub status: Option<u16>,
    pub body: Option<Bytes>,
    pub content_type: Option<HeaderValue>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub delay: Option<Duration>,
    pub drop: bool,
    pub truncate_at: Option<usize>,
    pub malformed: bool,
    /// Flip this byte of the body (`chaos::corrupt`).
    pub corrupt_at: Option<usize>,
    /// Answer the head, then filler for ever (`chaos::filler`).
    pub endless: bool,
    pub content: Option<String>,
    pub reasoning: Option<String>,
    /// Tool calls the answer makes, after its text.
    pub tool_calls: Vec<ToolCallSpec>,
    pub finish_reason: Option<String>,
    pub usage: UsageSpec,
    pub chunks: Option<usize>,
    pub chunk_delay: Option<Duration>,
    pub stall_after: Option<usize>,
    pub error_after: Option<usize>,
    pub error_type: Option<String>,
    pub truncate_after: Option<usize>,
    pub split_bytes: Option<usize>,
    pub replay: Option<Replay>,
    /// Gemini: a thought part (`"thought": true`) before the answer.
    pub thoughts: Option<String>,
    /// Gemini: the prompt is blocked (`promptFeedback.blockReason`), no candidates.
    pub block_reason: Option<String>,
    /// Token endpoint and metadata server: the token handed out.
    pub access_token: Option<String>,
    /// Token endpoint and metadata server: the token's `expires_in`.
    pub expires_in: Option<u64>,
    pub repeat: Repeat,
}

impl Default for Step {
    fn default() -> Self {
        Step {
            status: None,
            body: None,
            content_type: None,
            headers: Vec::new(),
            delay: None,
            drop: false,
            truncate_at: None,
            malformed: false,
            corrupt_at: None,
            endless: false,
            content: None,
            reasoning: None,
            tool_calls: Vec::new(),
            finish_reason: None,
            usage: UsageSpec::default(),
            chunks: None,
            chunk_delay: None,
            stall_after: None,
            error_after: None,
            error_type: None,
            truncate_after: None,
            split_bytes: None,
            replay: None,
            thoughts: None,
            block_reason: None,
            access_token: None,
            expires_in: None,
            repeat: Repeat::Times(1),
        }
    }
}

impl Step {
    /// A step that needs no provider knowledge to answer, so it may answer a
    /// request to any path (e.g. a provider this mock does not emulate yet).
    /// Parses a list of step maps. Reads replay files (under `root` only)
    /// now so that a missing file fails the script call, not some later
    /// request.
    pub fn parse_list(value: &Value, root: &FileRoot) -> Result<Vec<Step>, String> {
        let items = value
            .as_array()
            .ok_or_else(|| format!("steps must be a list, got {}", kind(value)))?;
        items
            .iter()
            .enumerate()
            .map(|(i, v)| Step::parse(v, root).map_err(|e| format!("step {i}: {e}")))
            .collect()
    }

    pub fn parse(value: &Value, root: &FileRoot) -> Result<Step, String> {
        let map = value
            .as_object()
            .ok_or_else(|| format!("a step must be a map, got {}", kind(value)))?;
        let mut step = Step::default();
        for (key, v) in map {
            step.set(key, v, map, root)?;
        }
        Ok(step)
    }

    fn set(
        &mut self,
        key: &str,
        v: &Value,
        all: &Map<String, Value>,
        root: &FileRoot,
    ) -> Result<(), String> {
        let f = |e: String| format!("{key}: {e}");
        match key {
            "status" => {
                let s = uint(v).map_err(f)?;
                let s = u16::try_from(s)
                    .ok()
                    .filter(|s| (100..=999).contains(s))
                    .ok_or_else(|| format!("status: {s} is not an HTTP status"))?;
                self.status = Some(s);
            }
            "body" => {
                self.body = opt(v, |v| string(v).map(|s| Bytes::from(s.to_owned()))).map_err(f)?
            }
            "content_type" => {
                self.content_type = opt(v, |v| header_value(string(v)?)).map_err(f)?;
            }
            "headers" => self.headers = headers(v).map_err(f)?,
            "delay_ms" => self.delay = opt(v, millis).map_err(f)?,
            "drop" => self.drop = boolean(v).map_err(f)?,
            "truncate_at" => self.truncate_at = opt(v, usize_of).map_err(f)?,
            "malformed" => self.malformed = boolean(v).map_err(f)?,
            "corrupt_at" => self.corrupt_at = opt(v, usize_of).map_err(f)?,
            "endless" => self.endless = boolean(v).map_err(f)?,
            "content" => self.content = opt(v, |v| string(v).map(str::to_owned)).map_err(f)?,
            "reasoning" => self.reasoning = opt(v, |v| string(v).map(str::to_owned)).map_err(f)?,
            "tool_calls" => self.tool_calls = tool_calls(v).map_err(f)?,
            "finish_reason" | "stop_reason" => {
                self.finish_reason = opt(v, |v| string(v).map(str::to_owned)).map_err(f)?
            }
            "usage" => self.usage = usage(v).map_err(f)?,
            "chunks" => self.chunks = opt(v, usize_of).map_err(f)?,
            "chunk_delay_ms" => self.chunk_delay = opt(v, millis).map_err(f)?,
            "stall_after" => self.stall_after = opt(v, usize_of).map_err(f)?,
            "error_after" => self.error_after = opt(v, usize_of).map_err(f)?,
            "error_type" => {
                self.error_type = opt(v, |v| string(v).map(str::to_owned)).map_err(f)?
            }
            "truncate_after" => self.truncate_after = opt(v, usize_of).map_err(f)?,
            "split_bytes" => {
                let n = opt(v, usize_of).map_err(f)?;
                if n == Some(0) {
                    return Err("split_bytes: must be at least 1".into());
                }
                self.split_bytes = n;
            }
            "replay_cassette" => {
                self.set_replay(key, all)?;
                if let Some(path) = opt(v, |v| string(v).map(str::to_owned)).map_err(f)? {
                    let file = root.resolve(&path).map_err(|e| f(e.to_string()))?;
                    self.replay = Some(replay::load_cassette(&file).map_err(f)?);
                }
            }
            "replay_file" => {
                self.set_replay(key, all)?;
                if let Some(path) = opt(v, |v| string(v).map(str::to_owned)).map_err(f)? {
                    let file = root.resolve(&path).map_err(|e| f(e.to_string()))?;
                    self.replay = Some(replay::load_file(&file).map_err(f)?);
                }
            }
            "replay_chunks_b64" => {
                self.set_replay(key, all)?;
                self.replay = Some(replay::decode_chunks(v).map_err(f)?);
            }
            "thoughts" => self.thoughts = opt(v, |v| string(v).map(str::to_owned)).map_err(f)?,
            "block_reason" => {
                self.block_reason = opt(v, |v| string(v).map(str::to_owned)).map_err(f)?
            }
            "access_token" => {
                self.access_token = opt(v, |v| string(v).map(str::to_owned)).map_err(f)?
            }
            "expires_in" => self.expires_in = opt(v, uint).map_err(f)?,
            "repeat" => {
                self.repeat = match v.as_i64() {
                    Some(-1) => Repeat::Forever,
                    Some(n) if n >= 1 => Repeat::Times(n.unsigned_abs()),
                    _ => return Err("repeat: must be a positive integer or -1".into()),
                };
            }
            other => return Err(format!("unknown key {other:?}")),
        }
        Ok(())
    }

    fn set_replay(&self, key: &str, all: &Map<String, Value>) -> Result<(), String> {
        let replays = ["replay_cassette", "replay_file", "replay_chunks_b64"];
        match replays.iter().find(|k| **k != key && all.contains_key(**k)) {
            Some(other) => Err(format!("{key} and {other} are mutually exclusive")),
            None => Ok(()),
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nil",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

/// `nil` means "not set", as an Elixir caller would expect.
/// `[%{name, arguments, id}]`: arguments a map (sent as its JSON) or a
/// string (sent as is).
fn tool_calls(v: &Value) -> Result<Vec<ToolCallSpec>, String> {
    let items = v
        .as_array()
        .ok_or_else(|| format!("must be a list, got {}", kind(v)))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let map = item
                .as_object()
                .ok_or_else(|| format!("[{i}] must be a map, got {}", kind(item)))?;
            for key in map.keys() {
                if !matches!(key.as_str(), "id" | "name" | "arguments") {
                    return Err(format!("[{i}]: unknown key {key:?}"));
                }
            }
            let name = map
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("[{i}] needs a string name"))?;
            let arguments = match map.get("arguments") {
                None | Some(Value::Null) => "{}".to_owned(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            };
            Ok(ToolCallSpec {
                id: map.get("id").and_then(Value::as_str).map(str::to_owned),
                name: name.to_owned(),
                arguments,
            })
        })
        .collect()
}

fn opt<T>(v: &Value, parse: impl Fn(&Value) -> Result<T, String>) -> Result<Option<T>, String> {
    match v {
        Value::Null => Ok(None),
        v => parse(v).map(Some),
    }
}

fn uint(v: &Value) -> Result<u64, String> {
    v.as_u64()
        .ok_or_else(|| format!("expected a non-negative integer, got {}", kind(v)))
}

fn usize_of(v: &Value) -> Result<usize, String> {
    usize::try_from(uint(v)?).map_err(|_| "integer too large".to_owned())
}

fn millis(v: &Value) -> Result<Duration, String> {
    uint(v).map(Duration::from_millis)
}

fn boolean(v: &Value) -> Result<bool, String> {
    match v {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(*b),
        other => Err(format!("expected a boolean, got {}", kind(other))),
    }
}

fn string(v: &Value) -> Result<&str, String> {
    v.as_str()
        .ok_or_else(|| format!("expected a string, got {}", kind(v)))
}

fn header_value(s: &str) -> Result<HeaderValue, String> {
    HeaderValue::from_str(s).map_err(|_| format!("{s:?} is not a valid header value"))
}

fn headers(v: &Value) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let map = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Object(map) => map,
        other => return Err(format!("expected a map, got {}", kind(other))),
    };
    map.iter()
        .map(|(name, value)| {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("{name:?} is not a valid header name"))?;
            // Integers are accepted because `retry-after: 2` is the natural way to write it.
            let value = match value {
                Value::String(s) => header_value(s)?,
                Value::Number(n) => header_value(&n.to_string())?,
                other => return Err(format!("{name}: expected a string, got {}", kind(other))),
            };
            Ok((name, value))
        })
        .collect()
}

fn usage(v: &Value) -> Result<UsageSpec, String> {
    let map = match v {
        Value::Null => return Ok(UsageSpec::default()),
        Value::Object(map) => map,
        other => return Err(format!("expected a map, got {}", kind(other))),
    };
    let mut u = UsageSpec::default();
    for (key, value) in map {
        let n = opt(value, uint).map_err(|e| format!("{key}: {e}"))?;
        match key.as_str() {
            "input_tokens" | "prompt_tokens" => u.input_tokens = n,
            "output_tokens" | "completion_tokens" => u.output_tokens = n,
            "cached_input_tokens" | "cache_read_input_tokens" | "cached_tokens" => {
                u.cached_input_tokens = n
            }
            "cache_creation_input_tokens" => u.cache_creation_input_tokens = n,
            "thoughts_tokens" | "reasoning_tokens" => u.thoughts_tokens = n,
            other => return Err(format!("unknown usage key {other:?}")),
        }
    }
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_all_plain_keys() {
        let step = Step::parse(
            &json!({
                "status": 429, "headers": {"retry-after": 2}, "delay_ms": 5,
                "content": "hi", "usage": {"input_tokens": 3, "cached_input_tokens": 1},
                "chunks": 2, "repeat": -1
            }),
            &FileRoot::default(),
        )
        .expect("valid step");
        assert_eq!(step.status, Some(429));
        assert_eq!(step.headers[0].1, "2");
        assert_eq!(step.delay, Some(Duration::from_millis(5)));
        assert_eq!(step.usage.cached_input_tokens, Some(1));
        assert_eq!(step.repeat, Repeat::Forever);
    }

    #[test]
    fn parses_google_keys() {
        let step = Step::parse(
            &json!({
                "thoughts": "hmm", "block_reason": "SAFETY", "access_token": "ya29.t",
                "expires_in": 5, "usage": {"thoughts_tokens": 7}
            }),
            &FileRoot::default(),
        )
        .expect("valid step");
        assert_eq!(step.thoughts.as_deref(), Some("hmm"));
        assert_eq!(step.block_reason.as_deref(), Some("SAFETY"));
        assert_eq!(step.access_token.as_deref(), Some("ya29.t"));
        assert_eq!(step.expires_in, Some(5));
        assert_eq!(step.usage.thoughts_tokens, Some(7));
        assert!(Step::parse(&json!({"expires_in": -1}), &FileRoot::default()).is_err());
    }

    #[test]
    fn rejects_unknown_keys_and_bad_types() {
        assert!(Step::parse(&json!({"stauts": 500}), &FileRoot::default()).is_err());
        assert!(Step::parse(&json!({"status": "500"}), &FileRoot::default()).is_err());
        assert!(Step::parse(&json!({"repeat": 0}), &FileRoot::default()).is_err());
        assert!(Step::parse_list(&json!({"status": 500}), &FileRoot::default()).is_err());
    }

    #[test]
    fn nil_means_unset() {
        let step = Step::parse(
            &json!({"content": null, "drop": null}),
            &FileRoot::default(),
        )
        .expect("valid");
        assert!(step.content.is_none());
        assert!(!step.drop);
    }
}
