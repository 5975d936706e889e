//! Scripted faults: delays, drops, truncation, split streams, stream errors, replay.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::common::*;
use base64::Engine as _;
use serde_json::{json, Value};

async fn raw(m: &MockServer, path: &str, body: Value) -> Reads {
    let body = serde_json::to_vec(&body).expect("serialize");
    let mut s = send(m.addr(), "POST", path, &body).await;
    read_all(&mut s).await
}

#[tokio::test]
async fn delay_before_head() {
    let m = mock().await;
    script(&m, "d", json!([{"delay_ms": 300}]));
    let start = Instant::now();
    let r = request(&m, "/s/d/v1/chat/completions", &json!({})).await;
    assert_eq!(r.status, 200);
    assert!(start.elapsed() >= Duration::from_millis(300));
    let rec = &m.requests("d")[0];
    assert_eq!(rec.outcome(), Outcome::Completed);
    assert!(rec.finished_at_us().expect("finished") - rec.received_at_us >= 300_000);
}

#[tokio::test]
async fn drop_closes_without_response() {
    let m = mock().await;
    script(&m, "d", json!([{"drop": true, "delay_ms": 50}]));
    let reads = raw(&m, "/s/d/v1/messages", json!({})).await;
    assert!(reads.bytes().is_empty(), "no byte of a response");
    let rec = &m.requests("d")[0];
    assert_eq!(rec.outcome(), Outcome::Dropped);
    assert_eq!(rec.status(), None);
}

#[tokio::test]
async fn truncate_at_announces_full_length() {
    let m = mock().await;
    script(&m, "t", json!([{"truncate_at": 10}]));
    let reads = raw(&m, "/s/t/v1/chat/completions", json!({})).await;
    let r = parse(&reads.bytes());
    let announced: usize = r
        .header("content-length")
        .expect("length")
        .parse()
        .expect("number");
    assert!(announced > 100);
    assert_eq!(r.raw_body.len(), 10);
    assert_eq!(&r.raw_body, b"{\"id\":\"cha");
    m.wait_for_outcome("t", 0, Outcome::Dropped, Duration::from_secs(1))
        .await
        .expect("dropped");
}

