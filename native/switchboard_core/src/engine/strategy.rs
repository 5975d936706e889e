//! Strategies: fallback, round-robin, retry policies and deadlines, over
//! leaves whose exchanges are behind [`Exchange`]. Nothing here knows HTTP
//! or providers, so the rules are tested with a scripted exchange on a
//! paused clock (the tests below).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::attempts::AttemptLog;
use super::deadline::Deadline;
use super::gate;
use super::stream::StreamSink;
use crate::config::{ClientNode, Leaf, NodeKind, Registry, RoundRobinOrder};
use crate::error::{Error, ErrorKind};
use crate::response::Usage;
use crate::wire::{Completion, Deltas};

/// One exchange with a leaf's provider: the HTTP one in production, a
/// scripted one in tests. Streamed text goes to `emit` as it arrives.
pub(super) trait Exchange: Sync {
    fn exchange(
        &self,
        client: &str,
        leaf: &Leaf,
        streaming: bool,
        emit: &mut (dyn FnMut(&Deltas) + Send),
    ) -> impl Future<Output = Result<(u16, Completion), Failed>> + Send;

    /// What the attempt needs from elsewhere before it is admitted (the
    /// media its client's `media_url_handler` fetches): a failure here is
    /// the attempt's, never the provider's, so it stays out of the
    /// client's breaker and limits.
    fn prepare(&self, _leaf: &Leaf) -> impl Future<Output = Result<(), Error>> + Send {
        async { Ok(()) }
    }
}

/// A failed exchange, and the usage of the answer it read before that
/// answer was rejected (a schema mismatch, a stream cut after its usage):
/// the provider billed it, so the attempt counts it.
#[derive(Debug)]
pub(super) struct Failed {
    pub error: Error,
    /// Boxed: rare, and every attempt's `Result` carries this size.
    pub billed: Option<Box<Usage>>,
}

impl From<Error> for Failed {
    fn from(error: Error) -> Self {
        Failed {
            error,
            billed: None,
        }
    }
}

impl Failed {
    /// The same failure with its error changed.
    pub fn map_error(self, f: impl FnOnce(Error) -> Error) -> Self {
        Failed {
            error: f(self.error),
            ..self
        }
    }
}

pub(super) struct Ctx<'a, X> {
    pub registry: &'a Registry,
    pub log: &'a AttemptLog,
    /// Present for streamed calls.
    pub sink: Option<&'a dyn StreamSink>,
    pub exchange: &'a X,
    /// The call's client is a leaf: its full limits are waited for rather
    /// than refused (see [`super::gate`]).
    pub waits_for_limits: bool,
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
            // Matched as a temporary: a `Result` bound to a name would stay
            // in this future through the backoff's sleep, and beside (not
            // over) the attempt's own state, in every call in flight.
            let error = match match &node.kind {
                NodeKind::Leaf(leaf) => run_leaf(ctx, node, leaf, deadline).await,
                NodeKind::Fallback(children) => run_fallback(ctx, node, children, deadline).await,
                NodeKind::RoundRobin { children, order } => {
                    run_round_robin(ctx, node, children, order, deadline).await
                }
            } {
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
            // A child's breaker or limit refused without sending: a
            // strategy's next attempt goes elsewhere, so it goes at once.
            let refused = error.refused && !matches!(node.kind, NodeKind::Leaf(_));
            if !(error.is_retryable() || refused) || retries >= policy.max_retries {
                return Err(error);
            }
            retries += 1;
            let mut delay = policy.sleep_before(retries);
            if refused {
                delay = Duration::ZERO;
            } else if let Some(asked) = error.retry_after {
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
    let mut failures = Vec::with_capacity(children.len());
    for &child in children {
        let child = &ctx.registry.clients[child];
        match run_client(ctx, child, deadline).await {
            Ok(answer) => return Ok(answer),
            Err(e) if e.kind == ErrorKind::Cancelled || deadline.passed() => return Err(e),
            Err(e) => {
                failures.push(failure_summary(&child.name, &e));
                last = Some(e);
            }
        }
    }
    let mut error = last.unwrap_or_else(|| Error::config("empty strategy"));
    error.message = format!(
        "every client of fallback {:?} failed ({}); the last said: {}",
        node.name,
        summaries(&failures),
        error.message
    );
    Err(error)
}

/// `A: rate_limited 429`, one client's failure in a fallback's error.
fn failure_summary(client: &str, e: &Error) -> String {
    match e.status {
        Some(status) => format!("{client}: {} {status}", e.kind),
        None => format!("{client}: {}", e.kind),
    }
}

/// The failures joined, the first [`SUMMARISED`] of them: a fallback may
/// list many clients, and its message must stay readable.
fn summaries(failures: &[String]) -> String {
    const SUMMARISED: usize = 8;
    let mut text = failures
        .iter()
        .take(SUMMARISED)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if failures.len() > SUMMARISED {
        text.push_str(&format!(", and {} more", failures.len() - SUMMARISED));
    }
    text
}

/// One turn of a round-robin: the child its (weighted) order gives this
/// turn, or, while children refuse without sending (an open circuit, a
/// full limit), the ones after it in the strategy, at most once each. With
/// or without a retry policy, a refusal is no reason to fail a call
/// another child can answer now.
async fn run_round_robin<'a, X: Exchange>(
    ctx: &'a Ctx<'a, X>,
    node: &'a ClientNode,
    children: &'a [usize],
    order: &'a RoundRobinOrder,
    deadline: Deadline<'a>,
) -> Result<Answer, Error> {
    let turn = node.state.cursor.fetch_add(1, Ordering::Relaxed);
    let first = order.entry(turn);
    let mut result = Err(Error::config("empty strategy"));
    for offset in 0..children.len() {
        let child = children[(first + offset) % children.len()];
        result = run_client(ctx, &ctx.registry.clients[child], deadline).await;
        match &result {
            Err(e) if e.refused && !deadline.passed() => continue,
            _ => return result,
        }
    }
    result
}

