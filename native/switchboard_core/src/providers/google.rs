//! The Gemini wire format (`generateContent`), shared by `google-ai` and
//! Gemini on `vertex-ai`: the request body from a prompt, answers, usage
//! and Google's errors.
//!
//! What an answer means:
//!
//! - The content is the first candidate's text parts, joined, leaving out
//!   thought summaries (`"thought": true`); function calls, images and
//!   code results are not text.
//! - A prompt Google blocked (`promptFeedback.blockReason`) is an
//!   `:invalid_request` error: the same prompt would be blocked again, as a
//!   request with disallowed content is elsewhere.
//! - A candidate with no text whose `finishReason` is not `STOP` (`SAFETY`,
//!   `RECITATION`, `MAX_TOKENS` spent on thinking, a reason added later,
//!   ...) is a `:finish_reason` error, like a rejected finish reason: not
//!   retried, a fallback moves on. With text, it is an answer, and the
//!   client's finish-reason lists decide.
//! - `STOP` with no text (e.g. only a function call) is an empty answer.
//! - A Google error object (`{"error": {"code", "message", "status"}}`),
//!   as the body of a failed request or inside a stream, maps to a kind by
//!   its `status` ([`status_kind`]).

use std::time::Duration;

use serde_json::{json, Map, Value};

use super::common;
use super::options::merge_body;
use super::stream::short;
use super::Completion;
use crate::error::{Error, ErrorKind};
use crate::prompt::{split_system, Content, Media, Message, Part, Role};
use crate::response::Usage;
use crate::wire::ResponseHead;

/// Body fields filled from the prompt.
pub(super) const PROMPT_FIELDS: &[&str] = &["contents", "systemInstruction", "system_instruction"];

/// Generic options every provider's callers use, and where Gemini wants
/// them: inside `generationConfig`, under its own names.
const GENERATION_OPTIONS: &[(&str, &str)] = &[
    ("temperature", "temperature"),
    ("top_p", "topP"),
    ("max_tokens", "maxOutputTokens"),
];

/// `contents` and `systemInstruction` for a prompt. System messages must
/// lead, as they are one instruction apart from the turns.
pub(super) fn prompt_fields(messages: &[Message]) -> Result<Map<String, Value>, Error> {
    let (system, turns) = split_system(messages, "Gemini")?;
    let mut fields = Map::new();
    if !system.is_empty() {
        let parts: Vec<Value> = system.iter().map(|m| json!({"text": m.text()})).collect();
        fields.insert("systemInstruction".into(), json!({"parts": parts}));
    }
    let contents = turns
        .iter()
        .map(|m| {
            let role = if m.role == Role::Assistant {
                "model"
            } else {
                "user"
            };
            let parts: Vec<Value> = match &m.content {
                Content::Text(t) => vec![json!({"text": t})],
                Content::Parts(parts) => parts.iter().map(part_json).collect(),
            };
            json!({"role": role, "parts": parts})
        })
        .collect();
    fields.insert("contents".into(), Value::Array(contents));
    Ok(fields)
}

fn part_json(part: &Part) -> Value {
    match part {
        Part::Text(t) => json!({"text": t}),
        Part::Image(Media::Inline(i)) | Part::Document(i) => {
            json!({"inlineData": {"mimeType": i.media_type, "data": i.data}})
        }
        Part::Image(Media::Url(url)) => match guess_mime_type(url) {
            Some(mime_type) => json!({"fileData": {"mimeType": mime_type, "fileUri": url}}),
            None => json!({"fileData": {"fileUri": url}}),
        },
    }
}

/// The media type of a file URL by its extension, when it is a common one.
fn guess_mime_type(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "pdf" => "application/pdf",
        _ => return None,
    })
}

