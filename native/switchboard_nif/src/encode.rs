//! Core results as the Elixir structs of the public API. Only our own atoms
//! are created here (struct keys, error kinds); provider data stays binaries.

use rustler::types::map::map_new;
use rustler::{Atom, Encoder, Env, NifException, NifStruct, Term};
use serde_json::Value;

use switchboard_core::{
    Attempt, Dialect, Error, ErrorKind, Failure, Finish, ReasoningPart, Response, ToolCall,
    ToolCallStart, Usage,
};

rustler::atoms! {
    config,
    auth,
    permission,
    not_found,
    invalid_request,
    rate_limited,
    overloaded,
    server,
    timeout,
    network,
    bad_response,
    finish_reason,
    cancelled,
    circuit_open,
    stop,
    length,
    tool_calls,
    content_filter,
    other,
    anthropic,
    bedrock,
    gemini,
}

fn dialect_atom(dialect: Dialect) -> Atom {
    match dialect {
        Dialect::Anthropic => anthropic(),
        Dialect::Bedrock => bedrock(),
        Dialect::Gemini => gemini(),
    }
}

#[derive(NifStruct)]
#[module = "Switchboard.ReasoningPart"]
pub struct ExReasoningPart {
    dialect: Atom,
    text: String,
    signature: Option<String>,
    redacted: Option<String>,
}

impl From<ReasoningPart> for ExReasoningPart {
    fn from(p: ReasoningPart) -> Self {
        ExReasoningPart {
            dialect: dialect_atom(p.dialect),
            text: p.text,
            signature: p.signature,
            redacted: p.redacted,
        }
    }
}

fn finish_atom(finish: Finish) -> Atom {
    match finish {
        Finish::Stop => stop(),
        Finish::Length => length(),
        Finish::ToolCalls => tool_calls(),
        Finish::ContentFilter => content_filter(),
        Finish::Other => other(),
    }
}

/// A JSON value as Elixir data: maps with string keys (never atoms),
/// lists, binaries, numbers, booleans and `nil`.
pub struct Json(pub Value);

impl Encoder for Json {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        encode_json(env, &self.0)
    }
}

/// Never decoded: the derives of the structs holding it ask for it.
impl<'a> rustler::Decoder<'a> for Json {
    fn decode(_term: Term<'a>) -> rustler::NifResult<Self> {
        Err(rustler::Error::BadArg)
    }
}

fn encode_json<'a>(env: Env<'a>, value: &Value) -> Term<'a> {
    match value {
        Value::Null => rustler::types::atom::nil().encode(env),
        Value::Bool(b) => b.encode(env),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.encode(env),
            (_, Some(u), _) => u.encode(env),
            (_, _, Some(f)) => f.encode(env),
            _ => rustler::types::atom::nil().encode(env),
        },
        Value::String(s) => s.encode(env),
        Value::Array(items) => items
            .iter()
            .map(|v| encode_json(env, v))
            .collect::<Vec<_>>()
            .encode(env),
        Value::Object(map) => map.iter().fold(map_new(env), |acc, (k, v)| {
            acc.map_put(k.encode(env), encode_json(env, v))
                .unwrap_or(acc)
        }),
    }
}

#[derive(NifStruct)]
#[module = "Switchboard.ToolCall"]
pub struct ExToolCall {
    id: String,
    name: String,
    /// `nil` on a chunk, where the call has only started.
    arguments: Option<Json>,
    signature: Option<String>,
}

impl ExToolCall {
    pub fn started(start: ToolCallStart) -> Self {
        ExToolCall {
            id: start.id,
            name: start.name,
            arguments: None,
            signature: None,
        }
    }
}

impl From<ToolCall> for ExToolCall {
    fn from(call: ToolCall) -> Self {
        ExToolCall {
            id: call.id,
            name: call.name,
            arguments: Some(Json(Value::Object(call.arguments))),
            signature: call.signature,
        }
    }
}

fn kind_atom(kind: ErrorKind) -> Atom {
    match kind {
        ErrorKind::Config => config(),
        ErrorKind::Auth => auth(),
        ErrorKind::Permission => permission(),
        ErrorKind::NotFound => not_found(),
        ErrorKind::InvalidRequest => invalid_request(),
        ErrorKind::RateLimited => rate_limited(),
        ErrorKind::Overloaded => overloaded(),
        ErrorKind::Server => server(),
        ErrorKind::Timeout => timeout(),
        ErrorKind::Network => network(),
        ErrorKind::BadResponse => bad_response(),
        ErrorKind::FinishReason => finish_reason(),
        ErrorKind::Cancelled => cancelled(),
        ErrorKind::CircuitOpen => circuit_open(),
    }
}

