//! A leaf client's circuit breaker: its settings, read from the client's
//! `circuit_breaker` option or the registry's default, and the state
//! machine kept in its [`super::ClientState`], so it outlives rebuilds and
//! reloads while the client is unchanged.
//!
//! Closed: attempts go through; `failure_threshold` failures the contract
//! retries within `window_ms` open it. Open: attempts are refused, with no
//! HTTP, for `cooldown_ms`. Then half-open: exactly one attempt (the probe)
//! goes through while the others are refused; its success closes the
//! circuit, its failure opens it again. The probe holds a lease of
//! `probe_timeout_ms` (by default one cooldown): a probe still under way
//! after that (a hung stream, a call with no timeout) no longer speaks for
//! the client, and the next attempt probes instead, so one stuck call
//! cannot keep the circuit half-open for ever. Clients whose answers take
//! longer than their cooldown should set it to their usual answer time.
//!
//! An attempt cut short by the caller's `timeout:` (or a strategy's
//! `total_timeout_ms`) counts as a failure only when nothing of its answer
//! had come and it had waited at least `slow_call_ms` (default 30 s): a
//! provider that hangs past every call's budget must still open the
//! circuit, while a call whose own budget was tight, or a stream still
//! under way, says nothing against its client. A model that routinely
//! answers a plain call slower than that wants a larger `slow_call_ms`.
//!
//! Time is tokio's clock, so the rules are tested on a paused one.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::time::Instant;

use crate::error::Error;
use crate::value::{type_name, Options};

/// `circuit_breaker: %{failure_threshold: n, window_ms: w, cooldown_ms: c,
/// probe_timeout_ms: p, slow_call_ms: s}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    pub failure_threshold: u32,
    pub window: Duration,
    pub cooldown: Duration,
    /// How long a probe speaks for the client; `None`: one cooldown.
    pub probe_timeout: Option<Duration>,
    /// How long an attempt cut short by a timeout must have waited to
    /// count as a failure.
    pub slow_call: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        BreakerSettings {
            failure_threshold: 5,
            window: Duration::from_millis(60_000),
            cooldown: Duration::from_millis(30_000),
            probe_timeout: None,
            slow_call: Duration::from_millis(30_000),
        }
    }
}

/// The longest a 429's Retry-After opens a circuit for, unless the
/// cooldown is longer: a bad or hostile header must not take a client out
/// of rotation for years.
pub const MAX_RETRY_AFTER_OPEN: Duration = Duration::from_secs(3600);

/// The largest threshold: the breaker keeps one timestamp per counted
/// failure, so the bound is its memory.
const MAX_THRESHOLD: u64 = 10_000;

impl BreakerSettings {
    /// How long the probe of a half-open circuit holds it.
    fn probe_lease(&self) -> Duration {
        self.probe_timeout.unwrap_or(self.cooldown)
    }

    /// A `circuit_breaker` value: a map (missing keys take the defaults)
    /// or `true` turn it on; `false` or `nil` turn it off (`None`).
    /// `ctx` names the owner in errors (`client "A"`, `the registry`).
    pub fn parse(ctx: &str, value: &Value) -> Result<Option<Self>, Error> {
        let map = match value {
            Value::Null | Value::Bool(false) => return Ok(None),
            Value::Bool(true) => return Ok(Some(BreakerSettings::default())),
            Value::Object(map) => map,
            other => {
                return Err(Error::config(format!(
                    "{ctx}: option \"circuit_breaker\" must be a map (failure_threshold, window_ms, cooldown_ms, probe_timeout_ms, slow_call_ms) or false, got {}",
                    type_name(other)
                )))
            }
        };
        Self::parse_map(&format!("{ctx} circuit_breaker"), map).map(Some)
    }