/// One attempt of a leaf client.
async fn run_leaf<'a, X: Exchange>(
    ctx: &'a Ctx<'a, X>,
    node: &'a ClientNode,
    leaf: &'a Leaf,
    deadline: Deadline<'a>,
) -> Result<Answer, Error> {
    let attempt = ctx.log.begin(&node.name, node.provider);
    // Boxed: most attempts prepare nothing, and this future is every
    // call's state.
    let prepared = match deadline.instant() {
        Some(at) => tokio::time::timeout_at(at, Box::pin(ctx.exchange.prepare(leaf)))
            .await
            .unwrap_or_else(|_| Err(deadline.error())),
        None => Box::pin(ctx.exchange.prepare(leaf)).await,
    };
    if let Err(e) = prepared {
        let e = e.with_client(&node.name);
        attempt.finish(e.status, Some(e.clone()), None, None);
        return Err(e);
    }
    let admission = match gate::admit(
        node,
        leaf,
        deadline,
        ctx.waits_for_limits,
        ctx.log.observer(),
    )
    .await
    {
        Ok(admission) => admission,
        Err(e) => {
            let e = e.with_client(&node.name);
            attempt.finish(e.status, Some(e.clone()), None, None);
            return Err(e);
        }
    };
    let mut cut = false;
    let streaming = ctx.sink.is_some() && leaf.supports_streaming;
    let mut delivered = false;
    let mut emit = |deltas: &Deltas| {
        if let Some(sink) = ctx.sink {
            delivered = true;
            attempt.delta_arrived();
            sink.chunk(attempt.number, &node.name, deltas);
        }
    };
    // The exchange future is built in each arm: bound to a local first, it
    // would take its size twice in every call's state.
    let result = match deadline.instant() {
        Some(at) => tokio::time::timeout_at(
            at,
            ctx.exchange
                .exchange(&node.name, leaf, streaming, &mut emit),
        )
        .await
        .unwrap_or_else(|_| {
            cut = true;
            Err(deadline.error().into())
        }),
        None => {
            ctx.exchange
                .exchange(&node.name, leaf, streaming, &mut emit)
                .await
        }
    };
    let result = result.and_then(|(status, completion)| {
        check_finish_reason(leaf, &completion).map_err(|e| Failed {
            error: e.with_status(status),
            billed: Some(Box::new(completion.usage)),
        })?;
        if !streaming {
            // A client without streaming still answers a stream in one chunk.
            let whole = Deltas::whole(&completion);
            if !whole.is_empty() {
                emit(&whole);
            }
        }
        Ok((status, completion))
    });
    let (result, billed) = match result {
        Ok(answer) => (Ok(answer), None),
        Err(Failed { error, billed }) => (Err(error.with_client(&node.name)), billed.map(|u| *u)),
    };
    let cut = match (cut, delivered) {
        (false, _) => gate::Cut::No,
        (true, false) => gate::Cut::Silent,
        (true, true) => gate::Cut::Streaming,
    };
    // What an answer read and then rejected was billed all the same.
    admission.settle(&result, billed.as_ref(), cut);
    let number = attempt.number;
    let cost = |usage: &Usage| leaf.pricing.as_ref().and_then(|p| p.cost(usage));
    match &result {
        Ok((status, completion)) => {
            let usage = completion.usage;
            attempt.finish(Some(*status), None, Some(usage), cost(&usage));
        }
        Err(e) => {
            let billed_cost = billed.as_ref().and_then(cost);
            let record = attempt.finish(e.status, Some(e.clone()), billed, billed_cost);
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

#[cfg(test)]
mod tests {
    //! The strategy rules on tokio's paused clock: every delay is exact, and
    //! a test of a 10 s backoff takes no time.

    use std::collections::{HashMap, VecDeque};
    use std::sync::Mutex;
    use std::time::Duration;

    use serde_json::json;
    use tokio::time::Instant;

    use super::*;

    /// What a scripted leaf does on one attempt: wait, then answer or fail.
    #[derive(Clone)]
    struct Step {
        after: Duration,
        outcome: Result<&'static str, (ErrorKind, Option<Duration>)>,
        finish_reason: Option<&'static str>,
        /// The error's retry override (an answer that missed its schema).
        retryable: Option<bool>,
        /// The answer's `usage.total_tokens`.
        tokens: Option<u64>,
    }

    fn ok(text: &'static str) -> Step {
        Step {
            after: Duration::ZERO,
            outcome: Ok(text),
            finish_reason: None,
            retryable: None,
            tokens: None,
        }
    }

    fn fail(kind: ErrorKind) -> Step {
        Step {
            after: Duration::ZERO,
            outcome: Err((kind, None)),
            finish_reason: None,
            retryable: None,
            tokens: None,
        }
    }

    /// A fake provider: answers from a script per client, and records when
    /// each attempt started, relative to the test's start.
    struct Scripted {
        steps: Mutex<HashMap<String, VecDeque<Step>>>,
        started: Instant,
        calls: Mutex<Vec<(String, Duration)>>,
    }

    impl Scripted {
        fn new(script: &[(&str, Vec<Step>)]) -> Self {
            Scripted {
                steps: Mutex::new(
                    script
                        .iter()
                        .map(|(c, s)| (c.to_string(), s.iter().cloned().collect()))
                        .collect(),
                ),
                started: Instant::now(),
                calls: Mutex::new(Vec::new()),
            }
        }

        fn calls(&self) -> Vec<(String, u64)> {
            let calls = self.calls.lock().unwrap();
            calls
                .iter()
                .map(|(c, at)| (c.clone(), at.as_millis() as u64))
                .collect()
        }
    }

    impl Exchange for Scripted {
        async fn exchange(
            &self,
            client: &str,
            _leaf: &Leaf,
            _streaming: bool,
            _emit: &mut (dyn FnMut(&Deltas) + Send),
        ) -> Result<(u16, Completion), Failed> {
            self.calls
                .lock()
                .unwrap()
                .push((client.to_owned(), self.started.elapsed()));
            let step = self
                .steps
                .lock()
                .unwrap()
                .get_mut(client)
                .and_then(VecDeque::pop_front)
                .unwrap_or_else(|| panic!("no step left for {client}"));
            tokio::time::sleep(step.after).await;
            match step.outcome {
                Ok(text) => Ok((
                    200,
                    Completion {
                        content: text.to_owned(),
                        finish_reason: step.finish_reason.map(str::to_owned),
                        usage: crate::response::Usage {
                            total_tokens: step.tokens,
                            ..Default::default()
                        },
                        ..Completion::default()
                    },
                )),
                Err((kind, retry_after)) => Err(Error {
                    retry_after,
                    retryable: step.retryable,
                    ..Error::new(kind, "scripted failure")
                }
                .into()),
            }
        }
    }

    fn leaf(name: &str) -> serde_json::Value {
        json!({"name": name, "provider": "openai-generic",
               "options": {"base_url": "http://127.0.0.1:9", "model": "m"}})
    }

    fn registry(clients: Vec<serde_json::Value>, policies: serde_json::Value) -> Registry {
        Registry::from_value(&json!({"clients": clients, "retry_policies": policies}))
            .expect("registry")
    }

    async fn run(
        reg: &Registry,
        client: &str,
        script: &Scripted,
        timeout: Option<Duration>,
    ) -> (Result<String, Error>, Vec<crate::response::Attempt>) {
        let log = AttemptLog::default();
        let ctx = Ctx {
            registry: reg,
            log: &log,
            sink: None,
            exchange: script,
            waits_for_limits: matches!(
                reg.clients[reg.index(client).expect("client")].kind,
                NodeKind::Leaf(_)
            ),
        };
        let node = &reg.clients[reg.index(client).expect("client")];
        let result = run_client(&ctx, node, Deadline::for_call(timeout))
            .await
            .map(|a| a.completion.content);
        (result, log.take())
    }

    #[tokio::test(start_paused = true)]
    async fn default_retry_sleeps_200_300_450_ms() {
        let mut a = leaf("A");
        a["retry_policy"] = json!("DefaultRetry");
        let reg = registry(vec![a], json!({}));
        let script = Scripted::new(&[(
            "A",
            vec![
                fail(ErrorKind::Overloaded),
                fail(ErrorKind::Server),
                fail(ErrorKind::Network),
                ok("fine"),
            ],
        )]);
        let (result, attempts) = run(&reg, "A", &script, None).await;
        assert_eq!(result.unwrap(), "fine");
        let at: Vec<u64> = script.calls().into_iter().map(|(_, t)| t).collect();
        assert_eq!(at, vec![0, 200, 500, 950]);
        assert_eq!(attempts.len(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn exponential_backoff_is_capped_and_retries_are_bounded() {
        let mut a = leaf("A");
        a["retry_policy"] = json!("Steep");
        let reg = registry(
            vec![a],
            json!({"Steep": {"max_retries": 3, "strategy":
                {"type": "exponential_backoff", "delay_ms": 100, "multiplier": 4, "max_delay_ms": 1000}}}),
        );
        let script = Scripted::new(&[("A", vec![fail(ErrorKind::RateLimited); 4])]);
        let (result, _) = run(&reg, "A", &script, None).await;
        assert_eq!(result.unwrap_err().kind, ErrorKind::RateLimited);
        let at: Vec<u64> = script.calls().into_iter().map(|(_, t)| t).collect();
        // Sleeps 100, 400, then min(1600, 1000).
        assert_eq!(at, vec![0, 100, 500, 1500]);
    }

    #[tokio::test(start_paused = true)]
    async fn jittered_backoff_sleeps_within_its_bounds_and_varies() {
        let mut a = leaf("A");
        a["retry_policy"] = json!("Jittery");
        let reg = registry(
            vec![a],
            json!({"Jittery": {"max_retries": 8, "strategy":
                {"type": "constant_delay", "delay_ms": 1000, "jitter": 0.5}}}),
        );
        let script = Scripted::new(&[("A", vec![fail(ErrorKind::Server); 9])]);
        let (result, attempts) = run(&reg, "A", &script, None).await;
        assert_eq!(result.unwrap_err().kind, ErrorKind::Server);
        assert_eq!(attempts.len(), 9);
        let at: Vec<u64> = script.calls().into_iter().map(|(_, t)| t).collect();
        let sleeps: Vec<u64> = at.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(
            sleeps.iter().all(|s| (500..=1500).contains(s)),
            "{sleeps:?}"
        );
        // Eight uniform draws from 1001 values: all equal only if jitter is off.
        assert!(sleeps.iter().any(|s| *s != sleeps[0]), "{sleeps:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn client_errors_are_not_retried_but_fall_back() {
        let mut a = leaf("A");
        a["retry_policy"] = json!("DefaultRetry");
        let fb = json!({"name": "F", "provider": "fallback", "options": {"strategy": ["A", "B"]}});
        let reg = registry(vec![a, leaf("B"), fb], json!({}));
        let script = Scripted::new(&[
            ("A", vec![fail(ErrorKind::InvalidRequest)]),
            ("B", vec![ok("from B")]),
        ]);
        let (result, attempts) = run(&reg, "F", &script, None).await;
        assert_eq!(result.unwrap(), "from B");
        let clients: Vec<&str> = attempts.iter().map(|a| a.client.as_str()).collect();
        assert_eq!(clients, ["A", "B"]);
        assert_eq!(script.calls()[1], ("B".to_owned(), 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_fallback_summarises_every_clients_failure_and_keeps_the_last_kind() {
        let fb =
            json!({"name": "F", "provider": "fallback", "options": {"strategy": ["A", "B", "C"]}});
        let reg = registry(vec![leaf("A"), leaf("B"), leaf("C"), fb], json!({}));
        let script = Scripted::new(&[
            ("A", vec![fail(ErrorKind::RateLimited)]),
            ("B", vec![fail(ErrorKind::Auth)]),
            ("C", vec![fail(ErrorKind::Server)]),
        ]);
        let e = run(&reg, "F", &script, None).await.0.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Server);
        assert_eq!(
            e.message,
            "every client of fallback \"F\" failed (A: rate_limited, B: auth, C: server); \
             the last said: scripted failure"
        );
        let many: Vec<String> = (0..10).map(|i| format!("c{i}: server 500")).collect();
        assert!(summaries(&many).ends_with("c7: server 500, and 2 more"));
        let with_status = Error {
            status: Some(429),
            ..Error::new(ErrorKind::RateLimited, "m")
        };
        assert_eq!(failure_summary("A", &with_status), "A: rate_limited 429");
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_after_beyond_max_delay_gives_up_at_once_and_a_shorter_one_is_honoured() {
        let mut a = leaf("A");
        a["retry_policy"] = json!("DefaultRetry");
        let fb = json!({"name": "F", "provider": "fallback", "options": {"strategy": ["A", "B"]}});
        let reg = registry(vec![a, leaf("B"), fb], json!({}));
        let wait = |s: u64| Step {
            outcome: Err((ErrorKind::RateLimited, Some(Duration::from_secs(s)))),
            ..fail(ErrorKind::RateLimited)
        };
        let script = Scripted::new(&[("A", vec![wait(2), wait(60)]), ("B", vec![ok("B")])]);
        let (result, _) = run(&reg, "F", &script, None).await;
        assert_eq!(result.unwrap(), "B");
        // 2 s asked (longer than the 200 ms backoff) is waited; 60 s is not.
        assert_eq!(
            script.calls(),
            vec![("A".into(), 0), ("A".into(), 2000), ("B".into(), 2000)]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn round_robin_advances_once_per_attempt_across_calls() {
        let rr = json!({"name": "R", "provider": "round-robin",
                        "options": {"strategy": ["A", "B", "C"], "start": 1}, "retry_policy": "Twice"});
        let reg = registry(
            vec![leaf("A"), leaf("B"), leaf("C"), rr],
            json!({"Twice": {"max_retries": 2, "strategy": {"type": "constant_delay", "delay_ms": 10}}}),
        );
        let script = Scripted::new(&[
            ("A", vec![ok("A")]),
            ("B", vec![fail(ErrorKind::Server)]),
            ("C", vec![ok("C"), ok("C")]),
        ]);
        assert_eq!(run(&reg, "R", &script, None).await.0.unwrap(), "C");
        assert_eq!(run(&reg, "R", &script, None).await.0.unwrap(), "A");
        let order: Vec<String> = script.calls().into_iter().map(|(c, _)| c).collect();
        assert_eq!(order, ["B", "C", "A"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_weighted_round_robin_interleaves_its_turns_across_concurrent_calls() {
        let rr = json!({"name": "R", "provider": "round-robin", "options": {"strategy": [
            {"client": "A", "weight": 3}, {"client": "B", "weight": 2}, "C"]}});
        let reg = registry(vec![leaf("A"), leaf("B"), leaf("C"), rr], json!({}));
        let script = Scripted::new(&[
            ("A", vec![ok("A"); 300]),
            ("B", vec![ok("B"); 200]),
            ("C", vec![ok("C"); 100]),
        ]);
        // 600 calls in flight at once: each takes its turn before its
        // first await, so the exchanges start in turn order.
        let answers =
            futures_util::future::join_all((0..600).map(|_| run(&reg, "R", &script, None))).await;
        assert!(answers.iter().all(|(r, _)| r.is_ok()));
        let order: String = script
            .calls()
            .into_iter()
            .map(|(c, _)| c)
            .collect::<Vec<_>>()
            .concat();
        assert_eq!(order, "ABACBA".repeat(100));
    }

    #[tokio::test(start_paused = true)]
    async fn new_weights_start_the_position_over() {
        let rr = |a: u64| {
            json!({"name": "R", "provider": "round-robin", "options": {"strategy": [
                {"client": "A", "weight": a}, "B"]}})
        };
        let reg = registry(vec![leaf("A"), leaf("B"), rr(2)], json!({}));
        let script = Scripted::new(&[("A", vec![ok("A"); 4]), ("B", vec![ok("B"); 2])]);
        assert_eq!(run(&reg, "R", &script, None).await.0.unwrap(), "A");
        assert_eq!(run(&reg, "R", &script, None).await.0.unwrap(), "B");
        let same = reg
            .reload(&json!({"clients": [leaf("A"), leaf("B"), rr(2)]}))
            .unwrap();
        assert_eq!(run(&same, "R", &script, None).await.0.unwrap(), "A");
        let heavier = same
            .reload(&json!({"clients": [leaf("A"), leaf("B"), rr(3)]}))
            .unwrap();
        // Weights 3:1 from their first turn: A A B A.
        for expected in ["A", "A", "B"] {
            assert_eq!(run(&heavier, "R", &script, None).await.0.unwrap(), expected);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_rebuilt_registry_keeps_the_round_robin_position_until_its_config_changes() {
        let rr = |start: u64| {
            json!({"name": "R", "provider": "round-robin",
                   "options": {"strategy": ["A", "B", "C"], "start": start}})
        };
        let reg = registry(vec![leaf("A"), leaf("B"), leaf("C"), rr(1)], json!({}));
        let script = Scripted::new(&[
            ("A", vec![ok("A")]),
            ("B", vec![ok("B")]),
            ("C", vec![ok("C")]),
        ]);
        assert_eq!(run(&reg, "R", &script, None).await.0.unwrap(), "B");
        let mut source = reg.source().clone();
        source
            .add_client("D", "ollama", &json!({"model": "m"}), None)
            .unwrap();
        let reg = reg.rebuild(source).unwrap();
        assert_eq!(run(&reg, "R", &script, None).await.0.unwrap(), "C");
        // A new start is a new config: the position starts over from it.
        let clients = json!([leaf("A"), leaf("B"), leaf("C"), rr(0)]);
        let reg = reg.reload(&json!({ "clients": clients })).unwrap();
        assert_eq!(run(&reg, "R", &script, None).await.0.unwrap(), "A");
    }

    #[tokio::test(start_paused = true)]
    async fn total_timeout_cuts_an_attempt_and_a_retry_sleep() {
        let fb = json!({"name": "F", "provider": "fallback", "retry_policy": "Slow",
                        "options": {"strategy": ["A"], "http": {"total_timeout_ms": 1000}}});
        let reg = registry(
            vec![leaf("A"), fb],
            json!({"Slow": {"max_retries": 5, "strategy": {"type": "constant_delay", "delay_ms": 800}}}),
        );
        let slow = Step {
            after: Duration::from_millis(5000),
            ..ok("late")
        };
        let script = Scripted::new(&[("A", vec![fail(ErrorKind::Server), slow.clone()])]);
        let before = Instant::now();
        let (result, attempts) = run(&reg, "F", &script, None).await;
        let e = result.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Timeout);
        assert!(
            e.message.contains("total_timeout_ms (1000 ms)"),
            "{}",
            e.message
        );
        assert_eq!(before.elapsed(), Duration::from_millis(1000));
        assert_eq!(attempts.len(), 2);

        // The call's own timeout, shorter than the strategy's.
        let script = Scripted::new(&[("A", vec![slow])]);
        let (result, _) = run(&reg, "F", &script, Some(Duration::from_millis(300))).await;
        assert!(result
            .unwrap_err()
            .message
            .contains("call's total timeout (300 ms)"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_rejected_finish_reason_falls_back_without_retry() {
        let mut a = leaf("A");
        a["retry_policy"] = json!("DefaultRetry");
        a["options"]["finish_reason_deny_list"] = json!(["length"]);
        let fb = json!({"name": "F", "provider": "fallback", "options": {"strategy": ["A", "B"]}});
        let reg = registry(vec![a, leaf("B"), fb], json!({}));
        let cut = Step {
            finish_reason: Some("length"),
            ..ok("cut")
        };
        let script = Scripted::new(&[("A", vec![cut]), ("B", vec![ok("B")])]);
        let (result, attempts) = run(&reg, "F", &script, None).await;
        assert_eq!(result.unwrap(), "B");
        let e = attempts[0].error.as_ref().expect("error");
        assert_eq!(e.kind, ErrorKind::FinishReason);
    }

    #[tokio::test(start_paused = true)]
    async fn an_error_marked_not_retryable_falls_back_without_retry() {
        let mut a = leaf("A");
        a["retry_policy"] = json!("DefaultRetry");
        let fb = json!({"name": "F", "provider": "fallback", "options": {"strategy": ["A", "B"]}});
        let reg = registry(vec![a.clone(), leaf("B"), fb], json!({}));
        let invalid = Step {
            retryable: Some(false),
            ..fail(ErrorKind::BadResponse)
        };
        let script = Scripted::new(&[("A", vec![invalid.clone()]), ("B", vec![ok("B")])]);
        let (result, attempts) = run(&reg, "F", &script, None).await;
        assert_eq!(result.unwrap(), "B");
        assert_eq!(attempts.len(), 2);
        assert_eq!(script.calls()[1], ("B".to_owned(), 0));

        // Without the mark, the kind's own rule retries a bad response.
        let reg = registry(vec![a], json!({}));
        let script = Scripted::new(&[("A", vec![fail(ErrorKind::BadResponse), ok("A")])]);
        let (result, attempts) = run(&reg, "A", &script, None).await;
        assert_eq!(result.unwrap(), "A");
        assert_eq!(attempts.len(), 2);
    }

    // --- circuit breakers and limits (gate.rs) ---------------------------

    fn guarded(name: &str, options: serde_json::Value) -> serde_json::Value {
        let mut l = leaf(name);
        for (k, v) in options.as_object().expect("options") {
            l["options"][k] = v.clone();
        }
        l
    }

    fn breaker(threshold: u64, cooldown_ms: u64) -> serde_json::Value {
        json!({"circuit_breaker": {"failure_threshold": threshold, "window_ms": 10_000,
                                   "cooldown_ms": cooldown_ms}})
    }

    fn fallback(children: &[&str]) -> serde_json::Value {
        json!({"name": "F", "provider": "fallback", "options": {"strategy": children}})
    }

    fn kinds(attempts: &[crate::response::Attempt]) -> Vec<(String, Option<ErrorKind>)> {
        attempts
            .iter()
            .map(|a| (a.client.clone(), a.error.as_ref().map(|e| e.kind)))
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn an_open_circuit_is_skipped_without_an_exchange_until_one_probe_closes_it() {
        let mut a = guarded("A", breaker(2, 500));
        a["retry_policy"] = json!("DefaultRetry");
        let reg = registry(vec![a, leaf("B"), fallback(&["A", "B"])], json!({}));
        let script = Scripted::new(&[
            // Not retried once the circuit opens under the retry policy.
            (
                "A",
                vec![
                    fail(ErrorKind::Server),
                    fail(ErrorKind::Overloaded),
                    ok("A"),
                ],
            ),
            ("B", vec![ok("B"), ok("B")]),
        ]);
        let (result, attempts) = run(&reg, "F", &script, None).await;
        assert_eq!(result.unwrap(), "B");
        // The second failure opened the circuit; the retry after it was
        // refused with no exchange, and the fallback moved on at once.
        assert_eq!(
            kinds(&attempts),
            [
                ("A".into(), Some(ErrorKind::Server)),
                ("A".into(), Some(ErrorKind::Overloaded)),
                ("A".into(), Some(ErrorKind::CircuitOpen)),
                ("B".into(), None)
            ]
        );
        let refusal = attempts[2].error.as_ref().unwrap();
        assert_eq!(refusal.status, None);
        // Opened at 200 ms for 500 ms; the retry came at 500 ms.
        assert_eq!(refusal.retry_after, Some(Duration::from_millis(200)));
        assert!(refusal.message.contains("is open"), "{}", refusal.message);
        assert_eq!(script.calls().len(), 3);
        assert_eq!(script.calls()[2], ("B".to_owned(), 500));

        // Still open: skipped at once.
        let (result, attempts) = run(&reg, "F", &script, None).await;
        assert_eq!(result.unwrap(), "B");
        assert_eq!(
            attempts[0].error.as_ref().unwrap().kind,
            ErrorKind::CircuitOpen
        );
        assert_eq!(script.calls().len(), 4);

        // The cooldown (until 700 ms) is over: one probe goes through, and
        // its answer closes the circuit.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(run(&reg, "F", &script, None).await.0.unwrap(), "A");
        let (phase, failures) = reg.clients[0]
            .state
            .breaker
            .snapshot(&crate::config::BreakerSettings::default(), Instant::now());
        assert_eq!(
            (phase, failures),
            (crate::config::breaker::Phase::Closed, 0)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn one_probe_at_a_time_and_a_failed_probe_reopens_the_circuit() {
        let reg = registry(
            vec![
                guarded("A", breaker(1, 1000)),
                leaf("B"),
                fallback(&["A", "B"]),
            ],
            json!({}),
        );
        let slow_fail = Step {
            after: Duration::from_millis(100),
            ..fail(ErrorKind::Timeout)
        };
        let script = Scripted::new(&[
            ("A", vec![fail(ErrorKind::Network), slow_fail, ok("A")]),
            ("B", vec![ok("B"); 4]),
        ]);
        assert_eq!(run(&reg, "F", &script, None).await.0.unwrap(), "B");
        tokio::time::sleep(Duration::from_millis(1000)).await;
        // Two calls at once after the cooldown: one probes, the other is
        // refused and answered by B at once.
        let ((probe, probe_attempts), (other, other_attempts)) =
            tokio::join!(run(&reg, "F", &script, None), run(&reg, "F", &script, None));
        assert_eq!((probe.unwrap(), other.unwrap()), ("B".into(), "B".into()));
        assert_eq!(
            probe_attempts[0].error.as_ref().unwrap().kind,
            ErrorKind::Timeout
        );
        let refused = other_attempts[0].error.as_ref().unwrap();
        assert_eq!(refused.kind, ErrorKind::CircuitOpen);
        assert!(refused.message.contains("half-open"), "{}", refused.message);
        // The failed probe opened it again for a whole cooldown.
        let (_, attempts) = run(&reg, "F", &script, None).await;
        let again = attempts[0].error.as_ref().unwrap();
        assert_eq!(again.kind, ErrorKind::CircuitOpen);
        assert_eq!(again.retry_after, Some(Duration::from_millis(1000)));
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert_eq!(run(&reg, "F", &script, None).await.0.unwrap(), "A");
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_or_timed_out_probe_lets_the_next_call_probe() {
        let reg = registry(vec![guarded("A", breaker(1, 100))], json!({}));
        let slow = Step {
            after: Duration::from_secs(5),
            ..ok("late")
        };
        let script = Scripted::new(&[(
            "A",
            vec![fail(ErrorKind::Server), slow.clone(), slow, ok("A")],
        )]);
        run(&reg, "A", &script, None).await.0.unwrap_err();
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Dropped mid-probe, as a cancelled call's task is.
        let dropped =
            tokio::time::timeout(Duration::from_millis(10), run(&reg, "A", &script, None)).await;
        assert!(dropped.is_err());
        // Cut by the call's own timeout: says nothing about the client.
        let (cut, _) = run(&reg, "A", &script, Some(Duration::from_millis(10))).await;
        assert_eq!(cut.unwrap_err().kind, ErrorKind::Timeout);
        assert_eq!(run(&reg, "A", &script, None).await.0.unwrap(), "A");
        assert_eq!(script.calls().len(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_provider_hanging_past_every_calls_timeout_opens_the_circuit_after_slow_call_ms() {
        let options = json!({"circuit_breaker": {"failure_threshold": 2, "cooldown_ms": 1000,
                                                 "slow_call_ms": 500}});
        let reg = registry(vec![guarded("A", options)], json!({}));
        let hang = Step {
            after: Duration::from_secs(3600),
            ..ok("late")
        };
        let script = Scripted::new(&[("A", vec![hang; 5])]);
        // Cut sooner than slow_call_ms: the caller's budget was tight.
        for _ in 0..3 {
            let (cut, _) = run(&reg, "A", &script, Some(Duration::from_millis(100))).await;
            assert_eq!(cut.unwrap_err().kind, ErrorKind::Timeout);
        }
        // Cut after waiting longer: the client hangs, twice opens it.
        for _ in 0..2 {
            let (cut, _) = run(&reg, "A", &script, Some(Duration::from_millis(600))).await;
            assert_eq!(cut.unwrap_err().kind, ErrorKind::Timeout);
        }
        let (refused, _) = run(&reg, "A", &script, Some(Duration::from_millis(600))).await;
        assert_eq!(refused.unwrap_err().kind, ErrorKind::CircuitOpen);
        assert_eq!(script.calls().len(), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_after_longer_than_the_policy_waits_opens_the_circuit_for_that_long() {
        let mut a = guarded("A", breaker(5, 100));
        a["retry_policy"] = json!("DefaultRetry");
        let reg = registry(vec![a], json!({}));
        let wait = Step {
            outcome: Err((ErrorKind::RateLimited, Some(Duration::from_secs(60)))),
            ..fail(ErrorKind::RateLimited)
        };
        let script = Scripted::new(&[("A", vec![wait, ok("A")])]);
        run(&reg, "A", &script, None).await.0.unwrap_err();
        tokio::time::sleep(Duration::from_secs(59)).await;
        let e = run(&reg, "A", &script, None).await.0.unwrap_err();
        assert_eq!(e.kind, ErrorKind::CircuitOpen);
        assert_eq!(e.retry_after, Some(Duration::from_secs(1)));
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(run(&reg, "A", &script, None).await.0.unwrap(), "A");
    }

    #[tokio::test(start_paused = true)]
    async fn a_round_robin_policy_moves_past_an_open_circuit_at_once() {
        let rr = json!({"name": "R", "provider": "round-robin", "retry_policy": "Slow",
                        "options": {"strategy": ["A", "B"]}});
        let reg = registry(
            vec![guarded("A", breaker(1, 60_000)), leaf("B"), rr],
            json!({"Slow": {"max_retries": 2, "strategy": {"type": "constant_delay", "delay_ms": 5000}}}),
        );
        let script = Scripted::new(&[
            ("A", vec![fail(ErrorKind::Server)]),
            ("B", vec![ok("B"), ok("B")]),
        ]);
        // A fails (5 s backoff, a provider failure), then B answers.
        assert_eq!(run(&reg, "R", &script, None).await.0.unwrap(), "B");
        // A's circuit is open: its refusal is retried on B with no backoff.
        let before = Instant::now();
        let (result, attempts) = run(&reg, "R", &script, None).await;
        assert_eq!(result.unwrap(), "B");
        assert_eq!(
            kinds(&attempts),
            [
                ("A".into(), Some(ErrorKind::CircuitOpen)),
                ("B".into(), None)
            ]
        );
        assert_eq!(before.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn max_in_flight_refuses_in_a_strategy_and_waits_when_the_client_is_called() {
        let reg = registry(
            vec![
                guarded("A", json!({"max_in_flight": 1})),
                leaf("B"),
                fallback(&["A", "B"]),
            ],
            json!({}),
        );
        let slow = |text| Step {
            after: Duration::from_millis(100),
            ..ok(text)
        };
        let script = Scripted::new(&[
            ("A", vec![slow("A1"), slow("A2"), slow("A3")]),
            ("B", vec![ok("B")]),
        ]);
        let ((first, _), (second, attempts)) =
            tokio::join!(run(&reg, "F", &script, None), run(&reg, "F", &script, None));
        assert_eq!((first.unwrap(), second.unwrap()), ("A1".into(), "B".into()));
        let refused = attempts[0].error.as_ref().unwrap();
        assert_eq!(
            (refused.kind, refused.status),
            (ErrorKind::RateLimited, None)
        );
        assert!(
            refused.message.contains("max_in_flight (1)"),
            "{}",
            refused.message
        );

        // Called directly, the second call waits for the slot.
        let ((a2, _), (a3, _)) =
            tokio::join!(run(&reg, "A", &script, None), run(&reg, "A", &script, None));
        assert_eq!((a2.unwrap(), a3.unwrap()), ("A2".into(), "A3".into()));
        let at: Vec<u64> = script.calls().into_iter().map(|(_, t)| t).collect();
        assert_eq!(at, [0, 0, 100, 200]);
        assert_eq!(reg.clients[0].state.in_flight.load(Ordering::Relaxed), 0);

        // Waiting past the call's timeout is a timeout naming the limit.
        let script = Scripted::new(&[("A", vec![slow("A4"), slow("A5")])]);
        let ((_, _), (late, _)) = tokio::join!(
            run(&reg, "A", &script, None),
            run(&reg, "A", &script, Some(Duration::from_millis(50)))
        );
        let e = late.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Timeout);
        assert!(
            e.message.contains("max_in_flight (1) slots"),
            "{}",
            e.message
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_budget_refuses_in_a_strategy_and_waits_within_the_timeout_when_called() {
        let reg = registry(
            vec![
                guarded("A", json!({"requests_per_minute": 2})),
                leaf("B"),
                fallback(&["A", "B"]),
            ],
            json!({}),
        );
        let script = Scripted::new(&[("A", vec![ok("A"); 4]), ("B", vec![ok("B")])]);
        for _ in 0..2 {
            assert_eq!(run(&reg, "F", &script, None).await.0.unwrap(), "A");
        }
        let (result, attempts) = run(&reg, "F", &script, None).await;
        assert_eq!(result.unwrap(), "B");
        let refused = attempts[0].error.as_ref().unwrap();
        assert_eq!(
            (refused.kind, refused.status),
            (ErrorKind::RateLimited, None)
        );
        assert_eq!(refused.retry_after, Some(Duration::from_secs(30)));

        // Directly: a slot 30 s away is not waited for by a 1 s call, and
        // is by a call with time enough.
        let e = run(&reg, "A", &script, Some(Duration::from_secs(1)))
            .await
            .0
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::RateLimited);
        assert!(
            e.message.contains("requests_per_minute (2)"),
            "{}",
            e.message
        );
        let before = Instant::now();
        assert_eq!(
            run(&reg, "A", &script, Some(Duration::from_secs(31)))
                .await
                .0
                .unwrap(),
            "A"
        );
        assert_eq!(before.elapsed(), Duration::from_secs(30));
    }

    #[test]
    fn breaker_and_limit_options_are_checked_and_belong_on_leaves() {
        let build = |clients: Vec<serde_json::Value>, extra: serde_json::Value| {
            let mut config = json!({"clients": clients});
            for (k, v) in extra.as_object().unwrap() {
                config[k] = v.clone();
            }
            Registry::from_value(&config)
        };
        let e = build(vec![guarded("A", json!({"max_in_flight": 0}))], json!({})).unwrap_err();
        assert!(
            e.message
                .starts_with("client \"A\": option \"max_in_flight\""),
            "{}",
            e.message
        );
        let e = build(vec![guarded("A", json!({"circuit_breaker": 3}))], json!({})).unwrap_err();
        assert!(
            e.message
                .starts_with("client \"A\": option \"circuit_breaker\""),
            "{}",
            e.message
        );
        let e = build(
            vec![leaf("A"), fallback(&["A"])]
                .into_iter()
                .map(|mut c| {
                    if c["name"] == "F" {
                        c["options"]["max_in_flight"] = json!(2);
                    }
                    c
                })
                .collect(),
            json!({}),
        )
        .unwrap_err();
        assert!(
            e.message
                .contains("client \"F\": option \"max_in_flight\" belongs on leaf"),
            "{}",
            e.message
        );
        let e = build(vec![leaf("A")], json!({"circuit_breaker": {"window": 1}})).unwrap_err();
        assert!(
            e.message.starts_with("the registry circuit_breaker"),
            "{}",
            e.message
        );

        // The registry's default applies to every leaf that sets none;
        // `false` opts out.
        let reg = build(
            vec![leaf("A"), guarded("B", json!({"circuit_breaker": false}))],
            json!({"circuit_breaker": {"failure_threshold": 2}}),
        )
        .unwrap();
        let breaker_of = |i: usize| match &reg.clients[i].kind {
            NodeKind::Leaf(l) => l.breaker,
            _ => unreachable!(),
        };
        assert_eq!(breaker_of(0).map(|b| b.failure_threshold), Some(2));
        assert_eq!(breaker_of(1), None);
        // None of it reaches the body, nor may a call set it.
        let o = json!({"max_in_flight": 3});
        assert!(crate::providers::check_call_options(o.as_object().unwrap()).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn a_round_robin_without_a_policy_passes_refusing_children_once() {
        let rr = json!({"name": "R", "provider": "round-robin",
                        "options": {"strategy": ["A", "B", "C"]}});
        let reg = registry(
            vec![
                guarded("A", breaker(1, 60_000)),
                guarded("B", breaker(1, 60_000)),
                leaf("C"),
                rr,
            ],
            json!({}),
        );
        let script = Scripted::new(&[
            ("A", vec![fail(ErrorKind::Server)]),
            ("B", vec![fail(ErrorKind::Server)]),
            ("C", vec![ok("C"), ok("C")]),
        ]);
        // Open A's and B's circuits, one call each.
        for _ in 0..2 {
            let e = run(&reg, "R", &script, None).await.0.unwrap_err();
            assert_eq!(e.kind, ErrorKind::Server);
        }
        // C's turn, then A's: A and B refuse, C answers, with no backoff.
        assert_eq!(run(&reg, "R", &script, None).await.0.unwrap(), "C");
        let (result, attempts) = run(&reg, "R", &script, None).await;
        assert_eq!(result.unwrap(), "C");
        assert_eq!(
            kinds(&attempts),
            [
                ("A".into(), Some(ErrorKind::CircuitOpen)),
                ("B".into(), Some(ErrorKind::CircuitOpen)),
                ("C".into(), None)
            ]
        );
        assert_eq!(script.calls().len(), 4);

        // Every child refusing: one pass, then the refusal.
        let reg = registry(
            vec![
                guarded("A", json!({"max_in_flight": 1})),
                guarded("B", json!({"max_in_flight": 1})),
                json!({"name": "R", "provider": "round-robin",
                       "options": {"strategy": ["A", "B"]}}),
            ],
            json!({}),
        );
        let slow = |text| Step {
            after: Duration::from_millis(100),
            ..ok(text)
        };
        let script = Scripted::new(&[("A", vec![slow("A")]), ("B", vec![slow("B")])]);
        let (first, second, (third, attempts)) = tokio::join!(
            run(&reg, "R", &script, None),
            run(&reg, "R", &script, None),
            run(&reg, "R", &script, None)
        );
        assert_eq!(
            (first.0.unwrap(), second.0.unwrap()),
            ("A".into(), "B".into())
        );
        assert_eq!(third.unwrap_err().kind, ErrorKind::RateLimited);
        assert_eq!(
            kinds(&attempts),
            [
                ("A".into(), Some(ErrorKind::RateLimited)),
                ("B".into(), Some(ErrorKind::RateLimited))
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_half_open_circuit_is_not_held_by_a_call_waiting_for_its_limits() {
        let reg = registry(
            vec![guarded(
                "A",
                json!({"requests_per_minute": 1,
                       "circuit_breaker": {"failure_threshold": 1, "cooldown_ms": 100}}),
            )],
            json!({}),
        );
        let script = Scripted::new(&[("A", vec![fail(ErrorKind::Server), ok("A")])]);
        run(&reg, "A", &script, None).await.0.unwrap_err();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let state = &reg.clients[0].state;
        let settings = crate::config::BreakerSettings::default();
        let phase = || state.breaker.snapshot(&settings, Instant::now()).0;
        let watch = async {
            // The call waits ~60 s for its request; the circuit has no
            // probe meanwhile, so the call that gets there first probes.
            tokio::time::sleep(Duration::from_secs(1)).await;
            phase()
        };
        let ((result, _), meanwhile) = tokio::join!(run(&reg, "A", &script, None), watch);
        assert_eq!(result.unwrap(), "A");
        use crate::config::breaker::Phase;
        assert_eq!(meanwhile, Phase::HalfOpen { probe: None });
        assert_eq!(phase(), Phase::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_is_reserved_only_once_a_max_in_flight_slot_is_taken() {
        let reg = registry(
            vec![guarded(
                "A",
                json!({"max_in_flight": 1, "requests_per_minute": 2}),
            )],
            json!({}),
        );
        let slow = |text| Step {
            after: Duration::from_millis(1000),
            ..ok(text)
        };
        let script = Scripted::new(&[("A", vec![slow("A1"), slow("A2")])]);
        let limiter = &reg.clients[0].state.limiter;
        let watch = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            let now = Instant::now();
            limiter.requests(2, now, |b| b.available(now))
        };
        let ((a1, _), (a2, _), left) = tokio::join!(
            run(&reg, "A", &script, None),
            run(&reg, "A", &script, None),
            watch
        );
        assert_eq!((a1.unwrap(), a2.unwrap()), ("A1".into(), "A2".into()));
        // The second call, queued for the slot, has not spent a request.
        assert_eq!(left, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_of_an_answer_rejected_for_its_finish_reason_are_charged() {
        let mut a = guarded("A", json!({"tokens_per_minute": 100}));
        a["options"]["finish_reason_deny_list"] = json!(["content_filter"]);
        let reg = registry(vec![a, leaf("B"), fallback(&["A", "B"])], json!({}));
        let filtered = Step {
            finish_reason: Some("content_filter"),
            tokens: Some(160),
            ..ok("filtered")
        };
        let script = Scripted::new(&[("A", vec![filtered]), ("B", vec![ok("B"), ok("B")])]);
        assert_eq!(run(&reg, "F", &script, None).await.0.unwrap(), "B");
        // 60 tokens in debt: A is skipped until they are paid back.
        let (result, attempts) = run(&reg, "F", &script, None).await;
        assert_eq!(result.unwrap(), "B");
        let refused = attempts[0].error.as_ref().unwrap();
        assert_eq!(refused.kind, ErrorKind::RateLimited);
        assert!(
            refused.message.contains("tokens_per_minute (100)"),
            "{}",
            refused.message
        );
    }
}
