//! Google's error bodies, `{"error": {"code", "message", "status"}}`, as the
//! Gemini API and Vertex AI send them (Vertex for Gemini and for Claude).

use bytes::Bytes;
use serde::Serialize;

use super::wire::json_bytes;
use super::{Failure, Platform};

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: u16,
    message: &'a str,
    status: &'a str,
}

/// The error object a stream ends with: `status` (a canonical status
/// name) and the HTTP code Google pairs with it.
pub fn in_stream(status: &str) -> Bytes {
    let code = code_of(status).unwrap_or(500);
    let message = message_of(status, "", "", Platform::Native);
    json_bytes(&ErrorBody {
        error: ErrorDetail {
            code,
            message: &message,
            status,
        },
    })
}

/// An HTTP error: `{"error": {"code", "message", "status"}}`, the status
/// string chosen from the HTTP status unless `error_type` names one.
pub fn body(failure: &Failure<'_>) -> Bytes {
    let name = failure
        .error_type
        .unwrap_or_else(|| status_of(failure.status));
    let message = message_of(name, failure.model, failure.path, failure.platform);
    json_bytes(&ErrorBody {
        error: ErrorDetail {
            code: failure.status,
            message: &message,
            status: name,
        },
    })
}

/// Google's canonical status for an HTTP status.
fn status_of(http: u16) -> &'static str {
    match http {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        s if s >= 500 => "INTERNAL",
        _ => "INVALID_ARGUMENT",
    }
}

/// The HTTP status Google sends with a canonical status.
fn code_of(status: &str) -> Option<u16> {
    Some(match status {
        "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" => 400,
        "UNAUTHENTICATED" => 401,
        "PERMISSION_DENIED" => 403,
        "NOT_FOUND" => 404,
        "ABORTED" | "ALREADY_EXISTS" => 409,
        "RESOURCE_EXHAUSTED" => 429,
        "CANCELLED" => 499,
        "INTERNAL" | "UNKNOWN" | "DATA_LOSS" => 500,
        "UNIMPLEMENTED" => 501,
        "UNAVAILABLE" => 503,
        "DEADLINE_EXCEEDED" => 504,
        _ => return None,
    })
}

/// What Google says with each status (messages taken from real answers).
fn message_of(status: &str, model: &str, path: &str, platform: Platform) -> String {
    let text = match (status, platform) {
        ("INVALID_ARGUMENT", _) => "Request contains an invalid argument.",
        ("FAILED_PRECONDITION", _) => "User location is not supported for the API use.",
        ("UNAUTHENTICATED", _) => {
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
        }
        ("PERMISSION_DENIED", _) => "The caller does not have permission",
        ("NOT_FOUND", Platform::Native) => {
            return format!(
                "models/{model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods."
            )
        }
        ("NOT_FOUND", Platform::Vertex) => {
            return format!(
                "Publisher Model `{}` was not found or your project does not have access to it. Please ensure you are using a valid model version. For more information, see: https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions",
                vertex_resource(path, model)
            )
        }
        ("ABORTED", _) => "The operation was aborted.",
        ("RESOURCE_EXHAUSTED", Platform::Native) => {
            "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits."
        }
        ("RESOURCE_EXHAUSTED", Platform::Vertex) => {
            "Resource exhausted. Please try again later. Please refer to https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429 for more details."
        }
        ("CANCELLED", _) => "The operation was cancelled.",
        ("INTERNAL", _) => {
            "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"
        }
        ("UNIMPLEMENTED", _) => "Operation is not implemented, or supported, or enabled.",
        ("UNAVAILABLE", _) => "The model is overloaded. Please try again later.",
        ("DEADLINE_EXCEEDED", _) => "Deadline expired before operation could complete.",
        _ => "The mock was scripted to fail this request.",
    };
    text.to_owned()
}

/// `projects/…/models/{model}` out of a Vertex path.
fn vertex_resource(path: &str, model: &str) -> String {
    match path.find("projects/") {
        Some(i) => {
            let rest = &path[i..];
            rest.split(':').next().unwrap_or(rest).to_owned()
        }
        None => format!("publishers/google/models/{model}"),
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn error_statuses() {
        for (http, status) in [
            (400, "INVALID_ARGUMENT"),
            (401, "UNAUTHENTICATED"),
            (403, "PERMISSION_DENIED"),
            (404, "NOT_FOUND"),
            (429, "RESOURCE_EXHAUSTED"),
            (500, "INTERNAL"),
            (503, "UNAVAILABLE"),
            (504, "DEADLINE_EXCEEDED"),
            (502, "INTERNAL"),
        ] {
            let v: Value = serde_json::from_slice(&body(&Failure {
                platform: Platform::Native,
                status: http,
                model: "m",
                path: "/v1beta/models/m:generateContent",
                error_type: None,
            }))
            .expect("json");
            assert_eq!(v["error"]["code"], http);
            assert_eq!(v["error"]["status"], status, "{http}");
        }
        let v: Value = serde_json::from_slice(&body(&Failure {
            platform: Platform::Native,
            status: 400,
            model: "m",
            path: "",
            error_type: Some("FAILED_PRECONDITION"),
        }))
        .expect("json");
        assert_eq!(v["error"]["status"], "FAILED_PRECONDITION");
        let v: Value = serde_json::from_slice(&body(&Failure {
            platform: Platform::Vertex,
            status: 404,
            model: "g",
            path: "/v1/projects/p/locations/l/publishers/google/models/g:generateContent",
            error_type: None,
        }))
        .expect("json");
        assert!(v["error"]["message"].as_str().is_some_and(|m| m
            .starts_with("Publisher Model `projects/p/locations/l/publishers/google/models/g`")));
    }
}
