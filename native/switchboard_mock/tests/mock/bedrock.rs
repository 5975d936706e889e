//! AWS Bedrock Converse and ConverseStream: answers, binary event-stream
//! frames, in-stream exceptions, HTTP errors, and the real recordings.

use std::path::PathBuf;

use crate::common::*;
use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};
use aws_smithy_types::event_stream::Message;
use base64::Engine as _;
use bytes::Bytes;
use serde_json::{json, Value};

const MODEL: &str = "anthropic.claude-3-5-haiku-20241022-v1:0";
const CONVERSE: &str = "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse";
const STREAM: &str = "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream";

fn body() -> Value {
    json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}],
           "inferenceConfig": {"maxTokens": 50}})
}

/// How a decoded event stream ended.
#[derive(Debug, PartialEq)]
enum End {
    Clean,
    /// Bytes of a frame that never completed.
    Partial,
    Corrupt(String),
}

/// Frames decoded with the SDK's own decoder.
fn frames(body: &[u8]) -> (Vec<Message>, End) {
    let mut buf = Bytes::copy_from_slice(body);
    let mut decoder = MessageFrameDecoder::new();
    let mut out = Vec::new();
    loop {
        if buf.is_empty() {
            return (out, End::Clean);
        }
        match decoder.decode_frame(&mut buf) {
            Ok(DecodedFrame::Complete(m)) => out.push(m),
            Ok(DecodedFrame::Incomplete) => return (out, End::Partial),
            Err(e) => return (out, End::Corrupt(e.to_string())),
        }
    }
}

fn header(m: &Message, name: &str) -> Option<String> {
    m.headers()
        .iter()
        .find(|h| h.name().as_str() == name)
        .map(|h| {
            h.value()
                .as_string()
                .expect("string header")
                .as_str()
                .to_owned()
        })
}

fn header_names(m: &Message) -> Vec<String> {
    m.headers()
        .iter()
        .map(|h| h.name().as_str().to_owned())
        .collect()
}

/// `(event or exception type, payload)`.
fn events(messages: &[Message]) -> Vec<(String, Value)> {
    messages
        .iter()
        .map(|m| {
            let kind = header(m, ":event-type")
                .or_else(|| header(m, ":exception-type"))
                .expect("typed frame");
            let v: Value = serde_json::from_slice(m.payload()).expect("JSON payload");
            (kind, v)
        })
        .collect()
}

fn names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(n, _)| n.as_str()).collect()
}

fn text(events: &[(String, Value)]) -> String {
    events
        .iter()
        .filter_map(|(_, v)| v["delta"]["text"].as_str())
        .collect()
}

async fn post(m: &MockServer, path: &str) -> Resp {
    request(m, path, &body()).await
}

#[tokio::test]
async fn converse_default_shape() {
    let m = mock().await;
    let r = post(&m, CONVERSE).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let id = r.header("x-amzn-requestid").expect("request id");
    assert_eq!(id.len(), 36, "UUID-shaped: {id}");
    let v = r.json();
    assert_eq!(
        v,
        json!({
            "metrics": {"latencyMs": 120},
            "output": {"message": {"content": [{"text": "Hello from switchboard_mock."}], "role": "assistant"}},
            "stopReason": "end_turn",
            "usage": {"cacheReadInputTokenCount": 0, "cacheReadInputTokens": 0,
                      "cacheWriteInputTokenCount": 0, "cacheWriteInputTokens": 0,
                      "inputTokens": 12, "outputTokens": 8, "serverToolUsage": {}, "totalTokens": 20}
        })
    );
    let rec = &m.requests("default")[0];
    assert_eq!(rec.path, CONVERSE, "recorded as sent, still encoded");
    assert_eq!(rec.auth, None, "no AWS configuration: not checked");
}

