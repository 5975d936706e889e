//! OpenAI Responses API (`POST {base_url}/responses`), the `openai-responses`
//! provider.
//!
//! The prompt becomes `input` items; the answer is the text of the
//! `output_text` parts of its `message` items (reasoning, tool calls and
//! other items are not the answer). A response reports how it ended in
//! `status`: `completed` reads as finish reason `"stop"`, `incomplete` as its
//! `incomplete_details.reason` (`max_output_tokens`, `content_filter`), so the
//! finish-reason lists apply to them like to any other; `failed` is an error
//! whose kind comes from `error.code` ([`error_kind`]).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use reqwest::Url;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::common;
use super::options::{merge_body, ClientOptions};
use super::spec::{ProviderSpec, SpecKind};
use super::stream::short;
use super::{Completion, Provider};
use crate::auth::Authorization;
use crate::error::{Error, ErrorKind};
use crate::prompt::{Content, Message, Part, Role};
use crate::response::Usage;
use crate::secret::Secrets;
use crate::wire::{CallInput, HttpRequest, ResponseHead};

pub(super) const OPENAI_RESPONSES: ProviderSpec = ProviderSpec {
    name: "openai-responses",
    aliases: &[],
    kind: SpecKind::Leaf(OpenAiResponses::build),
    default_base_url: Some("https://api.openai.com/v1"),
    api_key_env: Some("OPENAI_API_KEY"),
    routing_options: &[],
    prompt_fields: &["input"],
};

/// The Responses API's name for the output limit. `max_tokens`, which
/// every other provider takes, is renamed to it (the API rejects
/// `max_tokens`), so one option works across providers.
const MAX_OUTPUT_TOKENS: &str = "max_output_tokens";

#[derive(Debug)]
pub struct OpenAiResponses {
    url: Url,
    authorization: Authorization,
    headers: reqwest::header::HeaderMap,
    secrets: Secrets,
    body: Map<String, Value>,
}

impl OpenAiResponses {
    fn build(o: &ClientOptions) -> Result<Box<dyn Provider>, Error> {
        o.options().required_str("model")?;
        let base_url = o.base_url()?;
        let authorization = match o.api_key()? {
            Some(key) => Authorization::bearer(key),
            None => Authorization::None,
        };
        Ok(Box::new(OpenAiResponses {
            url: o.url(&base_url, "/responses")?,
            authorization,
            headers: o.headers.clone(),
            secrets: o.secrets.clone(),
            body: renamed_max_tokens(Cow::Borrowed(&o.body)).into_owned(),
        }))
    }
}

