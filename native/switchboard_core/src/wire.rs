//! What crosses the wire, provider-neutral: the request a provider builds,
//! the response head it reads errors and answers with, and the answer.

use std::fmt;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::Method;
use serde_json::{Map, Value};
use url::Url;

use crate::error::Error;
use crate::prompt::Message;
use crate::reasoning::ReasoningPart;
use crate::response::{Finish, Usage};
use crate::secret::{Secret, Secrets};
use crate::tools::{Tool, ToolCall, ToolCallStart, ToolChoice};

/// What one call asks of a leaf: the provider builds its request from this
/// and its client's options.
#[derive(Debug, Clone, Copy)]
pub struct CallInput<'a> {
    pub messages: &'a [Message],
    /// The call's `options:`, already checked; they win over the client's.
    pub options: &'a Map<String, Value>,
    /// Ask for a streamed answer.
    pub stream: bool,
    /// Functions the model may call; empty for none.
    pub tools: &'a [Tool],
    /// `None`: the provider's default (auto when there are tools).
    pub tool_choice: Option<&'a ToolChoice>,
    /// Ask for JSON of this JSON Schema.
    pub output_schema: Option<&'a Value>,
}

impl<'a> CallInput<'a> {
    /// A plain call: messages and options, no tools or schema.
    pub fn plain(messages: &'a [Message], options: &'a Map<String, Value>, stream: bool) -> Self {
        CallInput {
            messages,
            options,
            stream,
            tools: &[],
            tool_choice: None,
            output_schema: None,
        }
    }
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
    pub fn post_json<T: serde::Serialize + ?Sized>(url: Url, body: &T) -> Result<Self, Error> {
        let body = serde_json::to_vec(body)
            .map_err(|e| Error::invalid_request(format!("cannot encode the body: {e}")))?;
        let mut headers = HeaderMap::with_capacity(4);
        headers.insert(
            http::header::CONTENT_TYPE,
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
        // As `HeaderMap::extend` would, without first copying the client's
        // whole map on every attempt: each name of the client's replaces
        // ours, with all of its values. A header's name and value are
        // shared bytes, so cloning one is a reference count.
        if !headers.is_empty() {
            for name in headers.keys() {
                self.headers.remove(name);
            }
            self.headers.reserve(headers.len());
            for (name, value) in headers {
                self.headers.append(name.clone(), value.clone());
            }
        }
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
    /// The answer's text (never reasoning or tool input).
    pub content: String,
    /// Reasoning the provider returned (thinking, thoughts, summaries),
    /// kept apart from the answer; empty when there was none.
    pub reasoning: String,
    /// What of the reasoning must go back in the next request of a tool
    /// loop (signatures, encrypted reasoning), in the answer's order.
    pub reasoning_parts: Vec<ReasoningPart>,
    pub tool_calls: Vec<ToolCall>,
    /// Set by the engine: the answer checked against the call's
    /// `output_schema`.
    pub parsed: Option<Value>,
    pub model: Option<String>,
    pub finish_reason: Option<String>,
    pub usage: Usage,
    /// Set by the engine when the call asked for it (`raw_response`): the
    /// answer as received, bounded (see [`crate::engine`]'s `RawAnswer`).
    pub raw: Option<String>,
}

impl Completion {
    /// The normalised finish: from the provider's reason, and tool calls
    /// when there are any (Gemini says `STOP` when it calls a function).
    /// A tool-use stop whose only call was the structured-output tool,
    /// which the engine took out, is a plain stop for the caller.
    pub fn finish(&self) -> Finish {
        match Finish::from_reason(self.finish_reason.as_deref()) {
            Finish::Stop | Finish::Other if !self.tool_calls.is_empty() => Finish::ToolCalls,
            Finish::ToolCalls if self.tool_calls.is_empty() && self.parsed.is_some() => {
                Finish::Stop
            }
            finish => finish,
        }
    }
}

/// Between two parts of an answer's reasoning (thinking blocks, summary
/// parts): they are paragraphs.
pub const REASONING_SEPARATOR: &str = "\n\n";

/// Appends one part of reasoning, a blank line apart from the one before.
pub fn push_reasoning_part(reasoning: &mut String, text: &str) {
    if !reasoning.is_empty() && !text.is_empty() {
        reasoning.push_str(REASONING_SEPARATOR);
    }
    reasoning.push_str(text);
}

/// What one read of a stream yields for the caller. Parsers append to it;
/// the engine forwards it and clears it.
#[derive(Debug, Default)]
pub struct Deltas {
    /// Answer text, in order (never thinking or tool input).
    pub text: String,
    /// Reasoning text, in order.
    pub reasoning: String,
    /// Tool calls that started; their arguments arrive on the response.
    pub tool_calls: Vec<ToolCallStart>,
}

impl Deltas {
    pub fn push_text(&mut self, text: &str) {
        self.text.push_str(text);
    }

    pub fn push_reasoning(&mut self, text: &str) {
        self.reasoning.push_str(text);
    }

    pub fn push_tool_call(&mut self, id: &str, name: &str) {
        self.tool_calls.push(ToolCallStart {
            id: id.to_owned(),
            name: name.to_owned(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty() && self.reasoning.is_empty() && self.tool_calls.is_empty()
    }

    /// Bytes of text and reasoning, for the stream's size limit.
    pub fn len_bytes(&self) -> usize {
        self.text.len() + self.reasoning.len()
    }

    /// A whole answer as one delta, for a stream from a client that does
    /// not stream.
    pub fn whole(completion: &Completion) -> Deltas {
        Deltas {
            text: completion.content.clone(),
            reasoning: completion.reasoning.clone(),
            tool_calls: completion
                .tool_calls
                .iter()
                .map(|c| ToolCallStart {
                    id: c.id.clone(),
                    name: c.name.clone(),
                })
                .collect(),
        }
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.reasoning.clear();
        self.tool_calls.clear();
    }
}
