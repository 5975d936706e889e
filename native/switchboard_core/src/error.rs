//! The one error type every layer returns. Its `kind` is the public contract
//! (`Switchboard.Error.kind`), so the variants mirror DESIGN.md exactly.

use std::fmt;
use std::time::Duration;

/// What went wrong, coarse enough to act on: retry, fall back, or give up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    Config,
    Auth,
    Permission,
    NotFound,
    InvalidRequest,
    RateLimited,
    Overloaded,
    Server,
    Timeout,
    Network,
    BadResponse,
    FinishReason,
    Cancelled,
    /// The client's circuit breaker refused the attempt: no HTTP was sent.
    CircuitOpen,
}

impl ErrorKind {
    /// The name used on the Elixir side (`:rate_limited`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Config => "config",
            ErrorKind::Auth => "auth",
            ErrorKind::Permission => "permission",
            ErrorKind::NotFound => "not_found",
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Overloaded => "overloaded",
            ErrorKind::Server => "server",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Network => "network",
            ErrorKind::BadResponse => "bad_response",
            ErrorKind::FinishReason => "finish_reason",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::CircuitOpen => "circuit_open",
        }
    }

    /// Transient failures that a retry policy may repeat. Client errors,
    /// rejected finish reasons and cancellation never change on a retry.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited
                | ErrorKind::Overloaded
                | ErrorKind::Server
                | ErrorKind::Timeout
                | ErrorKind::Network
                | ErrorKind::BadResponse
        )
    }

    /// The kind an HTTP error status stands for, before the body refines it.
    pub fn from_status(status: u16) -> ErrorKind {
        match status {
            401 => ErrorKind::Auth,
            403 => ErrorKind::Permission,
            404 => ErrorKind::NotFound,
            408 => ErrorKind::Timeout,
            // 409 is a lock/conflict the provider asks us to repeat.
            409 => ErrorKind::Server,
            429 => ErrorKind::RateLimited,
            503 | 529 => ErrorKind::Overloaded,
            500..=599 => ErrorKind::Server,
            _ => ErrorKind::InvalidRequest,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure of one call, one attempt or one configuration.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    /// The client the failure belongs to (leaf for HTTP failures). A
    /// `Box<str>`, never grown, so the error stays small enough for every
    /// `Result` to carry.
    pub client: Option<Box<str>>,
    pub status: Option<u16>,
    pub retry_after: Option<Duration>,
    /// The provider's response body, with any secret of the client removed.
    pub raw_response: Option<String>,
    /// Overrides whether a retry policy may repeat the attempt; `None`
    /// leaves it to the kind ([`ErrorKind::is_retryable`]). An answer that
    /// does not match the call's `output_schema` is `:bad_response` but
    /// not retried (unless the call asks), while a fallback moves on.
    pub retryable: Option<bool>,
    /// The provider's own names for the error, when it gave any. Boxed:
    /// most errors have none, and every `Result` carries an `Error`'s size.
    pub provider: Option<Box<ProviderDetail>>,
    /// The client's own circuit breaker or limits refused the attempt
    /// before any HTTP (`:circuit_open`, or `:rate_limited` with no status).
    /// The leaf's retry policy does not repeat it (`retryable` is false);
    /// a strategy's policy moves on at once, with no backoff, since its
    /// next attempt goes to another client or finds the limit changed.
    pub refused: bool,
}

/// The provider's own code and type of an error, each bounded to
/// [`PROVIDER_FIELD_LIMIT`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderDetail {
    /// Its error code, as sent (OpenAI's `error.code`, Google's
    /// `ErrorInfo` reason).
    pub code: Option<String>,
    /// Its error type (OpenAI's and Anthropic's `error.type`, Google's
    /// `error.status`, Bedrock's exception name).
    pub kind: Option<String>,
}

/// The most characters kept of a provider's error code or type: they are
/// short names, and a program matches on them, so a long one is not one.
pub const PROVIDER_FIELD_LIMIT: usize = 128;

