//! Provider wire formats and error bodies.

use crate::common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn openai_non_streaming_completion() {
    let m = mock().await;
    let r = request(
        &m,
        "/v1/chat/completions",
        &json!({"model": "gpt-4o-mini", "messages": []}),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.header("x-request-id").is_some());
    let v = r.json();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "gpt-4o-mini");
    assert!(v["id"]
        .as_str()
        .is_some_and(|id| id.starts_with("chatcmpl-")));
    assert!(v["created"].as_u64().is_some());
    assert_eq!(v["choices"][0]["message"]["role"], "assistant");
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "Hello from switchboard_mock."
    );
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(v["usage"]["prompt_tokens"], 12);
    assert_eq!(v["usage"]["completion_tokens"], 8);
    assert_eq!(v["usage"]["total_tokens"], 20);
    assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
}

#[tokio::test]
async fn openai_paths_and_scripted_content() {
    let m = mock().await;
    script(
        &m,
        "az",
        json!([{
            "content": "Scripted.", "finish_reason": "length",
            "usage": {"input_tokens": 5, "output_tokens": 6, "cached_input_tokens": 4}
        }]),
    );
    let r = request(
        &m,
        "/s/az/openai/deployments/d1/chat/completions?api-version=2024-10-21",
        &json!({}),
    )
    .await;
    let v = r.json();
    assert_eq!(v["choices"][0]["message"]["content"], "Scripted.");
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert_eq!(v["usage"]["total_tokens"], 11);
    assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 4);
    // Without a scenario prefix: the `default` scenario.
    let r = request(&m, "/api/v1/chat/completions", &json!({})).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn openai_stream_with_usage() {
    let m = mock().await;
    let r = request(
        &m,
        "/v1/chat/completions",
        &json!({"model": "gpt-x", "stream": true, "stream_options": {"include_usage": true}}),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/event-stream")));
    assert!(r.complete_chunked, "SSE is sent chunked");
    let events = sse_events(&r.body);
    assert_eq!(events.last().map(|e| e.1.as_str()), Some("[DONE]"));
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|(_, d)| serde_json::from_str(d).expect("chunk JSON"))
        .collect();
    assert!(chunks
        .iter()
        .all(|c| c["object"] == "chat.completion.chunk" && c["model"] == "gpt-x"));
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Hello from switchboard_mock.");
    let content_deltas = chunks
        .iter()
        .filter(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .is_some_and(|s| !s.is_empty())
        })
        .count();
    assert_eq!(content_deltas, 3, "one word per delta");
    let usage = chunks.last().expect("usage chunk");
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["total_tokens"], 20);
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
}