#[tokio::test]
async fn converse_scripted_answer_with_reasoning() {
    let m = mock().await;
    script(
        &m,
        "b",
        json!([{
            "content": "Four.", "reasoning": "2 + 2 = 4", "finish_reason": "max_tokens",
            "usage": {"input_tokens": 5, "output_tokens": 6, "cached_input_tokens": 3,
                      "cache_creation_input_tokens": 2}
        }]),
    );
    let arn = "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-v1%3A0/converse";
    let r = post(&m, &format!("/s/b{arn}")).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    let content = &v["output"]["message"]["content"];
    assert_eq!(
        content[0]["reasoningContent"]["reasoningText"]["text"],
        "2 + 2 = 4"
    );
    assert!(content[0]["reasoningContent"]["reasoningText"]["signature"].is_string());
    assert_eq!(content[1], json!({"text": "Four."}));
    assert_eq!(v["stopReason"], "max_tokens");
    assert_eq!(v["usage"]["cacheReadInputTokens"], 3);
    assert_eq!(v["usage"]["cacheWriteInputTokens"], 2);
    assert_eq!(v["usage"]["totalTokens"], 16);
    assert_eq!(m.requests("b")[0].path, arn);
}

#[tokio::test]
async fn converse_stream_frames() {
    let m = mock().await;
    let r = post(&m, STREAM).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/vnd.amazon.eventstream")
    );
    assert!(r.complete_chunked, "event streams are sent chunked");
    let (messages, end) = frames(&r.body);
    assert_eq!(end, End::Clean);
    for msg in &messages {
        assert_eq!(
            header_names(msg),
            vec![":event-type", ":content-type", ":message-type"]
        );
        assert_eq!(
            header(msg, ":content-type").as_deref(),
            Some("application/json")
        );
        assert_eq!(header(msg, ":message-type").as_deref(), Some("event"));
    }
    let ev = events(&messages);
    assert_eq!(
        names(&ev),
        vec![
            "messageStart",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockStop",
            "messageStop",
            "metadata"
        ]
    );
    assert_eq!(ev[0].1["role"], "assistant");
    assert!(ev.iter().all(|(_, v)| v["p"].is_string()), "padding field");
    assert_eq!(ev[1].1["contentBlockIndex"], 0);
    assert_eq!(text(&ev), "Hello from switchboard_mock.");
    assert_eq!(ev[4].1["contentBlockIndex"], 0);
    assert_eq!(ev[5].1["stopReason"], "end_turn");
    assert_eq!(ev[6].1["usage"]["inputTokens"], 12);
    assert_eq!(ev[6].1["usage"]["outputTokens"], 8);
    assert_eq!(ev[6].1["usage"]["totalTokens"], 20);
    assert!(ev[6].1["usage"].get("cacheReadInputTokens").is_none());
    assert_eq!(ev[6].1["metrics"]["latencyMs"], 120);
}

#[tokio::test]
async fn converse_stream_reasoning_then_text_and_chunking() {
    let m = mock().await;
    script(
        &m,
        "r",
        json!([{"content": "abcdef", "chunks": 3, "reasoning": "think",
                 "finish_reason": "max_tokens", "usage": {"cached_input_tokens": 4}}]),
    );
    let r = post(&m, &format!("/s/r{STREAM}")).await;
    let (messages, end) = frames(&r.body);
    assert_eq!(end, End::Clean);
    let ev = events(&messages);
    assert_eq!(
        names(&ev),
        vec![
            "messageStart",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockStop",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockStop",
            "messageStop",
            "metadata"
        ]
    );
    assert_eq!(ev[1].1["delta"]["reasoningContent"]["text"], "think");
    assert!(ev[2].1["delta"]["reasoningContent"]["signature"].is_string());
    assert_eq!(ev[3].1["contentBlockIndex"], 0);
    let deltas: Vec<&str> = ev[4..7]
        .iter()
        .map(|(_, v)| {
            assert_eq!(v["contentBlockIndex"], 1);
            v["delta"]["text"].as_str().expect("text")
        })
        .collect();
    assert_eq!(deltas, vec!["ab", "cd", "ef"]);
    assert_eq!(ev[8].1["stopReason"], "max_tokens");
    assert_eq!(ev[9].1["usage"]["cacheReadInputTokens"], 4);
    assert_eq!(ev[9].1["usage"]["totalTokens"], 24);
}

