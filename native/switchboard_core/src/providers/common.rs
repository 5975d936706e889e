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

/// The kind an OpenAI-shaped error object's `type` or `code` names: an
/// error type or code (`rate_limit_exceeded`), or an HTTP status as a
/// number (OpenRouter's `code`); `None` for one not known.
pub fn error_kind(v: &Value) -> Option<ErrorKind> {
    if let Some(status) = v.as_u64() {
        return u16::try_from(status)
            .ok()
            .filter(|s| (400..=599).contains(s))
            .map(ErrorKind::from_status);
    }
    Some(match v.as_str()? {
        "server_error" | "api_error" | "internal_error" => ErrorKind::Server,
        "rate_limit_exceeded" | "rate_limit_error" => ErrorKind::RateLimited,
        "overloaded_error" | "overloaded" => ErrorKind::Overloaded,
        "invalid_request_error" | "context_length_exceeded" => ErrorKind::InvalidRequest,
        "authentication_error" | "invalid_api_key" => ErrorKind::Auth,
        "permission_error" => ErrorKind::Permission,
        "not_found_error" | "model_not_found" => ErrorKind::NotFound,
        _ => return None,
    })
}

/// The kind of an OpenAI-shaped error object found inside an answer that
/// came with a 200 status: from its `type`, else its `code`, else `:server`.
pub fn error_object_kind(err: &Value) -> ErrorKind {
    ["type", "code"]
        .iter()
        .filter_map(|field| err.get(field))
        .find_map(error_kind)
        .unwrap_or(ErrorKind::Server)
}

pub fn u64_at(v: &Value, path: &[&str]) -> Option<u64> {
    path.iter()
        .try_fold(v, |acc, key| acc.get(key))
        .and_then(Value::as_u64)
}
