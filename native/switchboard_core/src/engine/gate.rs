//! Before each attempt of a leaf: its circuit breaker and its limits, kept
//! in the client's state and shared by every call through it. After the
//! attempt: its outcome counted by the breaker, its tokens charged.
//!
//! A refusal is an attempt with no HTTP (`Error::refused`): `:circuit_open`
//! while the circuit is open, `:rate_limited` with no status when a limit
//! is full, so the leaf's retry policy does not repeat it and a fallback
//! moves on at once. A call whose client is the leaf itself waits for a
//! limit instead (no process, no scheduler time: a tokio timer or
//! semaphore), within its own timeout.
//!
//! Order: an open circuit refuses first, before any wait; then the
//! `max_in_flight` slot is taken, `tokens_per_minute` waited for, and the
//! `requests_per_minute` request reserved last, so no request is spent
//! while the attempt still queues for a slot; the breaker decides last of
//! all, so a half-open circuit's one probe is never held by a limit wait.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::SemaphorePermit;
use tokio::time::Instant;

use super::deadline::Deadline;
use super::observe::{CircuitChange, Observer};
use crate::config::breaker::{Outcome, Transition, Verdict};
use crate::config::{ClientNode, Leaf};
use crate::error::{Error, ErrorKind};
use crate::response::Usage;
use crate::retry::RetryPolicy;
use crate::wire::Completion;

/// Where a circuit changes phase: told to the call's observer (telemetry's
/// `[:switchboard, :circuit, ...]` events). Called outside the breaker's
/// lock.
fn on_transition(observer: Option<&dyn Observer>, client: &str, transition: Transition) {
    let Some(observer) = observer else {
        return;
    };
    let change = match transition {
        Transition::Opened { until } => CircuitChange::Opened {
            cooldown: until.saturating_duration_since(Instant::now()),
        },
        Transition::HalfOpened => CircuitChange::HalfOpened,
        Transition::Closed => CircuitChange::Closed,
    };
    observer.circuit_changed(client, change);
}

/// An attempt let through: holds its `max_in_flight` slot and counts it
/// in flight until dropped. Dropped without [`Admission::settle`] (the
/// call was cancelled, or a later limit refused it), a probe gives the
/// half-open circuit back for the next attempt, and a reserved request
/// goes back to the budget.
pub(super) struct Admission<'a> {
    node: &'a ClientNode,
    leaf: &'a Leaf,
    /// When it was let through as the half-open circuit's probe.
    probe: Option<Instant>,
    /// When the breaker let it through (read only with a breaker).
    admitted: Option<Instant>,
    settled: bool,
    /// A request reserved from `requests_per_minute`, not yet used.
    reserved_request: bool,
    /// The tokens reserved from `tokens_per_minute`, until the answer's
    /// usage replaces them.
    reserved_tokens: Option<f64>,
    counted: bool,
    observer: Option<&'a dyn Observer>,
    _slot: Option<SemaphorePermit<'a>>,
}

/// Checks the breaker and the limits of `node` for one attempt. `wait`:
/// the call's client is this leaf, so full limits are waited for (until
/// `deadline`); otherwise they refuse at once.
pub(super) async fn admit<'a>(
    node: &'a ClientNode,
    leaf: &'a Leaf,
    deadline: Deadline<'a>,
    wait: bool,
    observer: Option<&'a dyn Observer>,
) -> Result<Admission<'a>, Error> {
    let mut admission = Admission {
        node,
        leaf,
        probe: None,
        admitted: None,
        settled: false,
        reserved_request: false,
        reserved_tokens: None,
        counted: false,
        observer,
        _slot: None,
    };
    if let Some(settings) = &leaf.breaker {
        // Not worth waiting for a limit if the circuit refuses anyway.
        if let Some(verdict) = node.state.breaker.refusal(settings, Instant::now()) {
            return Err(refusal(node, verdict));
        }
    }
    if !leaf.limits.is_empty() {
        // Boxed: most clients have no limits, and their calls' futures
        // should not carry the timers and semaphore waits.
        Box::pin(admission.wait_for_limits(deadline, wait)).await?;
    }
    if let Some(settings) = &leaf.breaker {
        let now = Instant::now();
        let (verdict, transition) = node.state.breaker.admit(settings, now);
        admission.admitted = Some(now);
        if let Some(t) = transition {
            on_transition(observer, &node.name, t);
        }
        match verdict {
            Verdict::Pass => {}
            Verdict::Probe => admission.probe = Some(now),
            // Dropped: its slot and reserved request go back.
            refused => return Err(refusal(node, refused)),
        }
    }
    admission.reserved_request = false;
    admission.counted = true;
    node.state.in_flight.fetch_add(1, Ordering::Relaxed);
    Ok(admission)
}