    fn parse_map(ctx: &str, map: &Map<String, Value>) -> Result<Self, Error> {
        let o = Options::new(ctx, map);
        o.reject_unknown(&[
            "failure_threshold",
            "window_ms",
            "cooldown_ms",
            "probe_timeout_ms",
            "slow_call_ms",
        ])?;
        let defaults = BreakerSettings::default();
        let positive = |key: &str, max: u64| -> Result<Option<u64>, Error> {
            match o.u64(key)? {
                Some(n) if n == 0 || n > max => Err(Error::config(format!(
                    "{ctx}: option {key:?} must be between 1 and {max}"
                ))),
                n => Ok(n),
            }
        };
        // A day is longer than any useful window or cooldown, and keeps
        // every deadline computed from them far from overflowing.
        const DAY_MS: u64 = super::bounds::MAX_TIMEOUT_MS;
        Ok(BreakerSettings {
            failure_threshold: positive("failure_threshold", MAX_THRESHOLD)?
                .map_or(defaults.failure_threshold, |n| n as u32),
            window: positive("window_ms", DAY_MS)?.map_or(defaults.window, Duration::from_millis),
            cooldown: positive("cooldown_ms", DAY_MS)?
                .map_or(defaults.cooldown, Duration::from_millis),
            probe_timeout: positive("probe_timeout_ms", DAY_MS)?.map(Duration::from_millis),
            slow_call: positive("slow_call_ms", DAY_MS)?
                .map_or(defaults.slow_call, Duration::from_millis),
        })
    }
}

/// The settings as part of a client state's key.
pub fn key(s: &BreakerSettings) -> Value {
    serde_json::json!({
        "failure_threshold": s.failure_threshold,
        "window_ms": s.window.as_millis() as u64,
        "cooldown_ms": s.cooldown.as_millis() as u64,
        "probe_timeout_ms": s.probe_timeout.map(|d| d.as_millis() as u64),
        "slow_call_ms": s.slow_call.as_millis() as u64,
    })
}

/// Where a circuit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Closed,
    Open {
        until: Instant,
    },
    /// `probe`: when the one attempt let through started, while it is
    /// under way (and identifies it: two probes never start at the same
    /// instant, since a lease lasts a cooldown of at least 1 ms).
    HalfOpen {
        probe: Option<Instant>,
    },
}

/// A change of phase, for observers (telemetry's circuit events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Opened {
        until: Instant,
    },
    /// The cooldown is over and a probe went through.
    HalfOpened,
    Closed,
}

/// What the breaker says to an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// Goes through as the half-open circuit's one probe: its outcome
    /// closes or re-opens the circuit.
    Probe,
    /// Open: refused for `retry_after` more.
    Open {
        retry_after: Duration,
    },
    /// Half-open, another attempt is the probe; its lease ends in
    /// `lease_left`.
    Probing {
        lease_left: Duration,
    },
}

/// How an attempt that went through ended, as the breaker counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An answer, or an error the contract does not retry from the
    /// provider itself (a 400 says the client is up).
    Answered,
    /// A failure the contract retries; `open_for`: a 429's Retry-After
    /// longer than the client's retry policy waits.
    Failed { open_for: Option<Duration> },
    /// Says nothing about the client: cancelled, cut by the caller's
    /// timeout, or refused before sending (a missing key).
    Neither,
}

#[derive(Debug)]
struct Circuit {
    phase: Phase,
    /// Counted failures within the window, oldest first; never more than
    /// the threshold.
    failures: VecDeque<Instant>,
}

impl Default for Circuit {
    fn default() -> Self {
        Circuit {
            phase: Phase::Closed,
            failures: VecDeque::new(),
        }
    }
}

/// One leaf client's breaker state, shared by every call through it.
#[derive(Debug, Default)]
pub struct CircuitBreaker {
    circuit: Mutex<Circuit>,
}

impl CircuitBreaker {
    fn lock(&self) -> MutexGuard<'_, Circuit> {
        self.circuit.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether an attempt may go through now; an open circuit whose
    /// cooldown is over (or a probe whose lease is over) lets this one
    /// through as its probe, started at `now`.
    pub fn admit(&self, settings: &BreakerSettings, now: Instant) -> (Verdict, Option<Transition>) {
        let mut c = self.lock();
        if let Some(refusal) = c.refusal(settings, now) {
            return (refusal, None);
        }
        match c.phase {
            Phase::Closed => (Verdict::Pass, None),
            Phase::Open { .. } | Phase::HalfOpen { .. } => {
                let was_open = matches!(c.phase, Phase::Open { .. });
                c.phase = Phase::HalfOpen { probe: Some(now) };
                (Verdict::Probe, was_open.then_some(Transition::HalfOpened))
            }
        }
    }

