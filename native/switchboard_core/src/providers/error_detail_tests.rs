//! The provider's own error code and type, read by each dialect from its
//! error bodies, headers and in-stream errors (`Error::provider_code` and
//! `Error::provider_type`).

use http::header::{HeaderMap, HeaderValue};
use serde_json::json;

use super::golden::provider;
use crate::error::{Error, ErrorKind};
use crate::framing::sse::SseEvent;
use crate::framing::Frame;
use crate::wire::{Deltas, ResponseHead};

fn head(status: u16) -> ResponseHead {
    ResponseHead {
        status,
        headers: HeaderMap::new(),
    }
}

fn detail(e: &Error) -> (Option<&str>, Option<&str>) {
    (e.provider_code(), e.provider_type())
}

fn openai() -> Box<dyn super::Provider> {
    provider("openai", json!({"model": "gpt-4o-mini", "api_key": "sk-t"}))
}

#[test]
fn openai_shaped_bodies_give_code_and_type() {
    let e = openai().parse_error(
        &head(429),
        br#"{"error": {"message": "Rate limit reached", "type": "requests", "param": null,
             "code": "rate_limit_exceeded"}}"#,
    );
    assert_eq!(e.kind, ErrorKind::RateLimited);
    assert_eq!(detail(&e), (Some("rate_limit_exceeded"), Some("requests")));

    // A null code, and a body that is not JSON.
    let e = openai().parse_error(
        &head(500),
        br#"{"error": {"message": "m", "type": "server_error", "code": null}}"#,
    );
    assert_eq!(detail(&e), (None, Some("server_error")));
    assert_eq!(
        detail(&openai().parse_error(&head(502), b"<html>")),
        (None, None)
    );

    // Azure names its errors in `code` alone.
    let azure = provider(
        "azure-openai",
        json!({"resource_name": "r", "deployment_id": "d", "api_version": "2024-10-21",
               "api_key": "k-test-1234"}),
    );
    let e = azure.parse_error(
        &head(404),
        br#"{"error": {"code": "DeploymentNotFound", "message": "The API deployment for this resource does not exist."}}"#,
    );
    assert_eq!(detail(&e), (Some("DeploymentNotFound"), None));
}

#[test]
fn openai_errors_inside_answers_and_streams_keep_their_code() {
    let e = openai()
        .parse_response(
            &head(200),
            br#"{"error": {"message": "m", "type": "server_error", "code": 502}}"#,
        )
        .expect_err("an error object");
    assert_eq!(detail(&e), (Some("502"), Some("server_error")));

    // OpenRouter sends the status as a numeric code mid-stream.
    let mut parser = openai().stream_parser();
    let event = SseEvent {
        data: r#"{"error": {"message": "Provider disconnected", "code": 502}}"#.into(),
        ..SseEvent::default()
    };
    let e = parser
        .frame(&Frame::Sse(event), &mut Deltas::default())
        .expect_err("an error event");
    assert_eq!(detail(&e), (Some("502"), None));
}

