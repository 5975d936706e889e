//! How the engine's pool reaches a host: TCP, through the environment's
//! proxy when one applies (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`,
//! `NO_PROXY`, read once as reqwest does), then TLS with the platform's
//! verifier. All of it is hyper-util's, hyper-rustls's and rustls's; this
//! module only chooses between them and bounds the whole connect in time.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder, MaybeHttpsStream};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

use super::lean::Lean;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Pending<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>>;

/// A plain or TLS connection to a proxy or a host, as hyper-rustls makes it.
type Wire = MaybeHttpsStream<TokioIo<TcpStream>>;

/// The whole connect (DNS, TCP, a proxy's tunnel, TLS) outlasted the
/// client's `connect_timeout_ms`.
#[derive(Debug, thiserror::Error)]
#[error("the connection was not made in time")]
pub struct ConnectTimedOut;

/// A proxy URL of a scheme the engine cannot speak.
#[derive(Debug, thiserror::Error)]
#[error("the proxy for this host is not an http:// or https:// URL (SOCKS is not supported)")]
pub struct UnsupportedProxy;

/// TCP keepalive as reqwest sets it: a peer gone silent is noticed within
/// about a minute rather than at the request timeout.
const TCP_KEEPALIVE: Duration = Duration::from_secs(15);
const TCP_KEEPALIVE_RETRIES: u32 = 3;

/// The TLS settings every connection shares: rustls on aws-lc (the
/// provider reqwest used), TLS 1.2 and 1.3, the platform's verifier and
/// roots. `alpn` is empty for a proxy (it speaks HTTP/1.1 only).
pub fn tls_config() -> Result<rustls::ClientConfig, BoxError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone())?;
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

/// The pool's connector: [`Route`] to TCP, then TLS for `https` hosts.
/// One pointer: hyper-util's pool keeps a clone of itself, connector
/// included, in every pending request, so with 10,000 calls in flight
/// each byte here is paid 10,000 times.
#[derive(Clone)]
pub struct Connector(Arc<Connecting>);

struct Connecting {
    tls: HttpsConnector<Route>,
    timeout: Option<Duration>,
}

impl Connector {
    /// `h2_only`: ALPN offers only `h2` (HTTP/2 prior knowledge); otherwise
    /// `h2` and `http/1.1`, the server's choice.
    pub fn new(
        connect_timeout: Option<Duration>,
        h2_only: bool,
        proxies: Arc<Matcher>,
    ) -> Result<Self, BoxError> {
        let mut tcp = HttpConnector::new();
        // `https` URIs pass through it to the TLS layer above.
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(connect_timeout);
        tcp.set_keepalive(Some(TCP_KEEPALIVE));
        tcp.set_keepalive_interval(Some(TCP_KEEPALIVE));
        tcp.set_keepalive_retries(Some(TCP_KEEPALIVE_RETRIES));
        let to_proxy = HttpsConnectorBuilder::new()
            .with_tls_config(tls_config()?)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp.clone());
        let route = Route {
            tcp,
            to_proxy,
            proxies,
        };
        let hosts = HttpsConnectorBuilder::new()
            .with_tls_config(tls_config()?)
            .https_or_http();
        let tls = if h2_only {
            hosts.enable_http2().wrap_connector(route)
        } else {
            hosts.enable_http1().enable_http2().wrap_connector(route)
        };
        Ok(Connector(Arc::new(Connecting {
            tls,
            timeout: connect_timeout,
        })))
    }
}

impl Service<Uri> for Connector {
    /// TLS state boxed (`engine/lean.rs`): the pool keeps this in every
    /// connection's future and sizes every pending request for it.
    type Response = Lean<Routed>;
    type Error = BoxError;
    type Future = Pending<Self::Response>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // hyper-rustls's connector and ours below it are always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let connecting = self.0.tls.clone().call(dst);
        let timeout = self.0.timeout;
        Box::pin(async move {
            let stream = match timeout {
                Some(t) => tokio::time::timeout(t, connecting)
                    .await
                    .map_err(|_| Box::new(ConnectTimedOut) as BoxError)?,
                None => connecting.await,
            }?;
            Ok(Lean::from(stream))
        })
    }
}

/// TCP to the host, or through the proxy the environment names for it:
/// a CONNECT tunnel for `https` hosts, the proxy itself for `http` ones.
#[derive(Clone)]
pub struct Route {
    tcp: HttpConnector,
    to_proxy: HttpsConnector<HttpConnector>,
    proxies: Arc<Matcher>,
}

impl Service<Uri> for Route {
    type Response = Routed;
    type Error = BoxError;
    type Future = Pending<Routed>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let Some(proxy) = self.proxies.intercept(&dst) else {
            let mut tcp = self.tcp.clone();
            return Box::pin(async move {
                let io = tcp.call(dst).await?;
                Ok(Routed::direct(MaybeHttpsStream::Http(io)))
            });
        };
        if !matches!(proxy.uri().scheme_str(), Some("http" | "https")) {
            return Box::pin(async { Err(Box::new(UnsupportedProxy) as BoxError) });
        }
        let mut to_proxy = self.to_proxy.clone();
        if dst.scheme() == Some(&http::uri::Scheme::HTTPS) {
            let mut tunnel = Tunnel::new(proxy.uri().clone(), to_proxy);
            if let Some(auth) = proxy.basic_auth() {
                tunnel = tunnel.with_auth(auth.clone());
            }
            Box::pin(async move { Ok(Routed::direct(tunnel.call(dst).await?)) })
        } else {
            let proxy_uri = proxy.uri().clone();
            Box::pin(async move {
                let io = to_proxy.call(proxy_uri).await?;
                Ok(Routed {
                    io: Lean::from(io),
                    forwarded: true,
                })
            })
        }
    }
}

/// A connection from [`Route`]. `forwarded`: it goes to an HTTP proxy
/// that forwards each request, so requests name their whole URL.
pub struct Routed {
    io: Lean<TokioIo<TcpStream>>,
    forwarded: bool,
}

impl Routed {
    fn direct(io: Wire) -> Self {
        Routed {
            io: Lean::from(io),
            forwarded: false,
        }
    }
}

impl Connection for Routed {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.forwarded)
    }
}

impl Read for Routed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl Write for Routed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
}
