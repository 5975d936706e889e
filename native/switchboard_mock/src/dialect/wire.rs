//! Shapes more than one dialect writes: SSE events, JSON bodies, text cut in
//! pieces and tool-call arguments as JSON.

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

pub const SSE: &str = "text/event-stream; charset=utf-8";

/// `data: <json>\n\n`, written without intermediate `String`s.
pub fn data_event(json: &impl Serialize) -> Bytes {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"data: ");
    write_json(&mut out, json);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// `event: <name>\ndata: <json>\n\n`.
pub fn named_event(name: &str, json: &impl Serialize) -> Bytes {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    write_json(&mut out, json);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// `event: <kind>\ndata: {"type": <kind>, …fields}\n\n`: the event whose
/// data repeats its name as `type` first, as Anthropic's and the Responses
/// API's streams do.
pub fn typed_event(kind: &str, fields: &impl Serialize) -> Bytes {
    #[derive(Serialize)]
    struct Typed<'a, T> {
        #[serde(rename = "type")]
        kind: &'a str,
        #[serde(flatten)]
        fields: &'a T,
    }
    named_event(kind, &Typed { kind, fields })
}

pub fn json_bytes(json: &impl Serialize) -> Bytes {
    let mut out = Vec::with_capacity(512);
    write_json(&mut out, json);
    Bytes::from(out)
}

pub fn write_json(out: &mut Vec<u8>, json: &impl Serialize) {
    // Only our own derive(Serialize) structs reach here; they have string keys
    // and no fallible fields, so this cannot fail.
    if let Err(e) = serde_json::to_writer(&mut *out, json) {
        out.extend_from_slice(format!("{{\"mock_error\":\"{e}\"}}").as_bytes());
    }
}

/// `text` in up to `n` pieces of equal length in characters (the last one
/// shorter); none for an empty text.
pub fn pieces(text: &str, n: usize) -> Vec<&str> {
    let size = text.chars().count().div_ceil(n.max(1)).max(1);
    let mut out = Vec::with_capacity(n);
    let mut rest = text;
    while !rest.is_empty() {
        let cut = rest.char_indices().nth(size).map_or(rest.len(), |(i, _)| i);
        let (piece, tail) = rest.split_at(cut);
        out.push(piece);
        rest = tail;
    }
    out
}

/// A tool call's scripted arguments as a JSON value: their JSON, or the text
/// itself as a JSON string when it is not JSON, so a malformed script still
/// reaches the client (for it to refuse).
pub fn arguments_json(arguments: &str) -> Value {
    serde_json::from_str(arguments).unwrap_or_else(|_| Value::String(arguments.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_split_on_character_boundaries() {
        assert_eq!(pieces("abcdefg", 3), vec!["abc", "def", "g"]);
        assert_eq!(pieces("éé", 3), vec!["é", "é"]);
        assert!(pieces("", 3).is_empty());
    }

    #[test]
    fn a_typed_event_names_its_type_first() {
        #[derive(Serialize)]
        struct Fields {
            index: u32,
        }
        assert_eq!(
            typed_event("content_block_stop", &Fields { index: 2 }),
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n"
        );
    }

    #[test]
    fn arguments_that_are_not_json_go_as_a_string() {
        assert_eq!(arguments_json(r#"{"a":1}"#), serde_json::json!({"a": 1}));
        assert_eq!(arguments_json("{oops"), Value::String("{oops".into()));
    }
}
