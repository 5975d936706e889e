//! What the engine does with a streamed body, without the network: the
//! same decoder, the same parser, the same order of feeding, finishing and
//! failing (see `engine/stream.rs`), so a property that holds here holds
//! for a real stream cut into the same reads.

use std::sync::LazyLock;

use serde_json::{json, Value};
use switchboard_core::config::NodeKind;
use switchboard_core::framing::{Frame, FrameDecoder};
use switchboard_core::providers::{AnswerReader, Completion};
use switchboard_core::wire::Deltas;
use switchboard_core::{ErrorKind, Registry};

/// The stream dialects, each read by a real client's reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    OpenAi,
    Anthropic,
    Gemini,
    Bedrock,
    Responses,
}

pub const DIALECTS: [Dialect; 5] = [
    Dialect::OpenAi,
    Dialect::Anthropic,
    Dialect::Gemini,
    Dialect::Bedrock,
    Dialect::Responses,
];

impl Dialect {
    fn client(self) -> &'static str {
        match self {
            Dialect::OpenAi => "openai",
            Dialect::Anthropic => "anthropic",
            Dialect::Gemini => "gemini",
            Dialect::Bedrock => "bedrock",
            Dialect::Responses => "responses",
        }
    }
}

/// One client per dialect. Keys are placeholders: nothing is sent.
static CLIENTS: LazyLock<Registry> = LazyLock::new(|| {
    let config = json!({"clients": [
        {"name": "openai", "provider": "openai",
         "options": {"model": "gpt-4o-mini", "api_key": "sk-prop"}},
        {"name": "anthropic", "provider": "anthropic",
         "options": {"model": "claude-haiku-4-5", "api_key": "sk-ant-prop"}},
        {"name": "gemini", "provider": "google-ai",
         "options": {"model": "gemini-2.5-flash", "api_key": "g-prop"}},
        {"name": "bedrock", "provider": "aws-bedrock",
         "options": {"model": "anthropic.claude-3-haiku", "region": "us-east-1",
                     "access_key_id": "AKIDPROP", "secret_access_key": "prop-secret"}},
        {"name": "responses", "provider": "openai-responses",
         "options": {"model": "gpt-5", "api_key": "sk-prop"}}
    ]});
    Registry::from_value(&config).expect("the dialects' clients build")
});

/// The reader of `dialect`'s answers.
pub fn reader(dialect: Dialect) -> &'static dyn AnswerReader {
    reader_of(&CLIENTS, dialect.client())
}

/// The reader of the leaf client `name` of `registry`.
pub fn reader_of<'a>(registry: &'a Registry, name: &str) -> &'a dyn AnswerReader {
    let index = registry.index(name).expect("client");
    match &registry.clients[index].kind {
        NodeKind::Leaf(leaf) => leaf.provider.default_reader(),
        other => panic!("{name} is not a leaf: {other:?}"),
    }
}

/// What a caller sees of one streamed attempt. The text forwarded before
/// a failure is void (the engine resets it), so a failure is its kind and
/// message only.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    Answer {
        text: String,
        reasoning: String,
        calls: Vec<(String, String)>,
        completion: Box<Completion>,
    },
    Failed(ErrorKind, String),
}

impl Reading {
    pub fn is_answer(&self) -> bool {
        matches!(self, Reading::Answer { .. })
    }
}

/// Reads `body` cut into `reads` as the engine does.
pub fn read(reader: &dyn AnswerReader, reads: &[&[u8]]) -> Reading {
    let mut decoder = FrameDecoder::new(reader.framing());
    let mut parser = reader.stream_parser();
    let mut frames: Vec<Frame> = Vec::new();
    let (mut text, mut reasoning, mut calls) = (String::new(), String::new(), Vec::new());
    let failed = |e: switchboard_core::Error| Reading::Failed(e.kind, e.message);
    let mut reads = reads.iter().map(Some).chain([None]);
    for read in reads.by_ref() {
        let decoded = match read {
            Some(bytes) => decoder.feed(bytes, &mut frames),
            None => decoder.finish(&mut frames),
        };
        let mut deltas = Deltas::default();
        for frame in frames.drain(..) {
            if let Err(e) = parser.frame(&frame, &mut deltas) {
                return failed(e);
            }
            decoder.recycle(frame);
            if parser.is_done() {
                break;
            }
        }
        text.push_str(&deltas.text);
        reasoning.push_str(&deltas.reasoning);
        calls.extend(deltas.tool_calls.into_iter().map(|c| (c.id, c.name)));
        if parser.is_done() {
            break;
        }
        if let Err(e) = decoded {
            return failed(e);
        }
        if read.is_none() {
            if let Err(e) = parser.end_of_body() {
                return failed(e);
            }
        }
    }
    match parser.finish() {
        Ok(completion) => Reading::Answer {
            text,
            reasoning,
            calls,
            completion: Box::new(completion),
        },
        Err(e) => failed(e),
    }
}

/// `body` cut at `cuts` (positions, any order, out-of-range ones clamped).
pub fn cut<'a>(body: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
    at.sort_unstable();
    let mut pieces = Vec::with_capacity(at.len() + 1);
    let mut from = 0;
    for to in at {
        pieces.push(&body[from..to]);
        from = to;
    }
    pieces.push(&body[from..]);
    pieces
}

/// A JSON value's text for an SSE `data:` line (one line).
pub fn line(v: &Value) -> String {
    serde_json::to_string(v).expect("json")
}
