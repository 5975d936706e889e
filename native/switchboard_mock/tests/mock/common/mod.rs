//! A deliberately dumb HTTP/1.1 client over raw sockets: the tests need to see
//! exactly which bytes arrive, in which reads, and when the socket closes.

#![allow(dead_code, unused_imports)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub use switchboard_mock::{Config, FileRoot, MockServer, Outcome};

pub async fn mock() -> MockServer {
    MockServer::start().await.expect("mock starts")
}

/// A mock that may read files under `root` (replay steps).
pub async fn mock_rooted(root: &std::path::Path) -> MockServer {
    let config = Config {
        root: FileRoot::new(root).expect("root folder"),
        ..Config::default()
    };
    MockServer::start_with(config).await.expect("mock starts")
}

pub async fn send(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\nx-test: yes\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write head");
    stream.write_all(body).await.expect("write body");
    stream
}

/// Every read until EOF or error, each with its arrival time.
pub struct Reads {
    pub reads: Vec<(Instant, Vec<u8>)>,
    pub error: Option<std::io::Error>,
}

impl Reads {
    pub fn bytes(&self) -> Vec<u8> {
        self.reads.iter().flat_map(|(_, b)| b.clone()).collect()
    }
}

pub async fn read_all(stream: &mut TcpStream) -> Reads {
    let mut reads = Vec::new();
    let mut buf = vec![0u8; 65536];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
            Ok(Ok(0)) => return Reads { reads, error: None },
            Ok(Ok(n)) => reads.push((Instant::now(), buf[..n].to_vec())),
            Ok(Err(e)) => {
                return Reads {
                    reads,
                    error: Some(e),
                }
            }
            Err(_) => panic!("response did not finish within 10 s"),
        }
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// De-chunked body.
    pub body: Vec<u8>,
    /// Raw bytes after the head.
    pub raw_body: Vec<u8>,
    /// Chunked encoding ended with its terminator.
    pub complete_chunked: bool,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }
}

pub fn parse(raw: &[u8]) -> Resp {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head");
    let head = std::str::from_utf8(&raw[..split]).expect("ASCII head");
    let raw_body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let (body, complete_chunked) = if chunked {
        dechunk(&raw_body)
    } else {
        (raw_body.clone(), false)
    };
    Resp {
        status,
        headers,
        body,
        raw_body,
        complete_chunked,
    }
}

fn dechunk(mut raw: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    loop {
        let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") else {
            return (out, false);
        };
        let size_str = std::str::from_utf8(&raw[..eol]).expect("chunk size");
        let size = usize::from_str_radix(size_str.trim(), 16).expect("hex size");
        raw = &raw[eol + 2..];
        if size == 0 {
            return (out, true);
        }
        if raw.len() < size {
            out.extend_from_slice(raw);
            return (out, false);
        }
        out.extend_from_slice(&raw[..size]);
        raw = raw.get(size + 2..).unwrap_or_default();
    }
}

pub async fn request(mock: &MockServer, path: &str, body: &Value) -> Resp {
    let body = serde_json::to_vec(body).expect("serialize");
    let mut s = send(mock.addr(), "POST", path, &body).await;
    let reads = read_all(&mut s).await;
    parse(&reads.bytes())
}

/// `(event name, data)` pairs of an SSE body.
pub fn sse_events(body: &[u8]) -> Vec<(Option<String>, String)> {
    let text = std::str::from_utf8(body).expect("UTF-8 stream");
    text.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut event = None;
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    event = Some(v.to_owned());
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data.push(v);
                }
            }
            (event, data.join("\n"))
        })
        .collect()
}

pub fn script(mock: &MockServer, scenario: &str, steps: Value) {
    let steps = steps.as_array().expect("list of steps").clone();
    mock.script(scenario, &steps).expect("valid script");
}

/// Sends a request with exactly these extra headers (plus `host`,
/// `content-length` and `connection: close`) and reads the whole answer.
pub async fn request_with(
    mock: &MockServer,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Resp {
    let mut stream = TcpStream::connect(mock.addr()).await.expect("connect");
    let mut head = format!("{method} {path} HTTP/1.1\r\nhost: {}\r\n", mock.addr());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    stream.write_all(head.as_bytes()).await.expect("write head");
    stream.write_all(body).await.expect("write body");
    let reads = read_all(&mut stream).await;
    parse(&reads.bytes())
}
