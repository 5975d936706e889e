//! Each provider's whole answers (2xx bodies and error bodies), mutated,
//! through every dialect's reader.

use proptest::prelude::*;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use serde_json::{json, Value};
use switchboard_core::wire::ResponseHead;

use crate::corpus;
use crate::harness::{reader, Dialect, DIALECTS};
use crate::mutate::{apply, mutations};

/// Recorded answers, and a small answer and error per dialect.
fn seeds() -> Vec<(Dialect, u16, Vec<u8>)> {
    let mut out: Vec<(Dialect, u16, Vec<u8>)> = corpus::answers()
        .iter()
        .map(|a| (a.dialect, a.status, a.body.clone()))
        .collect();
    let own = [
        (
            Dialect::OpenAi,
            json!({"id": "c", "object": "chat.completion", "model": "m",
                   "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
                                "finish_reason": "stop"}],
                   "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}),
        ),
        (
            Dialect::Anthropic,
            json!({"id": "m", "type": "message", "role": "assistant", "model": "c",
                   "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn",
                   "usage": {"input_tokens": 1, "output_tokens": 1}}),
        ),
        (
            Dialect::Gemini,
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "hi"}]},
                                   "finishReason": "STOP"}],
                   "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1}}),
        ),
        (
            Dialect::Bedrock,
            json!({"output": {"message": {"role": "assistant", "content": [{"text": "hi"}]}},
                   "stopReason": "end_turn",
                   "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}}),
        ),
        (
            Dialect::Responses,
            json!({"id": "r", "object": "response", "status": "completed", "model": "g",
                   "output": [{"type": "message", "id": "m", "role": "assistant", "status": "completed",
                               "content": [{"type": "output_text", "text": "hi", "annotations": []}]}],
                   "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}}),
        ),
    ];
    for (dialect, body) in own {
        out.push((dialect, 200, serde_json::to_vec(&body).expect("json")));
    }
    let error = json!({"error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED",
                                 "type": "rate_limit_error"}});
    for dialect in DIALECTS {
        out.push((dialect, 429, serde_json::to_vec(&error).expect("json")));
    }
    out
}

fn head(status: u16) -> ResponseHead {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    ResponseHead { status, headers }
}

/// A 2xx body that is not JSON never reads as an answer; any body with an
/// error status reads to an error.
#[test]
fn mutated_answers_are_answers_or_errors() {
    let seeds = seeds();
    let bodies: Vec<&[u8]> = seeds.iter().map(|(_, _, b)| b.as_slice()).collect();
    let statuses = vec![
        200u16, 201, 400, 401, 403, 404, 408, 413, 429, 500, 503, 529,
    ];
    crate::runner()
        .run(
            &(
                0..seeds.len(),
                mutations(),
                prop::sample::select(DIALECTS.to_vec()),
                prop::sample::select(statuses),
            ),
            |(seed, m, other, status)| {
                let (dialect, recorded, seed) = &seeds[seed];
                let body = apply(seed, &m, &bodies);
                // Fields a reader does not read are skipped, not checked
                // for UTF-8 (and text it reads is decoded lossily, as in
                // streams): what must hold is the JSON's structure.
                let json = serde_json::from_str::<Value>(&String::from_utf8_lossy(&body)).is_ok();
                for dialect in [*dialect, other] {
                    let reader = reader(dialect);
                    let answer = reader.parse_response(&head(200), &body);
                    prop_assert!(
                        json || answer.is_err(),
                        "{:?} read a body that is not JSON as {:?}",
                        dialect,
                        answer
                    );
                    for status in [*recorded, status] {
                        if !(200..300).contains(&status) {
                            let _ = reader.parse_error(&head(status), &body);
                        }
                    }
                }
                Ok(())
            },
        )
        .unwrap();
}
