//! Core results as the Elixir structs of the public API. Only our own atoms
//! are created here (struct keys, error kinds); provider data stays binaries.

use rustler::{Atom, NifException, NifStruct};

use switchboard_core::{Attempt, Error, ErrorKind, Failure, Response, Usage};

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
}

#[derive(NifStruct)]
#[module = "Switchboard.Attempt"]
pub struct ExAttempt {
    client: String,
    provider: String,
    status: Option<u16>,
    error: Option<ExError>,
    duration_ms: u64,
}

#[derive(NifStruct)]
#[module = "Switchboard.Response"]
pub struct ExResponse {
    content: String,
    model: Option<String>,
    finish_reason: Option<String>,
    usage: ExUsage,
    client: String,
    provider: String,
    attempts: Vec<ExAttempt>,
    latency_ms: u64,
}

#[derive(NifException)]
#[module = "Switchboard.Error"]
pub struct ExError {
    kind: Atom,
    message: String,
    client: Option<String>,
    status: Option<u16>,
    retry_after_ms: Option<u64>,
    attempts: Vec<ExAttempt>,
    raw_response: Option<String>,
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl From<Usage> for ExUsage {
    fn from(u: Usage) -> Self {
        ExUsage {
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
            total_tokens: u.total_tokens,
            cached_input_tokens: u.cached_input_tokens,
            cache_creation_input_tokens: u.cache_creation_input_tokens,
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
        }
    }
}

impl From<Error> for ExError {
    fn from(e: Error) -> Self {
        ExError {
            kind: kind_atom(e.kind),
            message: e.message,
            client: e.client,
            status: e.status,
            retry_after_ms: e.retry_after.map(millis),
            attempts: Vec::new(),
            raw_response: e.raw_response,
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
            model: r.model,
            finish_reason: r.finish_reason,
            usage: r.usage.into(),
            client: r.client,
            provider: r.provider,
            attempts: r.attempts.into_iter().map(ExAttempt::from).collect(),
            latency_ms: millis(r.latency),
        }
    }
}
