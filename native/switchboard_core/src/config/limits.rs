//! A leaf client's own limits: `max_in_flight`, `requests_per_minute` and
//! `tokens_per_minute`, read from its options, and the counters kept in its
//! [`super::ClientState`], shared by every call through it.
//!
//! The per-minute budgets are token buckets: each holds up to one
//! minute's budget, starts full and refills continuously (a budget of 60
//! requests gives one back every second), so a burst may spend a whole
//! minute's budget at once and the rate over time stays at the budget.
//!
//! Tokens are known only from the answer, so an attempt that starts on a
//! positive token budget reserves what the client's recent calls used (a
//! moving average), and its answer's usage then replaces the reservation:
//! calls that waited for the budget to come back do not all start at once
//! on the first positive token.

use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::error::Error;
use crate::value::Options;

/// The options this module reads.
pub const LIMIT_OPTIONS: &[&str] = &["max_in_flight", "requests_per_minute", "tokens_per_minute"];

/// What a leaf's options ask for; all off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeafLimits {
    pub max_in_flight: Option<u32>,
    pub requests_per_minute: Option<u32>,
    pub tokens_per_minute: Option<u64>,
}

impl LeafLimits {
    pub fn parse(o: &Options<'_>, ctx: &str) -> Result<Self, Error> {
        let positive = |key: &str, max: u64| -> Result<Option<u64>, Error> {
            match o.u64(key)? {
                Some(n) if n == 0 || n > max => Err(Error::config(format!(
                    "{ctx}: option {key:?} must be between 1 and {max}"
                ))),
                n => Ok(n),
            }
        };
        // Semaphores count permits in a usize below 2^61; budgets in f64.
        Ok(LeafLimits {
            max_in_flight: positive("max_in_flight", 1_000_000)?.map(|n| n as u32),
            requests_per_minute: positive("requests_per_minute", 1_000_000_000)?.map(|n| n as u32),
            tokens_per_minute: positive("tokens_per_minute", 1 << 50)?,
        })
    }

    pub fn is_empty(&self) -> bool {
        *self == LeafLimits::default()
    }
}

/// A budget per minute that refills continuously. The level may go below
/// zero: reserved requests and charged tokens are paid back over time.
#[derive(Debug)]
pub struct Bucket {
    capacity: f64,
    per_second: f64,
    level: f64,
    at: Instant,
}

impl Bucket {
    pub fn per_minute(budget: u64, now: Instant) -> Self {
        let capacity = budget as f64;
        Bucket {
            capacity,
            per_second: capacity / 60.0,
            level: capacity,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        if now > self.at {
            let gained = (now - self.at).as_secs_f64() * self.per_second;
            self.level = (self.level + gained).min(self.capacity);
            self.at = now;
        }
    }

    /// How long until the level reaches `wanted`.
    fn wait_for(&self, wanted: f64) -> Duration {
        if self.level >= wanted {
            return Duration::ZERO;
        }
        Duration::from_secs_f64((wanted - self.level) / self.per_second)
    }

    /// Takes one unit now, or reserves the next one if it comes within
    /// `patience` (the caller then waits the returned time before using
    /// it); otherwise takes nothing and says how long until one is free.
    pub fn reserve(
        &mut self,
        now: Instant,
        patience: Option<Duration>,
    ) -> Result<Duration, Duration> {
        self.refill(now);
        let wait = self.wait_for(1.0);
        if patience.is_none_or(|p| wait <= p) {
            self.level -= 1.0;
            Ok(wait)
        } else {
            Err(wait)
        }
    }

    /// Gives back a reservation that was not used (its call was cancelled
    /// while it waited).
    pub fn refund(&mut self, now: Instant) {
        self.refill(now);
        self.level = (self.level + 1.0).min(self.capacity);
    }

    /// How long until the level is above zero: tokens are charged after
    /// the answer, so a call may start on any positive level.
    pub fn until_positive(&mut self, now: Instant) -> Duration {
        self.refill(now);
        if self.level > 0.0 {
            Duration::ZERO
        } else {
            // Just past zero, so the call that waited finds it positive.
            self.wait_for(0.0) + Duration::from_millis(1)
        }
    }

    /// Adds (or, negative, takes) `amount`, never above the capacity.
    fn adjust(&mut self, now: Instant, amount: f64) {
        self.refill(now);
        self.level = (self.level + amount).min(self.capacity);
    }

    /// What is left now, rounded down; negative while in debt.
    pub fn available(&mut self, now: Instant) -> i64 {
        self.refill(now);
        self.level.floor() as i64
    }
}

/// The `tokens_per_minute` budget and what a call through the client
/// usually uses.
#[derive(Debug)]
pub struct TokenBudget {
    bucket: Bucket,
    /// Moving average of the tokens of recent answers; 0 before the first.
    per_call: f64,
}

/// The weight of the newest answer in `per_call`.
const PER_CALL_WEIGHT: f64 = 0.2;

impl TokenBudget {
    fn per_minute(budget: u64, now: Instant) -> Self {
        TokenBudget {
            bucket: Bucket::per_minute(budget, now),
            per_call: 0.0,
        }
    }

    /// On a positive budget, reserves a usual call's tokens and returns
    /// them (to settle later); otherwise says how long until it is
    /// positive.
    pub fn reserve(&mut self, now: Instant) -> Result<f64, Duration> {
        match self.bucket.until_positive(now) {
            d if d.is_zero() => {
                self.bucket.level -= self.per_call;
                Ok(self.per_call)
            }
            d => Err(d),
        }
    }