#[tokio::test]
async fn in_stream_exceptions() {
    let m = mock().await;
    script(
        &m,
        "e",
        json!([
            {"chunks": 3, "error_after": 1, "error_type": "throttlingException"},
            {"error_after": 0, "error_type": "ValidationException"},
            {"error_after": 2},
        ]),
    );
    let r = post(&m, &format!("/s/e{STREAM}")).await;
    assert_eq!(r.status, 200);
    let (messages, end) = frames(&r.body);
    assert_eq!(end, End::Clean);
    let last = messages.last().expect("frames");
    assert_eq!(
        header_names(last),
        vec![":exception-type", ":content-type", ":message-type"]
    );
    assert_eq!(header(last, ":message-type").as_deref(), Some("exception"));
    let ev = events(&messages);
    assert_eq!(
        names(&ev),
        vec!["messageStart", "contentBlockDelta", "throttlingException"]
    );
    assert_eq!(
        ev[2].1,
        json!({"message": "Too many requests, please wait before trying again."})
    );
    assert!(r.complete_chunked, "the stream ends after the exception");

    let r = post(&m, &format!("/s/e{STREAM}")).await;
    let ev = events(&frames(&r.body).0);
    assert_eq!(names(&ev), vec!["messageStart", "validationException"]);

    let r = post(&m, &format!("/s/e{STREAM}")).await;
    let ev = events(&frames(&r.body).0);
    assert_eq!(ev.last().expect("frame").0, "modelStreamErrorException");
    assert_eq!(ev.last().expect("frame").1["originalStatusCode"], 500);
}

#[tokio::test]
async fn cut_streams_end_mid_frame() {
    let m = mock().await;
    script(
        &m,
        "t",
        json!([
            {"truncate_after": 1},
            {"truncate_after": 99},
            {"truncate_at": 150},
            {"malformed": true},
        ]),
    );
    for expected_whole in [2, 4] {
        let r = post(&m, &format!("/s/t{STREAM}")).await;
        assert_eq!(r.status, 200);
        assert!(!r.complete_chunked, "the connection is cut");
        let (messages, end) = frames(&r.body);
        assert_eq!(end, End::Partial);
        assert_eq!(messages.len(), expected_whole);
    }
    let r = post(&m, &format!("/s/t{STREAM}")).await;
    let announced: usize = r
        .header("content-length")
        .and_then(|n| n.parse().ok())
        .expect("full length announced");
    assert_eq!(r.body.len(), 150);
    assert!(announced > 150);
    assert_eq!(frames(&r.body).1, End::Partial);
    let records = m.requests("t");
    assert!(records[..3].iter().all(|r| r.outcome() == Outcome::Dropped));

    let r = post(&m, &format!("/s/t{STREAM}")).await;
    assert_eq!(r.status, 200);
    let (messages, end) = frames(&r.body);
    assert_eq!(messages.len(), 1, "a good messageStart first");
    assert!(
        matches!(&end, End::Corrupt(e) if e.contains("checksum")),
        "{end:?}"
    );
}

