//! The HTTP side of an attempt: connection pools, per-client timeouts,
//! bounded reads, and turning transport failures into error kinds.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::config::{HttpSettings, Leaf};
use crate::error::{error_chain, Error, ErrorKind};
use crate::wire::{HttpRequest, ResponseHead};

/// The HTTP/2 connection window: how much of the answers of the calls
/// sharing a connection may arrive before the engine has read them (a
/// permission, not an allocation). hyper's 5 MiB holds about 9,000 of the
/// bench's 600-byte answers; when more arrive at once, the window reopens a few
/// bytes at a time as answers are read, the server cuts answers into small
/// DATA frames to fit, and h2's guard against floods of small frames (a
/// budget of half this window) closes the connection: every call on it
/// fails as `:network` ("too_many_data_frames"). 64 MiB holds the answers
/// of 100,000 calls in flight (bench workload g).
pub const H2_CONNECTION_WINDOW_BYTES: u32 = 64 * 1024 * 1024;

/// Idle HTTP/1.1 connections kept per host. Each holds about 27 KB (hyper's
/// buffers, TLS state): unbounded, a burst of 10,000 calls left 10,000 idle
/// connections, about 260 MB, until the idle timeout. 256 is more than a
/// steady load of a few hundred calls in flight reuses; a larger burst
/// opens the rest anew.
pub const MAX_IDLE_PER_HOST: usize = 256;

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
        .http2_initial_connection_window_size(H2_CONNECTION_WINDOW_BYTES)
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(MAX_IDLE_PER_HOST)
        .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::config(format!("cannot build the HTTP client: {}", error_chain(&e))))?;
    clients.insert(key, client.clone());
    Ok(client)
}

/// The pool a leaf's requests go through, chosen on its first attempt.
pub fn client(leaf: &Leaf) -> Result<&reqwest::Client, Error> {
    if let Some(c) = leaf.transport.get() {
        return Ok(c);
    }
    let c = client_for(&leaf.http)?;
    Ok(leaf.transport.get_or_init(|| c))
}

/// The largest answer read: a 2xx body, or the text a stream accumulates.
/// Larger ones are `:bad_response` errors rather than unbounded memory.
pub const MAX_ANSWER_BYTES: usize = 32 * 1024 * 1024;

/// How much of an error body is read; the rest is not waited for.
pub const ERROR_BODY_PREFIX: usize = 64 * 1024;

/// A provider's answer, its body read up to the limit for its status.
pub struct HttpAnswer {
    pub head: ResponseHead,
    pub body: Bytes,
}

/// Sends the request and returns once the response head has arrived.
///
/// Not an `async fn`: one would keep `request` (about 250 bytes) in its
/// state for as long as the answer takes, beside the copy reqwest holds;
/// the request is handed to reqwest here and only its pending future is
/// awaited.
pub fn open<'a>(
    client: &reqwest::Client,
    request: HttpRequest,
    settings: &'a HttpSettings,
) -> impl Future<Output = Result<reqwest::Response, Error>> + Send + 'a {
    let pending = to_reqwest(client, request, settings).map(|sent| client.execute(sent));
    async move {
        match pending {
            Ok(pending) => pending.await,
            Err(e) => Err(e),
        }
        .map_err(|e| transport_error(e, settings))
    }
}

/// The request as reqwest takes it. reqwest's builder turns a URL's
/// userinfo into Basic auth; our header map and body are then moved in,
/// not copied (`RequestBuilder::headers` would copy every header into the
/// builder's map). Our headers replace the builder's of the same name, as
/// `RequestBuilder::headers` does.
fn to_reqwest(
    client: &reqwest::Client,
    request: HttpRequest,
    settings: &HttpSettings,
) -> Result<reqwest::Request, reqwest::Error> {
    let mut sent = client.request(request.method, request.url).build()?;
    let headers = sent.headers_mut();
    if headers.is_empty() {
        *headers = request.headers;
    } else {
        for name in request.headers.keys() {
            headers.remove(name);
        }
        // Values after the first of a name come without it.
        let mut name = None;
        for (next, value) in request.headers {
            name = next.or(name);
            if let Some(name) = &name {
                headers.append(name.clone(), value);
            }
        }
    }
    *sent.body_mut() = Some(request.body.into());
    *sent.timeout_mut() = settings.request_timeout;
    Ok(sent)
}

