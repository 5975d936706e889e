//! Proxies from the environment, as the engine's pooled transport uses
//! them: an `http://` provider through `HTTP_PROXY` (the proxy forwards
//! the request), an `https://` one through `HTTPS_PROXY` (a CONNECT
//! tunnel), and a host in `NO_PROXY` reached directly. The proxies and the
//! provider are small HTTP/1.1 servers on 127.0.0.1 written here, so the
//! test reads the exact bytes the engine sent each of them.
//!
//! The environment is read when a pool is first built, once per process:
//! this file is its own test binary, and its one test sets the variables
//! before the first call, then takes its steps in order.

use std::time::Duration;

use base64::Engine as _;
use serde_json::json;
use switchboard_core::config::HttpSettings;
use switchboard_core::engine::transport::{self, client_for};
use switchboard_core::wire::HttpRequest;
use switchboard_core::{Error, ErrorKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Hosts that resolve nowhere: only a proxy can answer for them.
const FORWARDED_URL: &str = "http://provider.test:8080/v1/chat/completions";
const TUNNELED_URL: &str = "https://provider.test/v1/chat/completions";
const CLOSED_TUNNEL_URL: &str = "https://closing.test/v1/chat/completions";

const FORWARDING_USER: &str = "switchboard";
const FORWARDING_PASSWORD: &str = "forward-pa$$word";
/// Percent-encoded as a URL's userinfo must be.
const FORWARDING_PASSWORD_IN_URL: &str = "forward-pa%24%24word";
const TUNNEL_USER: &str = "switchboard";
const TUNNEL_PASSWORD: &str = "tunnel-secret-7f3a";

const PROVIDER_KEY: &str = "sk-test-provider-key";

const PROXY_ANSWER: &str = r#"{"answered_by":"the forwarding proxy"}"#;
const DIRECT_ANSWER: &str = r#"{"answered_by":"the provider, directly"}"#;

#[test]
fn proxies_from_the_environment() {
    let forwarding = bind();
    let tunneling = bind();
    let provider = bind();
    let forwarding_addr = forwarding.local_addr().expect("addr");
    let tunneling_addr = tunneling.local_addr().expect("addr");
    let provider_addr = provider.local_addr().expect("addr");

    // Before any thread of the runtime exists, and before the pool is built.
    for name in [
        "http_proxy",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "no_proxy",
        "REQUEST_METHOD",
    ] {
        std::env::remove_var(name);
    }
    std::env::set_var(
        "HTTP_PROXY",
        format!("http://{FORWARDING_USER}:{FORWARDING_PASSWORD_IN_URL}@{forwarding_addr}"),
    );
    std::env::set_var(
        "HTTPS_PROXY",
        format!("http://{TUNNEL_USER}:{TUNNEL_PASSWORD}@{tunneling_addr}"),
    );
    std::env::set_var("NO_PROXY", "internal.test, 127.0.0.1");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let mut forwarded = serve(forwarding, |_| http_answer("200 OK", PROXY_ANSWER));
        let mut tunnels = serve(tunneling, |seen| {
            if seen.line.starts_with("CONNECT closing.test:") {
                Vec::new()
            } else {
                http_answer("403 Forbidden", "")
            }
        });
        let mut direct = serve(provider, |_| http_answer("200 OK", DIRECT_ANSWER));

        // 1. http:// through HTTP_PROXY: the proxy gets the whole URL and
        //    its credentials, and its answer is the call's.
        let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        let answer = call(FORWARDED_URL, &body)
            .await
            .expect("the proxy's answer");
        assert_eq!(answer.0, 200);
        assert_eq!(answer.1, PROXY_ANSWER);
        let seen = forwarded.recv().await.expect("the forwarded request");
        assert_eq!(
            seen.line,
            format!("POST {FORWARDED_URL} HTTP/1.1"),
            "absolute form"
        );
        assert_eq!(seen.header("host"), Some("provider.test:8080"));
        assert_eq!(
            seen.header("proxy-authorization"),
            Some(basic(FORWARDING_USER, FORWARDING_PASSWORD).as_str())
        );
        let bearer = format!("Bearer {PROVIDER_KEY}");
        assert_eq!(seen.header("authorization"), Some(bearer.as_str()));
        let sent: serde_json::Value = serde_json::from_slice(&seen.body).expect("json body");
        assert_eq!(sent, body);

        // 2. https:// through HTTPS_PROXY: a CONNECT with the tunnel
        //    proxy's own credentials and nothing of the provider's. A
        //    refused or dropped tunnel is a network error that names
        //    neither proxy's credentials.
        for (url, authority) in [
            (TUNNELED_URL, "provider.test:443"),
            (CLOSED_TUNNEL_URL, "closing.test:443"),
        ] {
            let err = call(url, &body).await.expect_err("no tunnel");
            let seen = tunnels.recv().await.expect("the CONNECT");
            assert_eq!(seen.line, format!("CONNECT {authority} HTTP/1.1"));
            assert_eq!(
                seen.header("proxy-authorization"),
                Some(basic(TUNNEL_USER, TUNNEL_PASSWORD).as_str())
            );
            assert_eq!(seen.header("authorization"), None, "the provider's key");
            assert!(
                !seen.text.contains(PROVIDER_KEY),
                "the tunnel request: {}",
                seen.text
            );
            assert_eq!(err.kind, ErrorKind::Network, "{err}");
            assert!(err.message.starts_with("cannot connect"), "{err}");
            assert_no_credentials(&err);
        }

        // 3. A host in NO_PROXY (127.0.0.1) is reached directly, though
        //    HTTP_PROXY is set, and without the proxy's credentials.
        let url = format!("http://{provider_addr}/v1/chat/completions");
        let answer = call(&url, &body).await.expect("the provider's answer");
        assert_eq!(answer.0, 200);
        assert_eq!(answer.1, DIRECT_ANSWER);
        let seen = direct.recv().await.expect("the direct request");
        assert_eq!(
            seen.line, "POST /v1/chat/completions HTTP/1.1",
            "origin form"
        );
        assert_eq!(seen.header("proxy-authorization"), None);
        assert_eq!(seen.header("authorization"), Some(bearer.as_str()));
        // Had the call gone to a proxy, that proxy's answer would be the
        // call's; these find nothing more than the steps above awaited.
        assert!(forwarded.try_recv().is_err(), "the forwarding proxy");
        assert!(tunnels.try_recv().is_err(), "the tunneling proxy");
    });
}