#[tokio::test]
async fn split_bytes_arrive_separately_and_reassemble() {
    let m = mock().await;
    // Multi-byte characters make some splits land inside a UTF-8 sequence.
    let content = "héllo wörld ✓ done";
    script(
        &m,
        "s",
        json!([{"content": content}, {"content": content, "split_bytes": 7}]),
    );
    let whole = parse(
        &raw(&m, "/s/s/v1/messages", json!({"stream": true}))
            .await
            .bytes(),
    );
    let reads = raw(&m, "/s/s/v1/messages", json!({"stream": true})).await;
    let split = parse(&reads.bytes());
    assert!(split.complete_chunked);
    // Ids differ per response; compare the event structure and the text.
    let strip = |b: &[u8]| {
        sse_events(b)
            .into_iter()
            .map(|(e, d)| {
                let mut v: Value = serde_json::from_str(&d).expect("json");
                if let Some(m) = v.get_mut("message") {
                    m["id"] = Value::Null;
                }
                (e, v)
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&whole.body), strip(&split.body));
    assert!(
        reads.reads.len() > 20,
        "expected many separate reads, got {}",
        reads.reads.len()
    );
    // Each chunk of the transfer encoding carries at most 7 payload bytes.
    let text = String::from_utf8_lossy(&split.raw_body);
    assert!(text.contains("\r\n7\r\n"));
}

#[tokio::test]
async fn chunk_delay_spaces_events() {
    let m = mock().await;
    script(&m, "cd", json!([{"chunk_delay_ms": 40, "chunks": 3}]));
    let start = Instant::now();
    let r = request(&m, "/s/cd/v1/chat/completions", &json!({"stream": true})).await;
    assert!(r.complete_chunked);
    // head + 3 deltas + finish + [DONE] = 6 events, 5 gaps.
    assert!(start.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn error_after_sends_provider_error_event() {
    let m = mock().await;
    script(
        &m,
        "e",
        json!([
            {"chunks": 5, "error_after": 2},
            {"chunks": 5, "error_after": 1, "error_type": "api_error"},
            {"chunks": 5, "error_after": 2},
        ]),
    );
    let r = request(&m, "/s/e/v1/messages", &json!({"stream": true})).await;
    let events = sse_events(&r.body);
    let deltas = events
        .iter()
        .filter(|(e, _)| e.as_deref() == Some("content_block_delta"))
        .count();
    assert_eq!(deltas, 2);
    let (name, data) = events.last().expect("error event");
    assert_eq!(name.as_deref(), Some("error"));
    let v: Value = serde_json::from_str(data).expect("json");
    assert_eq!(
        v,
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    );

    let r = request(&m, "/s/e/v1/messages", &json!({"stream": true})).await;
    let (_, data) = sse_events(&r.body).pop().expect("error event");
    assert!(data.contains("\"api_error\""));

    let r = request(&m, "/s/e/v1/chat/completions", &json!({"stream": true})).await;
    let (_, data) = sse_events(&r.body).pop().expect("error event");
    let v: Value = serde_json::from_str(&data).expect("json");
    assert_eq!(v["error"]["type"], "server_error");
    assert!(!r.text().contains("[DONE]"));
    assert_eq!(m.requests("e")[2].outcome(), Outcome::Completed);
}

#[tokio::test]
async fn truncate_after_closes_without_terminator() {
    let m = mock().await;
    script(&m, "t", json!([{"chunks": 5, "truncate_after": 2}]));
    let reads = raw(&m, "/s/t/v1/chat/completions", json!({"stream": true})).await;
    let r = parse(&reads.bytes());
    assert!(!r.complete_chunked, "no final zero-length chunk");
    let events = sse_events(&r.body);
    assert_eq!(events.len(), 3, "role chunk and two deltas");
    m.wait_for_outcome("t", 0, Outcome::Dropped, Duration::from_secs(1))
        .await
        .expect("dropped");
}

#[tokio::test]
async fn malformed_stream() {
    let m = mock().await;
    script(&m, "m", json!([{"malformed": true}]));
    let r = request(&m, "/s/m/v1/chat/completions", &json!({"stream": true})).await;
    let (_, data) = sse_events(&r.body).pop().expect("event");
    assert!(serde_json::from_str::<Value>(&data).is_err());
}

fn temp_file(name: &str, contents: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("switchboard_mock_test_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write temp file");
    path
}

#[tokio::test]
async fn replay_cassette_chunks_in_order() {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let chunks = [
        "event: message_start\ndata: {\"type\":\"mess",
        "age_start\"}\n\n",
        "event: message_stop\ndata: {}\n\n",
    ];
    let cassette = json!({
        "request": {"method": "post"},
        "response": {
            "status": 200,
            "headers": {"content-type": ["text/event-stream; charset=utf-8"], "request-id": "req_rec", "transfer-encoding": ["chunked"]},
            "body": null
        },
        "chunks": chunks.iter().map(|c| json!({"b64": b64(c)})).collect::<Vec<_>>()
    });
    let path = temp_file("stream.json", cassette.to_string().as_bytes());
    let m = mock_rooted(path.parent().expect("folder")).await;
    script(
        &m,
        "c",
        json!([{"replay_cassette": path.to_str().expect("utf8"), "chunk_delay_ms": 30}]),
    );
    let reads = raw(&m, "/s/c/v1/messages", json!({"stream": true})).await;
    let r = parse(&reads.bytes());
    assert_eq!(
        r.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    assert_eq!(r.header("request-id"), Some("req_rec"));
    assert_eq!(r.body, chunks.concat().as_bytes());
    assert!(reads.reads.len() >= 3, "each chunk flushed separately");

    let cassette = json!({
        "response": {"status": 429, "headers": {"retry-after": "7", "content-type": "application/json"},
                     "body": {"type": "error", "error": {"type": "rate_limit_error", "message": "x"}}}
    });
    let path = temp_file("err.json", cassette.to_string().as_bytes());
    script(
        &m,
        "c",
        json!([{"replay_cassette": path.to_str().expect("utf8")}]),
    );
    let r = request(&m, "/s/c/v1/messages", &json!({})).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("7"));
    assert_eq!(r.json()["error"]["type"], "rate_limit_error");
}

#[tokio::test]
async fn replay_real_cassette_from_conformance_corpus() {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/anthropic/req_llm/anthropic/claude_haiku_4_5_20251001");
    // Canonical: the mock refuses paths with `..`.
    let Ok(root) = corpus.canonicalize() else {
        eprintln!(
            "skipped: conformance corpus not found at {}",
            corpus.display()
        );
        return;
    };
    let path = root.join("streaming.json");
    let cassette: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    let expected: Vec<u8> = cassette["chunks"]
        .as_array()
        .expect("chunks")
        .iter()
        .flat_map(|c| {
            base64::engine::general_purpose::STANDARD
                .decode(c["b64"].as_str().expect("b64"))
                .expect("base64")
        })
        .collect();
    let m = mock_rooted(path.parent().expect("folder")).await;
    script(
        &m,
        "real",
        json!([{"replay_cassette": path.to_str().expect("utf8")}]),
    );
    let r = request(&m, "/s/real/v1/messages", &json!({"stream": true})).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, expected);
}

#[tokio::test]
async fn replay_file_and_b64_chunks() {
    let sse = "data: {\"a\":1}\n\ndata: [DONE]\n\n";
    let path = temp_file("raw.sse", sse.as_bytes());
    let m = mock_rooted(path.parent().expect("folder")).await;
    script(
        &m,
        "f",
        json!([
            {"replay_file": path.to_str().expect("utf8"), "split_bytes": 4},
            {"replay_chunks_b64": ["ZGF0YTog", "e30KCg=="]},
        ]),
    );
    let reads = raw(&m, "/s/f/v1/chat/completions", json!({})).await;
    let r = parse(&reads.bytes());
    assert_eq!(r.body, sse.as_bytes());
    assert!(r
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/event-stream")));
    assert!(reads.reads.len() > 3);
    let r = request(&m, "/s/f/v1/chat/completions", &json!({})).await;
    assert_eq!(r.text(), "data: {}\n\n");
}

#[tokio::test]
async fn script_errors_are_reported() {
    let m = mock().await;
    assert!(m
        .script("x", &[json!({"replay_file": "/nonexistent/file"})])
        .is_err());
    assert!(m.script("x", &[json!({"nope": 1})]).is_err());
    assert!(m.script("bad id", &[]).is_err());
}
