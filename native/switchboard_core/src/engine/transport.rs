//! The HTTP side of an attempt: connection pools, per-client timeouts,
//! bounded reads, and turning transport failures into error kinds.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use std::sync::Arc;

use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use http::header::{HeaderValue, ACCEPT, AUTHORIZATION, PROXY_AUTHORIZATION};
use http::Uri;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body as _, Incoming};
use hyper_util::client::legacy::Client;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use percent_encoding::percent_decode_str;
use tokio::time::{timeout_at, Instant};
use url::Url;

use super::connect::{ConnectTimedOut, Connector};
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

/// How long an idle connection stays in the pool.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

const USER_AGENT: &str = concat!("switchboard/", env!("CARGO_PKG_VERSION"));

/// A request as the pool takes it: the body is sent whole, from shared bytes.
type Body = Full<Bytes>;

/// A connection pool and what every request through it gets: hyper-util's
/// pooled client (HTTP/1.1 and HTTP/2, no redirects, no retries of a request
/// the server saw), the proxies read from the environment when it was built.
/// Cloning shares the pool.
#[derive(Clone)]
pub struct Transport {
    pool: Client<Connector, Body>,
    proxies: Arc<Matcher>,
}

/// One pool per connect timeout and protocol choice (a connector has one
/// of each); every registry shares them, so connections are reused
/// across registries.
pub fn client_for(settings: &HttpSettings) -> Result<Transport, Error> {
    type Key = (Option<Duration>, bool);
    static POOLS: OnceLock<Mutex<HashMap<Key, Transport>>> = OnceLock::new();
    let key = (settings.connect_timeout, settings.http2_prior_knowledge);
    let mut pools = POOLS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(t) = pools.get(&key) {
        return Ok(t.clone());
    }
    let transport = Transport::new(settings).map_err(|e| {
        Error::config(format!(
            "cannot build the HTTP client: {}",
            error_chain(e.as_ref())
        ))
    })?;
    pools.insert(key, transport.clone());
    Ok(transport)
}

impl Transport {
    fn new(settings: &HttpSettings) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let proxies = Arc::new(Matcher::from_env());
        let connector = Connector::new(
            settings.connect_timeout,
            settings.http2_prior_knowledge,
            proxies.clone(),
        )?;
        let mut builder = Client::builder(TokioExecutor::new());
        builder
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .pool_max_idle_per_host(MAX_IDLE_PER_HOST)
            .http2_initial_connection_window_size(H2_CONNECTION_WINDOW_BYTES)
            .http2_only(settings.http2_prior_knowledge);
        Ok(Transport {
            pool: builder.build(connector),
            proxies,
        })
    }

    /// The request as the pool takes it, our header map and body moved in.
    /// A URL's userinfo becomes Basic auth and leaves the URL; the user
    /// agent, `accept: */*` and a forwarding proxy's credentials are added
    /// unless the request set them (as reqwest did).
    fn to_http(&self, request: HttpRequest) -> Result<http::Request<Body>, Error> {
        let HttpRequest {
            method,
            mut url,
            mut headers,
            body,
            ..
        } = request;
        if let Some(basic) = take_userinfo(&mut url) {
            headers.entry(AUTHORIZATION).or_insert(basic);
        }
        let uri: Uri = url.as_str().parse().map_err(|e: http::uri::InvalidUri| {
            Error::new(
                ErrorKind::Network,
                format!("HTTP request failed: the URL is not a valid URI: {e}"),
            )
        })?;
        headers
            .entry(http::header::USER_AGENT)
            .or_insert(HeaderValue::from_static(USER_AGENT));
        headers
            .entry(ACCEPT)
            .or_insert(HeaderValue::from_static("*/*"));
        if uri.scheme() == Some(&http::uri::Scheme::HTTP) {
            if let Some(auth) = self
                .proxies
                .intercept(&uri)
                .and_then(|p| p.basic_auth().cloned())
            {
                headers.entry(PROXY_AUTHORIZATION).or_insert(auth);
            }
        }
        let mut sent = http::Request::new(Full::new(body));
        *sent.method_mut() = method;
        *sent.uri_mut() = uri;
        *sent.headers_mut() = headers;
        Ok(sent)
    }
}

/// A URL's `user:password@`, removed from it, as a sensitive Basic
/// `authorization` value (percent-decoded first, as reqwest did).
fn take_userinfo(url: &mut Url) -> Option<HeaderValue> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    let user = decode(url.username());
    let password = url.password().map(decode).unwrap_or_default();
    // Cannot fail on a URL with an authority, which one with userinfo has.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let mut value = HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// The pool a leaf's requests go through, chosen on its first attempt.