/// A POST with a provider key, through the process's shared pool; the
/// status and body of the answer.
async fn call(url: &str, body: &serde_json::Value) -> Result<(u16, String), Error> {
    // Generous: a hang fails the test rather than stalling it.
    let settings = HttpSettings {
        request_timeout: Some(Duration::from_secs(60)),
        ..HttpSettings::default()
    };
    let client = client_for(&settings)?;
    let mut request = HttpRequest::post_json(url::Url::parse(url).expect("url"), body)?;
    request.headers.insert(
        http::header::AUTHORIZATION,
        http::HeaderValue::from_str(&format!("Bearer {PROVIDER_KEY}")).expect("header"),
    );
    let answer = transport::send(&client, request, &settings).await?;
    Ok((
        answer.head.status,
        String::from_utf8(answer.body.to_vec()).expect("utf-8 answer"),
    ))
}

fn assert_no_credentials(err: &Error) {
    let shown = format!("{err} {err:?}");
    for secret in [
        TUNNEL_PASSWORD.to_string(),
        FORWARDING_PASSWORD.to_string(),
        FORWARDING_PASSWORD_IN_URL.to_string(),
        basic(TUNNEL_USER, TUNNEL_PASSWORD),
        basic(FORWARDING_USER, FORWARDING_PASSWORD),
        PROVIDER_KEY.to_string(),
    ] {
        assert!(!shown.contains(&secret), "{secret:?} in {shown}");
    }
}

fn basic(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

fn bind() -> std::net::TcpListener {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    listener
}

/// A request as a server read it.
#[derive(Debug)]
struct Seen {
    /// The request line, without its line end.
    line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// The head as it came.
    text: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one request per connection, reports it, writes what `answer`
/// makes of it (nothing: the connection is dropped unanswered) and closes.
fn serve(
    listener: std::net::TcpListener,
    answer: impl Fn(&Seen) -> Vec<u8> + Send + 'static,
) -> mpsc::UnboundedReceiver<Seen> {
    let listener = TcpListener::from_std(listener).expect("listener");
    let (report, seen) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let Some(request) = read_request(&mut socket).await else {
                continue;
            };
            let reply = answer(&request);
            // Reported before the answer: a caller that has its answer
            // finds the request already there.
            if report.send(request).is_err() {
                return;
            }
            if !reply.is_empty() {
                let _ = socket.write_all(&reply).await;
            }
            let _ = socket.shutdown().await;
        }
    });
    seen
}

async fn read_request(socket: &mut TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let mut chunk = [0u8; 4096];
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let text = String::from_utf8(buf[..head_end].to_vec()).ok()?;
    let mut lines = text.split("\r\n");
    let line = lines.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let mut chunk = [0u8; 4096];
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Seen {
        line,
        headers,
        body,
        text,
    })
}

fn http_answer(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
