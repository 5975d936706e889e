//! Runs one call through the registry: strategies, retries, deadlines and
//! cancellation, recording every attempt.

mod attempts;
mod connect;
mod deadline;
mod exchange;
// Sizes measured on x86-64; another architecture lays futures out
// differently and would need its own figures.
#[cfg(all(test, target_arch = "x86_64"))]
mod footprint;
mod gate;
mod lean;
mod media;
pub mod observe;
pub mod raw;
mod strategy;
mod stream;
pub mod transport;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::Registry;
use crate::error::Error;
use crate::prompt::Message;
use crate::response::{Failure, Response};
use crate::structured::OutputSchema;
use crate::tools::{Tool, ToolChoice};
use attempts::AttemptLog;
use deadline::Deadline;
use exchange::HttpExchange;
pub use observe::{CircuitChange, Observer};
use strategy::Ctx;
pub use stream::StreamSink;

/// Everything one call asks for.
#[derive(Debug, Clone, Default)]
pub struct CallRequest {
    pub messages: Vec<Message>,
    /// A client other than the primary: a registry name or `provider/model`.
    pub client: Option<String>,
    /// Merged into each leaf's request body last; checked by
    /// [`crate::providers::check_call_options`] before anything is sent.
    pub overrides: Map<String, Value>,
    /// Total time for the whole call, retries and fallbacks included.
    pub timeout: Option<Duration>,
    pub tools: Vec<Tool>,
    pub tool_choice: Option<ToolChoice>,
    /// A JSON Schema the answer must match; it is decoded into `parsed`
    /// (see [`crate::structured`]).
    pub output_schema: Option<Value>,
    /// Let the retry policy repeat an attempt whose answer does not match
    /// `output_schema` (`retry_invalid_output: true`); by default such an
    /// answer is not retried, though a fallback moves on.
    pub retry_invalid_output: bool,
    /// Keep the answering attempt's answer as received in
    /// [`Response::raw`] (bounded to [`raw::RAW_ANSWER_LIMIT`] bytes).
    pub raw_response: bool,
}

/// Runs `request` to completion, failure or cancellation. With a `sink`,
/// answers are streamed and their text is passed to it as it arrives; an
/// `observer` hears of each attempt as it starts and ends.
///
/// Not an `async fn`: one keeps each argument twice in its state (as the
/// argument and as the local it is moved into), and this state is what
/// every call in flight holds; an `async move` block keeps each once
/// (`footprint.rs` guards its size).
#[allow(clippy::manual_async_fn)]
pub fn execute<'a>(
    registry: Arc<Registry>,
    request: CallRequest,
    cancel: CancellationToken,
    sink: Option<&'a dyn StreamSink>,
    observer: Option<Arc<dyn Observer>>,
) -> impl Future<Output = Result<Response, Failure>> + Send + 'a {
    async move { run_call(&registry, &request, &cancel, sink, observer).await }
}

async fn run_call(
    registry: &Registry,
    request: &CallRequest,
    cancel: &CancellationToken,
    sink: Option<&dyn StreamSink>,
    observer: Option<Arc<dyn Observer>>,
) -> Result<Response, Failure> {
    let started = Instant::now();
    // The call's generation parameters are typed once here; each attempt
    // checks them, over its client's, against that client's dialect. (A
    // temporary, not a local: a `Result` bound to a name would stay in
    // the call's state while it waits.)
    let generation =
        match crate::providers::read_call_options(&request.overrides).and_then(|params| {
            crate::tools::check_output_tool(&request.tools, request.output_schema.is_some())
                .map(|()| params)
        }) {
            Ok(params) => params,
            Err(error) => {
                return Err(Failure {
                    error,
                    attempts: Vec::new(),
                })
            }
        };
    // Compiled once for every attempt (and shared with later calls); an
    // invalid schema fails the call before anything is sent.
    let output = match request.output_schema.as_ref().map(OutputSchema::shared) {
        Some(Err(error)) => {
            return Err(Failure {
                error,
                attempts: Vec::new(),
            })
        }
        Some(Ok(output)) => Some(output),
        None => None,
    };
    let log = AttemptLog::observed(observer);
    // A shorthand client the registry keeps (or built for this call): one
    // pointer in every call's in-flight state.
    let adhoc;
    let node = match (&request.client, registry.primary) {
        (Some(name), _) => match registry.index(name) {
            Some(i) => &registry.clients[i],
            None => match registry.shorthand(name) {
                Ok(n) => {
                    adhoc = n;
                    &*adhoc
                }
                Err(e) => {
                    // A `provider/model` name says why it is no client
                    // (an unknown provider, with the nearest one).
                    let why = if name.contains('/') {
                        format!("; {}", e.message)
                    } else {
                        String::new()
                    };
                    return Err(Failure {
                        error: Error::config(format!(
                            "client {} is not in the registry (known: {}){why}",
                            crate::value::shown(name),
                            listed(registry)
                        )),
                        attempts: Vec::new(),
                    });
                }
            },
        },
        (None, Some(i)) => &registry.clients[i],
        (None, None) => {
            return Err(Failure {
                error: Error::config(format!(
                    "the registry has {} clients and no primary: pass client: in the call, or set primary: (clients: {})",
                    registry.clients.len(),
                    listed(registry)
                )),
                attempts: Vec::new(),
            })
        }
    };
    let exchange = HttpExchange {
        messages: &request.messages,
        options: &request.overrides,
        generation: &generation,
        tools: &request.tools,
        tool_choice: request.tool_choice.as_ref(),
        output: output.as_deref(),
        retry_invalid_output: request.retry_invalid_output,
        raw_response: request.raw_response,
        media: media::MediaCache::default(),
    };
    let ctx = Ctx {
        registry,
        log: &log,
        sink,
        exchange: &exchange,
        waits_for_limits: matches!(node.kind, crate::config::NodeKind::Leaf(_)),
    };
    let run = strategy::run_client(&ctx, node, Deadline::for_call(request.timeout));
    let result = tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(Error::cancelled()),
        r = run => r,
    };
    let attempts = log.take();
    match result {
        Ok(answer) => Ok(Response {
            finish: answer.completion.finish(),
            content: answer.completion.content,
            reasoning: answer.completion.reasoning,
            reasoning_parts: answer.completion.reasoning_parts,
            tool_calls: answer.completion.tool_calls,
            parsed: answer.completion.parsed,
            model: answer.completion.model,
            finish_reason: answer.completion.finish_reason,
            usage: answer.completion.usage,
            cost: crate::pricing::total(attempts.iter().map(|a| a.cost)),
            client: answer.client,
            provider: answer.provider.to_owned(),
            attempts,
            latency: started.elapsed(),
            raw: answer.completion.raw,
        }),
        Err(error) => Err(Failure { error, attempts }),
    }
}

/// Client names for an error: the first ten, then how many more.
fn listed(registry: &Registry) -> String {
    const SHOWN: usize = 10;
    let more = registry.clients.len().saturating_sub(SHOWN);
    let mut list = registry
        .client_names()
        .take(SHOWN)
        .collect::<Vec<_>>()
        .join(", ");
    if more > 0 {
        list.push_str(&format!(" and {more} more"));
    }
    list
}
