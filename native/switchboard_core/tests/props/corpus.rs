//! Seeds from the recorded provider traffic in `../shared/conformance`:
//! streamed bodies (every transport read, as recorded) and whole answers,
//! each with the dialect that reads it. Without the corpus every loader
//! returns nothing and says so once.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Once};

use base64::Engine as _;
use serde_json::Value;

use crate::harness::Dialect;

pub const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/conformance");

/// A recorded streamed body.
pub struct Stream {
    pub name: String,
    pub dialect: Dialect,
    /// The reads as recorded (one read when only the body was kept).
    pub reads: Vec<Vec<u8>>,
}

impl Stream {
    pub fn body(&self) -> Vec<u8> {
        self.reads.concat()
    }
}

/// A recorded whole answer (a plain call's body, 2xx or not).
pub struct Answer {
    pub name: String,
    pub dialect: Dialect,
    pub status: u16,
    pub body: Vec<u8>,
}

/// The corpus folder, or `None` (said once) when it is absent.
pub fn root() -> Option<&'static Path> {
    static SAID: Once = Once::new();
    let root = Path::new(CORPUS);
    if root.is_dir() {
        Some(root)
    } else {
        SAID.call_once(|| println!("skipped: the conformance corpus {CORPUS} is absent"));
        None
    }
}

pub fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(dir, ext, &mut out);
    out.sort();
    out
}

fn walk(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, ext, out);
        } else if path.extension().and_then(|e| e.to_str()) == Some(ext) {
            out.push(path);
        }
    }
}

fn name_of(path: &Path) -> String {
    path.strip_prefix(CORPUS)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The dialect that reads an answer from `url`; `None` for APIs no client
/// of ours calls (embeddings, Bedrock's invoke, STS).
fn dialect_of(url: &str) -> Option<Dialect> {
    if url.contains("/chat/completions") {
        Some(Dialect::OpenAi)
    } else if url.contains("/v1/messages") || url.contains("rawPredict") {
        Some(Dialect::Anthropic)
    } else if url.contains("GenerateContent") || url.contains("generateContent") {
        Some(Dialect::Gemini)
    } else if url.contains("/converse") {
        Some(Dialect::Bedrock)
    } else if url.contains("/v1/responses") {
        Some(Dialect::Responses)
    } else {
        None
    }
}

fn b64(v: &Value) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str()?)
        .ok()
}

struct Loaded {
    streams: Vec<Stream>,
    answers: Vec<Answer>,
}

static LOADED: LazyLock<Loaded> = LazyLock::new(load);

pub fn streams() -> &'static [Stream] {
    &LOADED.streams
}

pub fn answers() -> &'static [Answer] {
    &LOADED.answers
}

fn load() -> Loaded {
    let mut loaded = Loaded {
        streams: Vec::new(),
        answers: Vec::new(),
    };
    let Some(root) = root() else {
        return loaded;
    };
    let mut whole = |dir: &str, ext: &str, dialect: Dialect, keep: &dyn Fn(&[u8]) -> bool| {
        for path in files(&root.join(dir), ext) {
            let bytes = fs::read(&path).expect("read a recording");
            if keep(&bytes) {
                loaded.streams.push(Stream {
                    name: name_of(&path),
                    dialect,
                    reads: vec![bytes],
                });
            }
        }
    };
    let all = |_: &[u8]| true;
    whole(
        "openai-chat/openai-python-inline-snapshot",
        "sse",
        Dialect::OpenAi,
        &all,
    );
    whole(
        "anthropic/anthropic-sdk-python",
        "sse",
        Dialect::Anthropic,
        &all,
    );
    whole(
        "anthropic/anthropic-sdk-python",
        "txt",
        Dialect::Anthropic,
        &all,
    );
    // Mock answers that are SSE bodies (the others are HTTP error bodies).
    whole(
        "gemini/firebase-vertexai-sdk-test-data/mock-responses",
        "txt",
        Dialect::Gemini,
        &|b: &[u8]| b.starts_with(b"data:"),
    );
    for path in files(root, "json") {
        let Ok(cassette) = serde_json::from_slice::<Value>(&fs::read(&path).expect("read")) else {
            continue;
        };
        let Some(dialect) = cassette["request"]["url"].as_str().and_then(dialect_of) else {
            continue;
        };
        let name = name_of(&path);
        if let Some(chunks) = cassette["chunks"].as_array().filter(|c| !c.is_empty()) {
            let reads = chunks.iter().filter_map(|c| b64(&c["b64"])).collect();
            loaded.streams.push(Stream {
                name,
                dialect,
                reads,
            });
            continue;
        }
        let status = cassette["response"]["status"].as_u64().unwrap_or(200) as u16;
        let body = match &cassette["response"]["body"] {
            Value::Null => continue,
            Value::String(text) => text.clone().into_bytes(),
            Value::Object(o) if o.len() == 1 && o.contains_key("b64") => match b64(&o["b64"]) {
                Some(bytes) => bytes,
                None => continue,
            },
            other => serde_json::to_vec(other).expect("json"),
        };
        let streamed = cassette["request"]["url"]
            .as_str()
            .is_some_and(|u| u.contains("stream") || u.contains("alt=sse"));
        if streamed && (200..300).contains(&status) {
            loaded.streams.push(Stream {
                name,
                dialect,
                reads: vec![body],
            });
        } else {
            loaded.answers.push(Answer {
                name,
                dialect,
                status,
                body,
            });
        }
    }
    loaded
}

/// The AWS event-stream vectors (encoded messages, valid and corrupt).
pub fn event_stream_vectors() -> Vec<(String, Vec<u8>)> {
    let Some(root) = root() else {
        return Vec::new();
    };
    let mut paths = Vec::new();
    for dir in [
        "aws-eventstream/smithy-rs-test_data",
        "aws-eventstream/aws-sdk-go-testdata/encoded",
    ] {
        walk_all(&root.join(dir), &mut paths);
    }
    paths.sort();
    paths
        .into_iter()
        .map(|p| (name_of(&p), fs::read(&p).expect("read")))
        .collect()
}

fn walk_all(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk_all(&path, out);
        } else {
            out.push(path);
        }
    }
}