    /// What [`CircuitBreaker::admit`] would refuse now, changing nothing:
    /// checked before an attempt waits for its limits, so an open circuit
    /// refuses at once.
    pub fn refusal(&self, settings: &BreakerSettings, now: Instant) -> Option<Verdict> {
        self.lock().refusal(settings, now)
    }

    /// Counts an attempt's outcome. `probe`: when it started, if it was
    /// admitted as the probe. Only the current probe's outcome decides a
    /// half-open circuit: one whose lease was taken over counts as any
    /// other late attempt.
    pub fn record(
        &self,
        settings: &BreakerSettings,
        now: Instant,
        probe: Option<Instant>,
        outcome: Outcome,
    ) -> Option<Transition> {
        let mut c = self.lock();
        let probing = probe.is_some() && c.phase == Phase::HalfOpen { probe };
        let open_for = |asked: Option<Duration>| {
            asked.map(|d| d.min(settings.cooldown.max(MAX_RETRY_AFTER_OPEN)))
        };
        match outcome {
            Outcome::Answered if probing => {
                c.phase = Phase::Closed;
                c.failures.clear();
                Some(Transition::Closed)
            }
            Outcome::Neither if probing => {
                // The next attempt probes instead: a cancelled probe must
                // not leave the circuit half-open for ever.
                c.phase = Phase::HalfOpen { probe: None };
                None
            }
            Outcome::Failed { open_for: asked } if probing => {
                let cooldown = settings.cooldown.max(open_for(asked).unwrap_or_default());
                Some(c.open(now, cooldown))
            }
            Outcome::Failed { open_for: asked } => match (c.phase, open_for(asked)) {
                (Phase::Closed, open_for) => {
                    let window_start = now.checked_sub(settings.window);
                    while c
                        .failures
                        .front()
                        .is_some_and(|t| window_start.is_some_and(|start| *t <= start))
                    {
                        c.failures.pop_front();
                    }
                    c.failures.push_back(now);
                    if c.failures.len() >= settings.failure_threshold as usize {
                        let cooldown = settings.cooldown.max(open_for.unwrap_or_default());
                        Some(c.open(now, cooldown))
                    } else {
                        open_for.map(|d| c.open(now, d))
                    }
                }
                // A late answer to an attempt let through before the
                // circuit opened: only a longer Retry-After extends it.
                (Phase::Open { until }, Some(d)) if now + d > until => Some(c.open(now, d)),
                (Phase::Open { .. } | Phase::HalfOpen { .. }, _) => None,
            },
            Outcome::Answered | Outcome::Neither => None,
        }
    }

    /// The phase now, and the counted failures still within the window.
    pub fn snapshot(&self, settings: &BreakerSettings, now: Instant) -> (Phase, usize) {
        let c = self.lock();
        let window_start = now.checked_sub(settings.window);
        let recent = c
            .failures
            .iter()
            .filter(|t| window_start.is_none_or(|start| **t > start))
            .count();
        let phase = match c.phase {
            // Its cooldown is over: the next attempt probes.
            Phase::Open { until } if now >= until => Phase::HalfOpen { probe: None },
            phase => phase,
        };
        (phase, recent)
    }
}

impl Circuit {
    /// The refusal an attempt gets now, if any.
    fn refusal(&self, settings: &BreakerSettings, now: Instant) -> Option<Verdict> {
        match self.phase {
            Phase::Open { until } if now < until => Some(Verdict::Open {
                retry_after: until - now,
            }),
            Phase::HalfOpen {
                probe: Some(started),
            } if now < started + settings.probe_lease() => Some(Verdict::Probing {
                lease_left: started + settings.probe_lease() - now,
            }),
            _ => None,
        }
    }

