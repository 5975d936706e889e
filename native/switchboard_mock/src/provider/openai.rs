//! OpenAI Chat Completions (`/v1/chat/completions`).

use bytes::Bytes;
use serde::Serialize;

use super::{data_event, json_bytes, Reply, Stream, StreamOptions, Usage};

#[derive(Serialize)]
struct Completion<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [Choice<'a>; 1],
    usage: WireUsage,
    service_tier: &'static str,
    system_fingerprint: &'static str,
}

#[derive(Serialize)]
struct Choice<'a> {
    index: u32,
    message: Message<'a>,
    logprobs: Option<()>,
    finish_reason: &'a str,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
    refusal: Option<()>,
    annotations: [(); 0],
}

#[derive(Serialize)]
struct WireUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    prompt_tokens_details: PromptDetails,
    completion_tokens_details: CompletionDetails,
}

#[derive(Serialize)]
struct PromptDetails {
    cached_tokens: u64,
    audio_tokens: u64,
}

#[derive(Serialize)]
struct CompletionDetails {
    reasoning_tokens: u64,
    audio_tokens: u64,
    accepted_prediction_tokens: u64,
    rejected_prediction_tokens: u64,
}

impl From<Usage> for WireUsage {
    fn from(u: Usage) -> Self {
        WireUsage {
            prompt_tokens: u.input,
            completion_tokens: u.output,
            total_tokens: u.input + u.output,
            prompt_tokens_details: PromptDetails {
                cached_tokens: u.cached,
                audio_tokens: 0,
            },
            completion_tokens_details: CompletionDetails {
                reasoning_tokens: 0,
                audio_tokens: 0,
                accepted_prediction_tokens: 0,
                rejected_prediction_tokens: 0,
            },
        }
    }
}

fn completion_id(n: u64) -> String {
    format!("chatcmpl-mock{n:016x}")
}

pub fn completion(reply: &Reply<'_>) -> Bytes {
    let id = completion_id(reply.id);
    json_bytes(&Completion {
        id: &id,
        object: "chat.completion",
        created: reply.created,
        model: reply.model,
        choices: [Choice {
            index: 0,
            message: Message {
                role: "assistant",
                content: reply.content,
                refusal: None,
                annotations: [],
            },
            logprobs: None,
            finish_reason: reply.finish_reason,
        }],
        usage: reply.usage.into(),
        service_tier: "default",
        system_fingerprint: "fp_mock",
    })
}

#[derive(Serialize)]
struct Chunk<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    system_fingerprint: &'static str,
    choices: &'a [ChunkChoice<'a>],
    // Absent unless the client asked for usage; then `null` on every chunk but
    // the last, exactly like the real API.
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Option<WireUsage>>,
}

#[derive(Serialize)]
struct ChunkChoice<'a> {
    index: u32,
    delta: Delta<'a>,
    logprobs: Option<()>,
    finish_reason: Option<&'a str>,
}

#[derive(Serialize, Default)]
struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refusal: Option<Option<()>>,
}

pub fn stream(reply: &Reply<'_>, deltas: &[&str], opts: &StreamOptions<'_>) -> Stream {
    let id = completion_id(reply.id);
    let null_usage = || opts.include_usage.then_some(None);
    let chunk = |delta: Delta<'_>, finish_reason: Option<&str>| {
        data_event(&Chunk {
            id: &id,
            object: "chat.completion.chunk",
            created: reply.created,
            model: reply.model,
            system_fingerprint: "fp_mock",
            choices: &[ChunkChoice {
                index: 0,
                delta,
                logprobs: None,
                finish_reason,
            }],
            usage: null_usage(),
        })
    };

    let head = vec![chunk(
        Delta {
            role: Some("assistant"),
            content: Some(""),
            refusal: Some(None),
        },
        None,
    )];
    let deltas = deltas
        .iter()
        .map(|text| {
            chunk(
                Delta {
                    content: Some(text),
                    ..Delta::default()
                },
                None,
            )
        })
        .collect();
    let mut tail = vec![chunk(Delta::default(), Some(reply.finish_reason))];
    if opts.include_usage {
        tail.push(data_event(&Chunk {
            id: &id,
            object: "chat.completion.chunk",
            created: reply.created,
            model: reply.model,
            system_fingerprint: "fp_mock",
            choices: &[],
            usage: Some(Some(reply.usage.into())),
        }));
    }
    tail.push(Bytes::from_static(b"data: [DONE]\n\n"));

    let error = data_event(&ErrorBody {
        error: ErrorDetail {
            message: "The server had an error while processing your request. Sorry about that!",
            kind: "server_error",
            param: None,
            code: None,
        },
    });
    Stream {
        head,
        deltas,
        tail,
        error,
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<()>,
    code: Option<&'a str>,
}

/// The body the real API sends for `status`.
pub fn error(status: u16, model: &str) -> Bytes {
    let model_msg;
    let (message, kind, code) = match status {
        401 => (
            "Incorrect API key provided: sk-mock. You can find your API key at https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            Some("invalid_api_key"),
        ),
        403 => (
            "Country, region, or territory not supported",
            "request_forbidden",
            Some("unsupported_country_region_territory"),
        ),
        404 => {
            model_msg =
                format!("The model `{model}` does not exist or you do not have access to it.");
            (
                model_msg.as_str(),
                "invalid_request_error",
                Some("model_not_found"),
            )
        }
        429 => (
            "Rate limit reached for requests per min (RPM). Please try again in 1s.",
            "requests",
            Some("rate_limit_exceeded"),
        ),
        500 => (
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
        ),
        503 => (
            "The engine is currently overloaded, please try again later.",
            "server_error",
            None,
        ),
        s if s >= 500 => ("The server had an error processing your request.", "server_error", None),
        _ => (
            "Invalid request: the mock was scripted to reject this request.",
            "invalid_request_error",
            None,
        ),
    };
    json_bytes(&ErrorBody {
        error: ErrorDetail {
            message,
            kind,
            param: None,
            code,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn reply() -> Reply<'static> {
        Reply {
            id: 1,
            created: 2,
            model: "gpt-x",
            content: "a b",
            reasoning: None,
            tool_calls: &[],
            finish_reason: "stop",
            usage: Usage {
                input: 12,
                output: 8,
                cached: 3,
                cache_creation: 0,
                thoughts: 0,
            },
            thoughts: None,
            block_reason: None,
        }
    }

    #[test]
    fn completion_shape() {
        let v: Value = serde_json::from_slice(&completion(&reply())).expect("json");
        assert_eq!(v["object"], "chat.completion");
        assert_eq!(v["choices"][0]["message"]["content"], "a b");
        assert_eq!(
            v["choices"][0]["message"]["annotations"],
            serde_json::json!([])
        );
        assert_eq!(v["usage"]["total_tokens"], 20);
        assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 3);
    }

    #[test]
    fn stream_usage_chunk_has_no_choices() {
        let opts = StreamOptions {
            include_usage: true,
            ..StreamOptions::default()
        };
        let s = stream(&reply(), &["a", " b"], &opts);
        assert_eq!(s.deltas.len(), 2);
        let usage = String::from_utf8(s.tail[1].to_vec()).expect("utf8");
        assert!(usage.contains(r#""choices":[]"#) && usage.contains(r#""total_tokens":20"#));
        let first = String::from_utf8(s.head[0].to_vec()).expect("utf8");
        assert!(first.contains(r#""role":"assistant""#) && first.contains(r#""usage":null"#));
    }
}