#[tokio::test]
async fn http_errors_name_their_type() {
    let m = mock().await;
    let cases: &[(Value, u16, &str)] = &[
        (json!({"status": 429}), 429, "ThrottlingException"),
        (json!({"status": 503}), 503, "ServiceUnavailableException"),
        (json!({"status": 400}), 400, "ValidationException"),
        (json!({"status": 403}), 403, "AccessDeniedException"),
        (json!({"status": 404}), 404, "ResourceNotFoundException"),
        (json!({"status": 408}), 408, "ModelTimeoutException"),
        (json!({"status": 424}), 424, "ModelErrorException"),
        (json!({"status": 500}), 500, "InternalServerException"),
        (
            json!({"error_type": "ModelNotReadyException"}),
            429,
            "ModelNotReadyException",
        ),
        (
            json!({"error_type": "serviceQuotaExceededException"}),
            400,
            "ServiceQuotaExceededException",
        ),
        (
            json!({"error_type": "ExpiredTokenException"}),
            403,
            "ExpiredTokenException",
        ),
        (
            json!({"error_type": "UnrecognizedClientException"}),
            403,
            "UnrecognizedClientException",
        ),
        (
            json!({"status": 400, "error_type": "ThrottlingException"}),
            400,
            "ThrottlingException",
        ),
    ];
    let steps: Vec<Value> = cases.iter().map(|(s, _, _)| s.clone()).collect();
    m.script("err", &steps).expect("valid");
    for (step, status, kind) in cases {
        let r = post(&m, &format!("/s/err{CONVERSE}")).await;
        assert_eq!(r.status, *status, "{step}");
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert!(r.header("x-amzn-requestid").is_some());
        let namespace = if matches!(
            *kind,
            "ExpiredTokenException" | "UnrecognizedClientException"
        ) {
            "com.amazon.coral.service"
        } else {
            "com.amazon.bedrock"
        };
        assert_eq!(
            r.header("x-amzn-errortype"),
            Some(format!("{kind}:http://internal.amazon.com/coral/{namespace}/").as_str()),
            "{step}"
        );
        let v = r.json();
        assert!(v["message"].as_str().is_some_and(|s| !s.is_empty()), "{v}");
        assert_eq!(v.as_object().map(|o| o.len()), Some(1));
    }
    let r = post(&m, &format!("/s/err{CONVERSE}")).await;
    assert_eq!(r.status, 200, "queue used up");

    // A stream that fails before it starts is a JSON error, not frames.
    script(&m, "se", json!([{"error_type": "throttlingException"}]));
    let r = post(&m, &format!("/s/se{STREAM}")).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r
        .header("x-amzn-errortype")
        .is_some_and(|t| t.starts_with("ThrottlingException:")));
}

fn corpus(rel: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/bedrock")
        .join(rel);
    // Canonical: the mock refuses paths with `..`.
    if let Ok(path) = path.canonicalize() {
        Some(path)
    } else {
        eprintln!(
            "skipped: conformance corpus not found at {}",
            path.display()
        );
        None
    }
}

fn cassette(path: &PathBuf) -> (Value, Vec<u8>) {
    let v: Value = serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json");
    let bytes = v["chunks"]
        .as_array()
        .map(|chunks| {
            chunks
                .iter()
                .flat_map(|c| {
                    base64::engine::general_purpose::STANDARD
                        .decode(c["b64"].as_str().expect("b64"))
                        .expect("base64")
                })
                .collect()
        })
        .unwrap_or_default();
    (v, bytes)
}

