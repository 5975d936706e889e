//! Bedrock's errors: outside a stream `x-amzn-errortype: <Type>:<namespace>`
//! and `{"message": ...}`, the type following the status or named by the
//! step in either spelling; inside one, the camelCase `:exception-type` of
//! an exception frame (`bedrock::exception_frame`). The SigV4 verifier
//! answers its refusals with these too.

use hyper::header::{HeaderName, HeaderValue};
use serde::Serialize;

use super::wire::json_bytes;
use super::ErrorReply;

/// `x-amzn-errortype` namespace of the errors Bedrock itself models.
const BEDROCK_NS: &str = "http://internal.amazon.com/coral/com.amazon.bedrock/";
/// Namespace of the errors the AWS front end raises before Bedrock sees the
/// request (authentication, signatures).
const CORAL_NS: &str = "http://internal.amazon.com/coral/com.amazon.coral.service/";

/// `ThrottlingException` for `throttlingException` and vice versa: scripts
/// may spell a type either way.
pub fn http_error_type(t: &str) -> String {
    let mut chars = t.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

pub fn stream_exception_type(t: &str) -> String {
    let mut chars = t.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// The error type Bedrock answers with for `status`.
fn type_for_status(status: u16) -> &'static str {
    match status {
        401 => "UnrecognizedClientException",
        403 => "AccessDeniedException",
        404 => "ResourceNotFoundException",
        408 => "ModelTimeoutException",
        424 => "ModelErrorException",
        429 => "ThrottlingException",
        503 => "ServiceUnavailableException",
        s if s >= 500 => "InternalServerException",
        _ => "ValidationException",
    }
}

/// The status Bedrock uses for an error type (unknown types: 400).
pub fn status_for_type(error_type: &str) -> u16 {
    match http_error_type(error_type).as_str() {
        "ThrottlingException" | "ModelNotReadyException" => 429,
        "ServiceUnavailableException" => 503,
        "AccessDeniedException"
        | "UnrecognizedClientException"
        | "ExpiredTokenException"
        | "InvalidSignatureException"
        | "IncompleteSignatureException"
        | "MissingAuthenticationTokenException" => 403,
        "ResourceNotFoundException" => 404,
        "ModelTimeoutException" => 408,
        "ModelErrorException" | "ModelStreamErrorException" => 424,
        "InternalServerException" => 500,
        _ => 400,
    }
}

fn namespace(error_type: &str) -> &'static str {
    match error_type {
        "UnrecognizedClientException"
        | "ExpiredTokenException"
        | "InvalidSignatureException"
        | "IncompleteSignatureException"
        | "MissingAuthenticationTokenException" => CORAL_NS,
        _ => BEDROCK_NS,
    }
}

pub const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

pub(super) fn message_for(error_type: &str, model: &str) -> String {
    match error_type {
        "ThrottlingException" => "Too many requests, please wait before trying again.".into(),
        "ServiceUnavailableException" => {
            "Model is getting throttled. Try your request again.".into()
        }
        "ModelNotReadyException" => "Model is not ready to serve inference requests. The AWS SDK will automatically retry the operation up to 5 times. For information about configuring automatic retries, see Retry behavior in the AWS SDKs and Tools reference guide.".into(),
        "AccessDeniedException" => {
            "You don't have access to the model with the specified model ID.".into()
        }
        "ResourceNotFoundException" => format!(
            "Could not resolve the foundation model from the provided model identifier: {model}."
        ),
        "ModelTimeoutException" => {
            "Model has timed out in processing the request. Try your request again.".into()
        }
        "ModelErrorException" => "The model returned an error. Try your request again.".into(),
        "ModelStreamErrorException" => "The model stream had an error. Try your request again.".into(),
        "InternalServerException" => "The server encountered an internal error while processing the request.".into(),
        "ServiceQuotaExceededException" => "Your request exceeds the service quota for your account. You can view your quotas at Viewing service quotas.".into(),
        "UnrecognizedClientException" => "The security token included in the request is invalid.".into(),
        "ExpiredTokenException" => "The security token included in the request is expired".into(),
        "InvalidSignatureException" => SIGNATURE_MISMATCH.into(),
        "IncompleteSignatureException" => "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.".into(),
        "MissingAuthenticationTokenException" => "Missing Authentication Token".into(),
        "ValidationException" => {
            "Malformed input request, please reformat your input and try again.".into()
        }
        other => format!("The mock was scripted to answer with {other}."),
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    message: &'a str,
}

/// `x-amzn-errortype: <Type>:<namespace>`; a type that is not a valid header
/// value (a script typo with a newline) is sent without the header.
fn error_type_header(error_type: &str) -> Vec<(HeaderName, HeaderValue)> {
    let value = format!("{error_type}:{}", namespace(error_type));
    HeaderValue::from_str(&value)
        .map(|v| vec![(HeaderName::from_static("x-amzn-errortype"), v)])
        .unwrap_or_default()
}

/// The error Bedrock sends for `status`, or for the scripted `error_type`.
pub fn error(status: u16, model: &str, error_type: Option<&str>) -> ErrorReply {
    let kind = error_type.map_or_else(|| type_for_status(status).to_owned(), http_error_type);
    error_with_message(&kind, &message_for(&kind, model))
}

pub fn error_with_message(error_type: &str, message: &str) -> ErrorReply {
    ErrorReply {
        body: json_bytes(&ErrorBody { message }),
        headers: error_type_header(error_type),
    }
}

/// A rejected Bedrock API key. The service spells the key `Message` here.
pub fn api_key_error() -> ErrorReply {
    #[derive(Serialize)]
    struct Capital<'a> {
        #[serde(rename = "Message")]
        message: &'a str,
    }
    ErrorReply {
        body: json_bytes(&Capital {
            message: "Authentication failed: Please make sure your API Key is valid.",
        }),
        headers: error_type_header("UnrecognizedClientException"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_types_round_trip_between_spellings() {
        assert_eq!(
            http_error_type("throttlingException"),
            "ThrottlingException"
        );
        assert_eq!(
            stream_exception_type("ThrottlingException"),
            "throttlingException"
        );
        assert_eq!(status_for_type("modelNotReadyException"), 429);
        let e = error(503, "m", None);
        assert_eq!(
            e.headers[0].1,
            "ServiceUnavailableException:http://internal.amazon.com/coral/com.amazon.bedrock/"
        );
        let e = error(403, "m", Some("expiredTokenException"));
        assert!(e.headers[0]
            .1
            .to_str()
            .expect("ascii")
            .starts_with("ExpiredTokenException:"));
    }
}
