//! A leaf client's `http` options: its timeouts and protocol choice.

use std::time::Duration;

use serde_json::{Map, Value};

use super::bounds::MAX_TIMEOUT_MS;
use crate::error::Error;
use crate::value::Options;

/// The keys of a leaf client's `http` map.
pub const LEAF_HTTP_OPTIONS: &[&str] = &[
    "connect_timeout_ms",
    "request_timeout_ms",
    "time_to_first_token_timeout_ms",
    "idle_timeout_ms",
    "http2_prior_knowledge",
    "enable_connection_pooling",
];

#[derive(Debug, Clone, PartialEq)]
pub struct HttpSettings {
    /// `None` when set to 0: no limit, as in BAML.
    pub connect_timeout: Option<Duration>,
    pub request_timeout: Option<Duration>,
    pub first_token_timeout: Option<Duration>,
    pub idle_timeout: Option<Duration>,
    /// Speak HTTP/2 to an `http://` server without asking (h2c); `https://`
    /// servers get HTTP/2 through TLS negotiation anyway.
    pub http2_prior_knowledge: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            connect_timeout: Some(Duration::from_millis(10_000)),
            request_timeout: Some(Duration::from_millis(300_000)),
            first_token_timeout: None,
            idle_timeout: None,
            http2_prior_knowledge: false,
        }
    }
}

impl HttpSettings {
    /// Parses a leaf client's `http` options map. A 0 disables that limit.
    pub fn parse(ctx: &str, http: Option<&Map<String, Value>>) -> Result<Self, Error> {
        let mut s = HttpSettings::default();
        let Some(map) = http else { return Ok(s) };
        let hctx = format!("{ctx} http");
        let o = Options::new(&hctx, map);
        if map.contains_key("total_timeout_ms") {
            return Err(Error::config(format!(
                "{hctx}: option \"total_timeout_ms\" belongs on fallback and round-robin clients"
            )));
        }
        o.reject_unknown(LEAF_HTTP_OPTIONS)?;
        s.http2_prior_knowledge = o.bool("http2_prior_knowledge")?.unwrap_or(false);
        // BAML's pooling switch (off by default there, for fork()): every
        // client here reuses its connections, so `true` is what happens
        // anyway and `false` cannot be honoured.
        if o.bool("enable_connection_pooling")? == Some(false) {
            return Err(Error::config(format!(
                "{hctx}: option \"enable_connection_pooling\" cannot turn pooling off: \
                 switchboard always reuses connections (there is no fork() to guard \
                 against); drop it or set true"
            )));
        }
        let limit = |key: &str| -> Result<Option<Option<Duration>>, Error> {
            Ok(o.millis_at_most(key, MAX_TIMEOUT_MS)?
                .map(|d| (!d.is_zero()).then_some(d)))
        };
        if let Some(d) = limit("connect_timeout_ms")? {
            s.connect_timeout = d;
        }
        if let Some(d) = limit("request_timeout_ms")? {
            s.request_timeout = d;
        }
        s.first_token_timeout = limit("time_to_first_token_timeout_ms")?.flatten();
        s.idle_timeout = limit("idle_timeout_ms")?.flatten();
        Ok(s)
    }

    /// A composite client's `http` map, which may only hold `total_timeout_ms`.
    pub fn parse_total(
        ctx: &str,
        http: Option<&Map<String, Value>>,
    ) -> Result<Option<Duration>, Error> {
        let Some(map) = http else { return Ok(None) };
        let hctx = format!("{ctx} http");
        let o = Options::new(&hctx, map);
        if let Some(k) = map.keys().find(|k| k.as_str() != "total_timeout_ms") {
            return Err(Error::config(format!(
                "{hctx}: option {k:?} belongs on leaf clients; fallback and round-robin clients only take total_timeout_ms"
            )));
        }
        Ok(o.millis_at_most("total_timeout_ms", MAX_TIMEOUT_MS)?
            .filter(|d| !d.is_zero()))
    }
}