/// `max_tokens` as `max_output_tokens`, unless `max_output_tokens` is given
/// too: the option named in the API's own terms wins.
fn renamed_max_tokens(options: Cow<'_, Map<String, Value>>) -> Cow<'_, Map<String, Value>> {
    if !options.contains_key("max_tokens") {
        return options;
    }
    let mut options = options.into_owned();
    if let Some(limit) = options.remove("max_tokens") {
        if !options.contains_key(MAX_OUTPUT_TOKENS) {
            options.insert(MAX_OUTPUT_TOKENS.into(), limit);
        }
    }
    Cow::Owned(options)
}

/// One `input` item: an easy input message with typed content parts.
/// Assistant turns are the model's earlier output, so their text is
/// `output_text`; everything the user or system says is `input_text`.
fn input_item(m: &Message) -> Result<Value, Error> {
    let text_type = match m.role {
        Role::Assistant => "output_text",
        Role::System | Role::User | Role::Tool => "input_text",
    };
    let part = |p: &Part| match p {
        Part::Text(t) => Ok(json!({"type": text_type, "text": t})),
        // The API takes images only as input; an assistant turn holding one
        // is refused here, before a request that cannot succeed is sent.
        // `detail` is the API's default, spelled out for compatible servers
        // that validate against OpenAI's types, where it is required.
        Part::Image(media) => {
            Ok(json!({"type": "input_image", "image_url": media.url(), "detail": "auto"}))
        }
        Part::Document(d) => Ok(json!({
            "type": "input_file", "filename": "document.pdf", "file_data": d.data_url()
        })),
    };
    let content = match &m.content {
        Content::Text(t) => vec![json!({"type": text_type, "text": t})],
        Content::Parts(parts) => parts.iter().map(part).collect::<Result<_, _>>()?,
    };
    Ok(json!({"role": m.role.as_str(), "content": content}))
}

impl Provider for OpenAiResponses {
    fn build_request(&self, input: &CallInput<'_>) -> Result<HttpRequest, Error> {
        let items = input
            .messages
            .iter()
            .map(input_item)
            .collect::<Result<_, _>>()?;
        let mut fields = Map::new();
        fields.insert("input".into(), Value::Array(items));
        if input.stream {
            fields.insert("stream".into(), Value::Bool(true));
        }
        // Renamed before merging, so a call's limit replaces the client's
        // whichever name either of them used.
        let call = renamed_max_tokens(Cow::Borrowed(input.options));
        let body = merge_body(&self.body, fields, &call);
        Ok(HttpRequest::post_json(self.url.clone(), &body)?
            .with_client_headers(&self.headers, &self.secrets))
    }

    fn authorization(&self) -> &Authorization {
        &self.authorization
    }

    fn parse_response(&self, _head: &ResponseHead, body: &[u8]) -> Result<Completion, Error> {
        let parsed: Loose<ResponseWire<'_>> = common::parse_answer(body)?;
        let response = parsed
            .0
            .ok_or_else(|| Error::bad_response("the answer is not a JSON object"))?;
        let (finish_reason, usage, model) = outcome(&response, "completed")?;
        let content = match &response.output {
            Some(LooseSeq(Some(items))) => output_text(items),
            // An incomplete response may stop before any output.
            None => String::new(),
            Some(LooseSeq(None)) => {
                return Err(Error::bad_response("the answer's output is not a list"))
            }
        };
        Ok(Completion {
            content,
            model,
            finish_reason,
            usage,
            ..Completion::default()
        })
    }

    fn stream_parser(&self) -> Box<dyn super::StreamParser> {
        Box::<super::openai_responses_stream::ResponsesStream>::default()
    }
}

// --- Reading -------------------------------------------------------------
//
// A response object is read into typed structs that borrow their strings
// and skip every field not named here (tool lists, configs echoed back,
// annotations, logprobs) instead of building them into maps: that is most
// of a body, and a third of a plain call's CPU. Each field accepts any JSON
// value, so item and part types added later, or a field another item type
// fills differently, never fail an answer.

/// A response object, whole or in a stream's terminal event.
#[derive(Deserialize, Default)]
pub(super) struct ResponseWire<'a> {
    #[serde(default, borrow)]
    status: Option<Lenient<'a>>,
    #[serde(default, borrow)]
    model: Option<Lenient<'a>>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    incomplete_details: Option<Value>,
    #[serde(default)]
    usage: Option<Value>,
    /// `Some(LooseSeq(None))` when present but not a list.
    #[serde(default, borrow)]
    pub(super) output: Option<LooseSeq<ItemWire<'a>>>,
}

#[derive(Deserialize)]
pub(super) struct ItemWire<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Option<Lenient<'a>>,
    #[serde(default, borrow)]
    content: Option<LooseSeq<PartWire<'a>>>,
}

#[derive(Deserialize)]
struct PartWire<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Option<Lenient<'a>>,
    #[serde(default, borrow)]
    text: Option<Lenient<'a>>,
}

/// A string, borrowed from the payload when it has no escapes, or `None`
/// for any other JSON value.
#[derive(Default)]
pub(super) struct Lenient<'a>(pub(super) Option<Cow<'a, str>>);

