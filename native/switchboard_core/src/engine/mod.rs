//! Runs one call through the registry: strategies, retries, deadlines and
//! cancellation, recording every attempt.

mod attempts;
mod deadline;
pub mod http;
mod stream;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::{ClientNode, Leaf, NodeKind, Registry};
use crate::error::{redact, Error, ErrorKind};
use crate::prompt::Message;
use crate::providers::Completion;
use crate::response::{Failure, Response};
use attempts::AttemptLog;
use deadline::Deadline;
pub use stream::StreamSink;

/// Largest provider body kept on an error, so a huge HTML error page does
/// not travel to every receiver.
const RAW_RESPONSE_LIMIT: usize = 64 * 1024;

/// Everything one call asks for.
#[derive(Debug, Clone, Default)]
pub struct CallRequest {
    pub messages: Vec<Message>,
    /// A client other than the primary: a registry name or `provider/model`.
    pub client: Option<String>,
    /// Merged into each leaf's request body last.
    pub overrides: Map<String, Value>,
    /// Total time for the whole call, retries and fallbacks included.
    pub timeout: Option<Duration>,
}

struct Ctx<'a> {
    registry: &'a Registry,
    request: &'a CallRequest,
    log: &'a AttemptLog,
    /// Present for streamed calls.
    sink: Option<&'a dyn StreamSink>,
}

/// The leaf that answered and what it said.
struct Answer {
    completion: Completion,
    client: String,
    provider: &'static str,
}

/// Runs `request` to completion, failure or cancellation. With a `sink`,
/// answers are streamed and their text is passed to it as it arrives.
pub async fn execute(
    registry: Arc<Registry>,
    request: CallRequest,
    cancel: CancellationToken,
    sink: Option<&dyn StreamSink>,
) -> Result<Response, Failure> {
    let started = Instant::now();
    let log = AttemptLog::default();
    // Boxed: rare, and inline it would widen every call's in-flight state.
    let adhoc;
    let node = match (&request.client, registry.primary) {
        (Some(name), _) => match registry.index(name) {
            Some(i) => &registry.clients[i],
            None => match registry.shorthand(name) {
                Ok(n) => {
                    adhoc = Box::new(n);
                    &adhoc
                }
                Err(_) => {
                    return Err(Failure {
                        error: Error::config(format!(
                            "client {} is not in the registry (known: {})",
                            crate::prompt::shown(name),
                            registry.client_names().collect::<Vec<_>>().join(", ")
                        )),
                        attempts: Vec::new(),
                    })
                }
            },
        },
        (None, Some(i)) => &registry.clients[i],
        (None, None) => {
            return Err(Failure {
                error: Error::config(
                    "the registry has no primary client; set one or pass client: in the call",
                ),
                attempts: Vec::new(),
            })
        }
    };
    let ctx = Ctx {
        registry: &registry,
        request: &request,
        log: &log,
        sink,
    };
    let run = run_client(&ctx, node, Deadline::for_call(request.timeout));
    let result = tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(Error::cancelled()),
        r = run => r,
    };
    let attempts = log.take();
    match result {
        Ok(answer) => Ok(Response {
            content: answer.completion.content,
            model: answer.completion.model,
            finish_reason: answer.completion.finish_reason,
            usage: answer.completion.usage,
            client: answer.client,
            provider: answer.provider.to_owned(),
            attempts,
            latency: started.elapsed(),
        }),
        Err(error) => Err(Failure { error, attempts }),
    }
}

type BoxedRun<'a> = Pin<Box<dyn Future<Output = Result<Answer, Error>> + Send + 'a>>;

/// Runs one client (leaf or strategy) under its retry policy.
fn run_client<'a>(ctx: &'a Ctx<'a>, node: &'a ClientNode, outer: Deadline<'a>) -> BoxedRun<'a> {
    Box::pin(async move {
        let deadline = outer.tighten(&node.name, node.total_timeout);
        let mut retries = 0;
        loop {
            let result = match &node.kind {
                NodeKind::Leaf(leaf) => run_leaf(ctx, node, leaf, deadline).await,
                NodeKind::Fallback(children) => run_fallback(ctx, node, children, deadline).await,
                NodeKind::RoundRobin {
                    children,
                    start,
                    next,
                } => {
                    let turn = next.fetch_add(1, Ordering::Relaxed);
                    let child = children[(start + turn) % children.len()];
                    run_client(ctx, &ctx.registry.clients[child], deadline).await
                }
            };
            let error = match result {
                Ok(answer) => return Ok(answer),
                Err(e) if deadline.passed() && e.kind != ErrorKind::Cancelled => {
                    return Err(if e.kind == ErrorKind::Timeout {
                        e
                    } else {
                        deadline.error()
                    })
                }
                Err(e) => e,
            };
            let Some(policy) = &node.retry else {
                return Err(error);
            };
            if !error.kind.is_retryable() || retries >= policy.max_retries {
                return Err(error);
            }
            retries += 1;
            let mut delay = policy.delay(retries);
            if let Some(asked) = error.retry_after {
                if asked > policy.max_delay() {
                    // Waiting that long would stall a fallback that could answer now.
                    return Err(error);
                }
                delay = delay.max(asked);
            }
            if deadline.cuts_short(delay) {
                let mut e = deadline.error();
                e.message = format!(
                    "{} before retry {retries}; last error: {}",
                    e.message, error.message
                );
                return Err(e);
            }
            tokio::time::sleep(delay).await;
        }
    })
}