#[test]
fn an_error_object_inside_a_200_answer_is_mapped_by_its_code() {
    for (body, kind) in [
        (
            r#"{"error": {"message": "slow down", "code": 429}}"#,
            ErrorKind::RateLimited,
        ),
        (
            r#"{"error": {"message": "bad", "code": 400}}"#,
            ErrorKind::InvalidRequest,
        ),
        (
            r#"{"error": {"message": "m", "type": "invalid_request_error"}}"#,
            ErrorKind::InvalidRequest,
        ),
        (
            r#"{"error": {"message": "m", "code": "rate_limit_exceeded"}}"#,
            ErrorKind::RateLimited,
        ),
        (
            r#"{"error": {"message": "m", "code": 401}}"#,
            ErrorKind::Auth,
        ),
        (
            r#"{"error": {"message": "m", "code": 529}}"#,
            ErrorKind::Overloaded,
        ),
        (
            r#"{"error": {"message": "m", "code": 502}}"#,
            ErrorKind::Server,
        ),
        (
            r#"{"error": {"message": "m", "code": "brand_new"}}"#,
            ErrorKind::Server,
        ),
        (
            r#"{"error": {"message": "m", "code": 200}}"#,
            ErrorKind::Server,
        ),
        (r#"{"error": "plain"}"#, ErrorKind::Server),
    ] {
        let e = openai()
            .parse_response(&head(200), body.as_bytes())
            .expect_err("an error object");
        assert_eq!(e.kind, kind, "{body}");
    }
}

#[test]
fn anthropic_error_type_is_the_provider_type() {
    let p = provider(
        "anthropic",
        json!({"model": "claude-haiku-4-5", "api_key": "sk-ant-t"}),
    );
    let e = p.parse_error(
        &head(529),
        br#"{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}"#,
    );
    assert_eq!(e.kind, ErrorKind::Overloaded);
    assert_eq!(detail(&e), (None, Some("overloaded_error")));

    let mut parser = p.stream_parser();
    let event = SseEvent {
        event: Some("error".into()),
        data: r#"{"type": "error", "error": {"type": "api_error", "message": "Internal"}}"#.into(),
        ..SseEvent::default()
    };
    let e = parser
        .frame(&Frame::Sse(event), &mut Deltas::default())
        .expect_err("an error event");
    assert_eq!(detail(&e), (None, Some("api_error")));
}

#[test]
fn google_status_is_the_type_and_the_error_info_reason_the_code() {
    let p = provider(
        "google-ai",
        json!({"model": "gemini-2.5-flash", "api_key": "AIza-test"}),
    );
    // As the Gemini API answers a bad key (firebase's recorded failures).
    let e = p.parse_error(
        &head(400),
        br#"{"error": {"code": 400, "message": "API key not valid.", "status": "INVALID_ARGUMENT",
             "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                          "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]}}"#,
    );
    assert_eq!(
        detail(&e),
        (Some("API_KEY_INVALID"), Some("INVALID_ARGUMENT"))
    );
    let e = p.parse_error(
        &head(503),
        br#"{"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}"#,
    );
    assert_eq!(detail(&e), (None, Some("UNAVAILABLE")));
}

#[test]
fn bedrock_exception_name_is_the_type() {
    let p = provider("aws-bedrock", json!({"model": "m", "region": "us-east-1"}));
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-amzn-errortype",
        HeaderValue::from_static(
            "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
        ),
    );
    let e = p.parse_error(
        &ResponseHead {
            status: 429,
            headers,
        },
        br#"{"message":"slow"}"#,
    );
    assert_eq!(detail(&e), (None, Some("ThrottlingException")));
    let e = p.parse_error(
        &head(400),
        br#"{"__type":"com.amazon.coral#ValidationException","Message":"bad"}"#,
    );
    assert_eq!(detail(&e), (None, Some("ValidationException")));
    assert_eq!(detail(&p.parse_error(&head(500), b"")), (None, None));
}

#[test]
fn responses_failures_keep_code_and_type() {
    let p = provider(
        "openai-responses",
        json!({"model": "gpt-5", "api_key": "sk-t"}),
    );
    let e = p
        .parse_response(
            &head(200),
            br#"{"id": "r", "object": "response", "status": "failed", "output": [],
                 "error": {"code": "rate_limit_exceeded", "message": "slow down"}}"#,
        )
        .expect_err("failed");
    assert_eq!(e.kind, ErrorKind::RateLimited);
    assert_eq!(detail(&e), (Some("rate_limit_exceeded"), None));

    let mut parser = p.stream_parser();
    let event = SseEvent {
        event: Some("error".into()),
        data: r#"{"type": "error", "code": "server_error", "message": "boom", "param": null}"#
            .into(),
        ..SseEvent::default()
    };
    let e = parser
        .frame(&Frame::Sse(event), &mut Deltas::default())
        .expect_err("an error event");
    assert_eq!(detail(&e), (Some("server_error"), None));
}
