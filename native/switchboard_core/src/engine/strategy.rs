//! Strategies: fallback, round-robin, retry policies and deadlines, over
//! leaves whose exchanges are behind [`Exchange`]. Nothing here knows HTTP
//! or providers, so the rules are tested with a scripted exchange on a
//! paused clock (the tests below).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;

use super::attempts::AttemptLog;
use super::deadline::Deadline;
use super::stream::StreamSink;
use crate::config::{ClientNode, Leaf, NodeKind, Registry};
use crate::error::{Error, ErrorKind};
use crate::wire::Completion;

/// One exchange with a leaf's provider: the HTTP one in production, a
/// scripted one in tests. Streamed text goes to `emit` as it arrives.
pub(super) trait Exchange: Sync {
    fn exchange(
        &self,
        leaf: &Leaf,
        streaming: bool,
        emit: &mut (dyn FnMut(&str) + Send),
    ) -> impl Future<Output = Result<(u16, Completion), Error>> + Send;
}

pub(super) struct Ctx<'a, X> {
    pub registry: &'a Registry,
    pub log: &'a AttemptLog,
    /// Present for streamed calls.
    pub sink: Option<&'a dyn StreamSink>,
    pub exchange: &'a X,
}

/// The leaf that answered and what it said.
pub(super) struct Answer {
    pub completion: Completion,
    pub client: String,
    pub provider: &'static str,
}

type BoxedRun<'a> = Pin<Box<dyn Future<Output = Result<Answer, Error>> + Send + 'a>>;

/// Runs one client (leaf or strategy) under its retry policy.
pub(super) fn run_client<'a, X: Exchange>(
    ctx: &'a Ctx<'a, X>,
    node: &'a ClientNode,
    outer: Deadline<'a>,
) -> BoxedRun<'a> {
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

async fn run_fallback<'a, X: Exchange>(
    ctx: &'a Ctx<'a, X>,
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

/// One attempt of a leaf client.
async fn run_leaf<'a, X: Exchange>(
    ctx: &'a Ctx<'a, X>,
    node: &'a ClientNode,
    leaf: &'a Leaf,
    deadline: Deadline<'a>,
) -> Result<Answer, Error> {
    let attempt = ctx.log.begin(&node.name, node.provider);
    let streaming = ctx.sink.is_some() && leaf.supports_streaming;
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
        Some(at) => tokio::time::timeout_at(at, ctx.exchange.exchange(leaf, streaming, &mut emit))
            .await
            .unwrap_or_else(|_| Err(deadline.error())),
        None => ctx.exchange.exchange(leaf, streaming, &mut emit).await,
    };
    let result = result.and_then(|(status, completion)| {
        check_finish_reason(leaf, &completion).map_err(|e| e.with_status(status))?;
        if !streaming && !completion.content.is_empty() {
            // A client without streaming still answers a stream in one chunk.
            emit(&completion.content);
        }
        Ok((status, completion))
    });
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
