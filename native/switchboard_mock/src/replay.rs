//! Recorded traffic to play back byte for byte (conformance tests).

use std::path::Path;

use base64::Engine as _;
use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use serde_json::Value;

/// What a replay step sends.
#[derive(Debug, Clone)]
pub enum Replay {
    /// A req_llm cassette: status and headers as recorded, then either the
    /// JSON body or the recorded transport chunks.
    Cassette {
        status: u16,
        headers: Vec<(HeaderName, HeaderValue)>,
        body: Option<Bytes>,
        chunks: Vec<Bytes>,
    },
    /// A raw body from a file.
    File(Bytes),
    /// Pieces written one by one.
    Chunks(Vec<Bytes>),
}

/// Headers that describe the recorded connection rather than the response;
/// hyper sets its own framing, and the recorded body is already decoded.
const SKIPPED_HEADERS: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "content-encoding",
    "date",
];

/// Paths come resolved under the mock's root (`files::FileRoot`).
pub fn load_cassette(path: &Path) -> Result<Replay, String> {
    let json = read_json(path)?;
    let path = path.display();
    let response = json
        .get("response")
        .ok_or_else(|| format!("{path}: no \"response\" in cassette"))?;
    let status = match response.get("status") {
        None | Some(Value::Null) => 200,
        Some(v) => v
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .ok_or_else(|| format!("{path}: response.status is not an integer"))?,
    };
    let headers = response
        .get("headers")
        .and_then(Value::as_object)
        .map(recorded_headers)
        .unwrap_or_default();
    let body = match response.get("body") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(Bytes::from(s.clone())),
        // Bodies that are not JSON (e.g. Gemini SSE) are recorded as base64.
        Some(Value::Object(o)) if o.len() == 1 && o.contains_key("b64") => {
            let b64 = o["b64"]
                .as_str()
                .ok_or_else(|| format!("{path}: response.body.b64 is not a string"))?;
            Some(b64_decode(b64).map_err(|e| format!("{path}: response.body: {e}"))?)
        }
        Some(other) => Some(Bytes::from(
            serde_json::to_vec(other).map_err(|e| format!("{path}: {e}"))?,
        )),
    };
    let chunks = match json.get("chunks") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let b64 = c
                    .get("b64")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("{path}: chunks[{i}] has no \"b64\" string"))?;
                b64_decode(b64).map_err(|e| format!("{path}: chunks[{i}]: {e}"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(format!("{path}: \"chunks\" is not a list")),
    };
    Ok(Replay::Cassette {
        status,
        headers,
        body,
        chunks,
    })
}

pub fn load_file(path: &Path) -> Result<Replay, String> {
    std::fs::read(path)
        .map(|b| Replay::File(Bytes::from(b)))
        .map_err(|e| format!("{}: {e}", path.display()))
}

pub fn decode_chunks(v: &Value) -> Result<Replay, String> {
    let items = v.as_array().ok_or("expected a list of base64 strings")?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let s = item
                .as_str()
                .ok_or_else(|| format!("item {i} is not a string"))?;
            b64_decode(s).map_err(|e| format!("item {i}: {e}"))
        })
        .collect::<Result<_, _>>()
        .map(Replay::Chunks)
}

/// Reads and parses a JSON file (cassettes and the control API's file reader).
pub fn read_json(path: &Path) -> Result<Value, String> {
    let raw = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_slice(&raw).map_err(|e| format!("{}: invalid JSON: {e}", path.display()))
}

/// The events of a recorded SSE body (a raw file, or a cassette's chunks
/// joined), so tests can compute what a stream should decode to. Kept
/// deliberately plain (blank-line blocks, `event:` and `data:` lines) and
/// separate from the client's decoder, which is what those tests check.
pub fn recorded_events(path: &Path) -> Result<Vec<(Option<String>, String)>, String> {
    let body: Vec<u8> = match load_cassette(path) {
        Ok(Replay::Cassette { chunks, .. }) if !chunks.is_empty() => chunks.concat(),
        Ok(Replay::Cassette {
            body: Some(body), ..
        }) => body.to_vec(),
        _ => std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?,
    };
    let text = String::from_utf8(body).map_err(|_| format!("{}: not UTF-8", path.display()))?;
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut events = Vec::new();
    for block in text.split("\n\n") {
        let mut name = None;
        let mut data: Vec<&str> = Vec::new();
        for line in block.lines() {
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => name = Some(value.to_owned()),
                "data" => data.push(value),
                _ => {}
            }
        }
        if name.is_some() || !data.is_empty() {
            events.push((name, data.join("\n")));
        }
    }
    Ok(events)
}

fn b64_decode(s: &str) -> Result<Bytes, String> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map(Bytes::from)
        .map_err(|e| format!("invalid base64: {e}"))
}

/// Cassettes store a header either as one string or as a list of values.
fn recorded_headers(map: &serde_json::Map<String, Value>) -> Vec<(HeaderName, HeaderValue)> {
    let mut out = Vec::new();
    for (name, value) in map {
        let lower = name.to_ascii_lowercase();
        if SKIPPED_HEADERS.contains(&lower.as_str()) {
            continue;
        }
        let Ok(name) = HeaderName::from_bytes(lower.as_bytes()) else {
            continue;
        };
        let values: Vec<&str> = match value {
            Value::String(s) => vec![s.as_str()],
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        for v in values {
            if let Ok(v) = HeaderValue::from_str(v) {
                out.push((name.clone(), v));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn headers_accept_strings_and_lists_and_skip_framing() {
        let map = json!({
            "Content-Type": ["text/event-stream"],
            "request-id": "req_1",
            "transfer-encoding": "chunked"
        });
        let headers = recorded_headers(map.as_object().expect("object"));
        assert_eq!(headers.len(), 2);
        assert!(headers.iter().all(|(n, _)| n != "transfer-encoding"));
    }

    #[test]
    fn decodes_chunk_lists() {
        match decode_chunks(&json!(["aGk=", "IQ=="])) {
            Ok(Replay::Chunks(c)) => assert_eq!(c, vec![Bytes::from("hi"), Bytes::from("!")]),
            other => panic!("unexpected {other:?}"),
        }
        assert!(decode_chunks(&json!(["%%%"])).is_err());
    }
}