    fn open(&mut self, now: Instant, cooldown: Duration) -> Transition {
        let until = now + cooldown;
        self.phase = Phase::Open { until };
        Transition::Opened { until }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(threshold: u32, window_ms: u64, cooldown_ms: u64) -> BreakerSettings {
        BreakerSettings {
            failure_threshold: threshold,
            window: Duration::from_millis(window_ms),
            cooldown: Duration::from_millis(cooldown_ms),
            ..BreakerSettings::default()
        }
    }

    const FAILED: Outcome = Outcome::Failed { open_for: None };

    #[test]
    fn options_are_checked_and_default() {
        let ctx = "client \"A\"";
        assert_eq!(BreakerSettings::parse(ctx, &json!(false)).unwrap(), None);
        assert_eq!(
            BreakerSettings::parse(ctx, &json!(true)).unwrap(),
            Some(BreakerSettings::default())
        );
        assert_eq!(
            BreakerSettings::parse(ctx, &json!({"failure_threshold": 2})).unwrap(),
            Some(BreakerSettings {
                failure_threshold: 2,
                ..BreakerSettings::default()
            })
        );
        for (bad, says) in [
            (json!("on"), "must be a map"),
            (json!({"failure_threshold": 0}), "between 1 and"),
            (json!({"slow_call_ms": 0}), "between 1 and"),
            (json!({"window_ms": -5}), "non-negative integer"),
            (json!({"cooldown": 5}), "unknown option \"cooldown\""),
        ] {
            let e = BreakerSettings::parse(ctx, &bad).unwrap_err();
            assert!(
                e.message.starts_with("client \"A\"") && e.message.contains(says),
                "{bad}: {}",
                e.message
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn opens_at_the_threshold_within_the_window_only() {
        let s = settings(3, 1000, 500);
        let b = CircuitBreaker::default();
        let t0 = Instant::now();
        assert_eq!(b.record(&s, t0, None, FAILED), None);
        assert_eq!(
            b.record(&s, t0 + Duration::from_millis(400), None, FAILED),
            None
        );
        // The first has left the window: two counted, still closed.
        let t1 = t0 + Duration::from_millis(1000);
        assert_eq!(b.record(&s, t1, None, FAILED), None);
        assert_eq!(b.snapshot(&s, t1), (Phase::Closed, 2));
        // Answers erase nothing; a 400 does not count.
        assert_eq!(b.record(&s, t1, None, Outcome::Answered), None);
        let t2 = t1 + Duration::from_millis(100);
        let until = t2 + Duration::from_millis(500);
        assert_eq!(
            b.record(&s, t2, None, FAILED),
            Some(Transition::Opened { until })
        );
        assert_eq!(
            b.admit(&s, t2 + Duration::from_millis(200)),
            (
                Verdict::Open {
                    retry_after: Duration::from_millis(300)
                },
                None
            )
        );
    }

    #[tokio::test(start_paused = true)]
    async fn one_probe_after_the_cooldown_closes_or_reopens() {
        let s = settings(1, 1000, 500);
        let b = CircuitBreaker::default();
        let t0 = Instant::now();
        b.record(&s, t0, None, FAILED);
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(b.snapshot(&s, t1).0, Phase::HalfOpen { probe: None });
        assert_eq!(
            b.admit(&s, t1),
            (Verdict::Probe, Some(Transition::HalfOpened))
        );
        assert_eq!(
            b.admit(&s, t1),
            (
                Verdict::Probing {
                    lease_left: Duration::from_millis(500)
                },
                None
            )
        );
        // The probe fails: open for another cooldown.
        assert_eq!(
            b.record(&s, t1, Some(t1), FAILED),
            Some(Transition::Opened {
                until: t1 + Duration::from_millis(500)
            })
        );
        let t2 = t1 + Duration::from_millis(500);
        assert_eq!(b.admit(&s, t2).0, Verdict::Probe);
        assert_eq!(
            b.record(&s, t2, Some(t2), Outcome::Answered),
            Some(Transition::Closed)
        );
        assert_eq!(b.admit(&s, t2), (Verdict::Pass, None));
        assert_eq!(b.snapshot(&s, t2), (Phase::Closed, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_probe_that_ends_in_neither_lets_the_next_attempt_probe() {
        let s = settings(1, 1000, 10);
        let b = CircuitBreaker::default();
        let t0 = Instant::now();
        b.record(&s, t0, None, FAILED);
        let t1 = t0 + Duration::from_millis(10);
        assert_eq!(b.admit(&s, t1).0, Verdict::Probe);
        assert_eq!(b.record(&s, t1, Some(t1), Outcome::Neither), None);
        assert_eq!(b.admit(&s, t1), (Verdict::Probe, None));
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_retry_after_opens_for_that_long() {
        let s = settings(5, 1000, 100);
        let b = CircuitBreaker::default();
        let t0 = Instant::now();
        let asked = Duration::from_secs(90);
        assert_eq!(
            b.record(
                &s,
                t0,
                None,
                Outcome::Failed {
                    open_for: Some(asked)
                }
            ),
            Some(Transition::Opened { until: t0 + asked })
        );
        // A late failure does not shorten it; a longer ask extends it.
        assert_eq!(b.record(&s, t0, None, FAILED), None);
        let longer = Duration::from_secs(120);
        assert_eq!(
            b.record(
                &s,
                t0,
                None,
                Outcome::Failed {
                    open_for: Some(longer)
                }
            ),
            Some(Transition::Opened { until: t0 + longer })
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_probe_still_under_way_after_a_cooldown_loses_its_lease() {
        let s = settings(1, 1000, 500);
        let b = CircuitBreaker::default();
        let t0 = Instant::now();
        b.record(&s, t0, None, FAILED);
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(b.admit(&s, t1).0, Verdict::Probe);
        let t2 = t1 + Duration::from_millis(499);
        assert_eq!(
            b.admit(&s, t2).0,
            Verdict::Probing {
                lease_left: Duration::from_millis(1)
            }
        );
        // A cooldown later the hung probe no longer speaks for the client.
        let t3 = t1 + Duration::from_millis(500);
        assert_eq!(b.refusal(&s, t3), None);
        assert_eq!(b.admit(&s, t3), (Verdict::Probe, None));
        // The old probe's late end decides nothing, even a cancellation.
        assert_eq!(b.record(&s, t3, Some(t1), Outcome::Neither), None);
        assert_eq!(b.record(&s, t3, Some(t1), Outcome::Answered), None);
        assert_eq!(b.record(&s, t3, Some(t1), FAILED), None);
        assert!(matches!(b.admit(&s, t3).0, Verdict::Probing { .. }));
        assert_eq!(
            b.record(&s, t3, Some(t3), Outcome::Answered),
            Some(Transition::Closed)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn probe_timeout_ms_sets_the_probes_lease() {
        let parsed = BreakerSettings::parse(
            "client \"A\"",
            &json!({"failure_threshold": 1, "cooldown_ms": 500, "probe_timeout_ms": 60_000}),
        )
        .unwrap()
        .unwrap();
        assert_eq!(parsed.probe_timeout, Some(Duration::from_millis(60_000)));
        let b = CircuitBreaker::default();
        let t0 = Instant::now();
        b.record(&parsed, t0, None, FAILED);
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(b.admit(&parsed, t1).0, Verdict::Probe);
        // Ten cooldowns later the probe still holds the circuit.
        let t2 = t1 + Duration::from_millis(5_000);
        assert_eq!(
            b.admit(&parsed, t2).0,
            Verdict::Probing {
                lease_left: Duration::from_millis(55_000)
            }
        );
        let zero = BreakerSettings::parse("c", &json!({"probe_timeout_ms": 0})).unwrap_err();
        assert!(zero.message.contains("between 1 and"), "{}", zero.message);
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_after_opens_for_an_hour_at_most_or_the_cooldown_if_longer() {
        let b = CircuitBreaker::default();
        let t0 = Instant::now();
        let years = Outcome::Failed {
            open_for: Some(Duration::from_secs(10 * 365 * 86_400)),
        };
        let s = settings(5, 1000, 100);
        assert_eq!(
            b.record(&s, t0, None, years),
            Some(Transition::Opened {
                until: t0 + MAX_RETRY_AFTER_OPEN
            })
        );
        // Nor does a later one extend it past the cap.
        assert_eq!(b.record(&s, t0, None, years), None);
        let long_cooldown = settings(5, 1000, 2 * 3_600_000);
        let b = CircuitBreaker::default();
        assert_eq!(
            b.record(&long_cooldown, t0, None, years),
            Some(Transition::Opened {
                until: t0 + Duration::from_secs(7200)
            })
        );
    }
}