/// The error of an attempt the breaker refuses.
fn refusal(node: &ClientNode, verdict: Verdict) -> Error {
    match verdict {
        Verdict::Open { retry_after } => Error::refusal(
            ErrorKind::CircuitOpen,
            format!(
                "the circuit of client {:?} is open after repeated failures; \
                 it lets a call through again in {} ms",
                node.name,
                retry_after.as_millis()
            ),
            Some(retry_after),
        ),
        Verdict::Probing { .. } | Verdict::Pass | Verdict::Probe => Error::refusal(
            ErrorKind::CircuitOpen,
            format!(
                "the circuit of client {:?} is half-open: one probe call is under way",
                node.name
            ),
            None,
        ),
    }
}

impl<'a> Admission<'a> {
    async fn wait_for_limits(&mut self, deadline: Deadline<'a>, wait: bool) -> Result<(), Error> {
        let (node, limits) = (self.node, &self.leaf.limits);
        let limiter = &node.state.limiter;
        let full = |what: String, retry_after: Option<Duration>| {
            Error::refusal(
                ErrorKind::RateLimited,
                format!("client {:?}: {what}", node.name),
                retry_after,
            )
        };
        if let Some(max) = limits.max_in_flight {
            let slots = limiter.slots(max);
            let permit = if wait {
                let acquire = slots.acquire();
                match deadline.instant() {
                    Some(at) => match tokio::time::timeout_at(at, acquire).await {
                        Ok(permit) => permit,
                        Err(_) => {
                            let mut e = deadline.error();
                            e.message = format!(
                                "{} while waiting for one of client {:?}'s max_in_flight ({max}) slots",
                                e.message, node.name
                            );
                            return Err(e);
                        }
                    },
                    None => acquire.await,
                }
                .ok()
            } else {
                slots.try_acquire().ok()
            };
            match permit {
                Some(p) => self._slot = Some(p),
                None => {
                    return Err(full(
                        format!("max_in_flight ({max}) calls are in flight"),
                        None,
                    ))
                }
            }
        }
        if let Some(budget) = limits.tokens_per_minute {
            loop {
                let now = Instant::now();
                let delay = match limiter.tokens(budget, now, |b| b.reserve(now)) {
                    Ok(reserved) => {
                        self.reserved_tokens = Some(reserved);
                        break;
                    }
                    Err(delay) => delay,
                };
                if !wait || deadline.cuts_short(delay) {
                    return Err(full(
                        format!(
                            "tokens_per_minute ({budget}) is used up; more are allowed in {} ms",
                            delay.as_millis()
                        ),
                        Some(delay),
                    ));
                }
                tokio::time::sleep(delay).await;
            }
        }
        // Last, just before sending: a request reserved while the attempt
        // queued for a slot would be spent by an attempt not yet sent.
        if let Some(budget) = limits.requests_per_minute {
            let now = Instant::now();
            let patience = match (wait, deadline.instant()) {
                (false, _) => Some(Duration::ZERO),
                (true, Some(at)) => Some(at.saturating_duration_since(now)),
                (true, None) => None,
            };
            match limiter.requests(budget, now, |b| b.reserve(now, patience)) {
                Ok(delay) => {
                    self.reserved_request = true;
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                }
                Err(next) => {
                    return Err(full(
                        format!(
                            "requests_per_minute ({budget}) is used up; the next request \
                             is allowed in {} ms",
                            next.as_millis()
                        ),
                        Some(next),
                    ))
                }
            }
        }
        Ok(())
    }

    /// Counts the attempt's outcome and charges its tokens: an answer's
    /// usage, or `billed`, the usage of an answer read and then rejected
    /// (a denied finish reason, a schema mismatch), which the provider
    /// counted all the same.
    pub fn settle(
        mut self,
        result: &Result<(u16, Completion), Error>,
        billed: Option<&Usage>,
        cut: Cut,
    ) {
        self.settled = true;
        let (node, leaf) = (self.node, self.leaf);
        let usage = match result {
            Ok((_, completion)) => Some(&completion.usage),
            Err(_) => billed,
        };
        if let (Some(reserved), Some(budget)) =
            (self.reserved_tokens.take(), leaf.limits.tokens_per_minute)
        {
            let now = Instant::now();
            // An answer that reported no usage (a stream without usage)
            // gives its reservation back and leaves the average alone.
            let used = usage.and_then(|usage| {
                usage
                    .total_tokens
                    .or(match (usage.input_tokens, usage.output_tokens) {
                        (None, None) => None,
                        (input, output) => {
                            Some(input.unwrap_or(0).saturating_add(output.unwrap_or(0)))
                        }
                    })
            });
            node.state.limiter.tokens(budget, now, |b| match used {
                Some(used) => b.settle(now, reserved, used),
                None => b.refund(now, reserved),
            });
        }
        let Some(settings) = &leaf.breaker else {
            return;
        };
        let now = Instant::now();
        let outcome = match result {
            Ok(_) => Outcome::Answered,
            Err(_)
                if cut == Cut::Silent
                    && self
                        .admitted
                        .is_some_and(|at| now - at >= settings.slow_call) =>
            {
                Outcome::Failed { open_for: None }
            }
            Err(_) if cut != Cut::No => Outcome::Neither,
            Err(e) if e.kind == ErrorKind::Cancelled => Outcome::Neither,
            Err(e) if e.is_retryable() => Outcome::Failed {
                open_for: long_retry_after(node, e),
            },
            // A 400 or 401 from the provider: it is up.
            Err(e) if e.status.is_some() => Outcome::Answered,
            Err(_) => Outcome::Neither,
        };
        if let Some(t) = node
            .state
            .breaker
            .record(settings, now, self.probe, outcome)
        {
            on_transition(self.observer, &node.name, t);
        }
    }
}

