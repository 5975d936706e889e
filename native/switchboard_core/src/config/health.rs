//! What `Switchboard.Registry.health/1` reports: each leaf client's circuit
//! and limits, read from its state without waiting on any call.

use std::sync::atomic::Ordering;
use std::time::SystemTime;

use tokio::time::Instant;

use super::breaker::Phase;
use super::{NodeKind, Registry};

/// A circuit as a dashboard shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Circuit {
    Closed,
    /// Refusing calls until then (wall-clock time).
    Open {
        until: SystemTime,
    },
    /// The cooldown is over: one probe call is (or will next be) let through.
    HalfOpen,
}

/// One leaf client's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHealth<'a> {
    pub client: &'a str,
    /// Always `Closed` for a client without a circuit breaker.
    pub circuit: Circuit,
    /// Failures counted by the breaker within its window.
    pub recent_failures: usize,
    /// Attempts sending or reading right now.
    pub in_flight: usize,
    /// What is left of the `requests_per_minute` budget (negative while
    /// waiting calls have reserved more); `None` without one.
    pub requests_available: Option<i64>,
    /// What is left of the `tokens_per_minute` budget; `None` without one.
    pub tokens_available: Option<i64>,
}

impl Registry {
    /// Every leaf client's health, in configuration order.
    pub fn health(&self) -> Vec<ClientHealth<'_>> {
        let now = Instant::now();
        let wall = SystemTime::now();
        self.clients
            .iter()
            .filter_map(|node| {
                let NodeKind::Leaf(leaf) = &node.kind else {
                    return None;
                };
                let state = &node.state;
                let (circuit, recent_failures) = match &leaf.breaker {
                    None => (Circuit::Closed, 0),
                    Some(settings) => {
                        let (phase, recent) = state.breaker.snapshot(settings, now);
                        let circuit = match phase {
                            Phase::Closed => Circuit::Closed,
                            Phase::Open { until } => Circuit::Open {
                                until: wall + (until - now),
                            },
                            Phase::HalfOpen { .. } => Circuit::HalfOpen,
                        };
                        (circuit, recent)
                    }
                };
                let limits = &leaf.limits;
                Some(ClientHealth {
                    client: &node.name,
                    circuit,
                    recent_failures,
                    in_flight: state.in_flight.load(Ordering::Relaxed),
                    requests_available: limits
                        .requests_per_minute
                        .map(|budget| state.limiter.requests(budget, now, |b| b.available(now))),
                    tokens_available: limits
                        .tokens_per_minute
                        .map(|budget| state.limiter.tokens(budget, now, |b| b.available(now))),
                })
            })
            .collect()
    }
}
