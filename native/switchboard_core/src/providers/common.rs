//! Helpers for reading providers' JSON answers.

use serde_json::Value;

use crate::error::Error;

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

pub fn u64_at(v: &Value, path: &[&str]) -> Option<u64> {
    path.iter()
        .try_fold(v, |acc, key| acc.get(key))
        .and_then(Value::as_u64)
}