/// The body: client options, the prompt's fields, then the call's options.
/// `model` goes in the URL, not here; `temperature`, `top_p` and
/// `max_tokens` go into `generationConfig` (as `temperature`, `topP`,
/// `maxOutputTokens`), merged with a `generationConfig` given as an
/// option, the call's settings last.
pub(super) fn body(
    client: &Map<String, Value>,
    fields: Map<String, Value>,
    call: &Map<String, Value>,
) -> Map<String, Value> {
    let mut config = Map::new();
    for options in [client, call] {
        if let Some(Value::Object(given)) = options.get("generationConfig") {
            config.extend(given.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        for (generic, name) in GENERATION_OPTIONS {
            if let Some(v) = options.get(*generic).filter(|v| !v.is_null()) {
                config.insert((*name).to_owned(), v.clone());
            }
        }
    }
    let moved = |(k, v): &(&String, &Value)| {
        k.as_str() == "model"
            || GENERATION_OPTIONS.iter().any(|(generic, _)| k == generic)
            || (k.as_str() == "generationConfig" && v.is_object())
    };
    let rest = |options: &Map<String, Value>| -> Map<String, Value> {
        options
            .iter()
            .filter(|kv| !moved(kv))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let mut body = merge_body(&rest(client), fields, &rest(call));
    if !config.is_empty() {
        body.insert("generationConfig".into(), Value::Object(config));
    }
    body
}

/// A model name as a URL path segment: `models/` dropped, and only the
/// characters model IDs use (`gemini-2.5-flash`, `claude-sonnet-4@20250514`).
pub(super) fn model_id(model: &str) -> Result<&str, String> {
    let id = model.strip_prefix("models/").unwrap_or(model);
    let ok = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    match ok {
        true => Ok(id),
        false => Err(format!(
            "model {} is not a model ID (letters, digits, '-', '_', '.', '@')",
            crate::value::shown(model)
        )),
    }
}

/// What one `GenerateContentResponse` (a whole answer or a stream chunk)
/// says about the first candidate.
#[derive(Debug, Default)]
pub(super) struct Chunk {
    pub text: String,
    pub has_candidate: bool,
    pub finish_reason: Option<String>,
    pub finish_message: Option<String>,
    pub usage: Option<Usage>,
    pub model: Option<String>,
}

/// Reads one response object; an error object or a blocked prompt fails.
pub(super) fn read_chunk(v: &Value) -> Result<Chunk, Error> {
    if !v.is_object() {
        return Err(Error::bad_response("the answer is not a JSON object"));
    }
    if let Some(e) = error_object(v) {
        return Err(e);
    }
    let feedback = v.get("promptFeedback");
    if let Some(reason) = feedback
        .and_then(|f| f.get("blockReason"))
        .and_then(Value::as_str)
    {
        let detail = feedback
            .and_then(|f| f.get("blockReasonMessage"))
            .and_then(Value::as_str)
            .map(|m| format!(": {}", short(m)))
            .unwrap_or_default();
        return Err(Error::invalid_request(format!(
            "Google blocked the prompt (blockReason {reason}){detail}"
        )));
    }
    let candidate = v
        .get("candidates")
        .and_then(Value::as_array)
        .and_then(|c| c.first());
    let text = candidate
        .and_then(|c| c.get("content"))
        .and_then(|c| c.get("parts"))
        .and_then(Value::as_array)
        .map(|parts| {
            parts
                .iter()
                .filter(|p| p.get("thought").and_then(Value::as_bool) != Some(true))
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    let field = |name: &str| {
        candidate
            .and_then(|c| c.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    Ok(Chunk {
        text,
        has_candidate: candidate.is_some(),
        finish_reason: field("finishReason").filter(|r| !r.is_empty()),
        finish_message: field("finishMessage"),
        usage: v.get("usageMetadata").filter(|u| u.is_object()).map(usage),
        model: v
            .get("modelVersion")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

/// The error for an answer that ended with `reason` and no text, if any.
pub(super) fn empty_answer_error(reason: &str, message: Option<&str>) -> Option<Error> {
    if reason == "STOP" {
        return None;
    }
    let detail = message
        .map(|m| format!(": {}", short(m)))
        .unwrap_or_default();
    Some(Error::new(
        ErrorKind::FinishReason,
        format!("the model stopped with finishReason {reason} before giving any text{detail}"),
    ))
}

/// A whole `generateContent` answer.
pub(super) fn parse_response(body: &[u8]) -> Result<Completion, Error> {
    let chunk = read_chunk(&common::parse_json(body)?)?;
    if !chunk.has_candidate {
        return Err(Error::bad_response("the answer has no candidates"));
    }
    if chunk.text.is_empty() {
        match &chunk.finish_reason {
            Some(reason) => {
                if let Some(e) = empty_answer_error(reason, chunk.finish_message.as_deref()) {
                    return Err(e);
                }
            }
            None => {
                return Err(Error::bad_response(
                    "the first candidate has neither text nor a finishReason",
                ))
            }
        }
    }
    Ok(Completion {
        content: chunk.text,
        model: chunk.model,
        finish_reason: chunk.finish_reason,
        usage: chunk.usage.unwrap_or_default(),
        ..Completion::default()
    })
}

/// `usageMetadata`: thinking tokens count as output, cached content is
/// part of the prompt count.
pub(super) fn usage(u: &Value) -> Usage {
    let candidates = common::u64_at(u, &["candidatesTokenCount"]);
    let thoughts = common::u64_at(u, &["thoughtsTokenCount"]);
    let output = match (candidates, thoughts) {
        (None, None) => None,
        (c, t) => Some(c.unwrap_or(0) + t.unwrap_or(0)),
    };
    Usage::new(common::u64_at(u, &["promptTokenCount"]), output)
        .or_total(common::u64_at(u, &["totalTokenCount"]))
        .with_cached(common::u64_at(u, &["cachedContentTokenCount"]), None)
}

/// The kind a Google error `status` (a google.rpc.Code name) stands for.
pub fn status_kind(status: &str) -> Option<ErrorKind> {
    Some(match status {
        "RESOURCE_EXHAUSTED" => ErrorKind::RateLimited,
        "UNAVAILABLE" => ErrorKind::Overloaded,
        "INVALID_ARGUMENT"
        | "FAILED_PRECONDITION"
        | "OUT_OF_RANGE"
        | "ALREADY_EXISTS"
        | "UNIMPLEMENTED" => ErrorKind::InvalidRequest,
        "UNAUTHENTICATED" => ErrorKind::Auth,
        "PERMISSION_DENIED" => ErrorKind::Permission,
        "NOT_FOUND" => ErrorKind::NotFound,
        "DEADLINE_EXCEEDED" => ErrorKind::Timeout,
        // Server-side failures, and operations the server gave up on.
        "INTERNAL" | "UNKNOWN" | "DATA_LOSS" | "ABORTED" | "CANCELLED" => ErrorKind::Server,
        _ => return None,
    })
}

/// The error an `{"error": {...}}` object describes (also the first item of
/// an array of them), or `None` when `v` is not one.
pub(super) fn error_object(v: &Value) -> Option<Error> {
    let v = match v {
        Value::Array(items) => items.first()?,
        other => other,
    };
    let e = v.get("error")?.as_object()?;
    let status = e.get("status").and_then(Value::as_str);
    let code = e
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok());
    let kind = status
        .and_then(status_kind)
        .or_else(|| code.filter(|c| *c >= 400).map(ErrorKind::from_status))
        .unwrap_or(ErrorKind::Server);
    let message = e
        .get("message")
        .and_then(Value::as_str)
        .map(short)
        .unwrap_or_else(|| "the provider returned an error".to_owned());
    let mut error = Error::new(
        kind,
        match status {
            Some(s) => format!("{s}: {message}"),
            None => message,
        },
    );
    error.retry_after = retry_delay(e.get("details"));
    Some(error)
}

/// `retryDelay` of a `google.rpc.RetryInfo` detail (`"24s"`, `"1.5s"`).
fn retry_delay(details: Option<&Value>) -> Option<Duration> {
    details?
        .as_array()?
        .iter()
        .filter(|d| {
            d.get("@type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.ends_with("google.rpc.RetryInfo"))
        })
        .find_map(|d| {
            d.get("retryDelay")?
                .as_str()?
                .strip_suffix('s')?
                .parse::<f64>()
                .ok()
        })
        .filter(|s| s.is_finite() && (0.0..1e9).contains(s))
        .map(Duration::from_secs_f64)
}

/// A failed request's error: Google's error object when the body has one,
/// else the status alone.
pub(super) fn parse_error(head: &ResponseHead, body: &[u8]) -> Error {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| error_object(&v))
        .unwrap_or_else(|| {
            Error::new(
                ErrorKind::from_status(head.status),
                format!("HTTP {} from the provider", head.status),
            )
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_status_has_its_kind() {
        for (status, kind) in [
            ("RESOURCE_EXHAUSTED", ErrorKind::RateLimited),
            ("UNAVAILABLE", ErrorKind::Overloaded),
            ("INVALID_ARGUMENT", ErrorKind::InvalidRequest),
            ("FAILED_PRECONDITION", ErrorKind::InvalidRequest),
            ("UNAUTHENTICATED", ErrorKind::Auth),
            ("PERMISSION_DENIED", ErrorKind::Permission),
            ("NOT_FOUND", ErrorKind::NotFound),
            ("DEADLINE_EXCEEDED", ErrorKind::Timeout),
            ("INTERNAL", ErrorKind::Server),
        ] {
            let e =
                error_object(&json!({"error": {"code": 500, "message": "m", "status": status}}))
                    .unwrap();
            assert_eq!(e.kind, kind, "{status}");
            assert_eq!(e.message, format!("{status}: m"));
        }
        let e = error_object(&json!([{"error": {"code": 429, "message": "slow down"}}])).unwrap();
        assert_eq!(
            (e.kind, e.message.as_str()),
            (ErrorKind::RateLimited, "slow down")
        );
        let e = error_object(
            &json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
            "message": "q", "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
            "retryDelay": "1.5s"}]}}),
        )
        .unwrap();
        assert_eq!(e.retry_after, Some(Duration::from_millis(1500)));
        assert!(error_object(&json!({"candidates": []})).is_none());
    }

    #[test]
    fn answers_blocks_and_empty_candidates() {
        let ok = parse_response(
            br#"{"candidates":[{"content":{"parts":[{"text":"plan","thought":true},{"text":"Hi"},
                {"functionCall":{"name":"f"}},{"text":" there"}]},"finishReason":"STOP"}],
                "usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":3,
                "thoughtsTokenCount":5,"totalTokenCount":18,"cachedContentTokenCount":4},
                "modelVersion":"gemini-2.5-flash"}"#,
        )
        .unwrap();
        assert_eq!(ok.content, "Hi there");
        assert_eq!(ok.finish_reason.as_deref(), Some("STOP"));
        assert_eq!(ok.model.as_deref(), Some("gemini-2.5-flash"));
        assert_eq!(
            ok.usage,
            Usage {
                input_tokens: Some(10),
                output_tokens: Some(8),
                total_tokens: Some(18),
                cached_input_tokens: Some(4),
                cache_creation_input_tokens: None,
                reasoning_tokens: None,
            }
        );
        let blocked =
            parse_response(br#"{"promptFeedback":{"blockReason":"SAFETY"}}"#).unwrap_err();
        assert_eq!(blocked.kind, ErrorKind::InvalidRequest);
        assert!(blocked.message.contains("SAFETY"));
        let safety = parse_response(br#"{"candidates":[{"finishReason":"SAFETY"}]}"#).unwrap_err();
        assert_eq!(safety.kind, ErrorKind::FinishReason);
        let call_only = parse_response(
            br#"{"candidates":[{"content":{"parts":[{"functionCall":{}}]},"finishReason":"STOP"}]}"#,
        )
        .unwrap();
        assert_eq!(call_only.content, "");
        let novel = parse_response(
            br#"{"candidates":[{"content":{"parts":[{"text":"x"}]},"finishReason":"NEW_ENUM"}]}"#,
        )
        .unwrap();
        assert_eq!(novel.finish_reason.as_deref(), Some("NEW_ENUM"));
        for bad in [
            &br#"{"this":1}"#[..],
            br#"{"candidates":[{"content":{}}]}"#,
            b"[1]",
        ] {
            assert_eq!(
                parse_response(bad).unwrap_err().kind,
                ErrorKind::BadResponse
            );
        }
    }

    #[test]
    fn generic_options_move_into_generation_config() {
        let client = json!({"model": "m", "temperature": 0.5, "safetySettings": [],
                            "generationConfig": {"topK": 3, "maxOutputTokens": 10}});
        let call = json!({"max_tokens": 20, "model": "n", "generationConfig": {"topK": 4}});
        let b = body(
            client.as_object().unwrap(),
            Map::new(),
            call.as_object().unwrap(),
        );
        assert_eq!(
            Value::Object(b),
            json!({"safetySettings": [], "generationConfig":
                   {"topK": 4, "maxOutputTokens": 20, "temperature": 0.5}})
        );
    }

    #[test]
    fn model_ids_are_path_segments() {
        assert_eq!(model_id("models/gemini-2.5-flash"), Ok("gemini-2.5-flash"));
        assert_eq!(
            model_id("claude-sonnet-4@20250514"),
            Ok("claude-sonnet-4@20250514")
        );
        for bad in ["", "a/b", "x?y", "../up"] {
            assert!(model_id(bad).is_err(), "{bad}");
        }
    }
}
