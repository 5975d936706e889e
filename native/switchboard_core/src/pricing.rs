//! A leaf client's `pricing` option and the cost of one attempt's usage.
//!
//! Prices are per million tokens, in whatever currency the user writes them
//! in. [`Usage::input_tokens`] counts every prompt token on every provider
//! (cache reads and writes included; each dialect's reader adds back what
//! its provider leaves out), so the input is split once, here:
//!
//! ```text
//! cost = (input - cached - cache_creation) * input_per_million
//!      + cached          * cached_input_per_million          (else input's)
//!      + cache_creation  * cache_creation_input_per_million  (else input's)
//!      + output          * output_per_million                (reasoning included)
//!      / 1_000_000
//! ```

use serde_json::Value;

use crate::error::Error;
use crate::response::Usage;
use crate::value::Options;

/// The option's keys.
const KEYS: &[&str] = &[
    "input_per_million",
    "output_per_million",
    "cached_input_per_million",
    "cache_creation_input_per_million",
];

/// Prices per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pricing {
    pub input: f64,
    pub output: f64,
    /// Cache reads; `None`: the input price.
    pub cached_input: Option<f64>,
    /// Cache writes (Anthropic, Bedrock); `None`: the input price.
    pub cache_creation_input: Option<f64>,
}

impl Pricing {
    /// Reads `pricing: %{input_per_million: x, output_per_million: y, ...}`:
    /// both of those required, every price a finite number >= 0.
    pub fn parse(ctx: &str, value: &Value) -> Result<Pricing, Error> {
        let ctx = format!("{ctx} option \"pricing\"");
        let map = value
            .as_object()
            .ok_or_else(|| Error::config(format!("{ctx} must be a map")))?;
        let o = Options::new(&ctx, map);
        o.reject_unknown(KEYS)?;
        let price = |key: &str| -> Result<Option<f64>, Error> {
            match o.f64(key)? {
                Some(p) if !(p.is_finite() && p >= 0.0) => Err(Error::config(format!(
                    "{ctx}: {key:?} must be a number >= 0"
                ))),
                p => Ok(p),
            }
        };
        let required = |key: &str| -> Result<f64, Error> {
            price(key)?.ok_or_else(|| Error::config(format!("{ctx} is missing {key:?}")))
        };
        Ok(Pricing {
            input: required("input_per_million")?,
            output: required("output_per_million")?,
            cached_input: price("cached_input_per_million")?,
            cache_creation_input: price("cache_creation_input_per_million")?,
        })
    }

    /// What `usage` cost; `None` when the provider reported no token count.
    /// A count it left out counts as 0.
    pub fn cost(&self, usage: &Usage) -> Option<f64> {
        if usage.input_tokens.is_none() && usage.output_tokens.is_none() {
            return None;
        }
        let tokens = |n: Option<u64>| n.unwrap_or(0) as f64;
        let cached = tokens(usage.cached_input_tokens);
        let created = tokens(usage.cache_creation_input_tokens);
        let uncached = (tokens(usage.input_tokens) - cached - created).max(0.0);
        let micro = uncached * self.input
            + cached * self.cached_input.unwrap_or(self.input)
            + created * self.cache_creation_input.unwrap_or(self.input)
            + tokens(usage.output_tokens) * self.output;
        Some(micro / 1_000_000.0)
    }
}

/// The cost of a call: the sum of its attempts' costs, `None` when no
/// attempt has one.
pub fn total<I: IntoIterator<Item = Option<f64>>>(costs: I) -> Option<f64> {
    costs
        .into_iter()
        .flatten()
        .fold(None, |sum, c| Some(sum.unwrap_or(0.0) + c))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pricing(v: Value) -> Result<Pricing, Error> {
        Pricing::parse("client \"A\"", &v)
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-12)
    }

    #[test]
    fn cached_and_written_tokens_are_priced_at_their_rates_and_not_twice() {
        let p = pricing(json!({"input_per_million": 3.0, "output_per_million": 15,
                               "cached_input_per_million": 0.3,
                               "cache_creation_input_per_million": 3.75}))
        .unwrap();
        // 1000 prompt tokens of which 600 read from and 100 written to the cache.
        let usage = Usage::new(Some(1000), Some(200)).with_cached(Some(600), Some(100));
        let expected = (300.0 * 3.0 + 600.0 * 0.3 + 100.0 * 3.75 + 200.0 * 15.0) / 1e6;
        assert!(close(p.cost(&usage), expected), "{:?}", p.cost(&usage));

        // Without cache prices, every prompt token is an input token.
        let plain = pricing(json!({"input_per_million": 1, "output_per_million": 2})).unwrap();
        assert!(close(plain.cost(&usage), (1000.0 + 400.0) / 1e6));
        assert_eq!(plain.cost(&Usage::default()), None);
        assert!(close(plain.cost(&Usage::new(None, Some(10))), 20.0 / 1e6));
    }

    #[test]
    fn totals_add_what_is_known() {
        assert_eq!(total([None, None]), None);
        assert_eq!(total([Some(0.5), None, Some(0.25)]), Some(0.75));
    }

    #[test]
    fn bad_pricing_names_the_client_and_the_key() {
        for (bad, says) in [
            (json!(3), "must be a map"),
            (
                json!({"input_per_million": 1}),
                "missing \"output_per_million\"",
            ),
            (
                json!({"input_per_million": -1, "output_per_million": 1}),
                "\"input_per_million\" must be a number >= 0",
            ),
            (
                json!({"input_per_million": "1", "output_per_million": 1}),
                "must be a number",
            ),
            (
                json!({"input_per_million": 1, "output_per_million": 1, "per_token": 1}),
                "unknown option \"per_token\"",
            ),
        ] {
            let e = pricing(bad.clone()).unwrap_err();
            assert!(
                e.message.starts_with("client \"A\" option \"pricing\""),
                "{}",
                e.message
            );
            assert!(e.message.contains(says), "{bad}: {}", e.message);
        }
    }
}