async fn run_fallback<'a>(
    ctx: &'a Ctx<'a>,
    node: &'a ClientNode,
    children: &'a [usize],
    deadline: Deadline<'a>,
) -> Result<Answer, Error> {
    let mut last = None;
    for &child in children {
        match run_client(ctx, &ctx.registry.clients[child], deadline).await {
            Ok(answer) => return Ok(answer),
            Err(e) if e.kind == ErrorKind::Cancelled || deadline.passed() => return Err(e),
            Err(e) => last = Some(e),
        }
    }
    let mut error = last.unwrap_or_else(|| Error::config("empty strategy"));
    error.message = format!(
        "every client of fallback {:?} failed; the last said: {}",
        node.name, error.message
    );
    Err(error)
}

/// One HTTP attempt of a leaf client.
async fn run_leaf<'a>(
    ctx: &'a Ctx<'a>,
    node: &'a ClientNode,
    leaf: &'a Leaf,
    deadline: Deadline<'a>,
) -> Result<Answer, Error> {
    let attempt = ctx.log.begin(&node.name, node.provider);
    let mut delivered = false;
    let mut emit = |text: &str| {
        if let Some(sink) = ctx.sink {
            delivered = true;
            sink.chunk(attempt.number, &node.name, text);
        }
    };
    // The exchange future is built in each arm: bound to a local first, it
    // would take its size twice in every call's state.
    let result = match deadline.instant() {
        Some(at) => tokio::time::timeout_at(at, exchange(ctx, leaf, &mut emit))
            .await
            .unwrap_or_else(|_| Err(deadline.error())),
        None => exchange(ctx, leaf, &mut emit).await,
    };
    let result = result.map_err(|e| e.with_client(&node.name));
    let number = attempt.number;
    match &result {
        Ok((status, _)) => {
            attempt.finish(Some(*status), None);
        }
        Err(e) => {
            let record = attempt.finish(e.status, Some(e.clone()));
            if let (true, Some(sink)) = (delivered, ctx.sink) {
                sink.reset(number, &record);
            }
        }
    }
    result.map(|(_, completion)| Answer {
        completion,
        client: node.name.clone(),
        provider: node.provider,
    })
}

async fn exchange(
    ctx: &Ctx<'_>,
    leaf: &Leaf,
    emit: &mut (dyn FnMut(&str) + Send),
) -> Result<(u16, Completion), Error> {
    let streaming = ctx.sink.is_some() && leaf.supports_streaming;
    let request =
        leaf.provider
            .prepare(&ctx.request.messages, &ctx.request.overrides, streaming)?;
    let secrets: Vec<&str> = request.secret.iter().map(String::as_str).collect();
    let clean = |e: Error| Error {
        message: redact(&e.message, &secrets),
        raw_response: e.raw_response.map(|r| redact(&r, &secrets)),
        ..e
    };
    let (status, completion) = if streaming {
        // Boxed: a stream's state is large and most calls do not stream,
        // so it should not widen every call's future.
        Box::pin(stream::exchange(leaf, &request, emit))
            .await
            .map_err(clean)?
    } else {
        let answer = http::send(&leaf.client, &request, &leaf.http)
            .await
            .map_err(clean)?;
        if !(200..300).contains(&answer.status) {
            return Err(clean(provider_error(
                leaf,
                answer.status,
                &answer.headers,
                &answer.body,
            )));
        }
        let completion = leaf
            .provider
            .parse_response(&answer.body)
            .map_err(|mut e| {
                e.status = Some(answer.status);
                e.raw_response = Some(raw_text(&answer.body));
                clean(e)
            })?;
        if ctx.sink.is_some() && !completion.content.is_empty() {
            // A client without streaming still answers a stream in one chunk.
            emit(&completion.content);
        }
        (answer.status, completion)
    };
    check_finish_reason(leaf, &completion).map_err(|e| e.with_status(status))?;
    Ok((status, completion))
}

/// The error for a non-2xx answer, as the provider describes it.
fn provider_error(
    leaf: &Leaf,
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
) -> Error {
    let mut e = leaf.provider.parse_error(status, body);
    e.status = Some(status);
    e.retry_after = crate::retry::parse_retry_after(headers);
    e.raw_response = Some(raw_text(body));
    e
}

fn raw_text(body: &[u8]) -> String {
    let end = body.len().min(RAW_RESPONSE_LIMIT);
    String::from_utf8_lossy(&body[..end]).into_owned()
}

fn check_finish_reason(leaf: &Leaf, c: &Completion) -> Result<(), Error> {
    let Some(reason) = &c.finish_reason else {
        return Ok(());
    };
    let listed = |list: &[String]| list.iter().any(|r| r.eq_ignore_ascii_case(reason));
    let rejected = match (
        &leaf.finish_reason_allow_list,
        &leaf.finish_reason_deny_list,
    ) {
        (Some(allow), _) => !listed(allow),
        (None, Some(deny)) => listed(deny),
        (None, None) => false,
    };
    if rejected {
        return Err(Error::new(
            ErrorKind::FinishReason,
            format!("finish reason {reason:?} is not allowed for this client"),
        ));
    }
    Ok(())
}