    /// The answer came: its `used` tokens replace the `reserved` ones.
    pub fn settle(&mut self, now: Instant, reserved: f64, used: u64) {
        let used = used as f64;
        self.bucket.adjust(now, reserved - used);
        self.per_call = if self.per_call == 0.0 {
            used
        } else {
            self.per_call + PER_CALL_WEIGHT * (used - self.per_call)
        };
    }

    /// Gives `reserved` back: the attempt was refused before it was sent,
    /// or its answer reported no usage.
    pub fn refund(&mut self, now: Instant, reserved: f64) {
        self.bucket.adjust(now, reserved);
    }

    /// What is left now, rounded down; negative while in debt.
    pub fn available(&mut self, now: Instant) -> i64 {
        self.bucket.available(now)
    }
}

/// One leaf client's limit counters. Each is made on first use, from the
/// client's limits (the same for every registry that shares the state,
/// since they are part of its config).
#[derive(Debug, Default)]
pub struct ClientLimiter {
    slots: OnceLock<Semaphore>,
    requests: Mutex<Option<Bucket>>,
    tokens: Mutex<Option<TokenBudget>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ClientLimiter {
    /// The `max_in_flight` semaphore.
    pub fn slots(&self, max_in_flight: u32) -> &Semaphore {
        self.slots
            .get_or_init(|| Semaphore::new(max_in_flight as usize))
    }

    /// Runs `f` on the requests-per-minute bucket.
    pub fn requests<R>(&self, budget: u32, now: Instant, f: impl FnOnce(&mut Bucket) -> R) -> R {
        let mut bucket = lock(&self.requests);
        f(bucket.get_or_insert_with(|| Bucket::per_minute(u64::from(budget), now)))
    }

    /// Runs `f` on the tokens-per-minute budget.
    pub fn tokens<R>(&self, budget: u64, now: Instant, f: impl FnOnce(&mut TokenBudget) -> R) -> R {
        let mut bucket = lock(&self.tokens);
        f(bucket.get_or_insert_with(|| TokenBudget::per_minute(budget, now)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn options_are_positive_integers() {
        let ctx = "client \"A\"";
        let read = |v: serde_json::Value| {
            let map = v.as_object().unwrap().clone();
            LeafLimits::parse(&Options::new(ctx, &map), ctx)
        };
        assert_eq!(
            read(json!({"max_in_flight": 10, "tokens_per_minute": 5000})).unwrap(),
            LeafLimits {
                max_in_flight: Some(10),
                requests_per_minute: None,
                tokens_per_minute: Some(5000)
            }
        );
        assert!(read(json!({})).unwrap().is_empty());
        for bad in [
            json!({"max_in_flight": 0}),
            json!({"requests_per_minute": "60"}),
            json!({"tokens_per_minute": -1}),
        ] {
            let e = read(bad.clone()).unwrap_err();
            assert!(
                e.message.starts_with("client \"A\": option"),
                "{bad}: {}",
                e.message
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_budget_spends_a_burst_then_refills_at_its_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::per_minute(60, t0);
        for _ in 0..60 {
            assert_eq!(b.reserve(t0, Some(Duration::ZERO)), Ok(Duration::ZERO));
        }
        // Empty: the next one comes in a second, which a call without
        // patience does not wait for.
        assert_eq!(
            b.reserve(t0, Some(Duration::ZERO)),
            Err(Duration::from_secs(1))
        );
        // Callers that wait get successive slots, one second apart.
        assert_eq!(b.reserve(t0, None), Ok(Duration::from_secs(1)));
        assert_eq!(b.reserve(t0, None), Ok(Duration::from_secs(2)));
        b.refund(t0);
        assert_eq!(b.reserve(t0, None), Ok(Duration::from_secs(2)));
        // Never above a minute's budget, however long it rests.
        let later = t0 + Duration::from_secs(3600);
        assert_eq!(b.available(later), 60);
    }

    #[tokio::test(start_paused = true)]
    async fn a_token_budget_is_charged_after_the_answer() {
        let t0 = Instant::now();
        let mut b = TokenBudget::per_minute(600, t0);
        // Nothing known yet: the first call reserves nothing.
        assert_eq!(b.reserve(t0), Ok(0.0));
        b.settle(t0, 0.0, 700);
        assert_eq!(b.available(t0), -100);
        // 10 tokens a second: 100 back in 10 s, then just past zero.
        assert_eq!(b.reserve(t0), Err(Duration::from_millis(10_001)));
        let t1 = t0 + Duration::from_millis(10_001);
        assert_eq!(b.reserve(t1), Ok(700.0));
        // The usual call's 700 are reserved: the next waits about 70 s.
        assert!(matches!(b.reserve(t1), Err(d) if d > Duration::from_secs(69)));
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_on_a_token_budget_start_as_the_budget_allows_not_together() {
        let t0 = Instant::now();
        let mut b = TokenBudget::per_minute(6000, t0);
        // Calls of 100 tokens each: once known, each start reserves 100.
        b.settle(t0, 0.0, 100);
        let started = (0..1000).filter(|_| b.reserve(t0).is_ok()).count();
        assert_eq!(started, 59);
        // An answer smaller than reserved gives the rest back, and the
        // average follows it.
        b.settle(t0, 100.0, 50);
        assert_eq!(b.per_call, 90.0);
        // A refused attempt's reservation comes back whole.
        let t1 = t0 + Duration::from_secs(60);
        let reserved = b.reserve(t1).unwrap();
        b.refund(t1, reserved);
        assert_eq!(b.available(t1), 6000);
    }
}