#[derive(NifStruct)]
#[module = "Switchboard.Usage"]
pub struct ExUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    total_tokens: Option<u64>,
    cached_input_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    reasoning_tokens: Option<u64>,
    cost: Option<f64>,
}

#[derive(NifStruct)]
#[module = "Switchboard.Attempt"]
pub struct ExAttempt {
    client: String,
    provider: String,
    status: Option<u16>,
    error: Option<ExError>,
    duration_ms: u64,
    usage: Option<ExUsage>,
    started_at: crate::datetime::ExDateTime,
    time_to_first_token_ms: Option<u64>,
}

#[derive(NifStruct)]
#[module = "Switchboard.Response"]
pub struct ExResponse {
    content: String,
    reasoning: Option<String>,
    reasoning_parts: Vec<ExReasoningPart>,
    tool_calls: Vec<ExToolCall>,
    parsed: Option<Json>,
    model: Option<String>,
    finish_reason: Option<String>,
    finish: Atom,
    usage: ExUsage,
    client: String,
    provider: String,
    attempts: Vec<ExAttempt>,
    latency_ms: u64,
    raw: Option<String>,
}

#[derive(NifException)]
#[module = "Switchboard.Error"]
pub struct ExError {
    kind: Atom,
    message: String,
    client: Option<String>,
    status: Option<u16>,
    retry_after_ms: Option<u64>,
    retryable: bool,
    attempts: Vec<ExAttempt>,
    raw_response: Option<String>,
    provider_code: Option<String>,
    provider_type: Option<String>,
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl From<Usage> for ExUsage {
    fn from(u: Usage) -> Self {
        ExUsage::priced(u, None)
    }
}

impl ExUsage {
    /// Token counts and what they cost (`nil` without `pricing`).
    pub fn priced(u: Usage, cost: Option<f64>) -> Self {
        ExUsage {
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
            total_tokens: u.total_tokens,
            cached_input_tokens: u.cached_input_tokens,
            cache_creation_input_tokens: u.cache_creation_input_tokens,
            reasoning_tokens: u.reasoning_tokens,
            cost,
        }
    }
}

impl From<Attempt> for ExAttempt {
    fn from(a: Attempt) -> Self {
        ExAttempt {
            client: a.client,
            provider: a.provider,
            status: a.status,
            error: a.error.map(ExError::from),
            duration_ms: millis(a.duration),
            usage: a.usage.map(|u| ExUsage::priced(u, a.cost)),
            started_at: crate::datetime::ExDateTime::from(a.started_at),
            time_to_first_token_ms: a.time_to_first_token.map(millis),
        }
    }
}

impl From<Error> for ExError {
    fn from(e: Error) -> Self {
        let retryable = e.is_retryable();
        let provider = e.provider.map(|p| *p);
        let (provider_code, provider_type) = provider.map_or((None, None), |p| (p.code, p.kind));
        ExError {
            kind: kind_atom(e.kind),
            message: e.message,
            client: e.client.map(String::from),
            status: e.status,
            retry_after_ms: e.retry_after.map(millis),
            retryable,
            attempts: Vec::new(),
            raw_response: e.raw_response,
            provider_code,
            provider_type,
        }
    }
}

impl From<Failure> for ExError {
    fn from(f: Failure) -> Self {
        ExError {
            attempts: f.attempts.into_iter().map(ExAttempt::from).collect(),
            ..ExError::from(f.error)
        }
    }
}

impl From<Response> for ExResponse {
    fn from(r: Response) -> Self {
        ExResponse {
            content: r.content,
            reasoning: Some(r.reasoning).filter(|t| !t.is_empty()),
            reasoning_parts: r
                .reasoning_parts
                .into_iter()
                .map(ExReasoningPart::from)
                .collect(),
            tool_calls: r.tool_calls.into_iter().map(ExToolCall::from).collect(),
            parsed: r.parsed.map(Json),
            model: r.model,
            finish_reason: r.finish_reason,
            finish: finish_atom(r.finish),
            usage: ExUsage::priced(r.usage, r.cost),
            client: r.client,
            provider: r.provider,
            attempts: r.attempts.into_iter().map(ExAttempt::from).collect(),
            latency_ms: millis(r.latency),
            raw: r.raw,
        }
    }
}