impl Lenient<'_> {
    fn as_str(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// `T` read from a JSON object, or `None` for any other value.
pub(super) struct Loose<T>(pub(super) Option<T>);

/// The objects of a JSON array read as `T` (other elements skipped), or
/// `None` when the value is not an array.
pub(super) struct LooseSeq<T>(pub(super) Option<Vec<T>>);

/// Anything but the wanted shape: consumed and read as nothing.
macro_rules! ignore_other_values {
    () => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Self::Value::default())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Self::Value::default())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Self::Value::default())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Self::Value::default())
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Self::Value::default())
        }
    };
}

impl<T> Default for Loose<T> {
    fn default() -> Self {
        Loose(None)
    }
}

impl<T> Default for LooseSeq<T> {
    fn default() -> Self {
        LooseSeq(None)
    }
}

fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

impl<'de: 'a, 'a> Deserialize<'de> for Lenient<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Lenient<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Lenient(Some(Cow::Borrowed(s))))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Lenient(Some(Cow::Owned(s.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(Lenient(Some(Cow::Owned(s))))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                skip_seq(seq).map(|()| Lenient(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                skip_map(map).map(|()| Lenient(None))
            }
            ignore_other_values!();
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Loose<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Loose<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|t| Loose(Some(t)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                skip_seq(seq).map(|()| Loose(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Loose(None))
            }
            ignore_other_values!();
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for LooseSeq<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = LooseSeq<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(Loose(item)) = seq.next_element::<Loose<T>>()? {
                    items.extend(item);
                }
                Ok(LooseSeq(Some(items)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                skip_map(map).map(|()| LooseSeq(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(LooseSeq(None))
            }
            ignore_other_values!();
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// The text of the `output_text` parts of the `message` items, in order.
pub(super) fn output_text(output: &[ItemWire<'_>]) -> String {
    output
        .iter()
        .filter(|item| item.kind.as_ref().and_then(Lenient::as_str) == Some("message"))
        .filter_map(|item| item.content.as_ref().and_then(|c| c.0.as_deref()))
        .flatten()
        .filter(|part| part.kind.as_ref().and_then(Lenient::as_str) == Some("output_text"))
        .filter_map(|part| part.text.as_ref().and_then(Lenient::as_str))
        .collect()
}

/// How a finished response object ended: its finish reason, usage and
/// model, or the error it failed with. Shared by whole answers and the
/// terminal events of a stream, which carry the same object; `status` is
/// assumed when the object leaves it out (compatible servers may).
pub(super) fn outcome(
    r: &ResponseWire<'_>,
    status: &str,
) -> Result<(Option<String>, Usage, Option<String>), Error> {
    if let Some(err) = r.error.as_ref().filter(|e| e.is_object()) {
        return Err(response_error(err));
    }
    let status = r
        .status
        .as_ref()
        .and_then(Lenient::as_str)
        .unwrap_or(status);
    let finish_reason = match status {
        "completed" => "stop".to_owned(),
        "incomplete" => r
            .incomplete_details
            .as_ref()
            .and_then(|d| d.get("reason"))
            .and_then(Value::as_str)
            .unwrap_or("incomplete")
            .to_owned(),
        "failed" => {
            return Err(Error::new(
                ErrorKind::Server,
                "the response failed without saying why",
            ))
        }
        // `queued` / `in_progress` (a `background: true` request) or
        // `cancelled`: there is no answer, and switchboard does not poll.
        // Not retried: the same request would be queued again.
        other => {
            return Err(Error::invalid_request(format!(
                "the response has status {:?} and no answer; switchboard does not poll \
                 background responses",
                short(other)
            )))
        }
    };
    let usage = r.usage.as_ref().map(usage).unwrap_or_default();
    let model = r
        .model
        .as_ref()
        .and_then(Lenient::as_str)
        .map(str::to_owned);
    Ok((Some(finish_reason), usage, model))
}

/// The Responses API's usage. `input_tokens` counts cached tokens and
/// `output_tokens` reasoning tokens already.
pub(super) fn usage(u: &Value) -> Usage {
    Usage::new(
        common::u64_at(u, &["input_tokens"]),
        common::u64_at(u, &["output_tokens"]),
    )
    .or_total(common::u64_at(u, &["total_tokens"]))
    .with_cached(
        common::u64_at(u, &["input_tokens_details", "cached_tokens"]),
        None,
    )
}

/// An error object: a failed response's `error` (`code`, `message`), or
/// the body of a stream's `error` event, flat or nested (`type`, `code`,
/// `message`). The kind comes from `code`, else `type`.
pub(super) fn response_error(err: &Value) -> Error {
    let kind = ["code", "type"]
        .iter()
        .filter_map(|field| err.get(field).and_then(Value::as_str))
        .find_map(error_kind)
        .unwrap_or(ErrorKind::Server);
    let message = err
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("the provider reported an error");
    Error::new(kind, short(message))
}

/// The kind of an error code of the Responses API (a failed response's
/// `error.code`, an `error` event's `code`) or of OpenAI's error types.
/// Codes not listed are `:server`: retried, or fallen back from.
///
/// `insufficient_quota` is `:rate_limited`, as the HTTP 429 OpenAI sends
/// for it is; a fallback moves on either way.
pub(super) fn error_kind(code: &str) -> Option<ErrorKind> {
    Some(match code {
        "server_error" | "internal_error" | "api_error" => ErrorKind::Server,
        "rate_limit_exceeded" | "rate_limit_error" | "insufficient_quota" => ErrorKind::RateLimited,
        "overloaded_error" | "server_overloaded" | "overloaded" => ErrorKind::Overloaded,
        "vector_store_timeout" | "timeout" => ErrorKind::Timeout,
        "invalid_prompt"
        | "invalid_request_error"
        | "context_length_exceeded"
        | "invalid_image"
        | "invalid_image_format"
        | "invalid_base64_image"
        | "invalid_image_url"
        | "image_too_large"
        | "image_too_small"
        | "image_parse_error"
        | "image_content_policy_violation"
        | "invalid_image_mode"
        | "image_file_too_large"
        | "unsupported_image_media_type"
        | "empty_image_file"
        | "failed_to_download_image"
        | "image_file_not_found" => ErrorKind::InvalidRequest,
        "invalid_api_key" | "authentication_error" => ErrorKind::Auth,
        "permission_error" => ErrorKind::Permission,
        "model_not_found" | "not_found_error" => ErrorKind::NotFound,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::KeySource;
    use crate::framing::Frame;
    use crate::wire::Deltas;

    fn provider(options: Value) -> Box<dyn Provider> {
        let raw = options.as_object().expect("object").clone();
        let o =
            ClientOptions::parse(&OPENAI_RESPONSES, "client \"R\"".into(), &raw).expect("options");
        OpenAiResponses::build(&o).expect("provider")
    }

    fn request(p: &dyn Provider, messages: &[Message], call: Value, stream: bool) -> HttpRequest {
        let call = call.as_object().expect("object").clone();
        let mut request = p
            .build_request(&CallInput::plain(messages, &call, stream))
            .expect("request");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(p.authorization().apply(&mut request))
            .expect("authorized");
        request
    }

    fn body(r: &HttpRequest) -> Value {
        serde_json::from_slice(&r.body).expect("json body")
    }

    fn prompt() -> Vec<Message> {
        vec![
            Message::new(Role::System, Content::Text("Be brief.".into())),
            Message::new(
                Role::User,
                Content::Parts(vec![
                    Part::Text("What is this?".into()),
                    Part::Image(crate::prompt::Media::Url(
                        "https://example.com/cat.jpg".into(),
                    )),
                ]),
            ),
            Message::new(Role::Assistant, Content::Text("A cat.".into())),
            Message::user("Sure?"),
        ]
    }

    fn parse(body: Value) -> Result<Completion, Error> {
        let p = provider(json!({"model": "m", "api_key": "k"}));
        let head = ResponseHead {
            status: 200,
            headers: Default::default(),
        };
        p.parse_response(&head, body.to_string().as_bytes())
    }

    #[test]
    fn golden_request() {
        let p = provider(json!({
            "model": "gpt-5",
            "api_key": "sk-test",
            "base_url": "https://example.test/v1/",
            "headers": {"x-team": "beam"},
            "query_params": {"tier": "gold"},
            "reasoning": {"effort": "low"},
            "store": false,
            "max_tokens": 100,
            "http": {"request_timeout_ms": 5000},
            "finish_reason_deny_list": ["content_filter"],
        }));
        let r = request(&*p, &prompt(), json!({"temperature": 0.2}), false);
        assert_eq!(r.method, reqwest::Method::POST);
        assert_eq!(
            r.url.as_str(),
            "https://example.test/v1/responses?tier=gold"
        );
        let headers: Vec<(&str, &str)> = r
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_str().expect("ascii")))
            .collect();
        assert_eq!(
            headers,
            vec![
                ("content-type", "application/json"),
                ("x-team", "beam"),
                ("authorization", "Bearer sk-test"),
            ]
        );
        assert_eq!(
            body(&r),
            json!({
                "model": "gpt-5",
                "reasoning": {"effort": "low"},
                "store": false,
                "max_output_tokens": 100,
                "temperature": 0.2,
                "input": [
                    {"role": "system", "content": [{"type": "input_text", "text": "Be brief."}]},
                    {"role": "user", "content": [
                        {"type": "input_text", "text": "What is this?"},
                        {"type": "input_image", "image_url": "https://example.com/cat.jpg", "detail": "auto"}
                    ]},
                    {"role": "assistant", "content": [{"type": "output_text", "text": "A cat."}]},
                    {"role": "user", "content": [{"type": "input_text", "text": "Sure?"}]}
                ]
            })
        );
    }

    #[test]
    fn streaming_and_call_options() {
        let p = provider(json!({"model": "gpt-5", "api_key": "k", "max_output_tokens": 500}));
        let msgs = [Message::user("hi")];
        let b = body(&request(&*p, &msgs, json!({}), true));
        assert_eq!(b["stream"], true);
        assert_eq!(b["max_output_tokens"], 500);
        // A call's max_tokens is the limit, over the client's.
        let b = body(&request(
            &*p,
            &msgs,
            json!({"max_tokens": 7, "model": "gpt-5-mini"}),
            false,
        ));
        assert_eq!(b["max_output_tokens"], 7);
        assert_eq!(b["model"], "gpt-5-mini");
        assert!(b.get("max_tokens").is_none() && b.get("stream").is_none());
        // Both names in one call: the API's own wins.
        let b = body(&request(
            &*p,
            &msgs,
            json!({"max_tokens": 7, "max_output_tokens": 9}),
            false,
        ));
        assert_eq!(b["max_output_tokens"], 9);
        assert!(b.get("max_tokens").is_none());
    }

    #[test]
    fn key_from_env_and_missing_model() {
        let o = ClientOptions::parse(
            &OPENAI_RESPONSES,
            "client \"R\"".into(),
            json!({"model": "m"}).as_object().expect("object"),
        )
        .expect("options");
        assert!(matches!(
            o.api_key().expect("key"),
            Some(KeySource::Env("OPENAI_API_KEY"))
        ));
        let p = OpenAiResponses::build(&o).expect("provider");
        assert_eq!(
            p.build_request(&CallInput::plain(&[Message::user("x")], &Map::new(), false))
                .expect("request")
                .url
                .as_str(),
            "https://api.openai.com/v1/responses"
        );
        let o = ClientOptions::parse(&OPENAI_RESPONSES, "client \"R\"".into(), &Map::new())
            .expect("options");
        let e = OpenAiResponses::build(&o).expect_err("model is required");
        assert_eq!(e.kind, ErrorKind::Config);
        assert!(e.message.contains("model"), "{}", e.message);
    }

    #[test]
    fn completed_response() {
        let c = parse(json!({
            "object": "response", "status": "completed", "model": "gpt-5-2025-08-07",
            "error": null, "incomplete_details": null,
            "output": [
                {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "thinking"}]},
                {"type": "message", "role": "assistant", "content": [
                    {"type": "output_text", "text": "Hello", "annotations": []},
                    {"type": "refusal", "refusal": "no"},
                    {"type": "output_text", "text": " world"}
                ]},
                {"type": "function_call", "name": "f", "arguments": "{}"},
                // Shapes of items and parts this version does not know.
                {"type": "mystery", "content": "not a list", "status": 3},
                {"type": "message", "content": {"type": "output_text", "text": "no"}},
                {"type": "message", "content": ["str", 3, null, {"type": "output_text", "text": 7}]},
                "not an item",
                {"type": "message", "content": [{"type": "output_text", "text": "!"}]}
            ],
            "usage": {"input_tokens": 9, "input_tokens_details": {"cached_tokens": 4},
                      "output_tokens": 15, "output_tokens_details": {"reasoning_tokens": 10},
                      "total_tokens": 24}
        }))
        .expect("completion");
        assert_eq!(c.content, "Hello world!");
        assert_eq!(c.finish_reason.as_deref(), Some("stop"));
        assert_eq!(c.model.as_deref(), Some("gpt-5-2025-08-07"));
        assert_eq!(
            c.usage,
            Usage {
                input_tokens: Some(9),
                output_tokens: Some(15),
                total_tokens: Some(24),
                cached_input_tokens: Some(4),
                cache_creation_input_tokens: None,
                reasoning_tokens: None,
            }
        );
    }

    #[test]
    fn incomplete_response() {
        let c = parse(json!({
            "status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"},
            "output": [{"type": "reasoning", "summary": []}],
            "usage": {"input_tokens": 15, "output_tokens": 64, "total_tokens": 79}
        }))
        .expect("completion");
        assert_eq!(c.content, "");
        assert_eq!(c.finish_reason.as_deref(), Some("max_output_tokens"));
        assert_eq!(c.usage.total_tokens, Some(79));
        assert_eq!(c.usage.cached_input_tokens, None);
        let c = parse(json!({"status": "incomplete", "output": []})).expect("completion");
        assert_eq!(c.finish_reason.as_deref(), Some("incomplete"));
        assert_eq!(c.usage, Usage::default());
    }

    #[test]
    fn failed_responses_and_error_objects() {
        for (code, kind) in [
            ("rate_limit_exceeded", ErrorKind::RateLimited),
            ("server_error", ErrorKind::Server),
            ("invalid_prompt", ErrorKind::InvalidRequest),
            ("invalid_image_url", ErrorKind::InvalidRequest),
            ("insufficient_quota", ErrorKind::RateLimited),
            ("vector_store_timeout", ErrorKind::Timeout),
            ("something_new", ErrorKind::Server),
        ] {
            let e = parse(json!({
                "status": "failed", "output": [], "usage": null,
                "error": {"code": code, "message": "it broke"}
            }))
            .expect_err(code);
            assert_eq!((e.kind, e.message.as_str()), (kind, "it broke"), "{code}");
        }
        let e = parse(json!({"status": "failed", "error": null})).expect_err("failed");
        assert_eq!(e.kind, ErrorKind::Server);
        let e = parse(json!({"error": {"type": "invalid_request_error", "message": "bad"}}))
            .expect_err("error object");
        assert_eq!(e.kind, ErrorKind::InvalidRequest);
        let e = parse(json!({"status": "queued", "output": []})).expect_err("background");
        assert_eq!(e.kind, ErrorKind::InvalidRequest);
        for bad in [json!([1]), json!({"output": 3})] {
            assert_eq!(parse(bad).expect_err("bad").kind, ErrorKind::BadResponse);
        }
    }

    #[test]
    fn stream_parser_is_the_responses_one() {
        let p = provider(json!({"model": "m", "api_key": "k"}));
        let mut parser = p.stream_parser();
        let mut out = Deltas::default();
        let frame = Frame::Sse(crate::framing::sse::SseEvent {
            event: None,
            data: r#"{"type":"response.output_text.delta","delta":"hi"}"#.into(),
            id: None,
        });
        parser.frame(&frame, &mut out).expect("frame");
        assert_eq!(out.text, "hi");
        assert!(!parser.is_done());
    }
}