pub fn client(leaf: &Leaf) -> Result<&Transport, Error> {
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

/// Why a request failed below the provider's protocol.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The client's `request_timeout_ms` passed before the whole answer came.
    #[error("the request timed out")]
    RequestTimeout,
    /// Connecting, or sending and reading the head.
    #[error(transparent)]
    Request(#[from] hyper_util::client::legacy::Error),
    /// Reading the body.
    #[error(transparent)]
    Body(#[from] hyper::Error),
}

/// An answer whose head has arrived; its body is read with
/// [`Response::chunk`] under the same request timeout as the head.
pub struct Response {
    inner: http::Response<Incoming>,
    deadline: Option<Instant>,
}

impl Response {
    /// The next piece of the body, `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Failure> {
        loop {
            let frame = self.inner.body_mut().frame();
            let frame = match self.deadline {
                Some(at) => timeout_at(at, frame)
                    .await
                    .map_err(|_| Failure::RequestTimeout)?,
                None => frame.await,
            };
            match frame {
                None => return Ok(None),
                Some(frame) => {
                    // Trailers carry nothing an answer is read from.
                    if let Ok(data) = frame?.into_data() {
                        if !data.is_empty() {
                            return Ok(Some(data));
                        }
                    }
                }
            }
        }
    }

    fn content_length(&self) -> Option<u64> {
        self.inner.body().size_hint().exact()
    }
}

/// Sends the request and returns once the response head has arrived.
///
/// Not an `async fn`: one would keep `request` (about 250 bytes) in its
/// state for as long as the answer takes, beside the copy the pool holds;
/// the request is handed to the pool here and only its pending future is
/// awaited. The request timeout starts here and covers the body too.
pub fn open<'a>(
    transport: &Transport,
    request: HttpRequest,
    settings: &'a HttpSettings,
) -> impl Future<Output = Result<Response, Error>> + Send + 'a {
    let deadline = settings.request_timeout.map(|t| Instant::now() + t);
    let pending = transport
        .to_http(request)
        .map(|sent| transport.pool.request(sent));
    async move {
        let pending = pending?;
        let head = match deadline {
            Some(at) => match timeout_at(at, pending).await {
                Ok(head) => head.map_err(Failure::from),
                Err(_) => Err(Failure::RequestTimeout),
            },
            None => pending.await.map_err(Failure::from),
        };
        match head {
            Ok(inner) => Ok(Response { inner, deadline }),
            Err(e) => Err(transport_error(e, settings)),
        }
    }
}

/// Sends the request and reads the answer: a whole 2xx body (at most
/// [`MAX_ANSWER_BYTES`]) or the first [`ERROR_BODY_PREFIX`] of an error body.
/// Not an `async fn`, for the reason [`open`] gives.
pub fn send<'a>(
    client: &Transport,
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

async fn read_answer(mut response: Response, settings: &HttpSettings) -> Result<HttpAnswer, Error> {
    let head = head_of(&mut response);
    let body = read_body(&mut response, &head, settings).await?;
    Ok(HttpAnswer { head, body })
}

/// The status and headers, the headers moved out rather than copied: the
/// body is read by its length hint, not by them.
pub fn head_of(response: &mut Response) -> ResponseHead {
    ResponseHead {
        status: response.inner.status().as_u16(),
        headers: std::mem::take(response.inner.headers_mut()),
    }
}

/// Reads a body into one buffer, bounded by its status's limit. A single
/// read (the common case) is kept as it came, without a copy.
pub async fn read_body(
    response: &mut Response,
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

/// A failure as the caller sees it: the limit that passed, or what broke.
pub fn transport_error(e: Failure, settings: &HttpSettings) -> Error {
    let timeout = |what: &str, limit: Option<Duration>, until: &str| {
        Error::new(
            ErrorKind::Timeout,
            format!(
                "{what} ({} ms) elapsed before {until}",
                limit.unwrap_or_default().as_millis()
            ),
        )
    };
    match e {
        Failure::RequestTimeout => timeout(
            "request_timeout_ms",
            settings.request_timeout,
            "the response was complete",
        ),
        Failure::Request(e) if e.is_connect() => {
            if connect_timed_out(&e) {
                timeout(
                    "connect_timeout_ms",
                    settings.connect_timeout,
                    "the connection was made",
                )
            } else {
                Error::new(
                    ErrorKind::Network,
                    format!("cannot connect: {}", error_chain(&e)),
                )
            }
        }
        Failure::Request(e) => Error::new(
            ErrorKind::Network,
            format!("HTTP request failed: {}", error_chain(&e)),
        ),
        Failure::Body(e) => Error::new(
            ErrorKind::Network,
            format!("the response body was cut off: {}", error_chain(&e)),
        ),
    }
}

/// The connect outlasted its limit: ours around the whole connect, or the
/// TCP connector's own per address.
fn connect_timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(e) = cause {
        if e.is::<ConnectTimedOut>()
            || e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        cause = e.source();
    }
    false
}