/// A provider's code or type, bounded; `None` for an empty one.
fn provider_field(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| v.chars().take(PROVIDER_FIELD_LIMIT).collect())
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            client: None,
            status: None,
            retry_after: None,
            raw_response: None,
            retryable: None,
            provider: None,
            refused: false,
        }
    }

    /// Sets the provider's own error code and type (see [`ProviderDetail`]).
    pub fn with_provider_detail(mut self, code: Option<&str>, kind: Option<&str>) -> Self {
        let detail = ProviderDetail {
            code: provider_field(code),
            kind: provider_field(kind),
        };
        self.provider = (detail.code.is_some() || detail.kind.is_some()).then(|| Box::new(detail));
        self
    }

    /// The provider's own error code, if it gave one.
    pub fn provider_code(&self) -> Option<&str> {
        self.provider.as_ref()?.code.as_deref()
    }

    /// The provider's own error type, if it gave one.
    pub fn provider_type(&self) -> Option<&str> {
        self.provider.as_ref()?.kind.as_deref()
    }

    /// Whether a retry policy may repeat the attempt that failed so.
    pub fn is_retryable(&self) -> bool {
        self.retryable.unwrap_or(self.kind.is_retryable())
    }

    pub fn config(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config, message)
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidRequest, message)
    }

    pub fn bad_response(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::BadResponse, message)
    }

    /// An answer holding a part Switchboard cannot read (a server tool's
    /// block, a type added later, redacted reasoning without its data).
    /// `:bad_response`, but not retried: the same request gets the same
    /// kind of answer, so repeating it only pays again (and would count
    /// against the circuit breaker). A fallback still moves on.
    pub fn unread_part(message: impl Into<String>) -> Self {
        Error {
            retryable: Some(false),
            ..Error::new(ErrorKind::BadResponse, message)
        }
    }

    /// An attempt the client's own circuit breaker or limits refused
    /// before any HTTP (see [`Error::refused`]'s field).
    pub fn refusal(
        kind: ErrorKind,
        message: impl Into<String>,
        retry_after: Option<Duration>,
    ) -> Self {
        Error {
            retry_after,
            retryable: Some(false),
            refused: true,
            ..Error::new(kind, message)
        }
    }

    pub fn cancelled() -> Self {
        Error::new(ErrorKind::Cancelled, "the call was cancelled")
    }

    pub fn with_client(mut self, client: &str) -> Self {
        if self.client.is_none() {
            self.client = Some(client.into());
        }
        self
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }
}

/// An error and its causes on one line; reqwest's top message alone is
/// often just "error sending request".
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_mapping_follows_the_contract() {
        assert_eq!(ErrorKind::from_status(400), ErrorKind::InvalidRequest);
        assert_eq!(ErrorKind::from_status(422), ErrorKind::InvalidRequest);
        assert_eq!(ErrorKind::from_status(529), ErrorKind::Overloaded);
        assert_eq!(ErrorKind::from_status(502), ErrorKind::Server);
        assert!(ErrorKind::from_status(408).is_retryable());
        assert!(ErrorKind::from_status(409).is_retryable());
        for s in [400, 401, 403, 404, 422] {
            assert!(!ErrorKind::from_status(s).is_retryable(), "{s}");
        }
    }

    #[test]
    fn provider_detail_is_bounded_and_empty_is_none() {
        let long = "x".repeat(PROVIDER_FIELD_LIMIT + 50);
        let e = Error::new(ErrorKind::Server, "m").with_provider_detail(Some(&long), Some(" "));
        assert_eq!(e.provider_code().unwrap().len(), PROVIDER_FIELD_LIMIT);
        assert_eq!(e.provider_type(), None);
        let none = Error::new(ErrorKind::Server, "m").with_provider_detail(None, Some(""));
        assert_eq!(none.provider, None);
    }
}
