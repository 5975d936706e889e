//! What crosses the wire, provider-neutral: the request a provider builds,
//! the response head it reads errors and answers with, and the answer.

use std::fmt;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use serde_json::{Map, Value};

use crate::error::Error;
use crate::prompt::Message;
use crate::response::Usage;
use crate::secret::{Secret, Secrets};

/// What one call asks of a leaf: the provider builds its request from this
/// and its client's options. Later call features (tools, an output schema)
/// are added here, so providers see them without a new method.
#[derive(Debug, Clone, Copy)]
pub struct CallInput<'a> {
    pub messages: &'a [Message],
    /// The call's `options:`, already checked; they win over the client's.
    pub options: &'a Map<String, Value>,
    /// Ask for a streamed answer.
    pub stream: bool,
}

/// An HTTP request as sent. Built by the provider, then authorized (a key
/// header, a token, a signature over these exact bytes), then sent.
pub struct HttpRequest {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Everything to redact from what the server answers.
    pub secrets: Secrets,
}

impl HttpRequest {
    pub fn post_json(url: Url, body: &Map<String, Value>) -> Result<Self, Error> {
        let body = serde_json::to_vec(body)
            .map_err(|e| Error::invalid_request(format!("cannot encode the body: {e}")))?;
        let mut headers = HeaderMap::with_capacity(4);
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let mut secrets = Secrets::default();
        if !url.username().is_empty() || url.password().is_some() {
            secrets.push_userinfo(url.username(), url.password().unwrap_or(""));
        }
        Ok(HttpRequest {
            method: Method::POST,
            url,
            headers,
            body: body.into(),
            secrets,
        })
    }

    /// Adds a client's own `headers:` (they win over ours) and the secrets
    /// among them.
    pub fn with_client_headers(mut self, headers: &HeaderMap, secrets: &Secrets) -> Self {
        self.headers.extend(headers.clone());
        self.secrets.extend(secrets);
        self
    }

    /// Sets a header whose value is a credential: marked sensitive (never
    /// logged by the HTTP stack, never indexed by HPACK) and redacted.
    pub fn set_secret_header(&mut self, name: HeaderName, value: &Secret) -> Result<(), Error> {
        let mut v = HeaderValue::from_str(value.expose()).map_err(|_| {
            Error::new(
                crate::error::ErrorKind::Auth,
                format!("the credential for header {name} is not a valid header value"),
            )
        })?;
        v.set_sensitive(true);
        self.headers.insert(name, v);
        self.secrets.push_header_value(value);
        Ok(())
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("host", &self.url.host_str())
            .field("path", &self.url.path())
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// The status and headers of an answer, which providers read errors and
/// retry hints from.
#[derive(Debug, Clone)]
pub struct ResponseHead {
    pub status: u16,
    pub headers: HeaderMap,
}

impl ResponseHead {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A successful, provider-neutral answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Completion {
    pub content: String,
    pub model: Option<String>,
    pub finish_reason: Option<String>,
    pub usage: Usage,
}

/// What one read of a stream yields for the caller. Parsers append to it;
/// the engine forwards it and clears it.
#[derive(Debug, Default)]
pub struct Deltas {
    /// Answer text, in order (never thinking or tool input).
    pub text: String,
}

impl Deltas {
    pub fn push_text(&mut self, text: &str) {
        self.text.push_str(text);
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}
