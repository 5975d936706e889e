//! OpenAI Responses API (`/v1/responses`): answers, streams, errors.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use crate::common::*;
use base64::Engine as _;
use serde_json::{json, Value};

const PATH: &str = "/v1/responses";

/// `(event name, data)` of a Responses stream, checking that every event is
/// named after its `type` and numbered in order.
fn events(r: &Resp) -> Vec<(String, Value)> {
    let events: Vec<(String, Value)> = sse_events(&r.body)
        .into_iter()
        .map(|(name, data)| {
            let name = name.expect("every event is named");
            let v: Value = serde_json::from_str(&data).expect("event JSON");
            (name, v)
        })
        .collect();
    for (i, (name, v)) in events.iter().enumerate() {
        assert_eq!(v["type"].as_str(), Some(name.as_str()));
        assert_eq!(v["sequence_number"], i as u64, "event {i} ({name})");
    }
    events
}

fn names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(n, _)| n.as_str()).collect()
}

fn deltas(events: &[(String, Value)]) -> Vec<String> {
    events
        .iter()
        .filter(|(n, _)| n == "response.output_text.delta")
        .map(|(_, v)| v["delta"].as_str().expect("delta").to_owned())
        .collect()
}

#[tokio::test]
async fn plain_answer_shape() {
    let m = mock().await;
    let r = request(
        &m,
        PATH,
        &json!({"model": "gpt-4.1-mini", "input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}]}),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r
        .header("x-request-id")
        .is_some_and(|id| id.starts_with("req_")));
    let v = r.json();
    assert!(v["id"].as_str().is_some_and(|id| id.starts_with("resp_")));
    assert_eq!(v["object"], "response");
    assert!(v["created_at"].as_u64().is_some());
    assert_eq!(v["status"], "completed");
    assert_eq!(v["model"], "gpt-4.1-mini");
    assert_eq!(v["error"], Value::Null);
    assert_eq!(v["incomplete_details"], Value::Null);
    let output = v["output"].as_array().expect("output");
    assert_eq!(
        output.len(),
        1,
        "no reasoning item for a non-reasoning model"
    );
    let msg = &output[0];
    assert!(msg["id"].as_str().is_some_and(|id| id.starts_with("msg_")));
    assert_eq!(msg["type"], "message");
    assert_eq!(msg["status"], "completed");
    assert_eq!(msg["role"], "assistant");
    assert_eq!(
        msg["content"],
        json!([{"type": "output_text", "annotations": [], "logprobs": [],
                "text": "Hello from switchboard_mock."}])
    );
    assert_eq!(
        v["usage"],
        json!({"input_tokens": 12, "input_tokens_details": {"cached_tokens": 0},
               "output_tokens": 8, "output_tokens_details": {"reasoning_tokens": 0},
               "total_tokens": 20})
    );
}

#[tokio::test]
async fn scripted_content_usage_and_reasoning_item() {
    let m = mock().await;
    script(
        &m,
        "u",
        json!([{
            "content": "Scripted.",
            "usage": {"input_tokens": 5, "output_tokens": 6, "cached_input_tokens": 4}
        }]),
    );
    // Azure's v1 API path is the same endpoint.
    let r = request(
        &m,
        "/s/u/openai/v1/responses?api-version=preview",
        &json!({"model": "gpt-5-mini"}),
    )
    .await;
    let v = r.json();
    assert_eq!(v["output"][0]["type"], "reasoning");
    assert_eq!(v["output"][0]["summary"], json!([]));
    assert_eq!(v["output"][1]["content"][0]["text"], "Scripted.");
    assert_eq!(v["usage"]["input_tokens"], 5);
    assert_eq!(v["usage"]["output_tokens"], 6);
    assert_eq!(v["usage"]["total_tokens"], 11);
    assert_eq!(v["usage"]["input_tokens_details"]["cached_tokens"], 4);
    // The queue is empty: the default answer follows.
    let r = request(&m, "/s/u/v1/responses", &json!({})).await;
    assert_eq!(r.json()["model"], "gpt-mock");
}

#[tokio::test]
async fn incomplete_and_failed_answers() {
    let m = mock().await;
    script(
        &m,
        "f",
        json!([
            {"content": "Once upon", "finish_reason": "max_output_tokens"},
            {"finish_reason": "content_filter"},
            {"finish_reason": "failed"},
            {"finish_reason": "failed", "error_type": "rate_limit_exceeded"},
            {"finish_reason": "stop"},
        ]),
    );
    let url = "/s/f/v1/responses";
    let v = request(&m, url, &json!({"model": "gpt-x"})).await.json();
    assert_eq!(v["status"], "incomplete");
    assert_eq!(
        v["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    assert_eq!(v["error"], Value::Null);
    assert_eq!(v["output"][0]["status"], "incomplete");
    assert_eq!(v["output"][0]["content"][0]["text"], "Once upon");
    assert_eq!(v["usage"]["total_tokens"], 20);

    let v = request(&m, url, &json!({})).await.json();
    assert_eq!(
        (
            v["status"].clone(),
            v["incomplete_details"]["reason"].clone()
        ),
        (json!("incomplete"), json!("content_filter"))
    );

    let r = request(&m, url, &json!({})).await;
    assert_eq!(r.status, 200, "a failed response is still HTTP 200");
    let v = r.json();
    assert_eq!(v["status"], "failed");
    assert_eq!(v["error"]["code"], "server_error");
    assert!(v["error"]["message"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    assert_eq!(v["incomplete_details"], Value::Null);
    assert_eq!(v["output"], json!([]));
    assert_eq!(v["usage"], Value::Null);

    let v = request(&m, url, &json!({})).await.json();
    assert_eq!(v["error"]["code"], "rate_limit_exceeded");

    let v = request(&m, url, &json!({})).await.json();
    assert_eq!(v["status"], "completed");
}

#[tokio::test]
async fn stream_event_sequence() {
    let m = mock().await;
    script(
        &m,
        "s",
        json!([{"content": "Hi there you", "usage": {"output_tokens": 3, "cached_input_tokens": 2}}]),
    );
    let r = request(
        &m,
        "/s/s/v1/responses",
        &json!({"model": "gpt-x", "stream": true}),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/event-stream")));
    assert!(r.header("x-request-id").is_some());
    assert!(r.complete_chunked, "SSE is sent chunked");
    assert!(!r.text().contains("[DONE]"));
    let ev = events(&r);
    assert_eq!(
        names(&ev),
        vec![
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    let created = &ev[0].1["response"];
    assert_eq!(created["status"], "in_progress");
    assert_eq!(created["output"], json!([]));
    assert_eq!(created["usage"], Value::Null);
    assert_eq!(created["model"], "gpt-x");

    let added = &ev[2].1;
    assert_eq!(added["output_index"], 0);
    assert_eq!(added["item"]["status"], "in_progress");
    assert_eq!(added["item"]["content"], json!([]));
    let item_id = added["item"]["id"].as_str().expect("item id");
    assert_eq!(ev[3].1["part"]["text"], "");

    assert_eq!(deltas(&ev), vec!["Hi", " there", " you"]);
    for (_, d) in &ev[4..7] {
        assert_eq!(d["item_id"], item_id);
        assert_eq!(d["output_index"], 0);
        assert_eq!(d["content_index"], 0);
    }
    assert_eq!(ev[7].1["text"], "Hi there you");
    assert_eq!(ev[8].1["part"]["text"], "Hi there you");
    assert_eq!(ev[9].1["item"]["status"], "completed");
    assert_eq!(ev[9].1["item"]["content"][0]["text"], "Hi there you");

    let done = &ev[10].1["response"];
    assert_eq!(done["id"], created["id"]);
    assert_eq!(done["status"], "completed");
    assert_eq!(done["output"][0]["content"][0]["text"], "Hi there you");
    assert_eq!(done["usage"]["output_tokens"], 3);
    assert_eq!(done["usage"]["total_tokens"], 15);
    assert_eq!(done["usage"]["input_tokens_details"]["cached_tokens"], 2);
}

#[tokio::test]
async fn stream_chunks_reasoning_and_terminal_events() {
    let m = mock().await;
    script(
        &m,
        "c",
        json!([
            {"chunks": 4},
            {"content": "abcdefgh", "chunks": 3},
            {"content": "a b c", "finish_reason": "max_output_tokens"},
            {"content": "a b c", "finish_reason": "failed", "error_type": "server_error"},
        ]),
    );
    let url = "/s/c/v1/responses";
    let body = json!({"model": "gpt-5", "stream": true});

    let ev = events(&request(&m, url, &body).await);
    assert_eq!(deltas(&ev), vec!["w1", " w2", " w3", " w4"]);
    // A reasoning model announces its reasoning item first.
    assert_eq!(
        names(&ev)[..6],
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.output_item.done",
            "response.output_item.added",
            "response.content_part.added",
        ]
    );
    assert_eq!(ev[2].1["item"]["type"], "reasoning");
    assert_eq!(ev[4].1["output_index"], 1);
    assert_eq!(ev[6].1["output_index"], 1);
    let done = &ev.last().expect("last").1["response"];
    assert_eq!(done["output"][0]["type"], "reasoning");
    assert_eq!(done["output"][1]["content"][0]["text"], "w1 w2 w3 w4");

    let ev = events(&request(&m, url, &body).await);
    let parts = deltas(&ev);
    assert_eq!((parts.len(), parts.concat().as_str()), (3, "abcdefgh"));

    let ev = events(&request(&m, url, &body).await);
    let (last, v) = ev.last().expect("last");
    assert_eq!(last, "response.incomplete");
    assert_eq!(v["response"]["status"], "incomplete");
    assert_eq!(
        v["response"]["incomplete_details"]["reason"],
        "max_output_tokens"
    );
    assert_eq!(ev[ev.len() - 2].1["item"]["status"], "incomplete");
    assert_eq!(deltas(&ev).concat(), "a b c");

    let ev = events(&request(&m, url, &body).await);
    let n = names(&ev);
    assert_eq!(n.last(), Some(&"response.failed"));
    assert!(!n.contains(&"response.output_text.done"));
    assert_eq!(n[n.len() - 2], "response.output_text.delta");
    let failed = &ev.last().expect("last").1["response"];
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"]["code"], "server_error");
    assert_eq!(failed["output"], json!([]));
}

#[tokio::test]
async fn mid_stream_error_event() {
    let m = mock().await;
    script(
        &m,
        "e",
        json!([
            {"chunks": 5, "error_after": 2},
            {"chunks": 5, "error_after": 0, "error_type": "rate_limit_exceeded"},
        ]),
    );
    let url = "/s/e/v1/responses";
    let r = request(&m, url, &json!({"stream": true})).await;
    assert_eq!(r.status, 200);
    assert!(
        r.complete_chunked,
        "the stream ends cleanly after the error"
    );
    let ev = events(&r);
    assert_eq!(deltas(&ev), vec!["w1", " w2"]);
    let (name, v) = ev.last().expect("error event");
    assert_eq!(name, "error");
    assert_eq!(v["code"], "server_error");
    assert_eq!(v["param"], Value::Null);
    assert!(v["message"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(v["sequence_number"], 6);
    assert!(!names(&ev).contains(&"response.completed"));
    assert_eq!(m.requests("e")[0].outcome(), Outcome::Completed);

    let ev = events(&request(&m, url, &json!({"stream": true})).await);
    assert!(deltas(&ev).is_empty());
    let (name, v) = ev.last().expect("error event");
    assert_eq!(
        (name.as_str(), v["code"].as_str()),
        ("error", Some("rate_limit_exceeded"))
    );
}

#[tokio::test]
async fn truncated_and_stalled_streams() {
    let m = mock().await;
    script(
        &m,
        "t",
        json!([{"chunks": 5, "truncate_after": 2}, {"chunks": 5, "stall_after": 1}]),
    );
    let r = request(&m, "/s/t/v1/responses", &json!({"stream": true})).await;
    assert!(!r.complete_chunked, "no final zero-length chunk");
    let ev = events(&r);
    assert_eq!(deltas(&ev).len(), 2);
    assert_eq!(
        names(&ev).last(),
        Some(&"response.output_text.delta"),
        "no terminal event"
    );
    m.wait_for_outcome("t", 0, Outcome::Dropped, Duration::from_secs(1))
        .await
        .expect("dropped");

    let body = serde_json::to_vec(&json!({"stream": true})).expect("json");
    let mut s = send(m.addr(), "POST", "/s/t/v1/responses", &body).await;
    let mut buf = vec![0u8; 65536];
    let mut got = Vec::new();
    while !String::from_utf8_lossy(&got).contains("response.output_text.delta") {
        use tokio::io::AsyncReadExt as _;
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("first delta in time")
            .expect("read");
        assert!(n > 0, "stream stays open");
        got.extend_from_slice(&buf[..n]);
    }
    assert!(!String::from_utf8_lossy(&got).contains("response.completed"));
}

#[tokio::test]
async fn error_status_bodies() {
    let m = mock().await;
    let cases = [
        (400, "invalid_request_error", Value::Null),
        (401, "invalid_request_error", json!("invalid_api_key")),
        (404, "invalid_request_error", json!("model_not_found")),
        (429, "requests", json!("rate_limit_exceeded")),
        (500, "server_error", Value::Null),
        (503, "server_error", Value::Null),
    ];
    let mut steps: Vec<Value> = cases.iter().map(|(s, _, _)| json!({"status": s})).collect();
    steps[3] = json!({"status": 429, "headers": {"retry-after": 2}});
    script(&m, "e", Value::Array(steps));
    for (status, kind, code) in cases {
        let r = request(
            &m,
            "/s/e/v1/responses",
            &json!({"model": "gpt-x", "stream": true}),
        )
        .await;
        assert_eq!(r.status, status);
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert!(r.header("x-request-id").is_some());
        if status == 429 {
            assert_eq!(r.header("retry-after"), Some("2"));
        }
        let v = r.json();
        assert_eq!(v["error"]["type"], kind, "status {status}");
        assert_eq!(v["error"]["code"], code, "status {status}");
        assert_eq!(v["error"]["param"], Value::Null);
        assert!(v["error"]["message"]
            .as_str()
            .is_some_and(|s| !s.is_empty()));
        if status == 404 {
            assert!(v["error"]["message"]
                .as_str()
                .is_some_and(|s| s.contains("gpt-x")));
        }
    }
}

/// Keys of an event, of its `response` and of its `item` / `part`, so the
/// comparison with real traffic catches a missing or extra field anywhere.
fn shape(v: &Value) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let mut add = |prefix: &str, v: &Value| {
        if let Some(map) = v.as_object() {
            for k in map.keys().filter(|k| *k != "obfuscation") {
                keys.insert(format!("{prefix}{k}"));
            }
        }
    };
    add("", v);
    add("response.", &v["response"]);
    add("response.usage.", &v["response"]["usage"]);
    add("item.", &v["item"]);
    add("part.", &v["part"]);
    keys
}

#[tokio::test]
async fn stream_matches_recorded_openai_traffic() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/openai-responses/req_llm/openai/gpt_5/streaming.json");
    if !path.exists() {
        eprintln!(
            "skipped: conformance corpus not found at {}",
            path.display()
        );
        return;
    }
    let cassette: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    let recorded: Vec<u8> = cassette["chunks"]
        .as_array()
        .expect("chunks")
        .iter()
        .flat_map(|c| {
            base64::engine::general_purpose::STANDARD
                .decode(c["b64"].as_str().expect("b64"))
                .expect("base64")
        })
        .collect();
    let real: Vec<(String, Value)> = sse_events(&recorded)
        .into_iter()
        .map(|(n, d)| (n.expect("named"), serde_json::from_str(&d).expect("json")))
        .collect();

    let m = mock().await;
    let ours = events(&request(&m, PATH, &json!({"model": "gpt-5", "stream": true})).await);

    // Same event order, once runs of deltas are collapsed.
    let collapse = |ev: &[(String, Value)]| {
        let mut n: Vec<String> = names(ev).into_iter().map(str::to_owned).collect();
        n.dedup();
        n
    };
    assert_eq!(collapse(&ours), collapse(&real));
    // Same fields on every kind of event, in the same positions.
    for (i, ((name, o), (_, r))) in ours
        .iter()
        .filter(|(n, _)| n != "response.output_text.delta")
        .zip(
            real.iter()
                .filter(|(n, _)| n != "response.output_text.delta"),
        )
        .enumerate()
    {
        assert_eq!(shape(o), shape(r), "event {i} ({name})");
    }
    let delta = |ev: &[(String, Value)]| {
        ev.iter()
            .find(|(n, _)| n == "response.output_text.delta")
            .map(|(_, v)| shape(v))
    };
    assert_eq!(delta(&ours), delta(&real));
}
