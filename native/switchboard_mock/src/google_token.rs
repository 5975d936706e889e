//! Google's OAuth 2.0 token endpoint and the GCE metadata server: access
//! tokens, OAuth error bodies and metadata values. They are not model APIs,
//! so not dialects: `route` names them apart and `plan` answers them with
//! what this module renders (`google_auth` checks the requests).

use bytes::Bytes;
use serde::Serialize;

use crate::dialect::json_bytes;
use crate::google_auth::{Answer, Rejection};

pub const JSON: &str = "application/json; charset=utf-8";
/// What the metadata server calls its plain values.
pub const TEXT: &str = "application/text";
pub const HTML: &str = "text/html; charset=UTF-8";

pub const METADATA_PREFIX: &str = "/computeMetadata/v1";
pub const PROJECT_ID: &str = "mock-project";
pub const NUMERIC_PROJECT_ID: &str = "123456789012";
pub const DEFAULT_SERVICE_ACCOUNT: &str = "123456789012-compute@developer.gserviceaccount.com";
/// A token's lifetime unless the step says otherwise, as Google answers.
pub const DEFAULT_EXPIRES_IN: u64 = 3599;

/// Which of Google's credential endpoints a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoogleEndpoint {
    /// The OAuth 2.0 token endpoint: `POST …/token`.
    Token,
    /// The GCE metadata server: `GET /computeMetadata/v1/…`.
    Metadata,
}

impl GoogleEndpoint {
    /// The token endpoint answers errors in JSON, the metadata server in HTML.
    pub fn error_content_type(self) -> &'static str {
        match self {
            GoogleEndpoint::Token => JSON,
            GoogleEndpoint::Metadata => HTML,
        }
    }

    /// A scripted failure; `error_type` replaces the token endpoint's `error`
    /// code.
    pub fn error(self, status: u16, error_type: Option<&str>) -> Bytes {
        match self {
            GoogleEndpoint::Token => oauth_error(status, error_type),
            GoogleEndpoint::Metadata => metadata_error(status),
        }
    }

    /// The refusal of a request the endpoint checked.
    pub fn rejection(self, rejection: &Rejection) -> Bytes {
        match self {
            GoogleEndpoint::Token => oauth_rejection(rejection),
            GoogleEndpoint::Metadata => metadata_rejection(rejection),
        }
    }
}

#[derive(Serialize)]
struct Token<'a> {
    access_token: &'a str,
    expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    token_type: &'static str,
}

/// An accepted request's body and content type.
pub fn token(answer: &Answer, access_token: &str, expires_in: u64) -> (&'static str, Bytes) {
    match answer {
        Answer::Token { scope } => (
            JSON,
            json_bytes(&Token {
                access_token,
                expires_in,
                scope: scope.as_deref(),
                token_type: "Bearer",
            }),
        ),
        Answer::Email => (TEXT, Bytes::from_static(DEFAULT_SERVICE_ACCOUNT.as_bytes())),
        Answer::ProjectId => (TEXT, Bytes::from_static(PROJECT_ID.as_bytes())),
        Answer::NumericProjectId => (TEXT, Bytes::from_static(NUMERIC_PROJECT_ID.as_bytes())),
    }
}

#[derive(Serialize)]
struct OAuthError<'a> {
    error: &'a str,
    error_description: &'a str,
}

/// The token endpoint refusing a request it checked.
fn oauth_rejection(r: &Rejection) -> Bytes {
    json_bytes(&OAuthError {
        error: r.error,
        error_description: &r.description,
    })
}

/// A scripted token-endpoint failure; `error_type` replaces the `error` code.
fn oauth_error(status: u16, error_type: Option<&str>) -> Bytes {
    let (error, description) = match status {
        400 => ("invalid_grant", "Bad Request"),
        401 => ("invalid_client", "The OAuth client was not found."),
        403 => ("access_denied", "Forbidden"),
        429 => ("rate_limit_exceeded", "Rate Limit Exceeded"),
        s if s >= 500 => ("internal_failure", "Backend Error"),
        _ => ("invalid_request", "Bad Request"),
    };
    json_bytes(&OAuthError {
        error: error_type.unwrap_or(error),
        error_description: description,
    })
}

/// The metadata server refusing a request it checked (HTML, as it answers).
fn metadata_rejection(r: &Rejection) -> Bytes {
    html_error(r.status, &r.description)
}

/// A scripted metadata-server failure.
fn metadata_error(status: u16) -> Bytes {
    html_error(status, "The mock was scripted to fail this request.")
}

fn html_error(status: u16, message: &str) -> Bytes {
    Bytes::from(format!(
        "<!DOCTYPE html>\n<html lang=en>\n<title>Error {status}</title>\n<p>{message}</p>\n"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn token_shapes() {
        let (ct, body) = token(&Answer::Token { scope: None }, "ya29.x", 3599);
        assert_eq!(ct, JSON);
        let v: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(
            v,
            json!({"access_token": "ya29.x", "expires_in": 3599, "token_type": "Bearer"})
        );
        let (_, body) = token(
            &Answer::Token {
                scope: Some("s".into()),
            },
            "t",
            1,
        );
        assert!(std::str::from_utf8(&body)
            .expect("utf8")
            .contains(r#""scope":"s""#));
        assert_eq!(
            token(&Answer::ProjectId, "", 0),
            (TEXT, Bytes::from("mock-project"))
        );
    }

    #[test]
    fn oauth_errors() {
        let v: Value = serde_json::from_slice(&oauth_error(503, None)).expect("json");
        assert_eq!(v["error"], "internal_failure");
        let v: Value =
            serde_json::from_slice(&oauth_error(400, Some("invalid_scope"))).expect("json");
        assert_eq!(v["error"], "invalid_scope");
    }
}
