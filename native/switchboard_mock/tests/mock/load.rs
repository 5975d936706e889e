//! Throughput of the default OpenAI answer over 100 keep-alive connections.
//!
//! Ignored by default (it is a measurement, not a check):
//! `cargo test --release -p switchboard_mock --test mock load -- --ignored --nocapture`

use std::time::{Duration, Instant};

use switchboard_mock::MockServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CONNECTIONS: usize = 100;
const DURATION: Duration = Duration::from_secs(5);

/// Sends requests back to back on one connection until `deadline`; returns
/// how many complete responses arrived.
async fn client(addr: std::net::SocketAddr, deadline: Instant) -> u64 {
    let body = br#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]}"#;
    let request = [
        format!(
            "POST /s/load/v1/chat/completions HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes(),
        body.to_vec(),
    ]
    .concat();
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let mut buf = Vec::with_capacity(8192);
    let mut chunk = vec![0u8; 8192];
    let mut done = 0;
    while Instant::now() < deadline {
        stream.write_all(&request).await.expect("write");
        loop {
            if let Some(len) = complete_response_len(&buf) {
                buf.drain(..len);
                break;
            }
            let n = stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "server closed a keep-alive connection");
            buf.extend_from_slice(&chunk[..n]);
        }
        done += 1;
    }
    done
}

fn complete_response_len(buf: &[u8]) -> Option<usize> {
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    assert!(head.starts_with("HTTP/1.1 200"), "unexpected {head}");
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))?
        .trim()
        .parse()
        .ok()?;
    (buf.len() >= head_end + len).then_some(head_end + len)
}

#[test]
#[ignore = "measurement; run explicitly with --release"]
fn default_openai_throughput() {
    // Server and clients share one two-worker runtime, like a 2-core box.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mock = MockServer::start().await.expect("start");
        let start = Instant::now();
        let deadline = start + DURATION;
        let tasks: Vec<_> = (0..CONNECTIONS)
            .map(|_| tokio::spawn(client(mock.addr(), deadline)))
            .collect();
        let mut total = 0;
        for t in tasks {
            total += t.await.expect("client task");
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{total} requests over {CONNECTIONS} connections in {secs:.2} s: {:.0} req/s",
            total as f64 / secs
        );
        assert!(total > 0);
    });
}