/// Sends the request and reads the answer: a whole 2xx body (at most
/// [`MAX_ANSWER_BYTES`]) or the first [`ERROR_BODY_PREFIX`] of an error body.
/// Not an `async fn`, for the reason [`open`] gives.
pub fn send<'a>(
    client: &reqwest::Client,
    request: HttpRequest,
    settings: &'a HttpSettings,
) -> impl Future<Output = Result<HttpAnswer, Error>> + Send + 'a {
    let opened = open(client, request, settings);
    async move {
        let response = opened.await?;
        // Boxed: reading holds the response, its head and the read's own
        // state (~450 bytes), which would otherwise widen every call's
        // future for the whole wait, though they only exist once the
        // answer has come.
        Box::pin(read_answer(response, settings)).await
    }
}

async fn read_answer(
    mut response: reqwest::Response,
    settings: &HttpSettings,
) -> Result<HttpAnswer, Error> {
    let head = head_of(&mut response);
    let body = read_body(&mut response, &head, settings).await?;
    Ok(HttpAnswer { head, body })
}

/// The status and headers, the headers moved out rather than copied: the
/// body is read by its length hint, not by them.
pub fn head_of(response: &mut reqwest::Response) -> ResponseHead {
    ResponseHead {
        status: response.status().as_u16(),
        headers: std::mem::take(response.headers_mut()),
    }
}

/// Reads a body into one buffer, bounded by its status's limit. A single
/// read (the common case) is kept as it came, without a copy.
pub async fn read_body(
    response: &mut reqwest::Response,
    head: &ResponseHead,
    settings: &HttpSettings,
) -> Result<Bytes, Error> {
    let limit = if head.is_success() {
        MAX_ANSWER_BYTES
    } else {
        ERROR_BODY_PREFIX
    };
    let too_large = || {
        Error::bad_response(format!(
            "the answer is larger than {} MiB",
            MAX_ANSWER_BYTES / (1024 * 1024)
        ))
        .with_status(head.status)
    };
    if head.is_success() && response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut first: Option<Bytes> = None;
    let mut more: Option<BytesMut> = None;
    loop {
        let read = response
            .chunk()
            .await
            .map_err(|e| transport_error(e, settings).with_status(head.status))?;
        let Some(bytes) = read else { break };
        let held = first.as_ref().map_or(0, Bytes::len) + more.as_ref().map_or(0, BytesMut::len);
        if held + bytes.len() > limit {
            if head.is_success() {
                return Err(too_large());
            }
            // An error body's prefix is enough to read the error from.
            let buf = more.get_or_insert_with(|| BytesMut::from(first.take().unwrap_or_default()));
            buf.extend_from_slice(&bytes[..limit - held]);
            break;
        }
        match (&mut first, &mut more) {
            (None, None) => first = Some(bytes),
            (Some(_), None) => {
                let mut buf = BytesMut::from(first.take().unwrap_or_default());
                buf.extend_from_slice(&bytes);
                more = Some(buf);
            }
            (_, Some(buf)) => buf.extend_from_slice(&bytes),
        }
    }
    Ok(match more {
        Some(buf) => buf.freeze(),
        None => first.unwrap_or_default(),
    })
}

pub fn transport_error(e: reqwest::Error, settings: &HttpSettings) -> Error {
    let e = e.without_url();
    if e.is_connect() && e.is_timeout() || e.is_connect() && error_chain(&e).contains("timed out") {
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
        return Error::new(
            ErrorKind::Network,
            format!("cannot connect: {}", error_chain(&e)),
        );
    }
    if e.is_body() || e.is_decode() {
        return Error::new(
            ErrorKind::Network,
            format!("the response body was cut off: {}", error_chain(&e)),
        );
    }
    Error::new(
        ErrorKind::Network,
        format!("HTTP request failed: {}", error_chain(&e)),
    )
}