/// Whether the call's (or a strategy's) total timeout ended the attempt,
/// which says something about the client only when nothing of the answer
/// had come and the attempt had waited `slow_call_ms` (see
/// `config::breaker`): a provider that hangs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cut {
    No,
    /// Cut before any of the answer was delivered.
    Silent,
    /// Cut while the answer streamed: the provider is up, just long.
    Streaming,
}

/// A 429's Retry-After longer than the leaf's retry policy would wait
/// (DefaultRetry's 10 s without one): the circuit opens for that long.
fn long_retry_after(node: &ClientNode, e: &Error) -> Option<Duration> {
    if e.kind != ErrorKind::RateLimited {
        return None;
    }
    let asked = e.retry_after?;
    let longest = match &node.retry {
        Some(policy) => policy.max_delay(),
        None => RetryPolicy::default_retry().max_delay(),
    };
    (asked > longest).then_some(asked)
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        let state = &self.node.state;
        if self.counted {
            state.in_flight.fetch_sub(1, Ordering::Relaxed);
        }
        if self.reserved_request {
            if let Some(budget) = self.leaf.limits.requests_per_minute {
                let now = Instant::now();
                state.limiter.requests(budget, now, |b| b.refund(now));
            }
        }
        // Refused before it was sent: its tokens go back. Sent and then
        // cancelled: the provider may have spent them, so they stay spent.
        if let (false, Some(reserved), Some(budget)) = (
            self.counted,
            self.reserved_tokens,
            self.leaf.limits.tokens_per_minute,
        ) {
            let now = Instant::now();
            state
                .limiter
                .tokens(budget, now, |b| b.refund(now, reserved));
        }
        if let (Some(started), false) = (self.probe, self.settled) {
            if let Some(settings) = &self.leaf.breaker {
                let now = Instant::now();
                let probe = Some(started);
                if let Some(t) = state.breaker.record(settings, now, probe, Outcome::Neither) {
                    on_transition(self.observer, &self.node.name, t);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{NodeKind, Registry};
    use serde_json::json;

    /// What the gate costs an attempt, per client setup: `cargo test
    /// --release -p switchboard_core gate_cost -- --ignored --nocapture`
    /// (bench/README.md has the figures).
    #[test]
    #[ignore = "a measurement, not a check"]
    fn gate_cost() {
        let leaf = |name: &str, extra: serde_json::Value| {
            let mut options = json!({"base_url": "http://127.0.0.1:9", "model": "m"});
            for (k, v) in extra.as_object().unwrap() {
                options[k] = v.clone();
            }
            json!({"name": name, "provider": "openai-generic", "options": options})
        };
        let breaker = json!({"circuit_breaker": true});
        let limits = json!({"max_in_flight": 1000, "requests_per_minute": 1_000_000_000,
                            "tokens_per_minute": 1_000_000_000_000u64});
        let mut both = breaker.clone();
        both.as_object_mut()
            .unwrap()
            .extend(limits.as_object().unwrap().clone());
        let reg = Registry::from_value(&json!({"clients": [
            leaf("Plain", json!({})), leaf("Breaker", breaker), leaf("Limits", limits),
            leaf("Both", both)]}))
        .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let answer = Ok((200, Completion::default()));
        const N: u32 = 1_000_000;
        for node in &reg.clients {
            let NodeKind::Leaf(leaf) = &node.kind else {
                continue;
            };
            let took = runtime.block_on(async {
                let started = std::time::Instant::now();
                for _ in 0..N {
                    let admission = admit(node, leaf, Deadline::for_call(None), true, None)
                        .await
                        .unwrap();
                    admission.settle(&answer, None, Cut::No);
                }
                started.elapsed()
            });
            println!(
                "{:8} {:.0} ns per attempt",
                node.name,
                took.as_nanos() as f64 / f64::from(N)
            );
        }
    }
}
