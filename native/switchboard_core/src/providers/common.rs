//! Helpers for reading providers' JSON answers.

use serde_json::Value;

use crate::error::{Error, ErrorKind};

pub fn parse_json(body: &[u8]) -> Result<Value, Error> {
    parse_answer(body)
}

/// The provider's answer read into `T`, or `BadResponse`.
pub fn parse_answer<'a, T: serde::Deserialize<'a>>(body: &'a [u8]) -> Result<T, Error> {
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

/// The error of an OpenAI-shaped body (`{"error": {"message", "code",
/// "type"}}`, also Azure's, OpenRouter's and compatible servers'): its
/// message and the provider's own code and type, when it has them.
pub fn openai_error(body: &[u8], status: u16) -> Error {
    let v: Option<Value> = serde_json::from_slice(body).ok();
    let message = error_message(body).unwrap_or_else(|| format!("HTTP {status} from the provider"));
    let detail = v
        .as_ref()
        .and_then(|v| v.get("error"))
        .filter(|e| e.is_object());
    Error::new(ErrorKind::from_status(status), message).with_provider_detail(
        detail.and_then(|e| code_text(e.get("code"))).as_deref(),
        detail.and_then(|e| e.get("type")).and_then(Value::as_str),
    )
}

/// An error code as text: a name (`"rate_limit_exceeded"`), or a number
/// (OpenRouter sends the HTTP status as `code`).
pub fn code_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub fn u64_at(v: &Value, path: &[&str]) -> Option<u64> {
    path.iter()
        .try_fold(v, |acc, key| acc.get(key))
        .and_then(Value::as_u64)
}