/// Same headers in the same order and the same payload keys as the real
/// service, frame by frame (the content differs).
#[tokio::test]
async fn frames_match_the_recorded_stream() {
    let Some(path) =
        corpus("req_llm/amazon_bedrock/anthropic_claude_haiku_4_5_20251001_v1_0/streaming.json")
    else {
        return;
    };
    let (_, recorded) = cassette(&path);
    let (real, end) = frames(&recorded);
    assert_eq!(end, End::Clean);
    let m = mock().await;
    script(&m, "c", json!([{"chunks": 6, "content": "abcdefghijkl"}]));
    let r = post(&m, &format!("/s/c{STREAM}")).await;
    let (ours, _) = frames(&r.body);
    assert_eq!(ours.len(), real.len());
    let keys = |m: &Message| -> Vec<String> {
        let v: Value = serde_json::from_slice(m.payload()).expect("json");
        let mut out = Vec::new();
        fn walk(prefix: &str, v: &Value, out: &mut Vec<String>) {
            if let Value::Object(map) = v {
                for (k, v) in map {
                    let key = format!("{prefix}{k}");
                    walk(&format!("{key}."), v, out);
                    out.push(key);
                }
            }
        }
        walk("", &v, &mut out);
        out
    };
    for (i, (a, b)) in real.iter().zip(&ours).enumerate() {
        assert_eq!(header_names(a), header_names(b), "frame {i}");
        assert_eq!(
            header(a, ":event-type"),
            header(b, ":event-type"),
            "frame {i}"
        );
        assert_eq!(keys(a), keys(b), "frame {i}");
        // Keys in the order the service writes them.
        let raw = |m: &Message| String::from_utf8(m.payload().to_vec()).expect("utf8");
        let order = |s: String| {
            keys(b)
                .iter()
                .filter(|k| !k.contains('.'))
                .map(|k| s.find(&format!("\"{k}\"")).expect("key present"))
                .collect::<Vec<_>>()
        };
        let ours_order = order(raw(b));
        let mut sorted = ours_order.clone();
        sorted.sort_unstable();
        assert_eq!(ours_order, sorted, "frame {i}: alphabetical keys");
    }
}

#[tokio::test]
async fn errors_match_the_recordings() {
    let (Some(throttled), Some(validation)) = (
        corpus("req_llm-social-growth-studio-fork/amazon_bedrock_basic_503_throttled.json"),
        corpus("req_llm-agentjido/converse_stream_validation_exception.json"),
    ) else {
        return;
    };
    let m = mock().await;
    script(
        &m,
        "rec",
        json!([{"status": 503}, {"error_after": 0, "error_type": "validationException"}]),
    );

    let (real, _) = cassette(&throttled);
    let r = post(&m, &format!("/s/rec{CONVERSE}")).await;
    assert_eq!(
        r.header("x-amzn-errortype"),
        real["response"]["headers"]["x-amzn-errortype"][0].as_str()
    );
    assert_eq!(r.json(), real["response"]["body"], "same message too");

    let (real, recorded) = cassette(&validation);
    let (real_frames, _) = frames(&recorded);
    let r = post(&m, &format!("/s/rec{STREAM}")).await;
    assert_eq!(
        r.header("content-type"),
        real["response"]["headers"]["content-type"].as_str()
    );
    let (ours, _) = frames(&r.body);
    let (a, b) = (&real_frames[0], ours.last().expect("exception frame"));
    assert_eq!(header_names(a), header_names(b));
    for name in [":exception-type", ":content-type", ":message-type"] {
        assert_eq!(header(a, name), header(b, name), "{name}");
    }
}

#[tokio::test]
async fn replayed_recording_is_byte_exact() {
    let Some(path) =
        corpus("req_llm/amazon_bedrock/anthropic_claude_haiku_4_5_20251001_v1_0/streaming.json")
    else {
        return;
    };
    let (_, recorded) = cassette(&path);
    let m = mock_rooted(path.parent().expect("folder")).await;
    script(
        &m,
        "rp",
        json!([{"replay_cassette": path.to_str().expect("utf8")}]),
    );
    let r = post(&m, &format!("/s/rp{STREAM}")).await;
    assert_eq!(
        r.header("content-type"),
        Some("application/vnd.amazon.eventstream")
    );
    assert!(r.complete_chunked);
    assert_eq!(r.body, recorded);
    assert_eq!(
        text(&events(&frames(&r.body).0)),
        "Hello, fellow wanderer of this peculiar digital garden!"
    );
}

#[tokio::test]
async fn model_in_error_messages_is_decoded() {
    let m = mock().await;
    script(&m, "nf", json!([{"status": 404}]));
    let r = post(&m, &format!("/s/nf{CONVERSE}")).await;
    assert!(r.json()["message"]
        .as_str()
        .is_some_and(|s| s.contains(MODEL)));
}
