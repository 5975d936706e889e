//! Recorded Gemini streams (../shared/conformance: the Firebase SDKs' mock
//! responses, CRLF and LF, and req_llm's cassettes) through the framing and
//! the Gemini parser, whole and one byte at a time: however the bytes are
//! split, the reading is the same. What each recording should read to is
//! checked end to end by test/google_conformance_test.exs; without the
//! corpus these tests say so and pass.

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::Value;
use switchboard_core::framing::{Frame, FrameDecoder, Framing};
use switchboard_core::providers::stream::gemini_parser;
use switchboard_core::providers::Completion;
use switchboard_core::wire::Deltas;
use switchboard_core::ErrorKind;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/conformance");

/// The text forwarded and the completion, or the error's kind.
type Reading = Result<(String, Completion), ErrorKind>;

fn read(pieces: &[&[u8]]) -> Reading {
    let mut decoder = FrameDecoder::new(Framing::SseBareLines);
    let mut parser = gemini_parser();
    let mut frames: Vec<Frame> = Vec::new();
    let mut forwarded = String::new();
    let mut feed = |frames: &mut Vec<Frame>, forwarded: &mut String| -> Result<(), ErrorKind> {
        for frame in frames.drain(..) {
            let mut out = Deltas::default();
            parser.frame(&frame, &mut out).map_err(|e| e.kind)?;
            forwarded.push_str(&out.text);
        }
        Ok(())
    };
    for piece in pieces {
        decoder.feed(piece, &mut frames).map_err(|e| e.kind)?;
        feed(&mut frames, &mut forwarded)?;
    }
    decoder.finish(&mut frames).map_err(|e| e.kind)?;
    feed(&mut frames, &mut forwarded)?;
    parser.end_of_body().map_err(|e| e.kind)?;
    Ok((forwarded, parser.finish().map_err(|e| e.kind)?))
}

fn streams() -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let firebase = Path::new(CORPUS).join("gemini/firebase-vertexai-sdk-test-data/mock-responses");
    for family in ["googleai", "vertexai"] {
        let Ok(entries) = fs::read_dir(firebase.join(family)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("entry").path();
            let bytes = fs::read(&path).expect("read");
            if bytes.starts_with(b"data:") {
                out.push((path, bytes));
            }
        }
    }
    for dir in [
        "gemini/req_llm/google/gemini_2_5_flash",
        "vertex/req_llm/google_vertex/gemini_2_5_flash",
    ] {
        let Ok(entries) = fs::read_dir(Path::new(CORPUS).join(dir)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("entry").path();
            let cassette: Value =
                serde_json::from_slice(&fs::read(&path).expect("read")).expect("cassette");
            let b64 = |s: &Value| {
                base64::engine::general_purpose::STANDARD
                    .decode(s.as_str().expect("b64 string"))
                    .expect("base64")
            };
            let body: Vec<u8> = match (&cassette["chunks"], &cassette["response"]["body"]) {
                (Value::Array(chunks), _) if !chunks.is_empty() => {
                    chunks.iter().flat_map(|c| b64(&c["b64"])).collect()
                }
                (_, Value::Object(body)) if body.contains_key("b64") => b64(&body["b64"]),
                _ => continue,
            };
            out.push((path, body));
        }
    }
    out.sort();
    out
}

#[test]
fn every_gemini_stream_reads_the_same_whole_and_byte_by_byte() {
    let streams = streams();
    if streams.is_empty() {
        println!("skipped: the conformance corpus is absent");
        return;
    }
    assert!(streams.len() >= 35, "{} streams", streams.len());
    let mut outcomes = std::collections::BTreeMap::new();
    for (path, bytes) in &streams {
        let whole = read(&[bytes]);
        let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(read(&bytewise), whole, "{}", path.display());
        if let Ok((forwarded, completion)) = &whole {
            assert_eq!(forwarded, &completion.content, "{}", path.display());
        }
        *outcomes
            .entry(whole.as_ref().map(|_| ()).map_err(|k| k.as_str()))
            .or_insert(0) += 1;
    }
    // Successes and each kind of failure the corpus holds.
    for kind in ["server", "invalid_request", "network"] {
        assert!(outcomes.contains_key(&Err(kind)), "no {kind}: {outcomes:?}");
    }
    assert!(outcomes[&Ok(())] > 20, "{outcomes:?}");
}
