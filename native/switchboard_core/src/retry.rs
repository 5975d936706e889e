//! Retry policies: how many times to repeat a failed client and how long to
//! wait before each repetition.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::error::Error;
use crate::value::Options;

#[derive(Debug, Clone, PartialEq)]
pub enum Backoff {
    Constant {
        delay: Duration,
    },
    Exponential {
        delay: Duration,
        multiplier: f64,
        max_delay: Duration,
    },
}

/// Randomness added to each backoff delay, so clients that failed together
/// do not retry together. Off unless a policy asks.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Jitter {
    #[default]
    None,
    /// `jitter: f` (0 < f <= 1): each delay `d` becomes uniform in
    /// `[d * (1 - f), d * (1 + f)]`.
    Proportional(f64),
    /// `jitter: "full"`: each delay `d` becomes uniform in `[0, d]`.
    Full,
}

impl Jitter {
    /// `delay` jittered by `unit`, a number in `[0, 1)`.
    pub fn apply(self, delay: Duration, unit: f64) -> Duration {
        let ms = delay.as_secs_f64() * 1000.0;
        let jittered = match self {
            Jitter::None => return delay,
            Jitter::Proportional(f) => ms * (1.0 - f + 2.0 * f * unit),
            Jitter::Full => ms * unit,
        };
        Duration::from_millis(jittered.max(0.0).round() as u64)
    }

