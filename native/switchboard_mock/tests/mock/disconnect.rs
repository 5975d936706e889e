//! The mock must notice a client that goes away while a response is pending.

use std::time::Duration;

use crate::common::*;
use serde_json::json;
use tokio::io::AsyncReadExt;

const NOTICE_WITHIN: Duration = Duration::from_secs(1);

#[tokio::test]
async fn close_during_delay_is_recorded() {
    let m = mock().await;
    script(&m, "d", json!([{"delay_ms": 5000}]));
    let stream = send(m.addr(), "POST", "/s/d/v1/chat/completions", b"{}").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(m.requests("d")[0].outcome(), Outcome::Pending);
    drop(stream);
    m.wait_for_outcome("d", 0, Outcome::ClientDisconnected, NOTICE_WITHIN)
        .await
        .expect("disconnect noticed within 1 s");
    let rec = &m.requests("d")[0];
    let waited = rec.finished_at_us().expect("finished") - rec.received_at_us;
    assert!(waited < 1_000_000, "noticed after {waited} us");
}

#[tokio::test]
async fn close_during_stall_is_recorded() {
    let m = mock().await;
    script(&m, "s", json!([{"chunks": 5, "stall_after": 2}]));
    let mut stream = send(m.addr(), "POST", "/s/s/v1/messages", br#"{"stream":true}"#).await;
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    // Read until the second delta arrived, then hang up.
    while got
        .windows(20)
        .filter(|w| w == b"content_block_delta\n")
        .count()
        < 2
    {
        let n = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf))
            .await
            .expect("deltas arrive")
            .expect("read");
        assert!(n > 0, "stream closed early");
        got.extend_from_slice(&buf[..n]);
    }
    // The stall really holds: nothing more within 200 ms.
    let more = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await;
    assert!(more.is_err(), "stream should be stalled");
    assert_eq!(m.requests("s")[0].outcome(), Outcome::Pending);
    drop(stream);
    m.wait_for_outcome("s", 0, Outcome::ClientDisconnected, NOTICE_WITHIN)
        .await
        .expect("disconnect noticed within 1 s");
}

#[tokio::test]
async fn close_mid_stream_is_recorded() {
    let m = mock().await;
    script(&m, "m", json!([{"chunks": 50, "chunk_delay_ms": 100}]));
    let mut stream = send(
        m.addr(),
        "POST",
        "/s/m/v1/chat/completions",
        br#"{"stream":true}"#,
    )
    .await;
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).await.expect("first bytes");
    assert!(n > 0);
    drop(stream);
    m.wait_for_outcome("m", 0, Outcome::ClientDisconnected, NOTICE_WITHIN)
        .await
        .expect("disconnect noticed within 1 s");
}

#[tokio::test]
async fn completed_and_keep_alive_requests_are_separate_records() {
    let m = mock().await;
    let r = request(&m, "/v1/messages", &json!({"stream": true})).await;
    assert_eq!(r.status, 200);
    m.wait_for_outcome("default", 0, Outcome::Completed, NOTICE_WITHIN)
        .await
        .expect("completed");
}