#[tokio::test]
async fn openai_stream_without_usage_and_chunk_count() {
    let m = mock().await;
    script(
        &m,
        "c",
        json!([{"chunks": 4}, {"content": "abcdefgh", "chunks": 3}]),
    );
    let r = request(&m, "/s/c/v1/chat/completions", &json!({"stream": true})).await;
    let events = sse_events(&r.body);
    let deltas: Vec<String> = events
        .iter()
        .filter(|(_, d)| d != "[DONE]")
        .map(|(_, d)| serde_json::from_str::<Value>(d).expect("json"))
        .inspect(|c| assert!(c.get("usage").is_none()))
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(deltas, vec!["w1", " w2", " w3", " w4"]);

    let r = request(&m, "/s/c/v1/chat/completions", &json!({"stream": true})).await;
    let deltas: Vec<String> = sse_events(&r.body)
        .iter()
        .filter(|(_, d)| d != "[DONE]")
        .filter_map(|(_, d)| {
            let c: Value = serde_json::from_str(d).expect("json");
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(deltas.concat(), "abcdefgh");
    assert_eq!(deltas.len(), 3);
}

#[tokio::test]
async fn anthropic_non_streaming_message() {
    let m = mock().await;
    let r = request(
        &m,
        "/v1/messages",
        &json!({"model": "claude-haiku-4-5", "max_tokens": 10}),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.header("request-id").is_some());
    let v = r.json();
    assert_eq!(v["type"], "message");
    assert_eq!(v["role"], "assistant");
    assert_eq!(v["model"], "claude-haiku-4-5");
    assert_eq!(
        v["content"],
        json!([{"type": "text", "text": "Hello from switchboard_mock."}])
    );
    assert_eq!(v["stop_reason"], "end_turn");
    assert_eq!(v["stop_sequence"], Value::Null);
    assert_eq!(v["usage"]["input_tokens"], 12);
    assert_eq!(v["usage"]["output_tokens"], 8);
    assert_eq!(v["usage"]["cache_creation_input_tokens"], 0);
    assert_eq!(v["usage"]["cache_read_input_tokens"], 0);
}

#[tokio::test]
async fn anthropic_stream_sequence() {
    let m = mock().await;
    script(
        &m,
        "a",
        json!([{"content": "Hi there you", "usage": {"output_tokens": 3, "cached_input_tokens": 2}}]),
    );
    let r = request(
        &m,
        "/s/a/v1/messages",
        &json!({"model": "claude-x", "stream": true}),
    )
    .await;
    assert!(r.complete_chunked);
    let events = sse_events(&r.body);
    let names: Vec<&str> = events
        .iter()
        .map(|(e, _)| e.as_deref().unwrap_or(""))
        .collect();
    assert_eq!(
        names,
        vec![
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let data: Vec<Value> = events
        .iter()
        .map(|(_, d)| serde_json::from_str(d).expect("json"))
        .collect();
    for ((name, _), d) in events.iter().zip(&data) {
        assert_eq!(Some(d["type"].as_str().expect("type")), name.as_deref());
    }
    assert_eq!(data[0]["message"]["model"], "claude-x");
    assert_eq!(data[0]["message"]["usage"]["input_tokens"], 12);
    assert_eq!(data[0]["message"]["usage"]["cache_read_input_tokens"], 2);
    let text: String = data[3..6]
        .iter()
        .map(|d| d["delta"]["text"].as_str().expect("text").to_owned())
        .collect();
    assert_eq!(text, "Hi there you");
    assert_eq!(data[3]["delta"]["type"], "text_delta");
    assert_eq!(data[7]["delta"]["stop_reason"], "end_turn");
    assert_eq!(data[7]["usage"]["output_tokens"], 3);
}

#[tokio::test]
async fn openai_error_bodies() {
    let m = mock().await;
    let cases = [
        (400, "invalid_request_error", Value::Null),
        (401, "invalid_request_error", json!("invalid_api_key")),
        (404, "invalid_request_error", json!("model_not_found")),
        (429, "requests", json!("rate_limit_exceeded")),
        (500, "server_error", Value::Null),
        (503, "server_error", Value::Null),
    ];
    let steps: Vec<Value> = cases.iter().map(|(s, _, _)| json!({"status": s})).collect();
    script(&m, "e", Value::Array(steps));
    for (status, kind, code) in cases {
        let r = request(
            &m,
            "/s/e/v1/chat/completions",
            &json!({"model": "gpt-x", "stream": true}),
        )
        .await;
        assert_eq!(r.status, status);
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert!(r.header("x-request-id").is_some());
        let v = r.json();
        assert_eq!(v["error"]["type"], kind, "status {status}");
        assert_eq!(v["error"]["code"], code, "status {status}");
        assert_eq!(v["error"]["param"], Value::Null);
        assert!(v["error"]["message"]
            .as_str()
            .is_some_and(|s| !s.is_empty()));
    }
}

#[tokio::test]
async fn anthropic_error_bodies_and_headers() {
    let m = mock().await;
    script(
        &m,
        "e",
        json!([
            {"status": 429, "headers": {"retry-after": 3, "retry-after-ms": "2500"}},
            {"status": 529},
            {"status": 401},
        ]),
    );
    let r = request(&m, "/s/e/v1/messages", &json!({})).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("3"));
    assert_eq!(r.header("retry-after-ms"), Some("2500"));
    assert!(r.header("request-id").is_some());
    let v = r.json();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "rate_limit_error");
    let r = request(&m, "/s/e/v1/messages", &json!({})).await;
    assert_eq!(
        (r.status, r.json()["error"]["type"].clone()),
        (529, json!("overloaded_error"))
    );
    let r = request(&m, "/s/e/v1/messages", &json!({})).await;
    assert_eq!(r.json()["error"]["type"], "authentication_error");
}

#[tokio::test]
async fn raw_body_malformed_and_unknown_paths() {
    let m = mock().await;
    script(
        &m,
        "r",
        json!([
            {"status": 200, "body": "plain", "content_type": "text/plain"},
            {"malformed": true},
            {"body": "{\"candidates\":[]}"},
        ]),
    );
    let r = request(&m, "/s/r/v1/chat/completions", &json!({})).await;
    assert_eq!((r.status, r.text().as_str()), (200, "plain"));
    assert_eq!(r.header("content-type"), Some("text/plain"));
    let r = request(&m, "/s/r/v1/messages", &json!({})).await;
    assert_eq!(r.status, 200);
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());
    // A raw step answers any served path, whatever its format.
    let r = request(&m, "/s/r/v1beta/models/g:generateContent", &json!({})).await;
    assert_eq!(r.json()["candidates"], json!([]));
    let r = request(&m, "/s/r/v1/embeddings", &json!({})).await;
    assert_eq!(r.status, 404);
    assert!(r.json()["error"]["message"]
        .as_str()
        .is_some_and(|s| s.contains("/v1/embeddings")));
    let r = request(&m, "/s/bad!id/v1/messages", &json!({})).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn repeat_and_fifo_order() {
    let m = mock().await;
    script(
        &m,
        "q",
        json!([{"status": 500, "repeat": 2}, {"content": "third"}]),
    );
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(
            request(&m, "/s/q/v1/chat/completions", &json!({}))
                .await
                .status,
        );
    }
    assert_eq!(statuses, vec![500, 500, 200, 200]);
    script(&m, "f", json!([{"status": 503, "repeat": -1}]));
    for _ in 0..3 {
        assert_eq!(
            request(&m, "/s/f/v1/messages", &json!({})).await.status,
            503
        );
    }
}
