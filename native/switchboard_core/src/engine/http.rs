//! The HTTP side of an attempt: per-client timeouts, a shared connection
//! pool, and turning transport failures into error kinds.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::config::options::Options;
use crate::error::{Error, ErrorKind};
use crate::providers::PreparedRequest;

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
        o.reject_unknown(&[
            "connect_timeout_ms",
            "request_timeout_ms",
            "time_to_first_token_timeout_ms",
            "idle_timeout_ms",
            "http2_prior_knowledge",
        ])?;
        s.http2_prior_knowledge = o.bool("http2_prior_knowledge")?.unwrap_or(false);
        let limit = |key: &str| -> Result<Option<Option<Duration>>, Error> {
            Ok(o.millis(key)?.map(|d| (!d.is_zero()).then_some(d)))
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
        Ok(o.millis("total_timeout_ms")?.filter(|d| !d.is_zero()))
    }
}

/// One pooled client per connect timeout and protocol choice (reqwest sets
/// those per client); every registry shares them, so connections are reused
/// across registries.
pub fn client_for(settings: &HttpSettings) -> Result<reqwest::Client, Error> {
    type Key = (Option<Duration>, bool);
    static CLIENTS: OnceLock<Mutex<HashMap<Key, reqwest::Client>>> = OnceLock::new();
    let key = (settings.connect_timeout, settings.http2_prior_knowledge);
    let mut clients = CLIENTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(c) = clients.get(&key) {
        return Ok(c.clone());
    }
    let mut builder = reqwest::Client::builder();
    if let Some(t) = settings.connect_timeout {
        builder = builder.connect_timeout(t);
    }
    if settings.http2_prior_knowledge {
        builder = builder.http2_prior_knowledge();
    }
    let client = builder
        // Retries are ours, so every HTTP request is one recorded attempt;
        // an API POST that redirects is an error, not something to follow.
        .retry(reqwest::retry::never())
        .redirect(reqwest::redirect::Policy::none())
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(90))
        .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::config(format!("cannot build the HTTP client: {}", chain(&e))))?;
    clients.insert(key, client.clone());
    Ok(client)
}

/// A provider's answer, status and all, read to the end.
pub struct HttpAnswer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Bytes,
}

/// Sends the request and returns once the response head has arrived.
pub async fn open(
    client: &reqwest::Client,
    req: &PreparedRequest,
    settings: &HttpSettings,
) -> Result<reqwest::Response, Error> {
    // Awaited as a block's value: a future held in a local, or a builder
    // still in scope, would add its size to every call's in-flight state.
    {
        let mut builder = client.post(&req.url).body(req.body.clone());
        if let Some(t) = settings.request_timeout {
            builder = builder.timeout(t);
        }
        for (name, value) in &req.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder.send()
    }
    .await
    .map_err(|e| transport_error(e, settings))
}

/// Sends the request and reads the whole answer.
pub async fn send(
    client: &reqwest::Client,
    req: &PreparedRequest,
    settings: &HttpSettings,
) -> Result<HttpAnswer, Error> {
    let (status, headers);
    // Awaited as the block's value, for the reason given in `open`.
    let body = {
        let response = open(client, req, settings).await?;
        status = response.status().as_u16();
        headers = response.headers().clone();
        response.bytes()
    }
    .await
    .map_err(|e| transport_error(e, settings).with_status(status))?;
    Ok(HttpAnswer {
        status,
        headers,
        body,
    })
}

pub fn transport_error(e: reqwest::Error, settings: &HttpSettings) -> Error {
    let e = e.without_url();
    if e.is_connect() && e.is_timeout() || e.is_connect() && chain(&e).contains("timed out") {
        return Error::new(
            ErrorKind::Timeout,
            format!(
                "connect_timeout_ms ({} ms) elapsed before the connection was made",
                settings.connect_timeout.unwrap_or_default().as_millis()
            ),
        );
    }
    if e.is_timeout() {
        return Error::new(
            ErrorKind::Timeout,
            format!(
                "request_timeout_ms ({} ms) elapsed before the response was complete",
                settings.request_timeout.unwrap_or_default().as_millis()
            ),
        );
    }
    if e.is_connect() {
        return Error::new(ErrorKind::Network, format!("cannot connect: {}", chain(&e)));
    }
    if e.is_body() || e.is_decode() {
        return Error::new(
            ErrorKind::Network,
            format!("the response body was cut off: {}", chain(&e)),
        );
    }
    Error::new(
        ErrorKind::Network,
        format!("HTTP request failed: {}", chain(&e)),
    )
}

/// The error and its causes on one line; reqwest's top message alone is
/// often just "error sending request".
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