    fn parse(ctx: &str, value: Option<&Value>) -> Result<Jitter, Error> {
        match value {
            None | Some(Value::Null) => Ok(Jitter::None),
            Some(Value::String(s)) if s == "full" => Ok(Jitter::Full),
            Some(v) => match v.as_f64() {
                Some(0.0) => Ok(Jitter::None),
                Some(f) if f > 0.0 && f <= 1.0 => Ok(Jitter::Proportional(f)),
                _ => Err(Error::config(format!(
                    "{ctx}: jitter must be a number from 0 to 1 (a fraction of each delay) \
                     or \"full\""
                ))),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    pub name: String,
    pub max_retries: u32,
    pub backoff: Backoff,
    pub jitter: Jitter,
}

/// A Retry-After longer than this makes a constant-delay policy give up,
/// like an exponential policy's `max_delay_ms` does.
const CONSTANT_RETRY_AFTER_CAP: Duration = Duration::from_millis(10_000);

/// A retry policy's keys.
pub const POLICY_OPTIONS: &[&str] = &["max_retries", "strategy"];
/// A `constant_delay` strategy's keys.
pub const CONSTANT_DELAY_OPTIONS: &[&str] = &["type", "delay_ms", "jitter"];
/// An `exponential_backoff` strategy's keys (`initial_delay` and
/// `max_delay`: the design seeds' aliases of the `_ms` names).
pub const EXPONENTIAL_BACKOFF_OPTIONS: &[&str] = &[
    "type",
    "delay_ms",
    "multiplier",
    "max_delay_ms",
    "jitter",
    "initial_delay",
    "max_delay",
];

impl RetryPolicy {
    /// BAML's built-in `DefaultRetry`: 3 retries, 200 ms x1.5 up to 10 s.
    pub fn default_retry() -> Self {
        RetryPolicy {
            name: "DefaultRetry".into(),
            max_retries: 3,
            backoff: Backoff::Exponential {
                delay: Duration::from_millis(200),
                multiplier: 1.5,
                max_delay: Duration::from_millis(10_000),
            },
            jitter: Jitter::None,
        }
    }

    /// How long to sleep before retry `k` (1-based).
    pub fn delay(&self, k: u32) -> Duration {
        match &self.backoff {
            Backoff::Constant { delay } => *delay,
            Backoff::Exponential {
                delay,
                multiplier,
                max_delay,
            } => {
                let factor = multiplier.powi(k.saturating_sub(1).min(1000) as i32);
                let ms = (delay.as_millis() as f64 * factor).min(max_delay.as_millis() as f64);
                Duration::from_millis(ms.round() as u64)
            }
        }
    }

    /// How long to actually sleep before retry `k`: [`delay`](Self::delay)
    /// with the policy's jitter.
    pub fn sleep_before(&self, k: u32) -> Duration {
        match self.jitter {
            Jitter::None => self.delay(k),
            jitter => jitter.apply(self.delay(k), fastrand::f64()),
        }
    }

    /// The longest server-requested wait this policy accepts.
    pub fn max_delay(&self) -> Duration {
        match &self.backoff {
            Backoff::Constant { delay } => (*delay).max(CONSTANT_RETRY_AFTER_CAP),
            Backoff::Exponential { max_delay, .. } => *max_delay,
        }
    }

    /// Parses `%{max_retries: n, strategy: %{type: ..., ...}}`.
    pub fn parse(name: &str, value: &Value) -> Result<Self, Error> {
        let ctx = format!("retry policy {name:?}");
        let map = value
            .as_object()
            .ok_or_else(|| Error::config(format!("{ctx} must be a map")))?;
        let opts = Options::new(&ctx, map);
        opts.reject_unknown(POLICY_OPTIONS)?;
        let max_retries = opts
            .u64("max_retries")?
            .ok_or_else(|| Error::config(format!("{ctx} is missing max_retries")))?;
        let max_retries = u32::try_from(max_retries)
            .ok()
            .filter(|n| *n <= 100)
            .ok_or_else(|| Error::config(format!("{ctx}: max_retries must be at most 100")))?;
        let empty = Map::new();
        let strategy = match map.get("strategy") {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(s)) => s,
            Some(_) => return Err(Error::config(format!("{ctx}: strategy must be a map"))),
        };
        let sctx = format!("{ctx} strategy");
        let s = Options::new(&sctx, strategy);
        let bounded = |key: &str| s.millis_at_most(key, crate::config::bounds::MAX_TIMEOUT_MS);
        let ms = |key: &str, default: u64| -> Result<Duration, Error> {
            Ok(bounded(key)?.unwrap_or(Duration::from_millis(default)))
        };
        // The design seeds' names: the same milliseconds under another key.
        let ms_or_alias = |key: &str, alias: &str, default: u64| -> Result<Duration, Error> {
            match (bounded(key)?, bounded(alias)?) {
                (Some(_), Some(_)) => Err(Error::config(format!(
                    "{sctx}: set {key} or its alias {alias}, not both"
                ))),
                (given, aliased) => Ok(given.or(aliased).unwrap_or(Duration::from_millis(default))),
            }
        };
        let backoff = match s.str("type")?.unwrap_or("constant_delay") {
            "constant_delay" => {
                s.reject_unknown(CONSTANT_DELAY_OPTIONS)?;
                Backoff::Constant {
                    delay: ms("delay_ms", 200)?,
                }
            }
            "exponential_backoff" => {
                s.reject_unknown(EXPONENTIAL_BACKOFF_OPTIONS)?;
                let multiplier = s.f64("multiplier")?.unwrap_or(1.5);
                if !(multiplier.is_finite() && multiplier >= 1.0) {
                    return Err(Error::config(format!(
                        "{sctx}: multiplier must be a number >= 1"
                    )));
                }
                Backoff::Exponential {
                    delay: ms_or_alias("delay_ms", "initial_delay", 200)?,
                    multiplier,
                    max_delay: ms_or_alias("max_delay_ms", "max_delay", 10_000)?,
                }
            }
            other => {
                return Err(Error::config(format!(
                    "{sctx}: unknown type {other:?} (expected \"constant_delay\" or \"exponential_backoff\")"
                )))
            }
        };
        Ok(RetryPolicy {
            name: name.to_owned(),
            max_retries,
            backoff,
            jitter: Jitter::parse(&sctx, strategy.get("jitter"))?,
        })
    }
}

/// Reads `retry-after-ms` (OpenAI) or `retry-after` (seconds or HTTP date).
pub fn parse_retry_after(headers: &http::header::HeaderMap) -> Option<Duration> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return finite_secs(ms / 1000.0);
    }
    let value = get("retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return finite_secs(secs);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let delay = at
        .duration_since(std::time::SystemTime::now())
        .unwrap_or(Duration::ZERO);
    // A date is held to the bound of a number of seconds.
    finite_secs(delay.as_secs_f64())
}

fn finite_secs(secs: f64) -> Option<Duration> {
    (secs.is_finite() && (0.0..1e9).contains(&secs)).then(|| Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn default_retry_sleeps_200_300_450() {
        let p = RetryPolicy::default_retry();
        let got: Vec<u128> = (1..=3).map(|k| p.delay(k).as_millis()).collect();
        assert_eq!(got, vec![200, 300, 450]);
    }

    #[test]
    fn exponential_is_capped() {
        let p = RetryPolicy::parse(
            "P",
            &json!({"max_retries": 9, "strategy": {"type": "exponential_backoff", "delay_ms": 100, "multiplier": 10, "max_delay_ms": 2500}}),
        )
        .unwrap();
        assert_eq!(p.delay(1).as_millis(), 100);
        assert_eq!(p.delay(2).as_millis(), 1000);
        assert_eq!(p.delay(3).as_millis(), 2500);
        assert_eq!(p.delay(60).as_millis(), 2500);
    }

    #[test]
    fn initial_delay_and_max_delay_are_aliases_of_the_millisecond_options() {
        let parse = |strategy: Value| {
            let mut p =
                RetryPolicy::parse("P", &json!({"max_retries": 2, "strategy": strategy})).unwrap();
            p.name.clear();
            p
        };
        assert_eq!(
            parse(json!({"type": "exponential_backoff", "initial_delay": 150, "max_delay": 900})),
            parse(json!({"type": "exponential_backoff", "delay_ms": 150, "max_delay_ms": 900}))
        );
        for both in [
            json!({"type": "exponential_backoff", "delay_ms": 1, "initial_delay": 1}),
            json!({"type": "exponential_backoff", "max_delay_ms": 1, "max_delay": 1}),
        ] {
            let e =
                RetryPolicy::parse("P", &json!({"max_retries": 1, "strategy": both})).unwrap_err();
            assert!(e.message.contains("not both"), "{}", e.message);
        }
        let e = RetryPolicy::parse(
            "P",
            &json!({"max_retries": 1, "strategy": {"type": "exponential_backoff", "initial_delay": "1s"}}),
        )
        .unwrap_err();
        assert!(e.message.contains("\"initial_delay\""), "{}", e.message);
    }

    #[test]
    fn bad_policies_are_config_errors() {
        for bad in [
            json!({}),
            json!({"max_retries": -1}),
            json!({"max_retries": "3"}),
            json!({"max_retries": 1, "strategy": {"type": "linear"}}),
            json!({"max_retries": 1, "strategy": {"type": "exponential_backoff", "multiplier": 0.5}}),
            json!({"max_retries": 1, "strategy": 7}),
            json!({"max_retries": 1, "bogus": 7}),
            json!({"max_retries": 1, "strategy": {"jitter": 1.5}}),
            json!({"max_retries": 1, "strategy": {"jitter": -0.1}}),
            json!({"max_retries": 1, "strategy": {"jitter": "half"}}),
        ] {
            assert!(RetryPolicy::parse("P", &bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn jitter_stays_within_its_bounds() {
        let d = Duration::from_millis(1000);
        let ms = |j: Jitter, u: f64| j.apply(d, u).as_millis();
        assert_eq!(ms(Jitter::None, 0.9), 1000);
        assert_eq!(ms(Jitter::Proportional(0.2), 0.0), 800);
        assert_eq!(ms(Jitter::Proportional(0.2), 0.5), 1000);
        assert_eq!(ms(Jitter::Proportional(0.2), 0.999_999), 1200);
        assert_eq!(ms(Jitter::Full, 0.0), 0);
        assert_eq!(ms(Jitter::Full, 0.5), 500);
        let p = |j| {
            RetryPolicy::parse("P", &json!({"max_retries": 1, "strategy": {"jitter": j}}))
                .unwrap()
                .jitter
        };
        assert_eq!(p(json!(0.25)), Jitter::Proportional(0.25));
        assert_eq!(p(json!("full")), Jitter::Full);
        assert_eq!(p(json!(0)), Jitter::None);
    }

    #[test]
    fn retry_after_forms() {
        let mut h = http::header::HeaderMap::new();
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", "150".parse().unwrap());
        assert_eq!(parse_retry_after(&h), Some(Duration::from_millis(150)));
        let mut d = http::header::HeaderMap::new();
        d.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(parse_retry_after(&d), Some(Duration::ZERO));
    }

    /// Found by tests/fuzz: a date thousands of years ahead was a delay no
    /// number of seconds could give; it is no hint, as `1e10` seconds is.
    #[test]
    fn a_date_beyond_the_seconds_bound_is_no_hint() {
        for far in ["Fri, 31 Dec 9999 23:59:59 GMT", "1e10"] {
            let mut h = reqwest::header::HeaderMap::new();
            h.insert("retry-after", far.parse().unwrap());
            assert_eq!(parse_retry_after(&h), None, "{far}");
        }
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            "retry-after",
            "Sat, 01 Jan 2050 00:00:00 GMT".parse().unwrap(),
        );
        assert!(parse_retry_after(&h).is_some_and(|d| d > Duration::from_secs(3600)));
    }
}
